/*
 * alloc.c - the checked allocator.
 *
 * Out-of-memory policy (stated once for the whole library, see
 * twiliopay.h): abort.  Each binary runs as worker processes under a
 * supervisor that restarts dead workers, so dying is the safe choice;
 * returning errors from every allocation site would add hundreds of
 * rarely-tested paths that could leave a payment half-written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void oom(size_t n)
{
	/* No allocation here: fputs to unbuffered stderr only. */
	(void)n;
	fputs("level=error msg=\"out of memory, aborting worker\"\n", stderr);
	abort();
}

void *tp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *tp_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

void *tp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *tp_xstrndup(const char *s, size_t n)
{
	char *d = tp_xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *tp_xstrdup(const char *s)
{
	return tp_xstrndup(s, strlen(s));
}
