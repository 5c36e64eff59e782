/*
 * dotenv.c - the Node original's .env as the Node original read it, and
 * KEY=value lines our own reader (config.c) reads back unchanged; for
 * twiliopay-migrate.
 *
 * The original ran under twilio-run, which reads .env with dotenv.parse()
 * of the dotenv package, "^6.2.0" in twilio-run's package.json up to 4.2
 * (serverless-toolkit, packages/twilio-run), i.e. dotenv 6.2.0 - for
 * `twilio serverless:start` and for the values `deploy` uploads.  Its
 * parse(), lib/main.js of dotenv 6.2.0, in words:
 *   - the text is split at \n only;
 *   - a line is ^\s*([\w.-]+)\s*=\s*(.*)?\s*$ or is ignored: no
 *     "export ", no "KEY: value", no spaces in a name; "." stops at \r, so
 *     a \r may only be followed by blanks;
 *   - the value is what (.*) took; when it starts and ends with '"', each
 *     backslash-n becomes a newline (nothing else is an escape); then one
 *     leading and one trailing quote character (' or ", independently) are
 *     removed, then blanks at both ends (JavaScript's trim, newlines
 *     included);
 *   - so '#' is never a comment after a value: "KEY=v  # note" gives
 *     "v  # note";
 *   - a later line for the same name wins.
 * tests/node/migrate.test.mjs checks these against dotenv 6.2.0 itself.
 * config.c differs: " #" ends an unquoted value, a quoted value ends at
 * its closing quote and keeps its blanks, a backslash escapes any
 * character, "export " is allowed.  So a line is copied as written only
 * when both read it alike.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LINE_MAX_BYTES (64u << 10)

/* JavaScript's \s, restricted to ASCII. */
static bool js_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

static bool js_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* Leading \s of a line, a byte order mark included (U+FEFF is \s). */
static size_t skip_space(const char *s, size_t i, size_t n)
{
	for (;;) {
		if (i < n && js_space(s[i]) && s[i] != '\n')
			i++;
		else if (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0)
			i += 3;
		else
			return i;
	}
}

/* One line of dotenv 6.2.0 (no \n inside).  On a match sets *key and
 * *value (malloc'd) and returns true. */
static bool dotenv_line(const char *s, size_t n, char **key, char **value)
{
	size_t i, ks, ke, vs, ve, a, b;
	tp_buf v;

	ks = skip_space(s, 0, n);
	for (i = ks; i < n && js_word(s[i]); i++)
		;
	ke = i;
	if (ke == ks)
		return false;
	i = skip_space(s, i, n);
	if (i >= n || s[i] != '=')
		return false;
	vs = skip_space(s, i + 1, n);
	/* (.*) stops at \r; only blanks may follow it. */
	for (ve = vs; ve < n && s[ve] != '\r'; ve++)
		;
	for (i = ve; i < n; i++)
		if (!js_space(s[i]))
			return false;
	tp_buf_init(&v, LINE_MAX_BYTES);
	tp_buf_add(&v, "", 0);
	if (ve > vs && s[vs] == '"' && s[ve - 1] == '"') {
		for (i = vs; i < ve; i++) {
			if (s[i] == '\\' && i + 1 < ve && s[i + 1] == 'n') {
				tp_buf_addc(&v, '\n');
				i++;
			} else {
				tp_buf_addc(&v, s[i]);
			}
		}
	} else {
		tp_buf_add(&v, s + vs, ve - vs);
	}
	/* replace(/(^['"]|['"]$)/g, '') then trim(). */
	a = 0;
	b = v.len;
	if (b > a && (v.ptr[a] == '"' || v.ptr[a] == '\''))
		a++;
	if (b > a && (v.ptr[b - 1] == '"' || v.ptr[b - 1] == '\''))
		b--;
	while (b > a && js_space(v.ptr[a]))
		a++;
	while (b > a && js_space(v.ptr[b - 1]))
		b--;
	*key = tp_xstrndup(s + ks, ke - ks);
	*value = tp_xstrndup(v.ptr + a, b - a);
	tp_buf_free(&v);
	return true;
}

tp_rc tp_dotenv_parse(const char *text, size_t len, tp_dotenv *out)
{
	size_t pos = 0, cap = 0;

	memset(out, 0, sizeof *out);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos, i, keep;
		tp_dotenv_line *l;

		if (n > LINE_MAX_BYTES || memchr(text + pos, '\0', n)) {
			tp_dotenv_free(out);
			return n > LINE_MAX_BYTES ? TP_ETOOBIG : TP_EINVAL;
		}
		if (out->n == cap) {
			cap = cap ? 2 * cap : 64;
			out->v = tp_xrealloc(out->v, cap * sizeof *out->v);
		}
		l = &out->v[out->n++];
		memset(l, 0, sizeof *l);
		/* A CRLF file is written back with LF (the \r is a blank to
		 * both readers). */
		keep = n && text[pos + n - 1] == '\r' ? n - 1 : n;
		l->raw = tp_xstrndup(text + pos, keep);
		i = skip_space(text + pos, 0, n);
		if (i == n)
			l->kind = TP_DOTENV_BLANK;
		else if (dotenv_line(text + pos, n, &l->key, &l->value))
			l->kind = TP_DOTENV_SET;
		else if (text[pos + i] == '#')
			l->kind = TP_DOTENV_COMMENT;
		else
			l->kind = TP_DOTENV_OTHER;
		pos += n + 1;
	}
	return TP_OK;
}

void tp_dotenv_free(tp_dotenv *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].raw);
		free(d->v[i].key);
		free(d->v[i].value);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

const char *tp_dotenv_get(const tp_dotenv *d, const char *key)
{
	size_t i;

	for (i = d->n; i > 0; i--)
		if (d->v[i - 1].kind == TP_DOTENV_SET && strcmp(d->v[i - 1].key, key) == 0)
			return d->v[i - 1].value;
	return NULL;
}

/* What tp_env_parse makes of `line` alone: true when it is exactly one
 * setting (then p->v[0] holds it). */
static bool env_reads(tp_params *p, const char *line)
{
	tp_params_init(p);
	return tp_env_parse(p, line, strlen(line), NULL) == TP_OK && p->n == 1;
}

bool tp_env_line_reads(const char *line, const char *key, const char *value)
{
	tp_params p;
	bool same = env_reads(&p, line) && strcmp(p.v[0].name, key) == 0 &&
	            strcmp(p.v[0].value, value) == 0;

	tp_params_free(&p);
	return same;
}

tp_rc tp_env_format(tp_buf *out, const char *key, const char *value)
{
	tp_buf line;
	const char *c;
	tp_rc rc = TP_EINVAL;

	if (!*key || strpbrk(key, "=\n\r#") || strchr(value, '\r'))
		return TP_EINVAL;
	tp_buf_init(&line, 2 * LINE_MAX_BYTES);
	tp_buf_addf(&line, "%s=%s", key, value);
	if (!strchr(value, '\n') && tp_env_line_reads(tp_buf_str(&line), key, value)) {
		rc = tp_buf_add(out, line.ptr, line.len);
		goto out;
	}
	/* Double quotes: config.c takes the character after a backslash
	 * as itself, and backslash-n as a newline. */
	tp_buf_reset(&line);
	tp_buf_addf(&line, "%s=\"", key);
	for (c = value; *c; c++) {
		if (*c == '\n')
			tp_buf_adds(&line, "\\n");
		else if (*c == '"' || *c == '\\')
			tp_buf_addf(&line, "\\%c", *c);
		else
			tp_buf_addc(&line, *c);
	}
	tp_buf_addc(&line, '"');
	if (line.ptr && tp_env_line_reads(tp_buf_str(&line), key, value))
		rc = tp_buf_add(out, line.ptr, line.len);
out:
	tp_buf_free(&line);
	return rc;
}
