/*
 * attach - POST /aap/attach {callSid | uui | conversationId}: the payment
 * running on a call, for the agent who started it, with a new session
 * token.  For a console that lost what it kept (a reload where the
 * browser refuses storage to the embedded console, a second tab, another
 * browser): it finds the payment again instead of starting a new one.
 * docs/api.md "Agent API".
 *
 *   200 {"paymentSid", "callSid", "sessionToken", "sessionExpiresAt",
 *        "eventsUrl", "ticketUrl", "stateUrl", "order", "state"}
 *                            as startCapture's 201
 *   404 no_running_payment   none on that call, or the last one has ended
 *   403 session_other_agent  the running payment is another agent's
 *   409 session_untrusted    its stored session was changed outside this
 *                            server (lib/paysession.c): nobody gets it
 *   400 / 404 uui_not_found  as startCapture for the call's name
 *
 * The call's latest payment comes from payMap[CallSid] (lib/attach.c),
 * written by startCapture; its session in payMap[PaymentSid] decides.
 */
#include "twiliopay.h"

static const char *const need[] = {"ACCOUNT_SID",
                                   "AUTH_TOKEN",
                                   "PAY_SYNC_SERVICE_SID",
                                   "AGENT_SECRET",
                                   "AGENTS_FILE|AGENTS_SYNC_MAP",
                                   NULL};

static void none_running(tp_resp *resp, const char *call_sid, const char *why)
{
	tp_reply_error(resp, TP_S_NOT_FOUND, "no_running_payment",
	               "no payment is running on call %s%s", call_sid, why);
}

static void attach(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	tp_attach_target t;
	char call[TP_SID_SIZE], pk[TP_SID_SIZE], tag[TP_AGENT_TAG_LEN + 1];
	tp_twilio_error err;
	cJSON *data = NULL;
	tp_capture c;
	tp_rc rc;

	if (!tp_attach_target_or_reply(req, resp, &t) ||
	    !tp_attach_resolve_or_reply(cfg, resp, &t, call))
		return;
	tp_resp_log(resp, "call", call);
	rc = tp_attach_lookup(cfg, call, pk, &err);
	if (rc == TP_EIO) {
		tp_reply_twilio_error(resp, &err, "looking the call's payment up in Sync");
		return;
	}
	if (rc != TP_OK) {
		none_running(resp, call, "");
		return;
	}
	tp_resp_log(resp, "payment", pk);
	if (!tp_paysession_fetch(cfg, pk, &data, NULL, &err)) {
		if (err.status == TP_S_NOT_FOUND)
			none_running(resp, call, " (its last payment has expired)");
		else
			tp_reply_twilio_error(resp, &err, "reading the session from Sync");
		return;
	}
	/* The pointer is only a hint: the session itself must say it is
	 * this call's, and be ours (its MAC: a session rewritten in Sync to
	 * name another agent must not hand the payment over). */
	rc = tp_paysession_load(cfg, pk, data, &c);
	if (rc == TP_EAUTH) {
		tp_reply_session_untrusted(resp, pk);
		goto out;
	}
	if (rc != TP_OK || !tp_str_eq(c.call_sid, call)) {
		none_running(resp, call, "");
		goto out;
	}
	if (tp_cap_status_final(c.status)) {
		none_running(resp, call,
		             c.status == TP_CAP_COMPLETED   ? " (the last one completed)"
		             : c.status == TP_CAP_CANCELLED ? " (the last one was cancelled)"
		                                            : " (the last one failed)");
		goto out;
	}
	if (!tp_str_eq(c.agent, req->auth_subject)) {
		tp_reply_error(resp, TP_S_FORBIDDEN, "session_other_agent",
		               "the payment running on this call belongs to another agent");
		goto out;
	}
	if (!tp_attach_agent_tag_or_reply(cfg, resp, req->auth_subject, tag))
		goto out;
	tp_attach_reply(resp, TP_S_OK, cfg, req->auth_subject, tag, pk, &c, data, NULL);
out:
	cJSON_Delete(data);
}

static const tp_handler handler = {
    .name = "attach",
    .fn = attach,
    .authorize = tp_agent_authorize,
    .need = need,
    .max_body = 4096,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
