/* Unit tests for lib/card.c: brands, Luhn, CVC, expiry, ABA, money. */
#include "unit.h"

static void test_numbers(void **state)
{
	static const struct {
		int line;
		const char *pan;
		const char *want; /* NULL: valid; else Twilio's ErrorType */
		const char *brand;
	} rows[] = {
	    {__LINE__, "4111111111111111", NULL, "visa"},
	    {__LINE__, "4242424242424242", NULL, "visa"},
	    {__LINE__, "4222222222222", NULL, "visa"}, /* 13 digits */
	    {__LINE__, "5555555555554444", NULL, "mastercard"},
	    {__LINE__, "2223003122003222", NULL, "mastercard"},
	    {__LINE__, "378282246310005", NULL, "amex"},
	    {__LINE__, "6011111111111117", NULL, "discover"},
	    {__LINE__, "3530111333300000", NULL, "jcb"},
	    {__LINE__, "36227206271667", NULL, "diners-club"},
	    {__LINE__, "4111111111111112", "invalid-card-number", "visa"}, /* Luhn */
	    {__LINE__, "411111111111111", "invalid-card-number", "visa"},  /* length */
	    {__LINE__, "37828224631000", "invalid-card-number", "amex"},
	    {__LINE__, "1111111111111117", "invalid-card-type", "unknown"},
	    {__LINE__, "41111111111a1111", "invalid-card-number", "unknown"},
	    {__LINE__, "", "invalid-card-number", "unknown"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_card_brand b;
		const char *why = "unset";
		tp_rc rc = tp_card_number_check(rows[i].pan, &b, &why);
		if (rc != (rows[i].want ? TP_EINVAL : TP_OK))
			ROW_FAIL(rows[i].line, "rc %s\n", tp_rc_str(rc));
		if (rows[i].want ? !why || strcmp(why, rows[i].want) != 0 : why != NULL)
			ROW_FAIL(rows[i].line, "why %s want %s\n", why ? why : "NULL",
			         rows[i].want ? rows[i].want : "NULL");
		if (strcmp(tp_card_brand_name(b), rows[i].brand) != 0)
			ROW_FAIL(rows[i].line, "brand %s want %s\n", tp_card_brand_name(b),
			         rows[i].brand);
	}
}

static void test_cvc_mask(void **state)
{
	tp_buf b;
	(void)state;
	assert_true(tp_card_cvc_ok(TP_BRAND_VISA, "333"));
	assert_false(tp_card_cvc_ok(TP_BRAND_VISA, "3333"));
	assert_true(tp_card_cvc_ok(TP_BRAND_AMEX, "1234"));
	assert_false(tp_card_cvc_ok(TP_BRAND_AMEX, "123"));
	assert_false(tp_card_cvc_ok(TP_BRAND_VISA, "3a3"));
	tp_buf_init(&b, 100);
	tp_card_mask("4111111111111111", &b);
	assert_string_equal(b.ptr, "xxxxxxxxxxxx1111");
	tp_buf_free(&b);
}

static void test_expiry(void **state)
{
	int m, y;
	time_t now = 1795000000; /* 2026-11-18 UTC */
	(void)state;
	assert_int_equal(tp_card_expiry_parse("1225", &m, &y), TP_OK);
	assert_int_equal(m, 12);
	assert_int_equal(y, 2025);
	assert_int_equal(tp_card_expiry_parse("12/2030", &m, &y), TP_OK);
	assert_int_equal(y, 2030);
	assert_int_equal(tp_card_expiry_parse("1325", &m, &y), TP_EINVAL);
	assert_int_equal(tp_card_expiry_parse("0025", &m, &y), TP_EINVAL);
	assert_int_equal(tp_card_expiry_parse("125", &m, &y), TP_EINVAL);
	assert_int_equal(tp_card_expiry_parse("1/225", &m, &y), TP_EINVAL);
	assert_false(tp_card_expiry_current(10, 2026, now));
	assert_true(tp_card_expiry_current(11, 2026, now)); /* through month end */
	assert_true(tp_card_expiry_current(12, 2030, now));
	assert_false(tp_card_expiry_current(12, 2050, now));
}

static void test_bank(void **state)
{
	(void)state;
	assert_true(tp_aba_routing_ok("121181976"));
	assert_true(tp_aba_routing_ok("011000015"));
	assert_false(tp_aba_routing_ok("121181977"));
	assert_false(tp_aba_routing_ok("12118197"));
	assert_false(tp_aba_routing_ok("000000000"));
	assert_true(tp_bank_account_ok("123456789"));
	assert_false(tp_bank_account_ok("123"));
	assert_false(tp_bank_account_ok("123456789012345678"));
}

static void test_money(void **state)
{
	int64_t v;
	tp_buf b;
	(void)state;
	assert_int_equal(tp_currency_minor_units("USD"), 2);
	assert_int_equal(tp_currency_minor_units("JPY"), 0);
	assert_int_equal(tp_currency_minor_units("KWD"), 3);
	assert_int_equal(tp_currency_minor_units("usd"), -1);
	assert_int_equal(tp_currency_minor_units("XXX"), -1);
	assert_int_equal(tp_money_parse("9.99", 2, &v), TP_OK);
	assert_int_equal(v, 999);
	assert_int_equal(tp_money_parse("10", 2, &v), TP_OK);
	assert_int_equal(v, 1000);
	assert_int_equal(tp_money_parse("10.5", 2, &v), TP_OK);
	assert_int_equal(v, 1050);
	assert_int_equal(tp_money_parse("0", 2, &v), TP_OK);
	assert_int_equal(v, 0);
	assert_int_equal(tp_money_parse("9.999", 2, &v), TP_EINVAL);
	assert_int_equal(tp_money_parse("-1", 2, &v), TP_EINVAL);
	assert_int_equal(tp_money_parse("1e3", 2, &v), TP_EINVAL);
	assert_int_equal(tp_money_parse("1.", 2, &v), TP_EINVAL);
	assert_int_equal(tp_money_parse(".5", 2, &v), TP_EINVAL);
	assert_int_equal(tp_money_parse("", 2, &v), TP_EINVAL);
	assert_int_equal(tp_money_parse("5.5", 0, &v), TP_EINVAL);
	tp_buf_init(&b, 100);
	tp_money_format(&b, 999, 2);
	tp_buf_adds(&b, " ");
	tp_money_format(&b, 100005, 2);
	tp_buf_adds(&b, " ");
	tp_money_format(&b, 500, 0);
	assert_string_equal(b.ptr, "9.99 1000.05 500");
	tp_buf_free(&b);
}

/* One reading of a currency code for config, connector, startCapture and
 * the emulator: three letters, either case, an active code. */
static void test_currency_code(void **state)
{
	static const struct {
		int line;
		const char *in;
		size_t len;
		int units;
		const char *out;
	} cases[] = {
	    {__LINE__, "USD", 3, 2, "USD"},  {__LINE__, "usd", 3, 2, "USD"},
	    {__LINE__, "jPy", 3, 0, "JPY"},  {__LINE__, "kwd", 3, 3, "KWD"},
	    {__LINE__, "USDX", 3, 2, "USD"}, /* only len bytes are read */
	    {__LINE__, "USDX", 4, -1, ""},   {__LINE__, "US", 2, -1, ""},
	    {__LINE__, "", 0, -1, ""},       {__LINE__, "XXX", 3, -1, ""},
	    {__LINE__, "u5d", 3, -1, ""},    {__LINE__, "\xe9sd", 3, -1, ""},
	};
	size_t i;
	char out[4];

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memcpy(out, "???", 4);
		if (tp_currency_code(cases[i].in, cases[i].len, out) != cases[i].units ||
		    strcmp(out, cases[i].out) != 0)
			fail_msg("line %d: \"%s\" -> \"%s\"", cases[i].line, cases[i].in, out);
	}
	assert_int_equal(tp_currency_code(NULL, 3, out), -1);
	assert_string_equal(out, "");
}

/* The one amount limit: below 1,000,000 major units, whatever the places. */
static void test_amount_limit(void **state)
{
	(void)state;
	assert_int_equal(TP_AMOUNT_LIMIT, 1000000);
	assert_true(tp_amount_limit_minor(0) == 1000000);
	assert_true(tp_amount_limit_minor(2) == 100000000);
	assert_true(tp_amount_limit_minor(4) == 10000000000LL);
	assert_true(tp_amount_below_limit(99999999, 2));
	assert_false(tp_amount_below_limit(100000000, 2));
	assert_true(tp_amount_below_limit(999999, 0));
	assert_false(tp_amount_below_limit(1000000, 0));
	assert_false(tp_amount_below_limit(1000000000, 3));
	assert_true(tp_amount_below_limit(0, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers),      cmocka_unit_test(test_cvc_mask),
	    cmocka_unit_test(test_expiry),       cmocka_unit_test(test_bank),
	    cmocka_unit_test(test_money),        cmocka_unit_test(test_currency_code),
	    cmocka_unit_test(test_amount_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
