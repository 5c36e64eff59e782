/*
 * eventsTicket - POST /aap/events-ticket {paymentSid}: a ticket for one
 * live-update subscription to that payment, which the console asks for
 * right before each EventSource (re)connection.  EventSource cannot send
 * headers, so its credential travels in the URL; the ticket (lib/ticket.c)
 * is what may: valid 60 s, for this payment, accepted once.  Agent token
 * and this session's token required, as for GET /aap/session.
 *
 *   200 {"ticket", "eventsUrl": "/aap/events/PK...?ticket=...",
 *        "expiresIn": 60, "expiresAt"}      (docs/api.md "Agent API")
 */
#include <time.h>

#include "twiliopay.h"

static const char *const need[] = {"AGENT_SECRET", "AGENTS_FILE|AGENTS_SYNC_MAP", NULL};

static void events_ticket(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *pk = tp_req_require_sid_or_reply(req, resp, "paymentSid", "PK");
	char tag[TP_AGENT_TAG_LEN + 1], exp_iso[TP_ISO8601_LEN + 1];
	time_t now = time(NULL);
	tp_buf ticket, url;
	cJSON *o;

	tp_buf_init(&ticket, 4096);
	tp_buf_init(&url, 8192);
	if (!pk || !tp_session_authorize_or_reply(req, resp, cfg, pk))
		goto out;
	tp_resp_log(resp, "payment", pk);
	if (!tp_attach_agent_tag_or_reply(cfg, resp, req->auth_subject, tag))
		goto out;
	tp_ticket_issue(&ticket, cfg->agent_secret, req->auth_subject, tag, pk, now,
	                TP_TICKET_TTL_S);
	tp_buf_addf(&url, "/aap/events/%s?ticket=", pk);
	tp_url_encode(&url, tp_buf_str(&ticket));
	tp_iso8601_from(now + TP_TICKET_TTL_S, exp_iso);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ticket", tp_buf_str(&ticket));
	cJSON_AddStringToObject(o, "eventsUrl", tp_buf_str(&url));
	cJSON_AddNumberToObject(o, "expiresIn", TP_TICKET_TTL_S);
	cJSON_AddStringToObject(o, "expiresAt", exp_iso);
	tp_reply_json_take(resp, TP_S_OK, o);
out:
	tp_buf_free(&ticket);
	tp_buf_free(&url);
}

static const tp_handler handler = {
    .name = "eventsTicket",
    .fn = events_ticket,
    .authorize = tp_agent_authorize,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
