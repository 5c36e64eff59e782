/*
 * internal.h - private to lib/: the parts of a request that handlers do
 * not see.  Not installed; handlers include only twiliopay.h.
 */
#ifndef TP_INTERNAL_H
#define TP_INTERNAL_H

#include "twiliopay.h"

#define TP_RESP_BODY_MAX (1u << 20)

/* tp_req is the first member, so a tp_req* handed to a handler can be
 * turned back into the private view. */
typedef struct tp_req_priv {
	tp_req pub;
	char *strings[16]; /* owned copies behind pub's const char* fields */
	size_t nstrings;
	char *public_url;
	/* Where the request's variables come from (fcgi.c), valid while the
	 * handler runs: tp_req_getenv reads through it. */
	const struct req_source *src;
} tp_req_priv;

#endif
