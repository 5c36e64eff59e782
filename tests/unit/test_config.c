/* Unit tests for lib/config.c: the .env reader and validation. */
#include <unistd.h>

#include "unit.h"

static void test_env_parse(void **state)
{
	const char *text =
	    "# comment\n"
	    "ACCOUNT_SID=AC0123456789abcdef0123456789abcdef\n"
	    "export SERVER_URL = https://pay.example.com/ \n"
	    "QUOTED=\"a # not comment\\n\"\n"
	    "SINGLE='x y'\n"
	    "INLINE=value # comment\n"
	    "PAY_SYNC_SERVICE_NAME name of the Sync service\n" /* the original's prose line */
	    "EMPTY=\n"
	    "\n";
	tp_params p;
	tp_buf err;
	(void)state;
	tp_params_init(&p);
	tp_buf_init(&err, 1000);
	assert_int_equal(tp_env_parse(&p, text, strlen(text), &err), TP_OK);
	assert_string_equal(tp_params_get(&p, "ACCOUNT_SID"), "AC0123456789abcdef0123456789abcdef");
	assert_string_equal(tp_params_get(&p, "SERVER_URL"), "https://pay.example.com/");
	assert_string_equal(tp_params_get(&p, "QUOTED"), "a # not comment\n");
	assert_string_equal(tp_params_get(&p, "SINGLE"), "x y");
	assert_string_equal(tp_params_get(&p, "INLINE"), "value");
	assert_null(tp_params_get(&p, "PAY_SYNC_SERVICE_NAME"));
	assert_string_equal(tp_params_get(&p, "EMPTY"), "");
	tp_params_free(&p);
	tp_buf_free(&err);
}

static void test_env_parse_bad_quote(void **state)
{
	const char *text = "A=\"unterminated\n";
	tp_params p;
	tp_buf err;
	(void)state;
	tp_params_init(&p);
	tp_buf_init(&err, 1000);
	assert_int_equal(tp_env_parse(&p, text, strlen(text), &err), TP_EINVAL);
	assert_non_null(strstr(tp_buf_str(&err), "line 1"));
	tp_params_free(&p);
	tp_buf_free(&err);
}

static char env_path[64];

static void write_env(const char *text)
{
	FILE *f;
	strcpy(env_path, "/tmp/tp-config-XXXXXX");
	close(mkstemp(env_path));
	f = fopen(env_path, "w");
	fputs(text, f);
	fclose(f);
	setenv("TWILIOPAY_ENV", env_path, 1);
}

static void test_load_defaults_and_override(void **state)
{
	static const char *const need[] = {"ACCOUNT_SID", "SERVER_URL", NULL};
	tp_config c;
	tp_buf err;
	(void)state;
	write_env("ACCOUNT_SID=AC0123456789abcdef0123456789abcdef\n"
	          "SERVER_URL=https://file.example.com//\n"
	          "INCLUDE_CVC=false\n");
	setenv("SERVER_URL", "https://env.example.com/", 1);
	tp_buf_init(&err, 10000);
	assert_int_equal(tp_config_load(&c, need, &err), TP_OK);
	assert_string_equal(c.server_url, "https://env.example.com"); /* env wins, '/' trimmed */
	assert_false(c.include_cvc);
	assert_false(c.include_postal_code);
	assert_string_equal(c.sync_pay_map_name, "payMap");
	assert_string_equal(c.sync_uui_map_name, "uuiMap");
	assert_string_equal(c.twilio_api_url, "https://api.twilio.com");
	assert_string_equal(c.payment_capture_order,
	                    "payment-card-number,security-code,expiration-date");
	assert_int_equal(c.max_body_bytes, 65536);
	assert_null(c.allowed_currencies); /* any ISO 4217 code */
	assert_int_equal(c.api_retry_budget_ms, 12000);
	tp_config_free(&c);
	/* API_RETRY_BUDGET_MS is read (it used to be ignored). */
	setenv("API_RETRY_BUDGET_MS", "3000", 1);
	assert_int_equal(tp_config_load(&c, need, &err), TP_OK);
	assert_int_equal(c.api_retry_budget_ms, 3000);
	tp_config_free(&c);
	unsetenv("API_RETRY_BUDGET_MS");
	unsetenv("SERVER_URL");
	unlink(env_path);
	tp_buf_free(&err);
}

static void test_load_reports_every_problem(void **state)
{
	static const char *const need[] = {"ACCOUNT_SID", "AUTH_TOKEN", "SIP_DOMAIN_URI", NULL};
	tp_config c;
	tp_buf err;
	const char *e;
	(void)state;
	write_env("ACCOUNT_SID=XX0123\n"
	          "SERVER_URL=ftp://nope\n"
	          "INCLUDE_CVC=maybe\n"
	          "PAYMENT_CAPTURE_ORDER=payment-card-number,cvv\n"
	          "HTTP_TIMEOUT_MS=5\n"
	          "ALLOWED_CURRENCIES=USD,XYZ\n"
	          "API_RETRY_BUDGET_MS=12s\n");
	tp_buf_init(&err, 10000);
	assert_int_equal(tp_config_load(&c, need, &err), TP_EINVAL);
	e = tp_buf_str(&err);
	assert_non_null(strstr(e, "ACCOUNT_SID must be AC followed by 32 hex digits"));
	assert_non_null(strstr(e, "SERVER_URL must be an absolute http:// or https:// URL"));
	assert_non_null(strstr(e, "INCLUDE_CVC must be true or false"));
	assert_non_null(strstr(e, "PAYMENT_CAPTURE_ORDER must be a comma list"));
	assert_non_null(strstr(e, "HTTP_TIMEOUT_MS must be a whole number from 100 to 120000"));
	assert_non_null(strstr(e, "API_RETRY_BUDGET_MS must be a whole number from 100 to 600000"));
	assert_non_null(strstr(e, "AUTH_TOKEN is missing"));
	assert_non_null(strstr(e, "SIP_DOMAIN_URI is missing"));
	assert_non_null(strstr(e, "ALLOWED_CURRENCIES must be a comma list of ISO 4217 currency "
	                          "codes such as USD,EUR,GBP (\"XYZ\" is not one)"));
	tp_config_free(&c);
	unlink(env_path);
	tp_buf_free(&err);
}

/* The agent store: AGENTS_FILE or AGENTS_SYNC_MAP ("A|B" in a need list:
 * either will do), never both. */
static void test_agent_store_need(void **state)
{
	static const char *const need[] = {"AGENT_SECRET", "AGENTS_FILE|AGENTS_SYNC_MAP", NULL};
	tp_config c;
	tp_buf err;
	(void)state;

	tp_buf_init(&err, 10000);
	write_env(
	    "AGENT_SECRET=0123456789abcdef0123\nAGENTS_SYNC_MAP=agentMap\nAGENTS_CACHE_S=5\n");
	assert_int_equal(tp_config_load(&c, need, &err), TP_OK);
	assert_string_equal(c.agents_sync_map, "agentMap");
	assert_int_equal(c.agents_cache_s, 5);
	assert_true(tp_agent_store_is_sync(&c));
	tp_config_free(&c);
	unlink(env_path);
	write_env("AGENT_SECRET=0123456789abcdef0123\nAGENTS_FILE=/etc/twiliopay/agents\n");
	assert_int_equal(tp_config_load(&c, need, &err), TP_OK);
	assert_false(tp_agent_store_is_sync(&c));
	assert_int_equal(c.agents_cache_s, 30);
	tp_config_free(&c);
	unlink(env_path);
	write_env("AGENT_SECRET=0123456789abcdef0123\n");
	assert_int_equal(tp_config_load(&c, need, &err), TP_EINVAL);
	assert_non_null(strstr(tp_buf_str(&err), "AGENTS_FILE or AGENTS_SYNC_MAP is missing"));
	tp_config_free(&c);
	tp_buf_reset(&err);
	unlink(env_path);
	write_env("AGENT_SECRET=0123456789abcdef0123\nAGENTS_FILE=/x\nAGENTS_SYNC_MAP=agentMap\n");
	assert_int_equal(tp_config_load(&c, need, &err), TP_EINVAL);
	assert_non_null(strstr(tp_buf_str(&err), "AGENTS_FILE and AGENTS_SYNC_MAP are both set"));
	tp_config_free(&c);
	tp_buf_reset(&err);
	unlink(env_path);
	write_env(
	    "AGENT_SECRET=0123456789abcdef0123\nAGENTS_SYNC_MAP=agentMap\nAGENTS_CACHE_S=301\n");
	assert_int_equal(tp_config_load(&c, need, &err), TP_EINVAL);
	assert_non_null(
	    strstr(tp_buf_str(&err), "AGENTS_CACHE_S must be a whole number from 0 to 300"));
	tp_config_free(&c);
	unlink(env_path);
	tp_buf_free(&err);
}

/* ALLOWED_CURRENCIES: upper-cased, blanks and repeats dropped, the
 * operator's order kept (its first is the default currency). */
static void test_allowed_currencies(void **state)
{
	static const struct {
		int line;
		const char *in, *want; /* want NULL: refused */
	} rows[] = {
	    {__LINE__, "USD", "USD"},  {__LINE__, " eur, usd ,EUR,Jpy", "EUR,USD,JPY"},
	    {__LINE__, "GBP,", "GBP"}, {__LINE__, "US", NULL},
	    {__LINE__, "USDX", NULL},  {__LINE__, "USD,,EUR", NULL},
	    {__LINE__, "XXX", NULL},   {__LINE__, ",", NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_config c;
		tp_buf err, text;
		tp_rc rc;
		tp_buf_init(&text, 1000);
		tp_buf_addf(&text, "ALLOWED_CURRENCIES=%s\n", rows[i].in);
		write_env(tp_buf_str(&text));
		tp_buf_init(&err, 10000);
		rc = tp_config_load(&c, NULL, &err);
		if (rows[i].want && (rc != TP_OK || !tp_str_eq(c.allowed_currencies, rows[i].want)))
			ROW_FAIL(rows[i].line, "\"%s\" -> \"%s\" (%s)\n", rows[i].in,
			         c.allowed_currencies ? c.allowed_currencies : "(null)",
			         tp_buf_str(&err));
		if (!rows[i].want &&
		    (rc != TP_EINVAL || !strstr(tp_buf_str(&err), "ALLOWED_CURRENCIES")))
			ROW_FAIL(rows[i].line, "\"%s\" was accepted\n", rows[i].in);
		tp_config_free(&c);
		unlink(env_path);
		tp_buf_free(&err);
		tp_buf_free(&text);
	}
	/* the environment wins over the file, as for every variable */
	write_env("ALLOWED_CURRENCIES=EUR\n");
	setenv("ALLOWED_CURRENCIES", "gbp", 1);
	{
		tp_config c;
		tp_buf err;
		tp_buf_init(&err, 10000);
		assert_int_equal(tp_config_load(&c, NULL, &err), TP_OK);
		assert_string_equal(c.allowed_currencies, "GBP");
		tp_config_free(&c);
		tp_buf_free(&err);
	}
	unsetenv("ALLOWED_CURRENCIES");
	unlink(env_path);
	unsetenv("TWILIOPAY_ENV");
}

static void test_explicit_missing_file(void **state)
{
	tp_config c;
	tp_buf err;
	(void)state;
	setenv("TWILIOPAY_ENV", "/nonexistent/twiliopay.env", 1);
	tp_buf_init(&err, 10000);
	assert_int_equal(tp_config_load(&c, NULL, &err), TP_EINVAL);
	assert_non_null(strstr(tp_buf_str(&err), "cannot read the configuration file"));
	tp_config_free(&c);
	tp_buf_free(&err);
	unsetenv("TWILIOPAY_ENV");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_parse),
	    cmocka_unit_test(test_env_parse_bad_quote),
	    cmocka_unit_test(test_load_defaults_and_override),
	    cmocka_unit_test(test_load_reports_every_problem),
	    cmocka_unit_test(test_agent_store_need),
	    cmocka_unit_test(test_explicit_missing_file),
	    cmocka_unit_test(test_allowed_currencies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
