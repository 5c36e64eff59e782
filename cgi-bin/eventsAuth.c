/*
 * eventsAuth - nchan's authorisation subrequests for the live updates:
 * a browser's subscription (/aap/events/<PK>) and a handler's publish
 * (/pub/<PK> on the internal socket, PUBLISH_TOKEN set: a publish token,
 * lib/agent.c, that only holders of AGENT_SECRET can make).
 *
 * The browser subscribes with EventSource, which cannot send headers, so
 * its credential is in the URL: ?ticket=<ticket from POST
 * /aap/events-ticket>, valid a minute and accepted once (lib/ticket.c).
 * The session token itself is no longer accepted there (?token=): a URL
 * reaches places a header does not, and that token lives 4 hours.  nginx
 * hands us (see nginx/twiliopay-live.conf.in, /auth/events):
 *   NCHAN_CHANNEL_ID  the channel nchan will subscribe to ($nchan_channel_id:
 *                     the authority, not a path we re-parse, which ../
 *                     tricks could make differ)
 *   SUBSCRIBER_URI    the subscriber's original request URI, for the ticket
 *                     (REQUEST_URI when absent).
 * 200 lets nchan subscribe; 401 without a ticket, 403 with one refused.
 * The ticket is never logged: only why it was refused.
 */
#include <string.h>
#include <time.h>

#include "twiliopay.h"

static const char *const need[] = {"AGENT_SECRET", "AGENTS_FILE|AGENTS_SYNC_MAP", "TICKETS_FILE",
                                   NULL};

static void events_auth(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *channel = tp_req_getenv(req, "NCHAN_CHANNEL_ID");
	const char *uri = tp_req_getenv(req, "SUBSCRIBER_URI");
	const char *q = strchr(uri && *uri ? uri : req->request_uri, '?');
	const char *why;
	tp_params query;

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
	if (!tp_params_get(&query, "ticket") && tp_params_get(&query, "token")) {
		tp_reply_error(resp, TP_S_UNAUTHORIZED, "ticket_required",
		               "a session token is not accepted in the URL: subscribe with "
		               "?ticket=<ticket from POST /aap/events-ticket>");
		goto out;
	}
	switch (tp_ticket_redeem(cfg, tp_params_get(&query, "ticket"), channel, time(NULL), &why)) {
	case TP_OK:
		tp_reply_json_take(resp, TP_S_OK, cJSON_CreateObject());
		break;
	case TP_ENOTFOUND:
		tp_reply_error(resp, TP_S_UNAUTHORIZED, "ticket_required",
		               "subscribe with ?ticket=<ticket from POST /aap/events-ticket>");
		break;
	case TP_EUNAVAIL:
		/* Two stores can be unavailable, each with its own answer: the
		 * agents' (Sync: 503 agents_unavailable, as every agent endpoint
		 * answers) and the spent tickets' (Redis), never the per-node
		 * list instead (lib/ticket.c): the console polls GET
		 * /aap/session meanwhile. */
		if (why != tp_ticket_spent_store_unavailable) {
			tp_agent_store_reply(resp, cfg, TP_EUNAVAIL);
			break;
		}
		tp_resp_header(resp, "Retry-After", "5");
		tp_reply_error(resp, TP_S_SERVICE_UNAVAILABLE, "tickets_unavailable",
		               "live-update tickets cannot be checked now (the nodes' Redis, "
		               "NCHAN_REDIS_URL, cannot be reached); read GET /aap/session "
		               "meanwhile and try again shortly");
		break;
	case TP_ECONFIG:
		tp_reply_error(
		    resp, TP_S_INTERNAL_SERVER_ERROR, "tickets_unusable",
		    "live-update tickets cannot be checked (AGENT_SECRET, AGENTS_FILE or "
		    "AGENTS_SYNC_MAP, TICKETS_FILE)");
		break;
	default: /* refused: forged, expired, another payment's, revoked, spent */
		tp_reply_error(resp, TP_S_FORBIDDEN, "ticket_refused", "%s; get a new one", why);
		break;
	}
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
