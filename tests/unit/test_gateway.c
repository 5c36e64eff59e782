/* Unit tests for lib/gateway.c and lib/gateway_sandbox.c: the id scheme
 * (vectors computed independently with `openssl dgst -sha256 -hmac`), the
 * documented test numbers, and the choice of gateway at start-up. */
#include "unit.h"

static void test_ids(void **state)
{
	static const struct {
		int line;
		const char *key;
		tp_conn_method m;
		const char *tx;
		const char *want;
	} rows[] = {
	    {__LINE__, "fixture-connector-password", TP_CONN_CHARGE,
	     "72500aba-328c-445c-a12e-da5700e10b17", "ch_832d722c69b1bec49ba08e6ef1123879"},
	    {__LINE__, "fixture-connector-password", TP_CONN_TOKENIZE,
	     "72500aba-328c-445c-a12e-da5700e10b17", "tok_d199d0ad25437ba502ba044c06f23086"},
	    {__LINE__, "k", TP_CONN_CHARGE, "", "ch_b0d988849d9d4ab188e6129e6bebe0bd"},
	};
	char a[64], b[64];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_gateway_sandbox_id(rows[i].key, rows[i].m, rows[i].tx, a, sizeof a);
		if (strcmp(a, rows[i].want) != 0)
			ROW_FAIL(rows[i].line, "id %s want %s\n", a, rows[i].want);
	}
	/* Same input, same id (any worker, any node); any change, another. */
	tp_gateway_sandbox_id("key-one-0123456789", TP_CONN_CHARGE, "tx", a, sizeof a);
	tp_gateway_sandbox_id("key-one-0123456789", TP_CONN_CHARGE, "tx", b, sizeof b);
	assert_string_equal(a, b);
	tp_gateway_sandbox_id("key-one-0123456789", TP_CONN_CHARGE, "tx2", b, sizeof b);
	assert_string_not_equal(a, b);
	tp_gateway_sandbox_id("key-two-0123456789", TP_CONN_CHARGE, "tx", b, sizeof b);
	assert_string_not_equal(a, b);
	tp_gateway_sandbox_id("key-one-0123456789", TP_CONN_TOKENIZE, "tx", b, sizeof b);
	assert_string_not_equal(a + 3, b + 4);
	assert_int_equal(strlen(a), 3 + 32);
	assert_int_equal(strspn(a + 3, "0123456789abcdef"), 32);
}

static tp_conn_req card_req(const char *pan, tp_conn_method m)
{
	tp_conn_req r;

	memset(&r, 0, sizeof r);
	r.method = m;
	r.transaction_id = "tx-gw";
	r.cardnumber = pan;
	return r;
}

static void test_test_numbers(void **state)
{
	tp_config cfg;
	tp_gw_result res;
	tp_conn_req r;
	const tp_gw_test_number *t;
	char pw[] = "unit-connector-password";
	int n = 0;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.connector_password = pw;
	for (t = tp_gateway_sandbox_cards; t->number; t++, n++) {
		tp_card_brand brand;
		const char *why;
		/* Each passes validation, so it reaches the gateway. */
		assert_int_equal(tp_card_number_check(t->number, &brand, &why), TP_OK);
		r = card_req(t->number, TP_CONN_CHARGE);
		tp_gateway_sandbox_submit(&cfg, &r, &res);
		assert_false(res.approved);
		assert_string_equal(res.id, "");
		assert_string_equal(res.error_code, t->error_code);
		assert_string_equal(res.error_message, t->error_message);
		r.method = TP_CONN_TOKENIZE;
		tp_gateway_sandbox_submit(&cfg, &r, &res);
		assert_false(res.approved);
		assert_string_equal(res.error_code, t->error_code);
	}
	assert_int_equal(n, 5);
	assert_string_equal(tp_gateway_sandbox_cards[0].error_code, "card_declined");
	assert_string_equal(tp_gateway_sandbox_cards[1].error_code, "insufficient_funds");
	assert_string_equal(tp_gateway_sandbox_cards[2].error_code, "expired_card");
	for (t = tp_gateway_sandbox_accounts; t->number; t++) {
		assert_true(tp_bank_account_ok(t->number));
		memset(&r, 0, sizeof r);
		r.ach = true;
		r.transaction_id = "tx-gw";
		r.account_number = t->number;
		r.routing_number = "110000000";
		tp_gateway_sandbox_submit(&cfg, &r, &res);
		assert_false(res.approved);
		assert_string_equal(res.error_code, t->error_code);
	}
	/* Anything else valid is approved, with the keyed id. */
	r = card_req("4242424242424242", TP_CONN_CHARGE);
	tp_gateway_sandbox_submit(&cfg, &r, &res);
	assert_true(res.approved);
	assert_null(res.error_code);
	assert_true(tp_str_prefix(res.id, "ch_"));
	r = card_req("4242424242424242", TP_CONN_TOKENIZE);
	tp_gateway_sandbox_submit(&cfg, &r, &res);
	assert_true(res.approved);
	assert_true(tp_str_prefix(res.id, "tok_"));
	/* The submit seam, before any init, is the sandbox. */
	r = card_req("4000000000000002", TP_CONN_CHARGE);
	tp_gateway_submit(&cfg, &r, &res);
	assert_string_equal(res.error_code, "card_declined");
}

static void test_init(void **state)
{
	static const struct {
		int line;
		const char *api_url;
		const char *gateway; /* PAYMENT_GATEWAY, NULL = unset */
		bool ok;
	} rows[] = {
	    {__LINE__, "https://api.twilio.com", NULL, false},
	    {__LINE__, "https://api.dublin.ie1.twilio.com", NULL, false},
	    {__LINE__, "https://api.twilio.com:443", NULL, false},
	    {__LINE__, "https://api.twilio.com", "sandbox", true},
	    {__LINE__, "http://127.0.0.1:8081", NULL, true},
	    {__LINE__, "https://api.twilio.com.example.net", NULL, true},
	    {__LINE__, "https://eviltwilio.com", NULL, true},
	    {__LINE__, "http://127.0.0.1:8081", "stripe", false},
	    {__LINE__, "http://127.0.0.1:8081", "Sandbox", false},
	};
	tp_config cfg;
	char url[128];
	size_t i;

	(void)state;
	tp_log_set_level(TP_LOG_ERROR + 1); /* the refusals log; keep the output clean */
	for (i = 0; i < N_ELEMS(rows); i++) {
		memset(&cfg, 0, sizeof cfg);
		snprintf(url, sizeof url, "%s", rows[i].api_url);
		cfg.twilio_api_url = url;
		cfg.payment_gateway = (char *)rows[i].gateway;
		if (tp_gateway_init(&cfg) != rows[i].ok)
			ROW_FAIL(rows[i].line, "init gave %d\n", !rows[i].ok);
	}
	tp_log_set_level(TP_LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_test_numbers),
	    cmocka_unit_test(test_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
