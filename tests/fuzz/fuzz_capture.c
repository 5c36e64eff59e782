/* The capture state machine (lib/capture.c) fed arbitrary status
 * callbacks and agent actions, as cgi-bin/paySyncUpdate.c, changeCapture.c
 * and changeStatus.c drive it.
 *
 * Input: records separated by NUL bytes.  The first byte of the first
 * record holds the session's flags (bit 0 ACH, bit 1 INCLUDE_CVC, bit 2
 * INCLUDE_POSTAL_CODE); the rest of that record is PAYMENT_CAPTURE_ORDER.
 * Every later record is a callback as a form body, or an agent action:
 * "!reset <field>", "!complete", "!cancel" (the handlers' transitions),
 * "!store" (a round trip through the payMap JSON, as every write does).
 *
 * Properties checked after every step:
 *  - a callback that is not applied changes nothing; a session in a final
 *    state never leaves it, and nothing changes it any more;
 *  - one action per callback, consistent with the new state: a Capture
 *    names a field of the order, is the field now being captured, while
 *    capturing, within TP_CAPTURE_MAX_ATTEMPTS, and its idempotency key
 *    (step, attempt) is new (strictly after every key asked for before);
 *    "ready" only with nothing required; "final" only with a final status;
 *  - the state stays well-formed (current field in the order, attempt in
 *    range, norder within bounds);
 *  - the stored JSON reads back to the same JSON;
 *  - what reaches Sync and the browser (the merged payMap data and the
 *    state view) holds masked values only: a card number shows at most its
 *    last 4 digits, a security code no digit, a bank account number at
 *    most its last 2, and no value anywhere holds a Luhn-valid card number. */
#include "fuzz.h"

static size_t count_digits(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s >= '0' && *s <= '9';
	return n;
}

/* Nothing that tp_redact_text would call a card number. */
static void no_card(const char *s)
{
	tp_buf r;

	tp_buf_init(&r, 1u << 22);
	tp_redact_text(&r, s);
	FUZZ_ASSERT(strcmp(tp_buf_str(&r), s) == 0);
	tp_buf_free(&r);
}

static void masked(const char *param, const cJSON *v)
{
	if (!cJSON_IsString(v))
		return;
	if (strcmp(param, "PaymentCardNumber") == 0)
		FUZZ_ASSERT(count_digits(v->valuestring) <= 4);
	else if (strcmp(param, "SecurityCode") == 0)
		FUZZ_ASSERT(count_digits(v->valuestring) == 0);
	else if (strcmp(param, "BankAccountNumber") == 0)
		FUZZ_ASSERT(count_digits(v->valuestring) <= 2);
	no_card(v->valuestring);
}

static void check_data(const cJSON *data)
{
	const cJSON *it;

	cJSON_ArrayForEach (it, data)
		if (it->string && strcmp(it->string, TP_SESSION_KEY) != 0)
			masked(it->string, it);
}

static void check_view(const tp_capture *c, const cJSON *data)
{
	cJSON *v = tp_capture_view(c, data, "PK0123456789abcdef0123456789abcdef");
	const cJSON *fo = cJSON_GetObjectItemCaseSensitive(v, "fields"), *it;
	const cJSON *cap = cJSON_GetObjectItemCaseSensitive(v, "capture");

	FUZZ_ASSERT(cJSON_IsObject(fo));
	cJSON_ArrayForEach (it, fo)
		masked(tp_field_twilio_param(tp_field_from_name(it->string)),
		       cJSON_GetObjectItemCaseSensitive(it, "value"));
	if (tp_cap_status_final(c->status))
		FUZZ_ASSERT(cJSON_IsNull(cap));
	/* Not printed and parsed back: that tests cJSON, not us, and cost
	 * half of this harness's time. */
	cJSON_Delete(v);
}

static void well_formed(const tp_capture *c)
{
	size_t i, j;

	FUZZ_ASSERT(c->norder <= TP_FIELD_COUNT);
	for (i = 0; i < c->norder; i++) {
		FUZZ_ASSERT(c->order[i] >= 0 && c->order[i] < TP_FIELD_COUNT);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(c->order[i] != c->order[j]);
	}
	FUZZ_ASSERT(c->current == TP_FIELD_NONE || tp_capture_in_order(c, c->current));
	FUZZ_ASSERT(c->attempt >= 1 && c->attempt <= TP_CAPTURE_MAX_ATTEMPTS);
	FUZZ_ASSERT(c->nseen <= TP_CAPTURE_SEEN);
	FUZZ_ASSERT((unsigned)c->status <= TP_CAP_CANCELLED);
	FUZZ_ASSERT((unsigned)c->stalled <= TP_STALL_UNKNOWN_REQUIRED);
}

typedef struct key {
	unsigned step, attempt;
} key;

/* An action asks Twilio for a capture: its key must be new. */
static void new_key(key *last, const tp_capture_action *act)
{
	FUZZ_ASSERT(act->step > last->step ||
	            (act->step == last->step && act->attempt > last->attempt));
	last->step = act->step;
	last->attempt = act->attempt;
}

static void check_capture_action(const tp_capture *c, const tp_capture_action *act, key *last)
{
	FUZZ_ASSERT(act->field != TP_FIELD_NONE && tp_capture_in_order(c, act->field));
	FUZZ_ASSERT(act->field == c->current);
	FUZZ_ASSERT(act->step == c->step && act->attempt == c->attempt);
	FUZZ_ASSERT(act->attempt >= 1 && act->attempt <= TP_CAPTURE_MAX_ATTEMPTS);
	/* Never once submitted or ended, nor while "ready" (the agent could
	 * submit while Twilio captures). */
	FUZZ_ASSERT(c->status == TP_CAP_CAPTURING);
	FUZZ_ASSERT(c->required & (1u << act->field));
	new_key(last, act);
}

static void store_roundtrip(tp_capture *c)
{
	tp_capture back;

	fuzz_capture_roundtrip(c, &back);
	*c = back; /* what the next request reads */
}

/* Returns whether the payMap data changed. */
static bool agent_action(tp_capture *c, cJSON *data, const char *cmd, key *last)
{
	tp_capture before = *c;
	tp_capture_action act;

	if (strncmp(cmd, "!reset ", 7) == 0) {
		tp_field f = tp_field_from_name(cmd + 7);
		tp_cap_err e = tp_capture_reset(c, f, &act);
		if (e != TP_CAP_E_OK) {
			FUZZ_ASSERT(memcmp(&before, c, sizeof before) == 0);
			FUZZ_ASSERT(act.kind == TP_ACT_NONE);
			return false;
		}
		FUZZ_ASSERT(!tp_cap_status_final(before.status));
		FUZZ_ASSERT(act.kind == TP_ACT_CAPTURE && act.field == f);
		check_capture_action(c, &act, last);
		tp_capture_clear_value(data, f);
		return true;
	} else if (strcmp(cmd, "!complete") == 0) {
		if (tp_capture_can_complete(c) == TP_CAP_E_OK) {
			FUZZ_ASSERT(c->status == TP_CAP_READY && c->required_known &&
			            c->required == 0 && !c->required_other);
			c->status = TP_CAP_SUBMITTING; /* as changeStatus does */
		}
	} else if (strcmp(cmd, "!cancel") == 0) {
		if (tp_capture_can_cancel(c) == TP_CAP_E_OK) {
			FUZZ_ASSERT(!tp_cap_status_final(c->status));
			c->status = TP_CAP_CANCELLED;
		} else {
			FUZZ_ASSERT(tp_cap_status_final(c->status));
		}
	} else if (strcmp(cmd, "!store") == 0) {
		store_roundtrip(c);
	}
	return false;
}

/* Returns whether the payMap data changed (the callback was applied). */
static bool callback(tp_capture *c, cJSON *data, const char *body, key *last)
{
	tp_params cb;
	tp_capture before = *c;
	tp_capture_action act;
	tp_cb_outcome o;

	tp_params_init(&cb);
	if (tp_form_parse(&cb, body, strlen(body)) != TP_OK) {
		tp_params_free(&cb);
		return false;
	}
	/* The well-formedness check names one of the callback's own
	 * parameters when it refuses (paySyncUpdate echoes it). */
	{
		const char *bad = tp_capture_callback_invalid(&cb, NULL);
		size_t i;
		bool found = bad == NULL;
		for (i = 0; bad && i < cb.n; i++)
			found |= cb.v[i].name == bad;
		FUZZ_ASSERT(found);
	}
	o = tp_capture_apply(c, &cb, &act);
	if (o != TP_CB_APPLIED) {
		FUZZ_ASSERT(memcmp(&before, c, sizeof before) == 0);
		FUZZ_ASSERT(act.kind == TP_ACT_NONE);
		if (tp_cap_status_final(before.status))
			FUZZ_ASSERT(o == TP_CB_FINAL || o == TP_CB_DUPLICATE);
		tp_params_free(&cb);
		return false;
	}
	FUZZ_ASSERT(!tp_cap_status_final(before.status));
	FUZZ_ASSERT(c->seq == before.seq && c->step >= before.step);
	switch (act.kind) {
	case TP_ACT_NONE:
		break;
	case TP_ACT_CAPTURE:
		check_capture_action(c, &act, last);
		break;
	case TP_ACT_READY:
		FUZZ_ASSERT(c->status == TP_CAP_READY && before.status == TP_CAP_CAPTURING);
		FUZZ_ASSERT(c->required == 0 && !c->required_other);
		break;
	case TP_ACT_FINAL:
		FUZZ_ASSERT(tp_cap_status_final(c->status) && c->result[0]);
		break;
	}
	if (tp_cap_status_final(c->status))
		FUZZ_ASSERT(act.kind == TP_ACT_FINAL);
	/* "ready" is never left standing on a Required that lists something */
	if (c->status == TP_CAP_READY)
		FUZZ_ASSERT(c->required == 0 && !c->required_other);
	/* only the order's fields are kept as required (the stored state
	 * holds no other) */
	{
		unsigned mask = 0;
		size_t i;
		for (i = 0; i < c->norder; i++)
			mask |= 1u << c->order[i];
		FUZZ_ASSERT((c->required & ~mask) == 0);
	}
	/* A second delivery of the same callback is a duplicate. */
	{
		tp_capture again = *c;
		tp_capture_action act2;
		FUZZ_ASSERT(tp_capture_apply(&again, &cb, &act2) == TP_CB_DUPLICATE);
		FUZZ_ASSERT(memcmp(&again, c, sizeof again) == 0);
	}
	tp_capture_merge(data, &cb);
	/* The merge writes only the callback's own names (and removes
	 * some): those are the values to check now; the whole data is
	 * checked once more at the end. */
	{
		size_t i;
		for (i = 0; i < cb.n; i++)
			masked(cb.v[i].name, cJSON_GetObjectItemCaseSensitive(data, cb.v[i].name));
	}
	tp_params_free(&cb);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *rec[64];
	size_t n, i;
	unsigned flags = size ? data[0] : 0;
	tp_capture c;
	tp_capture_action act;
	cJSON *d = cJSON_CreateObject();
	key last = {0, 0};
	tp_capture_params p = {
	    .ach = flags & 1,
	    .cvc = flags & 2,
	    .postal = flags & 4,
	    .agent = "agent",
	    .call_sid = "CA0123456789abcdef0123456789abcdef",
	    .charge_amount = "9.99",
	    .currency = "USD",
	    .token_type = "",
	};

	n = fuzz_split(s, size, rec, 63);
	p.order = rec[0][0] ? rec[0] + 1 : "";
	tp_capture_start(&c, &p, &act);
	well_formed(&c);
	FUZZ_ASSERT(c.norder >= 2); /* card number + expiry, or both bank fields */
	FUZZ_ASSERT(act.kind == TP_ACT_CAPTURE && act.field == c.order[0]);
	check_capture_action(&c, &act, &last);
	store_roundtrip(&c);
	check_view(&c, d);
	for (i = 1; i < n; i++) {
		tp_capture before = c;
		bool data_changed = rec[i][0] == '!' ? agent_action(&c, d, rec[i], &last)
		                                     : callback(&c, d, rec[i], &last);
		well_formed(&c);
		if (tp_cap_status_final(before.status)) {
			FUZZ_ASSERT(c.status == before.status);
			FUZZ_ASSERT(strcmp(c.result, before.result) == 0);
		}
		/* The view is a function of the state and the data: checked
		 * again only when one of them changed (most records change
		 * nothing; checking every step was most of this harness's
		 * time). */
		if (data_changed || memcmp(&before, &c, sizeof c) != 0)
			check_view(&c, d);
	}
	check_data(d);
	store_roundtrip(&c);
	cJSON_Delete(d);
	free(s);
	return 0;
}
