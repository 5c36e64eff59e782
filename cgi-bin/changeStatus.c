/*
 * changeStatus - POST /aap/changeStatus {paymentSid, status}:
 *   complete  submit the captured data to the Pay Connector; only when
 *             nothing is required any more (else 409 naming the fields
 *             still missing);
 *   cancel    end the payment session, any time before it has ended.
 * Both need a call in progress (as the Node original checked), the agent
 * token and this session's token.  The Result arrives later through
 * paySyncUpdate and the live updates.
 *
 *   202 {"state": {...}}   (README "Agent API")
 */
#include <string.h>

#include "twiliopay.h"

static const char *const need[] = {
    "ACCOUNT_SID",  "AUTH_TOKEN",  "SERVER_URL", "PAY_SYNC_SERVICE_SID",
    "AGENT_SECRET", "AGENTS_FILE", NULL};

typedef struct status_ctx {
	const tp_config *cfg;
	const char *pk;
	bool complete;
	bool acted;     /* Twilio accepted our request (in this request) */
	tp_cap_err err; /* why nothing was done */
	bool twilio_failed;
	tp_twilio_error twerr;
	tp_capture c;
} status_ctx;

static tp_cap_err check(const tp_capture *c, bool complete)
{
	return complete ? tp_capture_can_complete(c) : tp_capture_can_cancel(c);
}

static tp_paysession_decision change(cJSON *data, bool exists, void *vctx)
{
	status_ctx *ctx = vctx;

	(void)exists;
	ctx->twilio_failed = false;
	if (tp_paysession_load(ctx->cfg, ctx->pk, data, &ctx->c) != TP_OK) {
		ctx->err = TP_CAP_E_FINAL;
		return TP_PS_KEEP;
	}
	ctx->err = check(&ctx->c, ctx->complete);
	if (ctx->err != TP_CAP_E_OK)
		return TP_PS_KEEP; /* incl. a Result that beat our write */
	if (!tp_paysession_status(ctx->cfg, &ctx->c, ctx->pk, ctx->complete ? "complete" : "cancel",
	                          &ctx->twerr)) {
		ctx->twilio_failed = true;
		return TP_PS_KEEP;
	}
	ctx->acted = true;
	ctx->c.status = ctx->complete ? TP_CAP_SUBMITTING : TP_CAP_CANCELLED;
	ctx->c.stalled = TP_STALL_NONE;
	tp_paysession_store(ctx->cfg, ctx->pk, data, &ctx->c);
	return TP_PS_WRITE;
}

static void change_status(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *pk = NULL, *status;
	cJSON *data = NULL;
	tp_capture c;
	tp_paysession_result res = {0};
	status_ctx ctx;

	status = tp_req_param(req, "status");
	if (!tp_str_eq(status, "complete") && !tp_str_eq(status, "cancel")) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "status must be complete or cancel");
		return;
	}
	if (!tp_paysession_open_or_reply(req, resp, cfg, &pk, &data, &c))
		return;
	memset(&ctx, 0, sizeof ctx);
	ctx.complete = tp_str_eq(status, "complete");
	if (!tp_cap_ok_or_reply(resp, check(&c, ctx.complete), &c, NULL))
		goto out;
	if (!tp_call_in_progress_or_reply(cfg, resp, c.call_sid))
		goto out;
	ctx.cfg = cfg;
	ctx.pk = pk;
	if (!tp_paysession_update(cfg, pk, change, &ctx, &res)) {
		tp_reply_twilio_error(resp, &res.err, "writing the session to Sync");
		goto out;
	}
	if (ctx.twilio_failed) {
		tp_reply_twilio_error(resp, &ctx.twerr,
		                      ctx.complete ? "submitting the payment" : "cancelling");
		goto out;
	}
	/* Our request went through but the session ended before we could
	 * write (the Result came first): that is success, not a conflict. */
	if (!ctx.acted && !tp_cap_ok_or_reply(resp, ctx.err, &ctx.c, NULL))
		goto out;
	tp_resp_log(resp, "status", status);
	/* After a conflict the state read last may be our own write whose
	 * answer was lost: publish it too (paySyncUpdate.c says why). */
	if (res.written || res.conflicts)
		tp_paysession_publish_state(cfg, pk, res.data);
	tp_reply_state(resp, TP_S_ACCEPTED, &ctx.c, res.data, pk);
out:
	cJSON_Delete(res.data);
	cJSON_Delete(data);
}

static const tp_handler handler = {
    .name = "changeStatus",
    .fn = change_status,
    .authorize = tp_agent_authorize,
    .need = need,
    .max_body = 8192,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
