/* Unit tests for lib/dotenv.c: the Node original's .env as dotenv 6.2 read
 * it, and lines config.c reads back unchanged. */
#include "unit.h"

/* One line as dotenv 6.2.0 reads it (expected values from dotenv 6.2.0
 * itself, dotenv.parse() in node; tests/node/migrate.test.mjs runs the
 * same comparison on whole files). */
static void test_dotenv_lines(void **state)
{
	static const struct {
		int line;
		const char *in;
		tp_dotenv_kind kind;
		const char *key, *value;
	} rows[] = {
	    {__LINE__, "ACCOUNT_SID=AC0123", TP_DOTENV_SET, "ACCOUNT_SID", "AC0123"},
	    {__LINE__, "  KEY = spaced value  ", TP_DOTENV_SET, "KEY", "spaced value"},
	    {__LINE__, "EMPTY=", TP_DOTENV_SET, "EMPTY", ""},
	    {__LINE__, "EMPTY=   ", TP_DOTENV_SET, "EMPTY", ""},
	    /* '#' is not a comment after a value. */
	    {__LINE__, "PAY_SYNC_SERVICE_SID=IS1  # Set after running setupSyncServices",
	     TP_DOTENV_SET, "PAY_SYNC_SERVICE_SID", "IS1  # Set after running setupSyncServices"},
	    {__LINE__, "A=x#y", TP_DOTENV_SET, "A", "x#y"},
	    {__LINE__, "Q=\"a,b,c\"", TP_DOTENV_SET, "Q", "a,b,c"},
	    {__LINE__, "Q=\"line\\nnext\"", TP_DOTENV_SET, "Q", "line\nnext"},
	    /* Only backslash-n is an escape, and only in double quotes. */
	    {__LINE__, "Q=\"a\\\\b\\\"c\\t\"", TP_DOTENV_SET, "Q", "a\\\\b\\\"c\\t"},
	    {__LINE__, "S='a\\nb'", TP_DOTENV_SET, "S", "a\\nb"},
	    {__LINE__, "S='it's'", TP_DOTENV_SET, "S", "it's"},
	    /* One leading and one trailing quote go, each on its own, then
	     * blanks: not a pair of quotes around the value. */
	    {__LINE__, "Q=\"a\" ", TP_DOTENV_SET, "Q", "a\""},
	    {__LINE__, "Q=\"a\" # note", TP_DOTENV_SET, "Q", "a\" # note"},
	    {__LINE__, "Q=\"open", TP_DOTENV_SET, "Q", "open"},
	    {__LINE__, "Q='a\"", TP_DOTENV_SET, "Q", "a"},
	    {__LINE__, "Q=\"", TP_DOTENV_SET, "Q", ""},
	    {__LINE__, "Q=\"\"", TP_DOTENV_SET, "Q", ""},
	    {__LINE__, "Q=\" spaced \"", TP_DOTENV_SET, "Q", "spaced"},
	    {__LINE__, "A=\"x\\ny\" ", TP_DOTENV_SET, "A", "x\\ny\""},
	    /* A \r ends the value; only blanks may follow it. */
	    {__LINE__, "A=1\r", TP_DOTENV_SET, "A", "1"},
	    {__LINE__, "A=1\rB=2", TP_DOTENV_OTHER, NULL, NULL},
	    {__LINE__, "API-KEY_AU=SK1", TP_DOTENV_SET, "API-KEY_AU", "SK1"},
	    {__LINE__, "a.b=1", TP_DOTENV_SET, "a.b", "1"},
	    {__LINE__, "K==v", TP_DOTENV_SET, "K", "=v"},
	    /* Ignored by dotenv 6.2. */
	    {__LINE__, "export KEY=v", TP_DOTENV_OTHER, NULL, NULL},
	    {__LINE__, "KEY: v", TP_DOTENV_OTHER, NULL, NULL},
	    {__LINE__, "MY KEY=v", TP_DOTENV_OTHER, NULL, NULL},
	    {__LINE__, "=v", TP_DOTENV_OTHER, NULL, NULL},
	    {__LINE__, "PAY_SYNC_SERVICE_NAME name of the Sync service", TP_DOTENV_OTHER, NULL,
	     NULL},
	    {__LINE__, "# SIP_DOMAIN_URI=x", TP_DOTENV_COMMENT, NULL, NULL},
	    {__LINE__, "   # indented", TP_DOTENV_COMMENT, NULL, NULL},
	    {__LINE__, " \t ", TP_DOTENV_BLANK, NULL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_dotenv d;
		const tp_dotenv_line *l;
		assert_int_equal(tp_dotenv_parse(rows[i].in, strlen(rows[i].in), &d), TP_OK);
		if (d.n != 1)
			ROW_FAIL(rows[i].line, "%zu lines\n", d.n);
		l = &d.v[0];
		if (l->kind != rows[i].kind || strncmp(l->raw, rows[i].in, strlen(l->raw)) != 0)
			ROW_FAIL(rows[i].line, "kind %d, raw \"%s\"\n", (int)l->kind, l->raw);
		if (rows[i].key && (!l->key || strcmp(l->key, rows[i].key) != 0 ||
		                    strcmp(l->value, rows[i].value) != 0))
			ROW_FAIL(rows[i].line, "key \"%s\" value \"%s\"\n", l->key ? l->key : "",
			         l->value ? l->value : "");
		if (!rows[i].key && (l->key || l->value))
			ROW_FAIL(rows[i].line, "unexpected key \"%s\"\n", l->key ? l->key : "");
		tp_dotenv_free(&d);
	}
}

static void test_dotenv_file(void **state)
{
	/* A BOM, CRLF (the \r leaves `raw`), a lone CR inside a line (not a
	 * setting then), a repeated name (the last wins), no final line
	 * break. */
	const char text[] = "\xEF\xBB\xBF"
	                    "ACCOUNT_SID=AC1\r\n"
	                    "\r\n"
	                    "# comment\r\n"
	                    "B=1\rC=2\n"
	                    "A=1\n"
	                    "A=2";
	tp_dotenv d;
	(void)state;
	assert_int_equal(tp_dotenv_parse(text, sizeof text - 1, &d), TP_OK);
	assert_int_equal(d.n, 6);
	assert_int_equal(d.v[0].kind, TP_DOTENV_SET);
	assert_string_equal(d.v[0].key, "ACCOUNT_SID");
	assert_string_equal(d.v[0].raw, "\xEF\xBB\xBF"
	                                "ACCOUNT_SID=AC1");
	assert_int_equal(d.v[1].kind, TP_DOTENV_BLANK);
	assert_int_equal(d.v[2].kind, TP_DOTENV_COMMENT);
	assert_string_equal(d.v[2].raw, "# comment");
	assert_int_equal(d.v[3].kind, TP_DOTENV_OTHER);
	assert_string_equal(tp_dotenv_get(&d, "A"), "2");
	assert_string_equal(tp_dotenv_get(&d, "ACCOUNT_SID"), "AC1");
	assert_null(tp_dotenv_get(&d, "B"));
	tp_dotenv_free(&d);

	assert_int_equal(tp_dotenv_parse("", 0, &d), TP_OK);
	assert_int_equal(d.n, 0);
	tp_dotenv_free(&d);
	assert_int_equal(tp_dotenv_parse("A=1\n", 4, &d), TP_OK);
	assert_int_equal(d.n, 1);
	tp_dotenv_free(&d);
	assert_int_equal(tp_dotenv_parse("A=1\0B=2", 7, &d), TP_EINVAL);
	assert_int_equal(d.n, 0);
}

/* tp_env_format: what config.c reads back is the value given, written as
 * is when that works. */
static void test_env_format(void **state)
{
	static const struct {
		int line;
		const char *key, *value;
		const char *want; /* NULL: refused */
	} rows[] = {
	    {__LINE__, "ACCOUNT_SID", "AC0123", "ACCOUNT_SID=AC0123"},
	    {__LINE__, "EMPTY", "", "EMPTY="},
	    {__LINE__, "A", "x#y", "A=x#y"},
	    {__LINE__, "A", "x # y", "A=\"x # y\""},
	    {__LINE__, "A", " padded ", "A=\" padded \""},
	    {__LINE__, "A", "\"quoted\"", "A=\"\\\"quoted\\\"\""},
	    {__LINE__, "A", "'single", "A=\"'single\""},
	    {__LINE__, "A", "back\\slash", "A=back\\slash"},
	    {__LINE__, "A", "\"back\\slash", "A=\"\\\"back\\\\slash\""},
	    {__LINE__, "A", "two\nlines", "A=\"two\\nlines\""},
	    {__LINE__, "API-KEY_AU", "SK1", "API-KEY_AU=SK1"},
	    {__LINE__, "A", "cr\rhere", NULL},
	    {__LINE__, "A=B", "v", NULL},
	    {__LINE__, "", "v", NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_buf b;
		tp_rc rc;
		tp_buf_init(&b, 4096);
		rc = tp_env_format(&b, rows[i].key, rows[i].value);
		if (rows[i].want ? rc != TP_OK || strcmp(tp_buf_str(&b), rows[i].want) != 0
		                 : rc != TP_EINVAL)
			ROW_FAIL(rows[i].line, "rc %d, \"%s\"\n", (int)rc, tp_buf_str(&b));
		if (rows[i].want && !tp_env_line_reads(tp_buf_str(&b), rows[i].key, rows[i].value))
			ROW_FAIL(rows[i].line, "does not read back\n");
		tp_buf_free(&b);
	}
}

/* Every line dotenv 6.2 reads, written by tp_env_format, reads back
 * through config.c as the value Node saw. */
static void test_round_trip(void **state)
{
	static const char *const lines[] = {
	    "Q=\"a\\\\b\\\"c\"",
	    "Q=\"a\" # note",
	    "PAY_SYNC_SERVICE_SID=IS1  # later",
	    "S='x'y'",
	    "Q=\"open",
	    "K= \"a\\nb\" ",
	    "P=\"two\\nlines\"",
	    "V=#value",
	    "W='  kept  '",
	    "X=\"\\n edge \\n\"",
	    "Y=\"in\\nside\" ",
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(lines); i++) {
		tp_dotenv d;
		tp_buf b;
		assert_int_equal(tp_dotenv_parse(lines[i], strlen(lines[i]), &d), TP_OK);
		assert_int_equal(d.v[0].kind, TP_DOTENV_SET);
		tp_buf_init(&b, 4096);
		assert_int_equal(tp_env_format(&b, d.v[0].key, d.v[0].value), TP_OK);
		if (!tp_env_line_reads(tp_buf_str(&b), d.v[0].key, d.v[0].value))
			fail_msg("%s -> %s does not read back", lines[i], tp_buf_str(&b));
		tp_buf_free(&b);
		tp_dotenv_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dotenv_lines),
	    cmocka_unit_test(test_dotenv_file),
	    cmocka_unit_test(test_env_format),
	    cmocka_unit_test(test_round_trip),
	};
	tp_log_set_level(TP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
