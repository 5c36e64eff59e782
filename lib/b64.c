/*
 * b64.c - base64 (RFC 4648 section 4) and base64url without padding
 * (section 5, as JWT requires).
 */
#include <string.h>

#include "internal.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static tp_rc encode(tp_buf *out, const void *mem, size_t len, const char *alpha, bool pad)
{
	const unsigned char *p = mem;
	size_t i;
	tp_rc rc = TP_OK;

	for (i = 0; i + 2 < len && rc == TP_OK; i += 3) {
		char q[4] = {alpha[p[i] >> 2], alpha[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
		             alpha[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], alpha[p[i + 2] & 63]};
		rc = tp_buf_add(out, q, 4);
	}
	if (rc != TP_OK)
		return rc;
	if (len - i == 1) {
		char q[4] = {alpha[p[i] >> 2], alpha[(p[i] & 3) << 4], '=', '='};
		rc = tp_buf_add(out, q, pad ? 4 : 2);
	} else if (len - i == 2) {
		char q[4] = {alpha[p[i] >> 2], alpha[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
		             alpha[(p[i + 1] & 15) << 2], '='};
		rc = tp_buf_add(out, q, pad ? 4 : 3);
	}
	return rc;
}

tp_rc tp_b64_encode(tp_buf *out, const void *mem, size_t len)
{
	return encode(out, mem, len, std_alpha, true);
}

tp_rc tp_b64url_encode(tp_buf *out, const void *mem, size_t len)
{
	return encode(out, mem, len, url_alpha, false);
}

static int b64val(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(std_alpha, c);
	return p ? (int)(p - std_alpha) : -1;
}

tp_rc tp_b64_decode(tp_buf *out, const char *s, size_t len)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i;
	tp_rc rc = TP_OK;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return TP_EINVAL;
	for (i = 0; i < len && rc == TP_OK; i++) {
		int v = b64val(s[i]);
		if (v < 0)
			return TP_EINVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			rc = tp_buf_addc(out, (char)((acc >> bits) & 0xff));
		}
	}
	return rc;
}
