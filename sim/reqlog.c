/*
 * reqlog.c - the recent traffic, both ways (GET /sim/requests).
 *
 * Two rings, one per direction, of the last --requests-kept entries each
 * (SIM_REQUESTS_KEPT, default 1000; "IN,OUT" sizes them apart, 0 records
 * nothing that way): the REST and Sync requests a busy stack makes would
 * otherwise push the webhooks out of the record before anyone read them,
 * and a benchmark that reads only the webhooks need not pay for redacting
 * every Sync request.  Entries carry one sequence number across both.  Each
 * entry is stored already redacted (PCI: the record is storage):
 * Authorization headers are never copied, secret-named fields lose their
 * values unless already masked, DTMF digits are reduced to a count, and
 * every string goes through tp_redact_text.
 *
 *   GET /sim/requests[?since=SEQ][&limit=N][&dir=in|out]
 *       {"requests": [...], "next": SEQ, "truncated": bool} oldest first;
 *       truncated: entries after `since` were already dropped
 *   DELETE /sim/requests                       forget everything
 *
 * An outbound entry says what became of the request: "outcome"
 * (delivered, http-error, timeout - no answer within 15 s -, failed,
 * dropped, not-sent), "sent_at" (wall clock, ms), "wait_ms" (queued until
 * sent: latency and the call's earlier requests) and "ms" (sent until
 * answered or given up).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define TEXT_KEEP 4000 /* bytes of a body kept */

typedef struct ring {
	cJSON **e; /* e[(first + i) % cap], i < n: oldest first */
	size_t cap, first, n;
	long evicted_seq; /* the newest seq dropped for room, 0 for none */
} ring;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static ring rings[2]; /* 0: in, 1: out */
static long next_seq = 1;

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

static long entry_seq(const cJSON *e)
{
	return (long)cJSON_GetObjectItemCaseSensitive(e, "seq")->valuedouble;
}

static void push(int dir, cJSON *e)
{
	char ts[40];
	struct timespec now;
	ring *r = &rings[dir];

	clock_gettime(CLOCK_REALTIME, &now);
	sim_time_iso_ms(&now, ts);
	cJSON_AddStringToObject(e, "ts", ts);
	pthread_mutex_lock(&log_lock);
	if (!r->e) {
		r->cap = (size_t)sim_conf.requests_kept[dir];
		r->e = tp_xcalloc(r->cap + 1, sizeof *r->e);
	}
	cJSON_AddNumberToObject(e, "seq", (double)next_seq++);
	if (r->n == r->cap) {
		r->evicted_seq = entry_seq(r->e[r->first]);
		cJSON_Delete(r->e[r->first]);
		r->first = (r->first + 1) % r->cap;
		r->n--;
	}
	r->e[(r->first + r->n) % r->cap] = e;
	r->n++;
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
	cJSON *e, *b;

	if (sim_conf.requests_kept[0] == 0)
		return;
	e = cJSON_CreateObject();

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
	if (rs->latency_ms)
		cJSON_AddNumberToObject(e, "latency_ms", (double)rs->latency_ms);
	cJSON_AddNumberToObject(e, "ms", (double)(long)ms);
	push(0, e);
}

void sim_reqlog_out(const sim_out_record *r)
{
	cJSON *e, *b;
	char sent[40];

	if (sim_conf.requests_kept[1] == 0)
		return;
	e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "dir", "out");
	cJSON_AddStringToObject(e, "kind", r->kind);
	cJSON_AddStringToObject(e, "method", r->method);
	add_text(e, "url", r->url);
	if (r->call_sid && *r->call_sid)
		cJSON_AddStringToObject(e, "call_sid", r->call_sid);
	b = redact_body_text(r->ctype, r->body, r->body ? strlen(r->body) : 0);
	if (b)
		cJSON_AddItemToObject(e, "request", b);
	if (r->status)
		cJSON_AddNumberToObject(e, "status", (double)r->status);
	else
		cJSON_AddNullToObject(e, "status");
	if (r->resp_body && *r->resp_body) {
		b = redact_body_text(NULL, r->resp_body, strlen(r->resp_body));
		if (b)
			cJSON_AddItemToObject(e, "response", b);
	}
	if (r->error && *r->error)
		add_text(e, "error", r->error);
	if (r->fault && *r->fault)
		cJSON_AddStringToObject(e, "fault", r->fault);
	cJSON_AddStringToObject(e, "outcome", r->outcome);
	sim_time_iso_ms(&r->sent_at, sent);
	cJSON_AddStringToObject(e, "sent_at", sent);
	cJSON_AddNumberToObject(e, "wait_ms", (double)(long)r->wait_ms);
	cJSON_AddNumberToObject(e, "ms", (double)(long)r->ms);
	push(1, e);
}

/* Appends to out the entries of r with seq > since, oldest first. */
static void collect(const ring *r, long since, cJSON **out, size_t *n)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		cJSON *e = r->e[(r->first + i) % r->cap];
		if (entry_seq(e) > since)
			out[(*n)++] = e;
	}
}

void sim_reqlog_control(const sim_req *rq, sim_resp *rs)
{
	cJSON *j, *a, **sel;
	long since = 0, limit = 0;
	const char *dir = tp_params_get(&rq->query, "dir");
	bool want[2] = {true, true}, truncated = false;
	size_t n = 0, i, start;
	int d;

	if (strcmp(rq->method, "DELETE") == 0) {
		pthread_mutex_lock(&log_lock);
		for (d = 0; d < 2; d++) {
			for (i = 0; i < rings[d].n; i++)
				cJSON_Delete(rings[d].e[(rings[d].first + i) % rings[d].cap]);
			rings[d].first = rings[d].n = 0;
			rings[d].evicted_seq = 0;
		}
		pthread_mutex_unlock(&log_lock);
		sim_resp_text(rs, TP_S_NO_CONTENT, NULL, "");
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		sim_resp_ctl_error(rs, TP_S_METHOD_NOT_ALLOWED, "GET or DELETE");
		return;
	}
	if ((tp_params_get(&rq->query, "since") &&
	     !sim_parse_long(tp_params_get(&rq->query, "since"), 1L << 40, &since)) ||
	    (tp_params_get(&rq->query, "limit") &&
	     !sim_parse_long(tp_params_get(&rq->query, "limit"), 1000000, &limit))) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "since and limit must be non-negative integers");
		return;
	}
	if (dir && strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "dir must be in or out");
		return;
	}
	if (dir) {
		want[0] = strcmp(dir, "in") == 0;
		want[1] = !want[0];
	}
	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "requests");
	pthread_mutex_lock(&log_lock);
	{
		cJSON **run[2];
		size_t len[2] = {0, 0}, x = 0, y = 0;
		for (d = 0; d < 2; d++) {
			run[d] = tp_xcalloc(rings[d].n + 1, sizeof *run[d]);
			if (want[d]) {
				collect(&rings[d], since, run[d], &len[d]);
				truncated = truncated || rings[d].evicted_seq > since;
			}
		}
		/* Both runs are sorted by seq: merge them. */
		sel = tp_xcalloc(len[0] + len[1] + 1, sizeof *sel);
		while (x < len[0] || y < len[1])
			sel[n++] = y == len[1] || (x < len[0] &&
			                           entry_seq(run[0][x]) < entry_seq(run[1][y]))
			               ? run[0][x++]
			               : run[1][y++];
		free(run[0]);
		free(run[1]);
	}
	/* limit: the newest `limit` of them (the old ring's meaning). */
	start = limit > 0 && n > (size_t)limit ? n - (size_t)limit : 0;
	for (i = start; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_Duplicate(sel[i], true));
	cJSON_AddNumberToObject(j, "next", (double)next_seq);
	pthread_mutex_unlock(&log_lock);
	cJSON_AddBoolToObject(j, "truncated", truncated);
	free(sel);
	sim_resp_json(rs, TP_S_OK, j);
}
