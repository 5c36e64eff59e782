/*
 * connector.c - the merchant side of Twilio's Generic Pay Connector
 * (twilio-contract.md section 5).
 *
 * Twilio POSTs the captured payment data, unmasked, as JSON with every
 * value a string:
 *
 *   {"transaction_id": "72500aba-...", "method": "charge",
 *    "cardnumber": "...", "cvv": "...", "expiry_month": "12",
 *    "expiry_year": "25", "postal_code": "94105", "amount": "10.00",
 *    "currency_code": "USD", "description": "...", "parameters": {}}
 *
 * tokenize has no amount and may carry "token_type"; ACH carries bank
 * fields instead of card fields.  We answer HTTP 200 with
 *
 *   {"charge_id": "ch_...", "error_code": null, "error_message": null}
 *   {"token_id": "tok_...", "error_code": null, "error_message": null}
 *
 * or the id null and the error fields set.  Validation failures use that
 * same shape and status, not a 4xx: Twilio relays error_message to the
 * status callback (PaymentError) only from a well-formed answer, and
 * reports anything else as "malformed response from Payment Provider", so
 * the agent would never learn which field was wrong.
 *
 * Where Twilio's docs leave names open we accept the spellings in use:
 * bank_routing_number / routing_number, bank_account_number /
 * account_number, bank_account_type / account_type (twilio-contract.md 5
 * marks the ACH names unverified).
 *
 * PCI: card and bank numbers are read in place from the request JSON and
 * never copied; no error message quotes a request value; the request's
 * log line carries brand, last four, transaction id, amount and outcome
 * only (tp_resp_log, which redacts again).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

const char *const tp_connector_need[] = {"CONNECTOR_USERNAME", "CONNECTOR_PASSWORD", NULL};

#define TRANSACTION_ID_MAX 128
#define POSTAL_CODE_MAX    10

static bool fail(tp_conn_error *err, const char *code, const char *fmt, ...) TP_PRINTF(3, 4);
static bool fail(tp_conn_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return false;
}

/* A string member of the body: TP_OK, TP_ENOTFOUND when absent (null and
 * "" count as absent), TP_EINVAL when of another type.  When `num`
 * is given, an integral or decimal JSON number is accepted too and written
 * there (values are strings in Twilio's posts; a hand-written request may
 * not quote them).  Numbers are never accepted for card or bank digits:
 * a leading zero would be lost. */
static tp_rc field(const cJSON *json, const char *name, char *num, size_t num_len, const char **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(json, name);

	*out = NULL;
	if (!it || cJSON_IsNull(it))
		return TP_ENOTFOUND;
	if (cJSON_IsString(it)) {
		if (!it->valuestring || !*it->valuestring)
			return TP_ENOTFOUND;
		*out = it->valuestring;
		return TP_OK;
	}
	if (num && cJSON_IsNumber(it)) {
		snprintf(num, num_len, "%.15g", it->valuedouble);
		*out = num;
		return TP_OK;
	}
	return TP_EINVAL;
}

/* field() for the first of several accepted names; *used gets the name
 * found (for messages), or the first name. */
static tp_rc field_any(const cJSON *json, const char *const *names, const char **used,
                       const char **out)
{
	size_t i;

	*used = names[0];
	for (i = 0; names[i]; i++) {
		tp_rc rc = field(json, names[i], NULL, 0, out);
		if (rc != TP_ENOTFOUND) {
			*used = names[i];
			return rc;
		}
	}
	return TP_ENOTFOUND;
}

static bool all_digits(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && s[n] == '\0';
}

static bool transaction_id_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > TRANSACTION_ID_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
	}
	return true;
}

static bool postal_code_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > POSTAL_CODE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ' ' || c == '-'))
			return false;
	}
	return true;
}

static bool bad_type(tp_conn_error *err, const char *name)
{
	return fail(err, "invalid_field_type", "%s must be a JSON string", name);
}

/* "1".."12", optionally zero-padded. */
static bool parse_month(const char *s, int *month)
{
	uint64_t v;

	if (strlen(s) > 2 || tp_str_to_u64(s, strlen(s), 12, &v) != TP_OK || v < 1)
		return false;
	*month = (int)v;
	return true;
}

/* Two digits (the Twilio tutorial's log) or four (the Node original's
 * comment): both occur (twilio-contract.md 5). */
static bool parse_year(const char *s, int *year)
{
	size_t n = strlen(s);
	uint64_t v;

	if ((n != 2 && n != 4) || tp_str_to_u64(s, n, 9999, &v) != TP_OK)
		return false;
	*year = n == 2 ? 2000 + (int)v : (int)v;
	return n == 2 || v >= 1900;
}

static bool parse_card(const cJSON *json, time_t now, tp_conn_req *r, tp_conn_error *err)
{
	const char *month, *year, *why;
	size_t n;
	tp_rc rc;
	struct tm tm;
	int cur, exp;

	rc = field(json, "cardnumber", NULL, 0, &r->cardnumber);
	if (rc == TP_EINVAL)
		return bad_type(err, "cardnumber");
	if (rc == TP_ENOTFOUND)
		return fail(err, "missing_field", "cardnumber is required");
	n = strlen(r->cardnumber);
	if (!all_digits(r->cardnumber))
		return fail(err, "invalid_number", "the card number must contain digits only");
	if (n < 12 || n > 19)
		return fail(err, "invalid_number", "the card number must be 12 to 19 digits long");
	if (tp_card_number_check(r->cardnumber, &r->brand, &why) != TP_OK) {
		if (r->brand == TP_BRAND_UNKNOWN)
			return fail(err, "invalid_card_type",
			            "the card number is not of a known card type");
		if (!tp_card_length_ok(r->brand, n))
			return fail(
			    err, "invalid_number",
			    "the card number has the wrong number of digits for its type (%s)",
			    tp_card_brand_name(r->brand));
		return fail(err, "invalid_number", "the card number fails the Luhn check digit");
	}
	memcpy(r->last4, r->cardnumber + n - 4, 4);
	r->last4[4] = '\0';

	rc = field(json, "expiry_month", r->month_buf, sizeof r->month_buf, &month);
	if (rc == TP_EINVAL)
		return bad_type(err, "expiry_month");
	if (rc == TP_ENOTFOUND)
		return fail(err, "missing_field", "expiry_month is required");
	if (!parse_month(month, &r->expiry_month))
		return fail(err, "invalid_expiry_month", "expiry_month must be 1 to 12");
	rc = field(json, "expiry_year", r->year_buf, sizeof r->year_buf, &year);
	if (rc == TP_EINVAL)
		return bad_type(err, "expiry_year");
	if (rc == TP_ENOTFOUND)
		return fail(err, "missing_field", "expiry_year is required");
	if (!parse_year(year, &r->expiry_year))
		return fail(err, "invalid_expiry_year", "expiry_year must be two or four digits");
	if (!tp_card_expiry_current(r->expiry_month, r->expiry_year, now)) {
		/* A card is good through the last day of its month (card.c). */
		gmtime_r(&now, &tm);
		cur = (tm.tm_year + 1900) * 12 + tm.tm_mon;
		exp = r->expiry_year * 12 + r->expiry_month - 1;
		if (exp < cur)
			return fail(err, "expired_card", "the card has expired");
		return fail(err, "invalid_expiry_year",
		            "the expiry date is more than 20 years ahead");
	}

	/* INCLUDE_CVC=false and INCLUDE_POSTAL_CODE=false leave these out. */
	rc = field(json, "cvv", NULL, 0, &r->cvv);
	if (rc == TP_EINVAL)
		return bad_type(err, "cvv");
	if (r->cvv && !tp_card_cvc_ok(r->brand, r->cvv))
		return fail(err, "invalid_cvc",
		            "the security code must be %zu digits for this card type (%s)",
		            tp_card_cvc_len(r->brand), tp_card_brand_name(r->brand));
	rc = field(json, "postal_code", NULL, 0, &r->postal_code);
	if (rc == TP_EINVAL)
		return bad_type(err, "postal_code");
	if (r->postal_code && !postal_code_ok(r->postal_code))
		return fail(err, "invalid_postal_code",
		            "postal_code must be 1 to %d letters, digits, spaces or dashes",
		            POSTAL_CODE_MAX);
	return true;
}

static const char *const routing_names[] = {"bank_routing_number", "routing_number", NULL};
static const char *const account_names[] = {"bank_account_number", "account_number", NULL};
static const char *const account_type_names[] = {"bank_account_type", "account_type", NULL};

static bool parse_ach(const cJSON *json, tp_conn_req *r, tp_conn_error *err)
{
	static const char *const types[] = {"consumer-checking", "consumer-savings",
	                                    "commercial-checking", NULL};
	const char *name;
	tp_rc rc;
	size_t i;

	rc = field_any(json, routing_names, &name, &r->routing_number);
	if (rc == TP_EINVAL)
		return bad_type(err, name);
	if (rc == TP_ENOTFOUND)
		return fail(err, "missing_field", "%s is required", name);
	if (!tp_aba_routing_ok(r->routing_number))
		return fail(err, "invalid_routing_number",
		            "%s must be 9 digits with a valid ABA check digit", name);
	rc = field_any(json, account_names, &name, &r->account_number);
	if (rc == TP_EINVAL)
		return bad_type(err, name);
	if (rc == TP_ENOTFOUND)
		return fail(err, "missing_field", "%s is required", name);
	if (!tp_bank_account_ok(r->account_number))
		return fail(err, "invalid_account_number", "%s must be 4 to 17 digits", name);
	rc = field_any(json, account_type_names, &name, &r->account_type);
	if (rc == TP_EINVAL)
		return bad_type(err, name);
	/* Twilio's BankAccountType default (twilio-contract.md 3.1). */
	if (rc == TP_ENOTFOUND)
		r->account_type = types[0];
	for (i = 0; types[i]; i++)
		if (tp_str_eq(r->account_type, types[i]))
			return true;
	return fail(err, "invalid_account_type",
	            "%s must be consumer-checking, consumer-savings or commercial-checking", name);
}

static bool parse_amount(const cJSON *json, tp_conn_req *r, tp_conn_error *err)
{
	const char *amount, *cur, *dot;
	int64_t minor;
	tp_rc rc;

	rc = field(json, "currency_code", NULL, 0, &cur);
	if (rc == TP_EINVAL)
		return bad_type(err, "currency_code");
	if (!cur)
		cur = "USD"; /* Twilio's default Currency (twilio-contract.md 3.1) */
	r->currency_places = tp_currency_code(cur, strlen(cur), r->currency);
	if (r->currency_places < 0)
		return fail(err, "invalid_currency",
		            "currency_code must be a three-letter ISO 4217 code such as USD");

	rc = field(json, "amount", r->amount_buf, sizeof r->amount_buf, &amount);
	if (rc == TP_EINVAL)
		return bad_type(err, "amount");
	if (rc == TP_ENOTFOUND)
		return fail(err, "missing_field", "amount is required for a charge");
	/* Parse at the widest precision first, so "too many decimals" and
	 * "not a number" get their own messages. */
	if (tp_money_parse(amount, 4, &minor) != TP_OK)
		return fail(err, "invalid_amount", "amount must be a plain decimal such as 10.00");
	dot = strchr(amount, '.');
	if (dot && strlen(dot + 1) > (size_t)r->currency_places)
		return fail(err, "invalid_amount", "amount has more decimals than %s allows (%d)",
		            r->currency, r->currency_places);
	tp_money_parse(amount, r->currency_places, &r->amount_minor);
	if (r->amount_minor == 0)
		return fail(
		    err, "invalid_amount",
		    "amount must be above zero (tokenize stores a card without charging it)");
	if (!tp_amount_below_limit(r->amount_minor, r->currency_places))
		return fail(err, "invalid_amount", "amount must be below 1,000,000");
	return true;
}

bool tp_connector_parse(const cJSON *json, tp_conn_method default_method, time_t now,
                        tp_conn_req *out, tp_conn_error *err)
{
	const char *method, *token_type, *dummy, *name;
	const cJSON *params;
	bool has_card, has_bank;
	tp_rc rc;

	memset(out, 0, sizeof *out);
	out->method = default_method;
	err->code = NULL;
	err->message[0] = '\0';
	if (!cJSON_IsObject(json))
		return fail(err, "invalid_request", "the body must be a JSON object");

	rc = field(json, "method", NULL, 0, &method);
	if (rc == TP_EINVAL)
		return bad_type(err, "method");
	/* Absent: the path's operation (the older connector's /charge and
	 * /tokenize), already set above. */
	if (method && tp_str_caseeq(method, "charge"))
		out->method = TP_CONN_CHARGE;
	else if (method && tp_str_caseeq(method, "tokenize"))
		out->method = TP_CONN_TOKENIZE;
	else if (method)
		return fail(err, "invalid_method", "method must be \"charge\" or \"tokenize\"");

	rc = field(json, "transaction_id", NULL, 0, &out->transaction_id);
	if (rc == TP_EINVAL)
		return bad_type(err, "transaction_id");
	if (rc == TP_ENOTFOUND)
		return fail(err, "missing_field", "transaction_id is required");
	if (!transaction_id_ok(out->transaction_id))
		return fail(err, "invalid_transaction_id",
		            "transaction_id must be 1 to %d letters, digits, '-', '_', '.' or ':'",
		            TRANSACTION_ID_MAX);

	if (field(json, "description", NULL, 0, &dummy) == TP_EINVAL)
		return bad_type(err, "description");
	params = cJSON_GetObjectItemCaseSensitive(json, "parameters");
	if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params))
		return fail(err, "invalid_field_type", "parameters must be a JSON object");

	has_card = field(json, "cardnumber", NULL, 0, &dummy) != TP_ENOTFOUND;
	has_bank = field_any(json, routing_names, &name, &dummy) != TP_ENOTFOUND ||
	           field_any(json, account_names, &name, &dummy) != TP_ENOTFOUND;
	if (has_card && has_bank)
		return fail(err, "invalid_request",
		            "send either card fields or bank account fields, not both");
	out->ach = has_bank;
	if (out->ach ? !parse_ach(json, out, err) : !parse_card(json, now, out, err))
		return false;

	if (out->method == TP_CONN_CHARGE)
		return parse_amount(json, out, err);

	/* tokenize: Twilio's TokenType, default reusable (contract 3.1). */
	rc = field(json, "token_type", NULL, 0, &token_type);
	if (rc == TP_EINVAL)
		return bad_type(err, "token_type");
	out->token_type = token_type ? token_type : "reusable";
	if (!tp_str_eq(out->token_type, "one-time") && !tp_str_eq(out->token_type, "reusable") &&
	    !tp_str_eq(out->token_type, "payment-method"))
		return fail(err, "invalid_token_type",
		            "token_type must be one-time, reusable or payment-method");
	return true;
}

/* {"charge_id"|"token_id": id|null, "error_code": ..., "error_message": ...} */
static void reply(tp_resp *resp, int status, tp_conn_method m, const char *id, const char *code,
                  const char *message)
{
	cJSON *o = cJSON_CreateObject();
	const char *key = m == TP_CONN_CHARGE ? "charge_id" : "token_id";

	if (id)
		cJSON_AddStringToObject(o, key, id);
	else
		cJSON_AddNullToObject(o, key);
	if (code)
		cJSON_AddStringToObject(o, "error_code", code);
	else
		cJSON_AddNullToObject(o, "error_code");
	if (message)
		cJSON_AddStringToObject(o, "error_message", message);
	else
		cJSON_AddNullToObject(o, "error_message");
	tp_reply_json_take(resp, status, o);
	if (code)
		tp_resp_log(resp, "error_code", code);
}

void tp_connector_handle(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                         tp_conn_method path_method)
{
	tp_conn_req r;
	tp_conn_error err;
	tp_gw_result gw;

	if (!req->json) {
		/* The library has already refused bodies that are neither
		 * JSON nor a form; a form is not what Twilio sends either. */
		tp_resp_log(resp, "result", "invalid");
		reply(resp, TP_S_UNSUPPORTED_MEDIA_TYPE, path_method, NULL, "invalid_request",
		      "the body must be JSON (Content-Type: application/json)");
		return;
	}
	if (!tp_connector_parse(req->json, path_method, time(NULL), &r, &err)) {
		/* r.method is the body's method once it was read, else the
		 * path's: the id key of the answer follows it. */
		if (r.transaction_id && transaction_id_ok(r.transaction_id))
			tp_resp_log(resp, "transaction", r.transaction_id);
		tp_resp_log(resp, "result", "invalid");
		reply(resp, TP_S_OK, r.method, NULL, err.code, err.message);
		return;
	}

	tp_resp_log(resp, "method", r.method == TP_CONN_CHARGE ? "charge" : "tokenize");
	tp_resp_log(resp, "transaction", r.transaction_id);
	if (r.ach) {
		tp_resp_log(resp, "instrument", "ach");
	} else {
		tp_resp_log(resp, "brand", tp_card_brand_name(r.brand));
		tp_resp_log(resp, "last4", r.last4);
	}
	if (r.method == TP_CONN_CHARGE) {
		tp_buf amt;
		tp_buf_init(&amt, 64);
		tp_money_format(&amt, r.amount_minor, r.currency_places);
		tp_resp_log(resp, "amount", tp_buf_str(&amt));
		tp_resp_log(resp, "currency", r.currency);
		tp_buf_free(&amt);
	}

	tp_gateway_submit(cfg, &r, &gw);
	if (gw.approved) {
		tp_resp_log(resp, "result", "approved");
		/* A charge id is a reference for reconciliation; a token is a
		 * credential and stays out of the log. */
		if (r.method == TP_CONN_CHARGE)
			tp_resp_log(resp, "charge", gw.id);
		reply(resp, TP_S_OK, r.method, gw.id, NULL, NULL);
	} else {
		tp_resp_log(resp, "result", "declined");
		reply(resp, TP_S_OK, r.method, NULL, gw.error_code, gw.error_message);
	}
}
