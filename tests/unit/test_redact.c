/* Unit tests for lib/redact.c: no card number survives. */
#include "unit.h"

static void test_table(void **state)
{
	static const struct {
		int line;
		const char *in, *out;
	} rows[] = {
	    {__LINE__, "card 4111111111111111 ok", "card [card] ok"},
	    {__LINE__, "4111 1111 1111 1111", "[card]"},
	    {__LINE__, "4111-1111-1111-1111!", "[card]!"},
	    {__LINE__, "amex 378282246310005", "amex [card]"},
	    {__LINE__, "x5555555555554444y", "x[card]y"},
	    /* grouped by dots or slashes, or a mix of separators */
	    {__LINE__, "4111.1111.1111.1111", "[card]"},
	    {__LINE__, "pan=4111/1111/1111/1111;", "pan=[card];"},
	    {__LINE__, "5555.5555-5555/4444 end", "[card] end"},
	    {__LINE__, "/aap/x/4111/1111/1111/1111/", "/aap/x/[card]/"},
	    {__LINE__, "3782.822463.10005", "[card]"},
	    /* a separator must stand between two digits, once */
	    {__LINE__, "4111..1111.1111.1111", "4111..1111.1111.1111"},
	    {__LINE__, "v1.2.3/2026/11/27", "v1.2.3/2026/11/27"},
	    {__LINE__, "10.0.0.5", "10.0.0.5"},
	    {__LINE__, "4111.1111.1111.1112", "4111.1111.1111.1112"}, /* Luhn-invalid */
	    {__LINE__, "glued 0004111111111111111100", "glued [card]"},
	    {__LINE__, "4111111111111112", "4111111111111112"}, /* Luhn-invalid */
	    {__LINE__, "+61255550100", "+61255550100"},         /* phone */
	    {__LINE__, "2026-11-27 13:37:04", "2026-11-27 13:37:04"},
	    {__LINE__, "CA0123456789abcdef0123456789abcdef", "CA0123456789abcdef0123456789abcdef"},
	    {__LINE__, "xxxxxxxxxxxx1111", "xxxxxxxxxxxx1111"}, /* Twilio's mask */
	    {__LINE__, "", ""},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_buf b;
		tp_buf_init(&b, 1000);
		tp_redact_text(&b, rows[i].in);
		if (strcmp(tp_buf_str(&b), rows[i].out) != 0)
			ROW_FAIL(rows[i].line, "got \"%s\" want \"%s\"\n", tp_buf_str(&b),
			         rows[i].out);
		tp_buf_free(&b);
	}
}

static void test_secret_names(void **state)
{
	(void)state;
	assert_true(tp_redact_is_secret_name("cardnumber"));
	assert_true(tp_redact_is_secret_name("PaymentCardNumber"));
	assert_true(tp_redact_is_secret_name("cvv"));
	assert_true(tp_redact_is_secret_name("security_code"));
	assert_true(tp_redact_is_secret_name("account-number"));
	assert_true(tp_redact_is_secret_name("BankRoutingNumber"));
	assert_true(tp_redact_is_secret_name("AUTH_TOKEN"));
	assert_false(tp_redact_is_secret_name("CallSid"));
	assert_false(tp_redact_is_secret_name("ExpirationDate"));
	assert_false(tp_redact_is_secret_name(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_secret_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
