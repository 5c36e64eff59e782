/*
 * xml.c - a minimal XML writer for TwiML.  Escaping follows
 * twilio-contract.md section 8 (XML 1.0 section 2.4): & < > in text, and
 * also " and ' in attribute values.  Control characters other than tab,
 * LF and CR are not allowed in XML 1.0 at all and are dropped.
 */
#include <string.h>

#include "internal.h"

/* True for a byte that goes out as it is. */
static bool plain(unsigned char c)
{
	return c != '&' && c != '<' && c != '>' && c != '"' && c != '\'' &&
	       (c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
}

tp_rc tp_xml_escape(tp_buf *out, const char *s)
{
	tp_rc rc = TP_OK;

	for (; *s && rc == TP_OK; s++) {
		unsigned char c = (unsigned char)*s;
		size_t run = 0;

		/* A run of plain bytes in one append. */
		while (s[run] && plain((unsigned char)s[run]))
			run++;
		if (run) {
			rc = tp_buf_add(out, s, run);
			s += run - 1;
			continue;
		}
		switch (c) {
		case '&':
			rc = tp_buf_adds(out, "&amp;");
			break;
		case '<':
			rc = tp_buf_adds(out, "&lt;");
			break;
		case '>':
			rc = tp_buf_adds(out, "&gt;");
			break;
		case '"':
			rc = tp_buf_adds(out, "&quot;");
			break;
		case '\'':
			rc = tp_buf_adds(out, "&apos;");
			break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				break;
			rc = tp_buf_addc(out, (char)c);
		}
	}
	return rc;
}

tp_rc tp_xml_decl(tp_buf *out)
{
	return tp_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

tp_rc tp_xml_open(tp_buf *out, const char *name, const char *const *attrs, bool empty)
{
	size_t i;
	tp_rc rc = tp_buf_addc(out, '<');

	if (rc == TP_OK)
		rc = tp_buf_adds(out, name);
	for (i = 0; attrs && attrs[i] && rc == TP_OK; i += 2) {
		if (!attrs[i + 1])
			continue;
		rc = tp_buf_addf(out, " %s=\"", attrs[i]);
		if (rc == TP_OK)
			rc = tp_xml_escape(out, attrs[i + 1]);
		if (rc == TP_OK)
			rc = tp_buf_addc(out, '"');
	}
	if (rc == TP_OK)
		rc = tp_buf_adds(out, empty ? "/>" : ">");
	return rc;
}

tp_rc tp_xml_text(tp_buf *out, const char *text)
{
	return tp_xml_escape(out, text);
}

tp_rc tp_xml_close(tp_buf *out, const char *name)
{
	tp_rc rc = tp_buf_adds(out, "</");
	if (rc == TP_OK)
		rc = tp_buf_adds(out, name);
	if (rc == TP_OK)
		rc = tp_buf_addc(out, '>');
	return rc;
}
