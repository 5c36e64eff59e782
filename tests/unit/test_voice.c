/* Unit tests for lib/voice.c: URI and number parsing, UUI encoding and
 * selection, REFER targets and the <Dial> TwiML.  Table-driven; a failing
 * row names its line. */
#include "unit.h"

#define SID "CA0123456789abcdef0123456789abcdef"
/* "04" + hex(SID) + ";encoding=hex", percent-encoded for a URI header. */
#define SID_HEX     "0443413031323334353637383961626364656630313233343536373839616263646566"
#define SID_UUI_URI "User-to-User=" SID_HEX "%3Bencoding%3Dhex"

static void test_e164(void **state)
{
	static const struct {
		int line;
		const char *in;
		bool ok;
	} rows[] = {
	    {__LINE__, "+61290001234", true},
	    {__LINE__, "+12", true},
	    {__LINE__, "+123456789012345", true},
	    {__LINE__, "+1234567890123456", false}, /* 16 digits */
	    {__LINE__, "+0290001234", false},
	    {__LINE__, "+1", false},
	    {__LINE__, "61290001234", false},
	    {__LINE__, "+6129000123a", false},
	    {__LINE__, "+61 290001234", false},
	    {__LINE__, "", false},
	    {__LINE__, NULL, false},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++)
		if (tp_voice_e164_valid(rows[i].in) != rows[i].ok)
			ROW_FAIL(rows[i].line, "e164_valid(%s) != %d\n", rows[i].in, rows[i].ok);
}

static void join_headers(tp_buf *b, const tp_params *h)
{
	size_t i;
	for (i = 0; i < h->n; i++)
		tp_buf_addf(b, "%s%s=%s", i ? "|" : "", h->v[i].name, h->v[i].value);
}

static void test_uri_parse(void **state)
{
	static const struct {
		int line;
		const char *in;
		tp_rc rc;
		const char *scheme, *user, *user_params, *host, *params, *headers;
	} rows[] = {
	    {__LINE__, "sip:+61290001234@customer.sip.twilio.com", TP_OK, "sip", "+61290001234", "",
	     "customer.sip.twilio.com", "", ""},
	    {__LINE__, "SIPS:alice@example.com:5061;transport=tls", TP_OK, "sips", "alice", "",
	     "example.com:5061", ";transport=tls", ""},
	    {__LINE__, "<sip:+61290001234@10.0.0.5:5060;transport=udp>", TP_OK, "sip",
	     "+61290001234", "", "10.0.0.5:5060", ";transport=udp", ""},
	    {__LINE__,
	     "  \"Agent A\" "
	     "<sip:a@h;user=phone?X-Name=Doe%2C%20A&User-to-User=04AB%3Bencoding%3Dhex>;tag=1 ",
	     TP_OK, "sip", "a", "", "h", ";user=phone",
	     "X-Name=Doe, A|User-to-User=04AB;encoding=hex"},
	    {__LINE__, "sip:+1-415-555-0100;npdi;rn=+14155550000@gw.example.com;user=phone", TP_OK,
	     "sip", "+1-415-555-0100", ";npdi;rn=+14155550000", "gw.example.com", ";user=phone",
	     ""},
	    {__LINE__, "sip:[2001:db8::1]:5060", TP_OK, "sip", "", "", "[2001:db8::1]:5060", "",
	     ""},
	    {__LINE__, "tel:+61-2-9000-1234;ext=12", TP_OK, "tel", "+61-2-9000-1234", "", "",
	     ";ext=12", ""},
	    {__LINE__, "sip:%2B61290001234@h", TP_OK, "sip", "%2B61290001234", "", "h", "", ""},
	    {__LINE__, "sip:a@h?X-Empty&X-B=1", TP_OK, "sip", "a", "", "h", "", "X-Empty=|X-B=1"},
	    /* errors */
	    {__LINE__, "http://example.com", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "+61290001234", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:alice@", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:@host", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "<sip:alice@host", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:al ice@host", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:alice\"@host", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h\"><Hangup/>", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h?X-A=<b>", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h?X-A=b@c", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h?X-A=%4", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h?X-A=%00", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h?=v", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a%ZZ@h", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h;p=\x01", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "sip:a@h_h", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "tel:", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, "tel:+612?X=1", TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	    {__LINE__, NULL, TP_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_voice_uri u;
		tp_buf h;
		tp_rc rc = tp_voice_uri_parse(rows[i].in, &u);
		if (rc != rows[i].rc)
			ROW_FAIL(rows[i].line, "rc %d, expected %d\n", rc, rows[i].rc);
		if (rc != TP_OK)
			continue;
		tp_buf_init(&h, 4096);
		join_headers(&h, &u.headers);
		if (strcmp(u.scheme, rows[i].scheme) || strcmp(u.user, rows[i].user) ||
		    strcmp(u.user_params, rows[i].user_params) || strcmp(u.host, rows[i].host) ||
		    strcmp(u.params, rows[i].params) || strcmp(tp_buf_str(&h), rows[i].headers))
			ROW_FAIL(rows[i].line, "got %s | %s | %s | %s | %s | %s\n", u.scheme,
			         u.user, u.user_params, u.host, u.params, tp_buf_str(&h));
		tp_buf_free(&h);
		tp_voice_uri_free(&u);
	}
}

static void test_uri_too_long(void **state)
{
	tp_buf b;
	tp_voice_uri u;
	(void)state;
	tp_buf_init(&b, TP_VOICE_URI_MAX + 100);
	tp_buf_adds(&b, "sip:a@h?X-A=");
	while (b.len <= TP_VOICE_URI_MAX)
		tp_buf_addc(&b, 'x');
	assert_int_equal(tp_voice_uri_parse(tp_buf_str(&b), &u), TP_ETOOBIG);
	tp_buf_free(&b);
}

static void test_number(void **state)
{
	static const struct {
		int line;
		const char *in;
		const char *out; /* NULL: TP_EINVAL */
	} rows[] = {
	    {__LINE__, "sip:+61290001234@customer.sip.twilio.com", "+61290001234"},
	    {__LINE__, "sip:61290001234@customer.sip.twilio.com", "+61290001234"},
	    {__LINE__, "sips:+61290001234@host:5061;transport=tls", "+61290001234"},
	    {__LINE__, "SIP:+61290001234@10.0.0.5:5060", "+61290001234"},
	    {__LINE__, "<sip:+61290001234@host;user=phone>", "+61290001234"},
	    {__LINE__, "sip:+61290001234;npdi@host", "+61290001234"},
	    {__LINE__, "sip:%2B61290001234@host", "+61290001234"},
	    {__LINE__, "sip:+1-415-555-0100@host", "+14155550100"},
	    {__LINE__, "sip:+1(415)555.0100@host", "+14155550100"},
	    {__LINE__, "tel:+61290001234", "+61290001234"},
	    {__LINE__, "tel:+1-415-555-0100;ext=7", "+14155550100"},
	    {__LINE__, "+61400111222", "+61400111222"},
	    {__LINE__, "61400111222", "+61400111222"},
	    {__LINE__, " +61400111222 ", "+61400111222"},
	    /* no number */
	    {__LINE__, "tel:7042;phone-context=example.com", NULL}, /* local */
	    {__LINE__, "sip:alice@example.com", NULL},
	    {__LINE__, "sip:anonymous@anonymous.invalid", NULL},
	    {__LINE__, "sip:example.com", NULL},
	    {__LINE__, "sip:0290001234@host", NULL}, /* national, leading 0 */
	    {__LINE__, "sip:+1234567890123456@host", NULL},
	    {__LINE__, "sip:++61290001234@host", NULL},
	    {__LINE__, "sip:+6129000%31234@host", "+61290001234"},
	    {__LINE__, "sip:+6129000%2A1234@host", NULL},
	    {__LINE__, "sip:+61290001234:secret@host", NULL},
	    {__LINE__, "anonymous", NULL},
	    {__LINE__, "+6125\"><Hangup/>", NULL},
	    {__LINE__, "+", NULL},
	    {__LINE__, "", NULL},
	    {__LINE__, NULL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		char out[TP_VOICE_E164_SIZE];
		tp_rc rc = tp_voice_number(rows[i].in, out);
		if (rows[i].out ? (rc != TP_OK || strcmp(out, rows[i].out) != 0)
		                : (rc != TP_EINVAL || out[0] != '\0'))
			ROW_FAIL(rows[i].line, "number(%s): rc %d, \"%s\"\n", rows[i].in, rc, out);
	}
}

static void test_uui_valid(void **state)
{
	static const struct {
		int line;
		const char *in;
		bool ok;
	} rows[] = {
	    {__LINE__, SID, true},
	    {__LINE__, "7f3c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6", true},
	    {__LINE__, "a&b<c\"d'>", true},
	    {__LINE__, "a b", false},
	    {__LINE__, "a\tb", false},
	    {__LINE__, "a\x7f", false},
	    {__LINE__, "caf\xc3\xa9", false},
	    {__LINE__, "", false},
	    {__LINE__, NULL, false},
	};
	char big[TP_VOICE_UUI_MAX + 2];
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++)
		if (tp_voice_uui_valid(rows[i].in) != rows[i].ok)
			ROW_FAIL(rows[i].line, "uui_valid(%s) != %d\n", rows[i].in, rows[i].ok);
	memset(big, 'a', sizeof big);
	big[TP_VOICE_UUI_MAX] = '\0';
	assert_true(tp_voice_uui_valid(big));
	big[TP_VOICE_UUI_MAX] = 'a';
	big[TP_VOICE_UUI_MAX + 1] = '\0';
	assert_false(tp_voice_uui_valid(big));
}

static void test_uui_encode(void **state)
{
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 4096);
	assert_int_equal(tp_voice_uui_encode(&b, SID), TP_OK);
	assert_string_equal(tp_buf_str(&b), SID_HEX ";encoding=hex");
	tp_buf_reset(&b);
	tp_voice_uui_encode(&b, "a&b<c\"d");
	assert_string_equal(tp_buf_str(&b), "046126623C632264;encoding=hex");
	tp_buf_free(&b);
}

static void test_uui_decode(void **state)
{
	static const struct {
		int line;
		const char *in;
		const char *out; /* NULL: TP_EINVAL */
	} rows[] = {
	    {__LINE__, SID_HEX ";encoding=hex", SID},
	    {__LINE__, SID_HEX, SID}, /* hex is the default */
	    {__LINE__, " " SID_HEX " ; Encoding = HEX ; purpose=isdn-uui", SID},
	    {__LINE__, "4142;pd=04;encoding=hex", "AB"}, /* pd parameter: no octet to drop */
	    {__LINE__, "0441;encoding=hex", "A"},
	    {__LINE__, SID, SID},                 /* Node original: bare CallSid, binary as hex */
	    {__LINE__, SID ";encoding=hex", SID}, /* likewise */
	    {__LINE__, "abc-123;encoding=ascii", "abc-123"},
	    {__LINE__, "4142;encoding=ascii", "4142"},
	    {__LINE__, "abc-123", "abc-123"},
	    {__LINE__, "0401;encoding=hex", "0401"}, /* control byte: as written */
	    {__LINE__, "04", "04"},
	    {__LINE__, "046126623C632264;encoding=hex", "a&b<c\"d"},
	    {__LINE__, "04612062;encoding=hex", "04612062"}, /* decodes to a blank */
	    {__LINE__, ";encoding=hex", NULL},
	    {__LINE__, "", NULL},
	    {__LINE__, "a b;encoding=ascii", NULL},
	    {__LINE__, NULL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_buf b;
		tp_rc rc;
		tp_buf_init(&b, 4096);
		rc = tp_voice_uui_decode(&b, rows[i].in);
		if (rows[i].out ? (rc != TP_OK || strcmp(tp_buf_str(&b), rows[i].out) != 0)
		                : (rc != TP_EINVAL || b.len != 0))
			ROW_FAIL(rows[i].line, "decode(%s): rc %d, \"%s\"\n", rows[i].in, rc,
			         tp_buf_str(&b));
		tp_buf_free(&b);
	}
}

/* Whatever UUI we send, what Genesys (or our own decoder) reads back is
 * the same id: the map key and the header agree. */
static void test_uui_round_trip(void **state)
{
	static const char *const ids[] = {SID, "7f3c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6",
	                                  "a&b<c\"d'>;=%", "x"};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(ids); i++) {
		tp_buf e, d;
		tp_buf_init(&e, 4096);
		tp_buf_init(&d, 4096);
		assert_int_equal(tp_voice_uui_encode(&e, ids[i]), TP_OK);
		assert_int_equal(tp_voice_uui_decode(&d, tp_buf_str(&e)), TP_OK);
		assert_string_equal(tp_buf_str(&d), ids[i]);
		tp_buf_free(&e);
		tp_buf_free(&d);
	}
}

static void test_uui_select(void **state)
{
	static const struct {
		int line;
		const char *body; /* form */
		const char *query;
		const char *uui;
		tp_voice_uui_source src;
	} rows[] = {
	    {__LINE__, "CallSid=" SID "&SipHeader_x-inin-cnv=conv-1&SipHeader_User-to-User=abc", "",
	     "conv-1", TP_VOICE_UUI_ININ_CNV},
	    {__LINE__, "CallSid=" SID "&SIPHEADER_X-ININ-CNV=conv-2", "", "conv-2",
	     TP_VOICE_UUI_ININ_CNV},
	    {__LINE__, "CallSid=" SID "&SipHeader_user-to-user=" SID_HEX "%3Bencoding%3Dhex", "",
	     SID, TP_VOICE_UUI_USER_TO_USER},
	    {__LINE__, "CallSid=" SID "&SipHeader_x-inin-cnv=&SipHeader_User-to-User=abc", "",
	     "abc", TP_VOICE_UUI_USER_TO_USER},
	    {__LINE__, "CallSid=" SID "&SipHeader_x-inin-cnv=a+b", "", SID, TP_VOICE_UUI_CALL_SID},
	    {__LINE__, "CallSid=" SID, "", SID, TP_VOICE_UUI_CALL_SID},
	    {__LINE__, "", "CallSid=" SID "&SipHeader_x-inin-cnv=q-1", "q-1",
	     TP_VOICE_UUI_ININ_CNV},
	    {__LINE__, "CallSid=" SID "&SipHeader_x-inin-cnv=a%26b%3Cc%22", "", "a&b<c\"",
	     TP_VOICE_UUI_ININ_CNV},
	    {__LINE__, "CallSid=CAnot-a-sid", "", "", TP_VOICE_UUI_NONE},
	    {__LINE__, "", "", "", TP_VOICE_UUI_NONE},
	};
	size_t i;
	(void)state;
	tp_log_set_level(TP_LOG_ERROR);
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_req req;
		tp_buf b;
		tp_voice_uui_source src;
		memset(&req, 0, sizeof req);
		tp_params_init(&req.body_params);
		tp_params_init(&req.query_params);
		assert_int_equal(
		    tp_form_parse(&req.body_params, rows[i].body, strlen(rows[i].body)), TP_OK);
		assert_int_equal(
		    tp_form_parse(&req.query_params, rows[i].query, strlen(rows[i].query)), TP_OK);
		tp_buf_init(&b, 4096);
		src = tp_voice_uui_select(&req, &b);
		if (src != rows[i].src || strcmp(tp_buf_str(&b), rows[i].uui) != 0)
			ROW_FAIL(rows[i].line, "source %s, uui \"%s\"\n",
			         tp_voice_uui_source_str(src), tp_buf_str(&b));
		tp_buf_free(&b);
		tp_params_free(&req.body_params);
		tp_params_free(&req.query_params);
	}
}

#define X16  "0123456789abcdef"
#define X128 X16 X16 X16 X16 X16 X16 X16 X16

static void test_tollfree_location(void **state)
{
	static const struct {
		int line;
		const char *body; /* form */
		const char *query;
		const char *want; /* NULL: none */
	} rows[] = {
	    {__LINE__, "TollFreeMobileOriginationLocation=MOLI-98101", "", "MOLI-98101"},
	    {__LINE__, "tollfreemobileoriginationlocation=WA", "", "WA"},
	    {__LINE__, "", "TollFreeMobileOriginationLocation=Q+1", "Q 1"},
	    {__LINE__, "TollFreeMobileOriginationLocation=%22%3E%3C%2FSip%3E", "", "\"></Sip>"},
	    {__LINE__, "TollFreeMobileOriginationLocation=", "", NULL},
	    {__LINE__, "CallSid=CA1", "", NULL},
	    {__LINE__, "TollFreeMobileOriginationLocation=a%0D%0Ab", "", NULL},
	    {__LINE__, "TollFreeMobileOriginationLocation=caf%C3%A9", "", NULL},
	    {__LINE__, "TollFreeMobileOriginationLocation=%7F", "", NULL},
	    /* 128 bytes (Genesys' UUI limit), then 129. */
	    {__LINE__, "TollFreeMobileOriginationLocation=" X128, "", X128},
	    {__LINE__, "TollFreeMobileOriginationLocation=" X128 "9", "", NULL},
	};
	size_t i;
	(void)state;
	tp_log_set_level(TP_LOG_ERROR);
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_req req;
		const char *got;
		memset(&req, 0, sizeof req);
		tp_params_init(&req.body_params);
		tp_params_init(&req.query_params);
		assert_int_equal(
		    tp_form_parse(&req.body_params, rows[i].body, strlen(rows[i].body)), TP_OK);
		assert_int_equal(
		    tp_form_parse(&req.query_params, rows[i].query, strlen(rows[i].query)), TP_OK);
		got = tp_voice_tollfree_location(&req);
		if (rows[i].want ? !got || strcmp(got, rows[i].want) != 0 : got != NULL)
			ROW_FAIL(rows[i].line, "got %s%s%s\n", got ? "\"" : "", got ? got : "NULL",
			         got ? "\"" : "");
		tp_params_free(&req.body_params);
		tp_params_free(&req.query_params);
	}
}

static void test_callback_url(void **state)
{
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 4096);
	tp_voice_callback_url(&b, "https://pay.example.com", "toPSTN", "a&b=c d<\"+");
	assert_string_equal(tp_buf_str(&b), "https://pay.example.com/sync/uuiSyncUpdate"
	                                    "?CallDirection=toPSTN&UUI=a%26b%3Dc%20d%3C%22%2B");
	tp_buf_free(&b);
}

static void test_sip_uri(void **state)
{
	static const struct {
		int line;
		const char *in;
		const char *uui;
		const char *out; /* NULL: error */
	} rows[] = {
	    {__LINE__, "sip:+61255550100@customer.sip.example.com", SID,
	     "sip:+61255550100@customer.sip.example.com?" SID_UUI_URI},
	    {__LINE__, "sip:alice@h:5061;transport=tls", NULL, "sip:alice@h:5061;transport=tls"},
	    {__LINE__, "<sips:a;x=1@h;user=phone?X-Name=Doe%2C%20A&Replaces=abc&X-Twilio-A=1>",
	     "a&b",
	     "sips:a;x=1@h;user=phone?X-Name=Doe%2C%20A&User-to-User=04612662%3Bencoding%3Dhex"},
	    {__LINE__, "sip:h", NULL, "sip:h"},
	    {__LINE__, "tel:+61290001234", SID, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_voice_uri u;
		tp_buf b;
		tp_rc rc;
		assert_int_equal(tp_voice_uri_parse(rows[i].in, &u), TP_OK);
		tp_buf_init(&b, 4096);
		rc = tp_voice_sip_uri(&b, &u, rows[i].uui);
		if (rows[i].out ? (rc != TP_OK || strcmp(tp_buf_str(&b), rows[i].out) != 0)
		                : rc == TP_OK)
			ROW_FAIL(rows[i].line, "rc %d, \"%s\"\n", rc, tp_buf_str(&b));
		tp_buf_free(&b);
		tp_voice_uri_free(&u);
	}
}

/* Twilio warning 21227: the headers part must stay under 1024 chars. */
static void test_sip_uri_headers_cap(void **state)
{
	tp_buf in, out;
	tp_voice_uri u;
	(void)state;
	tp_buf_init(&in, 4096);
	tp_buf_init(&out, 4096);
	tp_buf_adds(&in, "sip:a@h?X-Big=");
	while (in.len < 1000)
		tp_buf_addc(&in, 'x');
	assert_int_equal(tp_voice_uri_parse(tp_buf_str(&in), &u), TP_OK);
	assert_int_equal(tp_voice_sip_uri(&out, &u, NULL), TP_OK);
	tp_buf_reset(&out);
	assert_int_equal(tp_voice_sip_uri(&out, &u, SID), TP_ETOOBIG);
	tp_voice_uri_free(&u);
	tp_buf_free(&in);
	tp_buf_free(&out);
}

static void test_refer_target(void **state)
{
	static const struct {
		int line;
		const char *in;
		tp_rc rc;
		bool sip;
		const char *dial; /* number, or the SIP URI rendered with uui "U" */
		const char *uui;  /* from the Refer-To, or NULL */
	} rows[] = {
	    {__LINE__, "<sip:+61290001234@host;transport=udp>", TP_OK, true,
	     "sip:+61290001234@host;transport=udp?User-to-User=0455%3Bencoding%3Dhex", NULL},
	    {__LINE__, "sip:61290001234@host", TP_OK, true,
	     "sip:+61290001234@host?User-to-User=0455%3Bencoding%3Dhex", NULL},
	    {__LINE__, "sip:alice@host", TP_OK, true,
	     "sip:alice@host?User-to-User=0455%3Bencoding%3Dhex", NULL},
	    {__LINE__, "sips:1234abc@host", TP_OK, true,
	     "sips:1234abc@host?User-to-User=0455%3Bencoding%3Dhex", NULL},
	    {__LINE__, "<sip:agent@host?User-to-User=04414243%3Bencoding%3Dhex&X-Skill=pay>", TP_OK,
	     true, "sip:agent@host?X-Skill=pay&User-to-User=0455%3Bencoding%3Dhex", "ABC"},
	    {__LINE__, "<sip:agent@host?user-to-user=conv-9&User-to-User=other>", TP_OK, true,
	     "sip:agent@host?User-to-User=0455%3Bencoding%3Dhex", "conv-9"},
	    {__LINE__, "tel:+61290001234", TP_OK, false, "+61290001234", NULL},
	    {__LINE__, "<tel:+1-415-555-0100>", TP_OK, false, "+14155550100", NULL},
	    {__LINE__, "+61290001234", TP_OK, false, "+61290001234", NULL},
	    {__LINE__, "61290001234", TP_OK, false, "+61290001234", NULL},
	    {__LINE__, " 61290001234 ", TP_OK, false, "+61290001234", NULL},
	    /* invalid */
	    {__LINE__, "0290001234", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "+6129000123456789", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "tel:0290001234", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "alice", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "sip:", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "<sip:a@h", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "sip:a@h\"/><Hangup/>", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "http://evil.example.com/", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, "", TP_EINVAL, false, NULL, NULL},
	    {__LINE__, NULL, TP_EINVAL, false, NULL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_voice_target t;
		tp_buf b;
		tp_rc rc = tp_voice_refer_target(rows[i].in, &t);
		tp_buf_init(&b, 4096);
		if (rc != rows[i].rc) {
			ROW_FAIL(rows[i].line, "rc %d, expected %d\n", rc, rows[i].rc);
		} else if (rc == TP_OK) {
			if (t.sip)
				tp_voice_sip_uri(&b, &t.uri, "U");
			else
				tp_buf_adds(&b, t.number);
			if (t.sip != rows[i].sip || strcmp(tp_buf_str(&b), rows[i].dial) != 0 ||
			    !tp_str_eq(t.uui, rows[i].uui))
				ROW_FAIL(rows[i].line, "sip %d, \"%s\", uui %s\n", t.sip,
				         tp_buf_str(&b), t.uui ? t.uui : "(none)");
		}
		tp_buf_free(&b);
		if (rc == TP_OK)
			tp_voice_target_free(&t);
	}
}

static void test_twiml(void **state)
{
	const tp_voice_dial sip = {
	    .refer_url = "https://h/pv/callTransfer",
	    .sip = true,
	    .target = "sip:+61255550100@h?X-A=1&User-to-User=0441%3Bencoding%3Dhex",
	    .callback = "https://h/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=A",
	};
	const tp_voice_dial num = {
	    .caller_id = "+61400111222",
	    .target = "+61290001234",
	    .callback = "https://h/sync/uuiSyncUpdate?CallDirection=toPSTN&UUI=%22",
	};
	const tp_voice_dial bare = {.target = "\"</Number><Hangup/>"};
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 8192);
	assert_int_equal(tp_voice_twiml_dial(&b, &sip), TP_OK);
	assert_string_equal(
	    tp_buf_str(&b),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<Response><Dial answerOnBridge=\"true\" referUrl=\"https://h/pv/callTransfer\" "
	    "referMethod=\"POST\"><Sip statusCallbackEvent=\"answered\" "
	    "statusCallbackMethod=\"POST\" "
	    "statusCallback=\"https://h/sync/uuiSyncUpdate?CallDirection=toSIP&amp;UUI=A\">"
	    "sip:+61255550100@h?X-A=1&amp;User-to-User=0441%3Bencoding%3Dhex</Sip></Dial></"
	    "Response>");
	tp_buf_reset(&b);
	tp_voice_twiml_dial(&b, &num);
	assert_string_equal(tp_buf_str(&b),
	                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                    "<Response><Dial callerId=\"+61400111222\"><Number "
	                    "statusCallbackEvent=\"answered\" statusCallbackMethod=\"POST\" "
	                    "statusCallback=\"https://h/sync/"
	                    "uuiSyncUpdate?CallDirection=toPSTN&amp;UUI=%22\">+61290001234</"
	                    "Number></Dial></Response>");
	tp_buf_reset(&b);
	tp_voice_twiml_dial(&b, &bare);
	assert_string_equal(tp_buf_str(&b),
	                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                    "<Response><Dial><Number>&quot;&lt;/Number&gt;&lt;Hangup/&gt;</"
	                    "Number></Dial></Response>");
	tp_buf_reset(&b);
	tp_voice_twiml_reject(&b, "busy");
	assert_string_equal(tp_buf_str(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                                    "<Response><Reject reason=\"busy\"/></Response>");
	tp_buf_free(&b);
}

static void test_refer_path(void **state)
{
	(void)state;
	assert_true(tp_voice_refer_path("/pv/callToSIPwithRefer"));
	assert_true(tp_voice_refer_path("/pv/callToPSTNwithRefer"));
	assert_false(tp_voice_refer_path("/pv/callToSIP"));
	assert_false(tp_voice_refer_path("/pv/callTransfer"));
	assert_false(tp_voice_refer_path(""));
	assert_false(tp_voice_refer_path(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e164),
	    cmocka_unit_test(test_uri_parse),
	    cmocka_unit_test(test_uri_too_long),
	    cmocka_unit_test(test_number),
	    cmocka_unit_test(test_uui_valid),
	    cmocka_unit_test(test_uui_encode),
	    cmocka_unit_test(test_uui_decode),
	    cmocka_unit_test(test_uui_round_trip),
	    cmocka_unit_test(test_uui_select),
	    cmocka_unit_test(test_tollfree_location),
	    cmocka_unit_test(test_callback_url),
	    cmocka_unit_test(test_sip_uri),
	    cmocka_unit_test(test_sip_uri_headers_cap),
	    cmocka_unit_test(test_refer_target),
	    cmocka_unit_test(test_twiml),
	    cmocka_unit_test(test_refer_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
