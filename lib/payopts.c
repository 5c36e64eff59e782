/*
 * payopts.c - what the server accepts for a payment, in one place:
 * currencies (ALLOWED_CURRENCIES, or every active ISO 4217 code), the
 * default currency, how many decimals an amount may have and how large it
 * may be, the payment methods and each method's field order.
 * startCapture checks requests against it and GET /aap/config
 * (cgi-bin/consoleConfig.c) hands it to the console, so the console offers
 * exactly what will be accepted instead of a list of its own.
 *
 * Amounts (Payments resource, twilio-contract.md 3.1): ChargeAmount is a
 * decimal with 0 < x < 1,000,000; we allow at most two decimals, and no
 * more than the currency has minor units (JPY none, BHD three -> two).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int tp_payopts_places(const char *currency)
{
	int units = tp_currency_minor_units(currency);

	if (units < 0)
		return -1;
	return units < TP_AMOUNT_PLACES ? units : TP_AMOUNT_PLACES;
}

/* True when the comma list (normalised by config.c: "USD,EUR") holds code. */
static bool in_list(const char *list, const char *code)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 3 && memcmp(p, code, 3) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

bool tp_payopts_currency_allowed(const tp_config *cfg, const char *code)
{
	if (!code || strlen(code) != 3 || tp_currency_minor_units(code) < 0)
		return false;
	return !cfg->allowed_currencies || in_list(cfg->allowed_currencies, code);
}

void tp_payopts_default_currency(const tp_config *cfg, char out[4])
{
	/* Twilio's own default is USD (Payments resource, Currency). */
	const char *l = cfg->allowed_currencies;

	snprintf(out, 4, "%s", l && strlen(l) >= 3 ? l : "USD");
}

void tp_payopts_max_amount(int places, tp_buf *out)
{
	tp_money_format(out, tp_amount_limit_minor(places) - 1, places);
}

static cJSON *names(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *order_of(const tp_config *cfg, bool ach)
{
	tp_capture c;
	cJSON *a = cJSON_CreateArray();
	size_t i;

	memset(&c, 0, sizeof c);
	tp_capture_order_build(&c, cfg->payment_capture_order, ach, cfg->include_cvc,
	                       cfg->include_postal_code);
	for (i = 0; i < c.norder; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(tp_field_name(c.order[i])));
	return a;
}

static void add_currency(cJSON *list, cJSON *rules, const char *code)
{
	int places = tp_payopts_places(code);
	cJSON *r;
	tp_buf max;

	if (places < 0)
		return;
	cJSON_AddItemToArray(list, cJSON_CreateString(code));
	r = cJSON_AddObjectToObject(rules, code);
	cJSON_AddNumberToObject(r, "places", places);
	tp_buf_init(&max, 32);
	tp_payopts_max_amount(places, &max);
	cJSON_AddStringToObject(r, "maxAmount", tp_buf_str(&max));
	tp_buf_free(&max);
}

cJSON *tp_payopts_json(const tp_config *cfg)
{
	static const char *const methods[] = {"credit-card", "ach-debit"};
	/* Twilio's default first (Payments resource, TokenType). */
	static const char *const token_types[] = {"reusable", "one-time"};
	cJSON *o = cJSON_CreateObject(), *list, *rules, *orders;
	char def[4];

	list = cJSON_AddArrayToObject(o, "currencies");
	tp_payopts_default_currency(cfg, def);
	cJSON_AddStringToObject(o, "defaultCurrency", def);
	rules = cJSON_AddObjectToObject(o, "currencyRules");
	if (cfg->allowed_currencies) {
		/* The operator's order: the first is the default. */
		const char *p = cfg->allowed_currencies;
		while (*p) {
			size_t n = strcspn(p, ",");
			char code[4] = "";
			if (n == 3) {
				memcpy(code, p, 3);
				add_currency(list, rules, code);
			}
			p += n + (p[n] == ',');
		}
	} else {
		const char *code;
		size_t i;
		for (i = 0; (code = tp_currency_code_at(i)) != NULL; i++)
			add_currency(list, rules, code);
	}
	cJSON_AddItemToObject(o, "paymentMethods", names(methods, 2));
	cJSON_AddItemToObject(o, "tokenTypes", names(token_types, 2));
	cJSON_AddBoolToObject(o, "includeCvc", cfg->include_cvc);
	cJSON_AddBoolToObject(o, "includePostalCode", cfg->include_postal_code);
	orders = cJSON_AddObjectToObject(o, "captureOrder");
	cJSON_AddItemToObject(orders, "credit-card", order_of(cfg, false));
	cJSON_AddItemToObject(orders, "ach-debit", order_of(cfg, true));
	return o;
}
