/* Unit tests for lib/dial.c: the toll-fraud rule (numbers by prefix, the
 * built-in premium-rate list, SIP hosts) and its configuration lists.
 * Table-driven; a failing row names its line. */
#include "unit.h"

typedef struct row {
	int line;
	const char *allowed, *denied, *domains; /* the three variables, NULL = unset */
	tp_dial_kind kind;
	const char *target;
	bool ok;
} row;

static void check_rows(const row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tp_config c;
		const char *why;
		memset(&c, 0, sizeof c);
		c.sip_domain_uri = (char *)"customer.sip.example.com";
		c.dial_allowed_prefixes = (char *)rows[i].allowed;
		c.dial_denied_prefixes = (char *)rows[i].denied;
		c.dial_allowed_sip_domains = (char *)rows[i].domains;
		why = tp_dial_refusal(&c, rows[i].kind, rows[i].target);
		if ((why == NULL) != rows[i].ok)
			ROW_FAIL(rows[i].line, "%s: expected %s, got %s\n", rows[i].target,
			         rows[i].ok ? "allowed" : "refused", why ? why : "allowed");
	}
}

static void test_numbers_default(void **state)
{
	static const row rows[] = {
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+14155550100", true},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+61290001234", true},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+442071234567", true},
	    /* The premium-rate list, one of each. */
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+19005551234", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+12129765555", false}, /* 212-976 */
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+12125559760",
	     true}, /* not the exchange */
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+449012345678", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+61190012345", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+6419001234", true}, /* +64 19.. */
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+6490012345", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+499001234567", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+491371234567", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+33891234567", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+39899123456", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+34806123456", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+97912345678", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+881612345678", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+87077345678", false},
	    /* Not a number at all. */
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "61290001234", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "+1", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, NULL, false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_NUMBER, "sip:+14155550100@x", false},
	};
	(void)state;
	check_rows(rows, N_ELEMS(rows));
}

static void test_numbers_configured(void **state)
{
	static const row rows[] = {
	    /* Allowed countries only. */
	    {__LINE__, "+1,+44", NULL, NULL, TP_DIAL_NUMBER, "+14155550100", true},
	    {__LINE__, "+1,+44", NULL, NULL, TP_DIAL_NUMBER, "+442071234567", true},
	    {__LINE__, "+1,+44", NULL, NULL, TP_DIAL_NUMBER, "+61290001234", false},
	    /* A denied range wins over an allowed prefix. */
	    {__LINE__, "+1,+44", NULL, NULL, TP_DIAL_NUMBER, "+19005551234", false},
	    {__LINE__, "+1900", NULL, NULL, TP_DIAL_NUMBER, "+19005551234", false},
	    {__LINE__, "any", NULL, NULL, TP_DIAL_NUMBER, "+61290001234", true},
	    /* 'x' is any digit. */
	    {__LINE__, "+1xxx555", "none", NULL, TP_DIAL_NUMBER, "+12125550100", true},
	    {__LINE__, "+1xxx555", "none", NULL, TP_DIAL_NUMBER, "+12124440100", false},
	    /* The denied list replaces the default: premium must be named. */
	    {__LINE__, NULL, "none", NULL, TP_DIAL_NUMBER, "+19005551234", true},
	    {__LINE__, NULL, "+1876", NULL, TP_DIAL_NUMBER, "+19005551234", true},
	    {__LINE__, NULL, "+1876", NULL, TP_DIAL_NUMBER, "+18765551234", false},
	    {__LINE__, NULL, "premium,+1876", NULL, TP_DIAL_NUMBER, "+18765551234", false},
	    {__LINE__, NULL, "premium,+1876", NULL, TP_DIAL_NUMBER, "+19005551234", false},
	    {__LINE__, NULL, "premium,+1876", NULL, TP_DIAL_NUMBER, "+14155550100", true},
	};
	(void)state;
	check_rows(rows, N_ELEMS(rows));
}

static void test_sip(void **state)
{
	static const row rows[] = {
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP,
	     "sip:agent2@customer.sip.example.com;transport=udp", true},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP,
	     "sip:+61290001234@customer.sip.example.com?User-to-User=04AB%3Bencoding%3Dhex", true},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "SIPS:x@CUSTOMER.Sip.Example.com:5061", true},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "<sip:evil@attacker.example;transport=tls>",
	     false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "sip:evil@attacker.example", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP,
	     "sip:x@customer.sip.example.com;maddr=attacker.example", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP,
	     "sip:x@customer.sip.example.com;lr;MADDR=attacker.example", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP,
	     "sip:x@customer.sip.example.com.attacker.example", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "sip:x@sip.example.com", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "sip:x@[::1]:5060", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "sip:x@10.0.0.5", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "tel:+19005551234", false},
	    {__LINE__, NULL, NULL, NULL, TP_DIAL_SIP, "not a uri", false},
	    /* Extra domains, exact or subdomains. */
	    {__LINE__, NULL, NULL, "pbx.partner.example,*.genesys.example", TP_DIAL_SIP,
	     "sip:x@pbx.partner.example", true},
	    {__LINE__, NULL, NULL, "pbx.partner.example,*.genesys.example", TP_DIAL_SIP,
	     "sip:x@a.b.genesys.example", true},
	    {__LINE__, NULL, NULL, "pbx.partner.example,*.genesys.example", TP_DIAL_SIP,
	     "sip:x@genesys.example", false},
	    {__LINE__, NULL, NULL, "pbx.partner.example,*.genesys.example", TP_DIAL_SIP,
	     "sip:x@evilgenesys.example", false},
	    {__LINE__, NULL, NULL, "pbx.partner.example,*.genesys.example", TP_DIAL_SIP,
	     "sip:x@partner.example", false},
	    {__LINE__, NULL, NULL, "pbx.partner.example,*.genesys.example", TP_DIAL_SIP,
	     "sip:x@customer.sip.example.com", true},
	};
	(void)state;
	check_rows(rows, N_ELEMS(rows));
}

static void test_sip_domain_with_port(void **state)
{
	tp_config c;
	(void)state;
	memset(&c, 0, sizeof c);
	c.sip_domain_uri = (char *)"customer.sip.example.com:5060";
	assert_null(tp_dial_refusal(&c, TP_DIAL_SIP, "sip:x@customer.sip.example.com"));
	assert_non_null(tp_dial_refusal(&c, TP_DIAL_SIP, "sip:x@customer.sip.example"));
	/* No SIP_DOMAIN_URI and no extra domains: no SIP target at all. */
	c.sip_domain_uri = NULL;
	assert_non_null(tp_dial_refusal(&c, TP_DIAL_SIP, "sip:x@customer.sip.example.com"));
}

static void test_lists(void **state)
{
	static const struct {
		int line;
		tp_dial_list kind;
		const char *in, *out; /* out NULL: refused */
	} rows[] = {
	    {__LINE__, TP_DIAL_LIST_ALLOWED, " +1 , +44 ", "+1,+44"},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "+1XXX555", "+1xxx555"},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "ANY", "any"},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "any,+1", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "premium", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "none", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "+0", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "+", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "1", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "+1-900", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "+1234567890123456", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, ",", NULL},
	    {__LINE__, TP_DIAL_LIST_ALLOWED, "+1,,+44", NULL},
	    {__LINE__, TP_DIAL_LIST_DENIED, "premium, +1876", "premium,+1876"},
	    {__LINE__, TP_DIAL_LIST_DENIED, "None", "none"},
	    {__LINE__, TP_DIAL_LIST_DENIED, "none,+1", NULL},
	    {__LINE__, TP_DIAL_LIST_DENIED, "any", NULL},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, "PBX.Example.com, *.genesys.example",
	     "pbx.example.com,*.genesys.example"},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, "company.any.example,b.none.example",
	     "company.any.example,b.none.example"},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, "pbx.example.com:5060", NULL},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, "sip:pbx.example.com", NULL},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, "a b", NULL},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, "*", NULL},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, "*.", NULL},
	    {__LINE__, TP_DIAL_LIST_DOMAINS, ".example.com", NULL},
	};
	size_t i;
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 4096);
	for (i = 0; i < N_ELEMS(rows); i++) {
		bool ok = tp_dial_list_normalise(rows[i].kind, rows[i].in, &b);
		if (ok != (rows[i].out != NULL))
			ROW_FAIL(rows[i].line, "\"%s\": expected %s\n", rows[i].in,
			         rows[i].out ? "accepted" : "refused");
		else if (ok && strcmp(tp_buf_str(&b), rows[i].out) != 0)
			ROW_FAIL(rows[i].line, "\"%s\" -> \"%s\", expected \"%s\"\n", rows[i].in,
			         tp_buf_str(&b), rows[i].out);
	}
	tp_buf_free(&b);
}

/* Start-up refuses a malformed list and names the variable. */
static void test_config(void **state)
{
	tp_config c;
	tp_buf err;
	(void)state;
	tp_buf_init(&err, 4096);
	setenv("TWILIOPAY_ENV", "/dev/null", 1);
	setenv("DIAL_ALLOWED_PREFIXES", "+1, 44", 1);
	setenv("DIAL_DENIED_PREFIXES", "premium,+1876", 1);
	setenv("DIAL_ALLOWED_SIP_DOMAINS", "pbx.example.com:5060", 1);
	assert_int_equal(tp_config_load(&c, NULL, &err), TP_EINVAL);
	assert_non_null(strstr(tp_buf_str(&err), "DIAL_ALLOWED_PREFIXES must be"));
	assert_non_null(strstr(tp_buf_str(&err), "DIAL_ALLOWED_SIP_DOMAINS must be"));
	assert_null(strstr(tp_buf_str(&err), "DIAL_DENIED_PREFIXES"));
	tp_config_free(&c);
	tp_buf_reset(&err);
	setenv("DIAL_ALLOWED_PREFIXES", "+1, +44", 1);
	setenv("DIAL_ALLOWED_SIP_DOMAINS", "PBX.example.com", 1);
	assert_int_equal(tp_config_load(&c, NULL, &err), TP_OK);
	assert_string_equal(c.dial_allowed_prefixes, "+1,+44");
	assert_string_equal(c.dial_denied_prefixes, "premium,+1876");
	assert_string_equal(c.dial_allowed_sip_domains, "pbx.example.com");
	tp_config_free(&c);
	unsetenv("DIAL_ALLOWED_PREFIXES");
	unsetenv("DIAL_DENIED_PREFIXES");
	unsetenv("DIAL_ALLOWED_SIP_DOMAINS");
	assert_int_equal(tp_config_load(&c, NULL, &err), TP_OK);
	assert_null(c.dial_allowed_prefixes);
	assert_null(c.dial_denied_prefixes);
	tp_config_free(&c);
	tp_buf_free(&err);
}

/* The handler side answers TwiML <Reject> and logs the target. */
static void test_or_reply(void **state)
{
	tp_config c;
	tp_resp r;
	(void)state;
	memset(&c, 0, sizeof c);
	memset(&r, 0, sizeof r);
	tp_buf_init(&r.body, 65536);
	tp_params_init(&r.log);
	assert_true(tp_dial_allowed_or_reply(&c, &r, TP_DIAL_NUMBER, "+14155550100"));
	assert_int_equal(r.status, 0);
	assert_false(tp_dial_allowed_or_reply(&c, &r, TP_DIAL_NUMBER, "+19005551234"));
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(tp_buf_str(&r.body), "<Reject reason=\"rejected\"/>"));
	assert_string_equal(tp_params_get(&r.log, "dial_target"), "+19005551234");
	assert_non_null(strstr(tp_params_get(&r.log, "rejected"), "premium-rate"));
	tp_buf_free(&r.body);
	tp_params_free(&r.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers_default),
	    cmocka_unit_test(test_numbers_configured),
	    cmocka_unit_test(test_sip),
	    cmocka_unit_test(test_sip_domain_with_port),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_or_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
