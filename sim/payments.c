/*
 * payments.c - agent-assisted Payments (contract 3, 4, 5).
 *
 *   POST .../Calls/{CallSid}/Payments.json         create  (201)
 *   POST .../Calls/{CallSid}/Payments/{Sid}.json   update  (202): Capture, or Status
 *
 * A session starts on the leg that produces the DTMF (the resource's
 * call_sid); the customer's keys arrive there (calls.c, /digits).  Every
 * step is reported to the StatusCallback as a signed form post (contract
 * 4.1; the final post's field set as observed, see send_final): the
 * create-time callback; Capture=<field> with PartialResult=true
 * when the agent starts a field; one PartialResult=true post per key with
 * the growing, fully masked value; PartialResult=false when the field
 * ends ('#' or the inter-digit Timeout) with the shrunk Required list, or
 * with ErrorType and Required unchanged when the input is invalid.
 * Status=complete sends the data to the Generic Pay Connector (contract 5)
 * and reports its answer with Result; cancel, '*' and hang-up end the
 * session with their Results.  The callbacks' CallSid is the parent leg
 * of the call ("always refers to the parent leg of a two-leg call").
 *
 * IdempotencyKey: a key repeated on the same resource (create: the call;
 * update: the payment) returns the first answer and does nothing new.
 *
 * Error statuses are 400 for every 64xxx code (contract 3.3, unverified);
 * "call not in progress" is 21220 (the Calls resource's code for the same
 * condition; Twilio's code for Payments is unverified).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define FIELD_DIGITS_MAX 32 /* keys kept per field; more are ignored */

typedef enum field {
	F_CARD,
	F_EXPIRY,
	F_CVC,
	F_POSTAL,
	F_ROUTING,
	F_ACCOUNT,
	F_COUNT,
} field;

static const char *const field_names[F_COUNT] = {
    [F_CARD] = "payment-card-number",    [F_EXPIRY] = "expiration-date",
    [F_CVC] = "security-code",           [F_POSTAL] = "postal-code",
    [F_ROUTING] = "bank-routing-number", [F_ACCOUNT] = "bank-account-number",
};

static const char *const field_errors[F_COUNT] = {
    [F_CARD] = "invalid-card-number",
    [F_EXPIRY] = "invalid-date",
    [F_CVC] = "invalid-security-code",
    [F_POSTAL] = "invalid-postal-code",
    [F_ROUTING] = "invalid-bank-routing-number",
    [F_ACCOUNT] = "invalid-bank-account-number",
};

/* The order of the Required list (contract 4.2). */
static const field required_order[] = {F_CARD, F_CVC, F_EXPIRY, F_POSTAL, F_ROUTING, F_ACCOUNT};

typedef enum pay_state { PAY_ACTIVE, PAY_PROCESSING, PAY_ENDED } pay_state;

typedef struct idem {
	char *key;
	int status;
	char *body;
} idem;

typedef struct payment {
	sim_sid sid;
	sim_sid call_sid; /* the leg that produces the DTMF */
	sim_sid root;     /* the call's parent leg: the callbacks' CallSid */
	char *status_callback;
	char *connector, *method, *bank_account_type, *currency, *description, *token_type;
	char *valid_card_types, *require_matching;
	char *charge_amount; /* "9.99", NULL when tokenizing */
	cJSON *parameter;    /* custom connector parameters, may be NULL */
	bool want_postal, want_cvc, confirmation;
	long min_postal, timeout_s;
	struct timespec created, updated;
	pay_state state;
	int capture; /* field being keyed, -1 for none */
	char digits[FIELD_DIGITS_MAX + 1];
	size_t ndigits;
	double last_key_ms;
	char *value[F_COUNT]; /* captured input, clear: memory only */
	tp_card_brand brand;
	unsigned required; /* 1u << field */
	const char *result;
	const char *error_type; /* last ErrorType */
	char *confirmation_code;
	idem *idems;
	size_t nidems;
} payment;

static payment **pays;
static size_t npays, cappays;

/* Create keys are per call (the resource the POST names). */
typedef struct create_idem {
	sim_sid call;
	idem i;
} create_idem;
static create_idem *cidems;
static size_t ncidems, capcidems;

static pthread_t timer;
static pthread_mutex_t timer_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cv = PTHREAD_COND_INITIALIZER;
static bool timer_stop;

/* ---------------------------------------------------------------- helpers */

static void wipe(payment *p)
{
	int f;

	for (f = 0; f < F_COUNT; f++) {
		sim_free_secret(p->value[f]);
		p->value[f] = NULL;
	}
	explicit_bzero(p->digits, sizeof p->digits);
	p->ndigits = 0;
}

static payment *find_pay(const char *sid)
{
	size_t i;

	for (i = 0; i < npays; i++)
		if (strcmp(pays[i]->sid, sid) == 0)
			return pays[i];
	return NULL;
}

static const char *state_name(const payment *p)
{
	if (p->state == PAY_ACTIVE)
		return "active";
	if (p->state == PAY_PROCESSING)
		return "processing";
	return p->result ? p->result : "ended";
}

/* Twilio's mask of a captured value (contract 4.1). */
static void masked(const payment *p, field f, const char *v, bool partial, tp_buf *out)
{
	size_t n = strlen(v), i;

	switch (f) {
	case F_CARD:
		/* While keying every digit is hidden: showing the last four
		 * of each partial value would reveal the whole number
		 * across the callbacks. */
		if (partial) {
			for (i = 0; i < n; i++)
				tp_buf_addc(out, 'x');
		} else {
			tp_card_mask(v, out);
		}
		break;
	case F_CVC:
		for (i = 0; i < n; i++)
			tp_buf_addc(out, 'x');
		break;
	case F_ACCOUNT:
		for (i = 0; i < n; i++)
			tp_buf_addc(out, partial || i + 2 < n ? '*' : v[i]);
		break;
	case F_EXPIRY:
	case F_POSTAL:
	case F_ROUTING:
	case F_COUNT:
		tp_buf_adds(out, v); /* clear text per contract 4.1 */
		break;
	}
	(void)p;
}

static const char *param_name(field f)
{
	static const char *const names[F_COUNT] = {
	    [F_CARD] = "PaymentCardNumber",    [F_EXPIRY] = "ExpirationDate",
	    [F_CVC] = "SecurityCode",          [F_POSTAL] = "PaymentCardPostalCode",
	    [F_ROUTING] = "BankRoutingNumber", [F_ACCOUNT] = "BankAccountNumber",
	};
	return names[f];
}

static void add_masked(tp_params *ps, const payment *p, field f, const char *v, bool partial)
{
	tp_buf b;

	tp_buf_init(&b, 128);
	masked(p, f, v, partial, &b);
	tp_params_set(ps, param_name(f), tp_buf_str(&b));
	tp_buf_free(&b);
	if (f == F_CARD && !partial && p->brand != TP_BRAND_UNKNOWN)
		tp_params_set(ps, "PaymentCardType", tp_card_brand_name(p->brand));
}

static void required_list(const payment *p, tp_buf *out)
{
	size_t i;

	for (i = 0; i < sizeof required_order / sizeof required_order[0]; i++)
		if (p->required & (1u << required_order[i])) {
			if (out->len)
				tp_buf_addc(out, ',');
			tp_buf_adds(out, field_names[required_order[i]]);
		}
	if (!out->ptr)
		tp_buf_add(out, "", 0);
}

/* The parameters every callback carries (contract 4.1). */
static void base_params(const payment *p, tp_params *ps, bool updated)
{
	char d[40];

	tp_params_add(ps, "AccountSid", sim_conf.account_sid);
	tp_params_add(ps, "CallSid", p->root);
	tp_params_add(ps, "Sid", p->sid);
	sim_time_iso_ms(&p->created, d);
	tp_params_add(ps, "DateCreated", d);
	if (updated) {
		sim_time_iso_ms(&p->updated, d);
		tp_params_add(ps, "DateUpdated", d);
	}
	tp_params_add(ps, "PaymentConnector", p->connector);
	tp_params_add(ps, "PaymentMethod", p->method);
	if (p->charge_amount)
		tp_params_add(ps, "ChargeAmount", p->charge_amount);
	else
		tp_params_add(ps, "TokenType", p->token_type);
	if (p->bank_account_type)
		tp_params_add(ps, "BankAccountType", p->bank_account_type);
}

/* Masked values of every captured field except `skip`. */
static void captured_params(const payment *p, tp_params *ps, int skip)
{
	int f;

	for (f = 0; f < F_COUNT; f++)
		if (f != skip && p->value[f])
			add_masked(ps, p, (field)f, p->value[f], false);
}

static void touch(payment *p)
{
	clock_gettime(CLOCK_REALTIME, &p->updated);
}

static sim_out *callback(const payment *p)
{
	sim_out *o = sim_out_new("payment-status", SIM_T_WEBHOOKS, p->status_callback, "POST");

	memcpy(o->call_sid, p->root, sizeof o->call_sid);
	return o;
}

/* A capture-progress callback for field `f`. */
static void send_capture(payment *p, field f, bool partial, const char *error_type)
{
	sim_out *o = callback(p);
	tp_buf req;

	touch(p);
	base_params(p, &o->params, true);
	tp_params_add(&o->params, "Capture", field_names[f]);
	tp_params_add(&o->params, "PartialResult", partial ? "true" : "false");
	tp_buf_init(&req, 1024);
	required_list(p, &req);
	tp_params_add(&o->params, "Required", tp_buf_str(&req));
	tp_buf_free(&req);
	captured_params(p, &o->params, partial || error_type ? (int)f : -1);
	if (partial && p->ndigits)
		add_masked(&o->params, p, f, p->digits, true);
	if (error_type)
		tp_params_add(&o->params, "ErrorType", error_type);
	sim_out_queue(o);
}

/* The final callback of a session. */
static void send_final(payment *p, const char *result, const char *conf_code, const char *token,
                       const char *pay_error, const char *pay_error_code,
                       const char *connector_error)
{
	sim_out *o = callback(p);
	char d[40];

	touch(p);
	p->state = PAY_ENDED;
	p->result = result;
	p->capture = -1;
	/* The final post carries fewer fields than the others: a real one
	 * logged by the Node original has AccountSid, CallSid, Sid,
	 * DateUpdated, PaymentMethod, the result fields and the masked
	 * card, but no DateCreated, PaymentConnector or ChargeAmount
	 * (contract 4.1 lists them as always present; the observation wins). */
	tp_params_add(&o->params, "AccountSid", sim_conf.account_sid);
	tp_params_add(&o->params, "CallSid", p->root);
	tp_params_add(&o->params, "Sid", p->sid);
	sim_time_iso_ms(&p->updated, d);
	tp_params_add(&o->params, "DateUpdated", d);
	tp_params_add(&o->params, "PaymentMethod", p->method);
	if (p->bank_account_type)
		tp_params_add(&o->params, "BankAccountType", p->bank_account_type);
	tp_params_add(&o->params, "Result", result);
	tp_params_add(&o->params, "PaymentConfirmationCode", conf_code ? conf_code : "");
	tp_params_add(&o->params, "PaymentToken", token ? token : "");
	tp_params_add(&o->params, "ProfileId", "");
	captured_params(p, &o->params, -1);
	if (pay_error) {
		tp_params_add(&o->params, "PaymentError", pay_error);
		tp_params_add(&o->params, "PayErrorCode", pay_error_code);
		tp_params_add(&o->params, "ConnectorError", connector_error ? connector_error : "");
	}
	sim_out_queue(o);
	wipe(p);
}

/* ---------------------------------------------------------------- DTMF */

static bool brand_allowed(const payment *p, tp_card_brand b)
{
	const char *s = p->valid_card_types;

	while (*s) {
		size_t n;
		char name[32];
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n && n < sizeof name) {
			memcpy(name, s, n);
			name[n] = '\0';
			if (tp_card_brand_from_name(name) == b)
				return true;
		}
		s += n;
	}
	return false;
}

/* Validates the keyed digits of field f (contract 4.1 ErrorType);
 * NULL when valid. */
static const char *validate(payment *p, field f, const char *d, tp_card_brand *brand)
{
	size_t n = strlen(d);
	int mm, yyyy;
	const char *why;

	switch (f) {
	case F_CARD:
		if (tp_card_number_check(d, brand, &why) != TP_OK)
			return why;
		return brand_allowed(p, *brand) ? NULL : "invalid-card-type";
	case F_EXPIRY:
		if (n != 4 || tp_card_expiry_parse(d, &mm, &yyyy) != TP_OK ||
		    !tp_card_expiry_current(mm, yyyy, time(NULL)))
			return "invalid-date";
		return NULL;
	case F_CVC:
		/* The CVC length depends on the brand: a security code keyed
		 * before the card number cannot be checked. */
		if (!p->value[F_CARD])
			return "invalid-card-number-security-code-capture-sequence";
		return tp_card_cvc_ok(p->brand, d) ? NULL : "invalid-security-code";
	case F_POSTAL:
		return n >= (size_t)p->min_postal && n >= 1 && n <= 10 ? NULL
		                                                       : "invalid-postal-code";
	case F_ROUTING:
		return tp_aba_routing_ok(d) ? NULL : "invalid-bank-routing-number";
	case F_ACCOUNT:
		return tp_bank_account_ok(d) ? NULL : "invalid-bank-account-number";
	case F_COUNT:
		break;
	}
	return field_errors[f];
}

/* The field being keyed ends ('#' or the timeout). */
static void end_field(payment *p)
{
	field f = (field)p->capture;
	tp_card_brand brand = TP_BRAND_UNKNOWN;
	const char *err;

	p->digits[p->ndigits] = '\0';
	err = validate(p, f, p->digits, &brand);
	p->capture = -1;
	p->error_type = err;
	if (!err) {
		p->value[f] = tp_xstrdup(p->digits);
		if (f == F_CARD)
			p->brand = brand;
		p->required &= ~(1u << f);
	}
	send_capture(p, f, false, err);
	explicit_bzero(p->digits, sizeof p->digits);
	p->ndigits = 0;
}

static payment *active_on(const sim_leg *leg)
{
	size_t i;

	for (i = 0; i < npays; i++)
		if (pays[i]->state == PAY_ACTIVE && strcmp(pays[i]->call_sid, leg->sid) == 0)
			return pays[i];
	return NULL;
}

void sim_pay_dtmf(sim_leg *pstn, char key)
{
	payment *p = active_on(pstn);

	if (!p)
		return; /* no session listening: the keys just pass */
	if (key == '*') {
		/* <Pay>: '*' ends the session (caller-interrupted-with-star). */
		send_final(p, "caller-interrupted-with-star", NULL, NULL, NULL, NULL, NULL);
		return;
	}
	if (p->capture < 0)
		return;
	if (key == '#') {
		end_field(p);
		return;
	}
	if (p->ndigits < FIELD_DIGITS_MAX) {
		p->digits[p->ndigits++] = key;
		p->digits[p->ndigits] = '\0';
	}
	p->last_key_ms = sim_mono_ms();
	send_capture(p, (field)p->capture, true, NULL);
}

void sim_pay_leg_ended(const sim_leg *leg)
{
	size_t i;

	for (i = 0; i < npays; i++)
		if (pays[i]->state == PAY_ACTIVE && strcmp(pays[i]->call_sid, leg->sid) == 0)
			send_final(pays[i], "caller-hung-up", NULL, NULL, NULL, NULL, NULL);
	/* A session already at the connector is ended by its answer. */
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&timer_mu);
	while (!timer_stop) {
		struct timespec dl;
		size_t i;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 100000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&timer_cv, &timer_mu, &dl);
		if (timer_stop)
			break;
		pthread_mutex_lock(&sim_lock);
		/* Timeout: seconds between keys, after the first one, before
		 * the digits are validated (contract 3.1 Timeout). */
		for (i = 0; i < npays; i++) {
			payment *p = pays[i];
			if (p->state == PAY_ACTIVE && p->capture >= 0 && p->ndigits &&
			    sim_mono_ms() - p->last_key_ms >= (double)p->timeout_s * 1000.0)
				end_field(p);
		}
		pthread_mutex_unlock(&sim_lock);
	}
	pthread_mutex_unlock(&timer_mu);
	return NULL;
}

tp_rc sim_pay_timer_start(void)
{
	return pthread_create(&timer, NULL, timer_main, NULL) == 0 ? TP_OK : TP_EIO;
}

void sim_pay_timer_stop(void)
{
	pthread_mutex_lock(&timer_mu);
	timer_stop = true;
	pthread_cond_signal(&timer_cv);
	pthread_mutex_unlock(&timer_mu);
	pthread_join(timer, NULL);
}

/* ---------------------------------------------------------------- connector */

typedef struct conn_ctx {
	sim_sid pay;
	bool charge;
} conn_ctx;

static const char *json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

/* The connector answered (contract 5): charge_id / token_id, or
 * error_code / error_message. */
static void on_connector(void *ctx, const sim_out_result *res)
{
	conn_ctx *c = ctx;
	payment *p;
	const char *code = c->charge ? "64008" : "64010";
	const char *what = c->charge ? "charge creation" : "tokenization";
	cJSON *j = NULL;
	tp_buf msg;

	if (!res) {
		free(c);
		return;
	}
	tp_buf_init(&msg, 1024);
	pthread_mutex_lock(&sim_lock);
	p = find_pay(c->pay);
	if (!p || p->state != PAY_PROCESSING)
		goto out;
	if (!res->sent) {
		tp_buf_addf(&msg,
		            "Payment Gateway rejected %s. Could not reach the Payment Provider.",
		            what);
		send_final(p, "payment-connector-error", NULL, NULL, tp_buf_str(&msg), code,
		           res->error);
		goto out;
	}
	if (res->status < 200 || res->status >= 300) {
		char st[32];
		snprintf(st, sizeof st, "HTTP %ld", res->status);
		tp_buf_addf(&msg, "Payment Gateway rejected %s. The Payment Provider answered %ld.",
		            what, res->status);
		send_final(p, "payment-connector-error", NULL, NULL, tp_buf_str(&msg), code, st);
		goto out;
	}
	j = cJSON_ParseWithLength(res->body.ptr ? res->body.ptr : "", res->body.len);
	if (!cJSON_IsObject(j)) {
		tp_buf_addf(&msg,
		            "Payment Gateway rejected %s. Got malformed response from Payment "
		            "Provider.",
		            what);
		send_final(p, "payment-connector-error", NULL, NULL, tp_buf_str(&msg), code,
		           "malformed response");
		goto out;
	}
	{
		const cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "error_code");
		const char *em = json_str(j, "error_message");
		const char *id = json_str(j, c->charge ? "charge_id" : "token_id");

		if (ec && !cJSON_IsNull(ec)) {
			char *ecs = cJSON_IsString(ec) ? tp_xstrdup(ec->valuestring)
			                               : cJSON_PrintUnformatted(ec);
			send_final(p, "payment-connector-error", NULL, NULL,
			           em ? em : "The payment was declined", code, ecs);
			free(ecs);
		} else if (!id) {
			tp_buf_addf(&msg,
			            "Payment Gateway rejected %s. Got malformed response from "
			            "Payment Provider.",
			            what);
			send_final(p, "payment-connector-error", NULL, NULL, tp_buf_str(&msg), code,
			           c->charge ? "no charge_id" : "no token_id");
		} else if (c->charge) {
			free(p->confirmation_code);
			p->confirmation_code = tp_xstrdup(id);
			send_final(p, "success", id, "", NULL, NULL, NULL);
		} else {
			send_final(p, "success", "", id, NULL, NULL, NULL);
		}
	}
out:
	pthread_mutex_unlock(&sim_lock);
	cJSON_Delete(j);
	tp_buf_free(&msg);
	free(c);
}

/* The connector request (contract 5): all values strings, card data in
 * clear (the endpoint is the PCI-scoped processor). */
static void call_connector(payment *p)
{
	cJSON *j = cJSON_CreateObject();
	char uuid[37];
	sim_out *o;
	conn_ctx *c = tp_xcalloc(1, sizeof *c);
	bool charge = p->charge_amount != NULL;

	sim_uuid(uuid);
	cJSON_AddStringToObject(j, "transaction_id", uuid);
	cJSON_AddStringToObject(j, "method", charge ? "charge" : "tokenize");
	if (strcmp(p->method, "ach-debit") == 0) {
		cJSON_AddStringToObject(j, "routing_number", p->value[F_ROUTING]);
		cJSON_AddStringToObject(j, "account_number", p->value[F_ACCOUNT]);
		cJSON_AddStringToObject(j, "account_type", p->bank_account_type);
	} else {
		char mm[3] = {0}, yy[3] = {0};
		cJSON_AddStringToObject(j, "cardnumber", p->value[F_CARD]);
		if (p->value[F_CVC])
			cJSON_AddStringToObject(j, "cvv", p->value[F_CVC]);
		memcpy(mm, p->value[F_EXPIRY], 2);
		memcpy(yy, p->value[F_EXPIRY] + 2, 2);
		cJSON_AddStringToObject(j, "expiry_month", mm);
		cJSON_AddStringToObject(j, "expiry_year", yy);
		if (p->value[F_POSTAL])
			cJSON_AddStringToObject(j, "postal_code", p->value[F_POSTAL]);
	}
	if (charge)
		cJSON_AddStringToObject(j, "amount", p->charge_amount);
	else
		cJSON_AddStringToObject(j, "token_type", p->token_type);
	cJSON_AddStringToObject(j, "currency_code", p->currency);
	cJSON_AddStringToObject(j, "description", p->description ? p->description : "");
	cJSON_AddItemToObject(j, "parameters",
	                      p->parameter ? cJSON_Duplicate(p->parameter, true)
	                                   : cJSON_CreateObject());
	o = sim_out_new("connector", SIM_T_CONNECTOR, sim_conf.connector_url, "POST");
	memcpy(o->call_sid, p->root, sizeof o->call_sid);
	o->json = cJSON_PrintUnformatted(j);
	if (sim_conf.connector_user && sim_conf.connector_pass) {
		tp_buf up;
		tp_buf_init(&up, 1024);
		tp_buf_addf(&up, "%s:%s", sim_conf.connector_user, sim_conf.connector_pass);
		o->userpwd = tp_buf_take(&up);
		tp_buf_free(&up);
	}
	memcpy(c->pay, p->sid, sizeof c->pay);
	c->charge = charge;
	o->done = on_connector;
	o->ctx = c;
	sim_out_queue(o);
	/* The clear values live on in the queued body only. */
	{
		char *s = cJSON_PrintUnformatted(j);
		if (s) {
			explicit_bzero(s, strlen(s));
			free(s);
		}
	}
	cJSON_Delete(j);
}

/* ---------------------------------------------------------------- REST */

static cJSON *pay_resource(const payment *p)
{
	cJSON *j = cJSON_CreateObject();
	char d[40];
	tp_buf u;

	tp_buf_init(&u, 1024);
	cJSON_AddStringToObject(j, "account_sid", sim_conf.account_sid);
	cJSON_AddStringToObject(j, "call_sid", p->call_sid);
	cJSON_AddStringToObject(j, "sid", p->sid);
	sim_time_rfc2822(p->created.tv_sec, d);
	cJSON_AddStringToObject(j, "date_created", d);
	sim_time_rfc2822(p->updated.tv_sec, d);
	cJSON_AddStringToObject(j, "date_updated", d);
	tp_buf_addf(&u, "/2010-04-01/Accounts/%s/Calls/%s/Payments/%s.json", sim_conf.account_sid,
	            p->call_sid, p->sid);
	cJSON_AddStringToObject(j, "uri", tp_buf_str(&u));
	tp_buf_free(&u);
	return j;
}

static void remember(idem *i, const char *key, const sim_resp *rs)
{
	i->key = tp_xstrdup(key);
	i->status = rs->status;
	i->body = tp_xstrdup(tp_buf_str(&rs->body));
}

static void replay(const idem *i, sim_resp *rs)
{
	sim_resp_text(rs, i->status, "application/json; charset=utf-8", i->body);
}

/* Answers 400 with Twilio's error JSON: code, message. */
static void bad(sim_resp *rs, long code, const char *msg)
{
	sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, code, "%s", msg);
}

static bool read_bool_param(const sim_req *rq, sim_resp *rs, const char *name, bool def, bool *out)
{
	const char *v = tp_params_get(&rq->form, name);

	*out = def;
	if (v && tp_str_to_bool(v, out) != TP_OK) {
		tp_buf m;
		tp_buf_init(&m, 256);
		tp_buf_addf(&m, "Invalid parameter value: %s must be true or false", name);
		bad(rs, TP_TW_PAY_BAD_VALUE, tp_buf_str(&m));
		tp_buf_free(&m);
		return false;
	}
	return true;
}

static bool one_of(const char *v, const char *const *set)
{
	size_t i;

	for (i = 0; set[i]; i++)
		if (strcmp(v, set[i]) == 0)
			return true;
	return false;
}

/* Reads and checks the create parameters into p (contract 3.1, 3.3). */
static bool read_create(const sim_req *rq, sim_resp *rs, payment *p)
{
	static const char *const methods[] = {"credit-card", "ach-debit", NULL};
	static const char *const bank_types[] = {"consumer-checking", "consumer-savings",
	                                         "commercial-checking", NULL};
	static const char *const token_types[] = {"one-time", "reusable", "payment-method", NULL};
	const char *v;
	char *cb;
	long l;

	cb = sim_abs_url(sim_conf.server_url, tp_params_get(&rq->form, "StatusCallback"));
	if (!cb) {
		bad(rs, 64016, "Invalid statusCallback URL");
		return false;
	}
	p->status_callback = cb;

	v = tp_params_get(&rq->form, "PaymentMethod");
	if (v && !one_of(v, methods)) {
		bad(rs, TP_TW_PAY_METHOD, "Invalid paymentMethod: credit-card or ach-debit");
		return false;
	}
	p->method = tp_xstrdup(v ? v : "credit-card");

	v = tp_params_get(&rq->form, "BankAccountType");
	if (v && strcmp(p->method, "credit-card") == 0) {
		bad(rs, TP_TW_PAY_BANK_ACCOUNT_TYPE,
		    "BankAccountType is not allowed with PaymentMethod=credit-card");
		return false;
	}
	if (v && !one_of(v, bank_types)) {
		bad(rs, TP_TW_PAY_BAD_VALUE, "Invalid parameter value: BankAccountType");
		return false;
	}
	if (strcmp(p->method, "ach-debit") == 0)
		p->bank_account_type = tp_xstrdup(v ? v : "consumer-checking");

	v = tp_params_get(&rq->form, "PaymentConnector");
	if (!v)
		v = "Default";
	if (!sim_conf.connector_name || strcmp(v, sim_conf.connector_name) != 0) {
		bad(rs, TP_TW_PAY_CONNECTOR, "Invalid paymentConnector attribute");
		return false;
	}
	p->connector = tp_xstrdup(v);

	v = tp_params_get(&rq->form, "Currency");
	{
		char cur[4];
		if (!v)
			v = "USD";
		if (tp_currency_code(v, strlen(v), cur) < 0) {
			bad(rs, TP_TW_PAY_CURRENCY, "Currency is not supported");
			return false;
		}
		p->currency = tp_xstrdup(cur);
	}

	v = tp_params_get(&rq->form, "ChargeAmount");
	if (v && *v) {
		int places = tp_currency_minor_units(p->currency);
		int64_t minor;
		/* 0 < x < 1,000,000 (TP_AMOUNT_LIMIT) in the currency's minor
		 * units; 0 or blank means tokenize (contract 3.1). */
		if (tp_money_parse(v, places, &minor) != TP_OK ||
		    !tp_amount_below_limit(minor, places)) {
			bad(rs, TP_TW_PAY_AMOUNT, "Invalid charge amount");
			return false;
		}
		if (minor > 0) {
			tp_buf a;
			tp_buf_init(&a, 64);
			tp_money_format(&a, minor, places);
			p->charge_amount = tp_buf_take(&a);
			tp_buf_free(&a);
		}
	}

	v = tp_params_get(&rq->form, "TokenType");
	if (v && !one_of(v, token_types)) {
		bad(rs, TP_TW_PAY_BAD_VALUE, "Invalid parameter value: TokenType");
		return false;
	}
	p->token_type = tp_xstrdup(v ? v : "reusable");

	v = tp_params_get(&rq->form, "Description");
	if (v)
		p->description = tp_xstrdup(v);

	v = tp_params_get(&rq->form, "Input");
	if (v && !tp_str_caseeq(v, "dtmf")) {
		bad(rs, TP_TW_PAY_BAD_VALUE, "Invalid parameter value: Input must be dtmf");
		return false;
	}

	v = tp_params_get(&rq->form, "Timeout");
	p->timeout_s = 5;
	if (v && (!sim_parse_long(v, 600, &l) || l < 1)) {
		bad(rs, TP_TW_PAY_BAD_VALUE,
		    "Invalid parameter value: Timeout is 1 to 600 seconds");
		return false;
	}
	if (v)
		p->timeout_s = l;

	v = tp_params_get(&rq->form, "MinPostalCodeLength");
	p->min_postal = 1;
	if (v && (!sim_parse_long(v, 10, &l))) {
		bad(rs, TP_TW_PAY_BAD_VALUE, "Invalid parameter value: MinPostalCodeLength");
		return false;
	}
	if (v && l > 0)
		p->min_postal = l;

	v = tp_params_get(&rq->form, "ValidCardTypes");
	p->valid_card_types = tp_xstrdup(v ? v : "visa mastercard amex");
	{
		const char *s = p->valid_card_types;
		bool any = false;
		while (*s) {
			size_t n;
			char name[32];
			while (*s == ' ')
				s++;
			n = strcspn(s, " ");
			if (!n)
				break;
			if (n >= sizeof name) {
				bad(rs, TP_TW_PAY_BAD_VALUE,
				    "Invalid parameter value: ValidCardTypes");
				return false;
			}
			memcpy(name, s, n);
			name[n] = '\0';
			if (tp_card_brand_from_name(name) == TP_BRAND_UNKNOWN) {
				bad(rs, TP_TW_PAY_BAD_VALUE,
				    "Invalid parameter value: ValidCardTypes");
				return false;
			}
			any = true;
			s += n;
		}
		if (!any) {
			bad(rs, TP_TW_PAY_BAD_VALUE, "Invalid parameter value: ValidCardTypes");
			return false;
		}
	}

	v = tp_params_get(&rq->form, "Parameter");
	if (v) {
		const cJSON *c;
		p->parameter = cJSON_Parse(v);
		if (!cJSON_IsObject(p->parameter)) {
			bad(rs, TP_TW_PAY_BAD_VALUE,
			    "Invalid parameter value: Parameter must be a JSON object");
			return false;
		}
		cJSON_ArrayForEach (c, p->parameter) {
			if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
				bad(rs, TP_TW_PAY_BAD_VALUE,
				    "Invalid parameter value: Parameter must be a single-level "
				    "JSON object");
				return false;
			}
		}
	}
	if (strcmp(p->method, "ach-debit") == 0 && !p->parameter) {
		bad(rs, TP_TW_PAY_MISSING_PARAM,
		    "Missing parameter: Parameter is required for ach-debit");
		return false;
	}

	v = tp_params_get(&rq->form, "RequireMatchingInputs");
	if (v) {
		bad(rs, TP_TW_PAY_BAD_VALUE,
		    "Invalid parameter value: RequireMatchingInputs is not supported by "
		    "this emulator");
		return false;
	}

	if (!read_bool_param(rq, rs, "PostalCode", true, &p->want_postal) ||
	    !read_bool_param(rq, rs, "SecurityCode", true, &p->want_cvc) ||
	    !read_bool_param(rq, rs, "Confirmation", false, &p->confirmation))
		return false;
	return true;
}

static void pay_free(payment *p)
{
	size_t i;

	wipe(p);
	free(p->status_callback);
	free(p->connector);
	free(p->method);
	free(p->bank_account_type);
	free(p->currency);
	free(p->description);
	free(p->token_type);
	free(p->valid_card_types);
	free(p->require_matching);
	free(p->charge_amount);
	free(p->confirmation_code);
	cJSON_Delete(p->parameter);
	for (i = 0; i < p->nidems; i++) {
		free(p->idems[i].key);
		free(p->idems[i].body);
	}
	free(p->idems);
	free(p);
}

static bool require_common(const sim_req *rq, sim_resp *rs)
{
	if (!tp_params_get(&rq->form, "IdempotencyKey")) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Missing required parameter IdempotencyKey in the post body");
		return false;
	}
	if (!tp_params_get(&rq->form, "StatusCallback")) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Missing required parameter StatusCallback in the post body");
		return false;
	}
	return true;
}

static bool call_in_progress(const sim_leg *leg, sim_resp *rs)
{
	if (strcmp(leg->status, "in-progress") == 0)
		return true;
	sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, TP_TW_CALL_NOT_IN_PROGRESS,
	                      "Call is not in-progress. Cannot start a payment.");
	return false;
}

static void pay_create(const sim_req *rq, sim_resp *rs, sim_leg *leg)
{
	const char *key = tp_params_get(&rq->form, "IdempotencyKey");
	payment *p;
	size_t i;
	int f;

	for (i = 0; i < ncidems; i++)
		if (strcmp(cidems[i].call, leg->sid) == 0 && strcmp(cidems[i].i.key, key) == 0) {
			replay(&cidems[i].i, rs);
			return;
		}
	if (!call_in_progress(leg, rs))
		return;
	for (i = 0; i < npays; i++)
		if (pays[i]->state != PAY_ENDED && strcmp(pays[i]->root, leg->root) == 0) {
			sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, TP_TW_PAY_INVALID_OPERATION,
			                      "Invalid Operation: a payment session is already in "
			                      "progress on this call");
			return;
		}
	p = tp_xcalloc(1, sizeof *p);
	p->capture = -1;
	if (!read_create(rq, rs, p)) {
		pay_free(p);
		return;
	}
	sim_new_sid(p->sid, "PK");
	memcpy(p->call_sid, leg->sid, sizeof p->call_sid);
	memcpy(p->root, leg->root, sizeof p->root);
	clock_gettime(CLOCK_REALTIME, &p->created);
	p->updated = p->created;
	if (strcmp(p->method, "ach-debit") == 0) {
		p->required = 1u << F_ROUTING | 1u << F_ACCOUNT;
	} else {
		p->required = 1u << F_CARD | 1u << F_EXPIRY;
		if (p->want_cvc)
			p->required |= 1u << F_CVC;
		if (p->want_postal)
			p->required |= 1u << F_POSTAL;
	}
	for (f = 0; f < F_COUNT; f++)
		p->value[f] = NULL;
	if (npays == cappays) {
		cappays = cappays ? 2 * cappays : 16;
		pays = tp_xrealloc(pays, cappays * sizeof *pays);
	}
	pays[npays++] = p;
	{
		sim_out *o = callback(p);
		base_params(p, &o->params, false);
		sim_out_queue(o);
	}
	tp_log_kv(TP_LOG_INFO, "payment created", "payment", p->sid, "call", p->call_sid, "method",
	          p->method, "charge", p->charge_amount ? p->charge_amount : "tokenize");
	sim_resp_json(rs, TP_S_CREATED, pay_resource(p));
	if (ncidems == capcidems) {
		capcidems = capcidems ? 2 * capcidems : 16;
		cidems = tp_xrealloc(cidems, capcidems * sizeof *cidems);
	}
	memcpy(cidems[ncidems].call, leg->sid, sizeof cidems[ncidems].call);
	remember(&cidems[ncidems].i, key, rs);
	ncidems++;
}

static int field_of(const char *name)
{
	int f;

	for (f = 0; f < F_COUNT; f++)
		if (strcmp(name, field_names[f]) == 0)
			return f;
	return -1;
}

static void pay_update(const sim_req *rq, sim_resp *rs, sim_leg *leg, payment *p)
{
	const char *key = tp_params_get(&rq->form, "IdempotencyKey");
	const char *capture = tp_params_get(&rq->form, "Capture");
	const char *status = tp_params_get(&rq->form, "Status");
	char *cb;
	size_t i;

	for (i = 0; i < p->nidems; i++)
		if (strcmp(p->idems[i].key, key) == 0) {
			replay(&p->idems[i], rs);
			return;
		}
	if ((capture && status) || (!capture && !status)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, TP_TW_PAY_CAPTURE_OR_STATUS,
		                      "A value is needed for either Capture or Status parameters");
		return;
	}
	if (p->state != PAY_ACTIVE) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, TP_TW_PAY_INVALID_OPERATION,
		                      "Invalid Operation: the payment session has %s",
		                      p->state == PAY_PROCESSING ? "been completed" : "ended");
		return;
	}
	if (!call_in_progress(leg, rs))
		return;
	cb = sim_abs_url(sim_conf.server_url, tp_params_get(&rq->form, "StatusCallback"));
	if (!cb) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 64016, "Invalid statusCallback URL");
		return;
	}
	if (capture) {
		int f = field_of(capture);
		bool ach = strcmp(p->method, "ach-debit") == 0;
		if (f < 0 || (ach != (f == F_ROUTING || f == F_ACCOUNT)) ||
		    (f == F_CVC && !p->want_cvc) || (f == F_POSTAL && !p->want_postal)) {
			free(cb);
			sim_resp_twilio_error(
			    rs, TP_S_BAD_REQUEST, TP_TW_PAY_BAD_VALUE,
			    "Invalid parameter value: Capture=%s is not a field of "
			    "this payment",
			    capture);
			return;
		}
		free(p->status_callback);
		p->status_callback = cb;
		/* (Re)capturing a field replaces what was keyed before. */
		sim_free_secret(p->value[f]);
		p->value[f] = NULL;
		if (f == F_CARD)
			p->brand = TP_BRAND_UNKNOWN;
		p->required |= 1u << f;
		p->capture = f;
		p->error_type = NULL;
		explicit_bzero(p->digits, sizeof p->digits);
		p->ndigits = 0;
		send_capture(p, (field)f, true, NULL);
	} else if (strcmp(status, "complete") == 0) {
		if (p->required) {
			free(cb);
			sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, TP_TW_PAY_INCOMPLETE,
			                      "Required payment information incomplete");
			return;
		}
		free(p->status_callback);
		p->status_callback = cb;
		p->state = PAY_PROCESSING;
		p->capture = -1;
		touch(p);
		call_connector(p);
	} else if (strcmp(status, "cancel") == 0) {
		free(p->status_callback);
		p->status_callback = cb;
		send_final(p, "cancelled", NULL, NULL, NULL, NULL, NULL);
	} else {
		free(cb);
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, TP_TW_PAY_BAD_VALUE,
		                      "Invalid parameter value: Status must be complete or cancel");
		return;
	}
	touch(p);
	sim_resp_json(rs, TP_S_ACCEPTED, pay_resource(p));
	p->idems = tp_xrealloc(p->idems, (p->nidems + 1) * sizeof *p->idems);
	remember(&p->idems[p->nidems++], key, rs);
}

void sim_payments_api(sim_req *rq, sim_resp *rs, sim_leg *leg, const char *pk)
{
	payment *p;

	if (!require_common(rq, rs))
		return;
	if (!pk) {
		pay_create(rq, rs, leg);
		return;
	}
	p = find_pay(pk);
	if (!p || !sim_leg_same_call(sim_leg_find(p->call_sid), leg)) {
		sim_resp_twilio_error(rs, TP_S_NOT_FOUND, TP_TW_NOT_FOUND,
		                      "The requested resource %s was not found", rq->path);
		return;
	}
	pay_update(rq, rs, leg, p);
}

/* ---------------------------------------------------------------- control view */

cJSON *sim_pay_json(const sim_leg *leg)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < npays; i++) {
		const payment *p = pays[i];
		cJSON *j, *cap;
		tp_buf req;
		int f;

		if (strcmp(p->root, leg->root) != 0)
			continue;
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "sid", p->sid);
		cJSON_AddStringToObject(j, "call_sid", p->call_sid);
		cJSON_AddStringToObject(j, "state", state_name(p));
		cJSON_AddStringToObject(j, "payment_method", p->method);
		cJSON_AddStringToObject(j, "connector", p->connector);
		if (p->charge_amount)
			cJSON_AddStringToObject(j, "charge_amount", p->charge_amount);
		else
			cJSON_AddStringToObject(j, "token_type", p->token_type);
		cJSON_AddStringToObject(j, "currency", p->currency);
		if (p->capture >= 0) {
			tp_buf m;
			cJSON_AddStringToObject(j, "capture", field_names[p->capture]);
			tp_buf_init(&m, 64);
			masked(p, (field)p->capture, p->digits, true, &m);
			cJSON_AddStringToObject(j, "keyed", tp_buf_str(&m));
			tp_buf_free(&m);
		} else {
			cJSON_AddNullToObject(j, "capture");
		}
		tp_buf_init(&req, 1024);
		required_list(p, &req);
		cJSON_AddStringToObject(j, "required", tp_buf_str(&req));
		tp_buf_free(&req);
		cap = cJSON_AddObjectToObject(j, "captured");
		for (f = 0; f < F_COUNT; f++)
			if (p->value[f]) {
				tp_buf m;
				tp_buf_init(&m, 64);
				masked(p, (field)f, p->value[f], false, &m);
				cJSON_AddStringToObject(cap, field_names[f], tp_buf_str(&m));
				tp_buf_free(&m);
			}
		if (p->brand != TP_BRAND_UNKNOWN)
			cJSON_AddStringToObject(j, "card_type", tp_card_brand_name(p->brand));
		if (p->error_type)
			cJSON_AddStringToObject(j, "error_type", p->error_type);
		if (p->result)
			cJSON_AddStringToObject(j, "result", p->result);
		if (p->confirmation_code)
			cJSON_AddStringToObject(j, "payment_confirmation_code",
			                        p->confirmation_code);
		cJSON_AddItemToArray(a, j);
	}
	return a;
}
