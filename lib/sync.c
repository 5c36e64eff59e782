/*
 * sync.c - Twilio Sync v1 services, maps and map items
 * (twilio-contract.md section 6).  Map and item keys go into the URL
 * percent-encoded; `Data` is the item's JSON serialised as one form field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "twiliopay.h"

/* base/v1/Services[/{service}[/Maps[/{map}[/Items[/{key}]]]]] */
static void sync_url(tp_buf *u, const tp_config *cfg, const char *service, const char *map,
                     bool items, const char *key)
{
	tp_buf_adds(u, cfg->twilio_sync_url);
	tp_buf_adds(u, "/v1/Services");
	if (!service)
		return;
	tp_api_add_segment(u, service);
	tp_buf_adds(u, "/Maps");
	if (!map)
		return;
	tp_api_add_segment(u, map);
	if (!items)
		return;
	tp_buf_adds(u, "/Items");
	if (key)
		tp_api_add_segment(u, key);
}

static bool call_budget(const tp_config *cfg, const char *method, const tp_buf *u,
                        const tp_params *form, const char *if_match, long budget_ms,
                        tp_api_result *out)
{
	return tp_api_call(cfg, method, tp_buf_str(u), form, if_match, budget_ms, out);
}

static bool call(const tp_config *cfg, const char *method, const tp_buf *u, const tp_params *form,
                 const char *if_match, tp_api_result *out)
{
	return call_budget(cfg, method, u, form, if_match, TP_API_BUDGET_MS, out);
}

static void add_ttl(tp_params *form, long ttl_s)
{
	char n[32];
	if (ttl_s < 0)
		return;
	snprintf(n, sizeof n, "%ld", ttl_s);
	tp_params_add(form, "Ttl", n);
}

static void add_data(tp_params *form, const cJSON *data)
{
	char *s = cJSON_PrintUnformatted(data);
	tp_params_add(form, "Data", s ? s : "{}");
	free(s);
}

bool tp_sync_item_fetch(const tp_config *cfg, const char *service, const char *map, const char *key,
                        tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	sync_url(&u, cfg, service, map, true, key);
	ok = call(cfg, "GET", &u, NULL, NULL, out);
	tp_buf_free(&u);
	return ok;
}

static bool item_create(const tp_config *cfg, const char *service, const char *map, const char *key,
                        const cJSON *data, long ttl_s, long budget_ms, tp_api_result *out)
{
	tp_buf u;
	tp_params f;
	bool ok;

	tp_buf_init(&u, 4096);
	tp_params_init(&f);
	sync_url(&u, cfg, service, map, true, NULL);
	tp_params_add(&f, "Key", key);
	add_data(&f, data);
	add_ttl(&f, ttl_s);
	ok = call_budget(cfg, "POST", &u, &f, NULL, budget_ms, out);
	tp_params_free(&f);
	tp_buf_free(&u);
	return ok;
}

static bool item_update(const tp_config *cfg, const char *service, const char *map, const char *key,
                        const cJSON *data, long ttl_s, const char *if_match, long budget_ms,
                        tp_api_result *out)
{
	tp_buf u;
	tp_params f;
	bool ok;

	tp_buf_init(&u, 4096);
	tp_params_init(&f);
	sync_url(&u, cfg, service, map, true, key);
	if (data)
		add_data(&f, data);
	add_ttl(&f, ttl_s);
	ok = call_budget(cfg, "POST", &u, &f, if_match, budget_ms, out);
	tp_params_free(&f);
	tp_buf_free(&u);
	return ok;
}

bool tp_sync_item_create(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, tp_api_result *out)
{
	return item_create(cfg, service, map, key, data, ttl_s, TP_API_BUDGET_MS, out);
}

bool tp_sync_item_update(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, const char *if_match,
                         tp_api_result *out)
{
	return item_update(cfg, service, map, key, data, ttl_s, if_match, TP_API_BUDGET_MS, out);
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool tp_sync_item_upsert(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, tp_api_result *out)
{
	/* One budget for both requests, so an upsert inside a webhook stays
	 * within Twilio's 15 s however the create went. */
	double start = mono_ms();
	long left;

	if (item_create(cfg, service, map, key, data, ttl_s, TP_API_BUDGET_MS, out))
		return true;
	if (out->err.code != 54208 && out->status != 409)
		return false;
	left = TP_API_BUDGET_MS - (long)(mono_ms() - start);
	tp_api_result_free(out);
	return item_update(cfg, service, map, key, data, ttl_s, NULL, left > 100 ? left : 100, out);
}

bool tp_sync_item_delete(const tp_config *cfg, const char *service, const char *map,
                         const char *key, tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	sync_url(&u, cfg, service, map, true, key);
	ok = call(cfg, "DELETE", &u, NULL, NULL, out);
	tp_buf_free(&u);
	return ok;
}

bool tp_sync_service_list(const tp_config *cfg, tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	sync_url(&u, cfg, NULL, NULL, false, NULL);
	tp_buf_adds(&u, "?PageSize=100");
	ok = call(cfg, "GET", &u, NULL, NULL, out);
	tp_buf_free(&u);
	return ok;
}

bool tp_sync_service_create(const tp_config *cfg, const char *friendly_name, tp_api_result *out)
{
	tp_buf u;
	tp_params f;
	bool ok;

	tp_buf_init(&u, 4096);
	tp_params_init(&f);
	sync_url(&u, cfg, NULL, NULL, false, NULL);
	tp_params_add(&f, "FriendlyName", friendly_name);
	ok = call(cfg, "POST", &u, &f, NULL, out);
	tp_params_free(&f);
	tp_buf_free(&u);
	return ok;
}

bool tp_sync_map_fetch(const tp_config *cfg, const char *service, const char *map,
                       tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	sync_url(&u, cfg, service, map, false, NULL);
	ok = call(cfg, "GET", &u, NULL, NULL, out);
	tp_buf_free(&u);
	return ok;
}

bool tp_sync_map_create(const tp_config *cfg, const char *service, const char *unique_name,
                        tp_api_result *out)
{
	tp_buf u;
	tp_params f;
	bool ok;

	tp_buf_init(&u, 4096);
	tp_params_init(&f);
	sync_url(&u, cfg, service, NULL, false, NULL);
	tp_params_add(&f, "UniqueName", unique_name);
	ok = call(cfg, "POST", &u, &f, NULL, out);
	tp_params_free(&f);
	tp_buf_free(&u);
	return ok;
}
