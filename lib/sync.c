/*
 * sync.c - Twilio Sync v1 services, maps and map items
 * (twilio-contract.md section 6).  Map and item keys go into the URL
 * percent-encoded; `Data` is the item's JSON serialised as one form field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* A Sync resource: base/v1/Services[/{service}[/Maps[/{map}[/Items[/{key}]]]]] */
typedef struct sync_res {
	const char *service; /* NULL: the Services list */
	const char *map;     /* NULL: the service's Maps list */
	bool items;          /* the map's Items list, or item `key` */
	const char *key;
} sync_res;

/* What one request writes: the form fields Twilio reads (NULL: absent). */
typedef struct sync_form {
	const char *name_field; /* "FriendlyName", "UniqueName" or "Key" */
	const char *name;
	const cJSON *data; /* Data, serialised */
	long ttl_s;        /* Ttl when >= 0 */
} sync_form;

static void sync_url(tp_buf *u, const tp_config *cfg, const sync_res *r)
{
	tp_buf_adds(u, cfg->twilio_sync_url);
	tp_buf_adds(u, "/v1/Services");
	if (!r->service)
		return;
	tp_api_add_segment(u, r->service);
	tp_buf_adds(u, "/Maps");
	if (!r->map)
		return;
	tp_api_add_segment(u, r->map);
	if (!r->items)
		return;
	tp_buf_adds(u, "/Items");
	if (r->key)
		tp_api_add_segment(u, r->key);
}

/* One Sync request: GET/DELETE without a form, POST with `form`. */
static bool sync_call(const tp_config *cfg, const char *method, const sync_res *r,
                      const char *query, const sync_form *form, const char *if_match,
                      long budget_ms, tp_api_result *out)
{
	tp_buf u;
	tp_params f;
	bool ok;

	tp_buf_init(&u, 4096);
	tp_params_init(&f);
	sync_url(&u, cfg, r);
	if (query)
		tp_buf_adds(&u, query);
	if (form && form->name_field)
		tp_params_add(&f, form->name_field, form->name);
	if (form && form->data) {
		char *s = cJSON_PrintUnformatted(form->data);
		tp_params_add(&f, "Data", s ? s : "{}");
		free(s);
	}
	if (form && form->ttl_s >= 0) {
		char n[32];
		snprintf(n, sizeof n, "%ld", form->ttl_s);
		tp_params_add(&f, "Ttl", n);
	}
	ok = tp_api_call(cfg, method, tp_buf_str(&u), form ? &f : NULL, if_match, budget_ms, out);
	tp_params_free(&f);
	tp_buf_free(&u);
	return ok;
}

bool tp_sync_item_fetch(const tp_config *cfg, const char *service, const char *map, const char *key,
                        tp_api_result *out)
{
	sync_res r = {service, map, true, key};
	return sync_call(cfg, "GET", &r, NULL, NULL, NULL, tp_api_budget_ms(cfg), out);
}

bool tp_sync_item_create(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, tp_api_result *out)
{
	sync_res r = {service, map, true, NULL};
	sync_form f = {"Key", key, data, ttl_s};
	return sync_call(cfg, "POST", &r, NULL, &f, NULL, tp_api_budget_ms(cfg), out);
}

bool tp_sync_item_update(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, const char *if_match,
                         tp_api_result *out)
{
	sync_res r = {service, map, true, key};
	sync_form f = {NULL, NULL, data, ttl_s};
	return sync_call(cfg, "POST", &r, NULL, &f, if_match, tp_api_budget_ms(cfg), out);
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
	 * within Twilio's 15 s (and API_RETRY_BUDGET_MS) however the create
	 * went. */
	double start = mono_ms();
	long left;
	sync_res r = {service, map, true, NULL};
	sync_form f = {"Key", key, data, ttl_s};

	if (sync_call(cfg, "POST", &r, NULL, &f, NULL, tp_api_budget_ms(cfg), out))
		return true;
	if (out->err.code != TP_TW_SYNC_ITEM_EXISTS && out->status != TP_S_CONFLICT)
		return false;
	left = tp_api_budget_ms(cfg) - (long)(mono_ms() - start);
	tp_api_result_free(out);
	r.key = key;
	f.name_field = NULL;
	return sync_call(cfg, "POST", &r, NULL, &f, NULL, left > 100 ? left : 100, out);
}

bool tp_sync_item_delete(const tp_config *cfg, const char *service, const char *map,
                         const char *key, tp_api_result *out)
{
	sync_res r = {service, map, true, key};
	return sync_call(cfg, "DELETE", &r, NULL, NULL, NULL, tp_api_budget_ms(cfg), out);
}

bool tp_sync_service_find(const tp_config *cfg, const char *friendly_name, tp_sync_service_match *m,
                          tp_api_result *out)
{
	sync_res res = {NULL, NULL, false, NULL};
	tp_buf url, prefix;
	int page;
	bool ok = true;

	memset(m, 0, sizeof *m);
	memset(out, 0, sizeof *out);
	tp_buf_init(&url, 8192);
	tp_buf_init(&prefix, 4096);
	sync_url(&prefix, cfg, &res);
	tp_buf_addf(&url, "%s?PageSize=100", tp_buf_str(&prefix));
	for (page = 0; page < TP_SYNC_MAX_PAGES; page++) {
		const cJSON *it, *next;

		tp_api_result_free(out);
		if (!tp_api_call(cfg, "GET", tp_buf_str(&url), NULL, NULL, tp_api_budget_ms(cfg),
		                 out)) {
			ok = false;
			break;
		}
		cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(out->json, "services")) {
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(it, "friendly_name");
			const cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "sid");
			if (!cJSON_IsString(fn) || !tp_str_eq(fn->valuestring, friendly_name))
				continue;
			if (m->matches++ > 0)
				continue;
			if (!cJSON_IsString(sid) || !tp_sid_valid(sid->valuestring, "IS")) {
				snprintf(out->err.message, sizeof out->err.message,
				         "a service in the list has no valid IS sid");
				ok = false;
				break;
			}
			snprintf(m->sid, sizeof m->sid, "%s", sid->valuestring);
			m->acl_enabled =
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "acl_enabled"));
		}
		if (!ok)
			break;
		/* Sync pages carry an absolute meta.next_page_url
		 * (twilio-contract.md 1.4).  Our credentials go wherever we
		 * follow: only to our own Sync. */
		next = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(out->json, "meta"), "next_page_url");
		tp_buf_reset(&url);
		if (cJSON_IsString(next) && *next->valuestring) {
			if (tp_str_prefix(next->valuestring, tp_buf_str(&prefix)))
				tp_buf_adds(&url, next->valuestring);
			else
				m->foreign_next = true;
		}
		if (url.len == 0)
			break;
	}
	if (ok) {
		m->all_pages = page < TP_SYNC_MAX_PAGES;
		tp_api_result_free(out);
	}
	tp_buf_free(&url);
	tp_buf_free(&prefix);
	return ok;
}

/* POST `f` to r's URL followed by `sub` and the segment `key` (either
 * NULL: none), for the resources sync_form does not cover. */
static bool post_form(const tp_config *cfg, const sync_res *r, const char *sub, const char *key,
                      const tp_params *f, tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	sync_url(&u, cfg, r);
	if (sub)
		tp_buf_adds(&u, sub);
	if (key)
		tp_api_add_segment(&u, key);
	ok = tp_api_call(cfg, "POST", tp_buf_str(&u), f, NULL, tp_api_budget_ms(cfg), out);
	tp_buf_free(&u);
	return ok;
}

/* POST to the Services list (a new service named friendly_name) or to
 * one service, always with AclEnabled=true: cgi-bin/setupSyncServices.c
 * says why. */
static bool service_post(const tp_config *cfg, const char *service, const char *friendly_name,
                         tp_api_result *out)
{
	sync_res r = {NULL, NULL, false, NULL};
	tp_params f;
	bool ok;

	tp_params_init(&f);
	if (friendly_name)
		tp_params_add(&f, "FriendlyName", friendly_name);
	tp_params_add(&f, "AclEnabled", "true");
	ok = post_form(cfg, &r, NULL, service, &f, out);
	tp_params_free(&f);
	return ok;
}

bool tp_sync_service_create(const tp_config *cfg, const char *friendly_name, tp_api_result *out)
{
	return service_post(cfg, NULL, friendly_name, out);
}

bool tp_sync_service_acl_on(const tp_config *cfg, const char *service, tp_api_result *out)
{
	return service_post(cfg, service, NULL, out);
}

bool tp_sync_map_permission_set(const tp_config *cfg, const char *service, const char *map,
                                const char *identity, bool read, bool write, bool manage,
                                tp_api_result *out)
{
	sync_res r = {service, map, false, NULL};
	tp_params f;
	bool ok;

	tp_params_init(&f);
	/* All three are required (Sync Map Permission resource, update). */
	tp_params_add(&f, "Read", read ? "true" : "false");
	tp_params_add(&f, "Write", write ? "true" : "false");
	tp_params_add(&f, "Manage", manage ? "true" : "false");
	ok = post_form(cfg, &r, "/Permissions", identity, &f, out);
	tp_params_free(&f);
	return ok;
}

bool tp_sync_map_fetch(const tp_config *cfg, const char *service, const char *map,
                       tp_api_result *out)
{
	sync_res r = {service, map, false, NULL};
	return sync_call(cfg, "GET", &r, NULL, NULL, NULL, tp_api_budget_ms(cfg), out);
}

bool tp_sync_map_create(const tp_config *cfg, const char *service, const char *unique_name,
                        tp_api_result *out)
{
	sync_res r = {service, NULL, false, NULL};
	sync_form f = {"UniqueName", unique_name, NULL, -1};
	return sync_call(cfg, "POST", &r, NULL, &f, NULL, tp_api_budget_ms(cfg), out);
}
