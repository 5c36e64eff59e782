/*
 * login - POST /aap/login {username, password}: an agent token for the
 * console (lib/agent.c explains the token and why it is not a cookie).
 *
 *   200 {"token": "...", "agent": "alice", "expiresAt": "...Z", "expiresIn": 36000}
 *   401 {"error": "wrong username or password", "code": "login_failed"}
 *
 * Throttling: nginx limit_req on this location (twiliopay-http.conf), per
 * client address; every failure is logged with the name tried and the
 * address (never the password) for fail2ban or a SIEM.
 */
#include <string.h>
#include <time.h>

#include "twiliopay.h"

static const char *const need[] = {"AGENT_SECRET", "AGENTS_FILE|AGENTS_SYNC_MAP", NULL};

static void login(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *user = tp_req_require_or_reply(req, resp, "username");
	const char *pass = user ? tp_req_require_or_reply(req, resp, "password") : NULL;
	char tag[TP_AGENT_TAG_LEN + 1], exp_iso[TP_ISO8601_LEN + 1];
	time_t now = time(NULL);
	tp_rc rc;
	tp_buf tok;
	cJSON *o;

	if (!pass)
		return;
	if (!tp_params_get(&req->body_params, "password")) {
		/* Only in the body: a query string ends up in too many logs. */
		tp_reply_error(resp, TP_S_BAD_REQUEST, "password_in_query",
		               "send the password in the request body, not the URL");
		return;
	}
	rc = tp_agent_store_login(cfg, user, pass, tag);
	if (rc == TP_ENOTFOUND || rc == TP_EAUTH) {
		tp_resp_log(resp, "login_failed",
		            tp_agent_name_valid(user) ? user : "(not a valid name)");
		tp_resp_log(resp, "addr", req->remote_addr);
		tp_reply_error(resp, TP_S_UNAUTHORIZED, "login_failed",
		               "wrong username or password");
		return;
	}
	if (rc != TP_OK) {
		tp_agent_store_reply(resp, cfg, rc);
		return;
	}
	tp_buf_init(&tok, 4096);
	tp_agent_token_issue(&tok, cfg->agent_secret, user, tag, now, TP_AGENT_TOKEN_TTL_S);
	tp_iso8601_from(now + TP_AGENT_TOKEN_TTL_S, exp_iso);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", tp_buf_str(&tok));
	cJSON_AddStringToObject(o, "agent", user);
	cJSON_AddStringToObject(o, "expiresAt", exp_iso);
	cJSON_AddNumberToObject(o, "expiresIn", TP_AGENT_TOKEN_TTL_S);
	tp_resp_log(resp, "agent", user);
	tp_reply_json_take(resp, TP_S_OK, o);
	tp_buf_free(&tok);
}

static const tp_handler handler = {
    .name = "login",
    .fn = login,
    .need = need,
    .max_body = 8192,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
