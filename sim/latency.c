/*
 * latency.c - the network between Twilio and everything else: a delay on
 * every REST and Sync request the emulator serves and on every webhook
 * and connector request it sends (DESIGN.md "Under real load").
 *
 *   twilio-sim --latency-ms MEAN[,JITTER]     every target (SIM_LATENCY_MS)
 *   GET    /sim/latency                       the settings per target
 *   POST   /sim/latency {"api": 150, "sync": {"mean_ms": 150, "jitter_ms": 50},
 *                        "webhooks": [150, 50], "connector": 0, "all": ...}
 *   DELETE /sim/latency                       no added latency anywhere
 *
 * A delay is drawn for each request, uniformly from MEAN - JITTER to
 * MEAN + JITTER (never below 0): from a server in the same region a
 * Twilio REST or Sync request takes 100-300 ms, which a benchmark against
 * a 1 ms emulator never shows.  Unlike /sim/faults' delay_ms it has no
 * count: it applies until changed.  Inbound (api, sync) the request waits
 * before it is processed, on its own connection's thread, so it delays
 * nobody else; outbound (webhooks, connector) outbound.c holds the
 * request back until the delay has passed, without holding back the
 * call's earlier requests.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define LATENCY_MAX_MS 60000L

typedef struct latency {
	long mean_ms;
	long jitter_ms;
} latency;

static pthread_mutex_t lat_lock = PTHREAD_MUTEX_INITIALIZER;
static latency lat[SIM_T_COUNT];

static const char *const target_names[SIM_T_COUNT] = {
    [SIM_T_API] = "api",
    [SIM_T_SYNC] = "sync",
    [SIM_T_CONNECTOR] = "connector",
    [SIM_T_WEBHOOKS] = "webhooks",
};

bool sim_latency_parse(const char *s, long *mean_ms, long *jitter_ms)
{
	const char *comma = strchr(s, ',');
	char *m = tp_xstrndup(s, comma ? (size_t)(comma - s) : strlen(s));
	bool ok = sim_parse_long(m, LATENCY_MAX_MS, mean_ms);

	free(m);
	*jitter_ms = 0;
	if (ok && comma)
		ok = sim_parse_long(comma + 1, LATENCY_MAX_MS, jitter_ms);
	return ok;
}

void sim_latency_set_all(long mean_ms, long jitter_ms)
{
	int t;

	pthread_mutex_lock(&lat_lock);
	for (t = 0; t < SIM_T_COUNT; t++) {
		lat[t].mean_ms = mean_ms;
		lat[t].jitter_ms = jitter_ms;
	}
	pthread_mutex_unlock(&lat_lock);
}

long sim_latency_sample_ms(sim_target t)
{
	latency l;
	uint32_t r;
	long d;

	pthread_mutex_lock(&lat_lock);
	l = lat[t];
	pthread_mutex_unlock(&lat_lock);
	if (l.jitter_ms == 0)
		return l.mean_ms;
	tp_random_bytes(&r, sizeof r);
	d = l.mean_ms - l.jitter_ms + (long)(r % (uint32_t)(2 * l.jitter_ms + 1));
	return d > 0 ? d : 0;
}

static cJSON *settings_json(void)
{
	cJSON *j = cJSON_CreateObject();
	int t;

	pthread_mutex_lock(&lat_lock);
	for (t = 0; t < SIM_T_COUNT; t++) {
		cJSON *o = cJSON_AddObjectToObject(j, target_names[t]);
		cJSON_AddNumberToObject(o, "mean_ms", (double)lat[t].mean_ms);
		cJSON_AddNumberToObject(o, "jitter_ms", (double)lat[t].jitter_ms);
	}
	pthread_mutex_unlock(&lat_lock);
	return j;
}

static bool ms_value(const cJSON *v, long *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
	    v->valuedouble < 0 || v->valuedouble > (double)LATENCY_MAX_MS)
		return false;
	*out = (long)v->valuedouble;
	return true;
}

/* A target's setting: 150, [150, 50] or {"mean_ms": 150, "jitter_ms": 50}. */
static bool read_setting(const cJSON *v, latency *out)
{
	out->jitter_ms = 0;
	if (cJSON_IsNumber(v))
		return ms_value(v, &out->mean_ms);
	if (cJSON_IsArray(v)) {
		int n = cJSON_GetArraySize(v);
		return (n == 1 || n == 2) && ms_value(cJSON_GetArrayItem(v, 0), &out->mean_ms) &&
		       (n == 1 || ms_value(cJSON_GetArrayItem(v, 1), &out->jitter_ms));
	}
	if (cJSON_IsObject(v)) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "mean_ms");
		const cJSON *jt = cJSON_GetObjectItemCaseSensitive(v, "jitter_ms");
		const cJSON *c;
		cJSON_ArrayForEach (c, v)
			if (strcmp(c->string, "mean_ms") != 0 &&
			    strcmp(c->string, "jitter_ms") != 0)
				return false;
		return ms_value(m, &out->mean_ms) && (!jt || ms_value(jt, &out->jitter_ms));
	}
	return false;
}

static void set(const sim_req *rq, sim_resp *rs)
{
	latency want[SIM_T_COUNT];
	bool given[SIM_T_COUNT] = {false};
	const cJSON *c;
	int t;

	if (!cJSON_IsObject(rq->json) || !rq->json->child) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "body must be a JSON object naming api, sync, connector, "
		                   "webhooks or all");
		return;
	}
	cJSON_ArrayForEach (c, rq->json) {
		latency l;
		bool all = strcmp(c->string, "all") == 0;
		for (t = 0; t < SIM_T_COUNT && !all; t++)
			if (strcmp(c->string, target_names[t]) == 0)
				break;
		if (!all && t == SIM_T_COUNT) {
			sim_resp_ctl_error(
			    rs, TP_S_BAD_REQUEST,
			    "unknown target %.64s: api, sync, connector, webhooks or all",
			    c->string);
			return;
		}
		if (!read_setting(c, &l)) {
			sim_resp_ctl_error(
			    rs, TP_S_BAD_REQUEST,
			    "%.64s: milliseconds 0-%ld as a number, [mean, jitter] or "
			    "{\"mean_ms\", \"jitter_ms\"}",
			    c->string, LATENCY_MAX_MS);
			return;
		}
		for (t = 0; t < SIM_T_COUNT; t++)
			if (all || strcmp(c->string, target_names[t]) == 0) {
				want[t] = l;
				given[t] = true;
			}
	}
	pthread_mutex_lock(&lat_lock);
	for (t = 0; t < SIM_T_COUNT; t++)
		if (given[t])
			lat[t] = want[t];
	pthread_mutex_unlock(&lat_lock);
	tp_log(TP_LOG_INFO, "latency changed");
	sim_resp_json(rs, TP_S_OK, settings_json());
}

void sim_latency_control(const sim_req *rq, sim_resp *rs)
{
	if (strcmp(rq->method, "GET") == 0) {
		sim_resp_json(rs, TP_S_OK, settings_json());
	} else if (strcmp(rq->method, "POST") == 0) {
		set(rq, rs);
	} else if (strcmp(rq->method, "DELETE") == 0) {
		sim_latency_set_all(0, 0);
		sim_resp_json(rs, TP_S_OK, settings_json());
	} else {
		sim_resp_ctl_error(rs, TP_S_METHOD_NOT_ALLOWED, "GET, POST or DELETE");
	}
}
