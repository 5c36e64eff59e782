/* Unit tests for lib/sig.c against the vectors of twilio-contract.md s9. */
#include "unit.h"

static const char *const vector_url = "https://mycompany.com/myapp.php?foo=1&bar=2";

static void vector_params(tp_params *p)
{
	tp_params_init(p);
	/* Deliberately not in sorted order. */
	tp_params_add(p, "To", "+18005551212");
	tp_params_add(p, "CallSid", "CA1234567890ABCDE");
	tp_params_add(p, "Digits", "1234");
	tp_params_add(p, "From", "+12349013030");
	tp_params_add(p, "Caller", "+12349013030");
}

static void test_vector(void **state)
{
	tp_params p;
	char sig[TP_SIG_LEN + 1];
	(void)state;
	vector_params(&p);
	tp_sig_compute(vector_url, &p, "12345", sig);
	assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
	tp_sig_compute("https://mycompany.com:443/myapp.php?foo=1&bar=2", &p, "12345", sig);
	assert_string_equal(sig, "EpDEmp1PyjDYp77YxYU3GILBWzE=");
	tp_params_free(&p);
}

static void test_valid_port_variants(void **state)
{
	tp_params p;
	(void)state;
	vector_params(&p);
	/* Signed without port, validated with it, and the reverse. */
	assert_true(tp_sig_valid(vector_url, &p, NULL, 0, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
	assert_true(tp_sig_valid("https://mycompany.com:443/myapp.php?foo=1&bar=2", &p, NULL, 0,
	                         "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
	assert_true(tp_sig_valid(vector_url, &p, NULL, 0, "12345", "EpDEmp1PyjDYp77YxYU3GILBWzE="));
	tp_params_free(&p);
}

static void test_rejections(void **state)
{
	tp_params p;
	(void)state;
	vector_params(&p);
	assert_false(
	    tp_sig_valid(vector_url, &p, NULL, 0, "12346", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
	assert_false(
	    tp_sig_valid(vector_url, &p, NULL, 0, "12345", "1/KCTR6DLpKmkAf8muzZqo1nDgQ="));
	assert_false(tp_sig_valid(vector_url, &p, NULL, 0, "12345", ""));
	assert_false(tp_sig_valid(vector_url, &p, NULL, 0, "12345", NULL));
	assert_false(tp_sig_valid(vector_url, &p, NULL, 0, "", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
	/* Another URL (replay to a different endpoint). */
	assert_false(tp_sig_valid("https://mycompany.com/other.php?foo=1&bar=2", &p, NULL, 0,
	                          "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
	/* A changed parameter. */
	tp_params_set(&p, "Digits", "1235");
	assert_false(
	    tp_sig_valid(vector_url, &p, NULL, 0, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
	tp_params_free(&p);
}

static void test_json_body(void **state)
{
	const char *body = "{\"property\": \"value\", \"boolean\": true}";
	const char *url = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
	                  "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
	(void)state;
	assert_true(
	    tp_sig_valid(url, NULL, body, strlen(body), "12345", "a9nBmqA0ju/hNViExpshrM61xv4="));
	/* Body tampered: hash no longer matches. */
	assert_false(tp_sig_valid(url, NULL, "{\"property\": \"valuf\", \"boolean\": true}",
	                          strlen(body), "12345", "a9nBmqA0ju/hNViExpshrM61xv4="));
}

static void test_repeated_keys(void **state)
{
	tp_params a, b;
	char s1[TP_SIG_LEN + 1], s2[TP_SIG_LEN + 1];
	(void)state;
	/* twilio-node: values of a repeated name are de-duplicated and
	 * sorted, so order and duplicates do not change the signature. */
	tp_params_init(&a);
	tp_params_init(&b);
	tp_params_add(&a, "StatusCallbackEvent", "ringing");
	tp_params_add(&a, "StatusCallbackEvent", "answered");
	tp_params_add(&b, "StatusCallbackEvent", "answered");
	tp_params_add(&b, "StatusCallbackEvent", "ringing");
	tp_params_add(&b, "StatusCallbackEvent", "answered");
	tp_sig_compute("https://x.test/cb", &a, "tok", s1);
	tp_sig_compute("https://x.test/cb", &b, "tok", s2);
	assert_string_equal(s1, s2);
	tp_params_free(&a);
	tp_params_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector),        cmocka_unit_test(test_valid_port_variants),
	    cmocka_unit_test(test_rejections),    cmocka_unit_test(test_json_body),
	    cmocka_unit_test(test_repeated_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
