/*
 * uuiSyncUpdate - the answered status callback of the <Dial> nouns that
 * callToSIP, callToPSTN and callTransfer emit (twilio-contract.md sections
 * 6.3, 7.2, 11).  The URL carries ?CallDirection=toSIP|toPSTN&UUI=<id>
 * (covered by the signature); the form carries the child leg's CallSid,
 * ParentCallSid and CallStatus.
 *
 * The PSTN leg is the dialled child for toPSTN (CallSid) and the leg that
 * ran <Dial> for toSIP (ParentCallSid).  We upsert
 * uuiMap[UUI] = {"uui": UUI, "pstnSid": <PSTN leg>} with a 12 h TTL: create,
 * and when the key exists (54208) update, so a transfer re-maps the UUI.
 * The Node original only created, so any second write for a UUI failed.
 *
 * Statuses: 200 with a small JSON body (Twilio ignores the body of a
 * status callback answer); 400 naming the missing or malformed parameter;
 * when Sync still fails after lib/api.c's retries, 503 (Sync unreachable,
 * throttled or failing: transient) or 502 (Sync refused the write, e.g. a
 * missing map).  Any non-2xx shows in Twilio's Debugger as error 11200,
 * which is where alerting on a lost mapping can hook in; a 2xx would hide
 * that the agent cannot find the call.
 */
#include <stdio.h>

#include "twiliopay.h"

static const char *const need[] = {"ACCOUNT_SID", "AUTH_TOKEN", "SERVER_URL",
                                   "PAY_SYNC_SERVICE_SID", NULL};

/* CallDirection and UUI are ours, in the callback URL's query string;
 * the body is consulted too, as Twilio Functions merged both. */
static const char *url_param(const tp_req *req, const char *name)
{
	const char *v = tp_params_get(&req->query_params, name);
	return v ? v : tp_params_get(&req->body_params, name);
}

static void uui_sync_update(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *dir = url_param(req, "CallDirection");
	const char *uui = url_param(req, "UUI");
	const char *call_sid, *pstn_sid, *status;
	bool to_sip;
	tp_api_result r;
	cJSON *data, *o;

	if (!dir || !*dir) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "missing_parameter",
		               "CallDirection is required (toSIP or toPSTN)");
		return;
	}
	if (!tp_str_eq(dir, "toSIP") && !tp_str_eq(dir, "toPSTN")) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "CallDirection must be toSIP or toPSTN");
		return;
	}
	to_sip = tp_str_eq(dir, "toSIP");
	if (!uui || !*uui) {
		tp_reply_error(
		    resp, TP_S_BAD_REQUEST, "missing_parameter",
		    "UUI is required: without it the call cannot be found for a payment");
		return;
	}
	if (!tp_voice_uui_valid(uui)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "UUI must be 1 to %d printable characters without blanks",
		               TP_VOICE_UUI_MAX);
		return;
	}
	call_sid = tp_req_require_sid_or_reply(req, resp, "CallSid", "CA");
	if (!call_sid)
		return;
	pstn_sid = call_sid;
	if (to_sip) {
		pstn_sid = tp_req_require_sid_or_reply(req, resp, "ParentCallSid", "CA");
		if (!pstn_sid)
			return;
	}
	status = tp_req_require_or_reply(req, resp, "CallStatus");
	if (!status)
		return;
	tp_resp_log(resp, "direction", dir);
	tp_resp_log(resp, "uui", uui);
	tp_resp_log(resp, "pstnSid", pstn_sid);
	tp_resp_log(resp, "callStatus", status);

	/* statusCallbackEvent="answered" reports CallStatus=in-progress
	 * (section 7.2); "answered" is accepted as well.  Other events (a
	 * console-configured ringing/completed callback) must not map. */
	if (!tp_str_eq(status, "in-progress") && !tp_str_eq(status, "answered")) {
		tp_log_kv(TP_LOG_INFO, "ignoring a callback that is not an answer", "callStatus",
		          status, "uui", uui, "call", call_sid);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "status", "ignored");
		cJSON_AddStringToObject(o, "callStatus", status);
		tp_reply_json_take(resp, TP_S_OK, o);
		return;
	}

	data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "uui", uui);
	cJSON_AddStringToObject(data, "pstnSid", pstn_sid);
	if (!tp_sync_item_upsert(cfg, cfg->pay_sync_service_sid, cfg->sync_uui_map_name, uui, data,
	                         TP_SYNC_TTL_12H, &r)) {
		bool transient =
		    r.status == 0 || r.status == TP_S_TOO_MANY_REQUESTS || r.status >= 500;
		char code[24];
		snprintf(code, sizeof code, "%ld", r.err.code);
		tp_resp_log(resp, "sync_status", r.status ? "error" : "unreachable");
		tp_resp_log(resp, "twilio_code", code);
		tp_reply_error(resp, transient ? TP_S_SERVICE_UNAVAILABLE : TP_S_BAD_GATEWAY,
		               "sync_failed", "could not write %s[%s] after %d attempt(s): %s",
		               cfg->sync_uui_map_name, uui, r.attempts, r.err.message);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "mapped");
	cJSON_AddStringToObject(o, "uui", uui);
	cJSON_AddStringToObject(o, "pstnSid", pstn_sid);
	tp_reply_json_take(resp, TP_S_OK, o);
out:
	tp_api_result_free(&r);
	cJSON_Delete(data);
}

static const tp_handler handler = {
    .name = "uuiSyncUpdate",
    .fn = uui_sync_update,
    .flags = TP_H_TWILIO_SIGNED,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
