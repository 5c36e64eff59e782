/*
 * fcgi.c - the life of a handler binary: command line, configuration,
 * the listening socket, the worker processes, their thread pools and
 * their supervisor, and the per-request pipeline every handler shares.
 *
 * Process model (one binary per function, DESIGN.md):
 *
 *   supervisor --fork--> worker 1 .. N (--workers), one listening socket
 *                          each: threads on one epoll set, up to
 *                          --threads requests in flight
 *
 * Why threads.  A handler spends nearly all of a request waiting on
 * Twilio: 150-300 ms per REST or Sync call, two or three calls per status
 * callback.  With one request per process, each request in flight costs
 * a process, and a contact centre keeps hundreds of callbacks in flight.
 * A thread costs the pages of its stack it touches (tens of KiB), so a
 * process serves hundreds.
 *
 * The supervisor owns the listening socket, so a dying worker loses only
 * its own requests in flight and nginx's next connect succeeds.  It
 * restarts dead workers (with a back-off when they die at start-up),
 * forwards SIGTERM/SIGINT (each worker drains, below) and on SIGHUP
 * re-validates the configuration and replaces the workers one generation
 * at a time, so `systemctl reload` drops nothing.  A crash (any thread's)
 * takes its whole process: the requests in flight there are lost (nginx
 * answers 502), the other workers serve on, the supervisor restarts it.
 * More workers, less lost per crash; two is the default.
 *
 * A worker's threads (leader/followers): every idle thread waits in
 * epoll_wait on one epoll set holding the listening socket (non-blocking,
 * shared with the other workers) and every connection nginx keeps open
 * between two requests (EPOLLONESHOT: one thread per event).  The thread
 * that gets an event accepts the new connections waiting (a batch, the
 * rest joining the set: a burst must not overflow the backlog while the
 * pool grows), or reads the request waiting on a kept one, serves that
 * one request through libfcgi
 * (FCGX_Accept_r on a connection we accepted, FCGX_Finish_r), puts the
 * connection back in the set and waits again.  A kept connection costs a
 * descriptor, not a thread; a thread that finishes a request takes the
 * next ready event without sleeping, so a busy worker does not pay a
 * context switch per request.  The pool grows when a thread is about to
 * wait on something slow (a Twilio request, a retry's back-off, a helper
 * task: tp_pool_blocking) and fewer than MIN threads would be left idle,
 * and shrinks when more than MAX threads stayed idle SPARE_IDLE_MS
 * (--spare MIN:MAX, default 1:2): php-fpm's pm = dynamic, per thread.  A
 * handler that never waits (callToSIP, healthz: CPU only) keeps one
 * thread per process: a spare kept idle "in case" is woken for every
 * request that a busy thread would have taken microseconds later, and
 * those context switches cost more than the handler (measured on the
 * 2-core sandbox: /healthz's handler CPU per request 26 us with a spare
 * always waiting, 13 us without).  Requests in flight are bounded per process
 * (--threads); the one past the bound is answered 503 with Retry-After at
 * once, by one of the two threads kept beyond the bound for that, and
 * logged like any request.  Nothing grows without bound: threads <=
 * --threads + 2, and a request's own helper threads (task.c, two
 * independent Twilio calls at once) end with it.
 *
 * Threads: created with THREAD_STACK (512 KiB of address space; only the
 * pages touched count, a few KiB for a request; cJSON's deepest parse of
 * a 64 KiB body stays far below it).  Signals belong to the main thread:
 * every other thread blocks them, so SIGTERM never interrupts a write to
 * nginx.  What the threads share is set before the first one starts
 * (configuration, log level, curl's global state, cJSON's hooks) and
 * read-only after; the rest of lib/ keeps nothing per process that a
 * request writes (http.c pools curl handles under a lock, the agent's
 * name lives in the request, crypt_rn and gmtime_r replace their static
 * buffers, OpenSSL 3 and libcurl are thread-safe).  docs/handlers.md "How a handler
 * runs" lists the audit.
 *
 * Drain (SIGTERM, also what a reload sends the old generation): the
 * worker stops accepting, its requests finish, and the connections nginx
 * keeps open are served on until nginx closes them: it does within its
 * upstream keepalive_timeout (idle) or keepalive_time (any), set in
 * scripts/render-upstreams.  Closing a kept connection from our side
 * could meet a request nginx is writing into it at that moment (a POST
 * nginx will not retry); so only what is still open DRAIN_MAX_MS after
 * SIGTERM is closed by us.
 *
 * Rejected:
 * - A process per request in flight (php-fpm's pm = dynamic as is, or
 *   more pre-forked workers): hundreds of processes at a peak, each with
 *   its own heap, its own connections to Twilio and its own copy of
 *   OpenSSL's tables; the peak's memory goal (256 MiB for the whole
 *   stack) does not fit.  Its good parts are kept: a supervisor, min/max
 *   spare, and a scoreboard in shared memory (metrics.c).
 * - libfcgi's own multithreaded accept (threads blocked in FCGX_Accept_r,
 *   its examples/threaded.c): a thread blocks in accept(2), and on a kept
 *   connection it blocks reading the next request, so every idle
 *   connection nginx keeps pins a thread, and waking one means a signal
 *   that can land in a read of a request (libfcgi then drops the
 *   connection).  libfcgi still parses and writes every record; only the
 *   accept and the waiting between requests are ours.
 * - An event loop with libcurl's multi interface: one thread could drive
 *   hundreds of requests, but every handler (read, decide, write, retry
 *   with back-off, recompute after a 412) would have to become a state
 *   machine; threads keep the handlers' plain sequential code.
 *
 * The socket comes from --listen (a unix path or host:port), from systemd
 * (LISTEN_FDS, fd 3), or is fd 0 (spawn-fcgi, inetd-style
 * StandardInput=socket).
 *
 * The request pipeline (STYLE.md): copy the params we need out of FastCGI
 * (its strings die at the next Accept/Finish), cap the body (413), check
 * the method (405), parse query/form/JSON (400/415), check the Twilio
 * signature (403) or the handler's own authorisation (401), call the
 * handler, write the response, log one line.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "internal.h"

/* Exit statuses (tests and systemd units check them): <sysexits.h>'s
 * EX_OK, EX_USAGE (a bad argument), EX_OSERR (no socket to listen on),
 * EX_CONFIG (the configuration is wrong, each problem named on stderr),
 * and a worker's own failure to set itself up (a pipe, epoll, FastCGI):
 * the supervisor logs it and starts another. */
#define EX_WORKER_SETUP 1

/* ------------------------------------------------------------ sources */

/* Where a request's variables and body come from: FastCGI or CGI. */
typedef struct req_source {
	const char *(*get)(void *ctx, const char *name);
	/* Reads up to n bytes; returns bytes read, 0 at end, <0 on error. */
	long (*read)(void *ctx, char *buf, size_t n);
	void *ctx;
} req_source;

static char *dup_or_null(const char *s)
{
	return s ? tp_xstrdup(s) : NULL;
}

static const char *keep(tp_req_priv *p, const char *s)
{
	char *c = dup_or_null(s);
	if (c) {
		if (p->nstrings >= sizeof p->strings / sizeof p->strings[0])
			abort();
		p->strings[p->nstrings++] = c;
	}
	return c;
}

const char *tp_req_keep(tp_req *req, const char *s)
{
	return keep((tp_req_priv *)req, s);
}

static void req_free(tp_req_priv *p)
{
	size_t i;

	for (i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	tp_params_free(&p->pub.query_params);
	tp_params_free(&p->pub.body_params);
	cJSON_Delete(p->pub.json);
	tp_buf_free(&p->pub.body);
	free(p->public_url);
	memset(p, 0, sizeof *p);
}

void tp_resp_init(tp_resp *r)
{
	memset(r, 0, sizeof *r);
	tp_buf_init(&r->body, TP_RESP_BODY_MAX);
	tp_params_init(&r->log);
}

void tp_resp_free(tp_resp *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	tp_buf_free(&r->body);
	tp_params_free(&r->log);
}

/* Media type without parameters, compared case-insensitively. */
static bool ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	return ct && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* SERVER_URL + REQUEST_URI, the URL Twilio signed.  When SERVER_URL has a
 * path prefix that the proxy passes on, REQUEST_URI already starts with
 * it and only the origin is prepended. */
static char *public_url(const tp_config *cfg, const char *request_uri)
{
	const char *base = cfg->server_url ? cfg->server_url : "";
	const char *host = strstr(base, "://");
	const char *path = host ? strchr(host + 3, '/') : NULL;
	tp_buf u;

	tp_buf_init(&u, 16384);
	if (path && tp_str_prefix(request_uri, path))
		tp_buf_add(&u, base, (size_t)(path - base));
	else
		tp_buf_adds(&u, base);
	tp_buf_adds(&u, request_uri);
	return tp_buf_take(&u);
}

/* Reads the body into req->body, at most max bytes: TP_EINVAL when
 * CONTENT_LENGTH is not a number, TP_ETOOBIG past max, TP_EIO when the
 * read fails.  A body shorter than announced is what came. */
static tp_rc read_body(tp_req *req, const req_source *src, size_t max)
{
	const char *cl = src->get(src->ctx, "CONTENT_LENGTH");
	uint64_t want = 0;
	char chunk[8192];

	tp_buf_init(&req->body, max);
	if (cl && *cl) {
		if (tp_str_to_u64(cl, strlen(cl), UINT64_MAX / 2, &want) != TP_OK)
			return TP_EINVAL;
		if (want > max)
			return TP_ETOOBIG;
	}
	while (req->body.len < want) {
		size_t n = want - req->body.len;
		long got = src->read(src->ctx, chunk, n < sizeof chunk ? n : sizeof chunk);
		if (got < 0)
			return TP_EIO;
		if (got == 0)
			break; /* short body: parse what came */
		if (tp_buf_add(&req->body, chunk, (size_t)got) != TP_OK)
			return TP_ETOOBIG;
	}
	if (!req->body.ptr)
		tp_buf_add(&req->body, "", 0);
	return TP_OK;
}

/* Reads and throws away what is left of the request body, at most
 * DRAIN_MAX bytes.  An answer given before the body was read (413, 405)
 * must not close the connection on a peer still writing that body: nginx
 * then fails its write and the client gets the status with an empty body,
 * or a 502 (found by tests/integration/test_security_hostile_requests.sh).  nginx never
 * sends more than client_max_body_size, so this is cheap. */
#define DRAIN_MAX (4u << 20)
static void drain_body(const tp_req *req, const req_source *src)
{
	const char *cl = src->get(src->ctx, "CONTENT_LENGTH");
	uint64_t left = 0;
	char chunk[8192];
	long got;

	/* Only what CONTENT_LENGTH announced: a CGI parent may keep stdin
	 * open after the body. */
	if (!cl || tp_str_to_u64(cl, strlen(cl), UINT64_MAX / 2, &left) != TP_OK)
		return;
	left = left > req->body.len ? left - req->body.len : 0;
	if (left > DRAIN_MAX)
		left = DRAIN_MAX;
	while (left > 0 &&
	       (got = src->read(src->ctx, chunk, left < sizeof chunk ? left : sizeof chunk)) > 0)
		left -= (uint64_t)got;
}

static bool method_ok(const tp_handler *h, const char *m, tp_resp *resp)
{
	bool is_get = tp_str_eq(m, "GET") || tp_str_eq(m, "HEAD");
	bool is_post = tp_str_eq(m, "POST");
	const char *allow;

	if (h->flags & TP_H_GET_ONLY) {
		allow = "GET, HEAD";
		if (is_get)
			return true;
	} else if (h->flags & TP_H_ALLOW_GET) {
		allow = "GET, HEAD, POST";
		if (is_get || is_post)
			return true;
	} else {
		allow = "POST";
		if (is_post)
			return true;
	}
	tp_resp_header(resp, "Allow", allow);
	tp_reply_error(resp, TP_S_METHOD_NOT_ALLOWED, "method_not_allowed",
	               "method %s is not allowed here; use %s", m && *m ? m : "(none)", allow);
	return false;
}

/* A parameter named both in the query string and in the body (names
 * compared without regard to case, as SIP header parameters are matched)
 * makes a request ambiguous: tp_req_param reads the body first, so a body
 * could override what a signature covered in the URL.  Refused with a 400
 * naming it rather than picking a winner. */
static bool no_clash_or_reply(const tp_req *req, tp_resp *resp)
{
	size_t i;

	for (i = 0; i < req->body_params.n; i++) {
		const char *name = req->body_params.v[i].name;
		if (!tp_params_get_case(&req->query_params, name))
			continue;
		tp_reply_error(resp, TP_S_BAD_REQUEST, "duplicate_parameter",
		               "%.64s is given both in the query string and in the body; send it "
		               "once",
		               name);
		return false;
	}
	return true;
}

/* Parses the query string and the body by content type. */
static bool parse_inputs(tp_req *req, tp_resp *resp)
{
	if (tp_form_parse(&req->query_params, req->query, strlen(req->query)) != TP_OK) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "bad_query",
		               "the query string is not valid percent-encoding");
		return false;
	}
	if (req->body.len == 0)
		return true;
	if (ctype_is(req->content_type, "application/x-www-form-urlencoded")) {
		tp_rc rc = tp_form_parse(&req->body_params, req->body.ptr, req->body.len);
		if (rc != TP_OK) {
			tp_reply_error(resp, TP_S_BAD_REQUEST, "bad_form",
			               rc == TP_ETOOBIG ? "the form has too many fields"
			                                : "the form body is not valid "
			                                  "application/x-www-form-urlencoded");
			return false;
		}
		req->body_is_form = true;
		return true;
	}
	if (ctype_is(req->content_type, "application/json")) {
		req->json = cJSON_ParseWithLength(req->body.ptr, req->body.len);
		if (!req->json || !cJSON_IsObject(req->json)) {
			tp_reply_error(resp, TP_S_BAD_REQUEST, "bad_json",
			               "the body is not a JSON object");
			return false;
		}
		tp_params_from_json(&req->body_params, req->json);
		return true;
	}
	tp_reply_error(resp, TP_S_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
	               "send application/x-www-form-urlencoded or application/json");
	return false;
}

/* True when the raw query string has a `name=` parameter, spelt exactly
 * as lib/sig.c looks for it (no decoding), so the two always agree on
 * whether a body hash is part of the signature. */
static bool query_has(const char *query, const char *name)
{
	size_t n = strlen(name);
	const char *p = query;

	while (*p) {
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return true;
		p += strcspn(p, "&");
		p += *p == '&';
	}
	return false;
}

static void handle(const tp_handler *h, const tp_config *cfg, const req_source *src, tp_req_priv *p,
                   tp_resp *resp)
{
	tp_req *req = &p->pub;
	size_t max_body = h->max_body ? h->max_body : (size_t)cfg->max_body_bytes;
	tp_rc rc;

	req->method = keep(p, src->get(src->ctx, "REQUEST_METHOD"));
	req->path = keep(p, src->get(src->ctx, "DOCUMENT_URI"));
	if (!req->path)
		req->path = keep(p, src->get(src->ctx, "SCRIPT_NAME"));
	req->request_uri = keep(p, src->get(src->ctx, "REQUEST_URI"));
	req->query = keep(p, src->get(src->ctx, "QUERY_STRING"));
	req->content_type = keep(p, src->get(src->ctx, "CONTENT_TYPE"));
	req->remote_addr = keep(p, src->get(src->ctx, "REMOTE_ADDR"));
	req->h_signature = keep(p, src->get(src->ctx, "HTTP_X_TWILIO_SIGNATURE"));
	req->h_authorization = keep(p, src->get(src->ctx, "HTTP_AUTHORIZATION"));
	req->h_accept = keep(p, src->get(src->ctx, "HTTP_ACCEPT"));
	req->h_if_match = keep(p, src->get(src->ctx, "HTTP_IF_MATCH"));
	req->h_request_id = keep(p, src->get(src->ctx, "HTTP_X_REQUEST_ID"));
	if (!req->method)
		req->method = "";
	if (!req->path)
		req->path = "";
	if (!req->query)
		req->query = "";
	if (!req->content_type)
		req->content_type = "";
	if (!req->request_uri) {
		tp_buf u;
		tp_buf_init(&u, 16384);
		tp_buf_adds(&u, req->path);
		if (*req->query) {
			tp_buf_addc(&u, '?');
			tp_buf_adds(&u, req->query);
		}
		req->request_uri = keep(p, tp_buf_str(&u));
		tp_buf_free(&u);
	}
	tp_params_init(&req->query_params);
	tp_params_init(&req->body_params);
	p->public_url = public_url(cfg, req->request_uri);
	p->src = src;

	if (!method_ok(h, req->method, resp)) {
		drain_body(req, src);
		return;
	}
	rc = read_body(req, src, max_body);
	if (rc != TP_OK) {
		drain_body(req, src);
		if (rc == TP_ETOOBIG)
			tp_reply_error(resp, TP_S_PAYLOAD_TOO_LARGE, "payload_too_large",
			               "the body is larger than %zu bytes", max_body);
		else /* a CONTENT_LENGTH that is no number, a failed read */
			tp_reply_error(resp, TP_S_BAD_REQUEST, "bad_request",
			               "the body could not be read");
		return;
	}
	if (!parse_inputs(req, resp))
		return;
	if (h->flags & TP_H_TWILIO_SIGNED) {
		if (!req->h_signature) {
			tp_reply_error(resp, TP_S_FORBIDDEN, "missing_signature",
			               "X-Twilio-Signature is required");
			return;
		}
		/* Twilio signs a form body's parameters, and a JSON body only
		 * through bodySHA256 in the URL (twilio-contract.md section 9);
		 * without it the signature covers the URL alone and the body
		 * could be anything. */
		if (req->body.len && !req->body_is_form && !query_has(req->query, "bodySHA256")) {
			tp_reply_error(
			    resp, TP_S_FORBIDDEN, "unsigned_body",
			    "a JSON body must be covered by a bodySHA256 parameter in the "
			    "signed URL");
			return;
		}
		if (!tp_sig_valid(p->public_url, req->body_is_form ? &req->body_params : NULL,
		                  req->body.ptr, req->body.len, cfg->auth_token,
		                  req->h_signature)) {
			tp_resp_log(resp, "signed_url", p->public_url);
			tp_reply_error(resp, TP_S_FORBIDDEN, "bad_signature",
			               "X-Twilio-Signature does not match this request");
			return;
		}
		req->auth_subject = "twilio";
	}
	/* After the signature: a forged request is a 403 whatever it holds. */
	if (!no_clash_or_reply(req, resp))
		return;
	if (h->authorize && !h->authorize(req, resp, cfg))
		return;
	h->fn(req, resp, cfg);
	if (!resp->status)
		resp->status = TP_S_OK;
}

const char *tp_req_getenv(const tp_req *req, const char *name)
{
	const tp_req_priv *p = (const tp_req_priv *)req;
	return p->src ? p->src->get(p->src->ctx, name) : NULL;
}

/* Status line, headers, blank line, body: the CGI response form that
 * FastCGI also uses. */
static void serialise(const tp_resp *resp, bool head, tp_buf *out)
{
	size_t i;

	tp_buf_addf(out, "Status: %d %s\r\n", resp->status, tp_status_str(resp->status));
	if (resp->content_type)
		tp_buf_addf(out, "Content-Type: %s\r\n", resp->content_type);
	tp_buf_addf(out, "Content-Length: %zu\r\n", resp->body.len);
	/* Payment data must never sit in a cache. */
	tp_buf_adds(out, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
	for (i = 0; i < resp->nheaders; i++)
		tp_buf_addf(out, "%s\r\n", resp->headers[i]);
	tp_buf_adds(out, "\r\n");
	if (!head)
		tp_buf_add(out, tp_buf_str(&resp->body), resp->body.len);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void log_request(const tp_req *req, const tp_resp *resp, double ms)
{
	const char *kv[2 * 16 + 1];
	char status[8], dur[32], bytes[24];
	size_t n = 0, i;
	tp_log_level lvl = resp->status >= 500   ? TP_LOG_ERROR
	                   : resp->status >= 400 ? TP_LOG_WARN
	                                         : TP_LOG_INFO;

	if (!tp_log_enabled(lvl))
		return;
	snprintf(status, sizeof status, "%d", resp->status);
	snprintf(dur, sizeof dur, "%.2f", ms);
	snprintf(bytes, sizeof bytes, "%zu", resp->body.len);
	kv[n++] = "method";
	kv[n++] = req->method;
	kv[n++] = "path";
	kv[n++] = req->path;
	kv[n++] = "status";
	kv[n++] = status;
	kv[n++] = "ms";
	kv[n++] = dur;
	kv[n++] = "bytes";
	kv[n++] = bytes;
	if (req->h_request_id) {
		kv[n++] = "rid";
		kv[n++] = req->h_request_id;
	}
	for (i = 0; i < resp->log.n && n + 2 < sizeof kv / sizeof kv[0]; i++) {
		kv[n++] = resp->log.v[i].name;
		kv[n++] = resp->log.v[i].value;
	}
	kv[n] = NULL;
	tp_logv_kv(lvl, "request", kv);
}

static void process(const tp_handler *h, const tp_config *cfg, const req_source *src, tp_buf *out)
{
	tp_req_priv p;
	tp_resp resp;
	double t0 = now_ms();

	memset(&p, 0, sizeof p);
	tp_resp_init(&resp);
	handle(h, cfg, src, &p, &resp);
	serialise(&resp, tp_str_eq(p.pub.method, "HEAD"), out);
	log_request(&p.pub, &resp, now_ms() - t0);
	tp_sb_request(resp.status, false);
	tp_resp_free(&resp);
	req_free(&p);
}

/* ------------------------------------------------------------ CGI source */

typedef struct env_ctx {
	const char *const *env;
	const char *body;
	size_t body_len, pos;
	int fd; /* -1: read from body */
} env_ctx;

static const char *env_get(void *ctx, const char *name)
{
	env_ctx *c = ctx;
	size_t n = strlen(name), i;

	if (!c->env)
		return getenv(name);
	for (i = 0; c->env[i]; i++)
		if (strncmp(c->env[i], name, n) == 0 && c->env[i][n] == '=')
			return c->env[i] + n + 1;
	return NULL;
}

static long env_read(void *ctx, char *buf, size_t n)
{
	env_ctx *c = ctx;

	if (c->fd >= 0) {
		ssize_t r;
		do
			r = read(c->fd, buf, n);
		while (r < 0 && errno == EINTR);
		return (long)r;
	}
	if (n > c->body_len - c->pos)
		n = c->body_len - c->pos;
	memcpy(buf, c->body + c->pos, n);
	c->pos += n;
	return (long)n;
}

void tp_process_cgi(const tp_handler *h, const tp_config *cfg, const char *const *env,
                    const char *body, size_t body_len, tp_buf *out)
{
	env_ctx c = {env, body ? body : "", body ? body_len : 0, 0, -1};
	req_source src = {env_get, env_read, &c};

	process(h, cfg, &src, out);
}

/* ------------------------------------------------------------ FastCGI source */

static const char *fcgx_get(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

static long fcgx_read(void *ctx, char *buf, size_t n)
{
	int got = FCGX_GetStr(buf, (int)n, ((FCGX_Request *)ctx)->in);
	return got;
}

/* ------------------------------------------------------------ worker: the pool */

/* One worker process: a pool of threads on one listening socket. */
typedef struct pool_conf {
	int bound;       /* requests served at once; the next one gets 503 */
	int max_threads; /* bound + 2: the 503s still find a thread */
	int min_spare;   /* idle threads left when one waits on Twilio, at least */
	int max_spare;   /* idle threads kept, at most, after SPARE_IDLE_MS */
} pool_conf;

#define MAX_WORKERS    64
#define MAX_THREADS    1024
#define THREAD_STACK   (512u << 10) /* see "Threads" in the header */
#define DRAIN_MAX_MS   25000        /* systemd's TimeoutStopSec is 30 s */
#define DRAIN_TICK_MS  100
#define SPARE_IDLE_MS  5000
#define RETRY_AFTER_S  "1"
#define KEEP_OUT_BYTES (64u << 10) /* a thread keeps an answer buffer this big */
#define ACCEPT_BATCH   64          /* connections taken off the backlog at once */
#define LISTEN_BACKLOG 4096        /* the kernel caps it at net.core.somaxconn */

/* What the pool knows of a connection, by descriptor. */
enum { CONN_NONE, CONN_IDLE, CONN_BUSY };

static struct pool {
	const tp_handler *h;
	const tp_config *cfg;
	pool_conf conf;
	int listen_fd;
	bool unix_socket;
	int ep;      /* epoll: the listening socket, the wake pipe, idle connections */
	int wake[2]; /* a pipe, written once when draining starts */
	pthread_attr_t attr;
	pthread_mutex_t lock; /* guards what follows, up to in_flight */
	pthread_cond_t gone;  /* a thread exited */
	int threads;          /* alive, the main thread included */
	int idle;             /* threads in epoll_wait */
	int conns;            /* connections open */
	struct conn {
		unsigned char state; /* CONN_* */
		unsigned gen;        /* bumped by every accept of this descriptor */
	} * conn;                    /* by descriptor */
	size_t nconn;
	atomic_int in_flight;
	atomic_int draining;
	_Atomic int64_t drain_deadline_ms; /* CLOCK_MONOTONIC */
	atomic_long spawn_failures;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER, .gone = PTHREAD_COND_INITIALIZER};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGTERM: stop taking connections and drain.  Runs on the main thread
 * (the only one that does not block it); async-signal-safe: lock-free
 * atomics, clock_gettime, write. */
static void worker_on_term(int sig)
{
	int e = errno;
	(void)sig;
	if (!atomic_exchange(&P.draining, 1)) {
		atomic_store(&P.drain_deadline_ms, mono_ms() + DRAIN_MAX_MS);
		(void)!write(P.wake[1], "d", 1);
	}
	errno = e;
}

/* The signals only the main thread takes: a thread we start blocks
 * them, so SIGTERM can never interrupt a write to nginx on another
 * thread (faults such as SIGSEGV stay unblocked and kill the process). */
static void async_signals(sigset_t *s)
{
	sigfillset(s);
	sigdelset(s, SIGSEGV);
	sigdelset(s, SIGBUS);
	sigdelset(s, SIGFPE);
	sigdelset(s, SIGILL);
	sigdelset(s, SIGABRT);
}

static void *pool_thread(void *arg);

/* strerror for the pool's threads: strerror(3) need not be thread-safe
 * (POSIX); the GNU strerror_r returns the message, in buf or static. */
static const char *err_str(int e, char *buf, size_t n)
{
	return strerror_r(e, buf, n);
}

/* Starts one more pool thread.  Called with P.lock held. */
static void spawn_thread(void)
{
	sigset_t block, old;
	pthread_t t;
	int rc;

	async_signals(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&t, &P.attr, pool_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		/* Said once in a while, not per request: the pool serves on
		 * with the threads it has. */
		char eb[128];
		if (atomic_fetch_add(&P.spawn_failures, 1) % 100 == 0)
			tp_log(TP_LOG_ERROR, "cannot start a thread (%d threads running): %s",
			       P.threads, err_str(rc, eb, sizeof eb));
		return;
	}
	P.threads++;
	P.idle++; /* it starts in epoll_wait */
	tp_sb_threads(1);
}

/* Under P.lock. */
static struct conn *conn_of(int fd)
{
	if ((size_t)fd >= P.nconn) {
		size_t n = P.nconn ? P.nconn : 256;
		while (n <= (size_t)fd)
			n *= 2;
		P.conn = tp_xrealloc(P.conn, n * sizeof *P.conn);
		memset(P.conn + P.nconn, 0, (n - P.nconn) * sizeof *P.conn);
		P.nconn = n;
	}
	return &P.conn[fd];
}

static void set_state(int fd, unsigned char st)
{
	conn_of(fd)->state = st;
}

static unsigned char get_state(int fd)
{
	return (size_t)fd < P.nconn ? P.conn[fd].state : CONN_NONE;
}

static void arm(int fd, bool add)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.fd = fd};
	if (epoll_ctl(P.ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0 && !add &&
	    errno == ENOENT)
		epoll_ctl(P.ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Closes a connection of ours.  Under P.lock. */
static void close_conn_locked(int fd)
{
	if (get_state(fd) != CONN_NONE)
		epoll_ctl(P.ep, EPOLL_CTL_DEL, fd, NULL);
	set_state(fd, CONN_NONE);
	P.conns--;
	close(fd);
}

/* A connection nginx keeps open goes back to the epoll set, where any
 * thread picks up its next request.  While draining it stays open too:
 * nginx itself closes it within the upstream's keepalive_time or
 * keepalive_timeout (scripts/render-upstreams), and a close from our side
 * could meet a request nginx is writing at that moment; only what is
 * still open at the deadline is closed by us. */
static void park(int fd)
{
	pthread_mutex_lock(&P.lock);
	if (atomic_load(&P.draining) && mono_ms() >= atomic_load(&P.drain_deadline_ms)) {
		close_conn_locked(fd);
	} else {
		bool registered = get_state(fd) != CONN_NONE;
		set_state(fd, CONN_IDLE);
		arm(fd, !registered);
	}
	pthread_mutex_unlock(&P.lock);
}

/* libfcgi closed the connection (not kept, or it ended mid-record).  It
 * did so outside P.lock, so the descriptor may already be a new
 * connection another thread accepted: its generation says whether the
 * entry is still ours to clear. */
static void forget(int fd, unsigned gen)
{
	pthread_mutex_lock(&P.lock);
	if (conn_of(fd)->gen == gen)
		set_state(fd, CONN_NONE);
	P.conns--;
	pthread_mutex_unlock(&P.lock);
}

/* 503 past the bound, without running the handler: the body is read and
 * dropped (nginx must be able to finish writing it), Retry-After says
 * when to come back, and the request gets its log line like any other. */
static void reject_busy(const req_source *src, tp_buf *out)
{
	tp_req_priv p;
	tp_resp resp;
	int64_t t0 = mono_ms();

	memset(&p, 0, sizeof p);
	tp_resp_init(&resp);
	p.pub.method = keep(&p, src->get(src->ctx, "REQUEST_METHOD"));
	p.pub.path = keep(&p, src->get(src->ctx, "DOCUMENT_URI"));
	p.pub.h_request_id = keep(&p, src->get(src->ctx, "HTTP_X_REQUEST_ID"));
	if (!p.pub.method)
		p.pub.method = "";
	if (!p.pub.path)
		p.pub.path = "";
	drain_body(&p.pub, src);
	tp_resp_header(&resp, "Retry-After", RETRY_AFTER_S);
	tp_reply_error(&resp, TP_S_SERVICE_UNAVAILABLE, "busy",
	               "%s is serving as many requests as it may (%d per process); retry in %s s",
	               P.h->name, P.conf.bound, RETRY_AFTER_S);
	tp_resp_log(&resp, "refused", "bound");
	serialise(&resp, tp_str_eq(p.pub.method, "HEAD"), out);
	log_request(&p.pub, &resp, (double)(mono_ms() - t0));
	tp_sb_request(resp.status, true);
	tp_resp_free(&resp);
	req_free(&p);
}

/* Serves the one request waiting on connection fd.  libfcgi reads and
 * writes the records; the connection is ours (accepted here, kept in the
 * epoll set between requests), so the request arrives with ipcFd set. */
static void serve_one(FCGX_Request *rq, int fd, tp_buf *out)
{
	req_source src = {fcgx_get, fcgx_read, rq};
	unsigned gen;
	int n;

	pthread_mutex_lock(&P.lock);
	gen = conn_of(fd)->gen;
	pthread_mutex_unlock(&P.lock);

	rq->ipcFd = fd;
	/* FCGX_Accept_r starts by finishing "the previous request", which
	 * closes ipcFd unless the connection was kept: say it was.  The
	 * request's own BEGIN_REQUEST record then sets keepConnection from
	 * nginx's FCGI_KEEP_CONN flag.  listen_sock is -1, so a connection
	 * that ends inside libfcgi (end of file, a malformed record) makes it
	 * fail here instead of accepting a new one by itself. */
	rq->keepConnection = 1;
	if (FCGX_Accept_r(rq) < 0) {
		rq->ipcFd = -1;
		forget(fd, gen);
		return;
	}
	n = atomic_fetch_add(&P.in_flight, 1) + 1;
	tp_sb_in_flight(1);
	tp_buf_reset(out);
	if (n > P.conf.bound)
		reject_busy(&src, out);
	else
		process(P.h, P.cfg, &src, out);
	if (out->ptr)
		FCGX_PutStr(out->ptr, (int)out->len, rq->out);
	/* On a unix socket, close without libfcgi's lingering close
	 * (shutdown, then wait up to 2 s for nginx to close first): the
	 * lingering close exists to avoid a TCP reset losing the answer; a
	 * unix socket has no reset, and nginx has sent the whole request
	 * before we answer.  (FCGX_Detach only marks the request so its
	 * close is plain; FCGX_Finish_r still flushes.) */
	if (P.unix_socket)
		FCGX_Detach(rq);
	FCGX_Finish_r(rq);
	atomic_fetch_sub(&P.in_flight, 1);
	tp_sb_in_flight(-1);
	if (out->cap > KEEP_OUT_BYTES) {
		size_t max = out->max;
		tp_buf_free(out);
		tp_buf_init(out, max);
	}
	if (rq->ipcFd < 0) {
		forget(fd, gen); /* nginx did not keep it: FCGX_Finish_r closed it */
		return;
	}
	rq->ipcFd = -1; /* the connection goes back to the set, not to this thread */
	park(fd);
}

/* The first thread to see the wake pipe: no more new connections. */
static void begin_drain(void)
{
	pthread_mutex_lock(&P.lock);
	epoll_ctl(P.ep, EPOLL_CTL_DEL, P.listen_fd, NULL);
	epoll_ctl(P.ep, EPOLL_CTL_DEL, P.wake[0], NULL);
	pthread_mutex_unlock(&P.lock);
}

/* Past the drain deadline: what nginx has not closed yet, we do. */
static void close_idle(void)
{
	size_t fd;

	pthread_mutex_lock(&P.lock);
	for (fd = 0; fd < P.nconn; fd++)
		if (P.conn[fd].state == CONN_IDLE)
			close_conn_locked((int)fd);
	pthread_mutex_unlock(&P.lock);
}

void tp_pool_blocking(void)
{
	/* Not in a worker (CGI mode, tests, the tools, the emulator): no pool. */
	if (!P.h)
		return;
	pthread_mutex_lock(&P.lock);
	if (P.idle < P.conf.min_spare && P.threads < P.conf.max_threads &&
	    !atomic_load(&P.draining))
		spawn_thread();
	pthread_mutex_unlock(&P.lock);
}

/* After a peak (its threads gone, its curl handles closed), hands the
 * heap's free pages back: glibc keeps freed memory in its arenas for
 * reuse and returns only what sits at the top of a heap, so the memory
 * of a burst of requests would stay for good. */
static void give_back_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* Leader/followers on one epoll set: every idle thread waits in
 * epoll_wait; an event (a new connection, or the next request on a kept
 * one) goes to one of them (EPOLLONESHOT), which serves that one request
 * and comes back.  Returns when the thread is to end: draining and every
 * connection closed, or a spare too many for SPARE_IDLE_MS (never the
 * main thread, which drains last). */
static void serve_loop(bool main_thread)
{
	FCGX_Request rq;
	tp_buf out;
	int64_t idle_since = mono_ms();

	FCGX_InitRequest(&rq, -1, 0);
	tp_buf_init(&out, TP_RESP_BODY_MAX + 65536);
	for (;;) {
		struct epoll_event ev;
		bool draining = atomic_load(&P.draining);
		/* Every second an idle thread looks at the drain, its own
		 * idleness and the curl handles left idle (http.c). */
		int timeout = 1000, n, fd, accept_errno = 0;

		if (draining) {
			bool done;
			int64_t left = atomic_load(&P.drain_deadline_ms) - mono_ms();
			if (left <= 0)
				close_idle();
			pthread_mutex_lock(&P.lock);
			done = P.conns == 0;
			pthread_mutex_unlock(&P.lock);
			if (done)
				break;
			timeout = left > 0 && left < DRAIN_TICK_MS ? (int)left : DRAIN_TICK_MS;
		}
		n = epoll_wait(P.ep, &ev, 1, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			char eb[128];
			tp_log(TP_LOG_ERROR, "epoll_wait: %s", err_str(errno, eb, sizeof eb));
			break;
		}
		if (n == 0) {
			/* Idle for a second: closes curl handles idle too long,
			 * and a spare too many for SPARE_IDLE_MS leaves (never
			 * the main thread; decided under the lock, so two timing
			 * out together do not both leave). */
			bool surplus = false, released = tp_http_pool_trim() > 0;
			if (!draining && !main_thread && mono_ms() - idle_since >= SPARE_IDLE_MS) {
				pthread_mutex_lock(&P.lock);
				if (P.idle > P.conf.max_spare) {
					surplus = true;
					P.idle--;
				}
				pthread_mutex_unlock(&P.lock);
			}
			if (surplus)
				tp_buf_free(&out);
			if (surplus || released)
				give_back_memory();
			if (surplus)
				return;
			continue;
		}
		fd = ev.data.fd;
		if (fd == P.wake[0]) {
			begin_drain();
			continue;
		}
		pthread_mutex_lock(&P.lock);
		P.idle--;
		if (fd == P.listen_fd) {
			/* A burst (a peak of callbacks, nginx opening connections
			 * for all of them) is taken off the backlog at once: this
			 * thread serves the first connection, the others join the
			 * epoll set, where the threads the pool grows pick them up.
			 * Accepting one per thread would let the backlog overflow
			 * while threads start (nginx: 502). */
			int first = -1, k;
			for (k = 0; k < ACCEPT_BATCH; k++) {
				int cfd = accept4(P.listen_fd, NULL, NULL, SOCK_CLOEXEC);
				struct conn *c;
				if (cfd < 0) {
					if (first < 0)
						accept_errno = errno;
					break;
				}
				c = conn_of(cfd);
				P.conns++;
				c->gen++;
				if (first < 0) {
					first = cfd;
					c->state = CONN_NONE;
				} else {
					c->state = CONN_IDLE;
					arm(cfd, true);
				}
			}
			fd = first;
			if (!atomic_load(&P.draining)) {
				struct epoll_event lev = {.events = EPOLLIN | EPOLLONESHOT,
				                          .data.fd = P.listen_fd};
				epoll_ctl(P.ep, EPOLL_CTL_MOD, P.listen_fd, &lev);
			}
		} else if (get_state(fd) == CONN_IDLE) {
			set_state(fd, CONN_BUSY);
		} else {
			fd = -1; /* closed at the drain deadline meanwhile */
		}
		pthread_mutex_unlock(&P.lock);

		if (fd >= 0) {
			/* nginx closed a kept connection: end of file, no request. */
			char c;
			if ((ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && fd != P.listen_fd &&
			    recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
				pthread_mutex_lock(&P.lock);
				close_conn_locked(fd);
				pthread_mutex_unlock(&P.lock);
			} else {
				serve_one(&rq, fd, &out);
			}
		} else if (ev.data.fd == P.listen_fd && accept_errno != EAGAIN &&
		           accept_errno != EWOULDBLOCK && accept_errno != ECONNABORTED &&
		           accept_errno != EINTR) {
			/* Out of descriptors, most likely: the connection waits in
			 * the backlog until a request ends and frees one. */
			struct timespec ts = {0, 20 * 1000000L};
			char eb[128];
			tp_log(TP_LOG_ERROR, "accept: %s", err_str(accept_errno, eb, sizeof eb));
			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&P.lock);
		P.idle++;
		pthread_mutex_unlock(&P.lock);
		idle_since = mono_ms();
	}
	pthread_mutex_lock(&P.lock);
	P.idle--;
	pthread_mutex_unlock(&P.lock);
	tp_buf_free(&out);
}

static void *pool_thread(void *arg)
{
	(void)arg;
	serve_loop(false);
	pthread_mutex_lock(&P.lock);
	P.threads--;
	tp_sb_threads(-1);
	pthread_cond_signal(&P.gone);
	pthread_mutex_unlock(&P.lock);
	return NULL;
}

static void install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static cJSON_Hooks json_hooks = {tp_xmalloc, free};

/* Loads the configuration and reports every problem on stderr.  Returns
 * TP_OK, or TP_ECONFIG with cfg freed (nothing for the caller to free:
 * the process exits, or a reload keeps the configuration it had). */
static tp_rc load_config(const tp_handler *h, tp_config *cfg)
{
	tp_buf err;
	tp_rc rc = TP_OK;

	tp_buf_init(&err, 65536);
	if (tp_config_load(cfg, h->need, &err) != TP_OK) {
		const char *line = tp_buf_str(&err);
		while (*line) {
			size_t n = strcspn(line, "\n");
			fprintf(stderr, "%s: configuration error: %.*s\n", h->name, (int)n, line);
			line += n + (line[n] == '\n');
		}
		rc = TP_ECONFIG;
		tp_config_free(cfg);
	}
	tp_buf_free(&err);
	if (rc == TP_OK)
		tp_log_set_level(cfg->log_level);
	return rc;
}

/* One worker process, from fork to exit: returns its exit status. */
static int worker_main(const tp_handler *h, int listen_fd, int slot, const pool_conf *conf)
{
	tp_config cfg;
	int i;

	tp_sb_slot_use(slot);
	/* SA_RESTART: a SIGTERM landing in the main thread's read or write
	 * to nginx must not cut the request short; poll(2) still returns
	 * EINTR, and the wake pipe does the rest. */
	install(SIGTERM, worker_on_term, SA_RESTART);
	install(SIGINT, SIG_IGN, 0); /* Ctrl-C goes to the supervisor */
	install(SIGHUP, SIG_IGN, 0);
	install(SIGPIPE, SIG_IGN, 0);
	install(SIGCHLD, SIG_DFL, 0);
	if (pipe2(P.wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return EX_WORKER_SETUP;
	if (load_config(h, &cfg) != TP_OK)
		return EX_CONFIG;
	if (h->init && !h->init(&cfg)) {
		tp_config_free(&cfg);
		return EX_CONFIG;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		P.unix_socket = getsockname(listen_fd, (struct sockaddr *)&ss, &sl) == 0 &&
		                ss.ss_family == AF_UNIX;
	}
	if (FCGX_Init() != 0)
		return EX_WORKER_SETUP;
	/* Everything the threads share is set up before the first one
	 * starts (the configuration, the log), except libcurl's global state:
	 * it initialises OpenSSL's TLS side, a couple of MiB that a handler
	 * which never calls Twilio should not carry, so http.c does it on the
	 * first request, once (pthread_once), on whichever thread.  That is
	 * safe where libcurl says its global init is (CURL_VERSION_THREADSAFE,
	 * libcurl 7.84 and later); an older one is initialised here. */
	if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_THREADSAFE))
		tp_http_init();
#ifdef M_ARENA_MAX
	/* glibc gives threads up to 8 malloc arenas per core, each keeping
	 * its own high-water mark: hundreds of mostly waiting threads would
	 * spread a small working set over all of them (the environment's
	 * MALLOC_ARENA_MAX, when set, is the operator's choice). */
	if (!getenv("MALLOC_ARENA_MAX"))
		mallopt(M_ARENA_MAX, 2);
#endif
	/* Non-blocking: the worker processes share the socket, and a thread
	 * woken for a connection another process took goes back to
	 * epoll_wait instead of blocking in accept(2).  (The flag is on the
	 * socket all of them share; all of them accept this way.) */
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	P.ep = epoll_create1(EPOLL_CLOEXEC);
	if (P.ep < 0)
		return EX_WORKER_SETUP;
	{
		struct epoll_event lev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = listen_fd};
		struct epoll_event wev = {.events = EPOLLIN, .data.fd = P.wake[0]};
		if (epoll_ctl(P.ep, EPOLL_CTL_ADD, listen_fd, &lev) != 0 ||
		    epoll_ctl(P.ep, EPOLL_CTL_ADD, P.wake[0], &wev) != 0)
			return EX_WORKER_SETUP;
	}

	P.h = h;
	P.cfg = &cfg;
	P.conf = *conf;
	P.listen_fd = listen_fd;
	pthread_attr_init(&P.attr);
	pthread_attr_setstacksize(&P.attr, THREAD_STACK);
	pthread_attr_setdetachstate(&P.attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&P.lock);
	P.threads = 1;
	P.idle = 1;
	tp_sb_threads(1);
	for (i = 1; i < conf->min_spare; i++)
		spawn_thread();
	pthread_mutex_unlock(&P.lock);

	serve_loop(true);

	/* Draining: every other thread ends after its last request. */
	pthread_mutex_lock(&P.lock);
	while (P.threads > 1)
		pthread_cond_wait(&P.gone, &P.lock);
	pthread_mutex_unlock(&P.lock);
	tp_config_free(&cfg);
	return EX_OK;
}

/* ------------------------------------------------------------ supervisor */

static volatile sig_atomic_t sup_stop, sup_reload;

static void sup_on_term(int sig)
{
	(void)sig;
	sup_stop = 1;
}

static void sup_on_hup(int sig)
{
	(void)sig;
	sup_reload = 1;
}

static void sup_on_chld(int sig)
{
	(void)sig; /* only interrupts sleep/pause */
}

typedef struct worker_slot {
	pid_t pid;
	int sb; /* its scoreboard slot, or -1 */
	time_t started;
	int quick_deaths; /* consecutive deaths within 1 s of start */
	int gen;          /* configuration generation it was started with */
} worker_slot;

static pid_t spawn(const tp_handler *h, int fd, const pool_conf *conf, int *sb_slot)
{
	pid_t pid;

	*sb_slot = tp_sb_slot_claim();
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(worker_main(h, fd, *sb_slot, conf));
	}
	if (pid > 0)
		tp_sb_slot_set_pid(*sb_slot, (long)pid);
	else
		tp_sb_slot_release(*sb_slot, false);
	return pid;
}

/* Runs the workers until SIGTERM/SIGINT, then waits for them to drain:
 * returns the process's exit status. */
static int supervise(const tp_handler *h, int fd, int nworkers, const pool_conf *conf)
{
	worker_slot w[MAX_WORKERS];
	/* Workers of earlier generations, finishing their requests. */
	worker_slot retired[2 * MAX_WORKERS];
	size_t nretired = 0;
	int i, gen = 0;

	memset(w, 0, sizeof w);
	install(SIGTERM, sup_on_term, 0);
	install(SIGINT, sup_on_term, 0);
	install(SIGHUP, sup_on_hup, 0);
	install(SIGCHLD, sup_on_chld, 0);
	install(SIGPIPE, SIG_IGN, 0);
	tp_sb_configure(nworkers, conf->bound);

	tp_log(TP_LOG_INFO,
	       "serving with %d workers, each up to %d requests at once (threads %d-%d, spare "
	       "%d-%d)",
	       nworkers, conf->bound, 1, conf->max_threads, conf->min_spare, conf->max_spare);
	for (;;) {
		pid_t pid;
		int status;
		size_t r;

		tp_sb_heartbeat();
		/* Reap. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			bool died = WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
			for (r = 0; r < nretired; r++) {
				if (retired[r].pid != pid)
					continue;
				tp_sb_slot_release(retired[r].sb, false);
				retired[r] = retired[--nretired];
				break;
			}
			for (i = 0; i < nworkers; i++) {
				if (w[i].pid != pid)
					continue;
				w[i].pid = 0;
				tp_sb_slot_release(w[i].sb, !sup_stop && died);
				if (!sup_stop && w[i].gen == gen) {
					bool quick = time(NULL) - w[i].started < 2;
					w[i].quick_deaths = quick ? w[i].quick_deaths + 1 : 0;
					if (WIFSIGNALED(status))
						tp_log(TP_LOG_WARN,
						       "worker %ld killed by signal %d; restarting",
						       (long)pid, WTERMSIG(status));
					else if (WEXITSTATUS(status) != 0)
						tp_log(TP_LOG_WARN,
						       "worker %ld exited with %d; restarting",
						       (long)pid, WEXITSTATUS(status));
				}
			}
		}
		if (sup_stop)
			break;
		if (sup_reload) {
			tp_config probe;
			sup_reload = 0;
			if (load_config(h, &probe) == TP_OK) {
				tp_config_free(&probe);
				gen++;
				tp_log(TP_LOG_INFO, "reloading: replacing workers (generation %d)",
				       gen);
				/* Start the new generation first, then retire the
				 * old one: the socket never lacks an acceptor. */
				for (i = 0; i < nworkers; i++) {
					worker_slot old = w[i];
					w[i].pid = spawn(h, fd, conf, &w[i].sb);
					w[i].started = time(NULL);
					w[i].quick_deaths = 0;
					w[i].gen = gen;
					if (old.pid > 0) {
						kill(old.pid, SIGTERM);
						if (nretired < sizeof retired / sizeof retired[0])
							retired[nretired++] = old;
					}
				}
			} else {
				tp_log(TP_LOG_ERROR, "reload refused: configuration is invalid; "
				                     "keeping the running workers");
			}
		}
		/* Respawn. */
		for (i = 0; i < nworkers; i++) {
			if (w[i].pid > 0)
				continue;
			if (w[i].quick_deaths >= 3) {
				/* Dying at start-up: back off so we do not spin. */
				if (time(NULL) - w[i].started < (w[i].quick_deaths > 6 ? 30 : 5))
					continue;
			}
			w[i].pid = spawn(h, fd, conf, &w[i].sb);
			w[i].started = time(NULL);
			w[i].gen = gen;
			if (w[i].pid < 0) {
				tp_log(TP_LOG_ERROR, "fork failed: %s", strerror(errno));
				w[i].pid = 0;
			}
		}
		sleep(1); /* SIGCHLD/SIGTERM/SIGHUP interrupt it */
	}

	/* Shutdown: every worker drains (see worker_on_term). */
	for (i = 0; i < nworkers; i++)
		if (w[i].pid > 0)
			kill(w[i].pid, SIGTERM);
	for (i = 0; i < (int)nretired; i++)
		kill(retired[i].pid, SIGTERM);
	for (;;) {
		pid_t r2 = waitpid(-1, NULL, 0);
		if (r2 > 0 || (r2 < 0 && errno == EINTR))
			continue;
		break; /* ECHILD: all gone */
	}
	tp_log(TP_LOG_INFO, "stopped");
	tp_sb_close();
	return EX_OK;
}

/* ------------------------------------------------------------ main */

static void usage(const char *name, FILE *f)
{
	fprintf(f,
	        "usage: %s [--listen PATH|HOST:PORT] [--socket-mode OCTAL] [--workers N]\n"
	        "       [--threads N] [--spare MIN:MAX]\n"
	        "       %s --cgi | --check-config\n"
	        "Serves FastCGI on the socket given by --listen, by systemd (LISTEN_FDS)\n"
	        "or on fd 0.  --workers: processes (default 2); --threads: requests each\n"
	        "serves at once, 503 past it (default 32); --spare: idle threads kept for\n"
	        "work (default 1:2).  Configuration: $TWILIOPAY_ENV (default ./.env),\n"
	        "then the environment.\n",
	        name, name);
}

/* Opens the listening socket (a path: a unix socket with `mode`, else
 * HOST:PORT) into *fd_out; TP_EIO with errno set when it cannot. */
static tp_rc open_listen(const char *spec, unsigned mode, int *fd_out)
{
	int fd;

	if (strchr(spec, '/')) {
		struct stat st;
		/* A stale socket from a crashed run would make bind() fail. */
		if (lstat(spec, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(spec);
		fd = FCGX_OpenSocket(spec, LISTEN_BACKLOG);
		if (fd >= 0)
			chmod(spec, mode);
	} else {
		fd = FCGX_OpenSocket(spec, LISTEN_BACKLOG);
	}
	*fd_out = fd;
	return fd >= 0 ? TP_OK : TP_EIO;
}

/* "N" within 1..max. */
static bool parse_count(const char *s, uint64_t max, int *out)
{
	uint64_t n;
	if (tp_str_to_u64(s, strlen(s), max, &n) != TP_OK || n == 0)
		return false;
	*out = (int)n;
	return true;
}

int tp_serve(int argc, char **argv, const tp_handler *h)
{
	const char *listen_spec = NULL;
	unsigned mode = 0660;
	int workers = 2;
	pool_conf conf = {.bound = 32, .min_spare = 1, .max_spare = 2};
	bool cgi = false, check = false;
	int i, fd, status = EX_OK;
	tp_config cfg;

	tp_log_init(h->name);
	cJSON_InitHooks(&json_hooks);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--listen") == 0 && i + 1 < argc) {
			listen_spec = argv[++i];
		} else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
			if (!parse_count(argv[++i], MAX_WORKERS, &workers)) {
				fprintf(stderr, "%s: --workers takes 1 to %d\n", h->name,
				        MAX_WORKERS);
				return EX_USAGE;
			}
		} else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
			if (!parse_count(argv[++i], MAX_THREADS, &conf.bound)) {
				fprintf(stderr, "%s: --threads takes 1 to %d\n", h->name,
				        MAX_THREADS);
				return EX_USAGE;
			}
		} else if (strcmp(a, "--spare") == 0 && i + 1 < argc) {
			const char *s = argv[++i], *colon = strchr(s, ':');
			char lo[16];
			if (!colon || (size_t)(colon - s) >= sizeof lo) {
				fprintf(stderr, "%s: --spare takes MIN:MAX\n", h->name);
				return EX_USAGE;
			}
			memcpy(lo, s, (size_t)(colon - s));
			lo[colon - s] = '\0';
			if (!parse_count(lo, MAX_THREADS, &conf.min_spare) ||
			    !parse_count(colon + 1, MAX_THREADS, &conf.max_spare) ||
			    conf.max_spare < conf.min_spare) {
				fprintf(stderr, "%s: --spare takes MIN:MAX, 1 <= MIN <= MAX\n",
				        h->name);
				return EX_USAGE;
			}
		} else if (strcmp(a, "--socket-mode") == 0 && i + 1 < argc) {
			char *end;
			unsigned long m = strtoul(argv[++i], &end, 8);
			if (*end || m > 0777) {
				fprintf(stderr, "%s: --socket-mode takes an octal mode\n", h->name);
				return EX_USAGE;
			}
			mode = (unsigned)m;
		} else if (strcmp(a, "--cgi") == 0) {
			cgi = true;
		} else if (strcmp(a, "--check-config") == 0) {
			check = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(h->name, stdout);
			return EX_OK;
		} else {
			usage(h->name, stderr);
			return EX_USAGE;
		}
	}
	/* Two more than the bound: the requests past it still find a thread
	 * to answer their 503. */
	conf.max_threads = conf.bound + 2;
	if (conf.min_spare > conf.max_threads)
		conf.min_spare = conf.max_threads;
	if (conf.max_spare > conf.max_threads)
		conf.max_spare = conf.max_threads;

	if (load_config(h, &cfg) != TP_OK)
		return EX_CONFIG;
	if (check) {
		/* The start-up hook is part of the check: it refuses what the
		 * variables alone cannot show (e.g. charge's gateway). */
		if (h->init && !h->init(&cfg)) {
			fprintf(stderr,
			        "%s: configuration error: refused at start-up (see the log line "
			        "above)\n",
			        h->name);
			status = EX_CONFIG;
		} else {
			printf("%s: configuration OK (%s)\n", h->name,
			       *cfg.env_path ? cfg.env_path : "environment only");
		}
		tp_config_free(&cfg);
		return status;
	}

	if (cgi) {
		tp_buf out;
		env_ctx c = {NULL, NULL, 0, 0, 0};
		req_source src = {env_get, env_read, &c};
		if (h->init && !h->init(&cfg))
			return EX_CONFIG;
		tp_buf_init(&out, TP_RESP_BODY_MAX + 65536);
		process(h, &cfg, &src, &out);
		fwrite(tp_buf_str(&out), 1, out.len, stdout);
		tp_buf_free(&out);
		tp_config_free(&cfg);
		return EX_OK;
	}
	{
		/* The counters every worker process shares (metrics.c).  A
		 * handler that cannot write its scoreboard still serves; only
		 * /metrics misses it. */
		tp_buf err;
		tp_buf_init(&err, 4096);
		if (tp_sb_open(cfg.metrics_dir, h->name, &err) != TP_OK) {
			tp_log(TP_LOG_ERROR, "metrics: %s; counting in private memory",
			       tp_buf_str(&err));
			tp_buf_reset(&err);
			tp_sb_open(NULL, h->name, &err);
		}
		tp_buf_free(&err);
	}
	tp_config_free(&cfg); /* each worker loads its own copy */

	if (listen_spec) {
		if (open_listen(listen_spec, mode, &fd) != TP_OK) {
			fprintf(stderr, "%s: cannot listen on %s: %s\n", h->name, listen_spec,
			        strerror(errno));
			tp_sb_close();
			return EX_OSERR;
		}
	} else {
		const char *lfds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
		uint64_t pid = 0;
		struct stat st;
		fd = 0;
		if (lfds && tp_str_eq(lfds, "1") && lpid &&
		    tp_str_to_u64(lpid, strlen(lpid), UINT64_MAX, &pid) == TP_OK &&
		    (pid_t)pid == getpid())
			fd = 3; /* sd_listen_fds(3): SD_LISTEN_FDS_START */
		if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			fprintf(stderr,
			        "%s: no socket on fd %d; use --listen PATH, systemd socket "
			        "activation or spawn-fcgi (or --cgi for one request)\n",
			        h->name, fd);
			usage(h->name, stderr);
			tp_sb_close();
			return EX_USAGE;
		}
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
	}
	if (fd != 0) {
		/* Keep stdin harmless for the workers. */
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0 && devnull != 0) {
			dup2(devnull, 0);
			close(devnull);
		}
	}
	return supervise(h, fd, workers, &conf);
}
