/* Unit tests for lib/attach.c (docs/api.md "Finding a payment again"):
 * naming the call (callSid, or uui / conversationId within its length and
 * characters), resolving a UUI through uuiMap against a scripted Sync
 * (not found, malformed, refused), the call's payment record and its
 * lookup (a record naming another call is not this call's), the agent's
 * tag (gone: 401 token_revoked; no agents file: 500), and the answer's
 * shape (no credential in a URL). */
#include <unistd.h>

#include "script_server.h"

#define IS "IS0123456789abcdef0123456789abcdef"
#define CA "CA0123456789abcdef0123456789abcdef"
#define CB "CAfedcba9876543210fedcba9876543210"
#define PK "PK0123456789abcdef0123456789abcdef"

static tp_config cfg;
static char agents[] = "/tmp/tp-unit-attach-XXXXXX";

static int setup(void **state)
{
	int fd;
	static const char line[] =
	    "agent:$y$j9T$B1KLplf6kDJDCTj7FLIv31$6iCuJdt4oIA/7x8g32aKeHUQcClkrULpASSrMLSrwu1\n";
	(void)state;
	tp_log_set_level(TP_LOG_ERROR);
	fd = mkstemp(agents);
	if (fd < 0 || write(fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
		return -1;
	close(fd);
	ss_start();
	memset(&cfg, 0, sizeof cfg);
	cfg.account_sid = tp_xstrdup("AC00000000000000000000000000000001");
	cfg.auth_token = tp_xstrdup("token0token0token0token0token0aa");
	cfg.twilio_api_url = tp_xstrdup(ss_url());
	cfg.twilio_sync_url = tp_xstrdup(ss_url());
	cfg.pay_sync_service_sid = tp_xstrdup(IS);
	cfg.sync_pay_map_name = tp_xstrdup("payMap");
	cfg.sync_uui_map_name = tp_xstrdup("uuiMap");
	cfg.agent_secret = tp_xstrdup("unit-agent-secret-0123456789abcdef");
	cfg.agents_file = tp_xstrdup(agents);
	cfg.api_retry_budget_ms = 3000;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ss_stop();
	unlink(agents);
	free(cfg.account_sid);
	free(cfg.auth_token);
	free(cfg.twilio_api_url);
	free(cfg.twilio_sync_url);
	free(cfg.pay_sync_service_sid);
	free(cfg.sync_pay_map_name);
	free(cfg.sync_uui_map_name);
	free(cfg.agent_secret);
	free(cfg.agents_file);
	return 0;
}

/* The "code" of the response's JSON body. */
static char *code_of(const tp_resp *r)
{
	static char code[64];
	cJSON *j = cJSON_Parse(tp_buf_str(&r->body));
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
	snprintf(code, sizeof code, "%s", cJSON_IsString(c) ? c->valuestring : "(none)");
	cJSON_Delete(j);
	return code;
}

static void test_target(void **state)
{
	char long_uui[TP_ATTACH_UUI_MAX + 2], body[300];
	static const struct {
		int line;
		const char *body;
		const char *call_sid, *uui; /* expected; both NULL: 400 with code */
		const char *code;
	} rows[] = {
	    {__LINE__, "callSid=" CA, CA, NULL, NULL},
	    {__LINE__, "uui=3f2a9c1e-7d3b-4c1a-9f00-1234567890ab", NULL,
	     "3f2a9c1e-7d3b-4c1a-9f00-1234567890ab", NULL},
	    /* Genesys' name for it. */
	    {__LINE__, "conversationId=abc.def_1:2@host%2Bx", NULL, "abc.def_1:2@host+x", NULL},
	    /* Both read; resolving uses callSid (test_resolve). */
	    {__LINE__, "callSid=" CA "&uui=abc", CA, "abc", NULL},
	    {__LINE__, "", NULL, NULL, "missing_parameter"},
	    {__LINE__, "callSid=&uui=", NULL, NULL, "missing_parameter"},
	    {__LINE__, "callSid=CA123", NULL, NULL, "invalid_parameter"},
	    {__LINE__, "callSid=" PK, NULL, NULL, "invalid_parameter"},
	    /* Characters that could change a Sync URL or a log line. */
	    {__LINE__, "uui=a%2Fb", NULL, NULL, "invalid_parameter"},
	    {__LINE__, "uui=a%20b", NULL, NULL, "invalid_parameter"},
	    {__LINE__, "uui=a%0Ab", NULL, NULL, "invalid_parameter"},
	    {__LINE__, "uui=..%3F", NULL, NULL, "invalid_parameter"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows) + 2; i++) {
		const char *b, *want_uui = NULL, *want_code = NULL, *want_call = NULL;
		int line;
		tp_req q;
		tp_resp r;
		tp_attach_target t;
		bool ok;
		if (i < N_ELEMS(rows)) {
			b = rows[i].body;
			line = rows[i].line;
			want_call = rows[i].call_sid;
			want_uui = rows[i].uui;
			want_code = rows[i].code;
		} else {
			/* The boundary: TP_ATTACH_UUI_MAX characters, and one more. */
			size_t n = TP_ATTACH_UUI_MAX + (i - N_ELEMS(rows));
			memset(long_uui, 'u', n);
			long_uui[n] = '\0';
			snprintf(body, sizeof body, "uui=%s", long_uui);
			b = body;
			line = __LINE__;
			if (n == TP_ATTACH_UUI_MAX)
				want_uui = long_uui;
			else
				want_code = "invalid_parameter";
		}
		memset(&q, 0, sizeof q);
		tp_params_init(&q.body_params);
		tp_params_init(&q.query_params);
		assert_int_equal(tp_form_parse(&q.body_params, b, strlen(b)), TP_OK);
		tp_resp_init(&r);
		ok = tp_attach_target_or_reply(&q, &r, &t);
		if (want_code) {
			if (ok || r.status != 400 || strcmp(code_of(&r), want_code) != 0)
				ROW_FAIL(line, "expected 400 %s, got %d %s\n", want_code, r.status,
				         tp_buf_str(&r.body));
		} else if (!ok || !tp_str_eq(t.call_sid, want_call) ||
		           !tp_str_eq(t.uui, want_uui)) {
			ROW_FAIL(line, "refused or wrong target: %d %s\n", r.status,
			         tp_buf_str(&r.body));
		}
		tp_resp_free(&r);
		tp_params_free(&q.body_params);
		tp_params_free(&q.query_params);
	}
}

static void test_resolve(void **state)
{
	static const struct {
		int line;
		ss_step answer;
		int status; /* 0: resolved to CA */
		const char *code;
	} rows[] = {
	    {__LINE__, {200, "{\"data\":{\"pstnSid\":\"" CA "\"}}", NULL, 0}, 0, NULL},
	    {__LINE__,
	     {404, "{\"code\":20404,\"message\":\"not found\"}", NULL, 0},
	     404,
	     "uui_not_found"},
	    /* An item not of our making: no pstnSid, or not a CallSid. */
	    {__LINE__, {200, "{\"data\":{}}", NULL, 0}, 502, "uui_malformed"},
	    {__LINE__, {200, "{\"data\":{\"pstnSid\":\"" PK "\"}}", NULL, 0}, 502, "uui_malformed"},
	    {__LINE__, {200, "{\"data\":{\"pstnSid\":42}}", NULL, 0}, 502, "uui_malformed"},
	    /* Sync refusing us is not "no such call". */
	    {__LINE__, {403, "{\"code\":20003,\"message\":\"Authenticate\"}", NULL, 0}, 502, NULL},
	};
	size_t i;
	tp_attach_target t = {NULL, "conv-1@pbx"};
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		char call[35] = "";
		tp_resp r;
		bool ok;
		ss_script(&rows[i].answer, 1);
		tp_resp_init(&r);
		ok = tp_attach_resolve_or_reply(&cfg, &r, &t, call);
		if (strncmp(ss_request(0),
		            "GET /v1/Services/" IS "/Maps/uuiMap/Items/conv-1%40pbx ",
		            strlen("GET /v1/Services/" IS "/Maps/uuiMap/Items/conv-1%40pbx ")) != 0)
			ROW_FAIL(rows[i].line, "asked Sync for %.100s\n", ss_request(0));
		if (!rows[i].status) {
			if (!ok || strcmp(call, CA) != 0)
				ROW_FAIL(rows[i].line, "not resolved: %s\n", tp_buf_str(&r.body));
		} else if (ok || r.status != rows[i].status ||
		           (rows[i].code && strcmp(code_of(&r), rows[i].code) != 0)) {
			ROW_FAIL(rows[i].line, "expected %d %s, got %d %s\n", rows[i].status,
			         rows[i].code ? rows[i].code : "", r.status, tp_buf_str(&r.body));
		}
		tp_resp_free(&r);
	}
	/* A callSid needs no Sync at all, and wins over a uui. */
	ss_script(NULL, 0);
	{
		tp_attach_target c = {CA, "conv-1@pbx"};
		char call[35] = "";
		tp_resp r;
		tp_resp_init(&r);
		assert_true(tp_attach_resolve_or_reply(&cfg, &r, &c, call));
		assert_string_equal(call, CA);
		assert_int_equal(ss_served, 0);
		tp_resp_free(&r);
	}
}

static void test_record_and_lookup(void **state)
{
	static const ss_step created[] = {{201, "{}", NULL, 0}};
	static const struct {
		int line;
		ss_step answer;
		tp_rc rc;
		const char *pk;
	} rows[] = {
	    {__LINE__,
	     {200, "{\"data\":{\"callSid\":\"" CA "\",\"paymentSid\":\"" PK "\"}}", NULL, 0},
	     TP_OK,
	     PK},
	    {__LINE__, {404, "{\"code\":20404}", NULL, 0}, TP_ENOTFOUND, ""},
	    /* A record naming another call (written by someone else). */
	    {__LINE__,
	     {200, "{\"data\":{\"callSid\":\"" CB "\",\"paymentSid\":\"" PK "\"}}", NULL, 0},
	     TP_ENOTFOUND,
	     ""},
	    {__LINE__,
	     {200, "{\"data\":{\"callSid\":\"" CA "\",\"paymentSid\":\"PKnope\"}}", NULL, 0},
	     TP_ENOTFOUND,
	     ""},
	    {__LINE__, {200, "{\"data\":{\"paymentSid\":\"" PK "\"}}", NULL, 0}, TP_ENOTFOUND, ""},
	    /* Sync failing: an error to report, not "no payment". */
	    {__LINE__, {403, "{\"code\":20003,\"message\":\"Authenticate\"}", NULL, 0}, TP_EIO, ""},
	};
	const char *body;
	size_t i;
	(void)state;
	ss_script(created, 1);
	assert_true(tp_attach_record(&cfg, CA, PK, "agent"));
	assert_int_equal(strncmp(ss_request(0), "POST /v1/Services/" IS "/Maps/payMap/Items ", 58),
	                 0);
	body = ss_body(0);
	assert_non_null(strstr(body, "Key=" CA "&"));
	assert_non_null(strstr(body, "%22paymentSid%22%3A%22" PK "%22"));
	assert_non_null(strstr(body, "%22agent%22%3A%22agent%22"));
	assert_non_null(strstr(body, "&Ttl=43200"));
	for (i = 0; i < N_ELEMS(rows); i++) {
		char pk[35] = "x";
		tp_twilio_error err;
		tp_rc rc;
		memset(&err, 0, sizeof err);
		ss_script(&rows[i].answer, 1);
		rc = tp_attach_lookup(&cfg, CA, pk, &err);
		if (rc != rows[i].rc || strcmp(pk, rows[i].pk) != 0)
			ROW_FAIL(rows[i].line, "rc %d payment \"%s\"\n", (int)rc, pk);
		if (rc == TP_EIO && err.status != 403)
			ROW_FAIL(rows[i].line, "the error is not Sync's: %ld\n", err.status);
	}
}

static void test_agent_tag(void **state)
{
	char tag[TP_AGENT_TAG_LEN + 1];
	tp_resp r;
	char *saved = cfg.agents_file;
	char missing[] = "/nonexistent/agents";
	(void)state;
	tp_resp_init(&r);
	assert_true(tp_attach_agent_tag_or_reply(&cfg, &r, "agent", tag));
	assert_int_equal(strlen(tag), TP_AGENT_TAG_LEN);
	assert_int_equal(r.status, 0);
	/* Removed since the token was issued. */
	assert_false(tp_attach_agent_tag_or_reply(&cfg, &r, "gone", tag));
	assert_int_equal(r.status, 401);
	assert_string_equal(code_of(&r), "token_revoked");
	/* The agents file unreadable: the server's fault, not the agent's. */
	cfg.agents_file = missing;
	assert_false(tp_attach_agent_tag_or_reply(&cfg, &r, "agent", tag));
	assert_int_equal(r.status, 500);
	assert_string_equal(code_of(&r), "agents_file");
	cfg.agents_file = saved;
	tp_resp_free(&r);
}

static void test_reply(void **state)
{
	tp_capture c;
	tp_capture_action act;
	tp_capture_params p = {false,   true, false,  "payment-card-number,security-code",
	                       "agent", CA,   "9.99", "USD",
	                       ""};
	tp_resp r;
	cJSON *j;
	const char *tok, *events;
	(void)state;
	tp_capture_start(&c, &p, &act);
	tp_resp_init(&r);
	tp_attach_reply(&r, 201, &cfg, "agent", "tag0", PK, &c, NULL, "Sync is slow");
	assert_int_equal(r.status, 201);
	j = cJSON_Parse(tp_buf_str(&r.body));
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "paymentSid")->valuestring, PK);
	assert_string_equal(cJSON_GetObjectItem(j, "callSid")->valuestring, CA);
	assert_string_equal(cJSON_GetObjectItem(j, "warning")->valuestring, "Sync is slow");
	tok = cJSON_GetObjectItem(j, "sessionToken")->valuestring;
	events = cJSON_GetObjectItem(j, "eventsUrl")->valuestring;
	assert_true(strlen(tok) > 20);
	/* No credential in a URL: the subscription buys a ticket. */
	assert_string_equal(events, "/aap/events/" PK);
	assert_string_equal(cJSON_GetObjectItem(j, "ticketUrl")->valuestring, "/aap/events-ticket");
	assert_string_equal(cJSON_GetObjectItem(j, "stateUrl")->valuestring,
	                    "/aap/session?paymentSid=" PK);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "order")));
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "state")));
	cJSON_Delete(j);
	/* Without a warning, no "warning" key. */
	tp_attach_reply(&r, 200, &cfg, "agent", "tag0", PK, &c, NULL, NULL);
	j = cJSON_Parse(tp_buf_str(&r.body));
	assert_null(cJSON_GetObjectItem(j, "warning"));
	cJSON_Delete(j);
	tp_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_target),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_record_and_lookup),
	    cmocka_unit_test(test_agent_tag),
	    cmocka_unit_test(test_reply),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
