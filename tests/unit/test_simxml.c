/*
 * Unit tests for sim/twiml.c, the emulator's TwiML parser.  sim/ is a
 * program, not part of libtwiliopay, so its one self-contained file is
 * compiled into this test directly.
 */
#include "unit.h"

#include "../../sim/twiml.c"

static void test_callToSIP_reply(void **state)
{
	static const char doc[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!-- made by callToSIP -->\n"
	    "<Response>\n"
	    "  <Dial answerOnBridge=\"true\" referUrl='/pv/callTransfer' referMethod=\"POST\">\n"
	    "    <Sip statusCallbackEvent=\"answered\" "
	    "statusCallback=\"https://h/sync/uuiSyncUpdate?CallDirection=toSIP&amp;UUI=CA1\">"
	    "sip:+61290001234@cc.example.com?User-to-User=CA1</Sip>\n"
	    "  </Dial>\n"
	    "</Response>\n";
	tp_buf err;
	sim_xml *x;
	(void)state;

	tp_buf_init(&err, 512);
	x = sim_xml_parse(doc, strlen(doc), &err);
	assert_non_null(x);
	assert_string_equal(x->name, "Response");
	assert_non_null(x->child);
	assert_string_equal(x->child->name, "Dial");
	assert_string_equal(sim_xml_attr(x->child, "answerOnBridge"), "true");
	assert_string_equal(sim_xml_attr(x->child, "referUrl"), "/pv/callTransfer");
	assert_null(x->child->next);
	assert_string_equal(x->child->child->name, "Sip");
	assert_string_equal(sim_xml_attr(x->child->child, "statusCallback"),
	                    "https://h/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=CA1");
	assert_string_equal(x->child->child->text,
	                    "sip:+61290001234@cc.example.com?User-to-User=CA1");
	sim_xml_free(x);
	tp_buf_free(&err);
}

static void test_entities_and_cdata(void **state)
{
	static const char doc[] =
	    "<Response><Say a=\"&lt;&gt;&quot;&apos;&#65;&#x42;\">"
	    "x &amp; y <![CDATA[<raw & text>]]> &#xe9;</Say><Hangup/></Response>";
	tp_buf err;
	sim_xml *x;
	(void)state;

	tp_buf_init(&err, 512);
	x = sim_xml_parse(doc, strlen(doc), &err);
	assert_non_null(x);
	assert_string_equal(sim_xml_attr(x->child, "a"), "<>\"'AB");
	assert_string_equal(x->child->text, "x & y <raw & text> \xc3\xa9");
	assert_string_equal(x->child->next->name, "Hangup");
	assert_string_equal(x->child->next->text, "");
	sim_xml_free(x);
	tp_buf_free(&err);
}

static void test_malformed(void **state)
{
	static const struct {
		int line;
		const char *doc;
	} rows[] = {
	    {__LINE__, ""},
	    {__LINE__, "   "},
	    {__LINE__, "hello"},
	    {__LINE__, "<Response>"},
	    {__LINE__, "<Response><Dial></Response>"},
	    {__LINE__, "<Response></Responses>"},
	    {__LINE__, "<Response>a & b</Response>"},
	    {__LINE__, "<Response>&bogus;</Response>"},
	    {__LINE__, "<Response>&#0;</Response>"},
	    {__LINE__, "<Response>&#xD800;</Response>"},
	    {__LINE__, "<Response a=\"1\" a=\"2\"/>"},
	    {__LINE__, "<Response a=1/>"},
	    {__LINE__, "<Response a=\"1\"b=\"2\"/>"},
	    {__LINE__, "<Response a=\"<\"/>"},
	    {__LINE__, "<Response/><Response/>"},
	    {__LINE__, "<Response/>trailing"},
	    {__LINE__, "<!DOCTYPE r [<!ENTITY x \"y\">]><Response>&x;</Response>"},
	    {__LINE__, "<Response><!-- open </Response>"},
	    {__LINE__, "<Response><![CDATA[x</Response>"},
	    {__LINE__, "<Response>]]></Response>"},
	    {__LINE__, "< Response/>"},
	    {__LINE__, "<1Response/>"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_buf err;
		sim_xml *x;

		tp_buf_init(&err, 512);
		x = sim_xml_parse(rows[i].doc, strlen(rows[i].doc), &err);
		if (x) {
			sim_xml_free(x);
			ROW_FAIL(rows[i].line, "accepted malformed XML\n");
		}
		if (err.len == 0)
			ROW_FAIL(rows[i].line, "no reason given\n");
		tp_buf_free(&err);
	}
}

static void test_depth_limit(void **state)
{
	tp_buf doc, err;
	sim_xml *x;
	int i;
	(void)state;

	tp_buf_init(&doc, 1u << 16);
	tp_buf_init(&err, 512);
	for (i = 0; i < 40; i++)
		tp_buf_adds(&doc, "<a>");
	for (i = 0; i < 40; i++)
		tp_buf_adds(&doc, "</a>");
	x = sim_xml_parse(doc.ptr, doc.len, &err);
	assert_null(x);
	assert_non_null(strstr(tp_buf_str(&err), "too deep"));
	tp_buf_free(&doc);
	tp_buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_callToSIP_reply),
	    cmocka_unit_test(test_entities_and_cdata),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_depth_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
