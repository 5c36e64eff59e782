/*
 * startCapture - POST /aap/startCapture: an authenticated agent starts an
 * agent-assisted Payments session on a live call (twilio-contract.md
 * sections 3.1 and 11; docs/api.md "Agent API").
 *
 * Input (JSON or form, checked by lib/capture_input.c): callSid, or uui /
 * conversationId (looked up in uuiMap, written by uuiSyncUpdate when the
 * call was answered);
 * chargeAmount (decimal, 0 to tokenize), currency (ISO 4217, one of
 * ALLOWED_CURRENCIES when set, default its first or USD: lib/payopts.c),
 * paymentMethod (credit-card | ach-debit), tokenType (one-time | reusable,
 * only with amount 0), description, bankAccountType (ACH), parameters
 * (a flat JSON object for the connector).
 *
 * Then: the call must be in-progress; the Payment is created; the
 * session state is written to payMap before anything else happens, so
 * every status callback finds it; Capture is requested for the first
 * field of the order (from here paySyncUpdate drives the session); the
 * call's latest payment is recorded for POST /aap/attach (lib/attach.c);
 * the agent gets a session token scoped to this one payment.
 *
 * Round trips (each 150-300 ms against Twilio): fetch the call, create
 * the Payment, create the payMap item (a create, not a read and a write:
 * the PaymentSid is new), then the Capture request and the attach record
 * side by side (neither needs the other).  The rest depends on what came
 * before: the Payment needs the call checked, the item its PaymentSid,
 * and the Capture request the item written (its callbacks must find it).
 * The state is published to the session's channel right after its write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "twiliopay.h"

static const char *const need[] = {
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "SERVER_URL",
    "PAYMENT_CONNECTOR",
    "PAY_SYNC_SERVICE_SID",
    "AGENT_SECRET",
    "AGENTS_FILE|AGENTS_SYNC_MAP",
    NULL,
};

/* Creates the Payment and puts its SID in pk.  On failure answers the
 * request (Twilio's refusal, or an answer without a PK SID: 502) and
 * leaves pk "". */
static bool create_payment_or_reply(const tp_config *cfg, tp_resp *resp, const tp_start_input *in,
                                    char pk[TP_SID_SIZE])
{
	tp_params f;
	tp_buf cb, key;
	tp_api_result r;
	const cJSON *sid;
	unsigned char nonce[8];
	char hex[17];

	pk[0] = '\0';
	tp_params_init(&f);
	tp_buf_init(&cb, 4096);
	tp_buf_init(&key, 256);
	tp_buf_addf(&cb, "%s/sync/paySyncUpdate", cfg->server_url);
	/* A start is a new intention each time; the key only makes our own
	 * retries of this one request safe. */
	tp_random_bytes(nonce, sizeof nonce);
	tp_hex(nonce, sizeof nonce, hex);
	tp_buf_addf(&key, "%s-start-%s", in->call_sid, hex);
	tp_params_add(&f, "IdempotencyKey", tp_buf_str(&key));
	tp_params_add(&f, "StatusCallback", tp_buf_str(&cb));
	tp_params_add(&f, "PaymentConnector", cfg->payment_connector);
	tp_params_add(&f, "PaymentMethod", in->ach ? "ach-debit" : "credit-card");
	if (in->minor > 0)
		tp_params_add(&f, "ChargeAmount", tp_buf_str(&in->amount));
	else
		tp_params_add(&f, "TokenType", in->token_type);
	tp_params_add(&f, "Currency", in->currency);
	if (!in->ach) {
		tp_params_add(&f, "SecurityCode", cfg->include_cvc ? "true" : "false");
		tp_params_add(&f, "PostalCode", cfg->include_postal_code ? "true" : "false");
	} else if (in->bank_account_type) {
		tp_params_add(&f, "BankAccountType", in->bank_account_type);
	}
	if (in->description)
		tp_params_add(&f, "Description", in->description);
	if (in->parameters)
		tp_params_add(&f, "Parameter", in->parameters);

	if (!tp_payment_create(cfg, in->call_sid, &f, &r)) {
		tp_reply_twilio_error(resp, &r.err, "creating the payment");
		goto out;
	}
	sid = cJSON_GetObjectItemCaseSensitive(r.json, "sid");
	if (!cJSON_IsString(sid) || !tp_sid_valid(sid->valuestring, "PK")) {
		tp_reply_error(resp, TP_S_BAD_GATEWAY, "twilio_error",
		               "Twilio created the payment but returned no valid PK SID");
		goto out;
	}
	snprintf(pk, TP_SID_SIZE, "%s", sid->valuestring);
out:
	tp_api_result_free(&r);
	tp_params_free(&f);
	tp_buf_free(&cb);
	tp_buf_free(&key);
	return pk[0] != '\0';
}

typedef struct start_ctx {
	const tp_config *cfg;
	const char *pk;
	const tp_capture *tmpl;
	const char *nonce; /* this request's, stored as TP_REQUEST_KEY */
	bool taken;        /* the item already has a session: PK reused?! */
} start_ctx;

static tp_paysession_decision write_initial(cJSON *data, bool exists, void *vctx)
{
	start_ctx *ctx = vctx;
	tp_capture c = *ctx->tmpl;
	const cJSON *mark = cJSON_GetObjectItemCaseSensitive(data, TP_REQUEST_KEY);

	(void)exists;
	/* Early status callbacks may have created the item already; their
	 * fields stay, our state joins them.  A session with our nonce is
	 * our own write, retried after Sync acted on it and its answer was
	 * lost: it is written, not taken. */
	if (cJSON_GetObjectItemCaseSensitive(data, TP_SESSION_KEY)) {
		ctx->taken = !(cJSON_IsString(mark) && tp_str_eq(mark->valuestring, ctx->nonce));
		return TP_PS_KEEP;
	}
	tp_paysession_store(ctx->cfg, ctx->pk, data, &c);
	cJSON_DeleteItemFromObjectCaseSensitive(data, TP_REQUEST_KEY);
	cJSON_AddStringToObject(data, TP_REQUEST_KEY, ctx->nonce);
	return TP_PS_WRITE;
}

static tp_paysession_decision mark_request_failed(cJSON *data, bool exists, void *vctx)
{
	const start_ctx *ctx = vctx;
	tp_capture c;

	(void)exists;
	/* Only if nothing has moved since: a callback may have proved
	 * Twilio got the request after all. */
	if (tp_paysession_load(ctx->cfg, ctx->pk, data, &c) != TP_OK || c.step != 1 ||
	    c.status != TP_CAP_CAPTURING || c.partial || c.required_known)
		return TP_PS_KEEP;
	c.stalled = TP_STALL_REQUEST_FAILED;
	tp_paysession_store(ctx->cfg, ctx->pk, data, &c);
	return TP_PS_WRITE;
}

/* tp_attach_record on a task of its own. */
typedef struct attach_job {
	const tp_config *cfg;
	const char *call_sid, *payment_sid, *agent;
} attach_job;

static void run_attach_record(void *p)
{
	const attach_job *j = p;
	tp_attach_record(j->cfg, j->call_sid, j->payment_sid, j->agent);
}

static void start_capture(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	tp_start_input in;
	char pk[TP_SID_SIZE], tag[TP_AGENT_TAG_LEN + 1];
	tp_capture c;
	tp_capture_action act;
	tp_paysession_result res = {0};
	tp_twilio_error err;
	start_ctx sctx;
	const char *warning = NULL;
	unsigned char nonce_raw[8];
	char nonce[17];

	tp_start_input_init(&in);
	if (!tp_start_input_or_reply(req, resp, cfg, &in))
		goto out;
	if (!tp_attach_resolve_or_reply(cfg, resp, &in.target, in.call_sid))
		goto out;
	tp_resp_log(resp, "call", in.call_sid);
	if (!tp_call_in_progress_or_reply(cfg, resp, in.call_sid))
		goto out;
	if (!tp_attach_agent_tag_or_reply(cfg, resp, req->auth_subject, tag))
		goto out;
	if (!create_payment_or_reply(cfg, resp, &in, pk))
		goto out;
	tp_resp_log(resp, "payment", pk);

	{
		tp_capture_params p = {in.ach,
		                       cfg->include_cvc,
		                       cfg->include_postal_code,
		                       cfg->payment_capture_order,
		                       req->auth_subject,
		                       in.call_sid,
		                       tp_buf_str(&in.amount),
		                       in.currency,
		                       in.minor == 0 ? in.token_type : ""};
		tp_capture_start(&c, &p, &act);
	}
	tp_random_bytes(nonce_raw, sizeof nonce_raw);
	tp_hex(nonce_raw, sizeof nonce_raw, nonce);
	sctx.cfg = cfg;
	sctx.pk = pk;
	sctx.tmpl = &c;
	sctx.nonce = nonce;
	sctx.taken = false;
	if (!tp_paysession_update_new(cfg, pk, write_initial, &sctx, &res) || sctx.taken) {
		/* Without its state the session could not progress: end it at
		 * Twilio rather than leave the customer keying into nothing. */
		tp_paysession_status(cfg, &c, pk, "cancel", NULL);
		tp_log_kv(TP_LOG_ERROR, "session state not written; payment cancelled", "payment",
		          pk, "error", res.err.message);
		tp_reply_error(resp, TP_S_BAD_GATEWAY, "sync_error",
		               "the session could not be recorded in Sync, so the payment was "
		               "cancelled: %s",
		               sctx.taken ? "the payment SID is already in use" : res.err.message);
		goto out;
	}
	/* Publishes what this request wrote, and only that: Twilio's first
	 * callbacks (one comes as the Payment is created) may already be
	 * applied, and paySyncUpdate publishes those itself. */
	tp_paysession_publish_state(cfg, pk, res.data);
	/* The attach record beside the Capture request: a failure only means
	 * attach will not find this payment. */
	{
		attach_job aj = {cfg, in.call_sid, pk, req->auth_subject};
		tp_task *attach = tp_task_start(run_attach_record, &aj);

		if (!tp_paysession_capture(cfg, &c, pk, &act, NULL, &err)) {
			tp_paysession_result r2;
			tp_capture now;

			warning =
			    "the first Capture request failed; re-capture the field or cancel";
			if (tp_paysession_update(cfg, pk, mark_request_failed, &sctx, &r2)) {
				cJSON_Delete(res.data);
				res = r2;
				if (tp_paysession_load(cfg, pk, res.data, &now) != TP_OK) {
					/* Not sealed by us (tp_paysession_load logged
					 * it): answer with what this request started,
					 * not with what Sync now holds. */
					cJSON_Delete(res.data);
					res.data = NULL;
				} else {
					c = now;
					if (res.written)
						tp_paysession_publish_state(cfg, pk, res.data);
				}
			}
		}
		tp_task_join(attach);
	}
	tp_attach_reply(resp, TP_S_CREATED, cfg, req->auth_subject, tag, pk, &c, res.data, warning);
out:
	cJSON_Delete(res.data);
	tp_start_input_free(&in);
}

static const tp_handler handler = {
    .name = "startCapture",
    .fn = start_capture,
    .authorize = tp_agent_authorize,
    .need = need,
    .max_body = 16384,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
