/*
 * http.c - the emulator's HTTP server (libmicrohttpd, one thread per
 * connection) and its routing:
 *
 *   /2010-04-01/...   Calls and Payments (contract 1-3), Basic auth
 *   /v1/...           Sync v1 (contract 6), Basic auth, or an Access Token in
 *                     X-Twilio-Token (what the Sync SDKs authenticate with)
 *   /sim/...          the control API (DESIGN.md), no auth: 127.0.0.1 only
 *   / /phone.js ...   the customer phone page (/phone/events: its live stream)
 *
 * One thread per connection because a control call waits for the
 * webhooks it caused while the product's handlers call back into the REST
 * API on other connections, and because the latency model (latency.c)
 * holds a REST or Sync request back for 100-300 ms: on its own thread it
 * delays that request only.  (Suspending connections on a timer would save
 * the threads, but every handler would then have to be written as a state
 * machine; a blocked thread costs a stack's touched pages, not CPU.)  The
 * connection limit is raised from libmicrohttpd's FD_SETSIZE default so
 * that hundreds of handler connections and a load driver fit.
 *
 * The path is taken raw from the request line (libmicrohttpd would decode
 * %2F inside a Sync item key into a separator) and split into decoded
 * segments here.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "sim.h"

#define MAX_SEGMENTS        16
#define SIM_CONNECTIONS_MAX 8000

static struct MHD_Daemon *daemon_h;

typedef struct conn_ctx {
	sim_req rq;
	bool started;
	bool too_big;
	double t0;
} conn_ctx;

/* ---------------------------------------------------------------- responses */

void sim_resp_header(sim_resp *r, const char *name, const char *value)
{
	tp_params_set(&r->headers, name, value);
}

void sim_resp_text(sim_resp *r, int status, const char *ctype, const char *text)
{
	r->status = status;
	r->content_type = ctype;
	tp_buf_reset(&r->body);
	tp_buf_adds(&r->body, text);
}

/* Twilio's layout: one line, ", " between members and ": " after names
 * (what Python's json.dumps writes); stack.sh greps '"sid": "IS...'. */
static void print_json(tp_buf *b, const cJSON *j)
{
	const cJSON *c;
	bool first = true;

	if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
		tp_buf_addc(b, cJSON_IsObject(j) ? '{' : '[');
		cJSON_ArrayForEach (c, j) {
			if (!first)
				tp_buf_adds(b, ", ");
			first = false;
			if (cJSON_IsObject(j)) {
				cJSON *k = cJSON_CreateString(c->string);
				char *ks = cJSON_PrintUnformatted(k);
				tp_buf_adds(b, ks ? ks : "\"\"");
				tp_buf_adds(b, ": ");
				free(ks);
				cJSON_Delete(k);
			}
			print_json(b, c);
		}
		tp_buf_addc(b, cJSON_IsObject(j) ? '}' : ']');
		return;
	}
	{
		char *s = cJSON_PrintUnformatted(j);
		tp_buf_adds(b, s ? s : "null");
		free(s);
	}
}

void sim_resp_json(sim_resp *r, int status, cJSON *j)
{
	tp_buf b;

	tp_buf_init(&b, 8u << 20);
	print_json(&b, j);
	sim_resp_text(r, status, "application/json; charset=utf-8", b.ptr ? b.ptr : "{}");
	tp_buf_free(&b);
	cJSON_Delete(j);
}

void sim_resp_twilio_error(sim_resp *r, int status, long code, const char *fmt, ...)
{
	tp_buf msg, more;
	va_list ap;
	cJSON *j = cJSON_CreateObject();

	tp_buf_init(&msg, 4096);
	tp_buf_init(&more, 128);
	va_start(ap, fmt);
	tp_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	tp_buf_addf(&more, "https://www.twilio.com/docs/errors/%ld", code);
	/* Contract 1.2: code, message, more_info, status. */
	cJSON_AddNumberToObject(j, "code", (double)code);
	cJSON_AddStringToObject(j, "message", tp_buf_str(&msg));
	cJSON_AddStringToObject(j, "more_info", tp_buf_str(&more));
	cJSON_AddNumberToObject(j, "status", status);
	sim_resp_json(r, status, j);
	tp_buf_free(&msg);
	tp_buf_free(&more);
}

void sim_resp_ctl_error(sim_resp *r, int status, const char *fmt, ...)
{
	tp_buf msg;
	va_list ap;
	cJSON *j = cJSON_CreateObject();

	tp_buf_init(&msg, 4096);
	va_start(ap, fmt);
	tp_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(j, "error", tp_buf_str(&msg));
	sim_resp_json(r, status, j);
	tp_buf_free(&msg);
}

const char *sim_req_param(const sim_req *rq, const char *name)
{
	const char *v = tp_params_get(&rq->form, name);
	return v ? v : tp_params_get(&rq->query, name);
}

/* ---------------------------------------------------------------- parsing */

static void split_path(sim_req *rq)
{
	const char *p = rq->path;

	rq->seg = tp_xcalloc(MAX_SEGMENTS, sizeof *rq->seg);
	while (*p) {
		size_t n;
		char *dec = NULL;

		if (*p == '/') {
			p++;
			continue;
		}
		n = strcspn(p, "/");
		if (rq->nseg == MAX_SEGMENTS) {
			rq->bad_encoding = true;
			return;
		}
		if (tp_url_decode(p, n, false, &dec) != TP_OK) {
			rq->bad_encoding = true;
			return;
		}
		rq->seg[rq->nseg++] = dec;
		p += n;
	}
}

static void parse_request(struct MHD_Connection *c, sim_req *rq)
{
	const char *q = strchr(rq->uri, '?');
	const char *ct;

	rq->path = tp_xstrndup(rq->uri, q ? (size_t)(q - rq->uri) : strlen(rq->uri));
	split_path(rq);
	if (q && tp_form_parse(&rq->query, q + 1, strlen(q + 1)) != TP_OK)
		rq->bad_encoding = true;
	rq->content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	rq->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	rq->if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
	rq->twilio_token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Twilio-Token");
	ct = rq->content_type ? rq->content_type : "";
	if (rq->body.len && tp_str_prefix(ct, "application/x-www-form-urlencoded")) {
		if (tp_form_parse(&rq->form, rq->body.ptr, rq->body.len) != TP_OK)
			rq->bad_encoding = true;
	} else if (rq->body.len && (tp_str_prefix(ct, "application/json") || !*ct)) {
		rq->json = cJSON_ParseWithLength(rq->body.ptr, rq->body.len);
	}
}

static void req_free(sim_req *rq)
{
	size_t i;

	for (i = 0; i < rq->nseg; i++)
		free(rq->seg[i]);
	free(rq->seg);
	free(rq->uri);
	free(rq->path);
	tp_params_free(&rq->query);
	tp_params_free(&rq->form);
	cJSON_Delete(rq->json);
	free(rq->token_identity);
	free(rq->token_service);
	/* A control body may hold DTMF digits. */
	if (rq->body.ptr)
		explicit_bzero(rq->body.ptr, rq->body.len);
	tp_buf_free(&rq->body);
}

/* ---------------------------------------------------------------- routing */

static void not_found(const sim_req *rq, sim_resp *rs)
{
	sim_resp_twilio_error(rs, TP_S_NOT_FOUND, TP_TW_NOT_FOUND,
	                      "The requested resource %s was not found", rq->path);
}

/* The REST APIs: the network's latency, faults, then auth, then the
 * resource. */
static void rest(sim_req *rq, sim_resp *rs, sim_target t)
{
	sim_fault f;

	memset(&f, 0, sizeof f);
	rs->latency_ms = sim_latency_sample_ms(t);
	if (rs->latency_ms)
		sim_sleep_ms(rs->latency_ms);
	if (sim_fault_take(t, rq->method, rq->uri, &f)) {
		rs->fault = f.desc[0] ? tp_xstrdup(f.desc) : NULL;
		if (f.delay_ms)
			sim_sleep_ms(f.delay_ms);
		if (f.drop) {
			rs->drop = true;
			return;
		}
		if (f.status) {
			/* 20429 / 20500 / 20503: "the request was not
			 * processed" (20429 page), so retrying is safe. */
			sim_resp_twilio_error(rs, f.status, 20000L + f.status, "%s",
			                      f.status == TP_S_TOO_MANY_REQUESTS
			                          ? "Too Many Requests"
			                          : tp_status_str(f.status));
			return;
		}
	}
	if (!sim_auth_check(rq, rs, t == SIM_T_SYNC))
		return;
	if (rq->bad_encoding) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Malformed percent-encoding in the request");
		return;
	}
	if (t == SIM_T_API)
		sim_calls_api(rq, rs);
	else
		sim_sync_api(rq, rs);
	/* Done, and the answer never reaches the client. */
	if (f.lose_answer)
		rs->drop = true;
}

static const char *route(sim_req *rq, sim_resp *rs)
{
	if (rq->nseg >= 1 && strcmp(rq->seg[0], "2010-04-01") == 0) {
		rest(rq, rs, SIM_T_API);
		return "api";
	}
	if (rq->nseg >= 1 && strcmp(rq->seg[0], "v1") == 0) {
		rest(rq, rs, SIM_T_SYNC);
		return "sync";
	}
	if (rq->nseg >= 1 && strcmp(rq->seg[0], "sim") == 0) {
		if (rq->bad_encoding)
			sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "malformed percent-encoding");
		else
			sim_control(rq, rs);
		return "control";
	}
	if (sim_phone(rq, rs))
		return "phone";
	not_found(rq, rs);
	return "other";
}

/* Control polling and the page's assets would drown the record. */
static bool worth_recording(const sim_req *rq, const char *api)
{
	if (strcmp(api, "phone") == 0)
		return false;
	if (strcmp(api, "control") == 0 && strcmp(rq->method, "GET") == 0)
		return false;
	if (rq->nseg >= 2 && strcmp(rq->seg[0], "sim") == 0 &&
	    (strcmp(rq->seg[1], "requests") == 0 || strcmp(rq->seg[1], "health") == 0))
		return false;
	return true;
}

/* An event stream: blocks in phone.c until there is something to send
 * (this connection has its own thread). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	long n = sim_phone_stream_read(cls, buf, max);

	(void)pos;
	return n < 0 ? (ssize_t)MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_free(void *cls)
{
	sim_phone_stream_free(cls);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, sim_resp *rs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char rid[TP_SID_SIZE];
	size_t i;

	if (rs->stream) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read,
		                                      rs->stream, stream_free);
		if (r)
			rs->stream = NULL; /* libmicrohttpd frees it with the response */
	} else {
		r = MHD_create_response_from_buffer(
		    rs->body.len, rs->body.ptr ? rs->body.ptr : (void *)"", MHD_RESPMEM_MUST_COPY);
	}
	if (!r)
		return MHD_NO;
	if (rs->content_type)
		MHD_add_response_header(r, "Content-Type", rs->content_type);
	sim_new_sid(rid, "RQ");
	MHD_add_response_header(r, "Twilio-Request-Id", rid);
	for (i = 0; i < rs->headers.n; i++)
		MHD_add_response_header(r, rs->headers.v[i].name, rs->headers.v[i].value);
	ret = MHD_queue_response(c, (unsigned)rs->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
	conn_ctx *cx = *req_cls;
	sim_resp rs;
	const char *api;
	enum MHD_Result ret;
	char ms[32];

	(void)cls;
	(void)url;
	(void)version;
	if (!cx)
		return MHD_NO;
	if (!cx->started) {
		cx->started = true;
		cx->rq.method = method;
		cx->t0 = sim_mono_ms();
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cx->too_big && tp_buf_add(&cx->rq.body, upload_data, *upload_size) != TP_OK)
			cx->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}

	memset(&rs, 0, sizeof rs);
	rs.status = TP_S_OK;
	tp_buf_init(&rs.body, 8u << 20);
	tp_params_init(&rs.headers);
	if (cx->too_big) {
		sim_resp_twilio_error(&rs, TP_S_PAYLOAD_TOO_LARGE, 20413,
		                      "Request entity too large");
		api = "other";
	} else {
		parse_request(c, &cx->rq);
		api = route(&cx->rq, &rs);
	}
	if (worth_recording(&cx->rq, api))
		sim_reqlog_in(&cx->rq, &rs, api, sim_mono_ms() - cx->t0);
	snprintf(ms, sizeof ms, "%.1f", sim_mono_ms() - cx->t0);
	{
		char st[8];
		snprintf(st, sizeof st, "%d", rs.drop ? 0 : rs.status);
		tp_log_kv(TP_LOG_INFO, "request", "api", api, "method", method, "path",
		          cx->rq.path ? cx->rq.path : "", "status", st, "ms", ms, "fault",
		          rs.fault ? rs.fault : "");
	}
	ret = rs.drop ? MHD_NO : send_resp(c, &rs);
	/* What this request changed, the phone page shows now. */
	if (strcmp(api, "phone") != 0 && strcmp(method, "GET") != 0)
		sim_phone_changed();
	sim_phone_stream_free(rs.stream);
	tp_buf_free(&rs.body);
	tp_params_free(&rs.headers);
	free((char *)rs.fault);
	return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	conn_ctx *cx = tp_xcalloc(1, sizeof *cx);

	(void)cls;
	(void)c;
	cx->rq.uri = tp_xstrdup(uri ? uri : "/");
	tp_params_init(&cx->rq.query);
	tp_params_init(&cx->rq.form);
	tp_buf_init(&cx->rq.body, SIM_BODY_MAX);
	return cx;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	conn_ctx *cx = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!cx)
		return;
	req_free(&cx->rq);
	free(cx);
	*req_cls = NULL;
}

/* Leaves escapes alone: we decode per path segment and per query pair. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

tp_rc sim_http_start(void)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)sim_conf.port);
	if (inet_pton(AF_INET, sim_conf.listen_host, &sa.sin_addr) != 1) {
		tp_log_kv(TP_LOG_ERROR, "listen address must be an IPv4 address", "listen",
		          sim_conf.listen_host);
		return TP_ECONFIG;
	}
	daemon_h = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	        MHD_USE_ERROR_LOG,
	    (uint16_t)sim_conf.port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_UNESCAPE_CALLBACK,
	    no_unescape, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)SIM_CONNECTIONS_MAX,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20), MHD_OPTION_END);
	if (!daemon_h) {
		tp_log_kv(TP_LOG_ERROR, "cannot listen", "listen", sim_conf.listen_host);
		return TP_EIO;
	}
	return TP_OK;
}

void sim_http_stop(void)
{
	sim_phone_stop();
	if (daemon_h)
		MHD_stop_daemon(daemon_h);
	daemon_h = NULL;
}
