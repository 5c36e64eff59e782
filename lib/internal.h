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

/* req.c: parameter a, else b (NULL: none), when not empty; NULL otherwise.
 * For fields the agent API accepts under two names (uui/conversationId,
 * chargeAmount/amount). */
const char *tp_req_param_any(const tp_req *req, const char *a, const char *b);

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
/* A copy of s owned by the request (freed with it), or NULL for NULL:
 * what a step before the handler hands on to it, such as the
 * authenticated agent (every thread of a worker serves its own request,
 * so nothing request-scoped may live in a static buffer). */
const char *tp_req_keep(tp_req *req, const char *s);

/* Called by a request's thread just before it waits on something slow
 * (a Twilio request, a retry's back-off, a helper task): the worker's
 * pool makes sure an idle thread is left to take the next request
 * (fcgi.c, "Threads").  Nothing outside a worker process. */
void tp_pool_blocking(void);

/* The scoreboard (metrics.c) as the process model (fcgi.c) drives it.
 * tp_sb_open maps it (a file under dir, or anonymous memory when dir is
 * NULL) in the supervisor, before it forks; every other call does nothing
 * until then. */
tp_rc tp_sb_open(const char *dir, const char *handler, tp_buf *err);
void tp_sb_close(void); /* supervisor, at exit: unmaps, removes the file */
void tp_sb_configure(int processes, int bound);
void tp_sb_heartbeat(void);
/* A slot for a worker process about to be forked (-1: none left). */
int tp_sb_slot_claim(void);
void tp_sb_slot_set_pid(int slot, long pid);
/* The process is gone: its gauges drop to zero; crashed counts a restart. */
void tp_sb_slot_release(int slot, bool crashed);
void tp_sb_slot_use(int slot); /* in the worker: the slot its gauges go to */
void tp_sb_threads(int delta);
void tp_sb_in_flight(int delta);
/* A request was answered with status; rejected: 503 past the bound. */
void tp_sb_request(int status, bool rejected);

#endif
