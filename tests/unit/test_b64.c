/* Unit tests for lib/b64.c (RFC 4648 section 10 test vectors). */
#include "unit.h"

static void test_rfc4648(void **state)
{
	static const struct {
		int line;
		const char *in, *std, *url;
	} rows[] = {
	    {__LINE__, "", "", ""},
	    {__LINE__, "f", "Zg==", "Zg"},
	    {__LINE__, "fo", "Zm8=", "Zm8"},
	    {__LINE__, "foo", "Zm9v", "Zm9v"},
	    {__LINE__, "foob", "Zm9vYg==", "Zm9vYg"},
	    {__LINE__, "fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {__LINE__, "foobar", "Zm9vYmFy", "Zm9vYmFy"},
	    {__LINE__, "\xfb\xff", "+/8=", "-_8"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_buf a, b, d;
		tp_buf_init(&a, 100);
		tp_buf_init(&b, 100);
		tp_buf_init(&d, 100);
		tp_b64_encode(&a, rows[i].in, strlen(rows[i].in));
		tp_b64url_encode(&b, rows[i].in, strlen(rows[i].in));
		if (strcmp(tp_buf_str(&a), rows[i].std) != 0)
			ROW_FAIL(rows[i].line, "std got %s\n", tp_buf_str(&a));
		if (strcmp(tp_buf_str(&b), rows[i].url) != 0)
			ROW_FAIL(rows[i].line, "url got %s\n", tp_buf_str(&b));
		assert_int_equal(tp_b64_decode(&d, rows[i].std, strlen(rows[i].std)), TP_OK);
		if (strcmp(tp_buf_str(&d), rows[i].in) != 0)
			ROW_FAIL(rows[i].line, "decode got %s\n", tp_buf_str(&d));
		tp_buf_free(&a);
		tp_buf_free(&b);
		tp_buf_free(&d);
	}
}

static void test_decode_bad(void **state)
{
	tp_buf d;
	(void)state;
	tp_buf_init(&d, 100);
	assert_int_equal(tp_b64_decode(&d, "Zm9v!", 5), TP_EINVAL);
	assert_int_equal(tp_b64_decode(&d, "Z", 1), TP_EINVAL);
	tp_buf_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648),
	    cmocka_unit_test(test_decode_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
