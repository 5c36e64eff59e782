/*
 * fcgi.c - the life of a handler binary: command line, configuration,
 * the listening socket, the pre-forked workers and their supervisor, and
 * the per-request pipeline every handler shares.
 *
 * Process model (one binary per function, DESIGN.md):
 *
 *   supervisor --fork--> worker 1 .. N, all accept()ing on one socket
 *
 * The supervisor owns the listening socket, so a dying worker loses only
 * its own request in flight and nginx's next connect succeeds.  It
 * restarts dead workers (with a back-off when they die at start-up),
 * forwards SIGTERM/SIGINT (each worker finishes its request, then exits)
 * and on SIGHUP re-validates the configuration and replaces the workers
 * one generation at a time, so `systemctl reload` drops nothing.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "internal.h"
#include "twiliopay.h"

#define EX_CONFIG   78 /* sysexits.h: configuration error */
#define MAX_WORKERS 64

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

static void resp_init(tp_resp *r)
{
	memset(r, 0, sizeof *r);
	tp_buf_init(&r->body, TP_RESP_BODY_MAX);
	tp_params_init(&r->log);
}

static void resp_free(tp_resp *r)
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

/* Reads the body into req->body, at most max bytes.  Returns the HTTP
 * status to fail with, or 0. */
static int read_body(tp_req *req, const req_source *src, size_t max)
{
	const char *cl = src->get(src->ctx, "CONTENT_LENGTH");
	uint64_t want = 0;
	char chunk[8192];

	tp_buf_init(&req->body, max);
	if (cl && *cl) {
		if (tp_str_to_u64(cl, strlen(cl), UINT64_MAX / 2, &want) != TP_OK)
			return TP_S_BAD_REQUEST;
		if (want > max)
			return TP_S_PAYLOAD_TOO_LARGE;
	}
	while (req->body.len < want) {
		size_t n = want - req->body.len;
		long got = src->read(src->ctx, chunk, n < sizeof chunk ? n : sizeof chunk);
		if (got < 0)
			return TP_S_BAD_REQUEST;
		if (got == 0)
			break; /* short body: parse what came */
		if (tp_buf_add(&req->body, chunk, (size_t)got) != TP_OK)
			return TP_S_PAYLOAD_TOO_LARGE;
	}
	if (!req->body.ptr)
		tp_buf_add(&req->body, "", 0);
	return 0;
}

/* Reads and throws away what is left of the request body, at most
 * DRAIN_MAX bytes.  An answer given before the body was read (413, 405)
 * must not close the connection on a peer still writing that body: nginx
 * then fails its write and the client gets the status with an empty body,
 * or a 502 (found by tests/integration/test_security.sh).  nginx never
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

static void handle(const tp_handler *h, const tp_config *cfg, const req_source *src, tp_req_priv *p,
                   tp_resp *resp)
{
	tp_req *req = &p->pub;
	size_t max_body = h->max_body ? h->max_body : (size_t)cfg->max_body_bytes;
	int st;

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
	st = read_body(req, src, max_body);
	if (st == TP_S_PAYLOAD_TOO_LARGE) {
		drain_body(req, src);
		tp_reply_error(resp, st, "payload_too_large", "the body is larger than %zu bytes",
		               max_body);
		return;
	}
	if (st) {
		drain_body(req, src);
		tp_reply_error(resp, st, "bad_request", "the body could not be read");
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
	resp_init(&resp);
	handle(h, cfg, src, &p, &resp);
	serialise(&resp, tp_str_eq(p.pub.method, "HEAD"), out);
	log_request(&p.pub, &resp, now_ms() - t0);
	resp_free(&resp);
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

/* ------------------------------------------------------------ worker */

static volatile sig_atomic_t worker_stop;

static void worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
	FCGX_ShutdownPending(); /* makes a blocked accept() return */
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

/* Loads the configuration and reports every problem.  Returns 0, or
 * EX_CONFIG with cfg freed (nothing for the caller to free: the process
 * exits, or a reload keeps the configuration it had). */
static int load_config(const tp_handler *h, tp_config *cfg)
{
	tp_buf err;
	int status = 0;

	tp_buf_init(&err, 65536);
	if (tp_config_load(cfg, h->need, &err) != TP_OK) {
		const char *line = tp_buf_str(&err);
		while (*line) {
			size_t n = strcspn(line, "\n");
			fprintf(stderr, "%s: configuration error: %.*s\n", h->name, (int)n, line);
			line += n + (line[n] == '\n');
		}
		status = EX_CONFIG;
		tp_config_free(cfg);
	}
	tp_buf_free(&err);
	if (status == 0)
		tp_log_set_level(cfg->log_level);
	return status;
}

static int worker_main(const tp_handler *h, int listen_fd)
{
	bool unix_socket;
	FCGX_Request rq;
	tp_config cfg;
	tp_buf out;

	install(SIGTERM, worker_on_term, 0); /* no SA_RESTART: accept() returns */
	install(SIGINT, SIG_IGN, 0);         /* Ctrl-C goes to the supervisor */
	install(SIGHUP, SIG_IGN, 0);
	install(SIGPIPE, SIG_IGN, 0);
	install(SIGCHLD, SIG_DFL, 0);
	if (load_config(h, &cfg) != 0)
		return EX_CONFIG;
	if (h->init && !h->init(&cfg)) {
		tp_config_free(&cfg);
		return EX_CONFIG;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		unix_socket = getsockname(listen_fd, (struct sockaddr *)&ss, &sl) == 0 &&
		              ss.ss_family == AF_UNIX;
	}
	if (FCGX_Init() != 0)
		return 1;
	FCGX_InitRequest(&rq, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	tp_buf_init(&out, TP_RESP_BODY_MAX + 65536);
	while (!worker_stop && FCGX_Accept_r(&rq) >= 0) {
		req_source src = {fcgx_get, fcgx_read, &rq};
		tp_buf_reset(&out);
		process(h, &cfg, &src, &out);
		if (out.ptr)
			FCGX_PutStr(out.ptr, (int)out.len, rq.out);
		/* On a unix socket, close without libfcgi's lingering close
		 * (shutdown, then wait up to 2 s for nginx to close first):
		 * that wait keeps the worker from its next accept() for a whole
		 * nginx event-loop turn per request.  The lingering close exists
		 * to avoid a TCP reset losing the answer; a unix socket has no
		 * reset, and nginx has sent the whole request before we answer.
		 * (FCGX_Detach only marks the request so FCGX_Free closes
		 * plainly; the answer is still flushed by FCGX_Finish_r.) */
		if (unix_socket)
			FCGX_Detach(&rq);
		FCGX_Finish_r(&rq);
	}
	tp_buf_free(&out);
	FCGX_Free(&rq, 0);
	tp_config_free(&cfg);
	curl_global_cleanup();
	return 0;
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
	time_t started;
	int quick_deaths; /* consecutive deaths within 1 s of start */
	int gen;          /* configuration generation it was started with */
} worker_slot;

static pid_t spawn(const tp_handler *h, int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(worker_main(h, fd));
	}
	return pid;
}

static int supervise(const tp_handler *h, int fd, int nworkers)
{
	worker_slot w[MAX_WORKERS];
	int i, gen = 0;

	memset(w, 0, sizeof w);
	install(SIGTERM, sup_on_term, 0);
	install(SIGINT, sup_on_term, 0);
	install(SIGHUP, sup_on_hup, 0);
	install(SIGCHLD, sup_on_chld, 0);
	install(SIGPIPE, SIG_IGN, 0);

	tp_log(TP_LOG_INFO, "serving with %d workers", nworkers);
	for (;;) {
		pid_t pid;
		int status;

		/* Reap. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < nworkers; i++) {
				if (w[i].pid != pid)
					continue;
				w[i].pid = 0;
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
			if (load_config(h, &probe) == 0) {
				tp_config_free(&probe);
				gen++;
				tp_log(TP_LOG_INFO, "reloading: replacing workers (generation %d)",
				       gen);
				/* Start the new generation first, then retire the
				 * old one: the socket never lacks an acceptor. */
				for (i = 0; i < nworkers; i++) {
					pid_t old = w[i].pid;
					w[i].pid = spawn(h, fd);
					w[i].started = time(NULL);
					w[i].quick_deaths = 0;
					w[i].gen = gen;
					if (old > 0)
						kill(old, SIGTERM);
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
			w[i].pid = spawn(h, fd);
			w[i].started = time(NULL);
			w[i].gen = gen;
			if (w[i].pid < 0) {
				tp_log(TP_LOG_ERROR, "fork failed: %s", strerror(errno));
				w[i].pid = 0;
			}
		}
		sleep(1); /* SIGCHLD/SIGTERM/SIGHUP interrupt it */
	}

	/* Shutdown: every worker finishes its request in flight. */
	for (i = 0; i < nworkers; i++)
		if (w[i].pid > 0)
			kill(w[i].pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(-1, NULL, 0);
		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		break; /* ECHILD: all gone */
	}
	tp_log(TP_LOG_INFO, "stopped");
	return 0;
}

/* ------------------------------------------------------------ main */

static void usage(const char *name, FILE *f)
{
	fprintf(f,
	        "usage: %s [--listen PATH|HOST:PORT] [--socket-mode OCTAL] [--workers N]\n"
	        "       %s --cgi | --check-config\n"
	        "Serves FastCGI on the socket given by --listen, by systemd (LISTEN_FDS)\n"
	        "or on fd 0.  Configuration: $TWILIOPAY_ENV (default ./.env), then the\n"
	        "environment.\n",
	        name, name);
}

static int open_listen(const char *spec, unsigned mode)
{
	int fd;

	if (strchr(spec, '/')) {
		struct stat st;
		/* A stale socket from a crashed run would make bind() fail. */
		if (lstat(spec, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(spec);
		fd = FCGX_OpenSocket(spec, 128);
		if (fd >= 0)
			chmod(spec, mode);
	} else {
		fd = FCGX_OpenSocket(spec, 128);
	}
	return fd;
}

int tp_serve(int argc, char **argv, const tp_handler *h)
{
	const char *listen_spec = NULL;
	unsigned mode = 0660;
	long workers = 2;
	bool cgi = false, check = false;
	int i, fd, rc;
	tp_config cfg;

	tp_log_init(h->name);
	cJSON_InitHooks(&json_hooks);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--listen") == 0 && i + 1 < argc) {
			listen_spec = argv[++i];
		} else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
			uint64_t n;
			if (tp_str_to_u64(argv[i + 1], strlen(argv[i + 1]), MAX_WORKERS, &n) !=
			        TP_OK ||
			    n == 0) {
				fprintf(stderr, "%s: --workers takes 1 to %d\n", h->name,
				        MAX_WORKERS);
				return 64;
			}
			workers = (long)n;
			i++;
		} else if (strcmp(a, "--socket-mode") == 0 && i + 1 < argc) {
			char *end;
			unsigned long m = strtoul(argv[++i], &end, 8);
			if (*end || m > 0777) {
				fprintf(stderr, "%s: --socket-mode takes an octal mode\n", h->name);
				return 64;
			}
			mode = (unsigned)m;
		} else if (strcmp(a, "--cgi") == 0) {
			cgi = true;
		} else if (strcmp(a, "--check-config") == 0) {
			check = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(h->name, stdout);
			return 0;
		} else {
			usage(h->name, stderr);
			return 64;
		}
	}

	rc = load_config(h, &cfg);
	if (rc != 0)
		return rc;
	if (check) {
		/* The start-up hook is part of the check: it refuses what the
		 * variables alone cannot show (e.g. charge's gateway). */
		if (h->init && !h->init(&cfg)) {
			fprintf(stderr,
			        "%s: configuration error: refused at start-up (see the log line "
			        "above)\n",
			        h->name);
			rc = EX_CONFIG;
		} else {
			printf("%s: configuration OK (%s)\n", h->name,
			       *cfg.env_path ? cfg.env_path : "environment only");
		}
		tp_config_free(&cfg);
		return rc;
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
		return 0;
	}
	tp_config_free(&cfg); /* each worker loads its own copy */

	if (listen_spec) {
		fd = open_listen(listen_spec, mode);
		if (fd < 0) {
			fprintf(stderr, "%s: cannot listen on %s: %s\n", h->name, listen_spec,
			        strerror(errno));
			return 71;
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
			return 64;
		}
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
	}
	if (fd != 0) {
		/* libfcgi's FCGX_InitRequest wants the listening socket; keep
		 * stdin harmless for the workers. */
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0 && devnull != 0) {
			dup2(devnull, 0);
			close(devnull);
		}
	}
	return supervise(h, fd, (int)workers);
}
