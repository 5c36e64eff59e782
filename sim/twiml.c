/*
 * twiml.c - a small, strict XML parser for TwiML replies.
 *
 * Twilio rejects a reply that is not well-formed XML (error 12100
 * "Document parse failure") and fails the call; so does the emulator.
 * Supported: the XML declaration, comments, processing instructions
 * (skipped), elements with attributes in single or double quotes, text,
 * CDATA, the five predefined entities and numeric character references.
 * Rejected: mismatched or unclosed tags, duplicate attributes, a bare
 * '&' or '<', text or a second element outside the root, DOCTYPE
 * (Twilio's parser does not need one and entities defined there are an
 * XXE risk).
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_DEPTH 32

typedef struct parser {
	const char *s;
	size_t len, pos;
	tp_buf *err;
	int depth;
} parser;

/* Records why the document is refused (the first reason only). */
static void parse_fail(parser *p, const char *why)
{
	if (p->err && p->err->len == 0)
		tp_buf_addf(p->err, "%s at byte %zu", why, p->pos);
}

static bool at(const parser *p, const char *lit)
{
	size_t n = strlen(lit);
	return p->pos + n <= p->len && memcmp(p->s + p->pos, lit, n) == 0;
}

static void skip_ws(parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
	                           p->s[p->pos] == '\r' || p->s[p->pos] == '\n'))
		p->pos++;
}

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	    (unsigned char)c >= 0x80)
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

static char *parse_name(parser *p)
{
	size_t start = p->pos;

	if (p->pos >= p->len || !name_char(p->s[p->pos], true))
		return NULL;
	while (p->pos < p->len && name_char(p->s[p->pos], false))
		p->pos++;
	return tp_xstrndup(p->s + start, p->pos - start);
}

static void add_utf8(tp_buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		tp_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		tp_buf_addc(b, (char)(0xc0 | (cp >> 6)));
		tp_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		tp_buf_addc(b, (char)(0xe0 | (cp >> 12)));
		tp_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		tp_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		tp_buf_addc(b, (char)(0xf0 | (cp >> 18)));
		tp_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		tp_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		tp_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* At '&': decodes one reference into b. */
static bool parse_ref(parser *p, tp_buf *b)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	size_t i;

	p->pos++;
	if (at(p, "#")) {
		unsigned long cp = 0;
		bool hex = false;
		size_t nd = 0;
		p->pos++;
		if (at(p, "x")) {
			hex = true;
			p->pos++;
		}
		while (p->pos < p->len && p->s[p->pos] != ';' && nd < 8) {
			char c = p->s[p->pos];
			unsigned v;
			if (c >= '0' && c <= '9') {
				v = (unsigned)(c - '0');
			} else if (hex && c >= 'a' && c <= 'f') {
				v = (unsigned)(c - 'a' + 10);
			} else if (hex && c >= 'A' && c <= 'F') {
				v = (unsigned)(c - 'A' + 10);
			} else {
				parse_fail(p, "bad character reference");
				return false;
			}
			cp = cp * (hex ? 16 : 10) + v;
			nd++;
			p->pos++;
		}
		if (!at(p, ";") || nd == 0 || cp == 0 || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			parse_fail(p, "bad character reference");
			return false;
		}
		p->pos++;
		add_utf8(b, cp);
		return true;
	}
	for (i = 0; i < sizeof ents / sizeof ents[0]; i++)
		if (at(p, ents[i].name)) {
			p->pos += strlen(ents[i].name);
			tp_buf_addc(b, ents[i].c);
			return true;
		}
	parse_fail(p, "bare '&' or unknown entity");
	return false;
}

static bool parse_attrs(parser *p, sim_xml *x, bool *empty)
{
	for (;;) {
		char *name;
		char q;
		tp_buf v;

		skip_ws(p);
		if (at(p, "/>")) {
			p->pos += 2;
			*empty = true;
			return true;
		}
		if (at(p, ">")) {
			p->pos++;
			*empty = false;
			return true;
		}
		name = parse_name(p);
		if (!name) {
			parse_fail(p, "bad attribute name");
			return false;
		}
		if (tp_params_get(&x->attrs, name)) {
			free(name);
			parse_fail(p, "duplicate attribute");
			return false;
		}
		skip_ws(p);
		if (!at(p, "=")) {
			free(name);
			parse_fail(p, "attribute without a value");
			return false;
		}
		p->pos++;
		skip_ws(p);
		if (p->pos >= p->len || (p->s[p->pos] != '"' && p->s[p->pos] != '\'')) {
			free(name);
			parse_fail(p, "unquoted attribute value");
			return false;
		}
		q = p->s[p->pos++];
		tp_buf_init(&v, SIM_TWIML_MAX);
		while (p->pos < p->len && p->s[p->pos] != q) {
			if (p->s[p->pos] == '<') {
				free(name);
				tp_buf_free(&v);
				parse_fail(p, "'<' in an attribute value");
				return false;
			}
			if (p->s[p->pos] == '&') {
				if (!parse_ref(p, &v)) {
					free(name);
					tp_buf_free(&v);
					return false;
				}
				continue;
			}
			tp_buf_addc(&v, p->s[p->pos++]);
		}
		if (p->pos >= p->len) {
			free(name);
			tp_buf_free(&v);
			parse_fail(p, "unterminated attribute value");
			return false;
		}
		p->pos++;
		tp_params_add(&x->attrs, name, tp_buf_str(&v));
		free(name);
		tp_buf_free(&v);
		if (p->pos < p->len &&
		    !(p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\r' ||
		      p->s[p->pos] == '\n' || at(p, "/>") || at(p, ">"))) {
			parse_fail(p, "attributes must be separated by white space");
			return false;
		}
	}
}

/* Skips comments and processing instructions; false on a bad one. */
static bool skip_misc(parser *p, bool *skipped)
{
	const char *end;

	*skipped = false;
	if (at(p, "<!--")) {
		end = memmem(p->s + p->pos + 4, p->len - p->pos - 4, "-->", 3);
		if (!end) {
			parse_fail(p, "unterminated comment");
			return false;
		}
		p->pos = (size_t)(end - p->s) + 3;
		*skipped = true;
	} else if (at(p, "<?")) {
		end = memmem(p->s + p->pos + 2, p->len - p->pos - 2, "?>", 2);
		if (!end) {
			parse_fail(p, "unterminated processing instruction");
			return false;
		}
		p->pos = (size_t)(end - p->s) + 2;
		*skipped = true;
	} else if (at(p, "<!DOCTYPE") || at(p, "<!doctype")) {
		parse_fail(p, "DOCTYPE is not allowed");
		return false;
	}
	return true;
}

static void trim_into(sim_xml *x, tp_buf *text)
{
	const char *s = tp_buf_str(text);
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) {
		s++;
		n--;
	}
	x->text = tp_xstrndup(s, n);
}

static sim_xml *parse_element(parser *p)
{
	sim_xml *x = tp_xcalloc(1, sizeof *x), **tail = &x->child;
	bool empty = false;
	tp_buf text;

	tp_params_init(&x->attrs);
	if (++p->depth > MAX_DEPTH) {
		parse_fail(p, "elements nested too deep");
		goto bad;
	}
	p->pos++; /* '<' */
	x->name = parse_name(p);
	if (!x->name) {
		parse_fail(p, "bad element name");
		goto bad;
	}
	if (!parse_attrs(p, x, &empty))
		goto bad;
	if (empty) {
		x->text = tp_xstrdup("");
		p->depth--;
		return x;
	}
	tp_buf_init(&text, SIM_TWIML_MAX);
	for (;;) {
		bool skipped;

		if (p->pos >= p->len) {
			parse_fail(p, "unclosed element");
			tp_buf_free(&text);
			goto bad;
		}
		if (!skip_misc(p, &skipped)) {
			tp_buf_free(&text);
			goto bad;
		}
		if (skipped)
			continue;
		if (at(p, "<![CDATA[")) {
			const char *end = memmem(p->s + p->pos + 9, p->len - p->pos - 9, "]]>", 3);
			if (!end) {
				parse_fail(p, "unterminated CDATA");
				tp_buf_free(&text);
				goto bad;
			}
			tp_buf_add(&text, p->s + p->pos + 9, (size_t)(end - p->s) - p->pos - 9);
			p->pos = (size_t)(end - p->s) + 3;
			continue;
		}
		if (at(p, "</")) {
			char *name;
			p->pos += 2;
			name = parse_name(p);
			skip_ws(p);
			if (!name || strcmp(name, x->name) != 0 || !at(p, ">")) {
				free(name);
				parse_fail(p, "mismatched end tag");
				tp_buf_free(&text);
				goto bad;
			}
			free(name);
			p->pos++;
			break;
		}
		if (at(p, "<")) {
			sim_xml *c = parse_element(p);
			if (!c) {
				tp_buf_free(&text);
				goto bad;
			}
			*tail = c;
			tail = &c->next;
			continue;
		}
		if (at(p, "&")) {
			if (!parse_ref(p, &text)) {
				tp_buf_free(&text);
				goto bad;
			}
			continue;
		}
		if (at(p, "]]>")) {
			parse_fail(p, "']]>' in text");
			tp_buf_free(&text);
			goto bad;
		}
		tp_buf_addc(&text, p->s[p->pos++]);
	}
	trim_into(x, &text);
	tp_buf_free(&text);
	p->depth--;
	return x;
bad:
	sim_xml_free(x);
	return NULL;
}

sim_xml *sim_xml_parse(const char *s, size_t len, tp_buf *err)
{
	parser p = {s, len, 0, err, 0};
	sim_xml *root = NULL;
	bool skipped;

	/* A UTF-8 byte order mark may precede the declaration. */
	if (at(&p, "\xef\xbb\xbf"))
		p.pos += 3;
	for (;;) {
		skip_ws(&p);
		if (p.pos >= p.len)
			break;
		if (!skip_misc(&p, &skipped))
			goto bad;
		if (skipped)
			continue;
		if (at(&p, "<") && !root) {
			root = parse_element(&p);
			if (!root)
				goto bad;
			continue;
		}
		parse_fail(&p, root ? "content after the root element"
		                    : "text before the root element");
		goto bad;
	}
	if (!root)
		parse_fail(&p, "no root element");
	return root;
bad:
	sim_xml_free(root);
	return NULL;
}

void sim_xml_free(sim_xml *x)
{
	while (x) {
		sim_xml *next = x->next;
		sim_xml_free(x->child);
		free(x->name);
		free(x->text);
		tp_params_free(&x->attrs);
		free(x);
		x = next;
	}
}

const char *sim_xml_attr(const sim_xml *x, const char *name)
{
	return tp_params_get(&x->attrs, name);
}
