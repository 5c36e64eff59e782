/*
 * sync.c - Twilio Sync v1 (contract 6): services, maps, map items.
 *
 *   /v1/Services                              GET list, POST create
 *   /v1/Services/{IS}                         GET, POST (update), DELETE
 *   /v1/Services/{IS}/Maps                    GET list, POST create
 *   /v1/Services/{IS}/Maps/{MP|UniqueName}    GET, POST (TTL), DELETE
 *   .../Maps/{M}/Items                        GET list, POST create
 *   .../Maps/{M}/Items/{Key}                  GET, POST (update), DELETE
 *   .../Maps/{M}/Permissions                  GET list
 *   .../Maps/{M}/Permissions/{Identity}       GET, POST (update), DELETE
 *
 * Revisions are decimal strings that grow by one per change; single
 * objects carry them as the ETag header and If-Match is compared to them
 * (contract 1.1, "Mutation and Conflict Resolution").  TTLs set
 * date_expires; expired items and maps vanish (purged on every request).
 * Items are kept sorted by key in byte order, the order list returns.
 *
 * Access Tokens (auth.c) act as their identity, as the Sync SDKs do: on
 * their own service only, never on services or Permissions (those are
 * the backend's, over REST).  With the service's acl_enabled false every
 * token may do everything ("token identities are essentially ignored",
 * Sync "Securing your Sync App"); with it true an identity needs a Map
 * Permission: read to fetch the map and its items, write to create,
 * update and delete items, manage to change or delete the map (Sync Map
 * Permission resource; a missing one is all false), else 403 54007
 * "Access forbidden for identity".  Map Permission update takes Read,
 * Write and Manage, all required; delete is all false.
 *
 * Error codes: 54208 duplicate key (409), 54205 revision mismatch (412),
 * 54301 duplicate unique name (409), 54206 invalid data (400), 54006 data
 * too large (413), 20404 for any missing service, map or item (the
 * generic "resource not found", which is what REST answers for a URL that
 * names nothing; clients test the 404 status).  The HTTP statuses of the
 * 54xxx codes are marked unverified in the contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define DATA_MAX  16384 /* bytes of serialised Data (Sync limits page) */
#define KEY_MAX   320
#define NAME_MAX_ 320
#define TTL_MAX   31536000L /* one year */
#define PAGE_DEF  50
#define PAGE_MAX  100

typedef struct item {
	char *key;
	cJSON *data;
	long rev;
	time_t created, updated, expires; /* expires 0: never */
} item;

typedef struct perm {
	char *identity;
	bool read, write, manage;
} perm;

typedef struct smap {
	sim_sid sid;
	char *unique_name; /* NULL if none */
	long rev;
	time_t created, updated, expires;
	item **items; /* sorted by key */
	size_t n, cap;
	perm *perms; /* Map Permissions, one per identity */
	size_t nperms, capperms;
} smap;

typedef struct service {
	sim_sid sid;
	char *friendly_name, *unique_name, *webhook_url;
	bool reachability, acl, debouncing, webhooks_from_rest;
	long debouncing_window;
	time_t created, updated;
	smap **maps;
	size_t n, cap;
} service;

static service **services;
static size_t nservices, capservices;

/* ---------------------------------------------------------------- storage */

static void item_free(item *it)
{
	free(it->key);
	cJSON_Delete(it->data);
	free(it);
}

static void map_free(smap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		item_free(m->items[i]);
	free(m->items);
	for (i = 0; i < m->nperms; i++)
		free(m->perms[i].identity);
	free(m->perms);
	free(m->unique_name);
	free(m);
}

static void service_free(service *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		map_free(s->maps[i]);
	free(s->maps);
	free(s->friendly_name);
	free(s->unique_name);
	free(s->webhook_url);
	free(s);
}

static void purge(time_t now)
{
	size_t i, j, k;

	for (i = 0; i < nservices; i++) {
		service *s = services[i];
		for (j = 0; j < s->n;) {
			smap *m = s->maps[j];
			if (m->expires && m->expires <= now) {
				map_free(m);
				memmove(&s->maps[j], &s->maps[j + 1],
				        (s->n - j - 1) * sizeof *s->maps);
				s->n--;
				continue;
			}
			for (k = 0; k < m->n;) {
				if (m->items[k]->expires && m->items[k]->expires <= now) {
					item_free(m->items[k]);
					memmove(&m->items[k], &m->items[k + 1],
					        (m->n - k - 1) * sizeof *m->items);
					m->n--;
					continue;
				}
				k++;
			}
			j++;
		}
	}
}

static service *find_service(const char *id)
{
	size_t i;

	for (i = 0; i < nservices; i++)
		if (strcmp(services[i]->sid, id) == 0 ||
		    (services[i]->unique_name && strcmp(services[i]->unique_name, id) == 0))
			return services[i];
	return NULL;
}

static smap *find_map(const service *s, const char *id, size_t *idx)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->maps[i]->sid, id) == 0 ||
		    (s->maps[i]->unique_name && strcmp(s->maps[i]->unique_name, id) == 0)) {
			if (idx)
				*idx = i;
			return s->maps[i];
		}
	return NULL;
}

/* Binary search; *pos is where key is or would go. */
static item *find_item(const smap *m, const char *key, size_t *pos)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->items[mid]->key, key);
		if (c == 0) {
			*pos = mid;
			return m->items[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

/* ---------------------------------------------------------------- JSON */

static void add_date(cJSON *j, const char *name, time_t t)
{
	char s[32];

	if (!t) {
		cJSON_AddNullToObject(j, name);
		return;
	}
	sim_time_iso(t, s);
	cJSON_AddStringToObject(j, name, s);
}

static void add_rev(cJSON *j, long rev)
{
	char s[24];

	snprintf(s, sizeof s, "%ld", rev);
	cJSON_AddStringToObject(j, "revision", s);
}

static void url_service(tp_buf *u, const service *s)
{
	tp_buf_addf(u, "%s/v1/Services/%s", sim_conf.base_url, s->sid);
}

static void url_map(tp_buf *u, const service *s, const smap *m)
{
	url_service(u, s);
	tp_buf_addf(u, "/Maps/%s", m->sid);
}

static void url_item(tp_buf *u, const service *s, const smap *m, const char *key)
{
	url_map(u, s, m);
	tp_buf_adds(u, "/Items");
	tp_api_add_segment(u, key);
}

static cJSON *service_json(const service *s)
{
	cJSON *j = cJSON_CreateObject(), *l;
	tp_buf u;

	tp_buf_init(&u, 4096);
	url_service(&u, s);
	cJSON_AddStringToObject(j, "sid", s->sid);
	if (s->unique_name)
		cJSON_AddStringToObject(j, "unique_name", s->unique_name);
	else
		cJSON_AddNullToObject(j, "unique_name");
	cJSON_AddStringToObject(j, "account_sid", sim_conf.account_sid);
	if (s->friendly_name)
		cJSON_AddStringToObject(j, "friendly_name", s->friendly_name);
	else
		cJSON_AddNullToObject(j, "friendly_name");
	add_date(j, "date_created", s->created);
	add_date(j, "date_updated", s->updated);
	cJSON_AddStringToObject(j, "url", tp_buf_str(&u));
	if (s->webhook_url)
		cJSON_AddStringToObject(j, "webhook_url", s->webhook_url);
	else
		cJSON_AddNullToObject(j, "webhook_url");
	cJSON_AddBoolToObject(j, "webhooks_from_rest_enabled", s->webhooks_from_rest);
	cJSON_AddBoolToObject(j, "reachability_webhooks_enabled", s->reachability);
	cJSON_AddBoolToObject(j, "acl_enabled", s->acl);
	cJSON_AddBoolToObject(j, "reachability_debouncing_enabled", s->debouncing);
	cJSON_AddNumberToObject(j, "reachability_debouncing_window", (double)s->debouncing_window);
	l = cJSON_AddObjectToObject(j, "links");
	{
		static const char *const sub[] = {"documents", "lists", "maps", "streams"};
		static const char *const seg[] = {"Documents", "Lists", "Maps", "Streams"};
		size_t i;
		for (i = 0; i < 4; i++) {
			tp_buf x;
			tp_buf_init(&x, 4096);
			tp_buf_addf(&x, "%s/%s", tp_buf_str(&u), seg[i]);
			cJSON_AddStringToObject(l, sub[i], tp_buf_str(&x));
			tp_buf_free(&x);
		}
	}
	tp_buf_free(&u);
	return j;
}

static cJSON *map_json(const service *s, const smap *m)
{
	cJSON *j = cJSON_CreateObject(), *l;
	tp_buf u, x;

	tp_buf_init(&u, 4096);
	tp_buf_init(&x, 4096);
	url_map(&u, s, m);
	cJSON_AddStringToObject(j, "sid", m->sid);
	if (m->unique_name)
		cJSON_AddStringToObject(j, "unique_name", m->unique_name);
	else
		cJSON_AddNullToObject(j, "unique_name");
	cJSON_AddStringToObject(j, "account_sid", sim_conf.account_sid);
	cJSON_AddStringToObject(j, "service_sid", s->sid);
	cJSON_AddStringToObject(j, "url", tp_buf_str(&u));
	l = cJSON_AddObjectToObject(j, "links");
	tp_buf_addf(&x, "%s/Items", tp_buf_str(&u));
	cJSON_AddStringToObject(l, "items", tp_buf_str(&x));
	tp_buf_reset(&x);
	tp_buf_addf(&x, "%s/Permissions", tp_buf_str(&u));
	cJSON_AddStringToObject(l, "permissions", tp_buf_str(&x));
	add_rev(j, m->rev);
	add_date(j, "date_expires", m->expires);
	add_date(j, "date_created", m->created);
	add_date(j, "date_updated", m->updated);
	cJSON_AddStringToObject(j, "created_by", "system");
	tp_buf_free(&u);
	tp_buf_free(&x);
	return j;
}

static cJSON *item_json(const service *s, const smap *m, const item *it)
{
	cJSON *j = cJSON_CreateObject();
	tp_buf u;

	tp_buf_init(&u, 8192);
	url_item(&u, s, m, it->key);
	cJSON_AddStringToObject(j, "key", it->key);
	cJSON_AddStringToObject(j, "account_sid", sim_conf.account_sid);
	cJSON_AddStringToObject(j, "service_sid", s->sid);
	cJSON_AddStringToObject(j, "map_sid", m->sid);
	cJSON_AddStringToObject(j, "url", tp_buf_str(&u));
	add_rev(j, it->rev);
	cJSON_AddItemToObject(j, "data", cJSON_Duplicate(it->data, true));
	add_date(j, "date_expires", it->expires);
	add_date(j, "date_created", it->created);
	add_date(j, "date_updated", it->updated);
	cJSON_AddStringToObject(j, "created_by", "system");
	tp_buf_free(&u);
	return j;
}

/* Single objects carry their revision as the ETag (contract 1.1). */
static void reply_object(sim_resp *rs, int status, cJSON *j)
{
	const cJSON *rev = cJSON_GetObjectItemCaseSensitive(j, "revision");

	if (cJSON_IsString(rev))
		sim_resp_header(rs, "ETag", rev->valuestring);
	sim_resp_json(rs, status, j);
}

/* ---------------------------------------------------------------- paging */

typedef struct page {
	long size, index;
} page;

static bool read_page(const sim_req *rq, sim_resp *rs, page *pg)
{
	const char *ps = tp_params_get(&rq->query, "PageSize");
	const char *pi = tp_params_get(&rq->query, "Page");

	pg->size = PAGE_DEF;
	pg->index = 0;
	if (ps && (!sim_parse_long(ps, 1000000, &pg->size) || pg->size < 1)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "Invalid PageSize");
		return false;
	}
	if (pg->size > PAGE_MAX)
		pg->size = PAGE_MAX;
	if (pi && !sim_parse_long(pi, 1000000, &pg->index)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "Invalid Page");
		return false;
	}
	return true;
}

/* meta per contract 1.4; `extra` keeps list filters in the page URLs. */
static cJSON *meta_json(const char *key, const char *base, const char *extra, const page *pg,
                        bool more)
{
	cJSON *m = cJSON_CreateObject();
	tp_buf u;

	tp_buf_init(&u, 8192);
	cJSON_AddNumberToObject(m, "page", (double)pg->index);
	cJSON_AddNumberToObject(m, "page_size", (double)pg->size);
	tp_buf_addf(&u, "%s?%sPageSize=%ld&Page=0", base, extra, pg->size);
	cJSON_AddStringToObject(m, "first_page_url", tp_buf_str(&u));
	tp_buf_reset(&u);
	if (pg->index > 0) {
		tp_buf_addf(&u, "%s?%sPageSize=%ld&Page=%ld&PageToken=PB%ld", base, extra, pg->size,
		            pg->index - 1, pg->index - 1);
		cJSON_AddStringToObject(m, "previous_page_url", tp_buf_str(&u));
	} else {
		cJSON_AddNullToObject(m, "previous_page_url");
	}
	tp_buf_reset(&u);
	tp_buf_addf(&u, "%s?%sPageSize=%ld&Page=%ld", base, extra, pg->size, pg->index);
	cJSON_AddStringToObject(m, "url", tp_buf_str(&u));
	tp_buf_reset(&u);
	if (more) {
		tp_buf_addf(&u, "%s?%sPageSize=%ld&Page=%ld&PageToken=PA%ld", base, extra, pg->size,
		            pg->index + 1, pg->index + 1);
		cJSON_AddStringToObject(m, "next_page_url", tp_buf_str(&u));
	} else {
		cJSON_AddNullToObject(m, "next_page_url");
	}
	cJSON_AddStringToObject(m, "key", key);
	tp_buf_free(&u);
	return m;
}

/* ---------------------------------------------------------------- params */

/* A TTL parameter: absent (true, *set = false), or 0..TTL_MAX seconds. */
static bool read_ttl(const sim_req *rq, sim_resp *rs, const char *name, bool *set, long *ttl)
{
	const char *v = tp_params_get(&rq->form, name);

	*set = false;
	if (!v)
		return true;
	if (!sim_parse_long(v, TTL_MAX, ttl)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "Invalid %s: seconds, 0 to %ld",
		                      name, TTL_MAX);
		return false;
	}
	*set = true;
	return true;
}

static time_t expiry(long ttl, time_t now)
{
	return ttl > 0 ? now + ttl : 0;
}

static bool read_bool(const sim_req *rq, sim_resp *rs, const char *name, bool *out)
{
	const char *v = tp_params_get(&rq->form, name);

	if (!v)
		return true;
	if (tp_str_to_bool(v, out) != TP_OK) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "Invalid %s: true or false",
		                      name);
		return false;
	}
	return true;
}

/* Data: a JSON object of at most 16 KiB serialised. */
static cJSON *read_data(const sim_req *rq, sim_resp *rs, bool required)
{
	const char *v = tp_params_get(&rq->form, "Data");
	cJSON *d;

	if (!v) {
		if (required)
			sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 54206,
			                      "Invalid Map Item data: Data is required");
		return NULL;
	}
	if (strlen(v) > DATA_MAX) {
		sim_resp_twilio_error(rs, TP_S_PAYLOAD_TOO_LARGE, 54006,
		                      "Request entity too large: Data exceeds 16 KiB");
		return NULL;
	}
	d = cJSON_Parse(v);
	if (!cJSON_IsObject(d)) {
		cJSON_Delete(d);
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 54206,
		                      "Invalid Map Item data: Data must be a JSON object");
		return NULL;
	}
	return d;
}

/* If-Match: the revision, optionally quoted (RFC 9110 entity-tag). */
static bool if_match_ok(const sim_req *rq, long rev)
{
	const char *v = rq->if_match;
	char want[24];
	size_t n;

	if (!v)
		return true;
	if (tp_str_prefix(v, "W/"))
		v += 2;
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	snprintf(want, sizeof want, "%ld", rev);
	return n == strlen(want) && memcmp(v, want, n) == 0;
}

/* ---------------------------------------------------------------- services */

static void services_list(const sim_req *rq, sim_resp *rs)
{
	page pg;
	cJSON *j, *a;
	size_t i, start;
	tp_buf base;

	if (!read_page(rq, rs, &pg))
		return;
	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "services");
	start = (size_t)(pg.index * pg.size);
	for (i = start; i < nservices && i < start + (size_t)pg.size; i++)
		cJSON_AddItemToArray(a, service_json(services[i]));
	tp_buf_init(&base, 4096);
	tp_buf_addf(&base, "%s/v1/Services", sim_conf.base_url);
	cJSON_AddItemToObject(
	    j, "meta",
	    meta_json("services", tp_buf_str(&base), "", &pg, nservices > start + (size_t)pg.size));
	tp_buf_free(&base);
	sim_resp_json(rs, TP_S_OK, j);
}

static bool service_fields(const sim_req *rq, sim_resp *rs, service *s)
{
	const char *fn = tp_params_get(&rq->form, "FriendlyName");
	const char *un = tp_params_get(&rq->form, "UniqueName");
	const char *wh = tp_params_get(&rq->form, "WebhookUrl");
	const char *dw = tp_params_get(&rq->form, "ReachabilityDebouncingWindow");
	long w = s->debouncing_window;

	if ((fn && strlen(fn) > 255) || (un && strlen(un) > NAME_MAX_)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "FriendlyName or UniqueName too long");
		return false;
	}
	if (wh && *wh && !sim_is_http_url(wh)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "WebhookUrl is not a valid URL");
		return false;
	}
	if (dw && (!sim_parse_long(dw, 30000, &w) || w < 1000)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "ReachabilityDebouncingWindow must be 1000 to 30000 ms");
		return false;
	}
	if (!read_bool(rq, rs, "ReachabilityWebhooksEnabled", &s->reachability) ||
	    !read_bool(rq, rs, "AclEnabled", &s->acl) ||
	    !read_bool(rq, rs, "ReachabilityDebouncingEnabled", &s->debouncing) ||
	    !read_bool(rq, rs, "WebhooksFromRestEnabled", &s->webhooks_from_rest))
		return false;
	if (un) {
		size_t i;
		for (i = 0; i < nservices; i++)
			if (services[i] != s && services[i]->unique_name &&
			    strcmp(services[i]->unique_name, un) == 0) {
				sim_resp_twilio_error(rs, TP_S_CONFLICT, TP_TW_SYNC_NAME_EXISTS,
				                      "Unique name already exists");
				return false;
			}
		free(s->unique_name);
		s->unique_name = tp_xstrdup(un);
	}
	if (fn) {
		free(s->friendly_name);
		s->friendly_name = tp_xstrdup(fn);
	}
	if (wh) {
		free(s->webhook_url);
		s->webhook_url = *wh ? tp_xstrdup(wh) : NULL;
	}
	s->debouncing_window = w;
	return true;
}

static void service_create(const sim_req *rq, sim_resp *rs, time_t now)
{
	service *s = tp_xcalloc(1, sizeof *s);

	s->debouncing_window = 5000;
	s->created = s->updated = now;
	sim_new_sid(s->sid, "IS");
	if (!service_fields(rq, rs, s)) {
		service_free(s);
		return;
	}
	if (nservices == capservices) {
		capservices = capservices ? 2 * capservices : 8;
		services = tp_xrealloc(services, capservices * sizeof *services);
	}
	services[nservices++] = s;
	sim_resp_json(rs, TP_S_CREATED, service_json(s));
}

/* ---------------------------------------------------------------- maps */

static void maps_list(const sim_req *rq, sim_resp *rs, const service *s)
{
	page pg;
	cJSON *j, *a;
	size_t i, start;
	tp_buf base;

	if (!read_page(rq, rs, &pg))
		return;
	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "maps");
	start = (size_t)(pg.index * pg.size);
	for (i = start; i < s->n && i < start + (size_t)pg.size; i++)
		cJSON_AddItemToArray(a, map_json(s, s->maps[i]));
	tp_buf_init(&base, 4096);
	url_service(&base, s);
	tp_buf_adds(&base, "/Maps");
	cJSON_AddItemToObject(
	    j, "meta",
	    meta_json("maps", tp_buf_str(&base), "", &pg, s->n > start + (size_t)pg.size));
	tp_buf_free(&base);
	sim_resp_json(rs, TP_S_OK, j);
}

static bool map_ttl(const sim_req *rq, sim_resp *rs, smap *m, time_t now)
{
	bool set_t, set_c;
	long t = 0, c = 0;

	/* CollectionTtl wins when both are given (contract 6.2). */
	if (!read_ttl(rq, rs, "Ttl", &set_t, &t) || !read_ttl(rq, rs, "CollectionTtl", &set_c, &c))
		return false;
	if (set_c)
		m->expires = expiry(c, now);
	else if (set_t)
		m->expires = expiry(t, now);
	return true;
}

static void map_create(const sim_req *rq, sim_resp *rs, service *s, time_t now)
{
	const char *un = tp_params_get(&rq->form, "UniqueName");
	smap *m;

	if (un && (!*un || strlen(un) > NAME_MAX_)) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "Invalid UniqueName");
		return;
	}
	if (un && tp_sid_valid(un, NULL)) {
		/* A unique name that looks like a SID would shadow one. */
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "UniqueName must not look like a SID");
		return;
	}
	if (un && find_map(s, un, NULL)) {
		sim_resp_twilio_error(rs, TP_S_CONFLICT, TP_TW_SYNC_NAME_EXISTS,
		                      "Unique name already exists");
		return;
	}
	m = tp_xcalloc(1, sizeof *m);
	sim_new_sid(m->sid, "MP");
	m->created = m->updated = now;
	if (!map_ttl(rq, rs, m, now)) {
		map_free(m);
		return;
	}
	m->unique_name = un ? tp_xstrdup(un) : NULL;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->maps = tp_xrealloc(s->maps, s->cap * sizeof *s->maps);
	}
	s->maps[s->n++] = m;
	reply_object(rs, TP_S_CREATED, map_json(s, m));
}

/* ---------------------------------------------------------------- items */

static bool item_ttls(const sim_req *rq, sim_resp *rs, smap *m, item *it, time_t now, bool *changed)
{
	bool set_t, set_i, set_c;
	long t = 0, i = 0, c = 0;

	if (!read_ttl(rq, rs, "Ttl", &set_t, &t) || !read_ttl(rq, rs, "ItemTtl", &set_i, &i) ||
	    !read_ttl(rq, rs, "CollectionTtl", &set_c, &c))
		return false;
	/* Ttl is an alias of ItemTtl (contract 6.3); without either the
	 * expiry is left as it was. */
	if (set_i || set_t) {
		it->expires = expiry(set_i ? i : t, now);
		*changed = true;
	}
	if (set_c) {
		m->expires = expiry(c, now);
		*changed = true;
	}
	return true;
}

static void items_list(const sim_req *rq, sim_resp *rs, const service *s, const smap *m)
{
	const char *order = tp_params_get(&rq->query, "Order");
	const char *from = tp_params_get(&rq->query, "From");
	const char *bounds = tp_params_get(&rq->query, "Bounds");
	bool desc = false, exclusive = false;
	page pg;
	cJSON *j, *a;
	size_t i, pos, begin, count = 0, skip;
	tp_buf base, extra;

	if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "Order must be asc or desc");
		return;
	}
	if (bounds && strcmp(bounds, "inclusive") != 0 && strcmp(bounds, "exclusive") != 0) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Bounds must be inclusive or exclusive");
		return;
	}
	if (!read_page(rq, rs, &pg))
		return;
	desc = order && strcmp(order, "desc") == 0;
	exclusive = bounds && strcmp(bounds, "exclusive") == 0;
	/* The window of keys at or after From (asc) / at or before (desc). */
	if (!from) {
		begin = desc ? m->n : 0;
	} else {
		bool found = find_item(m, from, &pos) != NULL;
		if (desc)
			begin = found && !exclusive ? pos + 1 : pos;
		else
			begin = found && exclusive ? pos + 1 : pos;
	}
	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "items");
	skip = (size_t)(pg.index * pg.size);
	if (desc) {
		for (i = begin; i > 0; i--) {
			if (count >= skip && count < skip + (size_t)pg.size)
				cJSON_AddItemToArray(a, item_json(s, m, m->items[i - 1]));
			count++;
		}
	} else {
		for (i = begin; i < m->n; i++) {
			if (count >= skip && count < skip + (size_t)pg.size)
				cJSON_AddItemToArray(a, item_json(s, m, m->items[i]));
			count++;
		}
	}
	tp_buf_init(&base, 4096);
	tp_buf_init(&extra, 4096);
	url_map(&base, s, m);
	tp_buf_adds(&base, "/Items");
	if (order)
		tp_buf_addf(&extra, "Order=%s&", order);
	if (from) {
		tp_buf_adds(&extra, "From=");
		tp_url_encode(&extra, from);
		tp_buf_addc(&extra, '&');
	}
	if (bounds)
		tp_buf_addf(&extra, "Bounds=%s&", bounds);
	cJSON_AddItemToObject(j, "meta",
	                      meta_json("items", tp_buf_str(&base), tp_buf_str(&extra), &pg,
	                                count > skip + (size_t)pg.size));
	tp_buf_free(&base);
	tp_buf_free(&extra);
	sim_resp_json(rs, TP_S_OK, j);
}

static void item_create(const sim_req *rq, sim_resp *rs, const service *s, smap *m, time_t now)
{
	const char *key = tp_params_get(&rq->form, "Key");
	cJSON *data;
	item *it;
	size_t pos;
	bool changed = false;

	if (!key || !*key) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Missing required parameter Key in the post body");
		return;
	}
	if (strlen(key) > KEY_MAX) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Key is longer than %d characters", KEY_MAX);
		return;
	}
	data = read_data(rq, rs, true);
	if (!data)
		return;
	if (find_item(m, key, &pos)) {
		cJSON_Delete(data);
		sim_resp_twilio_error(rs, TP_S_CONFLICT, TP_TW_SYNC_ITEM_EXISTS,
		                      "Map Item with Key=%s already exists", key);
		return;
	}
	it = tp_xcalloc(1, sizeof *it);
	it->key = tp_xstrdup(key);
	it->data = data;
	it->created = it->updated = now;
	if (!item_ttls(rq, rs, m, it, now, &changed)) {
		item_free(it);
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->items = tp_xrealloc(m->items, m->cap * sizeof *m->items);
	}
	memmove(&m->items[pos + 1], &m->items[pos], (m->n - pos) * sizeof *m->items);
	m->items[pos] = it;
	m->n++;
	m->rev++;
	m->updated = now;
	reply_object(rs, TP_S_CREATED, item_json(s, m, it));
}

static void item_update(const sim_req *rq, sim_resp *rs, const service *s, smap *m, item *it,
                        time_t now)
{
	cJSON *data = NULL;
	bool changed = false;
	time_t old_item = it->expires, old_map = m->expires;

	if (!if_match_ok(rq, it->rev)) {
		sim_resp_twilio_error(rs, TP_S_PRECONDITION_FAILED, TP_TW_SYNC_ITEM_REVISION,
		                      "The revision of the Map Item does not match the If-Match "
		                      "header");
		return;
	}
	if (tp_params_get(&rq->form, "Data")) {
		data = read_data(rq, rs, true);
		if (!data)
			return;
	}
	if (!item_ttls(rq, rs, m, it, now, &changed)) {
		it->expires = old_item;
		m->expires = old_map;
		cJSON_Delete(data);
		return;
	}
	if (!data && !changed) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Nothing to update: send Data or a TTL");
		return;
	}
	if (data) {
		cJSON_Delete(it->data);
		it->data = data;
	}
	it->rev++;
	it->updated = now;
	m->rev++;
	m->updated = now;
	reply_object(rs, TP_S_OK, item_json(s, m, it));
}

/* ---------------------------------------------------------------- access */

static perm *find_perm(smap *m, const char *identity)
{
	size_t i;

	for (i = 0; i < m->nperms; i++)
		if (strcmp(m->perms[i].identity, identity) == 0)
			return &m->perms[i];
	return NULL;
}

typedef enum need { NEED_READ, NEED_WRITE, NEED_MANAGE, NEED_ADMIN } need;

/* True when the request may do what it asks; answers 403 54007 otherwise.
 * Basic auth (the backend) may do everything. */
static bool allowed(const sim_req *rq, sim_resp *rs, const service *s, smap *m, need n)
{
	const perm *p;
	bool ok;

	if (!rq->token_identity)
		return true;
	if (n == NEED_ADMIN || !s || strcmp(rq->token_service, s->sid) != 0)
		ok = false;
	else if (!s->acl)
		ok = true;
	else if (!m || !(p = find_perm(m, rq->token_identity)))
		ok = false;
	else
		ok = n == NEED_READ ? p->read : n == NEED_WRITE ? p->write : p->manage;
	if (!ok)
		sim_resp_twilio_error(rs, TP_S_FORBIDDEN, 54007, "Access forbidden for identity %s",
		                      rq->token_identity);
	return ok;
}

static cJSON *perm_json(const service *s, const smap *m, const perm *p)
{
	cJSON *j = cJSON_CreateObject();
	tp_buf u;

	tp_buf_init(&u, 8192);
	url_map(&u, s, m);
	tp_buf_adds(&u, "/Permissions");
	tp_api_add_segment(&u, p->identity);
	cJSON_AddStringToObject(j, "account_sid", sim_conf.account_sid);
	cJSON_AddStringToObject(j, "service_sid", s->sid);
	cJSON_AddStringToObject(j, "map_sid", m->sid);
	cJSON_AddStringToObject(j, "identity", p->identity);
	cJSON_AddBoolToObject(j, "read", p->read);
	cJSON_AddBoolToObject(j, "write", p->write);
	cJSON_AddBoolToObject(j, "manage", p->manage);
	cJSON_AddStringToObject(j, "url", tp_buf_str(&u));
	tp_buf_free(&u);
	return j;
}

static void perms_list(const sim_req *rq, sim_resp *rs, const service *s, const smap *m)
{
	page pg;
	cJSON *j, *a;
	size_t i, start;
	tp_buf base;

	if (!read_page(rq, rs, &pg))
		return;
	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "permissions");
	start = (size_t)(pg.index * pg.size);
	for (i = start; i < m->nperms && i < start + (size_t)pg.size; i++)
		cJSON_AddItemToArray(a, perm_json(s, m, &m->perms[i]));
	tp_buf_init(&base, 4096);
	url_map(&base, s, m);
	tp_buf_adds(&base, "/Permissions");
	cJSON_AddItemToObject(j, "meta",
	                      meta_json("permissions", tp_buf_str(&base), "", &pg,
	                                m->nperms > start + (size_t)pg.size));
	tp_buf_free(&base);
	sim_resp_json(rs, TP_S_OK, j);
}

/* GET / POST (Read, Write, Manage: all required) / DELETE (all false). */
static void perm_one(const sim_req *rq, sim_resp *rs, const service *s, smap *m,
                     const char *identity)
{
	perm *p = find_perm(m, identity);
	perm none = {(char *)identity, false, false, false};

	if (strlen(identity) > 256) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001,
		                      "Identity is longer than 256 characters");
		return;
	}
	if (strcmp(rq->method, "GET") == 0) {
		sim_resp_json(rs, TP_S_OK, perm_json(s, m, p ? p : &none));
	} else if (strcmp(rq->method, "POST") == 0) {
		static const char *const names[] = {"Read", "Write", "Manage"};
		bool v[3];
		size_t i;
		for (i = 0; i < 3; i++) {
			if (!tp_params_get(&rq->form, names[i])) {
				sim_resp_twilio_error(
				    rs, TP_S_BAD_REQUEST, 20001,
				    "Missing required parameter %s in the post body", names[i]);
				return;
			}
			v[i] = false;
			if (!read_bool(rq, rs, names[i], &v[i]))
				return;
		}
		if (!p) {
			if (m->nperms == m->capperms) {
				m->capperms = m->capperms ? 2 * m->capperms : 8;
				m->perms = tp_xrealloc(m->perms, m->capperms * sizeof *m->perms);
			}
			p = &m->perms[m->nperms++];
			p->identity = tp_xstrdup(identity);
		}
		p->read = v[0];
		p->write = v[1];
		p->manage = v[2];
		sim_resp_json(rs, TP_S_OK, perm_json(s, m, p));
	} else if (strcmp(rq->method, "DELETE") == 0) {
		if (p) {
			free(p->identity);
			*p = m->perms[--m->nperms];
		}
		sim_resp_text(rs, TP_S_NO_CONTENT, NULL, "");
	} else {
		sim_resp_twilio_error(rs, TP_S_METHOD_NOT_ALLOWED, 20004, "Method not allowed");
	}
}

/* ---------------------------------------------------------------- routing */

static void method_not_allowed(sim_resp *rs)
{
	sim_resp_twilio_error(rs, TP_S_METHOD_NOT_ALLOWED, 20004, "Method not allowed");
}

static void not_found(const sim_req *rq, sim_resp *rs)
{
	/* The path without the /v1 prefix, as Twilio words it. */
	sim_resp_twilio_error(rs, TP_S_NOT_FOUND, TP_TW_NOT_FOUND,
	                      "The requested resource %s was not found", rq->path + 3);
}

void sim_sync_api(sim_req *rq, sim_resp *rs)
{
	const char *m = rq->method;
	bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0,
	     del = strcmp(m, "DELETE") == 0;
	time_t now = time(NULL);
	service *s;
	smap *mp;
	size_t idx = 0, pos;

	if (rq->nseg < 2 || strcmp(rq->seg[1], "Services") != 0 || rq->nseg > 7) {
		not_found(rq, rs);
		return;
	}
	pthread_mutex_lock(&sim_lock);
	purge(now);
	if (rq->nseg == 2) {
		if (!allowed(rq, rs, NULL, NULL, NEED_ADMIN))
			goto out;
		if (get)
			services_list(rq, rs);
		else if (post)
			service_create(rq, rs, now);
		else
			method_not_allowed(rs);
		goto out;
	}
	s = find_service(rq->seg[2]);
	if (!s) {
		not_found(rq, rs);
		goto out;
	}
	if (rq->nseg == 3) {
		if (!allowed(rq, rs, s, NULL, NEED_ADMIN))
			goto out;
		if (get) {
			sim_resp_json(rs, TP_S_OK, service_json(s));
		} else if (post) {
			if (service_fields(rq, rs, s)) {
				s->updated = now;
				sim_resp_json(rs, TP_S_OK, service_json(s));
			}
		} else if (del) {
			size_t i;
			for (i = 0; i < nservices && services[i] != s; i++)
				;
			memmove(&services[i], &services[i + 1],
			        (nservices - i - 1) * sizeof *services);
			nservices--;
			service_free(s);
			sim_resp_text(rs, TP_S_NO_CONTENT, NULL, "");
		} else {
			method_not_allowed(rs);
		}
		goto out;
	}
	if (strcmp(rq->seg[3], "Maps") != 0) {
		not_found(rq, rs);
		goto out;
	}
	if (rq->nseg == 4) {
		/* Listing or creating maps: the backend's, or any token while
		 * the ACL is off. */
		if (rq->token_identity && s->acl && !allowed(rq, rs, s, NULL, NEED_ADMIN))
			goto out;
		if (!allowed(rq, rs, s, NULL, NEED_READ))
			goto out;
		if (get)
			maps_list(rq, rs, s);
		else if (post)
			map_create(rq, rs, s, now);
		else
			method_not_allowed(rs);
		goto out;
	}
	mp = find_map(s, rq->seg[4], &idx);
	if (!mp) {
		not_found(rq, rs);
		goto out;
	}
	if (rq->nseg == 5) {
		if (!allowed(rq, rs, s, mp, get ? NEED_READ : NEED_MANAGE))
			goto out;
		if (get) {
			reply_object(rs, TP_S_OK, map_json(s, mp));
		} else if (post) {
			if (map_ttl(rq, rs, mp, now)) {
				mp->updated = now;
				mp->rev++;
				reply_object(rs, TP_S_OK, map_json(s, mp));
			}
		} else if (del) {
			memmove(&s->maps[idx], &s->maps[idx + 1],
			        (s->n - idx - 1) * sizeof *s->maps);
			s->n--;
			map_free(mp);
			sim_resp_text(rs, TP_S_NO_CONTENT, NULL, "");
		} else {
			method_not_allowed(rs);
		}
		goto out;
	}
	if (strcmp(rq->seg[5], "Permissions") == 0) {
		if (!allowed(rq, rs, s, mp, NEED_ADMIN))
			goto out;
		if (rq->nseg == 6 && get)
			perms_list(rq, rs, s, mp);
		else if (rq->nseg == 6)
			method_not_allowed(rs);
		else
			perm_one(rq, rs, s, mp, rq->seg[6]);
		goto out;
	}
	if (strcmp(rq->seg[5], "Items") != 0) {
		not_found(rq, rs);
		goto out;
	}
	if (!allowed(rq, rs, s, mp, get ? NEED_READ : NEED_WRITE))
		goto out;
	if (rq->nseg == 6) {
		if (get)
			items_list(rq, rs, s, mp);
		else if (post)
			item_create(rq, rs, s, mp, now);
		else
			method_not_allowed(rs);
		goto out;
	}
	{
		item *it = find_item(mp, rq->seg[6], &pos);
		if (!it) {
			not_found(rq, rs);
			goto out;
		}
		if (get) {
			reply_object(rs, TP_S_OK, item_json(s, mp, it));
		} else if (post) {
			item_update(rq, rs, s, mp, it, now);
		} else if (del) {
			if (!if_match_ok(rq, it->rev)) {
				sim_resp_twilio_error(rs, TP_S_PRECONDITION_FAILED,
				                      TP_TW_SYNC_ITEM_REVISION,
				                      "The revision of the Map Item does not match "
				                      "the If-Match header");
				goto out;
			}
			memmove(&mp->items[pos], &mp->items[pos + 1],
			        (mp->n - pos - 1) * sizeof *mp->items);
			mp->n--;
			item_free(it);
			mp->rev++;
			mp->updated = now;
			sim_resp_text(rs, TP_S_NO_CONTENT, NULL, "");
		} else {
			method_not_allowed(rs);
		}
	}
out:
	pthread_mutex_unlock(&sim_lock);
}
