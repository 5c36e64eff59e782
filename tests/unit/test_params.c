/* Unit tests for lib/url.c and lib/params.c (form and query parsing). */
#include "unit.h"

static void test_decode_table(void **state)
{
	static const struct {
		int line;
		const char *in;
		int plus;
		tp_rc rc;
		const char *out;
	} rows[] = {
	    {__LINE__, "abc", 1, TP_OK, "abc"},
	    {__LINE__, "a+b", 1, TP_OK, "a b"},
	    {__LINE__, "a+b", 0, TP_OK, "a+b"},
	    {__LINE__, "%2B61", 1, TP_OK, "+61"},
	    {__LINE__, "%e2%82%ac", 1, TP_OK, "\xe2\x82\xac"},
	    {__LINE__, "100%", 1, TP_EINVAL, NULL},  /* truncated */
	    {__LINE__, "100%4", 1, TP_EINVAL, NULL}, /* truncated */
	    {__LINE__, "%zz", 1, TP_EINVAL, NULL},   /* not hex */
	    {__LINE__, "a%00b", 1, TP_EINVAL, NULL}, /* NUL */
	    {__LINE__, "", 1, TP_OK, ""},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		char *out = NULL;
		tp_rc rc = tp_url_decode(rows[i].in, strlen(rows[i].in), rows[i].plus, &out);
		if (rc != rows[i].rc)
			ROW_FAIL(rows[i].line, "rc %d, want %d\n", rc, rows[i].rc);
		if (rc == TP_OK && strcmp(out, rows[i].out) != 0)
			ROW_FAIL(rows[i].line, "got \"%s\", want \"%s\"\n", out, rows[i].out);
		free(out);
	}
}

static void test_encode(void **state)
{
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 1000);
	tp_url_encode(&b, "a b&c=d/é~_.-+<\"");
	assert_string_equal(b.ptr, "a%20b%26c%3Dd%2F%C3%A9~_.-%2B%3C%22");
	tp_buf_free(&b);
}

static void test_form_parse(void **state)
{
	tp_params p;
	const char *s = "CallSid=CA1&To=%2B61255550100&Empty=&Flag&&Name=a+b&To=second";
	(void)state;
	tp_params_init(&p);
	assert_int_equal(tp_form_parse(&p, s, strlen(s)), TP_OK);
	assert_int_equal(p.n, 6);
	assert_string_equal(tp_params_get(&p, "CallSid"), "CA1");
	assert_string_equal(tp_params_get(&p, "To"), "+61255550100"); /* first wins */
	assert_string_equal(tp_params_get(&p, "Empty"), "");
	assert_string_equal(tp_params_get(&p, "Flag"), "");
	assert_string_equal(tp_params_get(&p, "Name"), "a b");
	assert_null(tp_params_get(&p, "callsid"));
	assert_string_equal(tp_params_get_case(&p, "callsid"), "CA1");
	tp_params_free(&p);
}

static void test_form_parse_errors_leave_nothing(void **state)
{
	tp_params p;
	const char *bad = "a=1&b=%G1";
	(void)state;
	tp_params_init(&p);
	tp_params_add(&p, "keep", "me");
	assert_int_equal(tp_form_parse(&p, bad, strlen(bad)), TP_EINVAL);
	assert_int_equal(p.n, 1); /* nothing half-added */
	tp_params_free(&p);
}

static void test_form_too_many(void **state)
{
	tp_params p;
	tp_buf b;
	int i;
	(void)state;
	tp_buf_init(&b, 1 << 20);
	for (i = 0; i <= TP_PARAMS_MAX; i++)
		tp_buf_addf(&b, "k%d=v&", i);
	tp_params_init(&p);
	assert_int_equal(tp_form_parse(&p, b.ptr, b.len), TP_ETOOBIG);
	assert_int_equal(p.n, 0);
	tp_params_free(&p);
	tp_buf_free(&b);
}

static void test_roundtrip_and_set(void **state)
{
	tp_params p, q;
	tp_buf b;
	(void)state;
	tp_params_init(&p);
	tp_params_init(&q);
	tp_buf_init(&b, 1000);
	tp_params_add(&p, "Data", "{\"a\":\"b c&d\"}");
	tp_params_add(&p, "Ttl", "43200");
	tp_params_add(&p, "Ttl", "1");
	tp_params_set(&p, "Ttl", "2");
	assert_int_equal(p.n, 2);
	tp_form_encode(&b, &p);
	assert_int_equal(tp_form_parse(&q, b.ptr, b.len), TP_OK);
	assert_string_equal(tp_params_get(&q, "Data"), "{\"a\":\"b c&d\"}");
	assert_string_equal(tp_params_get(&q, "Ttl"), "2");
	tp_params_free(&p);
	tp_params_free(&q);
	tp_buf_free(&b);
}

static void test_from_json(void **state)
{
	tp_params p;
	cJSON *j = cJSON_Parse("{\"callSid\":\"CA1\",\"chargeAmount\":9.99,\"n\":10,"
	                       "\"b\":true,\"z\":null,\"o\":{\"x\":1}}");
	(void)state;
	tp_params_init(&p);
	assert_int_equal(tp_params_from_json(&p, j), TP_OK);
	assert_string_equal(tp_params_get(&p, "callSid"), "CA1");
	assert_string_equal(tp_params_get(&p, "chargeAmount"), "9.99");
	assert_string_equal(tp_params_get(&p, "n"), "10");
	assert_string_equal(tp_params_get(&p, "b"), "true");
	assert_null(tp_params_get(&p, "z"));
	assert_null(tp_params_get(&p, "o"));
	tp_params_free(&p);
	cJSON_Delete(j);
	j = cJSON_Parse("[1]");
	assert_int_equal(tp_params_from_json(&p, j), TP_EINVAL);
	cJSON_Delete(j);
}

/* Numbers outside long long's range (found by tests/fuzz/fuzz_json.c):
 * converting them was undefined behaviour, which a sanitized worker dies
 * of; they print with 15 significant digits. */
static void test_from_json_huge_numbers(void **state)
{
	static const struct {
		int line;
		const char *json, *want;
	} cases[] = {
	    {__LINE__, "{\"n\":1e300}", "1e+300"},
	    {__LINE__, "{\"n\":-1e300}", "-1e+300"},
	    {__LINE__, "{\"n\":9.3e18}", "9.3e+18"},
	    {__LINE__, "{\"n\":-9.3e18}", "-9.3e+18"},
	    {__LINE__, "{\"n\":1e15}", "1e+15"},
	    {__LINE__, "{\"n\":999999999999999}", "999999999999999"},
	    {__LINE__, "{\"n\":-999999999999999}", "-999999999999999"},
	    {__LINE__, "{\"n\":1e-300}", "1e-300"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tp_params p;
		cJSON *j = cJSON_Parse(cases[i].json);
		tp_params_init(&p);
		assert_non_null(j);
		assert_int_equal(tp_params_from_json(&p, j), TP_OK);
		if (!tp_str_eq(tp_params_get(&p, "n"), cases[i].want))
			fail_msg("line %d: %s gave %s", cases[i].line, cases[i].json,
			         tp_params_get(&p, "n"));
		tp_params_free(&p);
		cJSON_Delete(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_table),
	    cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_form_parse),
	    cmocka_unit_test(test_form_parse_errors_leave_nothing),
	    cmocka_unit_test(test_form_too_many),
	    cmocka_unit_test(test_roundtrip_and_set),
	    cmocka_unit_test(test_from_json),
	    cmocka_unit_test(test_from_json_huge_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
