/* PCI redaction: after tp_redact_text, no run of 12-19 digits (grouped by
 * single spaces, dashes, dots or slashes) passing Luhn survives outside a
 * SID. */
#include <ctype.h>

#include "fuzz.h"

static bool luhn(const char *d, size_t n)
{
	unsigned sum = 0;
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned v = (unsigned)(d[n - 1 - i] - '0');
		if (i % 2) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* The oracle's own SID test: two capitals and exactly 32 hex digits,
 * a word of its own. */
static bool is_sid(const char *s, size_t i, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	return len - i >= 34 && (i == 0 || !isalnum(u[i - 1])) && isupper(u[i]) &&
	       isupper(u[i + 1]) && strspn(s + i + 2, "0123456789abcdefABCDEF") == 32;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	tp_buf out;
	const char *o;
	size_t len, i = 0;

	tp_buf_init(&out, 1u << 24);
	tp_redact_text(&out, s);
	o = tp_buf_str(&out);
	len = strlen(o);
	while (i < len) {
		char d[64];
		size_t n = 0, j = i;
		if (is_sid(o, i, len)) {
			i += 34;
			continue;
		}
		if (!isdigit((unsigned char)o[i])) {
			i++;
			continue;
		}
		while (j < len) {
			if (isdigit((unsigned char)o[j])) {
				if (n < sizeof d)
					d[n] = o[j];
				n++;
				j++;
			} else if ((o[j] == ' ' || o[j] == '-' || o[j] == '.' || o[j] == '/') &&
			           j + 1 < len && isdigit((unsigned char)o[j + 1])) {
				j++;
			} else {
				break;
			}
		}
		FUZZ_ASSERT(!(n >= 12 && n <= 19 && luhn(d, n)));
		i = j;
	}
	tp_buf_free(&out);
	free(s);
	return 0;
}
