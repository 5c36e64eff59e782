/*
 * str.c - string helpers: bounded integer parsing with a cursor (no atoi or
 * sscanf, see STYLE.md), comparisons, SID syntax, randomness.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

const char *tp_rc_str(tp_rc rc)
{
	switch (rc) {
	case TP_OK:
		return "ok";
	case TP_EINVAL:
		return "invalid";
	case TP_ETOOBIG:
		return "too big";
	case TP_ENOTFOUND:
		return "not found";
	case TP_EIO:
		return "i/o error";
	case TP_EAUTH:
		return "not authentic";
	case TP_EEXPIRED:
		return "expired";
	case TP_EUNAVAIL:
		return "unavailable";
	case TP_ETIMEOUT:
		return "timed out";
	case TP_ECONFIG:
		return "not configured";
	}
	return "unknown error";
}

tp_rc tp_str_to_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || len == 0 || len > 20)
		return TP_EINVAL;
	for (i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return TP_EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return TP_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return TP_OK;
}

bool tp_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool tp_str_caseeq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcasecmp(a, b) == 0;
}

bool tp_str_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool tp_ct_streq(const char *a, const char *b)
{
	size_t la, lb, i;
	unsigned char diff;

	if (!a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	/* Walk the secret's length whatever `a` is, so timing reveals only
	 * the secret's length (which the caller chose). */
	diff = (unsigned char)(la != lb);
	for (i = 0; i < lb; i++) {
		unsigned char ca = i < la ? (unsigned char)a[i] : 0;
		diff |= (unsigned char)(ca ^ (unsigned char)b[i]);
	}
	return diff == 0;
}

tp_rc tp_str_to_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	size_t i;

	if (!s)
		return TP_EINVAL;
	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return TP_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return TP_OK;
		}
	}
	return TP_EINVAL;
}

bool tp_sid_valid(const char *s, const char *prefix)
{
	size_t i;

	if (!s || strlen(s) != TP_SID_LEN)
		return false;
	if (prefix) {
		if (strncmp(s, prefix, 2) != 0)
			return false;
	} else if (s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z') {
		return false;
	}
	for (i = 2; i < TP_SID_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

void tp_random_bytes(void *out, size_t n)
{
	if (RAND_bytes(out, (int)n) != 1)
		abort(); /* no entropy: nothing safe to do */
}

int tp_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void tp_hex(const void *mem, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = mem;
	size_t i;

	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 15];
	}
	hex[2 * n] = '\0';
}
