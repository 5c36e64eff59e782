/*
 * capture_input.c - what an agent may ask startCapture for (README "Agent
 * API", startCapture's fields; twilio-contract.md 3.1 for Twilio's own
 * limits): the call, currency, amount, payment method, token type,
 * description, bank account type and connector parameters, each checked
 * with a 400 that names the field.  In the library, not the handler, so
 * the rules are unit-tested (tests/unit/test_capture_input.c) and fuzzed
 * (tests/fuzz/fuzz_start_input.c).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DESCRIPTION_MAX 255
#define PARAMETERS_MAX  2048

void tp_start_input_init(tp_start_input *in)
{
	memset(in, 0, sizeof *in);
	tp_buf_init(&in->amount, 64);
}

void tp_start_input_free(tp_start_input *in)
{
	free(in->parameters);
	in->parameters = NULL;
	tp_buf_free(&in->amount);
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
static bool parameters_or_reply(const tp_req *req, tp_resp *resp, tp_start_input *in)
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

bool tp_start_input_or_reply(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                             tp_start_input *in)
{
	const char *amount = tp_req_param_any(req, "chargeAmount", "amount");
	const char *currency = tp_req_param_any(req, "currency", NULL);
	const char *method = tp_req_param_any(req, "paymentMethod", NULL);

	if (!tp_attach_target_or_reply(req, resp, &in->target))
		return false;

	/* Currency first: it decides how many decimals the amount may have. */
	if (!currency) {
		tp_payopts_default_currency(cfg, in->currency);
	} else {
		tp_currency_code(currency, strlen(currency), in->currency);
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
	if (!tp_amount_below_limit(in->minor, in->places)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "chargeAmount must be below 1,000,000");
		return false;
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

	in->token_type = tp_req_param_any(req, "tokenType", NULL);
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

	in->description = tp_req_param_any(req, "description", NULL);
	if (in->description &&
	    (strlen(in->description) > DESCRIPTION_MAX || !printable(in->description))) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "description must be at most %d printable characters",
		               DESCRIPTION_MAX);
		return false;
	}

	in->bank_account_type = tp_req_param_any(req, "bankAccountType", NULL);
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
	return parameters_or_reply(req, resp, in);
}
