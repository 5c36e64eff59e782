/* A session as stored in payMap (lib/capture.c tp_capture_from_json via
 * lib/paysession.c tp_paysession_load) and the times in callbacks
 * (tp_iso8601_ms).  payMap is outside input: Sync SDK clients holding an
 * Access Token can write it too.
 *
 * Input: payMap item data (JSON) \0 a status callback (form body) \0 a
 * DateUpdated-style time.  Properties: a stored session is parsed only
 * when it is well-formed (order of distinct known fields, current field in
 * it, valid agent name and CallSid, bounded counters) and then survives a
 * store/load round trip unchanged; it is never taken as ours
 * (tp_paysession_load) without the MAC tp_paysession_store writes; its
 * view is a JSON object; applying a callback keeps the rules of
 * fuzz_capture.c (a final session stays as it is); what
 * tp_paysession_store writes loads back as ours, and stops being ours
 * when its agent is changed; tp_iso8601_ms agrees with timegm(3) on every
 * time it accepts. */
#include <time.h>

#include "fuzz.h"

#define PK "PK0123456789abcdef0123456789abcdef"

static void check_time(const char *s)
{
	int64_t ms = tp_iso8601_ms(s);
	struct tm tm;
	const char *end;

	if (ms < 0)
		return;
	/* Only the plain UTC form is compared (offsets are tested in
	 * tests/unit/test_capture.c); strptime(3) is the independent
	 * reading. */
	if (strlen(s) < 20 || s[strlen(s) - 1] != 'Z' || strchr(s + 10, '+') || strchr(s + 10, '-'))
		return;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, s[10] == ' ' ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || end != s + 19)
		return;
	FUZZ_ASSERT(ms / 1000 == (int64_t)timegm(&tm));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *part[3] = {s, NULL, NULL};
	size_t nparts = fuzz_split(s, size, part, 2);
	cJSON *d = cJSON_Parse(part[0]);
	static char secret[] = "fuzz-agent-secret-0123456789abcdef";
	tp_config cfg;
	tp_capture c, back;
	tp_params cb;
	size_t i, j;

	memset(&cfg, 0, sizeof cfg);
	cfg.agent_secret = secret;
	if (nparts > 2)
		check_time(part[2]);
	tp_params_init(&cb);
	if (!d ||
	    tp_capture_from_json(&c, cJSON_GetObjectItemCaseSensitive(d, TP_SESSION_KEY)) != TP_OK)
		goto out;
	/* Not written by tp_paysession_store under this key: never ours. */
	FUZZ_ASSERT(tp_paysession_load(&cfg, PK, d, &back) == TP_EAUTH);
	/* Well-formed. */
	FUZZ_ASSERT(c.norder <= TP_FIELD_COUNT && c.nseen <= TP_CAPTURE_SEEN);
	for (i = 0; i < c.norder; i++) {
		FUZZ_ASSERT(c.order[i] >= 0 && c.order[i] < TP_FIELD_COUNT);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(c.order[i] != c.order[j]);
	}
	if (c.current != TP_FIELD_NONE) {
		bool found = false;
		for (i = 0; i < c.norder; i++)
			found |= c.order[i] == c.current;
		FUZZ_ASSERT(found);
	}
	FUZZ_ASSERT(tp_agent_name_valid(c.agent) && tp_sid_valid(c.call_sid, "CA"));
	fuzz_capture_roundtrip(&c, &back);
	{
		cJSON *v = tp_capture_view(&c, d, PK);
		char *t = cJSON_PrintUnformatted(v);
		cJSON *p = cJSON_Parse(t);
		FUZZ_ASSERT(cJSON_IsObject(p));
		cJSON_Delete(p);
		free(t);
		cJSON_Delete(v);
	}
	/* One callback. */
	if (nparts > 1 && tp_form_parse(&cb, part[1], strlen(part[1])) == TP_OK) {
		tp_capture before = c;
		tp_capture_action act;
		tp_cb_outcome o = tp_capture_apply(&c, &cb, &act);
		if (tp_cap_status_final(before.status))
			FUZZ_ASSERT(o != TP_CB_APPLIED && memcmp(&before, &c, sizeof c) == 0);
		if (o != TP_CB_APPLIED)
			FUZZ_ASSERT(act.kind == TP_ACT_NONE);
		tp_capture_merge(d, &cb);
		tp_paysession_store(&cfg, PK, d, &c);
		FUZZ_ASSERT(tp_paysession_load(&cfg, PK, d, &back) == TP_OK);
		FUZZ_ASSERT(back.seq == c.seq && back.status == c.status);
		/* Another payment's item, or another agent: not ours. */
		FUZZ_ASSERT(tp_paysession_load(&cfg, "PKffffffffffffffffffffffffffffffff", d,
		                               &back) == TP_EAUTH);
		{
			cJSON *agent = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(d, TP_SESSION_KEY), "agent");
			if (cJSON_IsString(agent) && !tp_str_eq(agent->valuestring, "mallory")) {
				cJSON_SetValuestring(agent, "mallory");
				FUZZ_ASSERT(tp_paysession_load(&cfg, PK, d, &back) == TP_EAUTH);
			}
		}
	}
out:
	tp_params_free(&cb);
	cJSON_Delete(d);
	free(s);
	return 0;
}
