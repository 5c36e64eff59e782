/*
 * attach.c - an agent attaching to a call: naming it (callSid, or a UUI /
 * Genesys conversation id looked up in uuiMap), and finding the payment
 * running on it again (docs/api.md "Agent API": startCapture, attach).
 *
 * Finding it again without scanning payMap: startCapture also writes
 * payMap[<CallSid>] = {"callSid", "paymentSid", "agent", "startedAt"}
 * (12 h TTL, as every item of ours), the call's latest payment.  Why
 * there:
 *  - payMap's other keys are PaymentSids (PK...): Twilio's Sid, checked
 *    by paySyncUpdate.  A CallSid (CA...) can never collide with one.
 *    uuiMap's keys are UUIs, and an inbound call's UUI is its own CallSid
 *    (callToSIP), so a CallSid key there would overwrite the mapping;
 *  - payMap and uuiMap data keep the Node original's shape: this is one
 *    more item, no field is added to theirs;
 *  - rejected: a third map (every deployment would have to run
 *    setupSyncServices again) and a list of payMap items filtered by
 *    call (a scan, one page per 50 payments).
 * The record is a pointer, not a state: attach reads the session it names
 * and trusts only that (its call, its agent, whether it has ended).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The characters startCapture has always accepted in a UUI: those of a
 * CallSid, a Genesys conversation id (a UUID) and a SIP user part. */
static bool uui_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > TP_ATTACH_UUI_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._:@+-", c)))
			return false;
	}
	return true;
}

bool tp_attach_target_or_reply(const tp_req *req, tp_resp *resp, tp_attach_target *t)
{
	t->call_sid = tp_req_param_any(req, "callSid", NULL);
	t->uui = tp_req_param_any(req, "uui", "conversationId");
	if (!t->call_sid && !t->uui) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "missing_parameter",
		               "give callSid, or uui (or conversationId) to find the call");
		return false;
	}
	if (t->call_sid && !tp_sid_valid(t->call_sid, "CA")) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "callSid must be a CA SID: CA followed by 32 hex digits");
		return false;
	}
	if (!t->call_sid && !uui_ok(t->uui)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "uui must be 1-%d of A-Z a-z 0-9 . _ : @ + -", TP_ATTACH_UUI_MAX);
		return false;
	}
	return true;
}

bool tp_attach_resolve_or_reply(const tp_config *cfg, tp_resp *resp, const tp_attach_target *t,
                                char call_sid[TP_SID_SIZE])
{
	tp_api_result r;
	const cJSON *d, *pstn;
	bool ok = false;

	if (t->call_sid) {
		snprintf(call_sid, TP_SID_SIZE, "%s", t->call_sid);
		return true;
	}
	/* uuiMap[uui].pstnSid, written by uuiSyncUpdate when the call was
	 * answered (original-README "Sync Map Structure"). */
	if (!tp_sync_item_fetch(cfg, cfg->pay_sync_service_sid, cfg->sync_uui_map_name, t->uui,
	                        &r)) {
		if (r.err.status == TP_S_NOT_FOUND)
			tp_reply_error(resp, TP_S_NOT_FOUND, "uui_not_found",
			               "no call is known for UUI %s (uuiMap gets it when the call "
			               "is answered)",
			               t->uui);
		else
			tp_reply_twilio_error(resp, &r.err, "looking the UUI up in Sync");
		goto out;
	}
	d = cJSON_GetObjectItemCaseSensitive(r.json, "data");
	pstn = cJSON_GetObjectItemCaseSensitive(d, "pstnSid");
	if (!cJSON_IsString(pstn) || !tp_sid_valid(pstn->valuestring, "CA")) {
		tp_reply_error(resp, TP_S_BAD_GATEWAY, "uui_malformed",
		               "uuiMap item %s has no valid pstnSid", t->uui);
		goto out;
	}
	snprintf(call_sid, TP_SID_SIZE, "%s", pstn->valuestring);
	ok = true;
out:
	tp_api_result_free(&r);
	return ok;
}

bool tp_attach_record(const tp_config *cfg, const char *call_sid, const char *payment_sid,
                      const char *agent)
{
	char now[TP_ISO8601_LEN + 1];
	cJSON *data = cJSON_CreateObject();
	tp_api_result r;
	bool ok;

	tp_iso8601_now(now);
	cJSON_AddStringToObject(data, "callSid", call_sid);
	cJSON_AddStringToObject(data, "paymentSid", payment_sid);
	cJSON_AddStringToObject(data, "agent", agent);
	cJSON_AddStringToObject(data, "startedAt", now);
	/* Upsert: a later payment on the same call replaces the pointer
	 * (Twilio allows one running payment per call, 64021). */
	ok = tp_sync_item_upsert(cfg, cfg->pay_sync_service_sid, cfg->sync_pay_map_name, call_sid,
	                         data, TP_SYNC_TTL_12H, &r);
	if (!ok)
		tp_log_kv(TP_LOG_WARN,
		          "the call's payment was not recorded; attach will not find it", "call",
		          call_sid, "payment", payment_sid, "error", r.err.message);
	tp_api_result_free(&r);
	cJSON_Delete(data);
	return ok;
}

tp_rc tp_attach_lookup(const tp_config *cfg, const char *call_sid, char payment_sid[TP_SID_SIZE],
                       tp_twilio_error *err)
{
	tp_api_result r;
	const cJSON *d, *pk, *call;
	tp_rc rc = TP_ENOTFOUND;

	payment_sid[0] = '\0';
	if (!tp_sync_item_fetch(cfg, cfg->pay_sync_service_sid, cfg->sync_pay_map_name, call_sid,
	                        &r)) {
		if (r.err.status != TP_S_NOT_FOUND) {
			*err = r.err;
			rc = TP_EIO;
		}
		goto out;
	}
	d = cJSON_GetObjectItemCaseSensitive(r.json, "data");
	pk = cJSON_GetObjectItemCaseSensitive(d, "paymentSid");
	call = cJSON_GetObjectItemCaseSensitive(d, "callSid");
	if (cJSON_IsString(pk) && tp_sid_valid(pk->valuestring, "PK") && cJSON_IsString(call) &&
	    tp_str_eq(call->valuestring, call_sid)) {
		snprintf(payment_sid, TP_SID_SIZE, "%s", pk->valuestring);
		rc = TP_OK;
	}
out:
	tp_api_result_free(&r);
	return rc;
}

bool tp_attach_agent_tag_or_reply(const tp_config *cfg, tp_resp *resp, const char *agent,
                                  char tag[TP_AGENT_TAG_LEN + 1])
{
	tp_rc rc = tp_agent_store_tag(cfg, agent, tag);

	if (rc == TP_ENOTFOUND || rc == TP_EAUTH)
		tp_reply_error(resp, TP_S_UNAUTHORIZED, "token_revoked",
		               "the agent no longer exists; log in again");
	else if (rc != TP_OK)
		tp_agent_store_reply(resp, cfg, rc);
	return rc == TP_OK;
}

void tp_attach_reply(tp_resp *resp, int status, const tp_config *cfg, const char *agent,
                     const char *tag, const char *payment_sid, const tp_capture *c,
                     const cJSON *data, const char *warning)
{
	char exp_iso[TP_ISO8601_LEN + 1];
	time_t now = time(NULL);
	cJSON *o, *view, *empty = NULL;
	tp_buf tok, url;

	tp_buf_init(&tok, 4096);
	tp_buf_init(&url, 8192);
	tp_session_token_issue(&tok, cfg->agent_secret, agent, tag, payment_sid, c->call_sid, now,
	                       TP_SESSION_TOKEN_TTL_S);
	tp_iso8601_from(now + TP_SESSION_TOKEN_TTL_S, exp_iso);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "paymentSid", payment_sid);
	cJSON_AddStringToObject(o, "callSid", c->call_sid);
	cJSON_AddStringToObject(o, "sessionToken", tp_buf_str(&tok));
	cJSON_AddStringToObject(o, "sessionExpiresAt", exp_iso);
	/* No credential in a URL: a subscription takes a ticket (POST
	 * /aap/events-ticket, lib/ticket.c) appended as ?ticket=. */
	tp_buf_addf(&url, "/aap/events/%s", payment_sid);
	cJSON_AddStringToObject(o, "eventsUrl", tp_buf_str(&url));
	cJSON_AddStringToObject(o, "ticketUrl", "/aap/events-ticket");
	tp_buf_reset(&url);
	tp_buf_addf(&url, "/aap/session?paymentSid=%s", payment_sid);
	cJSON_AddStringToObject(o, "stateUrl", tp_buf_str(&url));
	if (!data)
		data = empty = cJSON_CreateObject(); /* Sync unreadable just now: no values yet */
	view = tp_capture_view(c, data, payment_sid);
	cJSON_AddItemToObject(
	    o, "order", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(view, "order"), true));
	cJSON_AddItemToObject(o, "state", view);
	if (warning)
		cJSON_AddStringToObject(o, "warning", warning);
	tp_reply_json_take(resp, status, o);
	cJSON_Delete(empty);
	tp_buf_free(&tok);
	tp_buf_free(&url);
}
