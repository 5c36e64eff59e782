/*
 * getSyncToken - a Twilio Access Token with a Sync grant for
 * PAY_SYNC_SERVICE_SID, for Sync SDK clients (twilio-contract.md sections
 * 10 and 11).  Agents only: Authorization: Bearer <agent token>.
 *
 *   GET|POST /sync/getSyncToken
 *   200 {"token": "<JWT>", "identity": "<agent>", "ttl": 3600, "expiresAt": "...Z"}
 *
 * Off unless ENABLE_SYNC_TOKENS=true (403 sync_tokens_disabled): the
 * console does not use Sync, and a token is a credential for Twilio
 * itself.  When on:
 *  - the identity is always the signed-in agent.  The Node original took
 *    any identity the browser sent, and an identity is what Sync's access
 *    control decides by, so an `identity` naming anybody else is a 400;
 *  - before answering, the agent's identity is granted read, and only
 *    read, on payMap (Sync Map Permission resource): what the Node
 *    original's browser did with its token (it listened to payMap).  The
 *    service has access control on (setupSyncServices), so the token
 *    reaches nothing else: no write to payMap, nothing of uuiMap.  Sync
 *    failing to take the grant is a 502 and no token.
 * ACCOUNT_SID, API_KEY, API_SECRET and PAY_SYNC_SERVICE_SID are checked
 * here, not at start-up, so a deployment without an API key still runs
 * everything else and this endpoint says exactly what is missing.
 */
#include <string.h>
#include <time.h>

#include "twiliopay.h"

static const char *const need[] = {"AGENT_SECRET", "AGENTS_FILE|AGENTS_SYNC_MAP", NULL};

#define IDENTITY_MAX 121 /* Twilio's limit for a client identity */

static bool identity_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > IDENTITY_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._@:+-", c)))
			return false;
	}
	return true;
}

static void get_sync_token(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *asked = tp_req_param(req, "identity");
	const char *identity = req->auth_subject;
	tp_buf missing, tok;
	char exp_iso[TP_ISO8601_LEN + 1];
	time_t now = time(NULL);
	tp_api_result r;
	cJSON *o;

	if (!cfg->enable_sync_tokens) {
		tp_reply_error(resp, TP_S_FORBIDDEN, "sync_tokens_disabled",
		               "Sync tokens are off on this server (ENABLE_SYNC_TOKENS); the agent "
		               "console does not need them");
		return;
	}
	if (asked && *asked && !tp_str_eq(asked, identity)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "identity_not_allowed",
		               "a Sync token's identity is always the signed-in agent (%s); "
		               "leave identity out",
		               identity);
		return;
	}
	tp_buf_init(&missing, 256);
	if (!cfg->account_sid)
		tp_buf_adds(&missing, " ACCOUNT_SID");
	if (!cfg->api_key)
		tp_buf_adds(&missing, " API_KEY");
	if (!cfg->api_secret)
		tp_buf_adds(&missing, " API_SECRET");
	if (!cfg->pay_sync_service_sid)
		tp_buf_adds(&missing, " PAY_SYNC_SERVICE_SID");
	if (missing.len) {
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "not_configured",
		               "Sync tokens are not configured: set%s", tp_buf_str(&missing));
		tp_buf_free(&missing);
		return;
	}
	tp_buf_free(&missing);
	if (!identity_ok(identity)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "identity must be 1-%d of A-Z a-z 0-9 . _ @ : + -", IDENTITY_MAX);
		return;
	}
	if (!tp_sync_map_permission_set(cfg, cfg->pay_sync_service_sid, cfg->sync_pay_map_name,
	                                identity, true, false, false, &r)) {
		tp_reply_twilio_error(resp, &r.err, "granting the agent read access to payMap");
		tp_api_result_free(&r);
		return;
	}
	tp_api_result_free(&r);
	tp_buf_init(&tok, 8192);
	{
		tp_access_token_req at = {cfg->account_sid,          cfg->api_key, cfg->api_secret,
		                          cfg->pay_sync_service_sid, identity,     now,
		                          TP_ACCESS_TOKEN_TTL_S};
		if (tp_access_token_sync(&tok, &at) != TP_OK) {
			tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "internal",
			               "the token could not be made");
			tp_buf_free(&tok);
			return;
		}
	}
	tp_iso8601_from(now + TP_ACCESS_TOKEN_TTL_S, exp_iso);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", tp_buf_str(&tok));
	cJSON_AddStringToObject(o, "identity", identity);
	cJSON_AddNumberToObject(o, "ttl", TP_ACCESS_TOKEN_TTL_S);
	cJSON_AddStringToObject(o, "expiresAt", exp_iso);
	tp_reply_json_take(resp, TP_S_OK, o);
	tp_buf_free(&tok);
}

static const tp_handler handler = {
    .name = "getSyncToken",
    .fn = get_sync_token,
    .flags = TP_H_ALLOW_GET,
    .authorize = tp_agent_authorize,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
