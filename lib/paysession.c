/*
 * paysession.c - the I/O around the capture state machine (capture.c):
 * payMap[PaymentSid] in Sync as the state of record, the Payments
 * requests the machine asks for, and the live update to the session's
 * nchan channel.
 *
 * payMap item data (compatible with the Node original, which stored the
 * callback's form fields at top level): Twilio's callback fields merged
 * over time, masked, plus our state under the reserved key "_session"
 * (tp_capture_to_json).  12 h TTL, refreshed by every write.
 *
 * Sync is not ours alone: anyone holding an Access Token for a service
 * without access control, or REST credentials, can rewrite an item, and
 * attach, changeCapture, changeStatus, the session view and the callback
 * handler all act on what _session says (whose payment it is, on which
 * call, in which state).  So _session carries "mac", HMAC-SHA256 under
 * AGENT_SECRET of "twiliopay-session-v1|<PaymentSid>|" + the session
 * serialised back from the parsed state, checked on every read: a
 * session with a missing or wrong MAC is not ours (logged, and the
 * request refused or the callback only recorded).  Serialising the
 * parsed state, not the stored text, makes the MAC independent of how
 * Sync re-formats JSON while covering every field the server reads; the
 * payment SID binds it to its item, so a valid session cannot be copied
 * into another payment's.  Rejected: a MAC over a few fields (agent,
 * call) - the state fields (status, step, current) drive Twilio requests
 * too, and a list to keep in step with the struct is a list to forget.
 * What a MAC cannot stop is an older valid session of the same payment
 * written back (a replay); the service's ACL (setupSyncServices) is what
 * keeps token holders from writing at all.
 *
 * Concurrency: several workers (and several handlers) write the same
 * item.  Every write is a read-modify-write with If-Match on the revision
 * read (Sync "Mutation and Conflict Resolution"); a 412 (54205) means
 * somebody else wrote first, so the item is read again and the change
 * recomputed from the new state.  A change that has side effects at
 * Twilio makes them with idempotency keys derived from the state, so the
 * recomputation repeats the same request and Twilio acts once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define UPDATE_TRIES       10
#define PUBLISH_TIMEOUT_MS 2000

void tp_iso8601_now(char out[TP_ISO8601_LEN + 1])
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, TP_ISO8601_LEN + 1, "%.19s.%03uZ", base,
	         (unsigned)(ts.tv_nsec / 1000000L) % 1000u);
}

void tp_iso8601_from(time_t t, char out[TP_ISO8601_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, TP_ISO8601_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool tp_paysession_fetch(const tp_config *cfg, const char *payment_sid, cJSON **data,
                         char revision[TP_REVISION_MAX], tp_twilio_error *err)
{
	tp_api_result r;
	const cJSON *d, *rev;
	bool ok;

	*data = NULL;
	if (revision)
		revision[0] = '\0';
	ok = tp_sync_item_fetch(cfg, cfg->pay_sync_service_sid, cfg->sync_pay_map_name, payment_sid,
	                        &r);
	if (!ok) {
		*err = r.err;
		tp_api_result_free(&r);
		return false;
	}
	d = cJSON_GetObjectItemCaseSensitive(r.json, "data");
	rev = cJSON_GetObjectItemCaseSensitive(r.json, "revision");
	*data = cJSON_IsObject(d) ? cJSON_Duplicate(d, true) : cJSON_CreateObject();
	if (revision && cJSON_IsString(rev))
		snprintf(revision, TP_REVISION_MAX, "%s", rev->valuestring);
	tp_api_result_free(&r);
	return true;
}

/* The session's state as stored, for the metrics only: nothing acts on
 * it, so its MAC is not checked here (tp_paysession_load does that). */
static bool session_peek(const cJSON *data, tp_capture *c)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(data, TP_SESSION_KEY);
	return s && tp_capture_from_json(c, s) == TP_OK;
}

static bool session_final(const cJSON *data)
{
	tp_capture c;
	return session_peek(data, &c) && tp_cap_status_final(c.status);
}

/* The write that takes a session to its end (a Result, a cancel) counts
 * it in the metrics, once: a later write finds it final already. */
static void count_ending(bool was_final, const cJSON *data)
{
	tp_capture c;
	if (!was_final && session_peek(data, &c) && tp_cap_status_final(c.status))
		tp_metrics_payment(tp_cap_status_name(c.status));
}

bool tp_paysession_update(const tp_config *cfg, const char *payment_sid, tp_paysession_fn fn,
                          void *ctx, tp_paysession_result *out)
{
	int tries;

	memset(out, 0, sizeof *out);
	for (tries = 0; tries < UPDATE_TRIES; tries++) {
		char rev[TP_REVISION_MAX];
		cJSON *data = NULL;
		tp_twilio_error err;
		tp_api_result w;
		bool exists = tp_paysession_fetch(cfg, payment_sid, &data, rev, &err);
		bool ok, was_final;

		if (!exists) {
			if (err.status != TP_S_NOT_FOUND) {
				out->err = err;
				return false;
			}
			data = cJSON_CreateObject();
		}
		was_final = session_final(data);
		if (fn(data, exists, ctx) == TP_PS_KEEP) {
			out->data = data;
			return true;
		}
		if (exists)
			ok = tp_sync_item_update(cfg, cfg->pay_sync_service_sid,
			                         cfg->sync_pay_map_name, payment_sid, data,
			                         TP_SYNC_TTL_12H, rev[0] ? rev : NULL, &w);
		else
			ok = tp_sync_item_create(cfg, cfg->pay_sync_service_sid,
			                         cfg->sync_pay_map_name, payment_sid, data,
			                         TP_SYNC_TTL_12H, &w);
		if (ok) {
			tp_api_result_free(&w);
			count_ending(was_final, data);
			out->data = data;
			out->written = true;
			return true;
		}
		cJSON_Delete(data);
		/* Lost the race: 412/54205 on update, 409/54208 on create.
		 * Read again and recompute. */
		if (w.err.status == TP_S_PRECONDITION_FAILED ||
		    w.err.code == TP_TW_SYNC_ITEM_REVISION || w.err.status == TP_S_CONFLICT ||
		    w.err.code == TP_TW_SYNC_ITEM_EXISTS) {
			tp_api_result_free(&w);
			out->conflicts++;
			continue;
		}
		out->err = w.err;
		tp_api_result_free(&w);
		return false;
	}
	snprintf(out->err.message, sizeof out->err.message,
	         "payMap item kept changing under us (%d conflicting writes)", UPDATE_TRIES);
	out->err.status = TP_S_CONFLICT;
	return false;
}

bool tp_paysession_update_new(const tp_config *cfg, const char *payment_sid, tp_paysession_fn fn,
                              void *ctx, tp_paysession_result *out)
{
	cJSON *data = cJSON_CreateObject();
	tp_api_result w;
	bool ok;

	memset(out, 0, sizeof *out);
	if (fn(data, false, ctx) == TP_PS_KEEP) {
		out->data = data;
		return true;
	}
	ok = tp_sync_item_create(cfg, cfg->pay_sync_service_sid, cfg->sync_pay_map_name,
	                         payment_sid, data, TP_SYNC_TTL_12H, &w);
	if (ok) {
		tp_api_result_free(&w);
		count_ending(false, data);
		out->data = data;
		out->written = true;
		return true;
	}
	cJSON_Delete(data);
	if (w.err.status == TP_S_CONFLICT || w.err.code == TP_TW_SYNC_ITEM_EXISTS) {
		/* It exists after all (an early callback, or our own create
		 * whose answer was lost): read, recompute, write. */
		tp_api_result_free(&w);
		ok = tp_paysession_update(cfg, payment_sid, fn, ctx, out);
		out->conflicts++;
		return ok;
	}
	out->err = w.err;
	tp_api_result_free(&w);
	return false;
}

#define SESSION_MAC_KEY "mac"
#define SESSION_MAC_LEN 64 /* hex of HMAC-SHA256 */

/* The MAC of session c of payment_sid, as lower-case hex; false when
 * there is no AGENT_SECRET to make one. */
static bool session_mac(const tp_config *cfg, const char *payment_sid, const tp_capture *c,
                        char out[SESSION_MAC_LEN + 1])
{
	unsigned char mac[32];
	cJSON *j;
	char *text;
	tp_buf m;

	out[0] = '\0';
	if (!cfg->agent_secret || !*cfg->agent_secret || !payment_sid)
		return false;
	j = tp_capture_to_json(c);
	text = cJSON_PrintUnformatted(j);
	tp_buf_init(&m, 1u << 20);
	tp_buf_addf(&m, "twiliopay-session-v1|%s|%s", payment_sid, text ? text : "");
	tp_hmac_sha256(cfg->agent_secret, tp_buf_str(&m), m.len, mac);
	tp_hex(mac, sizeof mac, out);
	tp_buf_free(&m);
	free(text);
	cJSON_Delete(j);
	return true;
}

void tp_paysession_store(const tp_config *cfg, const char *payment_sid, cJSON *data, tp_capture *c)
{
	char mac[SESSION_MAC_LEN + 1];
	cJSON *j;

	c->seq++;
	tp_iso8601_now(c->updated_at);
	j = tp_capture_to_json(c);
	if (session_mac(cfg, payment_sid, c, mac))
		cJSON_AddStringToObject(j, SESSION_MAC_KEY, mac);
	cJSON_DeleteItemFromObjectCaseSensitive(data, TP_SESSION_KEY);
	cJSON_AddItemToObject(data, TP_SESSION_KEY, j);
}

tp_rc tp_paysession_load(const tp_config *cfg, const char *payment_sid, const cJSON *data,
                         tp_capture *c)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(data, TP_SESSION_KEY);
	const cJSON *got = cJSON_GetObjectItemCaseSensitive(s, SESSION_MAC_KEY);
	char want[SESSION_MAC_LEN + 1];
	tp_rc rc;

	if (!s)
		return TP_ENOTFOUND;
	rc = tp_capture_from_json(c, s);
	if (rc != TP_OK)
		return rc;
	if (!cJSON_IsString(got) || !session_mac(cfg, payment_sid, c, want) ||
	    !tp_ct_streq(got->valuestring, want)) {
		tp_log_kv(TP_LOG_ERROR,
		          "payMap session is not ours: its MAC is missing or wrong (it was written "
		          "outside this server); refusing to act on it",
		          "payment", payment_sid, "agent", c->agent, "call", c->call_sid);
		memset(c, 0, sizeof *c);
		c->current = TP_FIELD_NONE;
		c->err_field = TP_FIELD_NONE;
		return TP_EAUTH;
	}
	return TP_OK;
}

void tp_reply_session_untrusted(tp_resp *resp, const char *payment_sid)
{
	tp_reply_error(resp, TP_S_CONFLICT, "session_untrusted",
	               "the stored session of payment %s was changed outside this server (its "
	               "integrity check fails); it cannot be used",
	               payment_sid);
}

static bool payment_request(const tp_config *cfg, const char *call_sid, const char *payment_sid,
                            const char *name, const char *value, const char *key,
                            tp_twilio_error *err)
{
	tp_params f;
	tp_buf cb;
	tp_api_result r;
	bool ok;

	tp_params_init(&f);
	tp_buf_init(&cb, 4096);
	tp_buf_addf(&cb, "%s/sync/paySyncUpdate", cfg->server_url);
	tp_params_add(&f, name, value);
	tp_params_add(&f, "IdempotencyKey", key);
	tp_params_add(&f, "StatusCallback", tp_buf_str(&cb));
	ok = tp_payment_update(cfg, call_sid, payment_sid, &f, &r);
	if (!ok && err)
		*err = r.err;
	if (!ok)
		tp_log_kv(TP_LOG_WARN, "Payments update failed", "payment", payment_sid, name,
		          value, "key", key, "error", r.err.message);
	tp_api_result_free(&r);
	tp_params_free(&f);
	tp_buf_free(&cb);
	return ok;
}

bool tp_paysession_capture(const tp_config *cfg, const tp_capture *c, const char *payment_sid,
                           const tp_capture_action *act, const char *nonce, tp_twilio_error *err)
{
	tp_buf key;
	bool ok;

	tp_buf_init(&key, 256);
	tp_capture_action_key(act, payment_sid, nonce, &key);
	ok = payment_request(cfg, c->call_sid, payment_sid, "Capture", tp_field_name(act->field),
	                     tp_buf_str(&key), err);
	tp_buf_free(&key);
	return ok;
}

bool tp_paysession_status(const tp_config *cfg, const tp_capture *c, const char *payment_sid,
                          const char *status, tp_twilio_error *err)
{
	char key[128];

	/* One complete per step (after a reset the session is a different
	 * one to complete); one cancel ever. */
	if (strcmp(status, "complete") == 0)
		snprintf(key, sizeof key, "%s-complete-s%u", payment_sid, c->step);
	else
		snprintf(key, sizeof key, "%s-%s", payment_sid, status);
	return payment_request(cfg, c->call_sid, payment_sid, "Status", status, key, err);
}

bool tp_paysession_publish(const tp_config *cfg, const char *payment_sid, const cJSON *view)
{
	tp_buf url, hdr;
	char *body = cJSON_PrintUnformatted(view);
	tp_http_resp r;
	tp_rc rc;
	bool ok;

	if (!cfg->nchan_publish_url && !cfg->nchan_socket) {
		free(body);
		return false;
	}
	tp_buf_init(&url, 4096);
	tp_buf_init(&hdr, 256);
	tp_buf_adds(&url, cfg->nchan_publish_url ? cfg->nchan_publish_url : "http://localhost/pub");
	tp_api_add_segment(&url, payment_sid);
	/* Proves to nginx's publisher authorisation (eventsAuth) that a
	 * handler, not any local process, publishes. */
	tp_buf_adds(&hdr, "X-Twiliopay-Publish: ");
	tp_publish_token(cfg->agent_secret ? cfg->agent_secret : "", payment_sid, time(NULL), &hdr);
	{
		const char *hdrs[] = {tp_buf_str(&hdr), NULL};
		tp_http_req rq = {
		    .method = "POST",
		    .url = tp_buf_str(&url),
		    .content_type = "application/json",
		    .body = body,
		    .body_len = strlen(body),
		    .headers = hdrs,
		    .timeout_ms = PUBLISH_TIMEOUT_MS,
		    .unix_socket = cfg->nchan_socket,
		};
		rc = tp_http_do(&rq, &r);
	}
	/* nchan answers 201 (delivered to subscribers) or 202 (queued). */
	ok = rc == TP_OK && r.status >= 200 && r.status < 300;
	tp_metrics_publish(ok);
	if (!ok) {
		char st[16];
		snprintf(st, sizeof st, "%ld", r.status);
		tp_log_kv(TP_LOG_WARN, "live update not published", "payment", payment_sid,
		          "status", st, "error", rc == TP_OK ? "" : tp_http_error_str(rc), "socket",
		          cfg->nchan_socket);
	}
	tp_http_resp_free(&r);
	tp_buf_free(&url);
	tp_buf_free(&hdr);
	free(body);
	return ok;
}

bool tp_paysession_publish_state(const tp_config *cfg, const char *payment_sid, const cJSON *data)
{
	tp_capture c;
	cJSON *view;
	bool ok;

	if (tp_paysession_load(cfg, payment_sid, data, &c) != TP_OK)
		return false;
	view = tp_capture_view(&c, data, payment_sid);
	ok = tp_paysession_publish(cfg, payment_sid, view);
	cJSON_Delete(view);
	return ok;
}

/* ------------------------------------------------------------ handler helpers */

void tp_reply_twilio_error(tp_resp *resp, const tp_twilio_error *err, const char *what)
{
	int status = TP_S_BAD_GATEWAY;
	const char *code = "twilio_error";
	tp_buf msg, red;
	cJSON *o;

	tp_buf_init(&msg, 4096);
	tp_buf_init(&red, 4096);
	if (err->status == 0) {
		code = "twilio_unreachable";
		tp_buf_addf(&msg, "%s: Twilio could not be reached (%s)", what, err->message);
	} else if (err->status == TP_S_UNAUTHORIZED || err->status == TP_S_FORBIDDEN ||
	           err->code == TP_TW_AUTHENTICATE) {
		code = "twilio_auth";
		tp_buf_addf(&msg,
		            "%s: Twilio refused our credentials (check ACCOUNT_SID and "
		            "AUTH_TOKEN)",
		            what);
	} else if (err->code == TP_TW_PAY_INVALID_OPERATION) {
		status = TP_S_CONFLICT;
		/* 64021 "Invalid Operation": a second session on a call, or an
		 * update to a session that has ended; Twilio's words say which. */
		code = "payment_in_progress";
		tp_buf_addf(&msg, "%s: Twilio refused (%s)", what, err->message);
	} else if (err->code == TP_TW_PAY_INCOMPLETE) {
		status = TP_S_CONFLICT;
		code = "incomplete";
		tp_buf_addf(&msg, "%s: Twilio says required payment information is incomplete",
		            what);
	} else if (err->code == TP_TW_CALL_NOT_IN_PROGRESS) {
		status = TP_S_CONFLICT;
		code = "call_not_in_progress";
		tp_buf_addf(&msg, "%s: the call is not in progress", what);
	} else if (err->code == TP_TW_PAY_CONNECTOR) {
		code = "connector_unknown";
		tp_buf_addf(&msg,
		            "%s: Twilio does not know the Pay Connector named by "
		            "PAYMENT_CONNECTOR",
		            what);
	} else if (err->code == TP_TW_PAY_AMOUNT || err->code == TP_TW_PAY_CURRENCY ||
	           err->code == TP_TW_PAY_METHOD || err->code == TP_TW_PAY_ACH_NAME ||
	           err->code == TP_TW_PAY_MISSING_PARAM ||
	           err->code == TP_TW_PAY_BANK_ACCOUNT_TYPE ||
	           err->code == TP_TW_PAY_CAPTURE_OR_STATUS || err->code == TP_TW_PAY_BAD_VALUE) {
		status = TP_S_BAD_REQUEST;
		code = "rejected_by_twilio";
		tp_buf_addf(&msg, "%s: %s", what, err->message);
	} else if (err->status == TP_S_NOT_FOUND || err->code == TP_TW_NOT_FOUND) {
		status = TP_S_NOT_FOUND;
		code = "not_found";
		tp_buf_addf(&msg, "%s: Twilio says it does not exist", what);
	} else if (err->status == TP_S_TOO_MANY_REQUESTS) {
		status = TP_S_SERVICE_UNAVAILABLE;
		code = "twilio_busy";
		tp_buf_addf(&msg, "%s: Twilio is rate limiting us; try again", what);
	} else {
		tp_buf_addf(&msg, "%s: Twilio answered %ld: %s", what, err->status, err->message);
	}
	tp_redact_text(&red, tp_buf_str(&msg));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", tp_buf_str(&red));
	cJSON_AddStringToObject(o, "code", code);
	if (err->code)
		cJSON_AddNumberToObject(o, "twilioCode", (double)err->code);
	tp_reply_json_take(resp, status, o);
	tp_resp_log(resp, "error", tp_buf_str(&red));
	tp_buf_free(&msg);
	tp_buf_free(&red);
}

bool tp_call_in_progress_or_reply(const tp_config *cfg, tp_resp *resp, const char *call_sid)
{
	tp_api_result r;
	const cJSON *st;
	bool ok = false;

	if (!tp_call_fetch(cfg, call_sid, &r)) {
		if (r.err.status == TP_S_NOT_FOUND || r.err.code == TP_TW_NOT_FOUND)
			tp_reply_error(resp, TP_S_NOT_FOUND, "call_not_found",
			               "there is no call %s", call_sid);
		else
			tp_reply_twilio_error(resp, &r.err, "fetching the call");
		goto out;
	}
	st = cJSON_GetObjectItemCaseSensitive(r.json, "status");
	if (!cJSON_IsString(st) || strcmp(st->valuestring, "in-progress") != 0) {
		tp_reply_error(resp, TP_S_CONFLICT, "call_not_in_progress",
		               "call %s is %s, not in-progress", call_sid,
		               cJSON_IsString(st) ? st->valuestring : "of unknown status");
		goto out;
	}
	ok = true;
out:
	tp_api_result_free(&r);
	return ok;
}

bool tp_paysession_open_or_reply(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                                 const char **payment_sid, cJSON **data, tp_capture *c)
{
	const char *pk = tp_req_require_sid_or_reply(req, resp, "paymentSid", "PK");
	const char *call;
	tp_twilio_error err;

	*data = NULL;
	if (!pk || !tp_session_authorize_or_reply(req, resp, cfg, pk))
		return false;
	*payment_sid = pk;
	tp_resp_log(resp, "payment", pk);
	if (!tp_paysession_fetch(cfg, pk, data, NULL, &err)) {
		if (err.status == TP_S_NOT_FOUND)
			tp_reply_error(resp, TP_S_NOT_FOUND, "session_not_found",
			               "no capture session %s (it ended more than 12 hours ago, "
			               "or never started)",
			               pk);
		else
			tp_reply_twilio_error(resp, &err, "reading the session from Sync");
		return false;
	}
	switch (tp_paysession_load(cfg, pk, *data, c)) {
	case TP_OK:
		break;
	case TP_EAUTH:
		tp_reply_session_untrusted(resp, pk);
		goto fail;
	default:
		tp_reply_error(resp, TP_S_NOT_FOUND, "session_not_found",
		               "payment %s has no capture session of ours", pk);
		goto fail;
	}
	if (!tp_str_eq(c->agent, req->auth_subject)) {
		tp_reply_error(resp, TP_S_FORBIDDEN, "session_forbidden",
		               "this payment session belongs to another agent");
		goto fail;
	}
	call = tp_req_param(req, "callSid");
	if (call && *call && !tp_str_eq(call, c->call_sid)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "callSid is not this payment's call");
		goto fail;
	}
	return true;
fail:
	cJSON_Delete(*data);
	*data = NULL;
	return false;
}

bool tp_cap_ok_or_reply(tp_resp *resp, tp_cap_err e, const tp_capture *c, const char *field)
{
	tp_buf list;
	size_t i;

	switch (e) {
	case TP_CAP_E_OK:
		return true;
	case TP_CAP_E_FINAL:
		tp_reply_error(resp, TP_S_CONFLICT, "session_ended",
		               "the payment session has ended (%s)", tp_cap_status_name(c->status));
		break;
	case TP_CAP_E_SUBMITTING:
		/* Whatever was asked (complete again, a field again): the
		 * Result decides, and it reaches the agent by itself. */
		tp_reply_error(resp, TP_S_CONFLICT, "submitting",
		               "the payment is being submitted; wait for its result");
		break;
	case TP_CAP_E_INCOMPLETE:
		tp_buf_init(&list, 1024);
		tp_capture_missing(c, &list);
		tp_reply_error(resp, TP_S_CONFLICT, "incomplete",
		               "not everything is captured yet; still required: %s",
		               tp_buf_str(&list));
		tp_buf_free(&list);
		break;
	case TP_CAP_E_NOT_IN_ORDER:
		tp_buf_init(&list, 1024);
		for (i = 0; i < c->norder; i++)
			tp_buf_addf(&list, "%s%s", i ? ", " : "", tp_field_name(c->order[i]));
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "%s is not a field of this session; its fields are %s",
		               field ? field : "the field", tp_buf_str(&list));
		tp_buf_free(&list);
		break;
	}
	return false;
}

void tp_reply_state(tp_resp *resp, int status, const tp_capture *c, const cJSON *data,
                    const char *payment_sid)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "state", tp_capture_view(c, data, payment_sid));
	tp_reply_json_take(resp, status, o);
}
