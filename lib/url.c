/*
 * url.c - percent-encoding (RFC 3986 section 2.1) and decoding.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

tp_rc tp_url_encode(tp_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	tp_rc rc = TP_OK;

	for (; *p && rc == TP_OK; p++) {
		if (unreserved(*p)) {
			rc = tp_buf_addc(out, (char)*p);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = tp_buf_add(out, e, 3);
		}
	}
	return rc;
}

tp_rc tp_url_decode(const char *s, size_t len, bool plus_is_space, char **out)
{
	char *d = tp_xmalloc(len + 1);
	size_t i, j = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (len - i < 3) {
				free(d);
				return TP_EINVAL; /* truncated escape */
			}
			hi = tp_hex_digit((unsigned char)s[i + 1]);
			lo = tp_hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(d);
				return TP_EINVAL; /* non-hex escape, or %00 */
			}
			d[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			d[j++] = ' ';
		} else if (c == '\0') {
			free(d);
			return TP_EINVAL;
		} else {
			d[j++] = c;
		}
	}
	d[j] = '\0';
	*out = d;
	return TP_OK;
}
