/* Unit tests for lib/xml.c: escaping makes injection impossible. */
#include "unit.h"

static void test_escape(void **state)
{
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 1000);
	tp_xml_escape(&b, "a&b<c>d\"e'f\x01g");
	assert_string_equal(b.ptr, "a&amp;b&lt;c&gt;d&quot;e&apos;fg");
	tp_buf_free(&b);
}

static void test_document(void **state)
{
	const char *const attrs[] = {
	    "statusCallback", "https://h/x?a=1&b=\"2\"", "skip", NULL, "method", "POST", NULL};
	tp_buf b;
	(void)state;
	tp_buf_init(&b, 1000);
	tp_xml_decl(&b);
	tp_xml_open(&b, "Response", NULL, false);
	tp_xml_open(&b, "Sip", attrs, false);
	tp_xml_text(&b, "sip:</Sip><Hangup/>");
	tp_xml_close(&b, "Sip");
	tp_xml_open(&b, "Hangup", NULL, true);
	tp_xml_close(&b, "Response");
	assert_string_equal(
	    b.ptr, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<Response><Sip statusCallback=\"https://h/x?a=1&amp;b=&quot;2&quot;\" "
	           "method=\"POST\">sip:&lt;/Sip&gt;&lt;Hangup/&gt;</Sip><Hangup/></Response>");
	tp_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
