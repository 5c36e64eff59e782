/*
 * redact.c - keeps card data out of everything we write.
 *
 * PCI DSS forbids storing the PAN unprotected and the security code at
 * all; log lines and error bodies are storage.  Two defences:
 *  - by shape: a run of 12-19 digits, optionally grouped by single spaces,
 *    dashes, dots or slashes ("4111 1111-1111 1111", "4111.1111.1111.1111",
 *    "4111/1111/1111/1111": a number typed into a form, a URL path or a
 *    spreadsheet), that passes the Luhn check is replaced by "[card]".  A longer run is replaced
 * when any 12-19 digit window inside it passes, so a PAN glued to other digits still goes.
 *    Luhn-invalid runs stay (order numbers, timestamps), at the price of
 *    letting a mistyped PAN through: Twilio never sends us one unmasked.
 *  - by name: fields whose name says card number, security code, bank
 *    account/routing number or credential are never logged at all (a
 *    3-digit CVC has no shape to recognise).
 */
#include <ctype.h>
#include <string.h>

#include "internal.h"

#define RUN_MAX 64 /* digits examined per run; longer runs are redacted */

static bool run_has_card(const char *d, size_t n)
{
	size_t w, start;

	if (n > RUN_MAX)
		return true;
	if (n <= 19)
		return tp_luhn_ok(d, n);
	for (w = 12; w <= 19 && w <= n; w++)
		for (start = 0; start + w <= n; start++)
			if (tp_luhn_ok(d + start, w))
				return true;
	return false;
}

/* A Twilio SID (two capitals + 32 hex digits, a word of its own) is
 * never card data, though its hex part may hold a Luhn-valid digit run:
 * it is kept so logs stay useful. */
static bool sid_at(const char *s, size_t i, size_t len)
{
	size_t k;

	if (len - i < TP_SID_LEN || (i > 0 && isalnum((unsigned char)s[i - 1])))
		return false;
	if (!isupper((unsigned char)s[i]) || !isupper((unsigned char)s[i + 1]))
		return false;
	for (k = i + 2; k < i + TP_SID_LEN; k++)
		if (!isxdigit((unsigned char)s[k]))
			return false;
	return i + TP_SID_LEN == len || !isalnum((unsigned char)s[i + TP_SID_LEN]);
}

tp_rc tp_redact_text(tp_buf *out, const char *s)
{
	size_t i = 0, len = strlen(s);
	tp_rc rc = TP_OK;

	while (i < len && rc == TP_OK) {
		char digits[RUN_MAX + 1];
		size_t nd = 0, j = i, end = i;

		if (sid_at(s, i, len)) {
			rc = tp_buf_add(out, s + i, TP_SID_LEN);
			i += TP_SID_LEN;
			continue;
		}
		if (!isdigit((unsigned char)s[i])) {
			size_t k = i + 1;
			while (k < len && !isdigit((unsigned char)s[k]) &&
			       !isupper((unsigned char)s[k]))
				k++;
			rc = tp_buf_add(out, s + i, k - i);
			i = k;
			continue;
		}
		/* Extend the run over digits and single separators. */
		while (j < len) {
			if (isdigit((unsigned char)s[j])) {
				if (nd < RUN_MAX)
					digits[nd] = s[j];
				nd++;
				j++;
				end = j;
			} else if (s[j] != '\0' && strchr(" -./", s[j]) && j + 1 < len &&
			           isdigit((unsigned char)s[j + 1])) {
				j++;
			} else {
				break;
			}
		}
		if (nd >= 12 && run_has_card(digits, nd))
			rc = tp_buf_adds(out, "[card]");
		else
			rc = tp_buf_add(out, s + i, end - i);
		i = end;
	}
	return rc;
}

bool tp_redact_is_secret_name(const char *name)
{
	static const char *const secret[] = {
	    "card",
	    "cardnumber",
	    "paymentcardnumber",
	    "pan",
	    "cvv",
	    "cvc",
	    "cvv2",
	    "securitycode",
	    "accountnumber",
	    "bankaccountnumber",
	    "routingnumber",
	    "bankroutingnumber",
	    "password",
	    "passwd",
	    "secret",
	    "apisecret",
	    "authtoken",
	    "authorization",
	    "token",
	    "paymenttoken",
	    "tokenid",
	    "admintoken",
	    "connectorpassword",
	    "agentsecret",
	};
	char norm[64];
	size_t i, j = 0;

	if (!name)
		return false;
	for (i = 0; name[i] && j < sizeof norm - 1; i++)
		if (name[i] != '_' && name[i] != '-')
			norm[j++] = (char)tolower((unsigned char)name[i]);
	norm[j] = '\0';
	for (i = 0; i < sizeof secret / sizeof secret[0]; i++)
		if (tp_str_caseeq(norm, secret[i]))
			return true;
	return false;
}
