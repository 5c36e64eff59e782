/*
 * startCapture - POST /aap/startCapture: an authenticated agent starts an
 * agent-assisted Payments session on a live call (twilio-contract.md
 * sections 3.1 and 11; README "Agent API").
 *
 * Input (JSON or form): callSid, or uui / conversationId (looked up in
 * uuiMap, written by uuiSyncUpdate when the call was answered);
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
    "ACCOUNT_SID",          "AUTH_TOKEN",   "SERVER_URL",  "PAYMENT_CONNECTOR",
    "PAY_SYNC_SERVICE_SID", "AGENT_SECRET", "AGENTS_FILE", NULL,
};

#define DESCRIPTION_MAX 255
#define PARAMETERS_MAX  2048

typedef struct start_input {
	tp_attach_target target;
	char call_sid[TP_SID_SIZE]; /* the call, once resolved */
	char currency[4];
	int places; /* decimals sent to Twilio */
	int64_t minor;
	tp_buf amount; /* ChargeAmount as sent, "" when tokenizing */
	bool ach;
	const char *token_type;
	const char *description;
	const char *bank_account_type;
	char *parameters; /* serialised JSON object or NULL */
} start_input;

static const char *param_any(const tp_req *req, const char *a, const char *b)
{
	const char *v = tp_req_param(req, a);
	if ((!v || !*v) && b)
		v = tp_req_param(req, b);
	return v && *v ? v : NULL;
}

/* The amount as a JSON value other than a string.  A JSON number is read
 * as a double and its digits are lost (1e2, 12.340 and
 * 0.30000000000000004 arrive as "100", "12.34" and "0.3"): an amount
 * must arrive as the decimal text the agent confirmed, never rebuilt. */
static bool amount_not_text(const tp_req *req)
{
	static const char *const names[] = {"chargeAmount", "amount"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->json, names[i]);
		if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
			return true;
	}
	return false;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A flat JSON object of scalars, as Twilio's Parameter wants. */
static bool parameters_from(const tp_req *req, tp_resp *resp, start_input *in)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(req->json, "parameters");
	cJSON *parsed = NULL;
	const cJSON *it;
	bool ok = true;

	if (!p) {
		const char *s = tp_req_param(req, "parameters");
		if (!s || !*s)
			return true;
		parsed = cJSON_Parse(s);
		p = parsed;
	}
	if (!cJSON_IsObject(p))
		ok = false;
	cJSON_ArrayForEach (it, p) {
		if (!(cJSON_IsString(it) || cJSON_IsNumber(it) || cJSON_IsBool(it)))
			ok = false;
	}
	if (ok) {
		in->parameters = cJSON_PrintUnformatted(p);
		if (strlen(in->parameters) > PARAMETERS_MAX)
			ok = false;
	}
	cJSON_Delete(parsed);
	if (!ok)
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "parameters must be a flat JSON object of strings, numbers or "
		               "booleans, at most %d bytes",
		               PARAMETERS_MAX);
	return ok;
}

static bool validate(const tp_req *req, tp_resp *resp, const tp_config *cfg, start_input *in)
{
	const char *amount = param_any(req, "chargeAmount", "amount");
	const char *currency = param_any(req, "currency", NULL);
	const char *method = param_any(req, "paymentMethod", NULL);
	size_t i;

	if (!tp_attach_target_or_reply(req, resp, &in->target))
		return false;

	/* Currency first: it decides how many decimals the amount may have. */
	if (!currency) {
		tp_payopts_default_currency(cfg, in->currency);
	} else {
		for (i = 0; i < 3 && currency[i]; i++)
			in->currency[i] = (char)(currency[i] >= 'a' && currency[i] <= 'z'
			                             ? currency[i] - 'a' + 'A'
			                             : currency[i]);
		in->currency[i] = '\0';
		if (strlen(currency) != 3)
			in->currency[0] = '\0';
	}
	in->places = tp_payopts_places(in->currency);
	if (in->places < 0) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "currency must be an ISO 4217 code such as USD, EUR or AUD");
		return false;
	}
	if (!tp_payopts_currency_allowed(cfg, in->currency)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "currency_not_allowed",
		               "currency %s is not accepted here; use one of %s", in->currency,
		               cfg->allowed_currencies);
		return false;
	}
	if (!amount) {
		tp_reply_error(
		    resp, TP_S_BAD_REQUEST, "missing_parameter",
		    "chargeAmount is required (0 to tokenize the card without charging)");
		return false;
	}
	if (amount_not_text(req)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "chargeAmount must be a string holding a plain decimal, such as "
		               "\"9.99\", not a JSON number");
		return false;
	}
	/* A plain decimal only: digits, one point, at most the currency's
	 * places (tp_money_parse).  No grouping, no decimal comma, no sign,
	 * no blanks, no exponent: "12,34" or "1,000.00" is refused, never
	 * read as 1234 or 1000 (the console reads the agent's locale and
	 * sends the plain decimal it showed the agent). */
	if (tp_money_parse(amount, in->places, &in->minor) != TP_OK) {
		if (in->places == 0)
			tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
			               "chargeAmount must be a whole number for %s (it has no "
			               "decimals), such as 1500",
			               in->currency);
		else
			tp_reply_error(
			    resp, TP_S_BAD_REQUEST, "invalid_parameter",
			    "chargeAmount must be a plain decimal with at most %d decimal "
			    "place%s for %s, such as 9.99",
			    in->places, in->places == 1 ? "" : "s", in->currency);
		return false;
	}
	{
		int64_t limit = TP_AMOUNT_LIMIT;
		int p;
		for (p = 0; p < in->places; p++)
			limit *= 10;
		if (in->minor >= limit) {
			tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
			               "chargeAmount must be below 1,000,000");
			return false;
		}
	}
	if (in->minor > 0)
		tp_money_format(&in->amount, in->minor, in->places);

	if (!method || strcmp(method, "credit-card") == 0) {
		in->ach = false;
	} else if (strcmp(method, "ach-debit") == 0) {
		in->ach = true;
	} else {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "paymentMethod must be credit-card or ach-debit");
		return false;
	}

	in->token_type = param_any(req, "tokenType", NULL);
	if (in->token_type && in->minor > 0) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "tokenType applies only when chargeAmount is 0 (tokenizing)");
		return false;
	}
	if (in->minor == 0) {
		if (!in->token_type)
			in->token_type = "reusable"; /* Twilio's default */
		if (strcmp(in->token_type, "one-time") != 0 &&
		    strcmp(in->token_type, "reusable") != 0) {
			tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
			               "tokenType must be one-time or reusable");
			return false;
		}
	}

	in->description = param_any(req, "description", NULL);
	if (in->description &&
	    (strlen(in->description) > DESCRIPTION_MAX || !printable(in->description))) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "description must be at most %d printable characters",
		               DESCRIPTION_MAX);
		return false;
	}

	in->bank_account_type = param_any(req, "bankAccountType", NULL);
	if (in->bank_account_type) {
		if (!in->ach) {
			/* Twilio error 64017 */
			tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
			               "bankAccountType applies only to paymentMethod ach-debit");
			return false;
		}
		if (strcmp(in->bank_account_type, "consumer-checking") != 0 &&
		    strcmp(in->bank_account_type, "consumer-savings") != 0 &&
		    strcmp(in->bank_account_type, "commercial-checking") != 0) {
			tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
			               "bankAccountType must be consumer-checking, "
			               "consumer-savings or commercial-checking");
			return false;
		}
	}
	return parameters_from(req, resp, in);
}

static bool create_payment(const tp_config *cfg, tp_resp *resp, const start_input *in,
                           char pk[TP_SID_SIZE])
{
	tp_params f;
	tp_buf cb, key;
	tp_api_result r;
	const cJSON *sid;
	unsigned char nonce[8];
	char hex[17];
	bool ok = false;

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
	ok = true;
out:
	tp_api_result_free(&r);
	tp_params_free(&f);
	tp_buf_free(&cb);
	tp_buf_free(&key);
	return ok;
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
	start_input in;
	char pk[TP_SID_SIZE], tag[TP_AGENT_TAG_LEN + 1];
	tp_capture c;
	tp_capture_action act;
	tp_paysession_result res = {0};
	tp_twilio_error err;
	start_ctx sctx;
	const char *warning = NULL;
	unsigned char nonce_raw[8];
	char nonce[17];

	memset(&in, 0, sizeof in);
	tp_buf_init(&in.amount, 64);
	if (!validate(req, resp, cfg, &in))
		goto out;
	if (!tp_attach_resolve_or_reply(cfg, resp, &in.target, in.call_sid))
		goto out;
	tp_resp_log(resp, "call", in.call_sid);
	if (!tp_call_in_progress_or_reply(cfg, resp, in.call_sid))
		goto out;
	if (!tp_attach_agent_tag_or_reply(cfg, resp, req->auth_subject, tag))
		goto out;
	if (!create_payment(cfg, resp, &in, pk))
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
	free(in.parameters);
	tp_buf_free(&in.amount);
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
