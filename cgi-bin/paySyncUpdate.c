/*
 * paySyncUpdate - the Payments status callback (twilio-contract.md
 * section 4): record it in payMap[PaymentSid], publish the session's new
 * state to its live-update channel, and drive the capture forward
 * (lib/capture.c decides; this file does the I/O).
 *
 * What it guarantees (issue 6): the item has a 12 h TTL; a final state (a
 * Result) is never overwritten by a late or duplicate progress callback;
 * a duplicate or an older (DateUpdated) callback changes nothing; two
 * workers handling callbacks of one payment at once never lose an update
 * (If-Match, lib/paysession.c) nor double-step (idempotency keys).
 *
 * Twilio ignores the body; we answer {"sid", "outcome"} for people
 * reading Twilio's debugger: applied, duplicate, stale, final, or
 * recorded (a payment without a session of ours, stored like the Node
 * original did).
 */
#include <stdio.h>
#include <string.h>

#include "twiliopay.h"

static const char *const need[] = {"ACCOUNT_SID", "AUTH_TOKEN", "SERVER_URL",
                                   "PAY_SYNC_SERVICE_SID", NULL};

typedef struct cb_ctx {
	const tp_config *cfg;
	const char *pk;
	const tp_params *cb;
	const char *outcome;
	bool session;
	tp_capture_action act;
} cb_ctx;

static const char *outcome_name(tp_cb_outcome o)
{
	switch (o) {
	case TP_CB_APPLIED:
		return "applied";
	case TP_CB_DUPLICATE:
		return "duplicate";
	case TP_CB_STALE:
		return "stale";
	case TP_CB_FINAL:
		return "final";
	}
	return "?";
}

static tp_paysession_decision apply(cJSON *data, bool exists, void *vctx)
{
	cb_ctx *ctx = vctx;
	tp_capture c;
	tp_cb_outcome o;
	tp_rc rc;

	(void)exists;
	ctx->session = false;
	memset(&ctx->act, 0, sizeof ctx->act);
	rc = tp_paysession_load(data, &c);
	if (rc != TP_OK) {
		/* No session of ours (or one we cannot read): keep the record,
		 * as the Node original did, and do nothing else. */
		if (rc != TP_ENOTFOUND)
			tp_log_kv(TP_LOG_ERROR, "stored session is malformed; recording only",
			          "payment", ctx->pk);
		ctx->outcome = "recorded";
		tp_capture_merge(data, ctx->cb);
		return TP_PS_WRITE;
	}
	ctx->session = true;
	o = tp_capture_apply(&c, ctx->cb, &ctx->act);
	ctx->outcome = outcome_name(o);
	if (o != TP_CB_APPLIED)
		return TP_PS_KEEP;
	tp_capture_merge(data, ctx->cb);
	if (ctx->act.kind == TP_ACT_CAPTURE &&
	    !tp_paysession_capture(ctx->cfg, &c, ctx->pk, &ctx->act, NULL, NULL))
		c.stalled = TP_STALL_REQUEST_FAILED;
	tp_paysession_store(data, &c);
	return TP_PS_WRITE;
}

static void pay_sync_update(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *pk = tp_req_require_sid_or_reply(req, resp, "Sid", "PK");
	const char *call = tp_params_get(&req->body_params, "CallSid");
	cb_ctx ctx = {cfg, pk, &req->body_params, "?", false, {0}};
	tp_paysession_result res;
	cJSON *o;

	if (!pk)
		return;
	if (call && !tp_sid_valid(call, "CA")) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "CallSid must be a CA SID");
		return;
	}
	if (!req->body_is_form) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "bad_form",
		               "a status callback is a form POST");
		return;
	}
	tp_resp_log(resp, "payment", pk);
	if (!tp_paysession_update(cfg, pk, apply, &ctx, &res)) {
		cJSON *now = NULL;
		tp_twilio_error ferr;
		tp_log_kv(TP_LOG_ERROR, "payMap update failed", "payment", pk, "error",
		          res.err.message);
		tp_reply_error(resp, TP_S_BAD_GATEWAY, "sync_error",
		               "the callback could not be recorded in Sync: %s", res.err.message);
		/* One of the tries may have been written after all (Sync acted,
		 * the answer was lost, the later tries failed): show the agent
		 * whatever Sync holds now, so the view is never behind it. */
		if (ctx.session && tp_paysession_fetch(cfg, pk, &now, NULL, &ferr))
			tp_paysession_publish_state(cfg, pk, now);
		cJSON_Delete(now);
		return;
	}
	tp_resp_log(resp, "outcome", ctx.outcome);
	if (res.conflicts) {
		char n[16];
		snprintf(n, sizeof n, "%d", res.conflicts);
		tp_resp_log(resp, "sync_conflicts", n); /* 412s retried */
	}
	if (ctx.act.kind == TP_ACT_CAPTURE)
		tp_resp_log(resp, "capture", tp_field_name(ctx.act.field));
	/* After a conflict the state read last may hold a write of ours
	 * whose answer was lost (Sync acted, the connection dropped, the
	 * retry met our own write and called this callback a duplicate):
	 * publish it, or the agent never sees that state (e.g. "ready").
	 * A state published twice is harmless: the console applies states by
	 * seq. */
	if (ctx.session && (res.written || res.conflicts)) {
		tp_capture st;
		/* The seq published, so a node's log says which states it
		 * published (several nodes: docs/multinode.md). */
		if (tp_paysession_load(res.data, &st) == TP_OK) {
			char seq[16];
			snprintf(seq, sizeof seq, "%u", st.seq);
			tp_resp_log(resp, "seq", seq);
		}
		tp_paysession_publish_state(cfg, pk, res.data);
	}
	cJSON_Delete(res.data);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "sid", pk);
	cJSON_AddStringToObject(o, "outcome", ctx.outcome);
	tp_reply_json_take(resp, TP_S_OK, o);
}

static const tp_handler handler = {
    .name = "paySyncUpdate",
    .fn = pay_sync_update,
    .flags = TP_H_TWILIO_SIGNED,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
