/* Unit tests for lib/capture.c: the auto-progression state machine. */
#include "unit.h"

#define PK            "PK0123456789abcdef0123456789abcdef"
#define CA            "CA0123456789abcdef0123456789abcdef"
#define DEFAULT_ORDER "payment-card-number,security-code,expiration-date"

/* Applies a callback written as a form body; returns the outcome. */
static tp_cb_outcome cb(tp_capture *c, const char *form, tp_capture_action *act)
{
	tp_params p;
	tp_cb_outcome o;

	tp_params_init(&p);
	assert_int_equal(tp_form_parse(&p, form, strlen(form)), TP_OK);
	o = tp_capture_apply(c, &p, act);
	tp_params_free(&p);
	return o;
}

static void start(tp_capture *c, bool ach, bool cvc, bool postal, const char *order,
                  tp_capture_action *act)
{
	tp_capture_params p = {ach,    cvc,   postal, order ? order : DEFAULT_ORDER, "alice", CA,
	                       "9.99", "USD", ""};
	tp_capture_start(c, &p, act);
}

static void order_str(const tp_capture *c, tp_buf *out)
{
	size_t i;
	for (i = 0; i < c->norder; i++) {
		if (i)
			tp_buf_addc(out, ',');
		tp_buf_adds(out, tp_field_name(c->order[i]));
	}
}

static void test_order(void **state)
{
	static const struct {
		int line;
		const char *cfg;
		bool ach, cvc, postal;
		const char *want;
	} rows[] = {
	    {__LINE__, DEFAULT_ORDER, false, true, false, DEFAULT_ORDER},
	    {__LINE__, DEFAULT_ORDER, false, false, false, "payment-card-number,expiration-date"},
	    {__LINE__, DEFAULT_ORDER, false, true, true, DEFAULT_ORDER ",postal-code"},
	    {__LINE__, "postal-code,payment-card-number", false, true, true,
	     "postal-code,payment-card-number,security-code,expiration-date"},
	    /* postal-code in the order but INCLUDE_POSTAL_CODE=false: left out */
	    {__LINE__, "postal-code,expiration-date,payment-card-number", false, false, false,
	     "expiration-date,payment-card-number"},
	    {__LINE__, "expiration-date, payment-card-number ,security-code", false, true, false,
	     "expiration-date,payment-card-number,security-code"},
	    {__LINE__, "ExpirationDate,PaymentCardNumber", false, true, false,
	     "expiration-date,payment-card-number,security-code"},
	    {__LINE__, DEFAULT_ORDER, true, true, true, "bank-routing-number,bank-account-number"},
	    {__LINE__, "bank-account-number,payment-card-number,bank-routing-number", true, true,
	     false, "bank-account-number,bank-routing-number"},
	    {__LINE__, "bank-account-number", false, true, false, DEFAULT_ORDER},
	    {__LINE__, "", false, true, false, DEFAULT_ORDER},
	    {__LINE__, "payment-card-number,payment-card-number", false, true, false,
	     DEFAULT_ORDER},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_capture c;
		tp_buf b;
		memset(&c, 0, sizeof c);
		tp_capture_order_build(&c, rows[i].cfg, rows[i].ach, rows[i].cvc, rows[i].postal);
		tp_buf_init(&b, 1024);
		order_str(&c, &b);
		if (strcmp(tp_buf_str(&b), rows[i].want) != 0)
			ROW_FAIL(rows[i].line, "order %s want %s\n", tp_buf_str(&b), rows[i].want);
		tp_buf_free(&b);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(tp_field_from_name("payment-card-number"), TP_FIELD_CARD_NUMBER);
	assert_int_equal(tp_field_from_name("PaymentCardNumber"), TP_FIELD_CARD_NUMBER);
	assert_int_equal(tp_field_from_name("ExpirationDate"), TP_FIELD_EXPIRATION_DATE);
	assert_int_equal(tp_field_from_name("SECURITY_CODE"), TP_FIELD_SECURITY_CODE);
	assert_int_equal(tp_field_from_name("PaymentCardPostalCode"), TP_FIELD_POSTAL_CODE);
	assert_int_equal(tp_field_from_name("BankRoutingNumber"), TP_FIELD_ROUTING_NUMBER);
	assert_int_equal(tp_field_from_name("bank-account-number"), TP_FIELD_ACCOUNT_NUMBER);
	assert_int_equal(tp_field_from_name("payment-card-number-matcher"), TP_FIELD_NONE);
	assert_int_equal(tp_field_from_name(""), TP_FIELD_NONE);
	assert_int_equal(tp_field_from_name(NULL), TP_FIELD_NONE);
	assert_string_equal(tp_field_twilio_param(TP_FIELD_POSTAL_CODE), "PaymentCardPostalCode");
}

static void test_iso8601(void **state)
{
	static const struct {
		int line;
		const char *s;
		int64_t ms;
	} rows[] = {
	    {__LINE__, "1970-01-01T00:00:00Z", 0},
	    {__LINE__, "2021-08-10T03:58:27.290Z", 1628567907290},
	    {__LINE__, "2021-08-10T03:58:27.29Z", 1628567907290},
	    {__LINE__, "2021-08-10T03:58:27.2901Z", 1628567907290},
	    {__LINE__, "2021-08-10T05:58:27.290+02:00", 1628567907290},
	    {__LINE__, "2000-02-29T12:00:00Z", 951825600000},
	    {__LINE__, "2021-08-10 03:58:27Z", 1628567907000},
	    {__LINE__, "2021-08-10T03:58:27", -1},
	    {__LINE__, "2021-13-10T03:58:27Z", -1},
	    {__LINE__, "2021-08-10T03:58:27.Z", -1},
	    {__LINE__, "Wed, 18 Dec 2019 20:02:01 +0000", -1},
	    {__LINE__, "", -1},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		int64_t got = tp_iso8601_ms(rows[i].s);
		if (got != rows[i].ms)
			ROW_FAIL(rows[i].line, "%s -> %lld want %lld\n", rows[i].s, (long long)got,
			         (long long)rows[i].ms);
	}
	assert_int_equal(tp_iso8601_ms(NULL), -1);
}

static void expect_capture(const tp_capture_action *a, tp_field f, unsigned step, unsigned attempt)
{
	assert_int_equal(a->kind, TP_ACT_CAPTURE);
	assert_string_equal(tp_field_name(a->field), tp_field_name(f));
	assert_int_equal(a->step, step);
	assert_int_equal(a->attempt, attempt);
}

/* The headline flow: card, security code, expiry, with an invalid card
 * number first, every move made by the machine, never by a client. */
static void test_card_flow(void **state)
{
	tp_capture c;
	tp_capture_action a;
	(void)state;

	start(&c, false, true, false, NULL, &a);
	expect_capture(&a, TP_FIELD_CARD_NUMBER, 1, 1);
	assert_int_equal(c.status, TP_CAP_CAPTURING);

	/* create-time callback: nothing to do */
	assert_int_equal(cb(&c, "Sid=" PK "&DateCreated=2026-01-01T10:00:00.000Z", &a),
	                 TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_NONE);
	/* Capture started, digits arriving */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=payment-card-number&PartialResult=true"
	                    "&Required=payment-card-number,security-code,expiration-date"
	                    "&DateUpdated=2026-01-01T10:00:01.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_NONE);
	assert_true(c.partial);
	/* invalid number: the same field again, attempt 2 */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	                    "&ErrorType=invalid-card-number"
	                    "&Required=payment-card-number,security-code,expiration-date"
	                    "&DateUpdated=2026-01-01T10:00:02.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	expect_capture(&a, TP_FIELD_CARD_NUMBER, 1, 2);
	assert_string_equal(c.error_type, "invalid-card-number");
	/* card accepted: move to the security code */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	                    "&PaymentCardNumber=xxxxxxxxxxxx1111&PaymentCardType=visa"
	                    "&Required=security-code,expiration-date"
	                    "&DateUpdated=2026-01-01T10:00:03.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	expect_capture(&a, TP_FIELD_SECURITY_CODE, 2, 1);
	assert_string_equal(c.error_type, "");
	/* Twilio confirms the capture we asked for: no extra step */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=security-code&PartialResult=false"
	                    "&Required=security-code,expiration-date"
	                    "&DateUpdated=2026-01-01T10:00:03.500Z",
	                    &a),
	                 TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_NONE);
	assert_int_equal(c.step, 2);
	/* PascalCase Required works the same */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=security-code&PartialResult=false"
	                    "&SecurityCode=xxx&Required=ExpirationDate"
	                    "&DateUpdated=2026-01-01T10:00:04.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	expect_capture(&a, TP_FIELD_EXPIRATION_DATE, 3, 1);
	assert_int_equal(tp_capture_can_complete(&c), TP_CAP_E_INCOMPLETE);
	/* all captured: ready, and nothing sent to Twilio */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=expiration-date&PartialResult=false"
	                    "&ExpirationDate=1230&Required="
	                    "&DateUpdated=2026-01-01T10:00:05.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_READY);
	assert_int_equal(c.status, TP_CAP_READY);
	assert_int_equal(tp_capture_can_complete(&c), TP_CAP_E_OK);
	/* the agent submits (handler sets SUBMITTING); the Result ends it */
	c.status = TP_CAP_SUBMITTING;
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Result=success&PaymentConfirmationCode=ch_1"
	                    "&DateUpdated=2026-01-01T10:00:06.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_FINAL);
	assert_int_equal(c.status, TP_CAP_COMPLETED);
	assert_string_equal(c.result, "success");
	/* late progress after the end: nothing */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=expiration-date&PartialResult=true"
	                    "&DateUpdated=2026-01-01T10:00:07.000Z",
	                    &a),
	                 TP_CB_FINAL);
	assert_int_equal(c.status, TP_CAP_COMPLETED);
}

static void test_retry_cap(void **state)
{
	tp_capture c;
	tp_capture_action a;
	char form[512];
	unsigned i;
	(void)state;

	start(&c, false, true, false, NULL, &a);
	for (i = 1; i < TP_CAPTURE_MAX_ATTEMPTS; i++) {
		snprintf(form, sizeof form,
		         "Sid=" PK "&Capture=payment-card-number&ErrorType=input-timeout"
		         "&Required=payment-card-number&DateUpdated=2026-01-01T10:00:%02u.000Z",
		         i);
		assert_int_equal(cb(&c, form, &a), TP_CB_APPLIED);
		expect_capture(&a, TP_FIELD_CARD_NUMBER, 1, i + 1);
	}
	snprintf(form, sizeof form,
	         "Sid=" PK "&Capture=payment-card-number&ErrorType=input-timeout"
	         "&Required=payment-card-number&DateUpdated=2026-01-01T10:00:59.000Z");
	assert_int_equal(cb(&c, form, &a), TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_NONE);
	assert_int_equal(c.stalled, TP_STALL_RETRIES_EXHAUSTED);
	/* the agent resets: a new step, attempts start again */
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_CARD_NUMBER, &a), TP_CAP_E_OK);
	expect_capture(&a, TP_FIELD_CARD_NUMBER, 2, 1);
	assert_int_equal(c.stalled, TP_STALL_NONE);
}

/* Found by fuzz_capture: an ErrorType after the session became ready
 * re-asks for the field, so the session is not ready any more (Submit
 * would race the re-capture); a Required naming a field outside the
 * session's order stalls it instead of keeping a bit the stored state
 * cannot hold. */
static void test_ready_then_error(void **state)
{
	tp_capture c, back;
	tp_capture_action a;
	cJSON *j;
	(void)state;

	start(&c, false, false, false, "payment-card-number,expiration-date", &a);
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=payment-card-number&PaymentCardNumber=xxxx1111"
	                    "&Required=expiration-date&DateUpdated=2026-01-01T10:00:01.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	expect_capture(&a, TP_FIELD_EXPIRATION_DATE, 2, 1);
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=expiration-date&ExpirationDate=1230&Required="
	                    "&DateUpdated=2026-01-01T10:00:02.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_READY);
	assert_int_equal(tp_capture_can_complete(&c), TP_CAP_E_OK);
	/* an error for the field arrives after all (same second) */
	assert_int_equal(
	    cb(&c, "Sid=" PK "&ErrorType=invalid-date&DateUpdated=2026-01-01T10:00:02.000Z", &a),
	    TP_CB_APPLIED);
	expect_capture(&a, TP_FIELD_EXPIRATION_DATE, 2, 2);
	assert_int_equal(c.status, TP_CAP_CAPTURING);
	assert_int_not_equal(tp_capture_can_complete(&c), TP_CAP_E_OK);
	/* captured again: ready again */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=expiration-date&ExpirationDate=1231&Required="
	                    "&DateUpdated=2026-01-01T10:00:03.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	assert_int_equal(a.kind, TP_ACT_READY);

	/* Twilio requires a field this card session never asks for */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Required=bank-account-number"
	                    "&DateUpdated=2026-01-01T10:00:04.000Z",
	                    &a),
	                 TP_CB_APPLIED);
	assert_int_equal(c.required, 0);
	assert_true(c.required_other);
	assert_int_equal(c.status, TP_CAP_CAPTURING);
	assert_int_equal(c.stalled, TP_STALL_UNKNOWN_REQUIRED);
	assert_int_not_equal(tp_capture_can_complete(&c), TP_CAP_E_OK);
	j = tp_capture_to_json(&c);
	assert_int_equal(tp_capture_from_json(&back, j), TP_OK);
	assert_int_equal(back.required, c.required);
	assert_int_equal(back.required_other, c.required_other);
	cJSON_Delete(j);
}

static void test_duplicates_and_order(void **state)
{
	tp_capture c, before;
	tp_capture_action a;
	static const char card_done[] = "Sid=" PK "&Capture=payment-card-number"
	                                "&PartialResult=false&PaymentCardNumber=xxxxxxxxxxxx1111"
	                                "&Required=security-code,expiration-date"
	                                "&DateUpdated=2026-01-01T10:00:03.000Z";
	(void)state;

	start(&c, false, true, false, NULL, &a);
	assert_int_equal(cb(&c, card_done, &a), TP_CB_APPLIED);
	expect_capture(&a, TP_FIELD_SECURITY_CODE, 2, 1);
	before = c;
	/* the same callback again, even with its fields in another order */
	assert_int_equal(cb(&c, card_done, &a), TP_CB_DUPLICATE);
	assert_int_equal(a.kind, TP_ACT_NONE);
	assert_int_equal(cb(&c,
	                    "DateUpdated=2026-01-01T10:00:03.000Z&Required=security-code,"
	                    "expiration-date&PaymentCardNumber=xxxxxxxxxxxx1111"
	                    "&PartialResult=false&Capture=payment-card-number&Sid=" PK,
	                    &a),
	                 TP_CB_DUPLICATE);
	/* an older callback arriving late */
	assert_int_equal(cb(&c,
	                    "Sid=" PK "&Capture=payment-card-number&PartialResult=true"
	                    "&Required=payment-card-number,security-code,expiration-date"
	                    "&DateUpdated=2026-01-01T10:00:02.000Z",
	                    &a),
	                 TP_CB_STALE);
	assert_memory_equal(&before, &c, sizeof c);
}

/* Two workers apply the same callback to the same stored state: they
 * ask for the same key, so Twilio acts once.  And when the next callback
 * is processed from the old state (the first worker's write not yet
 * visible), Twilio's Capture is adopted and no key is reused for another
 * transition. */
static void test_concurrent_workers(void **state)
{
	tp_capture c, w1, w2;
	tp_capture_action a1, a2;
	tp_buf k1, k2;
	static const char card_done[] = "Sid=" PK "&Capture=payment-card-number"
	                                "&PartialResult=false&Required=security-code,"
	                                "expiration-date&DateUpdated=2026-01-01T10:00:03.000Z";
	(void)state;

	start(&c, false, true, false, NULL, &a1);
	w1 = c;
	w2 = c;
	cb(&w1, card_done, &a1);
	cb(&w2, card_done, &a2);
	tp_buf_init(&k1, 256);
	tp_buf_init(&k2, 256);
	tp_capture_action_key(&a1, PK, NULL, &k1);
	tp_capture_action_key(&a2, PK, NULL, &k2);
	assert_string_equal(k1.ptr, k2.ptr);
	assert_string_equal(k1.ptr, PK "-s2-security-code-a1");

	/* worker B sees Twilio's Capture=security-code on the old state */
	w2 = c;
	assert_int_equal(cb(&w2,
	                    "Sid=" PK "&Capture=security-code&PartialResult=true"
	                    "&Required=security-code,expiration-date"
	                    "&DateUpdated=2026-01-01T10:00:03.200Z",
	                    &a2),
	                 TP_CB_APPLIED);
	assert_int_equal(a2.kind, TP_ACT_NONE);
	assert_int_equal(w2.current, TP_FIELD_SECURITY_CODE);
	assert_int_equal(w2.step, 2);
	/* worker A retries its callback on B's state: it is older, so stale */
	assert_int_equal(cb(&w2, card_done, &a1), TP_CB_STALE);
	tp_buf_free(&k1);
	tp_buf_free(&k2);
}

static void test_ach_and_postal(void **state)
{
	tp_capture c;
	tp_capture_action a;
	(void)state;

	start(&c, true, true, true, NULL, &a);
	expect_capture(&a, TP_FIELD_ROUTING_NUMBER, 1, 1);
	cb(&c,
	   "Sid=" PK "&Capture=bank-routing-number&PartialResult=false"
	   "&BankRoutingNumber=121181976&Required=bank-account-number"
	   "&DateUpdated=2026-01-01T10:00:01.000Z",
	   &a);
	expect_capture(&a, TP_FIELD_ACCOUNT_NUMBER, 2, 1);
	cb(&c,
	   "Sid=" PK "&Capture=bank-account-number&PartialResult=false"
	   "&BankAccountNumber=*******92&Required=&DateUpdated=2026-01-01T10:00:02.000Z",
	   &a);
	assert_int_equal(a.kind, TP_ACT_READY);

	start(&c, false, false, true, NULL, &a);
	expect_capture(&a, TP_FIELD_CARD_NUMBER, 1, 1);
	cb(&c,
	   "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	   "&Required=expiration-date,postal-code&DateUpdated=2026-01-01T10:00:01.000Z",
	   &a);
	expect_capture(&a, TP_FIELD_EXPIRATION_DATE, 2, 1);
	/* Twilio requires something outside the order (a matcher) */
	cb(&c,
	   "Sid=" PK "&Capture=expiration-date&PartialResult=false"
	   "&Required=payment-card-number-matcher&DateUpdated=2026-01-01T10:00:02.000Z",
	   &a);
	assert_int_equal(a.kind, TP_ACT_NONE);
	assert_int_equal(c.stalled, TP_STALL_UNKNOWN_REQUIRED);
	assert_int_equal(tp_capture_can_complete(&c), TP_CAP_E_INCOMPLETE);
}

/* Required skips a field the order has later: the machine follows
 * Required, wrapping round the order. */
static void test_next_wraps(void **state)
{
	tp_capture c;
	tp_capture_action a;
	(void)state;

	start(&c, false, true, false, "expiration-date,payment-card-number,security-code", &a);
	expect_capture(&a, TP_FIELD_EXPIRATION_DATE, 1, 1);
	cb(&c,
	   "Sid=" PK "&Capture=expiration-date&PartialResult=false"
	   "&Required=payment-card-number,security-code&DateUpdated=2026-01-01T10:00:01.000Z",
	   &a);
	expect_capture(&a, TP_FIELD_CARD_NUMBER, 2, 1);
	/* the card was accepted together with... nothing else: the security
	 * code is still needed; then the agent resets the expiry */
	cb(&c,
	   "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	   "&Required=security-code&DateUpdated=2026-01-01T10:00:02.000Z",
	   &a);
	expect_capture(&a, TP_FIELD_SECURITY_CODE, 3, 1);
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_EXPIRATION_DATE, &a), TP_CAP_E_OK);
	expect_capture(&a, TP_FIELD_EXPIRATION_DATE, 4, 1);
	cb(&c,
	   "Sid=" PK "&Capture=expiration-date&PartialResult=false"
	   "&Required=security-code&DateUpdated=2026-01-01T10:00:03.000Z",
	   &a);
	expect_capture(&a, TP_FIELD_SECURITY_CODE, 5, 1);
}

static void test_agent_checks(void **state)
{
	tp_capture c;
	tp_capture_action a;
	tp_buf miss;
	(void)state;

	start(&c, false, true, false, NULL, &a);
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_POSTAL_CODE, &a), TP_CAP_E_NOT_IN_ORDER);
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_ACCOUNT_NUMBER, &a), TP_CAP_E_NOT_IN_ORDER);
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_NONE, &a), TP_CAP_E_NOT_IN_ORDER);
	tp_buf_init(&miss, 1024);
	tp_capture_missing(&c, &miss);
	assert_string_equal(miss.ptr, DEFAULT_ORDER);
	cb(&c,
	   "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	   "&Required=expiration-date&DateUpdated=2026-01-01T10:00:01.000Z",
	   &a);
	tp_buf_reset(&miss);
	tp_capture_missing(&c, &miss);
	assert_string_equal(miss.ptr, "expiration-date");
	assert_int_equal(tp_capture_can_complete(&c), TP_CAP_E_INCOMPLETE);
	assert_int_equal(tp_capture_can_cancel(&c), TP_CAP_E_OK);
	c.status = TP_CAP_SUBMITTING;
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_CARD_NUMBER, &a), TP_CAP_E_SUBMITTING);
	/* progress while submitting changes the record, never the status */
	cb(&c,
	   "Sid=" PK "&Capture=expiration-date&PartialResult=false"
	   "&Required=expiration-date&DateUpdated=2026-01-01T10:00:02.000Z",
	   &a);
	assert_int_equal(a.kind, TP_ACT_NONE);
	assert_int_equal(c.status, TP_CAP_SUBMITTING);
	/* hang-up */
	cb(&c, "Sid=" PK "&Result=caller-hung-up&DateUpdated=2026-01-01T10:00:01.500Z", &a);
	assert_int_equal(a.kind, TP_ACT_FINAL); /* a Result counts even if older */
	assert_int_equal(c.status, TP_CAP_FAILED);
	assert_int_equal(tp_capture_can_cancel(&c), TP_CAP_E_FINAL);
	assert_int_equal(tp_capture_can_complete(&c), TP_CAP_E_FINAL);
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_CARD_NUMBER, &a), TP_CAP_E_FINAL);
	/* cancel ends as cancelled, not failed */
	start(&c, false, true, false, NULL, &a);
	assert_int_equal(cb(&c, "Sid=" PK "&Result=cancelled", &a), TP_CB_APPLIED);
	assert_int_equal(c.status, TP_CAP_CANCELLED);
	/* a second, different Result does not replace the first */
	assert_int_equal(cb(&c, "Sid=" PK "&Result=success", &a), TP_CB_FINAL);
	assert_string_equal(c.result, "cancelled");
	tp_buf_free(&miss);
}

static void test_json_roundtrip(void **state)
{
	tp_capture c, d;
	tp_capture_action a;
	cJSON *j, *bad;
	char *s;
	(void)state;

	start(&c, false, true, true, NULL, &a);
	cb(&c,
	   "Sid=" PK
	   "&Capture=payment-card-number&PartialResult=false&ErrorType=invalid-card-number"
	   "&Required=payment-card-number,security-code&DateUpdated=2026-01-01T10:00:01.000Z",
	   &a);
	c.seq = 7;
	snprintf(c.updated_at, sizeof c.updated_at, "2026-01-01T10:00:01.123Z");
	j = tp_capture_to_json(&c);
	assert_int_equal(tp_capture_from_json(&d, j), TP_OK);
	assert_memory_equal(&c, &d, sizeof c);
	s = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(s, "\"status\":\"capturing\""));
	assert_non_null(strstr(s, "\"required\":[\"payment-card-number\",\"security-code\"]"));
	free(s);

	/* malformed stored state is refused, not trusted */
	bad = cJSON_Duplicate(j, true);
	cJSON_ReplaceItemInObject(bad, "status", cJSON_CreateString("nonsense"));
	assert_int_equal(tp_capture_from_json(&d, bad), TP_EINVAL);
	cJSON_Delete(bad);
	bad = cJSON_Duplicate(j, true);
	cJSON_ReplaceItemInObject(bad, "callSid", cJSON_CreateString("CA1"));
	assert_int_equal(tp_capture_from_json(&d, bad), TP_EINVAL);
	cJSON_Delete(bad);
	bad = cJSON_Duplicate(j, true);
	cJSON_ReplaceItemInObject(bad, "current", cJSON_CreateString("bank-account-number"));
	assert_int_equal(tp_capture_from_json(&d, bad), TP_EINVAL);
	cJSON_Delete(bad);
	assert_int_equal(tp_capture_from_json(&d, NULL), TP_EINVAL);
	cJSON_Delete(j);
}

static void test_mask(void **state)
{
	static const struct {
		int line;
		const char *param, *in, *out;
	} rows[] = {
	    {__LINE__, "PaymentCardNumber", "xxxxxxxxxxxx1111", "xxxxxxxxxxxx1111"},
	    {__LINE__, "PaymentCardNumber", "4111111111111111", "xxxxxxxxxxxx1111"},
	    {__LINE__, "PaymentCardNumber", "xxxx-xxxxxx-x4001", "xxxx-xxxxxx-x4001"},
	    {__LINE__, "PaymentCardNumber", "3782-822463-10005", "xxxx-xxxxxx-x0005"},
	    {__LINE__, "PaymentCardNumber", "xxxxxxxx", "xxxxxxxx"},
	    {__LINE__, "SecurityCode", "xxx", "xxx"},
	    {__LINE__, "SecurityCode", "123", "xxx"},
	    {__LINE__, "BankAccountNumber", "*******92", "*******92"},
	    {__LINE__, "BankAccountNumber", "123456792", "*******92"},
	    {__LINE__, "ExpirationDate", "1225", "1225"},
	    {__LINE__, "BankRoutingNumber", "121181976", "121181976"},
	    {__LINE__, "PaymentError", "card 4111111111111111 declined", "card [card] declined"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_buf b;
		tp_buf_init(&b, 1024);
		tp_capture_mask(rows[i].param, rows[i].in, &b);
		if (strcmp(tp_buf_str(&b), rows[i].out) != 0)
			ROW_FAIL(rows[i].line, "%s=%s -> %s\n", rows[i].param, rows[i].in,
			         tp_buf_str(&b));
		tp_buf_free(&b);
	}
}

static void test_merge_and_view(void **state)
{
	tp_capture c;
	tp_capture_action a;
	tp_params p;
	cJSON *data = cJSON_CreateObject(), *v;
	const cJSON *f;
	char *s;
	static const char first[] =
	    "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	    "&ErrorType=invalid-card-number&PaymentCardNumber=4111111111111112"
	    "&Required=payment-card-number,security-code,expiration-date&_session=evil";
	static const char second[] = "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	                             "&PaymentCardNumber=xxxxxxxxxxxx1111&PaymentCardType=visa"
	                             "&Required=security-code,expiration-date";
	(void)state;

	start(&c, false, true, false, NULL, &a);
	tp_params_init(&p);
	tp_form_parse(&p, first, strlen(first));
	tp_capture_apply(&c, &p, &a);
	tp_capture_merge(data, &p);
	tp_params_free(&p);
	/* unmasked input is masked; "_session" cannot be injected */
	assert_string_equal(cJSON_GetObjectItem(data, "PaymentCardNumber")->valuestring,
	                    "xxxxxxxxxxxx1112");
	assert_null(cJSON_GetObjectItem(data, "_session"));
	assert_non_null(cJSON_GetObjectItem(data, "ErrorType"));
	v = tp_capture_view(&c, data, PK);
	f = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "fields"), "payment-card-number");
	assert_string_equal(cJSON_GetObjectItem(f, "state")->valuestring, "invalid");
	assert_string_equal(cJSON_GetObjectItem(v, "errorType")->valuestring,
	                    "invalid-card-number");
	cJSON_Delete(v);

	tp_params_init(&p);
	tp_form_parse(&p, second, strlen(second));
	tp_capture_apply(&c, &p, &a);
	tp_capture_merge(data, &p);
	tp_params_free(&p);
	/* ErrorType belonged to the previous moment */
	assert_null(cJSON_GetObjectItem(data, "ErrorType"));
	c.seq = 3;
	v = tp_capture_view(&c, data, PK);
	s = cJSON_PrintUnformatted(v);
	assert_non_null(strstr(s, "\"paymentSid\":\"" PK "\""));
	assert_non_null(strstr(s, "\"status\":\"capturing\""));
	assert_non_null(strstr(s, "\"capture\":\"security-code\""));
	assert_non_null(strstr(s, "\"payment-card-number\":{\"state\":\"captured\","
	                          "\"value\":\"xxxxxxxxxxxx1111\"}"));
	assert_non_null(strstr(s, "\"security-code\":{\"state\":\"waiting\",\"value\":null}"));
	assert_non_null(strstr(s, "\"cardType\":\"visa\""));
	assert_non_null(strstr(s, "\"errorType\":null"));
	assert_non_null(strstr(s, "\"required\":[\"security-code\",\"expiration-date\"]"));
	assert_non_null(strstr(s, "\"seq\":3"));
	assert_null(strstr(s, "4111111111111112"));
	free(s);
	cJSON_Delete(v);

	/* keying starts again on the card number: its old value goes */
	tp_params_init(&p);
	tp_form_parse(&p, "Capture=payment-card-number&PartialResult=true", 46);
	tp_capture_merge(data, &p);
	tp_params_free(&p);
	assert_null(cJSON_GetObjectItem(data, "PaymentCardNumber"));
	assert_non_null(cJSON_GetObjectItem(data, "PaymentCardType"));
	cJSON_AddStringToObject(data, "ExpirationDate", "1230");
	tp_capture_clear_value(data, TP_FIELD_EXPIRATION_DATE);
	assert_null(cJSON_GetObjectItem(data, "ExpirationDate"));
	cJSON_Delete(data);
}

/* The field's state in the view (data: the merged callbacks). */
static const char *view_state(const tp_capture *c, cJSON *data, tp_field f, char out[16])
{
	cJSON *v = tp_capture_view(c, data, PK);
	const cJSON *e = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(v, "fields"), tp_field_name(f)), "state");
	snprintf(out, 16, "%s", cJSON_IsString(e) ? e->valuestring : "?");
	cJSON_Delete(v);
	return out;
}

/* Applies a callback and merges it into data, as paySyncUpdate does. */
static void cb_merge(tp_capture *c, cJSON *data, const char *form, tp_capture_action *act)
{
	tp_params p;

	tp_params_init(&p);
	assert_int_equal(tp_form_parse(&p, form, strlen(form)), TP_OK);
	assert_int_equal(tp_capture_apply(c, &p, act), TP_CB_APPLIED);
	tp_capture_merge(data, &p);
	tp_params_free(&p);
}

/* "keying" only once digits arrive (Twilio posts PartialResult=true when
 * a capture starts, before any key); an ErrorType outlives the automatic
 * re-ask, whose callback carries none, until new digits for its field. */
static void test_error_kept_and_keying(void **state)
{
	tp_capture c, d, e;
	tp_capture_action a;
	cJSON *data = cJSON_CreateObject(), *j, *v;
	char st[16];
	(void)state;

	start(&c, false, true, false, NULL, &a);
	assert_int_equal(c.err_field, TP_FIELD_NONE);
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=payment-card-number&PartialResult=true"
	         "&Required=payment-card-number,security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:01.000Z",
	         &a);
	assert_true(c.partial);
	assert_false(c.keyed);
	assert_string_equal(view_state(&c, data, TP_FIELD_CARD_NUMBER, st), "waiting");
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=payment-card-number&PartialResult=true&PaymentCardNumber=xx"
	         "&Required=payment-card-number,security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:02.000Z",
	         &a);
	assert_true(c.keyed);
	assert_string_equal(view_state(&c, data, TP_FIELD_CARD_NUMBER, st), "keying");
	assert_string_equal(view_state(&c, data, TP_FIELD_SECURITY_CODE, st), "waiting");

	/* the number is refused; the machine asks again */
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	         "&ErrorType=invalid-card-number"
	         "&Required=payment-card-number,security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:03.000Z",
	         &a);
	expect_capture(&a, TP_FIELD_CARD_NUMBER, 1, 2);
	assert_int_equal(c.err_field, TP_FIELD_CARD_NUMBER);
	assert_string_equal(view_state(&c, data, TP_FIELD_CARD_NUMBER, st), "invalid");
	/* Twilio confirms the re-ask: no ErrorType, no digits; the error stays */
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=payment-card-number&PartialResult=true"
	         "&Required=payment-card-number,security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:04.000Z",
	         &a);
	assert_int_equal(a.kind, TP_ACT_NONE);
	assert_string_equal(c.error_type, "invalid-card-number");
	assert_string_equal(view_state(&c, data, TP_FIELD_CARD_NUMBER, st), "invalid");
	v = tp_capture_view(&c, data, PK);
	assert_string_equal(cJSON_GetObjectItem(v, "errorType")->valuestring,
	                    "invalid-card-number");
	assert_string_equal(cJSON_GetObjectItem(v, "errorField")->valuestring,
	                    "payment-card-number");
	cJSON_Delete(v);
	/* kept through a store and a load */
	j = tp_capture_to_json(&c);
	assert_int_equal(tp_capture_from_json(&d, j), TP_OK);
	assert_memory_equal(&c, &d, sizeof c);
	/* a state stored before errorField existed: the current field's */
	cJSON_DeleteItemFromObject(j, "errorField");
	assert_int_equal(tp_capture_from_json(&d, j), TP_OK);
	assert_int_equal(d.err_field, TP_FIELD_CARD_NUMBER);
	cJSON_Delete(j);
	/* an error kept with no field of its own (errorField null) stays so
	 * through a store and a load: the session's MAC is made over what
	 * is stored and checked over what is loaded, so the two must agree */
	d = c;
	d.err_field = TP_FIELD_NONE;
	j = tp_capture_to_json(&d);
	assert_int_equal(tp_capture_from_json(&e, j), TP_OK);
	assert_memory_equal(&d, &e, sizeof d);
	cJSON_Delete(j);
	/* the first new digit clears it: keying again */
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=payment-card-number&PartialResult=true&PaymentCardNumber=x"
	         "&Required=payment-card-number,security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:05.000Z",
	         &a);
	assert_string_equal(c.error_type, "");
	assert_int_equal(c.err_field, TP_FIELD_NONE);
	assert_string_equal(view_state(&c, data, TP_FIELD_CARD_NUMBER, st), "keying");
	v = tp_capture_view(&c, data, PK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "errorType")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "errorField")));
	cJSON_Delete(v);

	/* an error, then the field captured without a partial post: cleared */
	cb_merge(&c, data,
	         "Sid=" PK
	         "&Capture=payment-card-number&PartialResult=false&ErrorType=input-timeout"
	         "&Required=payment-card-number,security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:06.000Z",
	         &a);
	assert_string_equal(c.error_type, "input-timeout");
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=payment-card-number&PartialResult=false"
	         "&PaymentCardNumber=xxxxxxxxxxxx1111&Required=security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:07.000Z",
	         &a);
	expect_capture(&a, TP_FIELD_SECURITY_CODE, 2, 1);
	assert_string_equal(c.error_type, "");
	assert_string_equal(view_state(&c, data, TP_FIELD_CARD_NUMBER, st), "captured");
	assert_string_equal(view_state(&c, data, TP_FIELD_SECURITY_CODE, st), "waiting");

	/* an error on the security code, then Twilio captures another field */
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=security-code&PartialResult=false"
	         "&ErrorType=invalid-security-code&Required=security-code,expiration-date"
	         "&DateUpdated=2026-01-01T10:00:08.000Z",
	         &a);
	assert_int_equal(c.err_field, TP_FIELD_SECURITY_CODE);
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=expiration-date&PartialResult=true"
	         "&Required=security-code,expiration-date&DateUpdated=2026-01-01T10:00:09.000Z",
	         &a);
	assert_int_equal(c.current, TP_FIELD_EXPIRATION_DATE);
	assert_string_equal(c.error_type, "");
	assert_string_equal(view_state(&c, data, TP_FIELD_SECURITY_CODE, st), "waiting");

	/* an error, then the agent resets the field: cleared */
	cb_merge(&c, data,
	         "Sid=" PK "&Capture=expiration-date&PartialResult=false&ErrorType=invalid-date"
	         "&Required=security-code,expiration-date&DateUpdated=2026-01-01T10:00:10.000Z",
	         &a);
	assert_string_equal(view_state(&c, data, TP_FIELD_EXPIRATION_DATE, st), "invalid");
	assert_int_equal(tp_capture_reset(&c, TP_FIELD_EXPIRATION_DATE, &a), TP_CAP_E_OK);
	assert_string_equal(c.error_type, "");
	assert_int_equal(c.err_field, TP_FIELD_NONE);
	assert_string_equal(view_state(&c, data, TP_FIELD_EXPIRATION_DATE, st), "waiting");
	cJSON_Delete(data);
}

static void test_keys(void **state)
{
	tp_capture_action a = {TP_ACT_CAPTURE, TP_FIELD_EXPIRATION_DATE, 3, 2};
	tp_buf k;
	(void)state;
	tp_buf_init(&k, 256);
	tp_capture_action_key(&a, PK, NULL, &k);
	assert_string_equal(k.ptr, PK "-s3-expiration-date-a2");
	tp_buf_reset(&k);
	tp_capture_action_key(&a, PK, "00ff", &k);
	assert_string_equal(k.ptr, PK "-s3-expiration-date-a2-00ff");
	tp_buf_free(&k);
}

/* Twilio's signature concatenates names and values without separators;
 * the same bytes cut differently must not pass as a callback.  The rows:
 * what Twilio (and the emulator) send, then each rule's negative case. */
static void test_callback_check(void **state)
{
#define BASE "AccountSid=AC00000000000000000000000000000001&CallSid=" CA "&Sid=" PK
	static const struct {
		int line;
		const char *form;
		const char *bad; /* NULL: well-formed */
	} rows[] = {
	    /* Well-formed: progress, errors, final, ACH, Twilio's masks. */
	    {__LINE__,
	     BASE "&DateCreated=2021-08-10T03:55:53.408Z&DateUpdated=2021-08-10T03:58:27.290Z"
	          "&PaymentConnector=PGP_MOCK&PaymentMethod=credit-card&ChargeAmount=9.99"
	          "&Capture=payment-card-number&PartialResult=true"
	          "&Required=payment-card-number,security-code,expiration-date"
	          "&PaymentCardNumber=xxxxxxxx",
	     NULL},
	    {__LINE__,
	     BASE "&PartialResult=false&PaymentCardNumber=xxxxxxxxxxxx1111&PaymentCardType=visa"
	          "&Required=security-code,expiration-date&TokenType=reusable",
	     NULL},
	    {__LINE__, BASE "&PaymentCardNumber=xxxx-xxxxxx-x4001&PaymentCardType=amex", NULL},
	    {__LINE__, BASE "&Capture=security-code&SecurityCode=xxx&Required=ExpirationDate",
	     NULL},
	    {__LINE__, BASE "&SecurityCode=***&ExpirationDate=1225&Required=", NULL},
	    {__LINE__, BASE "&ErrorType=invalid-card-number&Required=payment-card-number", NULL},
	    {__LINE__,
	     BASE "&ErrorType=invalid-card-number-security-code-capture-sequence&Attempt=2", NULL},
	    {__LINE__, BASE "&Required=payment-card-number-matcher", NULL},
	    {__LINE__,
	     BASE "&Result=success&PaymentConfirmationCode=ch_a9dc&PaymentToken=&ProfileId="
	          "&PaymentCardNumber=xxxxxxxxxxxx1111",
	     NULL},
	    {__LINE__,
	     BASE "&Result=payment-connector-error&PaymentError=card+is+declined&PayErrorCode=64010"
	          "&ConnectorError=card_declined%3A+Your+card+was+declined.",
	     NULL},
	    {__LINE__, BASE "&Result=cancelled", NULL},
	    {__LINE__, BASE "&Result=caller-hung-up", NULL},
	    {__LINE__,
	     BASE "&PaymentMethod=ach-debit&BankAccountType=consumer-checking"
	          "&BankRoutingNumber=121181976&BankAccountNumber=*******92"
	          "&Capture=bank-account-number&Required=bank-account-number",
	     NULL},
	    {__LINE__, BASE "&PaymentCardPostalCode=94109&Currency=usd", NULL},
	    /* The re-split this check stops: PartialResult=true and what follows
	     * up to Required, cut as Partial= + Result=true...  Same bytes,
	     * same signature. */
	    {__LINE__,
	     BASE
	     "&DateUpdated=2021-08-10T03:58:27.290Z&Partial="
	     "&Result=truePaymentCardNumberxxxxxxxxPaymentConnectorPGP_MOCKPaymentMethodcredit-"
	     "cardRequiredpayment-card-number,security-code,expiration-date",
	     "Result"},
	    /* Each rule. */
	    {__LINE__, BASE "&Result=Success", "Result"},
	    {__LINE__, BASE "&Result=successSecurityCodexxx", "Result"},
	    {__LINE__, BASE "&PartialResult=truePaymentCardNumberxxxx", "PartialResult"},
	    {__LINE__, BASE "&PartialResult=1", "PartialResult"},
	    {__LINE__, BASE "&Required=payment-card-number,Sid", "Required"},
	    {__LINE__, BASE "&Required=payment-card-number,", "Required"},
	    {__LINE__, BASE "&Capture=payment-card", "Capture"},
	    {__LINE__, BASE "&ErrorType=invalid-card-numberPartialResulttrue", "ErrorType"},
	    {__LINE__, BASE "&ErrorType=card-declined", "ErrorType"},
	    {__LINE__, BASE "&PaymentCardNumber=4111111111111111", "PaymentCardNumber"},
	    {__LINE__, BASE "&PaymentCardNumber=xxxxPaymentCardTypevisa", "PaymentCardNumber"},
	    {__LINE__, BASE "&SecurityCode=123", "SecurityCode"},
	    {__LINE__, BASE "&BankAccountNumber=000123456789", "BankAccountNumber"},
	    {__LINE__, BASE "&ExpirationDate=1225Required", "ExpirationDate"},
	    {__LINE__, BASE "&PaymentCardType=visaRequired", "PaymentCardType"},
	    {__LINE__, BASE "&PaymentMethod=credit-cardRequired", "PaymentMethod"},
	    {__LINE__, BASE "&TokenType=forever", "TokenType"},
	    {__LINE__, BASE "&ChargeAmount=9.99.1", "ChargeAmount"},
	    {__LINE__, BASE "&DateUpdated=yesterday", "DateUpdated"},
	    {__LINE__, BASE "&PayErrorCode=64010x", "PayErrorCode"},
	    {__LINE__, BASE "&PaymentError=a%0d%0aX-Injected:+1", "PaymentError"},
	    {__LINE__, "AccountSid=AC00000000000000000000000000000002&CallSid=" CA "&Sid=" PK,
	     "AccountSid"},
	    {__LINE__, BASE "&Sid=" PK, "Sid"}, /* a repeat */
	    {__LINE__, BASE "&9Lives=1", "9Lives"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_params p;
		const char *bad;
		tp_params_init(&p);
		assert_int_equal(tp_form_parse(&p, rows[i].form, strlen(rows[i].form)), TP_OK);
		bad = tp_capture_callback_invalid(&p, "AC00000000000000000000000000000001");
		if (!tp_str_eq(bad, rows[i].bad))
			ROW_FAIL(rows[i].line, "expected %s, got %s\n",
			         rows[i].bad ? rows[i].bad : "NULL", bad ? bad : "NULL");
		tp_params_free(&p);
	}
#undef BASE
}

/* The re-split signs exactly like the callback it came from. */
static void test_resplit_same_signature(void **state)
{
	const char *orig = "Sid=" PK "&PartialResult=true&PaymentCardNumber=xxxx"
	                   "&Required=payment-card-number";
	const char *split = "Sid=" PK "&Partial=&Result=truePaymentCardNumberxxxx"
	                    "Requiredpayment-card-number";
	char a[TP_SIG_LEN + 1], b[TP_SIG_LEN + 1];
	tp_params p, q;
	(void)state;
	tp_params_init(&p);
	tp_params_init(&q);
	tp_form_parse(&p, orig, strlen(orig));
	tp_form_parse(&q, split, strlen(split));
	tp_sig_compute("https://pay.example.com/sync/paySyncUpdate", &p, "0123456789abcdef", a);
	tp_sig_compute("https://pay.example.com/sync/paySyncUpdate", &q, "0123456789abcdef", b);
	assert_string_equal(a, b);
	assert_null(tp_capture_callback_invalid(&p, NULL));
	assert_string_equal(tp_capture_callback_invalid(&q, NULL), "Result");
	tp_params_free(&p);
	tp_params_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_callback_check),
	    cmocka_unit_test(test_resplit_same_signature),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_iso8601),
	    cmocka_unit_test(test_card_flow),
	    cmocka_unit_test(test_retry_cap),
	    cmocka_unit_test(test_ready_then_error),
	    cmocka_unit_test(test_duplicates_and_order),
	    cmocka_unit_test(test_concurrent_workers),
	    cmocka_unit_test(test_ach_and_postal),
	    cmocka_unit_test(test_next_wraps),
	    cmocka_unit_test(test_agent_checks),
	    cmocka_unit_test(test_json_roundtrip),
	    cmocka_unit_test(test_mask),
	    cmocka_unit_test(test_merge_and_view),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_error_kept_and_keying),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
