/* Unit tests for lib/str.c, lib/status.c and lib/auth.c parsing. */
#include "unit.h"

static void test_u64(void **state)
{
	static const struct {
		int line;
		const char *in;
		uint64_t max;
		tp_rc rc;
		uint64_t out;
	} rows[] = {
	    {__LINE__, "0", 10, TP_OK, 0},
	    {__LINE__, "10", 10, TP_OK, 10},
	    {__LINE__, "11", 10, TP_EINVAL, 0},
	    {__LINE__, "", 10, TP_EINVAL, 0},
	    {__LINE__, "-1", 10, TP_EINVAL, 0},
	    {__LINE__, "1x", 10, TP_EINVAL, 0},
	    {__LINE__, " 1", 10, TP_EINVAL, 0},
	    {__LINE__, "18446744073709551615", UINT64_MAX, TP_OK, UINT64_MAX},
	    {__LINE__, "18446744073709551616", UINT64_MAX, TP_EINVAL, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		uint64_t v = 0;
		tp_rc rc = tp_str_to_u64(rows[i].in, strlen(rows[i].in), rows[i].max, &v);
		if (rc != rows[i].rc || (rc == TP_OK && v != rows[i].out))
			ROW_FAIL(rows[i].line, "rc %d v %llu\n", rc, (unsigned long long)v);
	}
}

static void test_sid(void **state)
{
	(void)state;
	assert_true(tp_sid_valid("CA0123456789abcdef0123456789abcdef", "CA"));
	assert_true(tp_sid_valid("CA0123456789ABCDEF0123456789ABCDEF", NULL));
	assert_false(tp_sid_valid("PK0123456789abcdef0123456789abcdef", "CA"));
	assert_false(tp_sid_valid("CA0123456789abcdef0123456789abcde", "CA"));
	assert_false(tp_sid_valid("CA0123456789abcdef0123456789abcdeg", "CA"));
	assert_false(tp_sid_valid("ca0123456789abcdef0123456789abcdef", NULL));
	assert_false(tp_sid_valid(NULL, "CA"));
}

static void test_ct_and_bool(void **state)
{
	bool b;
	(void)state;
	assert_true(tp_ct_streq("secret", "secret"));
	assert_false(tp_ct_streq("secret", "secreT"));
	assert_false(tp_ct_streq("secre", "secret"));
	assert_false(tp_ct_streq("secrets", "secret"));
	assert_false(tp_ct_streq(NULL, "secret"));
	assert_int_equal(tp_str_to_bool("TRUE", &b), TP_OK);
	assert_true(b);
	assert_int_equal(tp_str_to_bool("0", &b), TP_OK);
	assert_false(b);
	assert_int_equal(tp_str_to_bool("maybe", &b), TP_EINVAL);
}

static void test_status(void **state)
{
	(void)state;
	assert_string_equal(tp_status_str(413), "Payload Too Large");
	assert_string_equal(tp_status_str(200), "OK");
	assert_string_equal(tp_status_str(299), "Unknown");
	assert_string_equal(tp_status_str(-1), "Unknown");
	assert_string_equal(tp_status_str(100000), "Unknown");
}

static void test_basic_auth(void **state)
{
	char *u = NULL, *p = NULL;
	(void)state;
	/* "connector:pa:ss" - the password may contain ':' */
	assert_int_equal(tp_basic_auth_parse("Basic Y29ubmVjdG9yOnBhOnNz", &u, &p), TP_OK);
	assert_string_equal(u, "connector");
	assert_string_equal(p, "pa:ss");
	free(u);
	free(p);
	assert_int_equal(tp_basic_auth_parse("Bearer abc", &u, &p), TP_EINVAL);
	assert_int_equal(tp_basic_auth_parse("Basic !!!", &u, &p), TP_EINVAL);
	assert_int_equal(tp_basic_auth_parse("Basic bm9jb2xvbg==", &u, &p), TP_EINVAL);
	assert_int_equal(tp_basic_auth_parse(NULL, &u, &p), TP_EINVAL);
}

static void test_rc_str(void **state)
{
	(void)state;
	/* every code has its own name: a log line tells them apart */
	const tp_rc all[] = {TP_OK,    TP_EINVAL,   TP_ETOOBIG,  TP_ENOTFOUND, TP_EIO,
	                     TP_EAUTH, TP_EEXPIRED, TP_EUNAVAIL, TP_ETIMEOUT,  TP_ECONFIG};
	size_t n = sizeof all / sizeof all[0];
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(tp_rc_str(all[i]), "unknown error");
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(tp_rc_str(all[i]), tp_rc_str(all[j]));
	}
	assert_string_equal(tp_rc_str(TP_EEXPIRED), "expired");
	assert_string_equal(tp_rc_str((tp_rc)-99), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_u64),         cmocka_unit_test(test_sid),
	    cmocka_unit_test(test_ct_and_bool), cmocka_unit_test(test_status),
	    cmocka_unit_test(test_basic_auth),  cmocka_unit_test(test_rc_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
