/*
 * session - GET /aap/session?paymentSid=PK...: the session's current
 * state in one request, for a page that (re)loads before subscribing to
 * the live updates.  Agent token and this session's token (X-Session-Token).
 *
 *   200 {"state": {...}}   (docs/api.md "Agent API"; the same object the live
 *                           updates carry)
 */
#include "twiliopay.h"

static const char *const need[] = {"ACCOUNT_SID",
                                   "AUTH_TOKEN",
                                   "PAY_SYNC_SERVICE_SID",
                                   "AGENT_SECRET",
                                   "AGENTS_FILE|AGENTS_SYNC_MAP",
                                   NULL};

static void session(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *pk = NULL;
	cJSON *data = NULL;
	tp_capture c;

	if (!tp_paysession_open_or_reply(req, resp, cfg, &pk, &data, &c))
		return;
	tp_reply_state(resp, TP_S_OK, &c, data, pk);
	cJSON_Delete(data);
}

static const tp_handler handler = {
    .name = "session",
    .fn = session,
    .flags = TP_H_GET_ONLY,
    .authorize = tp_agent_authorize,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
