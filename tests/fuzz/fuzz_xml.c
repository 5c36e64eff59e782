/* TwiML escaping: the output never contains markup characters except as
 * the five entities, so no input can open or close an element. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	tp_buf out;
	const char *p;

	tp_buf_init(&out, 1u << 24);
	FUZZ_ASSERT(tp_xml_escape(&out, s) == TP_OK);
	for (p = tp_buf_str(&out); *p; p++) {
		FUZZ_ASSERT(*p != '<' && *p != '>' && *p != '"' && *p != '\'');
		FUZZ_ASSERT((unsigned char)*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r');
		if (*p == '&')
			FUZZ_ASSERT(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) ||
			            !strncmp(p, "&gt;", 4) || !strncmp(p, "&quot;", 6) ||
			            !strncmp(p, "&apos;", 6));
	}
	tp_buf_free(&out);
	free(s);
	return 0;
}
