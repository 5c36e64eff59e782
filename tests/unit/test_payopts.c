/* Unit tests for lib/payopts.c: what the server accepts for a payment. */
#include "unit.h"

static void test_places_and_limits(void **state)
{
	static const struct {
		int line;
		const char *code;
		int places;
		const char *max;
	} rows[] = {
	    {__LINE__, "USD", 2, "999999.99"}, {__LINE__, "EUR", 2, "999999.99"},
	    {__LINE__, "JPY", 0, "999999"},    {__LINE__, "KRW", 0, "999999"},
	    {__LINE__, "BHD", 2, "999999.99"}, /* three minor units, two decimals at most */
	    {__LINE__, "CLF", 2, "999999.99"}, {__LINE__, "XYZ", -1, NULL},
	    {__LINE__, "usd", -1, NULL},       {__LINE__, "", -1, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		int p = tp_payopts_places(rows[i].code);
		if (p != rows[i].places)
			ROW_FAIL(rows[i].line, "%s: places %d\n", rows[i].code, p);
		if (rows[i].max) {
			tp_buf b;
			tp_buf_init(&b, 64);
			tp_payopts_max_amount(p, &b);
			if (strcmp(tp_buf_str(&b), rows[i].max) != 0)
				ROW_FAIL(rows[i].line, "%s: max %s\n", rows[i].code,
				         tp_buf_str(&b));
			tp_buf_free(&b);
		}
	}
}

static void test_allowed_and_default(void **state)
{
	tp_config cfg;
	char def[4];
	(void)state;

	memset(&cfg, 0, sizeof cfg);
	/* unset: every active ISO 4217 code, USD first choice */
	assert_true(tp_payopts_currency_allowed(&cfg, "USD"));
	assert_true(tp_payopts_currency_allowed(&cfg, "JPY"));
	assert_false(tp_payopts_currency_allowed(&cfg, "XYZ"));
	assert_false(tp_payopts_currency_allowed(&cfg, "usd"));
	assert_false(tp_payopts_currency_allowed(&cfg, NULL));
	tp_payopts_default_currency(&cfg, def);
	assert_string_equal(def, "USD");

	/* set (config.c normalises it): only those, the first is the default */
	cfg.allowed_currencies = (char *)"EUR,GBP";
	assert_true(tp_payopts_currency_allowed(&cfg, "EUR"));
	assert_true(tp_payopts_currency_allowed(&cfg, "GBP"));
	assert_false(tp_payopts_currency_allowed(&cfg, "USD"));
	assert_false(tp_payopts_currency_allowed(&cfg, "UR,"));
	tp_payopts_default_currency(&cfg, def);
	assert_string_equal(def, "EUR");
}

static void test_json(void **state)
{
	tp_config cfg;
	cJSON *o;
	char *s;
	size_t n = 0;
	(void)state;

	memset(&cfg, 0, sizeof cfg);
	cfg.allowed_currencies = (char *)"EUR,JPY";
	cfg.include_cvc = false;
	cfg.include_postal_code = true;
	cfg.payment_capture_order = (char *)"expiration-date,payment-card-number";
	o = tp_payopts_json(&cfg);
	s = cJSON_PrintUnformatted(o);
	assert_string_equal(
	    s,
	    "{\"currencies\":[\"EUR\",\"JPY\"],\"defaultCurrency\":\"EUR\","
	    "\"currencyRules\":{\"EUR\":{\"places\":2,\"maxAmount\":\"999999.99\"},"
	    "\"JPY\":{\"places\":0,\"maxAmount\":\"999999\"}},"
	    "\"paymentMethods\":[\"credit-card\",\"ach-debit\"],"
	    "\"tokenTypes\":[\"reusable\",\"one-time\"],"
	    "\"includeCvc\":false,\"includePostalCode\":true,"
	    "\"captureOrder\":{\"credit-card\":[\"expiration-date\",\"payment-card-number\","
	    "\"postal-code\"],\"ach-debit\":[\"bank-routing-number\",\"bank-account-number\"]}}");
	free(s);
	cJSON_Delete(o);

	/* unset: every code the library knows, each with its rule */
	cfg.allowed_currencies = NULL;
	o = tp_payopts_json(&cfg);
	while (tp_currency_code_at(n))
		n++;
	assert_true(n > 150);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "currencies")), (int)n);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "currencyRules")), (int)n);
	assert_string_equal(cJSON_GetObjectItem(o, "defaultCurrency")->valuestring, "USD");
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "currencyRules"), "KWD"),
	                        "places")
	        ->valueint,
	    2);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_places_and_limits),
	    cmocka_unit_test(test_allowed_and_default),
	    cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
