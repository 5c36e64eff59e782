/* Unit tests for lib/connector.c: request validation (table-driven, fixed
 * clock), the answer shape through the whole request pipeline, and PCI:
 * no card or bank number in any answer, error message or log line. */
#include <fcntl.h>
#include <unistd.h>

#include "unit.h"

/* 2026-11-18 UTC: cards are current through 11/2026 and at most 20 years
 * ahead, 11/2046. */
#define NOW ((time_t)1795000000)

/* Extras come first: cJSON finds the first of duplicate keys. */
#define CARD(extra)                                                                                \
	"{" extra                                                                                  \
	"\"transaction_id\":\"tx-1\",\"cardnumber\":\"4111111111111111\",\"cvv\":\"333\","         \
	"\"expiry_month\":\"12\",\"expiry_year\":\"2030\",\"amount\":\"9.99\"}"
#define BANK(extra)                                                                                \
	"{" extra "\"transaction_id\":\"tx-1\",\"bank_routing_number\":\"110000000\","             \
	"\"bank_account_number\":\"000123456789\",\"amount\":\"9.99\"}"

typedef struct row {
	int line;
	const char *json;
	tp_conn_method path;
	const char *code; /* NULL: valid */
	tp_conn_method method;
	const char *brand;
	const char *last4;
	int64_t minor;
	const char *currency;
} row;

#define BAD(json, path, code)                                                                      \
	{                                                                                          \
		__LINE__, json, path, code, TP_CONN_CHARGE, NULL, NULL, 0, NULL                    \
	}

static const row rows[] = {
    /* valid */
    {__LINE__, CARD(""), TP_CONN_CHARGE, NULL, TP_CONN_CHARGE, "visa", "1111", 999, "USD"},
    {__LINE__, CARD("\"method\":\"tokenize\","), TP_CONN_CHARGE, NULL, TP_CONN_TOKENIZE, "visa",
     "1111", 0, ""},
    {__LINE__, CARD(""), TP_CONN_TOKENIZE, NULL, TP_CONN_TOKENIZE, "visa", "1111", 0, ""},
    {__LINE__, CARD("\"method\":\"charge\","), TP_CONN_TOKENIZE, NULL, TP_CONN_CHARGE, "visa",
     "1111", 999, "USD"},
    {__LINE__, CARD("\"currency_code\":\"jpy\",\"amount\":\"1500\","), TP_CONN_CHARGE, NULL,
     TP_CONN_CHARGE, "visa", "1111", 1500, "JPY"},
    {__LINE__, CARD("\"currency_code\":\"BHD\",\"amount\":\"1.234\","), TP_CONN_CHARGE, NULL,
     TP_CONN_CHARGE, "visa", "1111", 1234, "BHD"},
    {__LINE__, CARD("\"amount\":\"999999.99\","), TP_CONN_CHARGE, NULL, TP_CONN_CHARGE, "visa",
     "1111", 99999999, "USD"},
    {__LINE__, CARD("\"amount\":0.5,"), TP_CONN_CHARGE, NULL, TP_CONN_CHARGE, "visa", "1111", 50,
     "USD"},
    {__LINE__, CARD("\"expiry_month\":\"11\",\"expiry_year\":\"26\","), TP_CONN_CHARGE, NULL,
     TP_CONN_CHARGE, "visa", "1111", 999, "USD"},
    {__LINE__, CARD("\"expiry_month\":11,\"expiry_year\":2046,"), TP_CONN_CHARGE, NULL,
     TP_CONN_CHARGE, "visa", "1111", 999, "USD"},
    {__LINE__, CARD("\"cvv\":null,\"postal_code\":\"\","), TP_CONN_CHARGE, NULL, TP_CONN_CHARGE,
     "visa", "1111", 999, "USD"},
    {__LINE__,
     "{\"transaction_id\":\"tx-2\",\"cardnumber\":\"5555555555554444\",\"cvv\":\"123\","
     "\"expiry_month\":\"1\",\"expiry_year\":\"2031\",\"amount\":\"1\"}",
     TP_CONN_CHARGE, NULL, TP_CONN_CHARGE, "mastercard", "4444", 100, "USD"},
    {__LINE__, BANK(""), TP_CONN_CHARGE, NULL, TP_CONN_CHARGE, "unknown", "", 999, "USD"},
    /* method, transaction */
    BAD(CARD("\"method\":\"refund\","), TP_CONN_CHARGE, "invalid_method"),
    BAD(CARD("\"method\":true,"), TP_CONN_CHARGE, "invalid_field_type"),
    BAD("{\"cardnumber\":\"4111111111111111\"}", TP_CONN_CHARGE, "missing_field"),
    BAD(CARD("\"transaction_id\":\"a b\","), TP_CONN_CHARGE, "invalid_transaction_id"),
    BAD(CARD("\"transaction_id\":\"\","), TP_CONN_CHARGE, "missing_field"),
    BAD(CARD("\"transaction_id\":7,"), TP_CONN_CHARGE, "invalid_field_type"),
    BAD("[1,2]", TP_CONN_CHARGE, "invalid_request"),
    /* card */
    BAD(CARD("\"cardnumber\":\"4111111111111112\","), TP_CONN_CHARGE, "invalid_number"),
    BAD(CARD("\"cardnumber\":\"4111-1111-1111-1111\","), TP_CONN_CHARGE, "invalid_number"),
    BAD(CARD("\"cardnumber\":\"41111111111\","), TP_CONN_CHARGE, "invalid_number"),
    BAD(CARD("\"cardnumber\":\"37828224631000\","), TP_CONN_CHARGE, "invalid_number"),
    BAD(CARD("\"cardnumber\":\"1111111111111117\","), TP_CONN_CHARGE, "invalid_card_type"),
    BAD(CARD("\"cardnumber\":4111111111111111,"), TP_CONN_CHARGE, "invalid_field_type"),
    BAD(CARD("\"expiry_month\":\"13\","), TP_CONN_CHARGE, "invalid_expiry_month"),
    BAD(CARD("\"expiry_month\":\"123\","), TP_CONN_CHARGE, "invalid_expiry_month"),
    BAD(CARD("\"expiry_month\":null,"), TP_CONN_CHARGE, "missing_field"),
    BAD(CARD("\"expiry_year\":\"1999\","), TP_CONN_CHARGE, "expired_card"),
    BAD(CARD("\"expiry_year\":\"0030\","), TP_CONN_CHARGE, "invalid_expiry_year"),
    BAD(CARD("\"expiry_year\":\"3\","), TP_CONN_CHARGE, "invalid_expiry_year"),
    BAD(CARD("\"expiry_month\":\"10\",\"expiry_year\":\"2026\","), TP_CONN_CHARGE, "expired_card"),
    BAD(CARD("\"expiry_month\":\"12\",\"expiry_year\":\"2046\","), TP_CONN_CHARGE,
        "invalid_expiry_year"),
    BAD(CARD("\"cvv\":\"33\","), TP_CONN_CHARGE, "invalid_cvc"),
    BAD(CARD("\"cvv\":\"33a\","), TP_CONN_CHARGE, "invalid_cvc"),
    BAD(CARD("\"cvv\":333,"), TP_CONN_CHARGE, "invalid_field_type"),
    BAD(CARD("\"postal_code\":\"12345678901\","), TP_CONN_CHARGE, "invalid_postal_code"),
    /* money */
    BAD(CARD("\"amount\":null,"), TP_CONN_CHARGE, "missing_field"),
    BAD(CARD("\"amount\":\"0\","), TP_CONN_CHARGE, "invalid_amount"),
    BAD(CARD("\"amount\":\"1e3\","), TP_CONN_CHARGE, "invalid_amount"),
    BAD(CARD("\"amount\":\" 9.99\","), TP_CONN_CHARGE, "invalid_amount"),
    BAD(CARD("\"amount\":\"9.\","), TP_CONN_CHARGE, "invalid_amount"),
    BAD(CARD("\"amount\":\"9.999\","), TP_CONN_CHARGE, "invalid_amount"),
    BAD(CARD("\"amount\":\"1000000\","), TP_CONN_CHARGE, "invalid_amount"),
    BAD(CARD("\"amount\":[1],"), TP_CONN_CHARGE, "invalid_field_type"),
    BAD(CARD("\"currency_code\":\"EURO\","), TP_CONN_CHARGE, "invalid_currency"),
    BAD(CARD("\"currency_code\":\"ZZZ\","), TP_CONN_CHARGE, "invalid_currency"),
    BAD(CARD("\"token_type\":\"x\","), TP_CONN_TOKENIZE, "invalid_token_type"),
    /* bank */
    BAD(BANK("\"bank_routing_number\":\"110000001\","), TP_CONN_CHARGE, "invalid_routing_number"),
    BAD(BANK("\"bank_routing_number\":\"990000000\","), TP_CONN_CHARGE, "invalid_routing_number"),
    BAD(BANK("\"bank_account_number\":\"123\","), TP_CONN_CHARGE, "invalid_account_number"),
    BAD(BANK("\"bank_account_type\":\"savings\","), TP_CONN_CHARGE, "invalid_account_type"),
    BAD(BANK("\"cardnumber\":\"4111111111111111\","), TP_CONN_CHARGE, "invalid_request"),
};

static bool json_has(const char *text, const char *needle)
{
	return needle && *needle && strstr(text, needle) != NULL;
}

static void test_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		const row *w = &rows[i];
		cJSON *j = cJSON_Parse(w->json);
		tp_conn_req r;
		tp_conn_error e;
		bool ok;

		if (!j)
			ROW_FAIL(w->line, "row JSON does not parse\n");
		ok = tp_connector_parse(j, w->path, NOW, &r, &e);
		if (!w->code) {
			if (!ok)
				ROW_FAIL(w->line, "refused: %s %s\n", e.code, e.message);
			if (r.method != w->method)
				ROW_FAIL(w->line, "method %d want %d\n", r.method, w->method);
			if (!r.ach && strcmp(tp_card_brand_name(r.brand), w->brand) != 0)
				ROW_FAIL(w->line, "brand %s\n", tp_card_brand_name(r.brand));
			if (strcmp(r.last4, w->last4) != 0)
				ROW_FAIL(w->line, "last4 %s\n", r.last4);
			if (r.amount_minor != w->minor || strcmp(r.currency, w->currency) != 0)
				ROW_FAIL(w->line, "amount %lld %s\n", (long long)r.amount_minor,
				         r.currency);
		} else {
			if (ok)
				ROW_FAIL(w->line, "accepted, want %s\n", w->code);
			if (strcmp(e.code, w->code) != 0)
				ROW_FAIL(w->line, "code %s (%s), want %s\n", e.code, e.message,
				         w->code);
			if (!*e.message)
				ROW_FAIL(w->line, "no message\n");
			/* The message never quotes what was sent. */
			if (json_has(e.message, "4111") || json_has(e.message, "000123456789") ||
			    json_has(e.message, "110000") || json_has(e.message, "333"))
				ROW_FAIL(w->line, "message quotes the request: %s\n", e.message);
		}
		cJSON_Delete(j);
	}
}

static void test_defaults(void **state)
{
	cJSON *j;
	tp_conn_req r;
	tp_conn_error e;

	(void)state;
	j = cJSON_Parse(BANK(""));
	assert_true(tp_connector_parse(j, TP_CONN_CHARGE, NOW, &r, &e));
	assert_true(r.ach);
	assert_string_equal(r.account_type, "consumer-checking");
	assert_string_equal(r.routing_number, "110000000");
	assert_string_equal(r.last4, "");
	cJSON_Delete(j);
	j = cJSON_Parse(CARD(""));
	assert_true(tp_connector_parse(j, TP_CONN_TOKENIZE, NOW, &r, &e));
	assert_string_equal(r.token_type, "reusable");
	assert_int_equal(r.expiry_month, 12);
	assert_int_equal(r.expiry_year, 2030);
	assert_false(r.ach);
	cJSON_Delete(j);
}

/* ------------------------------------------------------------ pipeline */

static tp_config cfg;

static void handle_charge(const tp_req *req, tp_resp *resp, const tp_config *c)
{
	tp_connector_handle(req, resp, c, TP_CONN_CHARGE);
}

static const tp_handler charge_h = {
    .name = "charge", .fn = handle_charge, .authorize = tp_connector_authorize};

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.server_url = tp_xstrdup("https://pay.example.com");
	cfg.connector_username = tp_xstrdup("connector");
	cfg.connector_password = tp_xstrdup("unit-connector-password");
	cfg.max_body_bytes = 65536;
	tp_log_set_level(TP_LOG_DEBUG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(cfg.server_url);
	free(cfg.connector_username);
	free(cfg.connector_password);
	tp_log_set_level(TP_LOG_INFO);
	return 0;
}

/* One request through tp_process_cgi; stderr (the log) is captured into
 * *log.  Returns the status; *body points into a static buffer. */
static int run(const char *json, const char *auth, const char **body, tp_buf *log)
{
	static tp_buf out;
	char cl[48], au[256];
	const char *env[] = {cl,
	                     "REQUEST_METHOD=POST",
	                     "DOCUMENT_URI=/connector/charge",
	                     "CONTENT_TYPE=application/json",
	                     au,
	                     NULL};
	char tmpl[] = "/tmp/tp-unit-log-XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(2);
	uint64_t st = 0;
	char chunk[4096];
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	unlink(tmpl);
	snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", strlen(json));
	snprintf(au, sizeof au, "HTTP_AUTHORIZATION=%s", auth);
	tp_buf_free(&out);
	tp_buf_init(&out, 1 << 20);
	fflush(stderr);
	dup2(fd, 2);
	tp_process_cgi(&charge_h, &cfg, env, json, strlen(json), &out);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		tp_buf_add(log, chunk, (size_t)n);
	close(fd);
	tp_str_to_u64(out.ptr + 8, 3, 999, &st);
	*body = strstr(out.ptr, "\r\n\r\n") + 4;
	return (int)st;
}

/* Basic connector:unit-connector-password */
#define AUTH_OK "Basic Y29ubmVjdG9yOnVuaXQtY29ubmVjdG9yLXBhc3N3b3Jk"

static void test_answers(void **state)
{
	static const char *const pans[] = {
	    "4111111111111111", "4000000000000002", "4000000000009995", "4000000000000069",
	    "4000000000000127", "4000000000000119", "4111111111111112",
	};
	tp_buf log;
	const char *body;
	char id[64], want[160];
	size_t i;

	(void)state;
	tp_buf_init(&log, 1 << 20);
	/* Approved: the id is the keyed hash of the transaction. */
	tp_gateway_sandbox_id("unit-connector-password", TP_CONN_CHARGE, "tx-1", id, sizeof id);
	assert_int_equal(run(CARD("\"expiry_year\":\"2045\","), AUTH_OK, &body, &log), 200);
	snprintf(want, sizeof want,
	         "{\"charge_id\":\"%s\",\"error_code\":null,\"error_message\":null}", id);
	assert_string_equal(body, want);
	/* A retry of the same transaction: the same answer. */
	assert_int_equal(run(CARD("\"expiry_year\":\"2045\","), AUTH_OK, &body, &log), 200);
	assert_string_equal(body, want);
	/* Tokenize on the charge path. */
	tp_gateway_sandbox_id("unit-connector-password", TP_CONN_TOKENIZE, "tx-1", id, sizeof id);
	assert_int_equal(
	    run(CARD("\"expiry_year\":\"2045\",\"method\":\"tokenize\","), AUTH_OK, &body, &log),
	    200);
	snprintf(want, sizeof want,
	         "{\"token_id\":\"%s\",\"error_code\":null,\"error_message\":null}", id);
	assert_string_equal(body, want);
	/* Declined. */
	assert_int_equal(run(CARD("\"expiry_year\":\"2045\",\"cardnumber\":\"4000000000009995\","),
	                     AUTH_OK, &body, &log),
	                 200);
	assert_string_equal(body, "{\"charge_id\":null,\"error_code\":\"insufficient_funds\","
	                          "\"error_message\":\"The card has insufficient funds.\"}");
	/* Invalid, in the same shape and status. */
	assert_int_equal(run(CARD("\"expiry_year\":\"2045\",\"cardnumber\":\"4111111111111112\","),
	                     AUTH_OK, &body, &log),
	                 200);
	assert_string_equal(body, "{\"charge_id\":null,\"error_code\":\"invalid_number\","
	                          "\"error_message\":\"the card number fails the Luhn check "
	                          "digit\"}");
	/* Unauthorised. */
	assert_int_equal(run(CARD(""), "Basic Y29ubmVjdG9yOng=", &body, &log), 401);
	/* Every other test card, and the bank numbers, through the log too. */
	for (i = 1; i < N_ELEMS(pans); i++) {
		char j[512];
		snprintf(j, sizeof j, CARD("\"expiry_year\":\"2045\",\"cardnumber\":\"%s\","),
		         pans[i]);
		run(j, AUTH_OK, &body, &log);
		assert_null(strstr(body, pans[i]));
	}
	run(BANK(""), AUTH_OK, &body, &log);
	run(BANK("\"bank_account_number\":\"000222222227\","), AUTH_OK, &body, &log);

	/* The log has the outcome, brand and last four, and never a number. */
	assert_non_null(strstr(tp_buf_str(&log), "brand=visa last4=1111"));
	assert_non_null(strstr(tp_buf_str(&log), "result=declined error_code=insufficient_funds"));
	assert_non_null(strstr(tp_buf_str(&log), "instrument=ach"));
	for (i = 0; i < N_ELEMS(pans); i++)
		if (strstr(tp_buf_str(&log), pans[i]))
			fail_msg("card number %s in the log:\n%s", pans[i], tp_buf_str(&log));
	assert_null(strstr(tp_buf_str(&log), "000123456789"));
	assert_null(strstr(tp_buf_str(&log), "000222222227"));
	assert_null(strstr(tp_buf_str(&log), "110000000"));
	assert_null(strstr(tp_buf_str(&log), "\"333\""));
	tp_buf_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
