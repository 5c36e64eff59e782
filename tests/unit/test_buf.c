/* Unit tests for lib/buf.c. */
#include <unistd.h>

#include "unit.h"

static void test_add_and_terminate(void **state)
{
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 100);
	assert_string_equal(tp_buf_str(&b), "");
	assert_int_equal(tp_buf_adds(&b, "abc"), TP_OK);
	assert_int_equal(tp_buf_addc(&b, 'd'), TP_OK);
	assert_int_equal(tp_buf_addf(&b, "-%d-%s", 42, "x"), TP_OK);
	assert_string_equal(b.ptr, "abcd-42-x");
	assert_int_equal(b.len, 9);
	tp_buf_reset(&b);
	assert_string_equal(tp_buf_str(&b), "");
	tp_buf_free(&b);
}

static void test_max_frees(void **state)
{
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 5);
	assert_int_equal(tp_buf_adds(&b, "12345"), TP_OK);
	assert_int_equal(tp_buf_adds(&b, "6"), TP_ETOOBIG);
	/* The buffer was freed: nothing half-built survives. */
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
	tp_buf_free(&b);
}

static void test_addf_large(void **state)
{
	tp_buf b;
	char big[1000];
	(void)state;
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	tp_buf_init(&b, 4096);
	assert_int_equal(tp_buf_addf(&b, "<%s>", big), TP_OK);
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.ptr[0], '<');
	assert_int_equal(b.ptr[1000], '>');
	tp_buf_free(&b);
	tp_buf_init(&b, 10);
	assert_int_equal(tp_buf_addf(&b, "%s", big), TP_ETOOBIG);
	tp_buf_free(&b);
}

static void test_take(void **state)
{
	tp_buf b;
	char *s;
	(void)state;
	tp_buf_init(&b, 10);
	s = tp_buf_take(&b);
	assert_string_equal(s, "");
	free(s);
	tp_buf_adds(&b, "hi");
	s = tp_buf_take(&b);
	assert_string_equal(s, "hi");
	assert_null(b.ptr);
	free(s);
}

static void test_add_file(void **state)
{
	char dir[] = "/tmp/tp-buf-XXXXXX", path[64];
	tp_buf b;
	FILE *f;
	size_t i;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);

	tp_buf_init(&b, 100000);
	assert_int_equal(tp_buf_add_file(&b, path), TP_ENOTFOUND);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(tp_buf_add_file(&b, path), TP_OK);
	assert_non_null(b.ptr); /* an empty file is an empty, allocated buffer */
	assert_int_equal(b.len, 0);
	/* Past one read(): 10000 bytes, appended after what is there. */
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < 10000; i++)
		fputc('a' + (int)(i % 26), f);
	fclose(f);
	tp_buf_adds(&b, ">");
	assert_int_equal(tp_buf_add_file(&b, path), TP_OK);
	assert_int_equal(b.len, 10001);
	assert_int_equal(b.ptr[0], '>');
	assert_int_equal(b.ptr[10000], 'a' + (9999 % 26));
	tp_buf_free(&b);
	tp_buf_init(&b, 5000);
	assert_int_equal(tp_buf_add_file(&b, path), TP_ETOOBIG);
	assert_null(b.ptr);
	tp_buf_free(&b);
	/* A directory cannot be read as a file. */
	tp_buf_init(&b, 100);
	assert_int_equal(tp_buf_add_file(&b, dir), TP_EIO);
	tp_buf_free(&b);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_terminate), cmocka_unit_test(test_max_frees),
	    cmocka_unit_test(test_addf_large),        cmocka_unit_test(test_take),
	    cmocka_unit_test(test_add_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
