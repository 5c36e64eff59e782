/*
 * http.c - outbound HTTP on libcurl.
 *
 * One easy handle per process, created lazily (so after fork, in the
 * worker) and reset between requests with curl_easy_reset(), which keeps
 * its connection cache: consecutive Twilio calls from one worker reuse the
 * TLS connection instead of paying a handshake each time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "twiliopay.h"

#define RESP_BODY_MAX (1u << 20)

static CURL *easy;
static long default_timeout_ms = 10000;

static CURL *handle(void)
{
	if (!easy) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		easy = curl_easy_init();
		if (!easy)
			abort(); /* only fails on OOM: policy in twiliopay.h */
		{
			const char *t = tp_config_raw("HTTP_TIMEOUT_MS");
			uint64_t v;
			if (t && tp_str_to_u64(t, strlen(t), 600000, &v) == TP_OK && v >= 100)
				default_timeout_ms = (long)v;
		}
	}
	return easy;
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

const char *tp_http_rc_str(tp_http_rc rc)
{
	switch (rc) {
	case TP_HTTP_OK:
		return "ok";
	case TP_HTTP_ECONNECT:
		return "could not connect";
	case TP_HTTP_ETIMEOUT:
		return "timed out";
	case TP_HTTP_ETOOBIG:
		return "response too large";
	case TP_HTTP_EOTHER:
		break;
	}
	return "transfer failed";
}

tp_http_rc tp_http_do(const tp_http_req *rq, tp_http_resp *out)
{
	CURL *c = handle();
	struct curl_slist *hdrs = NULL;
	char bearer[512];
	long timeout = rq->timeout_ms ? rq->timeout_ms : default_timeout_ms;
	CURLcode cc;
	size_t i;

	memset(out, 0, sizeof *out);
	tp_buf_init(&out->body, RESP_BODY_MAX);
	curl_easy_reset(c);
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

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	if (!out->body.ptr)
		tp_buf_add(&out->body, "", 0);

	switch (cc) {
	case CURLE_OK:
		return TP_HTTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return TP_HTTP_ECONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return TP_HTTP_ETIMEOUT;
	case CURLE_WRITE_ERROR:
		return TP_HTTP_ETOOBIG;
	default:
		return TP_HTTP_EOTHER;
	}
}

void tp_twilio_error_from(tp_twilio_error *err, tp_http_rc rc, const tp_http_resp *resp)
{
	cJSON *j = NULL;
	const cJSON *code, *msg, *more;

	memset(err, 0, sizeof *err);
	if (rc != TP_HTTP_OK) {
		snprintf(err->message, sizeof err->message, "%s%s%.200s", tp_http_rc_str(rc),
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
