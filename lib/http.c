/*
 * http.c - outbound HTTP on libcurl, safe to call from many threads.
 *
 * Connections are reused through a per-process pool of easy handles,
 * each tagged with the origin (scheme://host:port, or the unix socket)
 * whose connection it keeps in its own connection cache.  A request takes
 * the most recently used idle handle of its origin (a warm connection: no
 * TCP or TLS handshake), runs on it with curl_easy_reset()'s fresh
 * options, and gives it back.  So the number of connections to Twilio
 * follows the number of requests in flight, not the number of threads,
 * and a thread started for a burst finds the connections its
 * predecessors opened.  Handles idle for POOL_IDLE_S are closed (when a
 * handle comes back, and every second by an idle worker thread:
 * tp_http_pool_trim), so the memory of a peak, and the connections it
 * held open at Twilio, do not stay.
 *
 * Rejected: one handle per thread (thread-local): every thread would keep
 * its own connections to api, sync and the nchan socket, three times the
 * connections of the pool, and a new thread would pay fresh TLS
 * handshakes.  A share object with CURL_LOCK_DATA_CONNECT: libcurl's
 * shared connection cache is not thread-safe (curl known bug "A shared
 * connection cache is not thread-safe", curl issue 4915; its example was
 * removed for that reason, curl PR 6795).  The share object below holds
 * only what libcurl does protect with our locks: the DNS cache and TLS
 * session IDs (curl_share_setopt(3)), so a new handle resumes a TLS
 * session instead of a full handshake.
 *
 * curl_global_init runs once (pthread_once), on the first request, on
 * whichever thread makes it: libcurl 7.84 and later say their global init
 * is thread-safe (CURL_VERSION_THREADSAFE); with an older one the worker
 * calls tp_http_init before it starts threads (fcgi.c).  CURLOPT_NOSIGNAL
 * is set on every transfer: signals and threads do not mix
 * (libcurl-thread(3)).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "internal.h"

#define RESP_BODY_MAX (1u << 20)
#define ORIGIN_MAX    300
#define POOL_IDLE_S   15   /* an idle handle (and its connections) lives this long */
#define POOL_MAX      1024 /* idle handles kept at most; the oldest go first */

typedef struct pooled {
	CURL *easy;
	char origin[ORIGIN_MAX];
	time_t idle_since; /* CLOCK_MONOTONIC seconds */
} pooled;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static long default_timeout_ms = 10000;
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pooled *pool; /* idle handles, oldest first */
static size_t npool, pool_cap;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	(void)h;
	(void)access;
	(void)ud;
	pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	(void)h;
	(void)ud;
	pthread_mutex_unlock(&share_locks[data]);
}

static void global_init(void)
{
	const char *t = tp_config_raw("HTTP_TIMEOUT_MS");
	uint64_t v;
	int i;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (t && tp_str_to_u64(t, strlen(t), 600000, &v) == TP_OK && v >= 100)
		default_timeout_ms = (long)v;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	share = curl_share_init();
	if (!share)
		abort(); /* only fails on OOM: policy in twiliopay.h */
	curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

void tp_http_init(void)
{
	pthread_once(&init_once, global_init);
}

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* "unix:PATH" or the URL's scheme://authority, lower-cased no further:
 * the key a connection is reused under. */
static void origin_of(const tp_http_req *rq, char out[ORIGIN_MAX])
{
	const char *u = rq->url ? rq->url : "";
	const char *host = strstr(u, "://");
	size_t n;

	if (rq->unix_socket) {
		snprintf(out, ORIGIN_MAX, "unix:%s", rq->unix_socket);
		return;
	}
	n = host ? (size_t)(host + 3 - u) + strcspn(host + 3, "/?#") : strlen(u);
	snprintf(out, ORIGIN_MAX, "%.*s", (int)(n < ORIGIN_MAX ? n : ORIGIN_MAX - 1), u);
}

/* The most recently used idle handle of this origin, or a new one. */
static CURL *checkout(const char *origin)
{
	CURL *c = NULL;
	size_t i;

	pthread_mutex_lock(&pool_lock);
	for (i = npool; i-- > 0;) {
		if (strcmp(pool[i].origin, origin) == 0) {
			c = pool[i].easy;
			memmove(&pool[i], &pool[i + 1], (npool - i - 1) * sizeof *pool);
			npool--;
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	if (!c) {
		c = curl_easy_init();
		if (!c)
			abort(); /* only fails on OOM: policy in twiliopay.h */
		curl_easy_setopt(c, CURLOPT_SHARE, share);
	}
	return c;
}

/* Back to the pool; closes what has been idle too long (outside the
 * lock: closing a TLS connection sends a close_notify). */
static void checkin(CURL *c, const char *origin)
{
	CURL *drop[8];
	size_t ndrop = 0, i;
	time_t now = mono_s();

	pthread_mutex_lock(&pool_lock);
	while (npool > 0 && ndrop < sizeof drop / sizeof drop[0] &&
	       (npool >= POOL_MAX || now - pool[0].idle_since > POOL_IDLE_S)) {
		drop[ndrop++] = pool[0].easy;
		memmove(&pool[0], &pool[1], (npool - 1) * sizeof *pool);
		npool--;
	}
	if (npool == pool_cap) {
		pool_cap = pool_cap ? 2 * pool_cap : 16;
		pool = tp_xrealloc(pool, pool_cap * sizeof *pool);
	}
	pool[npool].easy = c;
	snprintf(pool[npool].origin, ORIGIN_MAX, "%s", origin);
	pool[npool].idle_since = now;
	npool++;
	pthread_mutex_unlock(&pool_lock);
	for (i = 0; i < ndrop; i++)
		curl_easy_cleanup(drop[i]);
}

size_t tp_http_pool_trim(void)
{
	CURL *drop[16];
	size_t ndrop = 0, i;
	time_t now = mono_s();

	pthread_mutex_lock(&pool_lock);
	while (npool > 0 && ndrop < sizeof drop / sizeof drop[0] &&
	       now - pool[0].idle_since > POOL_IDLE_S) {
		drop[ndrop++] = pool[0].easy;
		memmove(&pool[0], &pool[1], (npool - 1) * sizeof *pool);
		npool--;
	}
	pthread_mutex_unlock(&pool_lock);
	for (i = 0; i < ndrop; i++)
		curl_easy_cleanup(drop[i]);
	return ndrop;
}

size_t tp_http_pool_idle(void)
{
	size_t n;

	pthread_mutex_lock(&pool_lock);
	n = npool;
	pthread_mutex_unlock(&pool_lock);
	return n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	tp_http_resp *r = ud;
	if (tp_buf_add(&r->body, p, size * n) != TP_OK)
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	return size * n;
}

static void copy_header_value(char *dst, size_t cap, const char *v, size_t len)
{
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	while (len && *v == ' ') {
		v++;
		len--;
	}
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	tp_http_resp *r = ud;
	size_t len = size * n;

	if (len > 5 && strncasecmp(p, "ETag:", 5) == 0)
		copy_header_value(r->etag, sizeof r->etag, p + 5, len - 5);
	else if (len > 18 && strncasecmp(p, "Twilio-Request-Id:", 18) == 0)
		copy_header_value(r->request_id, sizeof r->request_id, p + 18, len - 18);
	return len;
}

void tp_http_resp_free(tp_http_resp *r)
{
	tp_buf_free(&r->body);
}

const char *tp_http_error_str(tp_rc rc)
{
	switch (rc) {
	case TP_OK:
		return "ok";
	case TP_EUNAVAIL:
		return "could not connect";
	case TP_ETIMEOUT:
		return "timed out";
	case TP_ETOOBIG:
		return "response too large";
	default:
		return "transfer failed";
	}
}

tp_rc tp_http_do(const tp_http_req *rq, tp_http_resp *out)
{
	char origin[ORIGIN_MAX];
	CURL *c;
	struct curl_slist *hdrs = NULL;
	char bearer[512];
	long timeout;
	CURLcode cc;
	size_t i;

	tp_http_init();
	timeout = rq->timeout_ms ? rq->timeout_ms : default_timeout_ms;
	origin_of(rq, origin);
	c = checkout(origin);
	memset(out, 0, sizeof *out);
	tp_buf_init(&out->body, RESP_BODY_MAX);
	curl_easy_reset(c); /* keeps connections and the share */
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 5000 ? timeout : 5000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "twiliopay/1.0 libcurl");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, out->error);
	if (rq->unix_socket)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, rq->unix_socket);
	if (rq->userpwd) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, rq->userpwd);
	}
	if (rq->bearer) {
		snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", rq->bearer);
		hdrs = curl_slist_append(hdrs, bearer);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	/* No "Expect: 100-continue" round trip for our small bodies. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (i = 0; rq->headers && rq->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, rq->headers[i]);
	if (rq->body) {
		char ct[128];
		snprintf(ct, sizeof ct, "Content-Type: %s",
		         rq->content_type ? rq->content_type : "application/x-www-form-urlencoded");
		hdrs = curl_slist_append(hdrs, ct);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	if (rq->method && strcmp(rq->method, "GET") == 0 && !rq->body)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else if (rq->method && strcmp(rq->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	else if (!rq->body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L),
		    curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	tp_pool_blocking(); /* 150-300 ms against Twilio: leave a thread idle */
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	checkin(c, origin);
	curl_slist_free_all(hdrs);
	if (!out->body.ptr)
		tp_buf_add(&out->body, "", 0);

	switch (cc) {
	case CURLE_OK:
		return TP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return TP_EUNAVAIL;
	case CURLE_OPERATION_TIMEDOUT:
		return TP_ETIMEOUT;
	case CURLE_WRITE_ERROR:
		return TP_ETOOBIG;
	default:
		return TP_EIO;
	}
}

void tp_twilio_error_from(tp_twilio_error *err, tp_rc rc, const tp_http_resp *resp)
{
	cJSON *j = NULL;
	const cJSON *code, *msg, *more;

	memset(err, 0, sizeof *err);
	if (rc != TP_OK) {
		snprintf(err->message, sizeof err->message, "%s%s%.200s", tp_http_error_str(rc),
		         resp && resp->error[0] ? ": " : "", resp ? resp->error : "");
		return;
	}
	err->status = resp->status;
	if (resp->body.len)
		j = cJSON_ParseWithLength(resp->body.ptr, resp->body.len);
	code = cJSON_GetObjectItemCaseSensitive(j, "code");
	msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	more = cJSON_GetObjectItemCaseSensitive(j, "more_info");
	/* Twilio's codes are five digits; anything far outside a long
	 * (1e300) would make the conversion undefined (C11 6.3.1.4; found by
	 * tests/fuzz/fuzz_twilio.c), so only plausible codes are kept. */
	if (cJSON_IsNumber(code) && code->valuedouble >= 0 && code->valuedouble < 1e9)
		err->code = (long)code->valuedouble;
	if (cJSON_IsString(msg))
		snprintf(err->message, sizeof err->message, "%s", msg->valuestring);
	else
		snprintf(err->message, sizeof err->message, "HTTP %ld", resp->status);
	if (cJSON_IsString(more))
		snprintf(err->more_info, sizeof err->more_info, "%s", more->valuestring);
	cJSON_Delete(j);
}
