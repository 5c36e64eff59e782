/*
 * faults.c - injected faults (DESIGN.md: POST/DELETE /sim/faults).
 *
 *   POST /sim/faults {"target": "api"|"sync"|"connector"|"webhooks",
 *                     "count": 1, "status": 429|500|502|503|504,
 *                     "delay_ms": 0, "drop": false, "duplicate": false,
 *                     "lose_answer": false,
 *                     "match": "substring of the URL", "method": "POST"}
 *   GET /sim/faults           the armed faults
 *   DELETE /sim/faults        disarm all
 *
 * Inbound targets (api, sync): the next `count` matching requests wait
 * `delay_ms`, then are dropped (connection closed, request not processed)
 * or answered with `status` and Twilio's error JSON (not processed: the
 * 20429 page says such requests are safe to retry); a delay alone only
 * slows the request down.  `lose_answer` (api, sync) is the other kind of
 * timeout: the request is processed (after `delay_ms`), then the
 * connection is closed without an answer - the write happened, the client
 * never heard, and its retry meets its own write.  `method` limits a
 * fault to requests of that method (e.g. only the writes to a map).
 * Outbound targets (webhooks, connector): the request waits `delay_ms`,
 * then is lost (`drop`: never delivered; a connector call fails as if the
 * connection broke), or is not sent and treated as if the peer answered
 * `status`, or (webhooks, `duplicate`) is delivered twice.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_FAULTS 64

typedef struct fault_slot {
	long id;
	sim_target target;
	long count; /* uses left */
	char *match;
	char *method; /* NULL: any */
	sim_fault f;
} fault_slot;

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
static fault_slot slots[MAX_FAULTS];
static size_t nslots;
static long next_id = 1;

static const char *const target_names[SIM_T_COUNT] = {
    [SIM_T_API] = "api",
    [SIM_T_SYNC] = "sync",
    [SIM_T_CONNECTOR] = "connector",
    [SIM_T_WEBHOOKS] = "webhooks",
};

static void remove_slot(size_t i)
{
	free(slots[i].match);
	free(slots[i].method);
	memmove(&slots[i], &slots[i + 1], (nslots - i - 1) * sizeof slots[0]);
	nslots--;
}

bool sim_fault_take(sim_target t, const char *method, const char *url, sim_fault *out)
{
	size_t i;
	bool hit = false;

	pthread_mutex_lock(&faults_lock);
	for (i = 0; i < nslots; i++) {
		fault_slot *s = &slots[i];
		if (s->target != t || (s->match && (!url || !strstr(url, s->match))) ||
		    (s->method && !tp_str_caseeq(s->method, method)))
			continue;
		*out = s->f;
		hit = true;
		if (--s->count <= 0)
			remove_slot(i);
		break;
	}
	pthread_mutex_unlock(&faults_lock);
	return hit;
}

static cJSON *slot_json(const fault_slot *s)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "id", (double)s->id);
	cJSON_AddStringToObject(j, "target", target_names[s->target]);
	cJSON_AddNumberToObject(j, "count", (double)s->count);
	if (s->f.status)
		cJSON_AddNumberToObject(j, "status", s->f.status);
	if (s->f.delay_ms)
		cJSON_AddNumberToObject(j, "delay_ms", (double)s->f.delay_ms);
	cJSON_AddBoolToObject(j, "drop", s->f.drop);
	cJSON_AddBoolToObject(j, "duplicate", s->f.duplicate);
	cJSON_AddBoolToObject(j, "lose_answer", s->f.lose_answer);
	if (s->match)
		cJSON_AddStringToObject(j, "match", s->match);
	if (s->method)
		cJSON_AddStringToObject(j, "method", s->method);
	return j;
}

static void list(sim_resp *rs)
{
	cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "faults");
	size_t i;

	pthread_mutex_lock(&faults_lock);
	for (i = 0; i < nslots; i++)
		cJSON_AddItemToArray(a, slot_json(&slots[i]));
	pthread_mutex_unlock(&faults_lock);
	sim_resp_json(rs, TP_S_OK, j);
}

/* Reads an optional integer member in [lo, hi]; false when present and
 * not such an integer. */
static bool get_int(const cJSON *o, const char *name, long lo, long hi, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!v)
		return true;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
	    v->valuedouble < (double)lo || v->valuedouble > (double)hi)
		return false;
	*out = (long)v->valuedouble;
	return true;
}

static bool get_bool(const cJSON *o, const char *name, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!v)
		return true;
	if (!cJSON_IsBool(v))
		return false;
	*out = cJSON_IsTrue(v);
	return true;
}

static void arm(const sim_req *rq, sim_resp *rs)
{
	const cJSON *o = rq->json, *tv, *mv, *mt;
	fault_slot s;
	long status = 0, count = 1;
	int t;
	tp_buf d;

	memset(&s, 0, sizeof s);
	if (!cJSON_IsObject(o)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "body must be a JSON object");
		return;
	}
	tv = cJSON_GetObjectItemCaseSensitive(o, "target");
	for (t = 0; t < SIM_T_COUNT; t++)
		if (cJSON_IsString(tv) && strcmp(tv->valuestring, target_names[t]) == 0)
			break;
	if (t == SIM_T_COUNT) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "target must be api, sync, connector or webhooks");
		return;
	}
	s.target = (sim_target)t;
	if (!get_int(o, "count", 1, 1000, &count) || !get_int(o, "status", 0, 599, &status) ||
	    !get_int(o, "delay_ms", 0, 60000, &s.f.delay_ms) || !get_bool(o, "drop", &s.f.drop) ||
	    !get_bool(o, "duplicate", &s.f.duplicate) ||
	    !get_bool(o, "lose_answer", &s.f.lose_answer)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "count 1-1000, status 400-599, delay_ms 0-60000, drop, "
		                   "duplicate and lose_answer booleans");
		return;
	}
	if (status && status < 400) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "status must be an error status (400-599)");
		return;
	}
	s.f.status = (int)status;
	if (s.f.duplicate && s.target != SIM_T_WEBHOOKS) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "duplicate applies to webhooks only");
		return;
	}
	if (s.f.lose_answer &&
	    (s.target == SIM_T_WEBHOOKS || s.target == SIM_T_CONNECTOR || s.f.status || s.f.drop)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "lose_answer applies to api and sync, without status or drop");
		return;
	}
	if (!s.f.status && !s.f.delay_ms && !s.f.drop && !s.f.duplicate && !s.f.lose_answer) {
		sim_resp_ctl_error(
		    rs, TP_S_BAD_REQUEST,
		    "a fault needs status, delay_ms, drop, duplicate or lose_answer");
		return;
	}
	mv = cJSON_GetObjectItemCaseSensitive(o, "match");
	if (mv && !cJSON_IsString(mv)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "match must be a string");
		return;
	}
	mt = cJSON_GetObjectItemCaseSensitive(o, "method");
	if (mt && !cJSON_IsString(mt)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "method must be a string");
		return;
	}
	s.count = count;
	tp_buf_init(&d, sizeof s.f.desc - 1);
	tp_buf_addf(&d, "%s%s%s%s%s", s.f.drop ? "drop " : "", s.f.duplicate ? "duplicate " : "",
	            s.f.lose_answer ? "answer lost " : "",
	            s.f.status ? tp_status_str(s.f.status) : "", s.f.delay_ms ? " delayed" : "");
	memcpy(s.f.desc, tp_buf_str(&d), strlen(tp_buf_str(&d)) + 1);
	tp_buf_free(&d);

	pthread_mutex_lock(&faults_lock);
	if (nslots == MAX_FAULTS) {
		pthread_mutex_unlock(&faults_lock);
		sim_resp_ctl_error(rs, TP_S_CONFLICT, "too many armed faults (%d)", MAX_FAULTS);
		return;
	}
	s.id = next_id++;
	s.match = mv ? tp_xstrdup(mv->valuestring) : NULL;
	s.method = mt ? tp_xstrdup(mt->valuestring) : NULL;
	slots[nslots++] = s;
	pthread_mutex_unlock(&faults_lock);
	sim_resp_json(rs, TP_S_CREATED, slot_json(&s));
}

void sim_faults_control(const sim_req *rq, sim_resp *rs)
{
	if (strcmp(rq->method, "GET") == 0) {
		list(rs);
	} else if (strcmp(rq->method, "POST") == 0) {
		arm(rq, rs);
	} else if (strcmp(rq->method, "DELETE") == 0) {
		pthread_mutex_lock(&faults_lock);
		while (nslots)
			remove_slot(nslots - 1);
		pthread_mutex_unlock(&faults_lock);
		sim_resp_text(rs, TP_S_NO_CONTENT, NULL, "");
	} else {
		sim_resp_ctl_error(rs, TP_S_METHOD_NOT_ALLOWED, "GET, POST or DELETE");
	}
}
