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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_other_payment_or_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
