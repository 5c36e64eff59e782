/* Pay Connector requests (lib/connector.c): any JSON either validates into
 * a consistent request or fails with a code and a message that quotes no
 * card or bank number; the sandbox then answers without crashing.
 *
 * "Quotes no card number" is checked on card-like values only: the
 * message holds no run of 12 or more digits (spaces and dashes allowed
 * between them), and no digits-only value of a card or bank field, 4
 * digits or more.  Comparing any text of the input with the message
 * would call "ion_" (a fuzzed cardnumber) a leak because it is inside
 * "transaction_id is required". */
#include "fuzz.h"

static const char *const secret_fields[] = {
    "cardnumber",          "cvv", "bank_account_number", "account_number", "routing_number",
    "bank_routing_number", NULL,
};

/* The longest run of digits in s, where a space or a dash may stand
 * between two digits (a card number written in groups). */
static size_t longest_digit_run(const char *s)
{
	size_t best = 0, run = 0;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			if (++run > best)
				best = run;
		} else if (!((*s == ' ' || *s == '-') && run && s[1] >= '0' && s[1] <= '9')) {
			run = 0;
		}
	}
	return best;
}

static bool digits_only(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && s[n] == '\0';
}

/* The error message leaks no card-like value. */
static void check_message(const cJSON *j, const char *msg)
{
	size_t i;

	FUZZ_ASSERT(longest_digit_run(msg) < 12);
	for (i = 0; secret_fields[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, secret_fields[i]);
		if (cJSON_IsString(v) && strlen(v->valuestring) >= 4 && digits_only(v->valuestring))
			FUZZ_ASSERT(!strstr(msg, v->valuestring));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	tp_conn_req r;
	tp_conn_error e;
	tp_config cfg;
	tp_gw_result gw;
	char pw[] = "fuzz-connector-password";

	if (!j)
		return 0;
	/* 2026-11-18 UTC, as in the unit tests. */
	if (!tp_connector_parse(j, size % 2 ? TP_CONN_CHARGE : TP_CONN_TOKENIZE, 1795000000, &r,
	                        &e)) {
		FUZZ_ASSERT(e.code && *e.code && *e.message);
		check_message(j, e.message);
		cJSON_Delete(j);
		return 0;
	}
	FUZZ_ASSERT(r.transaction_id && *r.transaction_id);
	FUZZ_ASSERT(r.method == TP_CONN_CHARGE || r.method == TP_CONN_TOKENIZE);
	if (r.method == TP_CONN_CHARGE)
		FUZZ_ASSERT(r.amount_minor > 0 && r.currency_places >= 0 &&
		            strlen(r.currency) == 3);
	else
		FUZZ_ASSERT(r.token_type != NULL);
	if (r.ach) {
		FUZZ_ASSERT(tp_aba_routing_ok(r.routing_number));
		FUZZ_ASSERT(tp_bank_account_ok(r.account_number));
	} else {
		size_t n = strlen(r.cardnumber);
		FUZZ_ASSERT(n >= 12 && n <= 19 && tp_card_luhn_ok(r.cardnumber));
		FUZZ_ASSERT(strcmp(r.last4, r.cardnumber + n - 4) == 0);
		FUZZ_ASSERT(r.expiry_month >= 1 && r.expiry_month <= 12);
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.connector_password = pw;
	tp_gateway_sandbox_submit(&cfg, &r, &gw);
	FUZZ_ASSERT(gw.approved ? (gw.id[0] && !gw.error_code) : (gw.error_code && !gw.id[0]));
	cJSON_Delete(j);
	return 0;
}
