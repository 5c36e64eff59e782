/*
 * voice.c - voice routing helpers: SIP/tel URIs, E.164 numbers, the UUI
 * that correlates the PSTN and contact-centre legs, and the <Dial> TwiML
 * (twilio-contract.md sections 7, 8 and 11).
 *
 * How the UUI reaches Genesys Cloud.  Genesys reads the SIP User-to-User
 * header as RFC 7433/7434 describe it (Genesys Cloud resource centre,
 * "User to User Information (UUI) overview" and "UUI data formats",
 * help.mypurecloud.com/articles/uui-data-formats):
 *   - the value may carry an encoding parameter, hex or ascii; without one
 *     Genesys assumes hex.  The Node original sent the CallSid bare, and
 *     "CA" + 32 hex digits is valid hex, so Genesys decoded it into 17
 *     binary bytes - not the id the agent's script must look up;
 *   - in a User-to-User header Genesys always removes the first octet, the
 *     ISDN protocol discriminator, unless a pd parameter carries it.
 * We therefore send "04" (protocol discriminator 0x04 = IA5 characters,
 * ITU-T Q.931 section 4.5.30), the id's bytes in hex, and ";encoding=hex":
 * Genesys strips 0x04 and hands exactly the id to Architect and Scripter.
 * Inside a <Sip> URI the value is percent-encoded as Twilio documents it
 * (error 32110: "User-to-User=0A1B2C3D%3Bencoding%3Dhex"; the <Dial>
 * referUrl sample "User-to-User=123456789%3Bencoding%3Dhex").
 * Rejected: ";encoding=ascii" with the bare id - the discriminator rule is
 * stated for the header whatever the encoding, so the id would lose its
 * first character; and hex is the form Twilio's own samples use.
 * The plain id, never the encoded header value, travels in the callback's
 * UUI= parameter and is the uuiMap key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Largest number of URI headers we keep from one URI. */
#define URI_HEADERS_MAX 32
/* Twilio warning 21227: the headers part of a SIP URI must be fewer than
 * 1024 characters. */
#define SIP_HEADERS_MAX 1023

/* RFC 3261 section 25.1 character classes, on top of "unreserved". */
#define USER_EXTRA   "&=+$,;?/:" /* user-unreserved, and ':' before a password */
#define PARAM_EXTRA  "[]/:&+$;=" /* param-unreserved, separators */
#define HEADER_EXTRA "[]/?:+$=&" /* hnv-unreserved, separators */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* unreserved = alphanum / mark (RFC 3261 section 25.1). */
static bool is_unreserved(int c)
{
	return is_alnum(c) || (c != '\0' && strchr("-_.!~*'()", c) != NULL);
}

/* True when every byte of s[0..len) is unreserved, one of `extra`, or part
 * of a complete %XX escape. */
static bool span_ok(const char *s, size_t len, const char *extra)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3 || tp_hex_digit(s[i + 1]) < 0 || tp_hex_digit(s[i + 2]) < 0)
				return false;
			i += 2;
			continue;
		}
		if (!is_unreserved(c) && (c == '\0' || !strchr(extra, c)))
			return false;
	}
	return true;
}

/* hostport: a name, an IPv4 address or an [IPv6] reference, and a port. */
static bool host_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && !strchr("-.[]:", s[i]))
			return false;
	return true;
}

static bool span_caseeq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* Length of the scheme prefix ("sip:", "sips:", "tel:") at b, 0 if none. */
static size_t scheme_len(const char *b, const char *e)
{
	static const char *const schemes[] = {"sip:", "sips:", "tel:"};
	size_t i;

	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i]);
		if ((size_t)(e - b) >= n && strncasecmp(b, schemes[i], n) == 0)
			return n;
	}
	return 0;
}

bool tp_voice_e164_valid(const char *s)
{
	size_t n;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strspn(s + 1, "0123456789");
	return n >= 2 && n <= 15 && s[1 + n] == '\0';
}

void tp_voice_uri_free(tp_voice_uri *u)
{
	free(u->user);
	free(u->user_params);
	free(u->host);
	free(u->params);
	tp_params_free(&u->headers);
	memset(u, 0, sizeof *u);
}

/* "?name=value&..." after the '?': checked, split and percent-decoded. */
static tp_rc parse_headers(const char *b, const char *e, tp_params *out)
{
	const char *p = b;

	if (!span_ok(b, (size_t)(e - b), HEADER_EXTRA))
		return TP_EINVAL;
	while (p < e) {
		const char *amp = memchr(p, '&', (size_t)(e - p));
		const char *se = amp ? amp : e;
		const char *eq = memchr(p, '=', (size_t)(se - p));
		const char *ne = eq ? eq : se;
		char *name = NULL, *value = NULL;
		tp_rc rc = TP_OK;

		if (se > p) {
			if (ne == p || out->n >= URI_HEADERS_MAX)
				return TP_EINVAL;
			rc = tp_url_decode(p, (size_t)(ne - p), false, &name);
			if (rc == TP_OK && eq)
				rc = tp_url_decode(eq + 1, (size_t)(se - eq - 1), false, &value);
			else if (rc == TP_OK)
				value = tp_xstrdup("");
			if (rc == TP_OK)
				tp_params_add(out, name, value);
			free(name);
			free(value);
			if (rc != TP_OK)
				return TP_EINVAL;
		}
		p = amp ? amp + 1 : e;
	}
	return TP_OK;
}

tp_rc tp_voice_uri_parse(const char *s, tp_voice_uri *out)
{
	const char *b, *e, *lt, *p, *at, *hb, *q;
	size_t n;
	tp_rc rc = TP_EINVAL;

	memset(out, 0, sizeof *out);
	tp_params_init(&out->headers);
	if (!s)
		return TP_EINVAL;
	if (strlen(s) > TP_VOICE_URI_MAX)
		return TP_ETOOBIG;
	b = s;
	e = s + strlen(s);
	trim(&b, &e);
	/* name-addr: [display-name] <URI> [;header-params] (RFC 3261 20.30). */
	lt = memchr(b, '<', (size_t)(e - b));
	if (lt) {
		const char *gt = memchr(lt + 1, '>', (size_t)(e - lt - 1));
		if (!gt)
			return TP_EINVAL;
		b = lt + 1;
		e = gt;
		trim(&b, &e);
	}
	n = scheme_len(b, e);
	if (n == 0)
		return TP_EINVAL;
	snprintf(out->scheme, sizeof out->scheme, "%s",
	         n == 5                     ? "sips"
	         : (*b == 't' || *b == 'T') ? "tel"
	                                    : "sip");
	b += n;

	if (strcmp(out->scheme, "tel") == 0) {
		/* telephone-subscriber (RFC 3966 section 3): number, then
		 * ;parameters; no host, no headers. */
		const char *semi = memchr(b, ';', (size_t)(e - b));
		const char *ne = semi ? semi : e;
		if (ne == b || !span_ok(b, (size_t)(ne - b), "+") ||
		    !span_ok(ne, (size_t)(e - ne), PARAM_EXTRA))
			goto out;
		out->user = tp_xstrndup(b, (size_t)(ne - b));
		out->user_params = tp_xstrdup("");
		out->host = tp_xstrdup("");
		out->params = tp_xstrndup(ne, (size_t)(e - ne));
		rc = TP_OK;
		goto out;
	}

	/* userinfo ends at the first '@': no other part may hold one
	 * unescaped (RFC 3261 section 25.1). */
	at = memchr(b, '@', (size_t)(e - b));
	if (at) {
		const char *semi = memchr(b, ';', (size_t)(at - b));
		const char *ue = semi ? semi : at;
		if (at == b || !span_ok(b, (size_t)(at - b), USER_EXTRA))
			goto out;
		out->user = tp_xstrndup(b, (size_t)(ue - b));
		out->user_params = tp_xstrndup(ue, (size_t)(at - ue));
		hb = at + 1;
	} else {
		out->user = tp_xstrdup("");
		out->user_params = tp_xstrdup("");
		hb = b;
	}
	for (p = hb; p < e && *p != ';' && *p != '?'; p++)
		;
	if (!host_ok(hb, (size_t)(p - hb)))
		goto out;
	out->host = tp_xstrndup(hb, (size_t)(p - hb));
	q = memchr(p, '?', (size_t)(e - p));
	if (!q)
		q = e;
	if (!span_ok(p, (size_t)(q - p), PARAM_EXTRA))
		goto out;
	out->params = tp_xstrndup(p, (size_t)(q - p));
	if (q < e && parse_headers(q + 1, e, &out->headers) != TP_OK)
		goto out;
	rc = TP_OK;
out:
	if (rc != TP_OK)
		tp_voice_uri_free(out);
	return rc;
}

/* Normalises a telephone number written in a URI user part or on its own:
 * escapes decoded, RFC 3966 visual separators dropped, '+' added unless
 * `need_plus` (then it must be there).  Writes "+digits" to out. */
static tp_rc number_norm(const char *s, size_t len, bool need_plus, char out[TP_VOICE_E164_SIZE])
{
	char *dec = NULL;
	size_t i, n = 0;
	bool plus = false;
	tp_rc rc = TP_EINVAL;

	out[0] = '\0';
	if (tp_url_decode(s, len, false, &dec) != TP_OK)
		return TP_EINVAL;
	out[n++] = '+';
	for (i = 0; dec[i]; i++) {
		char c = dec[i];
		if (c == '+' && i == 0) {
			plus = true;
			continue;
		}
		if (c == '-' || c == '.' || c == '(' || c == ')')
			continue;
		if (!is_digit((unsigned char)c) || n >= TP_VOICE_E164_SIZE - 1)
			goto out;
		out[n++] = c;
	}
	out[n] = '\0';
	if (need_plus && !plus)
		goto out;
	if (tp_voice_e164_valid(out))
		rc = TP_OK;
out:
	if (rc != TP_OK)
		out[0] = '\0';
	free(dec);
	return rc;
}

tp_rc tp_voice_number(const char *s, char out[TP_VOICE_E164_SIZE])
{
	const char *b, *e;
	tp_voice_uri u;
	tp_rc rc;

	out[0] = '\0';
	if (!s || strlen(s) > TP_VOICE_URI_MAX)
		return TP_EINVAL;
	b = s;
	e = s + strlen(s);
	trim(&b, &e);
	if (!memchr(b, '<', (size_t)(e - b)) && scheme_len(b, e) == 0)
		return number_norm(b, (size_t)(e - b), false, out);
	if (tp_voice_uri_parse(s, &u) != TP_OK)
		return TP_EINVAL;
	/* A tel: number without '+' is a local number (RFC 3966 section
	 * 5.1.5), which no E.164 dial string can express. */
	rc = number_norm(u.user, strlen(u.user), strcmp(u.scheme, "tel") == 0, out);
	tp_voice_uri_free(&u);
	return rc;
}

bool tp_voice_uui_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	for (n = 0; s[n]; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e ||
		    n >= TP_VOICE_UUI_MAX)
			return false;
	return n > 0;
}

tp_rc tp_voice_uui_encode(tp_buf *out, const char *uui)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	tp_rc rc = tp_buf_adds(out, "04"); /* protocol discriminator: IA5 */

	for (p = (const unsigned char *)uui; *p && rc == TP_OK; p++) {
		char two[2] = {hex[*p >> 4], hex[*p & 15]};
		rc = tp_buf_add(out, two, 2);
	}
	if (rc == TP_OK)
		rc = tp_buf_adds(out, ";encoding=hex");
	return rc;
}

tp_rc tp_voice_uui_decode(tp_buf *out, const char *header)
{
	const char *b, *e, *ve, *p;
	bool hex = true, have_pd = false, decoded = false;
	tp_buf d;
	tp_rc rc = TP_EINVAL;

	if (!header || strlen(header) > TP_VOICE_URI_MAX)
		return TP_EINVAL;
	b = header;
	e = header + strlen(header);
	trim(&b, &e);
	ve = memchr(b, ';', (size_t)(e - b));
	p = ve;
	if (!ve)
		ve = e;
	/* uui-param: ;name=value (RFC 7433 section 4.1). */
	while (p && p < e) {
		const char *ps = p + 1;
		const char *pe = memchr(ps, ';', (size_t)(e - ps));
		const char *eq, *vs, *vend;
		if (!pe)
			pe = e;
		eq = memchr(ps, '=', (size_t)(pe - ps));
		vs = eq ? eq + 1 : pe;
		vend = pe;
		{
			const char *ns = ps, *ne = eq ? eq : pe;
			trim(&ns, &ne);
			trim(&vs, &vend);
			if (span_caseeq(ns, (size_t)(ne - ns), "encoding"))
				hex = span_caseeq(vs, (size_t)(vend - vs), "hex");
			else if (span_caseeq(ns, (size_t)(ne - ns), "pd")) {
				have_pd = true;
			}
		}
		p = pe < e ? pe : NULL;
	}
	{
		const char *vb = b;
		trim(&vb, &ve);
		b = vb;
	}
	tp_buf_init(&d, TP_VOICE_URI_MAX);
	if (hex && (ve - b) % 2 == 0 && ve - b >= 2 &&
	    strspn(b, "0123456789abcdefABCDEF") >= (size_t)(ve - b)) {
		const char *h;
		decoded = true;
		/* The first octet is the protocol discriminator unless a pd
		 * parameter carries it (Genesys "UUI data formats"). */
		for (h = b + (have_pd ? 0 : 2); h < ve && decoded; h += 2) {
			int c = tp_hex_digit((unsigned char)h[0]) * 16 +
			        tp_hex_digit((unsigned char)h[1]);
			if (c < 0x21 || c > 0x7e || tp_buf_addc(&d, (char)c) != TP_OK)
				decoded = false;
		}
		if (!decoded || d.len == 0) {
			decoded = false;
			tp_buf_reset(&d);
		}
	}
	/* encoding=ascii, and anything that does not decode to text: the
	 * value as written. */
	if (!decoded && tp_buf_add(&d, b, (size_t)(ve - b)) != TP_OK)
		goto out;
	if (!tp_voice_uui_valid(tp_buf_str(&d)))
		goto out;
	rc = tp_buf_adds(out, tp_buf_str(&d));
out:
	tp_buf_free(&d);
	return rc;
}

const char *tp_voice_uui_source_str(tp_voice_uui_source s)
{
	static const char *const names[] = {
	    [TP_VOICE_UUI_NONE] = "none",
	    [TP_VOICE_UUI_ININ_CNV] = "x-inin-cnv",
	    [TP_VOICE_UUI_USER_TO_USER] = "User-to-User",
	    [TP_VOICE_UUI_REFER_TO] = "Refer-To",
	    [TP_VOICE_UUI_CALL_SID] = "CallSid",
	};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "none";
}

/* twilio-contract.md 7.1: whether SipHeader_<name> keeps the sender's case
 * is unverified, so SIP header parameters match without regard to case. */
static const char *param_case(const tp_req *req, const char *name)
{
	const char *v = tp_params_get_case(&req->body_params, name);
	return v ? v : tp_params_get_case(&req->query_params, name);
}

tp_voice_uui_source tp_voice_uui_select(const tp_req *req, tp_buf *out)
{
	const char *v = param_case(req, "SipHeader_x-inin-cnv");
	const char *sid;

	if (v && tp_voice_uui_valid(v) && tp_buf_adds(out, v) == TP_OK)
		return TP_VOICE_UUI_ININ_CNV;
	if (v)
		tp_log_kv(TP_LOG_WARN, "SipHeader_x-inin-cnv is not a usable UUI; trying the next",
		          "value", v);
	v = param_case(req, "SipHeader_User-to-User");
	if (v && tp_voice_uui_decode(out, v) == TP_OK)
		return TP_VOICE_UUI_USER_TO_USER;
	if (v)
		tp_log_kv(TP_LOG_WARN,
		          "SipHeader_User-to-User is not a usable UUI; trying the next", "value",
		          v);
	/* Never a clock value (the Node original fell back to Date.now(),
	 * which nothing else knows): the CallSid is unique and traceable. */
	sid = tp_req_param(req, "CallSid");
	if (tp_sid_valid(sid, "CA") && tp_buf_adds(out, sid) == TP_OK)
		return TP_VOICE_UUI_CALL_SID;
	return TP_VOICE_UUI_NONE;
}

tp_rc tp_voice_callback_url(tp_buf *out, const char *server_url, const char *direction,
                            const char *uui)
{
	tp_rc rc = tp_buf_adds(out, server_url);

	if (rc == TP_OK)
		rc = tp_buf_adds(out, "/sync/uuiSyncUpdate?CallDirection=");
	if (rc == TP_OK)
		rc = tp_url_encode(out, direction);
	if (rc == TP_OK)
		rc = tp_buf_adds(out, "&UUI=");
	if (rc == TP_OK)
		rc = tp_url_encode(out, uui);
	return rc;
}

/* Headers we pass on from a REFER target: Twilio stamps custom X- headers
 * but refuses X-Twilio-* (twilio-contract.md section 8). */
static bool forward_header(const char *name)
{
	return strncasecmp(name, "X-", 2) == 0 && strncasecmp(name, "X-Twilio", 8) != 0;
}

tp_rc tp_voice_sip_uri(tp_buf *out, const tp_voice_uri *u, const char *uui)
{
	tp_buf h, enc;
	size_t i;
	tp_rc rc;

	if (strcmp(u->scheme, "sip") != 0 && strcmp(u->scheme, "sips") != 0)
		return TP_EINVAL;
	tp_buf_init(&h, SIP_HEADERS_MAX);
	tp_buf_init(&enc, SIP_HEADERS_MAX);
	rc = tp_buf_addf(out, "%s:", u->scheme);
	if (rc == TP_OK && (*u->user || *u->user_params))
		rc = tp_buf_addf(out, "%s%s@", u->user, u->user_params);
	if (rc == TP_OK)
		rc = tp_buf_addf(out, "%s%s", u->host, u->params);
	for (i = 0; i < u->headers.n && rc == TP_OK; i++) {
		const tp_param *hp = &u->headers.v[i];
		if (!forward_header(hp->name))
			continue;
		if (h.len)
			rc = tp_buf_addc(&h, '&');
		if (rc == TP_OK)
			rc = tp_url_encode(&h, hp->name);
		if (rc == TP_OK)
			rc = tp_buf_addc(&h, '=');
		if (rc == TP_OK)
			rc = tp_url_encode(&h, hp->value);
	}
	if (rc == TP_OK && uui) {
		rc = tp_voice_uui_encode(&enc, uui);
		if (rc == TP_OK && h.len)
			rc = tp_buf_addc(&h, '&');
		if (rc == TP_OK)
			rc = tp_buf_adds(&h, "User-to-User=");
		if (rc == TP_OK)
			rc = tp_url_encode(&h, tp_buf_str(&enc));
	}
	if (rc == TP_OK && h.len) {
		rc = tp_buf_addc(out, '?');
		if (rc == TP_OK)
			rc = tp_buf_add(out, h.ptr, h.len);
	}
	tp_buf_free(&h);
	tp_buf_free(&enc);
	return rc;
}

void tp_voice_target_free(tp_voice_target *t)
{
	tp_voice_uri_free(&t->uri);
	free(t->uui);
	memset(t, 0, sizeof *t);
}

tp_rc tp_voice_refer_target(const char *s, tp_voice_target *out)
{
	const char *b, *e;
	size_t i;
	tp_rc rc;

	memset(out, 0, sizeof *out);
	tp_params_init(&out->uri.headers);
	if (!s || strlen(s) > TP_VOICE_URI_MAX)
		return TP_EINVAL;
	b = s;
	e = s + strlen(s);
	trim(&b, &e);
	if (!memchr(b, '<', (size_t)(e - b)) && scheme_len(b, e) == 0)
		return number_norm(b, (size_t)(e - b), false, out->number);
	rc = tp_voice_uri_parse(s, &out->uri);
	if (rc != TP_OK)
		return TP_EINVAL;
	if (strcmp(out->uri.scheme, "tel") == 0) {
		rc = number_norm(out->uri.user, strlen(out->uri.user), true, out->number);
		tp_voice_uri_free(&out->uri);
		return rc;
	}
	out->sip = true;
	/* The Node original put a '+' after "sip:" unless one was there,
	 * which turned sip:alice@... into sip:+alice@...; only a user part
	 * that is all digits is a number missing its '+'. */
	if (*out->uri.user && strspn(out->uri.user, "0123456789") == strlen(out->uri.user)) {
		tp_buf p;
		tp_buf_init(&p, TP_VOICE_URI_MAX);
		tp_buf_addc(&p, '+');
		tp_buf_adds(&p, out->uri.user);
		free(out->uri.user);
		out->uri.user = tp_buf_take(&p);
	}
	/* A User-to-User header in the Refer-To URI is what the transferring
	 * side wants the new INVITE to carry (RFC 3261 section 19.1.5); it
	 * becomes the UUI instead of being sent twice (Genesys discards all
	 * UUI of an INVITE that has more than one). */
	for (i = 0; i < out->uri.headers.n; i++) {
		const tp_param *hp = &out->uri.headers.v[i];
		tp_buf u;
		if (!tp_str_caseeq(hp->name, "User-to-User") || out->uui)
			continue;
		tp_buf_init(&u, TP_VOICE_URI_MAX);
		if (tp_voice_uui_decode(&u, hp->value) == TP_OK)
			out->uui = tp_buf_take(&u);
		tp_buf_free(&u);
	}
	return TP_OK;
}

tp_rc tp_voice_twiml_dial(tp_buf *out, const tp_voice_dial *d)
{
	const char *const dial_attrs[] = {
	    "callerId", d->caller_id, "answerOnBridge", d->refer_url ? "true" : NULL,
	    "referUrl", d->refer_url, "referMethod",    d->refer_url ? "POST" : NULL,
	    NULL};
	const char *const noun_attrs[] = {"statusCallbackEvent",
	                                  d->callback ? "answered" : NULL,
	                                  "statusCallbackMethod",
	                                  d->callback ? "POST" : NULL,
	                                  "statusCallback",
	                                  d->callback,
	                                  NULL};
	const char *noun = d->sip ? "Sip" : "Number";
	tp_rc rc = tp_xml_decl(out);

	if (rc == TP_OK)
		rc = tp_xml_open(out, "Response", NULL, false);
	if (rc == TP_OK)
		rc = tp_xml_open(out, "Dial", dial_attrs, false);
	if (rc == TP_OK)
		rc = tp_xml_open(out, noun, noun_attrs, false);
	if (rc == TP_OK)
		rc = tp_xml_text(out, d->target);
	if (rc == TP_OK)
		rc = tp_xml_close(out, noun);
	if (rc == TP_OK)
		rc = tp_xml_close(out, "Dial");
	if (rc == TP_OK)
		rc = tp_xml_close(out, "Response");
	return rc;
}

tp_rc tp_voice_twiml_reject(tp_buf *out, const char *reason)
{
	const char *const attrs[] = {"reason", reason, NULL};
	tp_rc rc = tp_xml_decl(out);

	if (rc == TP_OK)
		rc = tp_xml_open(out, "Response", NULL, false);
	if (rc == TP_OK)
		rc = tp_xml_open(out, "Reject", attrs, true);
	if (rc == TP_OK)
		rc = tp_xml_close(out, "Response");
	return rc;
}

bool tp_voice_refer_path(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	return n >= 9 && strcmp(path + n - 9, "withRefer") == 0;
}

void tp_voice_reply_reject(tp_resp *resp, const char *reason, const char *why)
{
	tp_buf x;

	tp_buf_init(&x, 4096);
	tp_voice_twiml_reject(&x, reason);
	tp_log_kv(TP_LOG_WARN, "call rejected", "reason", reason, "why", why);
	tp_resp_log(resp, "rejected", why);
	tp_reply_xml(resp, TP_S_OK, tp_buf_str(&x));
	tp_buf_free(&x);
}

void tp_voice_reply_dial(tp_resp *resp, const tp_voice_dial *d)
{
	tp_buf x;

	/* Inputs are bounded (URIs by TP_VOICE_URI_MAX, UUIs by
	 * TP_VOICE_UUI_MAX), so this cap is never reached by a webhook; it
	 * stays far below Twilio's 64 kB TwiML limit (error 11750). */
	tp_buf_init(&x, 32768);
	if (tp_voice_twiml_dial(&x, d) != TP_OK)
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "twiml_too_large",
		               "the TwiML answer would exceed its size limit");
	else
		tp_reply_xml(resp, TP_S_OK, tp_buf_str(&x));
	tp_buf_free(&x);
}

/* ---------------------------------------------------------------- routes */

const char *tp_voice_tollfree_location(const tp_req *req)
{
	const char *v = param_case(req, "TollFreeMobileOriginationLocation");
	size_t n, i;

	if (!v || !*v)
		return NULL;
	/* Its format is not in Twilio's public documentation (the Node
	 * original passed it on unchecked).  It reaches Genesys hex-encoded,
	 * so any printable ASCII text is safe to carry; the UUI length rule
	 * (Genesys: 128 bytes) still holds. */
	n = strlen(v);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			break;
	if (i < n || n > TP_VOICE_UUI_MAX) {
		tp_log_kv(TP_LOG_WARN,
		          "TollFreeMobileOriginationLocation is not printable text of at most 128 "
		          "bytes; dialling without User-to-User",
		          "value", v);
		return NULL;
	}
	return v;
}

/* The one <Dial> every route answers with: the toll-fraud rule on the
 * target (lib/dial.c: the caller, the SIP side or a REFER chooses it),
 * for a <Number> the caller ID from From, the answered callback when
 * callback_uui is set, answerOnBridge and referUrl when refer.  The
 * response is written. */
static void reply_route(const tp_req *req, tp_resp *resp, const tp_config *cfg, bool sip,
                        const char *target, const char *callback_uui, bool refer)
{
	char caller[TP_VOICE_E164_SIZE] = "";
	tp_buf cb, refer_url;

	if (!tp_dial_allowed_or_reply(cfg, resp, sip ? TP_DIAL_SIP : TP_DIAL_NUMBER, target))
		return;
	/* The caller ID must be a number; a SIP From such as
	 * sip:agent@10.0.0.5 or "anonymous" has none, and then <Dial> goes
	 * without callerId (Twilio's default) rather than with a made-up one. */
	if (!sip && tp_voice_number(tp_req_param(req, "From"), caller) != TP_OK) {
		caller[0] = '\0';
		tp_log_kv(TP_LOG_WARN, "From holds no E.164 number; dialling without callerId",
		          "call", tp_req_param(req, "CallSid"), "from", tp_req_param(req, "From"));
	}
	tp_buf_init(&cb, TP_VOICE_URI_MAX);
	tp_buf_init(&refer_url, TP_VOICE_URI_MAX);
	if (callback_uui)
		tp_voice_callback_url(&cb, cfg->server_url, sip ? "toSIP" : "toPSTN", callback_uui);
	tp_buf_addf(&refer_url, "%s/pv/callTransfer", cfg->server_url);
	tp_resp_log(resp, "refer", refer ? "true" : "false");
	{
		const tp_voice_dial d = {
		    .caller_id = caller[0] ? caller : NULL,
		    .refer_url = refer ? tp_buf_str(&refer_url) : NULL,
		    .sip = sip,
		    .target = target,
		    .callback = callback_uui ? tp_buf_str(&cb) : NULL,
		};
		tp_voice_reply_dial(resp, &d);
	}
	tp_buf_free(&cb);
	tp_buf_free(&refer_url);
}

void tp_voice_reply_to_sip(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                           const tp_voice_route *r)
{
	const char *to = tp_req_param(req, "To");
	tp_buf raw, sip;
	tp_voice_uri uri;

	/* A phone number's webhook always has an E.164 To; anything else
	 * cannot name a SIP user we should ring. */
	if (!tp_voice_e164_valid(to)) {
		tp_resp_log(resp, "to", to);
		tp_voice_reply_reject(resp, "rejected", "To is not an E.164 number");
		return;
	}
	tp_buf_init(&raw, TP_VOICE_URI_MAX);
	tp_buf_init(&sip, TP_VOICE_URI_MAX);
	/* The Node original built "<To>@<domain>" without the sip: scheme
	 * (twilio-contract.md section 11). */
	tp_buf_addf(&raw, "sip:%s@%s", to, cfg->sip_domain_uri);
	if (tp_voice_uri_parse(tp_buf_str(&raw), &uri) != TP_OK) {
		/* SIP_DOMAIN_URI passed the configuration check, so this is
		 * unreachable unless that check and the SIP grammar disagree. */
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "bad_sip_domain",
		               "SIP_DOMAIN_URI does not form a SIP URI");
		goto out;
	}
	tp_voice_sip_uri(&sip, &uri, r->uui);
	tp_voice_uri_free(&uri);
	tp_resp_log(resp, "uui", r->uui ? r->uui : "-");
	/* Always SIP_DOMAIN_URI here; checked like every dialled target so
	 * the rule stays in one place. */
	reply_route(req, resp, cfg, true, tp_buf_str(&sip), r->callback_uui, r->refer);
out:
	tp_buf_free(&raw);
	tp_buf_free(&sip);
}

void tp_voice_reply_to_pstn(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                            const tp_voice_route *r)
{
	const char *to = tp_req_param(req, "To");
	char number[TP_VOICE_E164_SIZE];

	if (tp_voice_number(to, number) != TP_OK) {
		/* TwiML, never a 500: Twilio then ends the call with a clean
		 * rejection instead of "an application error has occurred". */
		tp_resp_log(resp, "to", to);
		tp_voice_reply_reject(resp, "rejected", "To holds no dialable E.164 number");
		return;
	}
	reply_route(req, resp, cfg, false, number, r->callback_uui, r->refer);
}

void tp_voice_reply_transfer(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *target = tp_req_param(req, "ReferTransferTarget");
	tp_voice_uui_source src;
	tp_voice_target t;
	tp_buf uui, sip;

	tp_resp_log(resp, "target", target);
	if (!target || !*target) {
		tp_voice_reply_reject(resp, "busy", "ReferTransferTarget is missing");
		return;
	}
	if (tp_voice_refer_target(target, &t) != TP_OK) {
		tp_voice_reply_reject(
		    resp, "busy", "ReferTransferTarget is neither a SIP URI nor an E.164 number");
		return;
	}
	tp_buf_init(&uui, TP_VOICE_URI_MAX);
	tp_buf_init(&sip, TP_VOICE_URI_MAX);
	if (t.uui) {
		tp_buf_adds(&uui, t.uui);
		src = TP_VOICE_UUI_REFER_TO;
	} else {
		src = tp_voice_uui_select(req, &uui);
	}
	tp_resp_log(resp, "uui", tp_buf_str(&uui));
	tp_resp_log(resp, "uui_source", tp_voice_uui_source_str(src));
	/* referUrl again: a call transferred once can be transferred again
	 * (without it a second REFER fails with Twilio error 13802). */
	if (!t.sip) {
		reply_route(req, resp, cfg, false, t.number, tp_buf_str(&uui), true);
	} else if (tp_voice_sip_uri(&sip, &t.uri, tp_buf_str(&uui)) != TP_OK) {
		tp_voice_reply_reject(
		    resp, "busy", "ReferTransferTarget headers are too long for Twilio (21227)");
	} else {
		reply_route(req, resp, cfg, true, tp_buf_str(&sip), tp_buf_str(&uui), true);
	}
	tp_voice_target_free(&t);
	tp_buf_free(&uui);
	tp_buf_free(&sip);
}
