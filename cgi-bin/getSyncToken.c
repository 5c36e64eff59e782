/*
 * getSyncToken - a Twilio Access Token with a Sync grant for
 * PAY_SYNC_SERVICE_SID, for Sync SDK clients (twilio-contract.md sections
 * 10 and 11).  Agents only: Authorization: Bearer <agent token>.
 *
 *   GET|POST /sync/getSyncToken[?identity=...]
 *   200 {"token": "<JWT>", "identity": "...", "ttl": 3600, "expiresAt": "...Z"}
 *
 * The identity is the request's `identity` (the Node original's browser
 * sent a CallSid) or the agent's name.  ACCOUNT_SID, API_KEY, API_SECRET
 * and PAY_SYNC_SERVICE_SID are checked here, not at start-up, so a
 * deployment without an API key still runs everything else and this
 * endpoint says exactly what is missing.
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
	const char *identity = tp_req_param(req, "identity");
	tp_buf missing, tok;
	char exp_iso[TP_ISO8601_LEN + 1];
	time_t now = time(NULL);
	cJSON *o;

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
	if (!identity || !*identity)
		identity = req->auth_subject;
	if (!identity_ok(identity)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "identity must be 1-%d of A-Z a-z 0-9 . _ @ : + -", IDENTITY_MAX);
		return;
	}
	tp_buf_init(&tok, 8192);
	{
		tp_access_token_req r = {cfg->account_sid,          cfg->api_key, cfg->api_secret,
		                         cfg->pay_sync_service_sid, identity,     now,
		                         TP_ACCESS_TOKEN_TTL_S};
		if (tp_access_token_sync(&tok, &r) != TP_OK) {
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
