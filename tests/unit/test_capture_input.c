/* Unit tests for lib/capture_input.c: startCapture's fields, each rule
 * with a passing and a refused case, through tp_process_cgi (JSON and
 * form bodies).  A passing request answers with what was read. */
#include "unit.h"

#define CA "CA0123456789abcdef0123456789abcdef"

static tp_config cfg;

static void echo_input(const tp_req *req, tp_resp *resp, const tp_config *c)
{
	tp_start_input in;
	cJSON *o;

	tp_start_input_init(&in);
	if (!tp_start_input_or_reply(req, resp, c, &in))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "call", in.target.call_sid ? in.target.call_sid : "-");
	cJSON_AddStringToObject(o, "uui", in.target.uui ? in.target.uui : "-");
	cJSON_AddStringToObject(o, "currency", in.currency);
	cJSON_AddNumberToObject(o, "places", in.places);
	cJSON_AddNumberToObject(o, "minor", (double)in.minor);
	cJSON_AddStringToObject(o, "amount", tp_buf_str(&in.amount));
	cJSON_AddStringToObject(o, "method", in.ach ? "ach-debit" : "credit-card");
	cJSON_AddStringToObject(o, "token", in.token_type ? in.token_type : "-");
	cJSON_AddStringToObject(o, "bank", in.bank_account_type ? in.bank_account_type : "-");
	cJSON_AddStringToObject(o, "params", in.parameters ? in.parameters : "-");
	tp_reply_json_take(resp, TP_S_OK, o);
out:
	tp_start_input_free(&in);
}

static const tp_handler h = {.name = "t", .fn = echo_input};

static int run(const char *ctype, const char *body, const char **out_body)
{
	static tp_buf out;
	char cl[48], ct[128];
	const char *env[8];
	uint64_t st = 0;

	snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", strlen(body));
	snprintf(ct, sizeof ct, "CONTENT_TYPE=%s", ctype);
	env[0] = cl;
	env[1] = "REQUEST_METHOD=POST";
	env[2] = "REQUEST_URI=/aap/startCapture";
	env[3] = "DOCUMENT_URI=/aap/startCapture";
	env[4] = "QUERY_STRING=";
	env[5] = ct;
	env[6] = NULL;
	tp_buf_free(&out);
	tp_buf_init(&out, 1 << 20);
	tp_process_cgi(&h, &cfg, env, body, strlen(body), &out);
	tp_str_to_u64(out.ptr + 8, 3, 999, &st);
	*out_body = strstr(out.ptr, "\r\n\r\n") + 4;
	return (int)st;
}

#define JSON "application/json"
#define FORM "application/x-www-form-urlencoded"

static void test_fields(void **state)
{
	static const struct {
		int line;
		const char *allowed; /* ALLOWED_CURRENCIES, NULL = any */
		const char *ctype, *body;
		int status;
		const char *want; /* a substring of the answer */
	} rows[] = {
	    /* The call. */
	    {__LINE__, NULL, JSON, "{\"chargeAmount\":\"1\"}", 400, "callSid"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"CA1\",\"chargeAmount\":\"1\"}", 400, "callSid"},
	    {__LINE__, NULL, JSON, "{\"uui\":\"conv-1\",\"chargeAmount\":\"1\"}", 200,
	     "\"uui\":\"conv-1\""},
	    /* Currency: any case, an active code, allowed here; default. */
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"9.99\"}", 200,
	     "\"currency\":\"USD\",\"places\":2,\"minor\":999,\"amount\":\"9.99\""},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"9.5\",\"currency\":\"eur\"}", 200,
	     "\"currency\":\"EUR\",\"places\":2,\"minor\":950,\"amount\":\"9.50\""},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"currency\":\"US\"}", 400,
	     "currency must be an ISO 4217 code"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"currency\":\"USDX\"}", 400,
	     "currency must be an ISO 4217 code"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"currency\":\"XXX\"}", 400,
	     "currency must be an ISO 4217 code"},
	    {__LINE__, "EUR,GBP", JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"currency\":\"usd\"}", 400,
	     "\"code\":\"currency_not_allowed\""},
	    {__LINE__, "EUR,GBP", JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\"}", 200,
	     "\"currency\":\"EUR\""},
	    /* Amount: a plain decimal in a string, the currency's places,
	     * below the limit; 0 tokenizes. */
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\"}", 400, "chargeAmount is required"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":9.99}", 400,
	     "not a JSON number"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"amount\":\"12\"}", 200,
	     "\"minor\":1200"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1.999\"}", 400,
	     "at most 2 decimal places for USD"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1.5\",\"currency\":\"JPY\"}", 400,
	     "whole number for JPY"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1.25\",\"currency\":\"KWD\"}", 200,
	     "\"places\":2,\"minor\":125"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"999999.99\"}", 200,
	     "\"minor\":99999999"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1000000\"}", 400,
	     "below 1,000,000"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1,00\"}", 400,
	     "plain decimal"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"-1\"}", 400,
	     "plain decimal"},
	    {__LINE__, NULL, JSON, "{\"callSid\":\"" CA "\",\"chargeAmount\":\"0\"}", 200,
	     "\"minor\":0,\"amount\":\"\",\"method\":\"credit-card\",\"token\":\"reusable\""},
	    /* Method, token type, bank account type. */
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"paymentMethod\":\"cash\"}", 400,
	     "paymentMethod must be"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"tokenType\":\"one-time\"}", 400,
	     "tokenType applies only"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"0\",\"tokenType\":\"one-time\"}", 200,
	     "\"token\":\"one-time\""},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"0\",\"tokenType\":\"forever\"}", 400,
	     "tokenType must be"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"bankAccountType\":\"consumer-"
	     "savings\"}",
	     400, "applies only to paymentMethod ach-debit"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"paymentMethod\":\"ach-debit\","
	     "\"bankAccountType\":\"consumer-savings\"}",
	     200, "\"method\":\"ach-debit\",\"token\":\"-\",\"bank\":\"consumer-savings\""},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"paymentMethod\":\"ach-debit\","
	     "\"bankAccountType\":\"offshore\"}",
	     400, "bankAccountType must be"},
	    /* Description and parameters. */
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"description\":\"a\\u0007b\"}", 400,
	     "description must be"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"parameters\":{\"a\":1,\"b\":\"x\"}}",
	     200, "\"params\":\"{\\\"a\\\":1,\\\"b\\\":\\\"x\\\"}\""},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"parameters\":{\"a\":{\"b\":1}}}",
	     400, "flat JSON object"},
	    {__LINE__, NULL, JSON,
	     "{\"callSid\":\"" CA "\",\"chargeAmount\":\"1\",\"parameters\":[1]}", 400,
	     "flat JSON object"},
	    /* The same as a form. */
	    {__LINE__, NULL, FORM, "callSid=" CA "&chargeAmount=5&currency=gbp", 200,
	     "\"currency\":\"GBP\",\"places\":2,\"minor\":500"},
	    {__LINE__, NULL, FORM, "callSid=" CA "&chargeAmount=5&parameters=%7B%22k%22%3Atrue%7D",
	     200, "\"params\":\"{\\\"k\\\":true}\""},
	    {__LINE__, NULL, FORM, "callSid=" CA "&chargeAmount=5&parameters=nope", 400,
	     "flat JSON object"},
	};
	size_t i;
	const char *body;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		int st;
		free(cfg.allowed_currencies);
		cfg.allowed_currencies = rows[i].allowed ? tp_xstrdup(rows[i].allowed) : NULL;
		st = run(rows[i].ctype, rows[i].body, &body);
		if (st != rows[i].status || !strstr(body, rows[i].want))
			ROW_FAIL(rows[i].line, "%d %s\n", st, body);
	}
	free(cfg.allowed_currencies);
	cfg.allowed_currencies = NULL;
}

/* No card number a client puts in a field comes back in the error. */
static void test_no_echo(void **state)
{
	const char *body;
	(void)state;
	assert_int_equal(run(JSON,
	                     "{\"callSid\":\"" CA
	                     "\",\"chargeAmount\":\"1\",\"currency\":\"4111111111111111\"}",
	                     &body),
	                 400);
	assert_null(strstr(body, "4111111111111111"));
	assert_int_equal(run(JSON,
	                     "{\"callSid\":\"" CA
	                     "\",\"chargeAmount\":\"1\",\"description\":\"4111111111111111\\n\"}",
	                     &body),
	                 400);
	assert_null(strstr(body, "4111111111111111"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_no_echo),
	};
	tp_log_set_level(TP_LOG_ERROR);
	memset(&cfg, 0, sizeof cfg);
	cfg.server_url = tp_xstrdup("https://pay.example.com");
	cfg.max_body_bytes = 65536;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
