/*
 * req.c - what handlers read from a request and write into a response.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

const char *tp_req_param(const tp_req *req, const char *name)
{
	const char *v = tp_params_get(&req->body_params, name);
	return v ? v : tp_params_get(&req->query_params, name);
}

const char *tp_req_param_any(const tp_req *req, const char *a, const char *b)
{
	const char *v = tp_req_param(req, a);
	if ((!v || !*v) && b)
		v = tp_req_param(req, b);
	return v && *v ? v : NULL;
}

const char *tp_req_public_url(const tp_req *req)
{
	const tp_req_priv *p = (const tp_req_priv *)req;
	return p->public_url ? p->public_url : "";
}

bool tp_req_wants_json(const tp_req *req)
{
	const char *a = req->h_accept;
	const char *j, *h;

	if (!a || !*a)
		return true; /* curl and scripts */
	j = strstr(a, "application/json");
	h = strstr(a, "text/html");
	if (j && (!h || j < h))
		return true;
	return !h;
}

void tp_resp_header(tp_resp *resp, const char *name, const char *value)
{
	tp_buf h;

	if (resp->nheaders >= TP_RESP_MAX_HEADERS)
		abort(); /* a programming error: raise the constant */
	/* Header injection guard: values never carry CR/LF. */
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		abort();
	tp_buf_init(&h, 8192);
	tp_buf_addf(&h, "%s: %s", name, value);
	resp->headers[resp->nheaders++] = tp_buf_take(&h);
}

void tp_resp_log(tp_resp *resp, const char *name, const char *value)
{
	tp_params_add(&resp->log, name, value ? value : "");
}

static void set_body(tp_resp *resp, int status, const char *ctype, const char *body)
{
	resp->status = status;
	resp->content_type = ctype;
	tp_buf_reset(&resp->body);
	if (tp_buf_adds(&resp->body, body) != TP_OK) {
		/* Larger than the response cap: never send half of it. */
		tp_buf_init(&resp->body, resp->body.max ? resp->body.max : TP_RESP_BODY_MAX);
		resp->status = TP_S_INTERNAL_SERVER_ERROR;
		resp->content_type = "application/json";
		tp_buf_adds(&resp->body,
		            "{\"error\":\"response too large\",\"code\":\"internal\"}");
	}
}

void tp_reply_text(tp_resp *resp, int status, const char *text)
{
	set_body(resp, status, "text/plain; charset=utf-8", text);
}

void tp_reply_html(tp_resp *resp, int status, const char *html)
{
	set_body(resp, status, "text/html; charset=utf-8", html);
}

void tp_reply_xml(tp_resp *resp, int status, const char *xml)
{
	set_body(resp, status, "text/xml; charset=utf-8", xml);
}

void tp_reply_json(tp_resp *resp, int status, const cJSON *json)
{
	char *s = cJSON_PrintUnformatted(json);
	set_body(resp, status, "application/json", s ? s : "null");
	free(s);
}

void tp_reply_json_take(tp_resp *resp, int status, cJSON *json)
{
	tp_reply_json(resp, status, json);
	cJSON_Delete(json);
}

void tp_reply_error(tp_resp *resp, int status, const char *code, const char *fmt, ...)
{
	tp_buf msg, red;
	va_list ap;
	cJSON *o = cJSON_CreateObject();

	tp_buf_init(&msg, 4096);
	tp_buf_init(&red, 4096);
	va_start(ap, fmt);
	tp_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	tp_redact_text(&red, tp_buf_str(&msg));
	cJSON_AddStringToObject(o, "error", tp_buf_str(&red));
	cJSON_AddStringToObject(o, "code", code);
	tp_reply_json_take(resp, status, o);
	tp_resp_log(resp, "error", tp_buf_str(&red));
	tp_buf_free(&msg);
	tp_buf_free(&red);
}

const char *tp_req_require_or_reply(const tp_req *req, tp_resp *resp, const char *name)
{
	const char *v = tp_req_param(req, name);

	if (!v || !*v) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "missing_parameter", "%s is required", name);
		return NULL;
	}
	return v;
}

const char *tp_req_require_sid_or_reply(const tp_req *req, tp_resp *resp, const char *name,
                                        const char *prefix)
{
	const char *v = tp_req_require_or_reply(req, resp, name);

	if (v && !tp_sid_valid(v, prefix)) {
		tp_reply_error(resp, TP_S_BAD_REQUEST, "invalid_parameter",
		               "%s must be a %s SID: %s followed by 32 hex digits", name,
		               prefix ? prefix : "Twilio", prefix ? prefix : "two letters");
		return NULL;
	}
	return v;
}
