/* Unit tests for lib/paysession.c.  The session MAC: what the server
 * stores in payMap._session loads back as ours; the same session changed
 * in Sync (agent, call, state), moved to another payment, without its MAC
 * or under another key is not ours.  The read-modify-write against a
 * scripted Sync: If-Match with the revision read, a lost race read again
 * and recomputed, a create that meets an existing item becoming an
 * update, a refusal reported (nothing written), and a bounded number of
 * tries.  The mapping of Twilio's errors to the agent's HTTP answers. */
#include "script_server.h"

#define PK  "PK0123456789abcdef0123456789abcdef"
#define PK2 "PKfedcba9876543210fedcba9876543210"
#define CA  "CA0123456789abcdef0123456789abcdef"
#define IS  "IS0123456789abcdef0123456789abcdef"

static char secret[] = "unit-agent-secret-0123456789abcdef";

static void stored(const tp_config *cfg, cJSON *data)
{
	tp_capture c;
	tp_capture_action act;
	tp_capture_params p = {
	    false,  true,  false, "payment-card-number,security-code,expiration-date", "alice", CA,
	    "9.99", "USD", ""};
	tp_capture_start(&c, &p, &act);
	tp_paysession_store(cfg, PK, data, &c);
}

static cJSON *session(cJSON *data)
{
	return cJSON_GetObjectItemCaseSensitive(data, TP_SESSION_KEY);
}

static void test_roundtrip(void **state)
{
	tp_config cfg;
	cJSON *d = cJSON_CreateObject();
	tp_capture c;
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.agent_secret = secret;
	stored(&cfg, d);
	assert_int_equal(tp_paysession_load(&cfg, PK, d, &c), TP_OK);
	assert_string_equal(c.agent, "alice");
	assert_string_equal(c.call_sid, CA);
	assert_int_equal(c.seq, 1);
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(session(d), "mac")));
	/* Stored again (as every handler does): still ours. */
	tp_paysession_store(&cfg, PK, d, &c);
	assert_int_equal(tp_paysession_load(&cfg, PK, d, &c), TP_OK);
	assert_int_equal(c.seq, 2);
	/* Through Sync's JSON (re-parsed, re-printed): still ours. */
	{
		char *t = cJSON_Print(d);
		cJSON *back = cJSON_Parse(t);
		assert_int_equal(tp_paysession_load(&cfg, PK, back, &c), TP_OK);
		cJSON_Delete(back);
		free(t);
	}
	cJSON_Delete(d);
}

static void test_tampered(void **state)
{
	static const struct {
		int line;
		const char *field;
		const char *value; /* NULL: delete the field */
	} rows[] = {
	    {__LINE__, "agent", "mallory"},
	    {__LINE__, "callSid", "CAffffffffffffffffffffffffffffffff"},
	    {__LINE__, "status", "ready"},
	    {__LINE__, "current", "security-code"},
	    {__LINE__, "chargeAmount", "0.01"},
	    {__LINE__, "mac", NULL},
	    {__LINE__, "mac", "00"},
	};
	tp_config cfg;
	size_t i;
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.agent_secret = secret;
	for (i = 0; i < N_ELEMS(rows); i++) {
		cJSON *d = cJSON_CreateObject();
		tp_capture c;
		tp_rc rc;
		stored(&cfg, d);
		cJSON_DeleteItemFromObjectCaseSensitive(session(d), rows[i].field);
		if (rows[i].value)
			cJSON_AddStringToObject(session(d), rows[i].field, rows[i].value);
		rc = tp_paysession_load(&cfg, PK, d, &c);
		if (rc != TP_EAUTH)
			ROW_FAIL(rows[i].line, "%s changed: rc %d, expected TP_EAUTH\n",
			         rows[i].field, (int)rc);
		/* Nothing of it is handed out. */
		if (c.agent[0])
			ROW_FAIL(rows[i].line, "the refused session still names agent %s\n",
			         c.agent);
		cJSON_Delete(d);
	}
}

static void test_other_payment_or_key(void **state)
{
	tp_config cfg, other;
	cJSON *d = cJSON_CreateObject();
	tp_capture c;
	static char other_secret[] = "another-agent-secret-0123456789abcd";
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.agent_secret = secret;
	other = cfg;
	other.agent_secret = other_secret;
	stored(&cfg, d);
	/* Copied into another payment's item. */
	assert_int_equal(tp_paysession_load(&cfg, PK2, d, &c), TP_EAUTH);
	/* Another server's (or an old) AGENT_SECRET. */
	assert_int_equal(tp_paysession_load(&other, PK, d, &c), TP_EAUTH);
	/* No AGENT_SECRET at all: nothing is ours. */
	other.agent_secret = NULL;
	assert_int_equal(tp_paysession_load(&other, PK, d, &c), TP_EAUTH);
	cJSON_Delete(d);
	/* None, and malformed. */
	d = cJSON_Parse("{\"Sid\":\"" PK "\"}");
	assert_int_equal(tp_paysession_load(&cfg, PK, d, &c), TP_ENOTFOUND);
	cJSON_Delete(d);
	d = cJSON_Parse("{\"_session\":{\"status\":\"nonsense\"}}");
	assert_int_equal(tp_paysession_load(&cfg, PK, d, &c), TP_EINVAL);
	cJSON_Delete(d);
}

static tp_config scfg;

static int setup(void **state)
{
	(void)state;
	tp_log_set_level(TP_LOG_ERROR);
	ss_start();
	memset(&scfg, 0, sizeof scfg);
	scfg.account_sid = tp_xstrdup("AC00000000000000000000000000000001");
	scfg.auth_token = tp_xstrdup("token0token0token0token0token0aa");
	scfg.twilio_api_url = tp_xstrdup(ss_url());
	scfg.twilio_sync_url = tp_xstrdup(ss_url());
	scfg.pay_sync_service_sid = tp_xstrdup(IS);
	scfg.sync_pay_map_name = tp_xstrdup("payMap");
	scfg.api_retry_budget_ms = 3000;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ss_stop();
	free(scfg.account_sid);
	free(scfg.auth_token);
	free(scfg.twilio_api_url);
	free(scfg.twilio_sync_url);
	free(scfg.pay_sync_service_sid);
	free(scfg.sync_pay_map_name);
	return 0;
}

/* The update every test makes: n = n + 1; how often it was called and
 * with what it found. */
static int calls;
static long last_n;
static bool last_exists;

static tp_paysession_decision bump(cJSON *data, bool exists, void *ctx)
{
	cJSON *n = cJSON_GetObjectItemCaseSensitive(data, "n");
	(void)ctx;
	calls++;
	last_exists = exists;
	last_n = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;
	cJSON_DeleteItemFromObjectCaseSensitive(data, "n");
	cJSON_AddNumberToObject(data, "n", (double)(last_n + 1));
	return TP_PS_WRITE;
}

static tp_paysession_decision keep(cJSON *data, bool exists, void *ctx)
{
	(void)data;
	(void)ctx;
	calls++;
	last_exists = exists;
	return TP_PS_KEEP;
}

#define ITEM(n, rev) "{\"data\":{\"n\":" #n "},\"revision\":\"" #rev "\"}"
#define PRECONDITION                                                                               \
	"{\"code\":54205,\"message\":\"The revision of the Map Item does not "                     \
	"match\",\"status\":412}"

static void test_update_if_match(void **state)
{
	static const ss_step s[] = {{200, ITEM(4, 7), NULL, 0}, {200, ITEM(5, 8), NULL, 0}};
	tp_paysession_result out;
	(void)state;
	ss_script(s, 2);
	calls = 0;
	assert_true(tp_paysession_update(&scfg, PK, bump, NULL, &out));
	assert_true(out.written);
	assert_int_equal(out.conflicts, 0);
	assert_int_equal(calls, 1);
	assert_true(last_exists);
	assert_int_equal(last_n, 4);
	/* Written with the revision it read, so a write in between is not
	 * overwritten. */
	assert_int_equal(ss_served, 2);
	assert_non_null(
	    strstr(ss_request(1), "POST /v1/Services/" IS "/Maps/payMap/Items/" PK " "));
	assert_non_null(strstr(ss_request(1), "If-Match: 7\r\n"));
	assert_string_equal(ss_body(1), "Data=%7B%22n%22%3A5%7D&Ttl=43200");
	cJSON_Delete(out.data);
}

static void test_update_lost_race(void **state)
{
	static const ss_step s[] = {{200, ITEM(4, 7), NULL, 0},
	                            {412, PRECONDITION, NULL, 0},
	                            {200, ITEM(9, 8), NULL, 0},
	                            {200, ITEM(10, 9), NULL, 0}};
	tp_paysession_result out;
	(void)state;
	ss_script(s, 4);
	calls = 0;
	assert_true(tp_paysession_update(&scfg, PK, bump, NULL, &out));
	/* Read again and recomputed from what the other writer left. */
	assert_int_equal(out.conflicts, 1);
	assert_int_equal(calls, 2);
	assert_int_equal(last_n, 9);
	assert_non_null(strstr(ss_request(3), "If-Match: 8\r\n"));
	assert_string_equal(ss_body(3), "Data=%7B%22n%22%3A10%7D&Ttl=43200");
	cJSON_Delete(out.data);
}

static void test_update_refused_or_kept(void **state)
{
	static const ss_step refused[] = {
	    {200, ITEM(4, 7), NULL, 0},
	    {400, "{\"code\":54006,\"message\":\"Request entity too large\",\"status\":400}", NULL,
	     0}};
	static const ss_step sync_down[] = {
	    {403, "{\"code\":20003,\"message\":\"Authenticate\",\"status\":403}", NULL, 0}};
	static const ss_step kept[] = {{200, ITEM(4, 7), NULL, 0}};
	tp_paysession_result out;
	(void)state;
	/* The write refused: the error, not a retry. */
	ss_script(refused, 2);
	calls = 0;
	assert_false(tp_paysession_update(&scfg, PK, bump, NULL, &out));
	assert_int_equal(out.err.code, 54006);
	assert_false(out.written);
	assert_null(out.data);
	assert_int_equal(ss_served, 2);
	/* The read refused: fn never runs. */
	ss_script(sync_down, 1);
	calls = 0;
	assert_false(tp_paysession_update(&scfg, PK, bump, NULL, &out));
	assert_int_equal(out.err.status, 403);
	assert_int_equal(calls, 0);
	/* Nothing to change: nothing written. */
	ss_script(kept, 1);
	calls = 0;
	assert_true(tp_paysession_update(&scfg, PK, keep, NULL, &out));
	assert_false(out.written);
	assert_int_equal(ss_served, 1);
	cJSON_Delete(out.data);
}

static void test_update_gives_up(void **state)
{
	ss_step s[20];
	tp_paysession_result out;
	int i;
	(void)state;
	/* Every write loses its race: 10 tries (a read and a write each),
	 * then a 409 saying so, nothing left half-done. */
	for (i = 0; i < 20; i++)
		s[i] = (i % 2) ? (ss_step){412, PRECONDITION, NULL, 0}
		               : (ss_step){200, ITEM(1, 1), NULL, 0};
	ss_script(s, 20);
	calls = 0;
	assert_false(tp_paysession_update(&scfg, PK, bump, NULL, &out));
	assert_int_equal(out.err.status, 409);
	assert_non_null(strstr(out.err.message, "kept changing"));
	assert_int_equal(calls, 10);
	assert_int_equal(ss_served, 20);
	assert_int_equal(out.conflicts, 10);
	assert_null(out.data);
}

static void test_update_new(void **state)
{
	static const ss_step created[] = {{201, ITEM(1, 1), NULL, 0}};
	static const ss_step existed[] = {
	    {409, "{\"code\":54208,\"message\":\"Item already exists\",\"status\":409}", NULL, 0},
	    {200, ITEM(3, 5), NULL, 0},
	    {200, ITEM(4, 6), NULL, 0}};
	tp_paysession_result out;
	(void)state;
	/* One round trip: a create with the key. */
	ss_script(created, 1);
	calls = 0;
	assert_true(tp_paysession_update_new(&scfg, PK, bump, NULL, &out));
	assert_true(out.written);
	assert_false(last_exists);
	assert_int_equal(ss_served, 1);
	assert_string_equal(ss_body(0), "Key=" PK "&Data=%7B%22n%22%3A1%7D&Ttl=43200");
	cJSON_Delete(out.data);
	/* It existed after all (an early callback): read, recompute from
	 * what is there, write with If-Match. */
	ss_script(existed, 3);
	calls = 0;
	assert_true(tp_paysession_update_new(&scfg, PK, bump, NULL, &out));
	assert_int_equal(out.conflicts, 1);
	assert_int_equal(calls, 2);
	assert_true(last_exists);
	assert_int_equal(last_n, 3);
	assert_non_null(strstr(ss_request(2), "If-Match: 5\r\n"));
	assert_string_equal(ss_body(2), "Data=%7B%22n%22%3A4%7D&Ttl=43200");
	cJSON_Delete(out.data);
}

static void test_fetch(void **state)
{
	static const ss_step s[] = {
	    {404, "{\"code\":20404,\"message\":\"not found\"}", NULL, 0},
	    {200, "{\"data\":\"not an object\",\"revision\":\"3\"}", NULL, 0}};
	cJSON *data = NULL;
	char rev[TP_REVISION_MAX] = "x";
	tp_twilio_error err;
	(void)state;
	ss_script(s, 2);
	assert_false(tp_paysession_fetch(&scfg, PK, &data, rev, &err));
	assert_int_equal(err.status, 404);
	assert_null(data);
	assert_string_equal(rev, "");
	/* Data that is not an object reads as {}. */
	assert_true(tp_paysession_fetch(&scfg, PK, &data, rev, &err));
	assert_true(cJSON_IsObject(data));
	assert_null(data->child);
	assert_string_equal(rev, "3");
	cJSON_Delete(data);
}

static void test_twilio_error_reply(void **state)
{
	static const struct {
		int line;
		long status, code;
		const char *message;
		int http;
		const char *our_code;
	} rows[] = {
	    {__LINE__, 0, 0, "could not connect", 502, "twilio_unreachable"},
	    {__LINE__, 401, 20003, "Authenticate", 502, "twilio_auth"},
	    {__LINE__, 403, 0, "Forbidden", 502, "twilio_auth"},
	    {__LINE__, 400, 64021, "Invalid Operation", 409, "payment_in_progress"},
	    {__LINE__, 400, 64019, "incomplete", 409, "incomplete"},
	    {__LINE__, 400, 21220, "Call is not in-progress", 409, "call_not_in_progress"},
	    {__LINE__, 400, 64004, "connector", 502, "connector_unknown"},
	    {__LINE__, 400, 64011, "Invalid charge amount", 400, "rejected_by_twilio"},
	    {__LINE__, 404, 20404, "not found", 404, "not_found"},
	    {__LINE__, 429, 20429, "Too Many Requests", 503, "twilio_busy"},
	    {__LINE__, 500, 0, "Internal", 502, "twilio_error"},
	    /* Twilio's words go to the agent, a card number in them never. */
	    {__LINE__, 400, 64011, "bad card 4111111111111111", 400, "rejected_by_twilio"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_twilio_error e;
		tp_resp r;
		cJSON *j;
		const cJSON *code, *tc;
		memset(&e, 0, sizeof e);
		e.status = rows[i].status;
		e.code = rows[i].code;
		snprintf(e.message, sizeof e.message, "%s", rows[i].message);
		memset(&r, 0, sizeof r);
		tp_buf_init(&r.body, 1u << 20);
		tp_params_init(&r.log);
		tp_reply_twilio_error(&r, &e, "creating the payment");
		j = cJSON_Parse(tp_buf_str(&r.body));
		code = cJSON_GetObjectItemCaseSensitive(j, "code");
		tc = cJSON_GetObjectItemCaseSensitive(j, "twilioCode");
		if (r.status != rows[i].http || !cJSON_IsString(code) ||
		    strcmp(code->valuestring, rows[i].our_code) != 0)
			ROW_FAIL(rows[i].line, "got %d %s\n", r.status, tp_buf_str(&r.body));
		if (rows[i].code ? !cJSON_IsNumber(tc) || (long)tc->valuedouble != rows[i].code
		                 : tc != NULL)
			ROW_FAIL(rows[i].line, "twilioCode: %s\n", tp_buf_str(&r.body));
		if (!strstr(tp_buf_str(&r.body), "creating the payment") ||
		    strstr(tp_buf_str(&r.body), "4111111111111111"))
			ROW_FAIL(rows[i].line, "message: %s\n", tp_buf_str(&r.body));
		cJSON_Delete(j);
		tp_buf_free(&r.body);
		tp_params_free(&r.log);
	}
}

/* One answer per capture refusal, the same from changeCapture and
 * changeStatus (they used to word "submitting" each their own way). */
static void test_cap_ok_or_reply(void **state)
{
	static const struct {
		int line;
		tp_cap_err e;
		const char *field;
		int status;
		const char *body;
	} cases[] = {
	    {__LINE__, TP_CAP_E_FINAL, NULL, 409,
	     "{\"error\":\"the payment session has ended "
	     "(cancelled)\",\"code\":\"session_ended\"}"},
	    {__LINE__, TP_CAP_E_SUBMITTING, NULL, 409,
	     "{\"error\":\"the payment is being submitted; wait "
	     "for its result\",\"code\":\"submitting\"}"},
	    {__LINE__, TP_CAP_E_SUBMITTING, "security-code", 409,
	     "{\"error\":\"the payment is being submitted; wait "
	     "for its result\",\"code\":\"submitting\"}"},
	    {__LINE__, TP_CAP_E_INCOMPLETE, NULL, 409,
	     "{\"error\":\"not everything is captured yet; still "
	     "required: "
	     "payment-card-number,security-code,expiration-date\",\"code\":\"incomplete\"}"},
	    {__LINE__, TP_CAP_E_NOT_IN_ORDER, "bank-routing-number", 400,
	     "{\"error\":\"bank-routing-number is not a "
	     "field of this session; its fields are payment-card-number, security-code, "
	     "expiration-date\",\"code\":\"invalid_parameter\"}"},
	};
	tp_capture c;
	tp_capture_action act;
	tp_capture_params p = {
	    false,  true,  false, "payment-card-number,security-code,expiration-date", "alice", CA,
	    "9.99", "USD", ""};
	tp_resp r;
	size_t i;
	(void)state;

	tp_capture_start(&c, &p, &act);
	c.status = TP_CAP_CANCELLED;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&r, 0, sizeof r);
		tp_buf_init(&r.body, 65536);
		tp_params_init(&r.log);
		if (tp_cap_ok_or_reply(&r, cases[i].e, &c, cases[i].field) ||
		    r.status != cases[i].status || !strstr(tp_buf_str(&r.body), cases[i].body))
			fail_msg("line %d: %d %s", cases[i].line, r.status, tp_buf_str(&r.body));
		tp_buf_free(&r.body);
		tp_params_free(&r.log);
	}
	memset(&r, 0, sizeof r);
	tp_buf_init(&r.body, 65536);
	assert_true(tp_cap_ok_or_reply(&r, TP_CAP_E_OK, &c, NULL));
	assert_int_equal(r.status, 0);
	assert_int_equal(r.body.len, 0);
	tp_buf_free(&r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_other_payment_or_key),
	    cmocka_unit_test(test_update_if_match),
	    cmocka_unit_test(test_update_lost_race),
	    cmocka_unit_test(test_update_refused_or_kept),
	    cmocka_unit_test(test_update_gives_up),
	    cmocka_unit_test(test_update_new),
	    cmocka_unit_test(test_fetch),
	    cmocka_unit_test(test_twilio_error_reply),
	    cmocka_unit_test(test_cap_ok_or_reply),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
