/*
 * eventsAuth - nchan's authorisation subrequests for the live updates:
 * a browser's subscription (/aap/events/<PK>) and a handler's publish
 * (/pub/<PK> on the internal socket, PUBLISH_TOKEN set: a publish token,
 * lib/agent.c, that only holders of AGENT_SECRET can make).
 *
 * The browser subscribes with EventSource, which cannot send headers, so
 * the session token travels as ?token= on the subscription URL (nginx
 * logs $uri only, so it never reaches a log).  nginx hands us (see
 * nginx/twiliopay-http.conf.in, /auth/events):
 *   NCHAN_CHANNEL_ID  the channel nchan will subscribe to ($nchan_channel_id:
 *                     the authority, not a path we re-parse, which ../
 *                     tricks could make differ)
 *   SUBSCRIBER_URI    the subscriber's original request URI, for the token
 *                     (REQUEST_URI when absent).
 * 200 lets nchan subscribe; 401 without a token, 403 with a wrong one.
 */
#include <string.h>
#include <time.h>

#include "twiliopay.h"

static const char *const need[] = {"AGENT_SECRET", "AGENTS_FILE|AGENTS_SYNC_MAP", NULL};

static void events_auth(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *channel = tp_req_getenv(req, "NCHAN_CHANNEL_ID");
	const char *uri = tp_req_getenv(req, "SUBSCRIBER_URI");
	const char *q = strchr(uri && *uri ? uri : req->request_uri, '?');
	tp_params query;
	int st;

	tp_params_init(&query);
	if (!channel || !tp_sid_valid(channel, "PK")) {
		tp_reply_error(resp, TP_S_FORBIDDEN, "forbidden", "not a payment channel");
		goto out;
	}
	tp_resp_log(resp, "payment", channel);
	if (tp_req_getenv(req, "PUBLISH_TOKEN")) {
		tp_resp_log(resp, "check", "publish");
		if (tp_publish_token_ok(cfg->agent_secret, tp_req_getenv(req, "PUBLISH_TOKEN"),
		                        channel, time(NULL)))
			tp_reply_json_take(resp, TP_S_OK, cJSON_CreateObject());
		else
			tp_reply_error(resp, TP_S_FORBIDDEN, "publish_forbidden",
			               "only the handlers publish live updates");
		goto out;
	}
	if (q && tp_form_parse(&query, q + 1, strlen(q + 1)) != TP_OK) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "bad_query", "malformed query string");
		goto out;
	}
	st = tp_session_token_check(cfg, tp_params_get(&query, "token"), channel);
	if (st == 200)
		tp_reply_json_take(resp, TP_S_OK, cJSON_CreateObject());
	else if (st == 401)
		tp_reply_error(resp, TP_S_UNAUTHORIZED, "session_token_required",
		               "subscribe with ?token=<session token from startCapture>");
	else if (st == 403)
		tp_reply_error(resp, TP_S_FORBIDDEN, "session_forbidden",
		               "the session token is not valid for this payment");
	else if (st == 503)
		tp_reply_error(
		    resp, TP_S_SERVICE_UNAVAILABLE, "agents_unavailable",
		    "the agent store (Twilio Sync) cannot be reached; try again shortly");
	else
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "agents_file",
		               "agent authentication is not usable (AGENT_SECRET, AGENTS_FILE or "
		               "AGENTS_SYNC_MAP)");
out:
	tp_params_free(&query);
}

static const tp_handler handler = {
    .name = "eventsAuth",
    .fn = events_auth,
    .flags = TP_H_GET_ONLY,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
