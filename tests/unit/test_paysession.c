/* Unit tests for lib/paysession.c's session MAC: what the server stores
 * in payMap._session loads back as ours; the same session changed in Sync
 * (agent, call, state), moved to another payment, without its MAC or
 * under another key is not ours. */
#include "unit.h"

#define PK  "PK0123456789abcdef0123456789abcdef"
#define PK2 "PKfedcba9876543210fedcba9876543210"
#define CA  "CA0123456789abcdef0123456789abcdef"

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
	    cmocka_unit_test(test_cap_ok_or_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
