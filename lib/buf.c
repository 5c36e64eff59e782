/*
 * buf.c - growable, capped, NUL-terminated byte buffer (curl's dynbuf,
 * docs/internals/DYNBUF.md): an append that would exceed the maximum frees
 * the buffer, so a partial document can never be sent by accident.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void tp_buf_init(tp_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void tp_buf_free(tp_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void tp_buf_reset(tp_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

tp_rc tp_buf_add(tp_buf *b, const void *mem, size_t len)
{
	size_t need;

	if (len > b->max || b->len > b->max - len) {
		tp_buf_free(b);
		return TP_ETOOBIG;
	}
	need = b->len + len + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < need)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		b->ptr = tp_xrealloc(b->ptr, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->ptr + b->len, mem, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return TP_OK;
}

tp_rc tp_buf_adds(tp_buf *b, const char *s)
{
	return tp_buf_add(b, s, strlen(s));
}

tp_rc tp_buf_addc(tp_buf *b, char c)
{
	/* The common case, room already there, without tp_buf_add's checks:
	 * escapers append most of a document a character at a time. */
	if (b->ptr && b->len + 2 <= b->cap && b->len < b->max) {
		b->ptr[b->len++] = c;
		b->ptr[b->len] = '\0';
		return TP_OK;
	}
	return tp_buf_add(b, &c, 1);
}

tp_rc tp_buf_vaddf(tp_buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list ap2;
	int n;
	tp_rc rc;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof small, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		tp_buf_free(b);
		return TP_EINVAL;
	}
	if ((size_t)n < sizeof small)
		return tp_buf_add(b, small, (size_t)n);
	{
		char *big = tp_xmalloc((size_t)n + 1);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		rc = tp_buf_add(b, big, (size_t)n);
		free(big);
	}
	return rc;
}

tp_rc tp_buf_addf(tp_buf *b, const char *fmt, ...)
{
	va_list ap;
	tp_rc rc;

	va_start(ap, fmt);
	rc = tp_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *tp_buf_str(const tp_buf *b)
{
	return b->ptr ? b->ptr : "";
}

char *tp_buf_take(tp_buf *b)
{
	char *p = b->ptr ? b->ptr : tp_xstrdup("");
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

tp_rc tp_buf_add_file(tp_buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[4096];
	ssize_t n;
	tp_rc rc = TP_OK;

	if (fd < 0)
		return errno == ENOENT ? TP_ENOTFOUND : TP_EIO;
	while (rc == TP_OK && (n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = TP_EIO;
			break;
		}
		rc = tp_buf_add(b, chunk, (size_t)n);
	}
	close(fd);
	if (rc == TP_OK && !b->ptr)
		rc = tp_buf_add(b, "", 0);
	return rc;
}
