/*
 * capture.c - the agent-assisted capture state machine, with no I/O.
 *
 * DESIGN.md "Why it is built this way": auto-progression lives on the
 * server, in the status-callback handler, so a reload, a second tab or a
 * crashed browser cannot double-step or stall a session.  This file is
 * that logic as a pure function of (stored state, one callback) -> (new
 * state, one action); cgi-bin/paySyncUpdate.c and lib/paysession.c do the
 * Sync and Twilio I/O around it.
 *
 * The rules (original-README.md "Automatic Payment Capture Logic",
 * twilio-contract.md 3.2, 4.1, 4.2):
 *  - the field order is PAYMENT_CAPTURE_ORDER filtered to the fields that
 *    apply to the payment method, plus the applicable fields it omits
 *    (postal code when INCLUDE_POSTAL_CODE, the security code when
 *    INCLUDE_CVC, the bank fields for ACH);
 *  - progress is read from Twilio's Required list (comma-separated,
 *    kebab-case or PascalCase) once PartialResult is false: when the field
 *    being captured is no longer required, ask for the next field of the
 *    order that still is; when nothing is required, the session is ready
 *    to submit (the agent submits, never this code);
 *  - an ErrorType on the field being captured re-issues Capture for it,
 *    at most TP_CAPTURE_MAX_ATTEMPTS requests per step, then waits for the
 *    agent (Twilio's own <Pay> gives a caller three attempts; we allow the
 *    same three retries on top of the first request);
 *  - the ErrorType stays in the state, with the field it concerns, through
 *    that automatic re-ask (whose callback carries no ErrorType) until the
 *    customer keys new digits into the field, the field is captured, the
 *    capture moves on or the agent resets it: the agent must be able to
 *    read it out, not see it for a blink;
 *  - a field is "keying" only once a callback carries digits for it:
 *    Twilio posts PartialResult=true as soon as a capture starts, before
 *    any key (twilio-contract.md 4.2, steps 2 and 3);
 *  - a callback already seen, or older (DateUpdated) than the newest one
 *    applied, changes nothing; once a Result has arrived (or the agent
 *    cancelled) nothing but the record changes.
 *
 * Idempotency: every Capture this machine requests is identified by
 * (step, field, attempt); `step` increases whenever the field being
 * captured changes, so two workers that apply the same callback to the
 * same stored state request the same key, and Twilio (which honours
 * IdempotencyKey) acts once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

/* ------------------------------------------------------------ names */

typedef struct field_info {
	const char *name;   /* Twilio's Capture value */
	const char *pascal; /* Required's PascalCase form, lower-cased */
	const char *twilio; /* callback parameter holding its (masked) value */
	bool ach;
} field_info;

static const field_info fields[TP_FIELD_COUNT] = {
    [TP_FIELD_CARD_NUMBER] = {"payment-card-number", "paymentcardnumber", "PaymentCardNumber",
                              false},
    [TP_FIELD_SECURITY_CODE] = {"security-code", "securitycode", "SecurityCode", false},
    [TP_FIELD_EXPIRATION_DATE] = {"expiration-date", "expirationdate", "ExpirationDate", false},
    [TP_FIELD_POSTAL_CODE] = {"postal-code", "postalcode", "PaymentCardPostalCode", false},
    [TP_FIELD_ROUTING_NUMBER] = {"bank-routing-number", "bankroutingnumber", "BankRoutingNumber",
                                 true},
    [TP_FIELD_ACCOUNT_NUMBER] = {"bank-account-number", "bankaccountnumber", "BankAccountNumber",
                                 true},
};

static const char *const status_names[] = {
    [TP_CAP_CAPTURING] = "capturing",   [TP_CAP_READY] = "ready",
    [TP_CAP_SUBMITTING] = "submitting", [TP_CAP_COMPLETED] = "completed",
    [TP_CAP_FAILED] = "failed",         [TP_CAP_CANCELLED] = "cancelled",
};

static const char *const stall_names[] = {
    [TP_STALL_NONE] = "",
    [TP_STALL_RETRIES_EXHAUSTED] = "retries-exhausted",
    [TP_STALL_REQUEST_FAILED] = "capture-request-failed",
    [TP_STALL_UNKNOWN_REQUIRED] = "unknown-required-field",
};

const char *tp_field_name(tp_field f)
{
	return f >= 0 && f < TP_FIELD_COUNT ? fields[f].name : "";
}

const char *tp_field_twilio_param(tp_field f)
{
	return f >= 0 && f < TP_FIELD_COUNT ? fields[f].twilio : "";
}

/* Lower-case letters and digits only: "ExpirationDate",
 * "expiration-date" and "expiration_date" all become "expirationdate". */
static void squash(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < cap; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			out[n++] = (char)(c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[n++] = c;
	}
	out[n] = '\0';
}

static tp_field field_from(const char *s, size_t len)
{
	char sq[48];
	int f;

	if (len >= sizeof sq)
		return TP_FIELD_NONE;
	squash(s, len, sq, sizeof sq);
	for (f = 0; f < TP_FIELD_COUNT; f++)
		if (strcmp(sq, fields[f].pascal) == 0)
			return (tp_field)f;
	/* The callback parameter's name for the postal code. */
	if (strcmp(sq, "paymentcardpostalcode") == 0)
		return TP_FIELD_POSTAL_CODE;
	return TP_FIELD_NONE;
}

tp_field tp_field_from_name(const char *name)
{
	return name ? field_from(name, strlen(name)) : TP_FIELD_NONE;
}

const char *tp_cap_status_name(tp_cap_status s)
{
	return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "";
}

static tp_cap_status status_from_name(const char *s)
{
	unsigned i;
	for (i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
		if (tp_str_eq(s, status_names[i]))
			return (tp_cap_status)i;
	return (tp_cap_status)-1;
}

bool tp_cap_status_final(tp_cap_status s)
{
	return s == TP_CAP_COMPLETED || s == TP_CAP_FAILED || s == TP_CAP_CANCELLED;
}

static unsigned bit(tp_field f)
{
	return f >= 0 && f < TP_FIELD_COUNT ? 1u << (unsigned)f : 0;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* ------------------------------------------------------------ order */

static bool applies(tp_field f, bool ach, bool cvc, bool postal)
{
	if (fields[f].ach != ach)
		return false;
	if (f == TP_FIELD_SECURITY_CODE)
		return cvc;
	if (f == TP_FIELD_POSTAL_CODE)
		return postal;
	return true;
}

bool tp_capture_in_order(const tp_capture *c, tp_field f)
{
	size_t i;
	for (i = 0; i < c->norder; i++)
		if (c->order[i] == f)
			return true;
	return false;
}

void tp_capture_order_build(tp_capture *c, const char *order_cfg, bool ach, bool cvc, bool postal)
{
	const char *p = order_cfg ? order_cfg : "";
	int f;

	c->norder = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		tp_field g = field_from(p, n);
		if (g != TP_FIELD_NONE && applies(g, ach, cvc, postal) &&
		    !tp_capture_in_order(c, g))
			c->order[c->norder++] = g;
		p += n + (p[n] == ',');
	}
	/* Whatever applies and the configured order left out goes last, in
	 * the canonical order. */
	for (f = 0; f < TP_FIELD_COUNT; f++)
		if (applies((tp_field)f, ach, cvc, postal) && !tp_capture_in_order(c, (tp_field)f))
			c->order[c->norder++] = (tp_field)f;
}

/* ------------------------------------------------------------ start */

void tp_capture_start(tp_capture *c, const tp_capture_params *p, tp_capture_action *act)
{
	size_t i;

	memset(c, 0, sizeof *c);
	memset(act, 0, sizeof *act);
	c->status = TP_CAP_CAPTURING;
	c->ach = p->ach;
	tp_capture_order_build(c, p->order, p->ach, p->cvc, p->postal);
	for (i = 0; i < c->norder; i++)
		c->required |= bit(c->order[i]);
	c->current = c->norder ? c->order[0] : TP_FIELD_NONE;
	c->err_field = TP_FIELD_NONE;
	c->step = 1;
	c->attempt = 1;
	copy_str(c->agent, sizeof c->agent, p->agent);
	copy_str(c->call_sid, sizeof c->call_sid, p->call_sid);
	copy_str(c->charge_amount, sizeof c->charge_amount, p->charge_amount);
	copy_str(c->currency, sizeof c->currency, p->currency);
	copy_str(c->token_type, sizeof c->token_type, p->token_type);
	act->kind = TP_ACT_CAPTURE;
	act->field = c->current;
	act->step = c->step;
	act->attempt = c->attempt;
}

/* ------------------------------------------------------------ callbacks */

/* "2021-08-10T03:58:27.290Z" (twilio-contract.md 4.1), also without
 * fraction or with a +hh:mm offset, to milliseconds since the epoch; -1
 * when absent or not of that shape. */
int64_t tp_iso8601_ms(const char *s)
{
	uint64_t v[6];
	static const size_t w[6] = {4, 2, 2, 2, 2, 2};
	static const char sep[6] = {'-', '-', 'T', ':', ':', '\0'};
	const char *p = s;
	int64_t y, m, d, days, ms = 0, off = 0;
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < 6; i++) {
		if (tp_str_to_u64(p, w[i], 9999, &v[i]) != TP_OK)
			return -1;
		p += w[i];
		if (i < 5) {
			if (*p != sep[i] && !(i == 2 && *p == ' '))
				return -1;
			p++;
		}
	}
	if (*p == '.') {
		int digits = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3) {
				ms = ms * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (digits == 0)
			return -1;
		while (digits++ < 3)
			ms *= 10;
	}
	if (*p == 'Z' && p[1] == '\0') {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		uint64_t hh, mm;
		if (tp_str_to_u64(p + 1, 2, 23, &hh) != TP_OK ||
		    tp_str_to_u64(p + 4, 2, 59, &mm) != TP_OK)
			return -1;
		off = (int64_t)(hh * 60 + mm) * 60 * (*p == '+' ? 1 : -1);
	} else {
		return -1;
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	/* days_from_civil (H. Hinnant, "chrono-Compatible Low-Level Date
	 * Algorithms"): no timegm(), no TZ environment. */
	y = (int64_t)v[0];
	m = (int64_t)v[1];
	d = (int64_t)v[2];
	y -= m <= 2;
	{
		int64_t era = (y >= 0 ? y : y - 399) / 400;
		int64_t yoe = y - era * 400;
		int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		days = era * 146097 + doe - 719468;
	}
	return ((days * 86400 + (int64_t)(v[3] * 3600 + v[4] * 60 + v[5]) - off) * 1000) + ms;
}

static int cmp_param(const void *a, const void *b)
{
	const tp_param *x = *(const tp_param *const *)a, *y = *(const tp_param *const *)b;
	int r = strcmp(x->name, y->name);
	return r ? r : strcmp(x->value, y->value);
}

void tp_capture_fingerprint(const tp_params *cb, char out[TP_CAPTURE_FP_LEN + 1])
{
	const tp_param **v = tp_xcalloc(cb->n ? cb->n : 1, sizeof *v);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[32];
	unsigned int hn = sizeof h;
	size_t i;

	if (!md)
		abort();
	for (i = 0; i < cb->n; i++)
		v[i] = &cb->v[i];
	/* Order-independent: a redelivery is the same set of pairs. */
	qsort(v, cb->n, sizeof *v, cmp_param);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (i = 0; i < cb->n; i++) {
		EVP_DigestUpdate(md, v[i]->name, strlen(v[i]->name) + 1);
		EVP_DigestUpdate(md, v[i]->value, strlen(v[i]->value) + 1);
	}
	EVP_DigestFinal_ex(md, h, &hn);
	EVP_MD_CTX_free(md);
	free(v);
	tp_hex(h, TP_CAPTURE_FP_LEN / 2, out);
}

static bool seen(const tp_capture *c, const char *fp)
{
	size_t i;
	for (i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i], fp) == 0)
			return true;
	return false;
}

static void remember(tp_capture *c, const char *fp)
{
	if (c->nseen == TP_CAPTURE_SEEN) {
		memmove(c->seen[0], c->seen[1], sizeof c->seen[0] * (TP_CAPTURE_SEEN - 1));
		c->nseen--;
	}
	copy_str(c->seen[c->nseen++], sizeof c->seen[0], fp);
}

/* Parses Required into a bit set; `other` tells whether it named
 * something we cannot capture (e.g. a "-matcher" field). */
static unsigned parse_required(const char *s, bool *other)
{
	unsigned set = 0;

	*other = false;
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *t = s;
		size_t tn = n;
		while (tn && (*t == ' ' || *t == '\t')) {
			t++;
			tn--;
		}
		while (tn && (t[tn - 1] == ' ' || t[tn - 1] == '\t'))
			tn--;
		if (tn) {
			tp_field f = field_from(t, tn);
			if (f == TP_FIELD_NONE)
				*other = true;
			else
				set |= bit(f);
		}
		s += n + (s[n] == ',');
	}
	return set;
}

/* The next field of the order, after the current one and wrapping
 * round, that Twilio still requires. */
static tp_field next_required(const tp_capture *c)
{
	size_t i, start = 0, k;

	for (i = 0; i < c->norder; i++)
		if (c->order[i] == c->current)
			start = i + 1;
	for (k = 0; k < c->norder; k++) {
		tp_field f = c->order[(start + k) % c->norder];
		if (c->required & bit(f))
			return f;
	}
	return TP_FIELD_NONE;
}

static void want_capture(tp_capture *c, tp_capture_action *act)
{
	act->kind = TP_ACT_CAPTURE;
	act->field = c->current;
	act->step = c->step;
	act->attempt = c->attempt;
}

static bool truthy(const char *v)
{
	bool b = false;
	return v && tp_str_to_bool(v, &b) == TP_OK && b;
}

static void clear_error(tp_capture *c)
{
	c->error_type[0] = '\0';
	c->err_field = TP_FIELD_NONE;
}

/* What one progress callback says about the customer's input (after
 * c->partial and c->current are updated): whether digits have arrived
 * for the field being asked for, and the ErrorType.  A callback without
 * ErrorType does not clear the last one: the automatic re-ask after an
 * error is such a callback (Capture=<field>, PartialResult=true, no
 * value), and the agent still needs to read the error out.  Digits for
 * the field clear it, and so do the field being captured or the capture
 * moving to another field. */
static void note_input(tp_capture *c, const tp_params *cb, tp_field capture, const char *et)
{
	tp_field f =
	    capture != TP_FIELD_NONE && tp_capture_in_order(c, capture) ? capture : c->current;
	const char *v = f != TP_FIELD_NONE ? tp_params_get(cb, fields[f].twilio) : NULL;
	bool digits = c->partial && f == c->current && v && *v;

	if (et && *et) {
		copy_str(c->error_type, sizeof c->error_type, et);
		c->err_field = f;
		c->keyed = false;
		return;
	}
	c->keyed = digits;
	if (c->err_field == TP_FIELD_NONE)
		return;
	if ((digits && c->err_field == f) || c->err_field != c->current ||
	    (c->required_known && !(c->required & bit(c->err_field))))
		clear_error(c);
}

tp_cb_outcome tp_capture_apply(tp_capture *c, const tp_params *cb, tp_capture_action *act)
{
	char fp[TP_CAPTURE_FP_LEN + 1];
	const char *result = tp_params_get(cb, "Result");
	const char *et = tp_params_get(cb, "ErrorType");
	const char *req = tp_params_get(cb, "Required");
	const char *when = tp_params_get(cb, "DateUpdated");
	tp_field capture = tp_field_from_name(tp_params_get(cb, "Capture"));
	int64_t t;

	memset(act, 0, sizeof *act);
	act->field = TP_FIELD_NONE;
	tp_capture_fingerprint(cb, fp);
	if (seen(c, fp))
		return TP_CB_DUPLICATE;
	if (tp_cap_status_final(c->status))
		return TP_CB_FINAL;
	t = tp_iso8601_ms(when ? when : tp_params_get(cb, "DateCreated"));
	/* A Result ends the session whenever it arrives; anything else
	 * older than what we applied is a late delivery. */
	if ((!result || !*result) && t >= 0 && c->last_ms > 0 && t < c->last_ms)
		return TP_CB_STALE;
	remember(c, fp);
	if (t > c->last_ms)
		c->last_ms = t;

	if (result && *result) {
		copy_str(c->result, sizeof c->result, result);
		/* "cancelled" is what a Status=cancel ends with (the emulator
		 * sends it; Twilio's documented Result list has no name for it). */
		c->status = tp_str_eq(result, "success")     ? TP_CAP_COMPLETED
		            : tp_str_eq(result, "cancelled") ? TP_CAP_CANCELLED
		                                             : TP_CAP_FAILED;
		c->partial = false;
		c->keyed = false;
		c->stalled = TP_STALL_NONE;
		clear_error(c);
		if (et && *et) {
			copy_str(c->error_type, sizeof c->error_type, et);
			c->err_field = c->current;
		}
		act->kind = TP_ACT_FINAL;
		return TP_CB_APPLIED;
	}

	if (req) {
		unsigned in_order_bits = 0;
		size_t i;
		for (i = 0; i < c->norder; i++)
			in_order_bits |= bit(c->order[i]);
		c->required = parse_required(req, &c->required_other);
		/* A field outside the session's order (a card field in an ACH
		 * session) is one we will never ask for: like an unknown name
		 * it stalls the session, and it is not kept as a field bit
		 * (the stored state lists the order's fields only). */
		if (c->required & ~in_order_bits)
			c->required_other = true;
		c->required &= in_order_bits;
		c->required_known = true;
		if (c->status == TP_CAP_READY && (c->required || c->required_other))
			c->status = TP_CAP_CAPTURING;
	}
	/* Twilio says which field it is capturing: follow it (it is the
	 * truth if a write of ours was lost after its Capture request). */
	if (capture != TP_FIELD_NONE && capture != c->current && tp_capture_in_order(c, capture)) {
		c->current = capture;
		c->step++;
		c->attempt = 1;
	}
	c->partial = truthy(tp_params_get(cb, "PartialResult"));
	note_input(c, cb, capture, et);
	if (c->status == TP_CAP_SUBMITTING)
		return TP_CB_APPLIED; /* only a Result moves it on */

	if (et && *et && c->current != TP_FIELD_NONE &&
	    (capture == TP_FIELD_NONE || capture == c->current)) {
		/* The field was not captured: it is required again, and a
		 * session that was ready is not (Submit would race the
		 * re-capture, found by fuzz_capture). */
		c->required |= bit(c->current);
		if (c->status == TP_CAP_READY)
			c->status = TP_CAP_CAPTURING;
		if (c->attempt < TP_CAPTURE_MAX_ATTEMPTS) {
			c->attempt++;
			c->stalled = TP_STALL_NONE;
			want_capture(c, act);
		} else {
			c->stalled = TP_STALL_RETRIES_EXHAUSTED;
		}
		return TP_CB_APPLIED;
	}
	if (c->partial) {
		/* Digits are arriving: Twilio is capturing after all. */
		if (c->stalled != TP_STALL_UNKNOWN_REQUIRED)
			c->stalled = TP_STALL_NONE;
		return TP_CB_APPLIED;
	}
	if (!c->required_known)
		return TP_CB_APPLIED; /* e.g. the create-time callback */
	if (c->required == 0 && !c->required_other) {
		c->stalled = TP_STALL_NONE;
		if (c->status == TP_CAP_CAPTURING) {
			c->status = TP_CAP_READY;
			act->kind = TP_ACT_READY;
		}
		return TP_CB_APPLIED;
	}
	if (c->status == TP_CAP_READY)
		c->status = TP_CAP_CAPTURING;
	if (c->current != TP_FIELD_NONE && (c->required & bit(c->current)))
		return TP_CB_APPLIED; /* still waiting for this one */
	{
		tp_field next = next_required(c);
		if (next == TP_FIELD_NONE) {
			c->stalled = TP_STALL_UNKNOWN_REQUIRED;
			return TP_CB_APPLIED;
		}
		c->current = next;
		c->step++;
		c->attempt = 1;
		c->stalled = TP_STALL_NONE;
		c->keyed = false;
		clear_error(c);
		want_capture(c, act);
	}
	return TP_CB_APPLIED;
}

/* ------------------------------------------------------------ well-formed callbacks */

/* Twilio's signature concatenates names and values without separators
 * (twilio-contract.md section 9), so the same signature also covers every
 * other way of cutting that string into sorted pairs: a captured
 * "PartialResult=true&PaymentCardNumber=...&Required=..." can be re-sent
 * as "Partial=&Result=truePaymentCardNumber...Required..." and would end
 * the session.  What the re-split produces is never a value Twilio sends,
 * so each parameter we act on or store must look like one of Twilio's:
 * the documented enumerations (twilio.com/docs/voice/twiml/pay, "Result",
 * "ErrorType", "PaymentCardType", "For"; docs/voice/api/payment-resource;
 * twilio-contract.md 4.1) and the masked shapes ("xxxxxxxxxxxx1111",
 * "xxxx-xxxxxx-x4001", "***", "*******92", MMYY).  Free-text fields
 * (PaymentError, ConnectorError, the connector's ids) can only swallow
 * the pairs after them, never create a Result or a Required. */

static const char *const results[] = {
    "success",
    "too-many-failed-attempts",
    "payment-connector-error",
    "caller-interrupted-with-star",
    "caller-hung-up",
    "validation-error",
    "internal-error",
    /* Not in Twilio's list: what the emulator reports for Status=cancel
     * (the Result of a cancelled session is undocumented, contract 4.1). */
    "cancelled",
};

static const char *const error_types[] = {
    "input-timeout",
    "invalid-card-number",
    "invalid-card-type",
    "invalid-date",
    "invalid-security-code",
    "invalid-postal-code",
    "invalid-bank-routing-number",
    "invalid-bank-account-number",
    "invalid-bank-account-type",
    "invalid-card-number-security-code-capture-sequence",
    "input-matching-failed",
    "session-in-progress",
    "internal-error",
};

static const char *const card_types[] = {
    "visa", "mastercard", "amex", "maestro", "discover", "optima", "jcb", "diners-club", "enroute",
};

static bool one_of(const char *v, const char *const *list, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

/* Every byte of v is in `set` (or a digit when digits), length <= max. */
static bool only(const char *v, const char *set, bool digits, size_t max)
{
	size_t i;
	for (i = 0; v[i]; i++)
		if (i >= max || !((digits && v[i] >= '0' && v[i] <= '9') || strchr(set, v[i])))
			return false;
	return true;
}

/* Mask characters, then at most `tail` digits: "xxxx-xxxxxx-x4001". */
static bool masked_shape(const char *v, const char *mask, size_t tail)
{
	size_t n = strspn(v, mask);
	return strlen(v) <= 64 && strlen(v + n) <= tail && only(v + n, "", true, tail);
}

/* A Capture or Required name: ours (kebab or PascalCase) or a "-matcher"
 * variant of one (contract 3.2; a session never asks for those, and one
 * in Required stalls the session instead of being a malformed value). */
static bool capture_name(const char *s, size_t n)
{
	char name[64];
	if (n >= sizeof name)
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	if (n > 8 && strcmp(name + n - 8, "-matcher") == 0)
		name[n - 8] = '\0';
	return field_from(name, strlen(name)) != TP_FIELD_NONE;
}

static bool required_ok(const char *v)
{
	while (*v) {
		size_t n = strcspn(v, ","), b = 0, e = n;
		while (b < e && v[b] == ' ')
			b++;
		while (e > b && v[e - 1] == ' ')
			e--;
		if (e == b || !capture_name(v + b, e - b) || (v[n] == ',' && !v[n + 1]))
			return false;
		v += n + (v[n] == ',');
	}
	return true;
}

static bool printable(const char *v, size_t max)
{
	size_t i;
	for (i = 0; v[i]; i++)
		if (i >= max || (unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

#define ONE_OF(v, list) one_of((v), (list), sizeof(list) / sizeof((list)[0]))

/* Whether one callback parameter holds a value Twilio could send. */
static bool param_ok(const char *name, const char *v, const char *account_sid)
{
	if (!strcmp(name, "AccountSid"))
		return tp_sid_valid(v, "AC") && (!account_sid || !strcmp(v, account_sid));
	if (!strcmp(name, "CallSid"))
		return tp_sid_valid(v, "CA");
	if (!strcmp(name, "Sid"))
		return tp_sid_valid(v, "PK");
	if (!strcmp(name, "DateCreated") || !strcmp(name, "DateUpdated"))
		return tp_iso8601_ms(v) >= 0;
	if (!strcmp(name, "Result"))
		return !*v || ONE_OF(v, results);
	if (!strcmp(name, "ErrorType"))
		return !*v || ONE_OF(v, error_types);
	if (!strcmp(name, "PartialResult"))
		return !strcmp(v, "true") || !strcmp(v, "false");
	if (!strcmp(name, "Capture"))
		return !*v || capture_name(v, strlen(v));
	if (!strcmp(name, "Required"))
		return required_ok(v);
	if (!strcmp(name, "PaymentMethod"))
		return !strcmp(v, "credit-card") || !strcmp(v, "ach-debit");
	if (!strcmp(name, "PaymentCardType"))
		return !*v || ONE_OF(v, card_types);
	if (!strcmp(name, "TokenType"))
		return !*v || !strcmp(v, "one-time") || !strcmp(v, "reusable") ||
		       !strcmp(v, "payment-method");
	if (!strcmp(name, "BankAccountType"))
		return only(v, "abcdefghijklmnopqrstuvwxyz-", false, 32);
	if (!strcmp(name, "PaymentCardNumber"))
		return masked_shape(v, "xX*- ", 4);
	if (!strcmp(name, "SecurityCode"))
		return masked_shape(v, "xX*", 0);
	if (!strcmp(name, "BankAccountNumber"))
		return masked_shape(v, "xX*", 2);
	if (!strcmp(name, "ExpirationDate") || !strcmp(name, "BankRoutingNumber"))
		return only(v, "/", true, 32);
	if (!strcmp(name, "PaymentCardPostalCode"))
		return only(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz -", true, 32);
	if (!strcmp(name, "ChargeAmount"))
		return *v && only(v, ".", true, 16) && strchr(v, '.') == strrchr(v, '.');
	if (!strcmp(name, "Currency"))
		return strlen(v) == 3 &&
		       only(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", false, 3);
	if (!strcmp(name, "PayErrorCode") || !strcmp(name, "Attempt"))
		return only(v, "", true, 8);
	/* PaymentConnector, PaymentConfirmationCode, PaymentToken, ProfileId,
	 * PaymentError, ConnectorError, Description and names Twilio may add:
	 * text from the connector or Twilio, kept (masked) but never acted
	 * on. */
	return printable(v, 1024);
}

const char *tp_capture_callback_invalid(const tp_params *cb, const char *account_sid)
{
	size_t i, j;

	for (i = 0; i < cb->n; i++) {
		const char *name = cb->v[i].name;
		if (!*name || strlen(name) > 64 || !param_ok(name, cb->v[i].value, account_sid))
			return name;
		for (j = 0; name[j]; j++)
			if (!((name[j] >= 'A' && name[j] <= 'Z') ||
			      (name[j] >= 'a' && name[j] <= 'z') ||
			      (j > 0 && ((name[j] >= '0' && name[j] <= '9') || name[j] == '_'))))
				return name;
		/* Twilio sends each parameter once; a repeat would let the
		 * first one read differ from the one shown. */
		for (j = 0; j < i; j++)
			if (strcmp(cb->v[j].name, name) == 0)
				return name;
	}
	return NULL;
}

/* ------------------------------------------------------------ agent actions */

tp_cap_err tp_capture_reset(tp_capture *c, tp_field f, tp_capture_action *act)
{
	memset(act, 0, sizeof *act);
	act->field = TP_FIELD_NONE;
	if (tp_cap_status_final(c->status))
		return TP_CAP_E_FINAL;
	if (c->status == TP_CAP_SUBMITTING)
		return TP_CAP_E_SUBMITTING;
	if (f == TP_FIELD_NONE || !tp_capture_in_order(c, f))
		return TP_CAP_E_NOT_IN_ORDER;
	c->current = f;
	c->step++;
	c->attempt = 1;
	c->required |= bit(f);
	c->partial = false;
	c->keyed = false;
	clear_error(c);
	c->stalled = TP_STALL_NONE;
	c->status = TP_CAP_CAPTURING;
	want_capture(c, act);
	return TP_CAP_E_OK;
}

void tp_capture_missing(const tp_capture *c, tp_buf *out)
{
	size_t i;

	for (i = 0; i < c->norder; i++)
		if (!c->required_known || (c->required & bit(c->order[i]))) {
			if (out->len)
				tp_buf_addc(out, ',');
			tp_buf_adds(out, fields[c->order[i]].name);
		}
	if (c->required_known && c->required_other) {
		if (out->len)
			tp_buf_addc(out, ',');
		tp_buf_adds(out, "(a field Twilio named that this session does not capture)");
	}
}

tp_cap_err tp_capture_can_complete(const tp_capture *c)
{
	if (tp_cap_status_final(c->status))
		return TP_CAP_E_FINAL;
	if (c->status == TP_CAP_SUBMITTING)
		return TP_CAP_E_SUBMITTING;
	if (c->status != TP_CAP_READY || !c->required_known || c->required || c->required_other)
		return TP_CAP_E_INCOMPLETE;
	return TP_CAP_E_OK;
}

tp_cap_err tp_capture_can_cancel(const tp_capture *c)
{
	return tp_cap_status_final(c->status) ? TP_CAP_E_FINAL : TP_CAP_E_OK;
}

void tp_capture_action_key(const tp_capture_action *act, const char *payment_sid, const char *nonce,
                           tp_buf *out)
{
	/* IdempotencyKey is "a unique token ... per API call" (Payments
	 * resource); ours names the transition, so repeating a transition
	 * repeats the key.  `nonce` is for agent actions, which are new
	 * intentions every time they are requested. */
	tp_buf_addf(out, "%s-s%u-%s-a%u", payment_sid, act->step, tp_field_name(act->field),
	            act->attempt);
	if (nonce && *nonce)
		tp_buf_addf(out, "-%s", nonce);
}

/* ------------------------------------------------------------ JSON */

static cJSON *field_list(const tp_field *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(fields[v[i]].name));
	return a;
}

static cJSON *required_list(const tp_capture *c)
{
	tp_field v[TP_FIELD_COUNT];
	size_t i, n = 0;
	for (i = 0; i < c->norder; i++)
		if (c->required & bit(c->order[i]))
			v[n++] = c->order[i];
	return field_list(v, n);
}

static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

cJSON *tp_capture_to_json(const tp_capture *c)
{
	cJSON *o = cJSON_CreateObject(), *s;
	size_t i;

	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "status", tp_cap_status_name(c->status));
	cJSON_AddStringToObject(o, "method", c->ach ? "ach-debit" : "credit-card");
	cJSON_AddItemToObject(o, "order", field_list(c->order, c->norder));
	add_str_or_null(o, "current",
	                c->current == TP_FIELD_NONE ? NULL : tp_field_name(c->current));
	cJSON_AddNumberToObject(o, "step", c->step);
	cJSON_AddNumberToObject(o, "attempt", c->attempt);
	cJSON_AddItemToObject(o, "required", required_list(c));
	cJSON_AddBoolToObject(o, "requiredKnown", c->required_known);
	cJSON_AddBoolToObject(o, "requiredOther", c->required_other);
	cJSON_AddBoolToObject(o, "partial", c->partial);
	cJSON_AddBoolToObject(o, "keyed", c->keyed);
	add_str_or_null(o, "errorType", c->error_type);
	add_str_or_null(o, "errorField",
	                c->err_field == TP_FIELD_NONE ? NULL : tp_field_name(c->err_field));
	add_str_or_null(o, "stalled", stall_names[c->stalled]);
	add_str_or_null(o, "result", c->result);
	cJSON_AddNumberToObject(o, "lastMs", (double)c->last_ms);
	s = cJSON_AddArrayToObject(o, "seen");
	for (i = 0; i < c->nseen; i++)
		cJSON_AddItemToArray(s, cJSON_CreateString(c->seen[i]));
	cJSON_AddNumberToObject(o, "seq", c->seq);
	cJSON_AddStringToObject(o, "agent", c->agent);
	cJSON_AddStringToObject(o, "callSid", c->call_sid);
	add_str_or_null(o, "chargeAmount", c->charge_amount);
	add_str_or_null(o, "currency", c->currency);
	add_str_or_null(o, "tokenType", c->token_type);
	add_str_or_null(o, "updatedAt", c->updated_at);
	add_str_or_null(o, "reference", c->reference);
	add_str_or_null(o, "connectorId", c->connector_id);
	return o;
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jnum(const cJSON *o, const char *name, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
		return false;
	*out = v->valuedouble;
	return true;
}

static bool jbool(const cJSON *o, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

tp_rc tp_capture_from_json(tp_capture *c, const cJSON *o)
{
	const cJSON *a, *it;
	const char *s;
	double d;
	unsigned i;

	memset(c, 0, sizeof *c);
	c->current = TP_FIELD_NONE;
	c->err_field = TP_FIELD_NONE;
	if (!cJSON_IsObject(o))
		return TP_EINVAL;
	s = jstr(o, "status");
	if ((int)status_from_name(s) < 0)
		return TP_EINVAL;
	c->status = status_from_name(s);
	c->ach = tp_str_eq(jstr(o, "method"), "ach-debit");
	a = cJSON_GetObjectItemCaseSensitive(o, "order");
	if (!cJSON_IsArray(a))
		return TP_EINVAL;
	cJSON_ArrayForEach (it, a) {
		tp_field f =
		    cJSON_IsString(it) ? tp_field_from_name(it->valuestring) : TP_FIELD_NONE;
		if (f == TP_FIELD_NONE || tp_capture_in_order(c, f) || c->norder >= TP_FIELD_COUNT)
			return TP_EINVAL;
		c->order[c->norder++] = f;
	}
	s = jstr(o, "current");
	if (s) {
		c->current = tp_field_from_name(s);
		if (!tp_capture_in_order(c, c->current))
			return TP_EINVAL;
	}
	if (!jnum(o, "step", 0, 1e9, &d))
		return TP_EINVAL;
	c->step = (unsigned)d;
	if (!jnum(o, "attempt", 0, 1e9, &d))
		return TP_EINVAL;
	c->attempt = (unsigned)d;
	a = cJSON_GetObjectItemCaseSensitive(o, "required");
	cJSON_ArrayForEach (it, a) {
		tp_field f =
		    cJSON_IsString(it) ? tp_field_from_name(it->valuestring) : TP_FIELD_NONE;
		if (f != TP_FIELD_NONE)
			c->required |= bit(f);
	}
	c->required_known = jbool(o, "requiredKnown");
	c->required_other = jbool(o, "requiredOther");
	c->partial = jbool(o, "partial");
	c->keyed = jbool(o, "keyed");
	copy_str(c->error_type, sizeof c->error_type, jstr(o, "errorType"));
	if (c->error_type[0]) {
		/* errorField as stored, null included (an error with no field
		 * of its own stays so: what is loaded must be what was stored,
		 * the session's MAC covers both); only a state stored before
		 * errorField existed, without the key, takes the current
		 * field's. */
		const cJSON *ef = cJSON_GetObjectItemCaseSensitive(o, "errorField");
		tp_field f = tp_field_from_name(jstr(o, "errorField"));

		if (!ef)
			c->err_field = c->current;
		else
			c->err_field =
			    f != TP_FIELD_NONE && tp_capture_in_order(c, f) ? f : TP_FIELD_NONE;
	}
	s = jstr(o, "stalled");
	for (i = 1; s && i < sizeof stall_names / sizeof stall_names[0]; i++)
		if (strcmp(s, stall_names[i]) == 0)
			c->stalled = (tp_cap_stall)i;
	copy_str(c->result, sizeof c->result, jstr(o, "result"));
	if (jnum(o, "lastMs", 0, 1e15, &d))
		c->last_ms = (int64_t)d;
	a = cJSON_GetObjectItemCaseSensitive(o, "seen");
	cJSON_ArrayForEach (it, a) {
		if (cJSON_IsString(it) && strlen(it->valuestring) == TP_CAPTURE_FP_LEN &&
		    c->nseen < TP_CAPTURE_SEEN)
			copy_str(c->seen[c->nseen++], sizeof c->seen[0], it->valuestring);
	}
	if (jnum(o, "seq", 0, 4e9, &d))
		c->seq = (unsigned)d;
	copy_str(c->agent, sizeof c->agent, jstr(o, "agent"));
	copy_str(c->call_sid, sizeof c->call_sid, jstr(o, "callSid"));
	copy_str(c->charge_amount, sizeof c->charge_amount, jstr(o, "chargeAmount"));
	copy_str(c->currency, sizeof c->currency, jstr(o, "currency"));
	copy_str(c->token_type, sizeof c->token_type, jstr(o, "tokenType"));
	copy_str(c->updated_at, sizeof c->updated_at, jstr(o, "updatedAt"));
	if (tp_reference_valid(jstr(o, "reference"))) {
		copy_str(c->reference, sizeof c->reference, jstr(o, "reference"));
		copy_str(c->connector_id, sizeof c->connector_id, jstr(o, "connectorId"));
	}
	if (!tp_agent_name_valid(c->agent) || !tp_sid_valid(c->call_sid, "CA"))
		return TP_EINVAL;
	return TP_OK;
}

/* ------------------------------------------------------------ Twilio's fields */

/* Keeps only what Twilio itself shows, whatever arrives: the card
 * number's last four digits, none of the security code, the bank
 * account's last two (twilio-contract.md 4.1).  Defence in depth: these
 * values reach Sync and the agent's browser. */
void tp_capture_mask(const char *param, const char *value, tp_buf *out)
{
	size_t i, n = strlen(value), digits = 0, keep = 0, seen_d = 0;
	char mask = 'x';

	if (strcmp(param, "PaymentCardNumber") == 0)
		keep = 4;
	else if (strcmp(param, "BankAccountNumber") == 0)
		keep = 2, mask = '*';
	else if (strcmp(param, "SecurityCode") == 0)
		keep = 0;
	else {
		tp_redact_text(out, value);
		return;
	}
	for (i = 0; i < n; i++)
		digits += value[i] >= '0' && value[i] <= '9';
	for (i = 0; i < n; i++) {
		char ch = value[i];
		if (ch >= '0' && ch <= '9') {
			seen_d++;
			tp_buf_addc(out, seen_d + keep > digits ? ch : mask);
		} else {
			tp_buf_addc(out, ch);
		}
	}
}

void tp_capture_merge(cJSON *data, const tp_params *cb)
{
	/* These describe the moment of one callback; when a later callback
	 * leaves one out, the old value is no longer true. */
	static const char *const transient[] = {"Capture", "PartialResult", "Required",
	                                        "ErrorType"};
	size_t i;
	tp_buf v;

	tp_field cap = tp_field_from_name(tp_params_get(cb, "Capture"));

	for (i = 0; i < sizeof transient / sizeof transient[0]; i++)
		if (!tp_params_get(cb, transient[i]))
			cJSON_DeleteItemFromObjectCaseSensitive(data, transient[i]);
	/* Keying has (re)started on a field and no digit has come yet: what
	 * it held before (a rejected number, the value being replaced) is
	 * no longer its value. */
	if (cap != TP_FIELD_NONE && truthy(tp_params_get(cb, "PartialResult")) &&
	    !tp_params_get(cb, fields[cap].twilio))
		cJSON_DeleteItemFromObjectCaseSensitive(data, fields[cap].twilio);
	tp_buf_init(&v, 4096);
	for (i = 0; i < cb->n && i < TP_PARAMS_MAX; i++) {
		const char *name = cb->v[i].name;
		size_t nl = strlen(name);
		if (nl == 0 || nl > 64 || name[0] == '_' || strlen(cb->v[i].value) > 1024)
			continue; /* "_session" and friends are ours */
		tp_buf_reset(&v);
		tp_capture_mask(name, cb->v[i].value, &v);
		cJSON_DeleteItemFromObjectCaseSensitive(data, name);
		cJSON_AddStringToObject(data, name, tp_buf_str(&v));
	}
	tp_buf_free(&v);
}

void tp_capture_clear_value(cJSON *data, tp_field f)
{
	if (f >= 0 && f < TP_FIELD_COUNT)
		cJSON_DeleteItemFromObjectCaseSensitive(data, fields[f].twilio);
}

static const char *field_state(const tp_capture *c, tp_field f)
{
	if (c->required_known && !(c->required & bit(f)))
		return "captured";
	if (f == c->current && c->status == TP_CAP_CAPTURING) {
		if (c->error_type[0] && c->err_field == f)
			return "invalid";
		if (c->partial && c->keyed)
			return "keying";
	}
	return "waiting";
}

cJSON *tp_capture_view(const tp_capture *c, const cJSON *data, const char *payment_sid)
{
	cJSON *o = cJSON_CreateObject(), *fo;
	size_t i;

	cJSON_AddStringToObject(o, "paymentSid", payment_sid);
	cJSON_AddStringToObject(o, "callSid", c->call_sid);
	cJSON_AddStringToObject(o, "agent", c->agent);
	cJSON_AddStringToObject(o, "status", tp_cap_status_name(c->status));
	cJSON_AddStringToObject(o, "method", c->ach ? "ach-debit" : "credit-card");
	add_str_or_null(o, "chargeAmount", c->charge_amount);
	add_str_or_null(o, "currency", c->currency);
	add_str_or_null(o, "tokenType", c->token_type);
	add_str_or_null(o, "capture",
	                c->current == TP_FIELD_NONE || tp_cap_status_final(c->status)
	                    ? NULL
	                    : tp_field_name(c->current));
	cJSON_AddBoolToObject(o, "partial", c->partial);
	cJSON_AddNumberToObject(o, "attempt", c->attempt);
	add_str_or_null(o, "stalled", stall_names[c->stalled]);
	cJSON_AddItemToObject(o, "required", required_list(c));
	cJSON_AddItemToObject(o, "order", field_list(c->order, c->norder));
	fo = cJSON_AddObjectToObject(o, "fields");
	for (i = 0; i < c->norder; i++) {
		tp_field f = c->order[i];
		cJSON *e = cJSON_AddObjectToObject(fo, fields[f].name);
		cJSON_AddStringToObject(e, "state", field_state(c, f));
		add_str_or_null(e, "value", jstr(data, fields[f].twilio));
	}
	add_str_or_null(o, "cardType", jstr(data, "PaymentCardType"));
	add_str_or_null(o, "errorType", c->error_type);
	add_str_or_null(o, "errorField",
	                c->err_field == TP_FIELD_NONE ? NULL : tp_field_name(c->err_field));
	add_str_or_null(o, "result", c->result);
	add_str_or_null(o, "reference", c->reference);
	add_str_or_null(o, "confirmationCode", jstr(data, "PaymentConfirmationCode"));
	add_str_or_null(o, "token", jstr(data, "PaymentToken"));
	add_str_or_null(o, "paymentError", jstr(data, "PaymentError"));
	add_str_or_null(o, "payErrorCode", jstr(data, "PayErrorCode"));
	cJSON_AddNumberToObject(o, "seq", c->seq);
	add_str_or_null(o, "updatedAt", c->updated_at);
	return o;
}
