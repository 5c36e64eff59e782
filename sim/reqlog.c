/*
 * reqlog.c - the recent traffic, both ways (GET /sim/requests).
 *
 * A ring of the last RING entries.  Each entry is stored already redacted
 * (PCI: the record is storage): Authorization headers are never copied,
 * secret-named fields lose their values unless already masked, DTMF digits
 * are reduced to a count, and every string goes through tp_redact_text.
 *
 *   GET /sim/requests[?since=SEQ][&limit=N]   {"requests": [...]} oldest first
 *   DELETE /sim/requests                       forget everything
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define RING      1000
#define TEXT_KEEP 4000 /* bytes of a body kept */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static cJSON *ring[RING];
static long next_seq = 1; /* ring[(seq - 1) % RING] */

/* Masked already: only mask characters and separators, and at most four
 * clear digits (Twilio shows the last four of a card, two of an
 * account; contract 4.1). */
static bool looks_masked(const char *v)
{
	size_t digits = 0, masks = 0;

	for (; *v; v++) {
		if (*v >= '0' && *v <= '9')
			digits++;
		else if (*v == 'x' || *v == 'X' || *v == '*')
			masks++;
		else if (*v != '-' && *v != ' ')
			return false;
	}
	return digits <= 4 && (masks > 0 || digits == 0);
}

/* Our own secrets, wherever they turn up (a URL, a body a client
 * echoed), become "[redacted]". */
static void scrub_secrets(tp_buf *b)
{
	const char *const secrets[] = {sim_conf.auth_token, sim_conf.api_secret,
	                               sim_conf.connector_pass};
	size_t i;

	for (i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		const char *sec = secrets[i];
		char *hit;
		size_t n = sec ? strlen(sec) : 0;

		if (n < 8 || !b->ptr)
			continue; /* short values would hit ordinary text */
		while ((hit = strstr(b->ptr, sec)) != NULL) {
			tp_buf t;
			tp_buf_init(&t, b->max);
			tp_buf_add(&t, b->ptr, (size_t)(hit - b->ptr));
			tp_buf_adds(&t, "[redacted]");
			tp_buf_adds(&t, hit + n);
			tp_buf_reset(b);
			tp_buf_adds(b, tp_buf_str(&t));
			tp_buf_free(&t);
		}
	}
}

static char *redact_text(const char *s, size_t keep)
{
	tp_buf in, out;
	char *r;

	tp_buf_init(&in, keep + 16);
	tp_buf_add(&in, s, strnlen(s, keep));
	tp_buf_init(&out, 4 * keep + 64);
	if (tp_redact_text(&out, tp_buf_str(&in)) != TP_OK)
		tp_buf_adds(&out, "[too long]");
	scrub_secrets(&out);
	if (strlen(s) > keep)
		tp_buf_adds(&out, "...");
	r = tp_buf_take(&out);
	tp_buf_free(&in);
	tp_buf_free(&out);
	return r;
}

static void add_redacted_string(cJSON *o, const char *name, const char *v)
{
	if (strcmp(name, "digits") == 0) {
		tp_buf b;
		tp_buf_init(&b, 64);
		tp_buf_addf(&b, "[%zu keys]", strlen(v));
		cJSON_AddStringToObject(o, name, tp_buf_str(&b));
		tp_buf_free(&b);
	} else if (tp_redact_is_secret_name(name) && !looks_masked(v)) {
		cJSON_AddStringToObject(o, name, "[redacted]");
	} else {
		char *r = redact_text(v, TEXT_KEEP);
		cJSON_AddStringToObject(o, name, r);
		free(r);
	}
}

cJSON *sim_redact_form(const tp_params *form)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; form && i < form->n; i++) {
		cJSON *prev = cJSON_GetObjectItemCaseSensitive(o, form->v[i].name);
		if (prev) {
			/* A repeated name (lists): keep every value. */
			cJSON *tmp = cJSON_CreateObject();
			add_redacted_string(tmp, form->v[i].name, form->v[i].value);
			if (!cJSON_IsArray(prev)) {
				cJSON *arr = cJSON_CreateArray();
				cJSON_AddItemToArray(arr, cJSON_Duplicate(prev, true));
				cJSON_ReplaceItemInObjectCaseSensitive(o, form->v[i].name, arr);
				prev = arr;
			}
			cJSON_AddItemToArray(prev,
			                     cJSON_DetachItemFromObject(tmp, form->v[i].name));
			cJSON_Delete(tmp);
			continue;
		}
		add_redacted_string(o, form->v[i].name, form->v[i].value);
	}
	return o;
}

static cJSON *redact_value(const char *name, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		cJSON *tmp = cJSON_CreateObject(), *r;
		add_redacted_string(tmp, name ? name : "", v->valuestring);
		r = cJSON_DetachItemFromObject(tmp, name ? name : "");
		cJSON_Delete(tmp);
		return r;
	}
	if (cJSON_IsNumber(v) && name && tp_redact_is_secret_name(name))
		return cJSON_CreateString("[redacted]");
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		cJSON *o = cJSON_IsObject(v) ? cJSON_CreateObject() : cJSON_CreateArray();
		const cJSON *c;
		cJSON_ArrayForEach (c, v) {
			cJSON *r = redact_value(cJSON_IsObject(v) ? c->string : name, c);
			if (cJSON_IsObject(v))
				cJSON_AddItemToObject(o, c->string, r);
			else
				cJSON_AddItemToArray(o, r);
		}
		return o;
	}
	if (cJSON_IsNumber(v)) {
		/* A long number could be a PAN sent as a JSON number. */
		char *s = cJSON_PrintUnformatted(v), *r = redact_text(s ? s : "", 64);
		cJSON *out =
		    strcmp(r, s ? s : "") == 0 ? cJSON_Duplicate(v, true) : cJSON_CreateString(r);
		free(s);
		free(r);
		return out;
	}
	return cJSON_Duplicate(v, true);
}

cJSON *sim_redact_json(const cJSON *j)
{
	return redact_value(NULL, j);
}

static cJSON *redact_body_text(const char *ctype, const char *body, size_t len)
{
	char *r;
	cJSON *out;

	if (!body || !len)
		return NULL;
	if (ctype && tp_str_prefix(ctype, "application/x-www-form-urlencoded")) {
		tp_params p;
		tp_params_init(&p);
		if (tp_form_parse(&p, body, len) == TP_OK) {
			out = sim_redact_form(&p);
			tp_params_free(&p);
			return out;
		}
		tp_params_free(&p);
	} else if (!ctype || !*ctype || strstr(ctype, "json")) {
		cJSON *j = cJSON_ParseWithLength(body, len);
		if (j) {
			out = sim_redact_json(j);
			cJSON_Delete(j);
			return out;
		}
	}
	{
		tp_buf t;
		tp_buf_init(&t, TEXT_KEEP + 1);
		tp_buf_add(&t, body, len < TEXT_KEEP ? len : TEXT_KEEP);
		r = redact_text(tp_buf_str(&t), TEXT_KEEP);
		tp_buf_free(&t);
	}
	out = cJSON_CreateString(r);
	free(r);
	return out;
}

static void push(cJSON *e)
{
	char ts[40];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	sim_time_iso_ms(&now, ts);
	cJSON_AddStringToObject(e, "ts", ts);
	pthread_mutex_lock(&log_lock);
	cJSON_AddNumberToObject(e, "seq", (double)next_seq);
	cJSON_Delete(ring[(next_seq - 1) % RING]);
	ring[(next_seq - 1) % RING] = e;
	next_seq++;
	pthread_mutex_unlock(&log_lock);
}

static void add_text(cJSON *e, const char *name, const char *v)
{
	char *r;

	if (!v)
		return;
	r = redact_text(v, TEXT_KEEP);
	cJSON_AddStringToObject(e, name, r);
	free(r);
}

void sim_reqlog_in(const sim_req *rq, const sim_resp *rs, const char *api, double ms)
{
	cJSON *e = cJSON_CreateObject(), *b;

	cJSON_AddStringToObject(e, "dir", "in");
	cJSON_AddStringToObject(e, "kind", api);
	cJSON_AddStringToObject(e, "method", rq->method ? rq->method : "");
	add_text(e, "url", rq->uri);
	if (rq->auth_user)
		cJSON_AddStringToObject(e, "auth", rq->auth_user);
	if (rq->if_match)
		add_text(e, "if_match", rq->if_match);
	if (rq->form.n)
		b = sim_redact_form(&rq->form);
	else if (rq->json)
		b = sim_redact_json(rq->json);
	else
		b = redact_body_text(rq->content_type, rq->body.ptr, rq->body.len);
	if (b)
		cJSON_AddItemToObject(e, "request", b);
	if (rs->drop) {
		cJSON_AddNullToObject(e, "status");
	} else {
		cJSON_AddNumberToObject(e, "status", rs->status);
		b = redact_body_text(rs->content_type, rs->body.ptr, rs->body.len);
		if (b)
			cJSON_AddItemToObject(e, "response", b);
	}
	if (rs->fault)
		cJSON_AddStringToObject(e, "fault", rs->fault);
	cJSON_AddNumberToObject(e, "ms", (double)(long)ms);
	push(e);
}

void sim_reqlog_out(const char *kind, const char *method, const char *url, const char *ctype,
                    const char *body, long status, const char *resp_body, const char *error,
                    const char *call_sid, const char *fault)
{
	cJSON *e = cJSON_CreateObject(), *b;

	cJSON_AddStringToObject(e, "dir", "out");
	cJSON_AddStringToObject(e, "kind", kind);
	cJSON_AddStringToObject(e, "method", method);
	add_text(e, "url", url);
	if (call_sid && *call_sid)
		cJSON_AddStringToObject(e, "call_sid", call_sid);
	b = redact_body_text(ctype, body, body ? strlen(body) : 0);
	if (b)
		cJSON_AddItemToObject(e, "request", b);
	if (status)
		cJSON_AddNumberToObject(e, "status", (double)status);
	else
		cJSON_AddNullToObject(e, "status");
	if (resp_body && *resp_body) {
		b = redact_body_text(NULL, resp_body, strlen(resp_body));
		if (b)
			cJSON_AddItemToObject(e, "response", b);
	}
	if (error && *error)
		add_text(e, "error", error);
	if (fault && *fault)
		cJSON_AddStringToObject(e, "fault", fault);
	push(e);
}

void sim_reqlog_control(const sim_req *rq, sim_resp *rs)
{
	cJSON *j, *a;
	long since = 0, limit = RING, seq;

	if (strcmp(rq->method, "DELETE") == 0) {
		pthread_mutex_lock(&log_lock);
		for (seq = 0; seq < RING; seq++) {
			cJSON_Delete(ring[seq]);
			ring[seq] = NULL;
		}
		pthread_mutex_unlock(&log_lock);
		sim_resp_text(rs, 204, NULL, "");
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		sim_resp_ctl_error(rs, 405, "GET or DELETE");
		return;
	}
	if ((tp_params_get(&rq->query, "since") &&
	     !sim_parse_long(tp_params_get(&rq->query, "since"), 1L << 40, &since)) ||
	    (tp_params_get(&rq->query, "limit") &&
	     !sim_parse_long(tp_params_get(&rq->query, "limit"), RING, &limit))) {
		sim_resp_ctl_error(rs, 400, "since and limit must be non-negative integers");
		return;
	}
	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "requests");
	pthread_mutex_lock(&log_lock);
	seq = next_seq - limit;
	if (seq < 1)
		seq = 1;
	if (seq <= since)
		seq = since + 1;
	if (seq < next_seq - RING)
		seq = next_seq - RING;
	for (; seq < next_seq; seq++) {
		cJSON *e = ring[(seq - 1) % RING];
		if (e)
			cJSON_AddItemToArray(a, cJSON_Duplicate(e, true));
	}
	cJSON_AddNumberToObject(j, "next", (double)next_seq);
	pthread_mutex_unlock(&log_lock);
	sim_resp_json(rs, 200, j);
}
