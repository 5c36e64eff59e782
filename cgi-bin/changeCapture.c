/*
 * changeCapture - POST /aap/changeCapture {paymentSid, captureType}: the
 * agent has one field captured again (a reset: its value is forgotten
 * and Twilio asks the customer for it), e.g. after a digit was mistyped.
 * Only fields of this session's order; only while the session runs; only
 * on a call that is in progress (as the Node original checked).
 * Agent token and this session's token required.
 *
 *   202 {"state": {...}}   (README "Agent API")
 */
#include <string.h>

#include "twiliopay.h"

static const char *const need[] = {
    "ACCOUNT_SID",  "AUTH_TOKEN",  "SERVER_URL", "PAY_SYNC_SERVICE_SID",
    "AGENT_SECRET", "AGENTS_FILE", NULL};

typedef struct reset_ctx {
	const tp_config *cfg;
	const char *pk;
	tp_field field;
	const char *nonce;
	tp_cap_err err;
	bool twilio_failed;
	bool requested; /* Twilio accepted our Capture (in an earlier round) */
	bool landed;    /* a write of ours whose answer was lost is in Sync */
	tp_twilio_error twerr;
	tp_capture c;
} reset_ctx;

/* Called again after a conflicting write (lib/paysession.c).  A conflict
 * can be our own write: Sync acted on it but the answer was lost, and the
 * retry met it.  The request's nonce, stored with the write as
 * TP_REQUEST_KEY, tells: then nothing is left to do.  Otherwise the reset
 * is applied to the fresh state, and Twilio, which has our Capture
 * already, is not asked again (a second request would carry another step
 * in its key and capture the field twice). */
static tp_paysession_decision reset(cJSON *data, bool exists, void *vctx)
{
	reset_ctx *ctx = vctx;
	tp_capture_action act;
	const cJSON *mark = cJSON_GetObjectItemCaseSensitive(data, TP_REQUEST_KEY);

	(void)exists;
	ctx->twilio_failed = false;
	if (tp_paysession_load(ctx->cfg, ctx->pk, data, &ctx->c) != TP_OK) {
		ctx->err = TP_CAP_E_FINAL;
		return TP_PS_KEEP;
	}
	if (ctx->requested && cJSON_IsString(mark) && tp_str_eq(mark->valuestring, ctx->nonce)) {
		ctx->landed = true;
		ctx->err = TP_CAP_E_OK;
		return TP_PS_KEEP;
	}
	ctx->err = tp_capture_reset(&ctx->c, ctx->field, &act);
	if (ctx->err != TP_CAP_E_OK)
		return TP_PS_KEEP;
	/* The agent's request is new each time it is made: a nonce in the
	 * key, the same one across our own retries of this request. */
	if (!ctx->requested &&
	    !tp_paysession_capture(ctx->cfg, &ctx->c, ctx->pk, &act, ctx->nonce, &ctx->twerr)) {
		ctx->twilio_failed = true;
		return TP_PS_KEEP;
	}
	ctx->requested = true;
	tp_capture_clear_value(data, ctx->field);
	tp_paysession_store(ctx->cfg, ctx->pk, data, &ctx->c);
	cJSON_DeleteItemFromObjectCaseSensitive(data, TP_REQUEST_KEY);
	cJSON_AddStringToObject(data, TP_REQUEST_KEY, ctx->nonce);
	return TP_PS_WRITE;
}

static void change_capture(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *pk = NULL, *name;
	cJSON *data = NULL;
	tp_capture c, probe;
	tp_capture_action act;
	tp_paysession_result res = {0};
	reset_ctx ctx;
	unsigned char nb[6];
	char nonce[13];

	name = tp_req_param(req, "captureType");
	if (!name || !*name)
		name = tp_req_param(req, "field");
	if (!name || !*name) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "missing_parameter",
		               "captureType is required (e.g. payment-card-number)");
		return;
	}
	if (tp_field_from_name(name) == TP_FIELD_NONE) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "captureType must be one of payment-card-number, security-code, "
		               "expiration-date, postal-code, bank-routing-number, "
		               "bank-account-number");
		return;
	}
	if (!tp_paysession_open_or_reply(req, resp, cfg, &pk, &data, &c))
		return;
	/* Refuse what cannot work before touching the call or Twilio. */
	probe = c;
	if (!tp_cap_ok_or_reply(resp, tp_capture_reset(&probe, tp_field_from_name(name), &act), &c,
	                        name))
		goto out;
	if (!tp_call_in_progress_or_reply(cfg, resp, c.call_sid))
		goto out;

	tp_random_bytes(nb, sizeof nb);
	tp_hex(nb, sizeof nb, nonce);
	memset(&ctx, 0, sizeof ctx);
	ctx.cfg = cfg;
	ctx.pk = pk;
	ctx.field = tp_field_from_name(name);
	ctx.nonce = nonce;
	if (!tp_paysession_update(cfg, pk, reset, &ctx, &res)) {
		tp_reply_twilio_error(resp, &res.err, "writing the session to Sync");
		goto out;
	}
	if (ctx.twilio_failed) {
		tp_reply_twilio_error(resp, &ctx.twerr, "asking Twilio to capture the field");
		goto out;
	}
	if (!tp_cap_ok_or_reply(resp, ctx.err, &ctx.c, name))
		goto out;
	tp_resp_log(resp, "capture", tp_field_name(ctx.field));
	if (ctx.landed)
		tp_resp_log(resp, "sync", "answer lost, write found");
	tp_paysession_publish_state(cfg, pk, res.data);
	tp_reply_state(resp, TP_S_ACCEPTED, &ctx.c, res.data, pk);
out:
	cJSON_Delete(res.data);
	cJSON_Delete(data);
}

static const tp_handler handler = {
    .name = "changeCapture",
    .fn = change_capture,
    .authorize = tp_agent_authorize,
    .need = need,
    .max_body = 8192,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
