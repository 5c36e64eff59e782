/*
 * dial.c - what a handler may dial: the toll-fraud rule every handler that
 * answers with <Dial> applies to its target before it answers.
 *
 * Why: the targets come from outside.  callToPSTN dials the number in the
 * To URI the SIP side sends, callTransfer the Refer-To of a SIP REFER.
 * Anyone who can make the SIP side send a crafted INVITE or REFER (a
 * compromised or misconfigured trunk, a softphone registered on it) could
 * otherwise make our Twilio account call a premium-rate number it is paid
 * for, or bridge the call to a SIP server of its own
 * (<sip:evil@attacker.example;transport=tls>), at our expense.
 *
 * The rule (docs/operating.md "Configuration", .env.example):
 *  - a number (<Number>) must be E.164, start with one of
 *    DIAL_ALLOWED_PREFIXES (unset or "any": every number) and with none of
 *    DIAL_DENIED_PREFIXES (default "premium": the ranges below);
 *  - a SIP URI (<Sip>) must name SIP_DOMAIN_URI's host or one of
 *    DIAL_ALLOWED_SIP_DOMAINS ("*.example.com" for its subdomains), and
 *    carry no maddr parameter (RFC 3261 section 19.1.1: maddr overrides
 *    the host as the address to send to, so sip:x@allowed;maddr=evil would
 *    reach evil).
 * A refused target is answered with <Reject reason="rejected"/> and a
 * warning log line naming it and the rule.
 *
 * The built-in "premium" list, each entry from the numbering plan of the
 * authority named (an 'x' stands for any digit):
 *   +1900       NANP 900 premium-rate service code (NANPA, N00 codes)
 *   +1xxx976    NANP 976 exchanges, pay-per-call in any area code (NANPA
 *               central office code 976, the original premium exchange)
 *   +449        UK 09 premium rate services (Ofcom, National Telephone
 *               Numbering Plan)
 *   +61190      Australia 190 premium services (ACMA, Telecommunications
 *               Numbering Plan 2015)
 *   +64900      New Zealand 0900 premium rate (NZ Telecommunications
 *               Forum, Numbering Plan)
 *   +49900      Germany 0900 premium services (Bundesnetzagentur)
 *   +49137      Germany 0137 televoting / mass-call services (Bundesnetzagentur)
 *   +3389       France 089x surcharged services (Arcep)
 *   +39899      Italy 899 premium services (AGCOM)
 *   +34803 +34806 +34807  Spain premium rate (CNMC)
 *   +979        International Premium Rate Service (ITU-T E.169.3)
 *   +870 +881 +882 +883   Inmarsat, Global Mobile Satellite Systems and
 *               International Networks (ITU-T E.164 shared country codes):
 *               satellite and network rates, the usual destinations of
 *               international revenue-share fraud
 * The list is a floor, not a fraud service: production should also set
 * DIAL_ALLOWED_PREFIXES to the countries it serves.
 *
 * Rejected: country names or ISO codes instead of prefixes - +1 alone is
 * some twenty countries, so only prefixes say exactly what is dialled;
 * "the longest match wins" between the two lists - an allowed prefix
 * that re-opens a denied range is easy to write by accident, so a denied
 * match always wins and opening a range means taking it out of
 * DIAL_DENIED_PREFIXES.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const char *const premium[] = {
    "+1900",  "+1xxx976", "+449",   "+61190", "+64900", "+49900", "+49137", "+3389", "+39899",
    "+34803", "+34806",   "+34807", "+979",   "+870",   "+881",   "+882",   "+883",
};

#define PREFIX_MAX 16 /* '+' and at most 15 digits */

/* ------------------------------------------------------------ lists */

/* One entry of a prefix list: '+', then 1-15 digits or 'x', the first
 * not 0 (no country code starts with 0). */
static bool prefix_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || n > PREFIX_MAX || s[0] != '+' || s[1] == '0')
		return false;
	for (i = 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != 'x' && s[i] != 'X')
			return false;
	return true;
}

/* A host name (letters, digits, '-', '.'), optionally "*." first. */
static bool domain_ok(const char *s, size_t n)
{
	size_t i;

	if (n > 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		n -= 2;
	}
	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

bool tp_dial_list_normalise(tp_dial_list kind, const char *v, tp_buf *out)
{
	const char *p = v;

	tp_buf_reset(out);
	while (*p) {
		size_t n = strcspn(p, ","), i;
		const char *s = p;
		bool ok;
		trim(&s, &n);
		if (kind == TP_DIAL_LIST_DOMAINS)
			ok = domain_ok(s, n);
		else
			ok = prefix_ok(s, n) ||
			     (kind == TP_DIAL_LIST_ALLOWED && n == 3 &&
			      strncasecmp(s, "any", 3) == 0) ||
			     (kind == TP_DIAL_LIST_DENIED && n == 4 &&
			      strncasecmp(s, "none", 4) == 0) ||
			     (kind == TP_DIAL_LIST_DENIED && n == 7 &&
			      strncasecmp(s, "premium", 7) == 0);
		if (!ok)
			return false;
		if (out->len)
			tp_buf_addc(out, ',');
		for (i = 0; i < n; i++)
			tp_buf_addc(out, (char)tolower((unsigned char)s[i]));
		p += strcspn(p, ",");
		p += *p == ',';
	}
	/* "any" and "none" stand alone: next to a prefix they would hide
	 * what the operator meant. */
	if (out->len == 0)
		return false;
	if (kind != TP_DIAL_LIST_DOMAINS && strchr(tp_buf_str(out), ',') &&
	    (strstr(tp_buf_str(out), "any") || strstr(tp_buf_str(out), "none")))
		return false;
	return true;
}

/* ------------------------------------------------------------ numbers */

/* True when number starts with prefix, 'x' matching any digit. */
static bool prefix_match(const char *number, const char *prefix, size_t n)
{
	size_t i;

	if (strlen(number) < n)
		return false;
	for (i = 0; i < n; i++)
		if (prefix[i] != number[i] &&
		    !(prefix[i] == 'x' && isdigit((unsigned char)number[i])))
			return false;
	return true;
}

static bool in_premium(const char *number)
{
	size_t i;

	for (i = 0; i < sizeof premium / sizeof premium[0]; i++)
		if (prefix_match(number, premium[i], strlen(premium[i])))
			return true;
	return false;
}

/* True when `number` matches an entry of the comma list (already
 * normalised); "premium" expands to the built-in list. */
static bool list_match(const char *list, const char *number)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 7 && strncmp(p, "premium", 7) == 0) {
			if (in_premium(number))
				return true;
		} else if (p[0] == '+' && prefix_match(number, p, n)) {
			return true;
		}
		p += n + (p[n] == ',');
	}
	return false;
}

static const char *number_refusal(const tp_config *cfg, const char *number)
{
	const char *allowed = cfg->dial_allowed_prefixes;
	const char *denied = cfg->dial_denied_prefixes ? cfg->dial_denied_prefixes : "premium";

	if (!tp_voice_e164_valid(number))
		return "not an E.164 number";
	if (list_match(denied, number))
		return strstr(denied, "premium") && in_premium(number)
		           ? "a premium-rate or high-cost range (DIAL_DENIED_PREFIXES=premium)"
		           : "a denied prefix (DIAL_DENIED_PREFIXES)";
	if (allowed && strcmp(allowed, "any") != 0 && !list_match(allowed, number))
		return "outside DIAL_ALLOWED_PREFIXES";
	return NULL;
}

/* ------------------------------------------------------------ SIP */

/* The host of a hostport: without ":port", and without the brackets of
 * an IPv6 reference. */
static void host_only(const char *hostport, char *out, size_t cap)
{
	const char *h = hostport;
	size_t n;

	if (*h == '[') {
		h++;
		n = strcspn(h, "]");
	} else {
		n = strcspn(h, ":");
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

/* `entry` is a host name or "*.suffix" (normalised to lower case). */
static bool domain_match(const char *host, const char *entry, size_t n)
{
	size_t hl = strlen(host);

	if (n > 2 && entry[0] == '*' && entry[1] == '.')
		return hl > n - 1 && strncasecmp(host + hl - (n - 1), entry + 1, n - 1) == 0;
	return hl == n && strncasecmp(host, entry, n) == 0;
}

static bool sip_host_allowed(const tp_config *cfg, const char *host)
{
	const char *p = cfg->dial_allowed_sip_domains;
	char own[256];

	if (cfg->sip_domain_uri) {
		host_only(cfg->sip_domain_uri, own, sizeof own);
		if (*own && strcasecmp(host, own) == 0)
			return true;
	}
	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (domain_match(host, p, n))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

/* True when a ";name=..." or ";name" URI parameter is present. */
static bool has_param(const char *params, const char *name)
{
	const char *p = params;
	size_t n = strlen(name);

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		if (strncasecmp(p, name, n) == 0 && (p[n] == '=' || p[n] == ';' || p[n] == '\0'))
			return true;
	}
	return false;
}

static const char *sip_refusal(const tp_config *cfg, const char *uri)
{
	tp_voice_uri u;
	char host[256];
	const char *why = NULL;

	if (tp_voice_uri_parse(uri, &u) != TP_OK)
		return "not a SIP URI";
	if (strcmp(u.scheme, "sip") != 0 && strcmp(u.scheme, "sips") != 0)
		why = "not a SIP URI";
	else if (has_param(u.params, "maddr"))
		why = "a maddr parameter (it would override the host)";
	else {
		host_only(u.host, host, sizeof host);
		if (!sip_host_allowed(cfg, host))
			why = "a SIP host outside SIP_DOMAIN_URI and DIAL_ALLOWED_SIP_DOMAINS";
	}
	tp_voice_uri_free(&u);
	return why;
}

/* ------------------------------------------------------------ the rule */

const char *tp_dial_refusal(const tp_config *cfg, tp_dial_kind kind, const char *target)
{
	if (!target || !*target)
		return "no target";
	return kind == TP_DIAL_SIP ? sip_refusal(cfg, target) : number_refusal(cfg, target);
}

bool tp_dial_allowed_or_reply(const tp_config *cfg, tp_resp *resp, tp_dial_kind kind,
                              const char *target)
{
	const char *why = tp_dial_refusal(cfg, kind, target);
	tp_buf w;

	if (!why)
		return true;
	tp_buf_init(&w, 512);
	tp_buf_addf(&w, "dial refused: %s is %s",
	            kind == TP_DIAL_SIP ? "the SIP target" : "the number", why);
	tp_resp_log(resp, "dial_target", target);
	tp_voice_reply_reject(resp, "rejected", tp_buf_str(&w));
	tp_buf_free(&w);
	return false;
}
