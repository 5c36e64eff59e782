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

/* dial.c: the lists of DIAL_ALLOWED_PREFIXES, DIAL_DENIED_PREFIXES and
 * DIAL_ALLOWED_SIP_DOMAINS, checked and normalised (blanks dropped, lower
 * case) into out by config.c at start-up.  False when an entry is
 * malformed. */
typedef enum tp_dial_list {
	TP_DIAL_LIST_ALLOWED, /* +prefixes, or "any" */
	TP_DIAL_LIST_DENIED,  /* +prefixes and "premium", or "none" */
	TP_DIAL_LIST_DOMAINS, /* host names, "*.example.com" */
} tp_dial_list;
bool tp_dial_list_normalise(tp_dial_list kind, const char *v, tp_buf *out);

#endif
