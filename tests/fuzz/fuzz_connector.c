/* Pay Connector requests (lib/connector.c): any JSON either validates into
 * a consistent request or fails with a code and a message that quotes
 * nothing of the input; the sandbox then answers without crashing. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	const cJSON *pan;
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
		pan = cJSON_GetObjectItemCaseSensitive(j, "cardnumber");
		if (cJSON_IsString(pan) && strlen(pan->valuestring) >= 4)
			FUZZ_ASSERT(!strstr(e.message, pan->valuestring));
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
