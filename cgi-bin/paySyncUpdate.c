/*
 * paySyncUpdate - the Payments status callback (twilio-contract.md
 * section 4): record it in payMap[PaymentSid], publish the session's new
 * state to its live-update channel, and drive the capture forward
 * (lib/capture.c decides; this file does the I/O).
 *
 * What it guarantees: the item has a 12 h TTL; a final state (a
 * Result) is never overwritten by a late or duplicate progress callback;
 * a duplicate or an older (DateUpdated) callback changes nothing; two
 * workers handling callbacks of one payment at once never lose an update
 * (If-Match, lib/paysession.c) nor double-step (idempotency keys).
 *
 * When a payment completes, its short reference is claimed and stored
 * with the connector's id (lib/reference.c), before the state is written
 * and published, so the agent sees the outcome and the reference at once.
 *
 * Twilio ignores the body; we answer {"sid", "outcome"} for people
 * reading Twilio's debugger: applied, duplicate, stale, final, or
 * recorded (a payment without a session of ours, stored like the Node
 * original did), or untrusted (recorded too: its session was written
 * outside this server, lib/paysession.c).  A callback holding a value
 * Twilio never sends (a re-split of a real one under its signature) is a
 * 400 invalid_callback that changes nothing.
 *
 * Round trips: a Sync read, then the write and, when the session moves
 * to the next field, the Capture request at once, side by side; the new
 * state is published to the agent as soon as the write lands (the
 * customer's key press reaches the agent after one read and one write).
 * The two do not depend on each other: the Capture request's
 * idempotency key comes from the state (step, field, attempt), so a write
 * that loses a race and is recomputed into the same step reuses the
 * request already made, and Twilio acts once either way.  Only a Capture
 * request that failed changes the state afterwards: a second write marks
 * the session stalled (the agent then re-captures or cancels), if
 * nothing has moved since.
 */
#include <stdio.h>
#include <string.h>

#include "twiliopay.h"

/* AGENT_SECRET: the key of the session's MAC (lib/paysession.c). */
static const char *const need[] = {"ACCOUNT_SID",          "AUTH_TOKEN",   "SERVER_URL",
                                   "PAY_SYNC_SERVICE_SID", "AGENT_SECRET", NULL};

/* The Capture request a callback asked for, on a task of its own. */
typedef struct capture_job {
	const tp_config *cfg;
	const char *pk;
	tp_capture c; /* the state it was decided in (call, step, field) */
	tp_capture_action act;
	char key[256]; /* its idempotency key */
	tp_task *task;
	bool ok;
} capture_job;

typedef struct cb_ctx {
	const tp_config *cfg;
	const char *pk;
	const tp_params *cb;
	const char *outcome;
	bool session;
	tp_capture_action act;
	capture_job job;
} cb_ctx;

static void run_capture(void *p)
{
	capture_job *j = p;
	j->ok = tp_paysession_capture(j->cfg, &j->c, j->pk, &j->act, NULL, NULL);
}

/* Starts the Capture request for act unless the same one (same key) is
 * already on its way: a recomputation after a conflicting write. */
static void start_capture_job(cb_ctx *ctx, const tp_capture *c, const tp_capture_action *act)
{
	capture_job *j = &ctx->job;
	tp_buf key;

	tp_buf_init(&key, sizeof j->key - 1);
	tp_capture_action_key(act, ctx->pk, NULL, &key);
	if (j->task && tp_str_eq(j->key, tp_buf_str(&key))) {
		tp_buf_free(&key);
		return;
	}
	/* A recomputation that wants another step: the earlier request was
	 * made (as it would have been before the write); let it finish. */
	tp_task_join(j->task);
	j->cfg = ctx->cfg;
	j->pk = ctx->pk;
	j->c = *c;
	j->act = *act;
	j->ok = false;
	snprintf(j->key, sizeof j->key, "%s", tp_buf_str(&key));
	tp_buf_free(&key);
	j->task = tp_task_start(run_capture, j);
}

/* After a failed Capture request: stalled, if the session still waits
 * for that very field (no digits since, no other step). */
static tp_paysession_decision mark_stalled(cJSON *data, bool exists, void *vctx)
{
	const capture_job *j = vctx;
	tp_capture c;

	(void)exists;
	if (tp_paysession_load(j->cfg, j->pk, data, &c) != TP_OK || c.status != TP_CAP_CAPTURING ||
	    c.step != j->act.step || c.attempt != j->act.attempt || c.current != j->act.field ||
	    c.partial || c.stalled != TP_STALL_NONE)
		return TP_PS_KEEP;
	c.stalled = TP_STALL_REQUEST_FAILED;
	tp_paysession_store(j->cfg, j->pk, data, &c);
	return TP_PS_WRITE;
}

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

/* The connector's id of a completed payment, as merged from Twilio's
 * callbacks: the charge id, or the token when it only tokenized. */
static const char *connector_id(const cJSON *data)
{
	static const char *const names[] = {"PaymentConfirmationCode", "PaymentToken"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, names[i]);
		if (cJSON_IsString(v) && v->valuestring[0])
			return v->valuestring;
	}
	return NULL;
}

/* A completed payment gets its short reference (lib/reference.c) as soon
 * as the connector's id is known.  The claim is idempotent, so a worker
 * recomputing after a write conflict, or a later callback retrying a
 * claim that failed, gets the same reference.  True when c changed.  A
 * failed claim leaves the reference empty (the console then shows the
 * connector's id): the outcome is recorded all the same. */
static bool give_reference(const cb_ctx *ctx, tp_capture *c, const cJSON *data)
{
	const char *id = connector_id(data);
	tp_twilio_error err;
	char ref[TP_REFERENCE_LEN + 1];

	if (c->status != TP_CAP_COMPLETED || c->reference[0] || !id)
		return false;
	memset(&err, 0, sizeof err);
	if (tp_reference_claim_sync(ctx->cfg, ctx->pk, id, ref, &err) != TP_OK) {
		tp_log_kv(TP_LOG_ERROR, "no short reference for the payment", "payment", ctx->pk,
		          "error", err.message);
		return false;
	}
	snprintf(c->reference, sizeof c->reference, "%s", ref);
	snprintf(c->connector_id, sizeof c->connector_id, "%s", id);
	return true;
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
	rc = tp_paysession_load(ctx->cfg, ctx->pk, data, &c);
	if (rc != TP_OK) {
		/* No session of ours (or one we cannot read, or one written
		 * outside this server: tp_paysession_load logged that): keep the
		 * record, as the Node original did, and do nothing else. */
		if (rc == TP_EINVAL)
			tp_log_kv(TP_LOG_ERROR, "stored session is malformed; recording only",
			          "payment", ctx->pk);
		ctx->outcome = rc == TP_EAUTH ? "untrusted" : "recorded";
		tp_capture_merge(data, ctx->cb);
		return TP_PS_WRITE;
	}
	ctx->session = true;
	o = tp_capture_apply(&c, ctx->cb, &ctx->act);
	ctx->outcome = outcome_name(o);
	if (o != TP_CB_APPLIED) {
		/* Nothing new, unless an earlier claim of the reference failed. */
		if (!give_reference(ctx, &c, data))
			return TP_PS_KEEP;
		tp_paysession_store(ctx->cfg, ctx->pk, data, &c);
		return TP_PS_WRITE;
	}
	tp_capture_merge(data, ctx->cb);
	if (ctx->act.kind == TP_ACT_CAPTURE)
		start_capture_job(ctx, &c, &ctx->act);
	give_reference(ctx, &c, data);
	tp_paysession_store(ctx->cfg, ctx->pk, data, &c);
	return TP_PS_WRITE;
}

static void pay_sync_update(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *pk = tp_req_require_sid_or_reply(req, resp, "Sid", "PK");
	const char *call = tp_params_get(&req->body_params, "CallSid");
	cb_ctx ctx;
	tp_paysession_result res;
	const char *bad;
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
	/* The signature cannot tell a callback from the same bytes cut into
	 * other pairs (lib/capture.c): only values Twilio sends are acted on.
	 * A refusal is a 400, not a 200: Twilio's debugger then shows it
	 * (error 11200) should Twilio ever send a value we do not know, and
	 * retries, if the webhook's connection overrides ask for them on
	 * 4xx at all, are bounded and refused the same way without touching
	 * Sync. */
	bad = tp_capture_callback_invalid(&req->body_params, cfg->account_sid);
	if (bad) {
		tp_log_kv(TP_LOG_WARN, "status callback refused: a value Twilio does not send",
		          "payment", pk, "param", bad);
		tp_resp_log(resp, "invalid_param", bad);
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_callback",
		               "%.64s is not a value Twilio sends in a Payments status callback; "
		               "nothing was changed",
		               bad);
		return;
	}
	tp_resp_log(resp, "payment", pk);
	memset(&ctx, 0, sizeof ctx);
	ctx.cfg = cfg;
	ctx.pk = pk;
	ctx.cb = &req->body_params;
	ctx.outcome = "?";
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
		tp_task_join(ctx.job.task);
		return;
	}
	tp_resp_log(resp, "outcome", ctx.outcome);
	tp_metrics_callback(ctx.outcome);
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
		if (tp_paysession_load(cfg, pk, res.data, &st) == TP_OK) {
			char seq[16];
			snprintf(seq, sizeof seq, "%u", st.seq);
			tp_resp_log(resp, "seq", seq);
		}
		tp_paysession_publish_state(cfg, pk, res.data);
	}
	if (ctx.job.task) {
		tp_task_join(ctx.job.task);
		/* Only a request the written state relies on: after a
		 * recomputation that kept the item as it was, another
		 * worker's write stands, with its own request. */
		if (!ctx.job.ok && res.written && ctx.act.kind == TP_ACT_CAPTURE) {
			tp_paysession_result r2;
			tp_resp_log(resp, "capture_failed", tp_field_name(ctx.job.act.field));
			if (tp_paysession_update(cfg, pk, mark_stalled, &ctx.job, &r2) &&
			    r2.written)
				tp_paysession_publish_state(cfg, pk, r2.data);
			cJSON_Delete(r2.data);
		}
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
