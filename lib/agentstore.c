/*
 * agentstore.c - where the agents live: AGENTS_FILE on one node, or the
 * Sync map AGENTS_SYNC_MAP (in PAY_SYNC_SERVICE_SID) that every node of a
 * deployment shares (docs/multinode.md).
 *
 * Why Sync and not each node's own file: a token carries a tag of the
 * agent's stored hash (lib/agent.c), and every request compares it with
 * the store, so a password changed or an agent deleted on one node must
 * be what every other node reads.  Sync is where this product already
 * keeps its records (DESIGN.md: "Twilio Sync for records"); payments
 * cannot run without it anyway, so it adds no new way to fail.  Rejected:
 * Redis (losing Redis may only degrade live updates, never stop logins or
 * token checks); a file copied to every node (a change reaches the others
 * only when someone copies it).
 *
 * A record is the item {"hash": "<crypt(3) hash>", "mac": "<hex
 * HMAC-SHA256(AGENT_SECRET, "twiliopay-agent|<name>|<hash>")>"}, key =
 * the agent's name, no TTL.  The MAC means that whoever can write to Sync
 * without AGENT_SECRET (a leaked Sync token, a Console user) cannot add an
 * agent or set a password; a record that fails it counts as no agent and
 * is logged.  The map gets no grant for client tokens (getSyncToken).
 *
 * Cache: login always reads Sync.  The check of every other agent request
 * reads a per-process copy of the agent's record at most AGENTS_CACHE_S
 * (default 30) seconds old; so a password change or a deletion made
 * anywhere stops that agent's tokens on every node within AGENTS_CACHE_S
 * seconds (0: every request reads Sync).  A token whose tag differs from a
 * cached record and that was issued after (or up to CLOCK_SKEW_S before)
 * that record was read re-reads Sync first: an agent who just logged in
 * elsewhere with a new password is not turned away by an older copy,
 * while a revoked token, older than the copy, never makes a Sync read.  When Sync cannot be read
 * the answer is 503, not 401: an outage is not a reason to send agents back to the sign-in form.
 *
 * Threads: the cache is one table per process behind a mutex.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "internal.h"

#define CACHE_SLOTS      256
#define CLOCK_SKEW_S     5 /* between the nodes' clocks (NTP keeps them closer) */
#define AGENT_MAC_PREFIX "twiliopay-agent|"

bool tp_agent_store_is_sync(const tp_config *cfg)
{
	return cfg->agents_sync_map && *cfg->agents_sync_map;
}

void tp_agent_record_mac(const char *secret, const char *name, const char *hash, char hex[65])
{
	unsigned char mac[32];
	tp_buf m;

	tp_buf_init(&m, 4096);
	tp_buf_addf(&m, AGENT_MAC_PREFIX "%s|%s", name, hash);
	tp_hmac_sha256(secret, tp_buf_str(&m), m.len, mac);
	tp_hex(mac, sizeof mac, hex);
	tp_buf_free(&m);
}

cJSON *tp_agent_record(const char *secret, const char *name, const char *hash)
{
	char mac[65];
	cJSON *o = cJSON_CreateObject();

	tp_agent_record_mac(secret, name, hash, mac);
	cJSON_AddStringToObject(o, "hash", hash);
	cJSON_AddStringToObject(o, "mac", mac);
	return o;
}

tp_rc tp_agent_record_hash(const char *secret, const char *name, const cJSON *data, char **hash)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(data, "hash");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(data, "mac");
	char want[65];

	*hash = NULL;
	if (!cJSON_IsString(h) || !cJSON_IsString(m) || !secret || !*secret)
		return TP_ENOTFOUND;
	tp_agent_record_mac(secret, name, h->valuestring, want);
	if (!tp_ct_streq(m->valuestring, want)) {
		tp_log_kv(TP_LOG_ERROR,
		          "agent record in Sync fails its MAC (not written with AGENT_SECRET); "
		          "treated as no agent",
		          "agent", name);
		return TP_ENOTFOUND;
	}
	*hash = tp_xstrdup(h->valuestring);
	return TP_OK;
}

/* The record in Sync, read now. */
static tp_rc sync_read(const tp_config *cfg, const char *name, char **hash)
{
	tp_api_result r;
	tp_rc rc;

	*hash = NULL;
	if (!cfg->pay_sync_service_sid || !cfg->account_sid || !cfg->auth_token) {
		tp_log_kv(TP_LOG_ERROR,
		          "AGENTS_SYNC_MAP needs ACCOUNT_SID, AUTH_TOKEN and PAY_SYNC_SERVICE_SID",
		          NULL, NULL);
		return TP_ECONFIG;
	}
	if (!tp_agent_name_valid(name))
		return TP_ENOTFOUND;
	if (tp_sync_item_fetch(cfg, cfg->pay_sync_service_sid, cfg->agents_sync_map, name, &r)) {
		rc = tp_agent_record_hash(cfg->agent_secret, name,
		                          cJSON_GetObjectItemCaseSensitive(r.json, "data"), hash);
	} else if (r.status == 404) {
		rc = TP_ENOTFOUND;
	} else {
		tp_log_kv(TP_LOG_ERROR, "cannot read the agent store (Sync)", "map",
		          cfg->agents_sync_map, "error", r.err.message);
		rc = TP_EUNAVAIL;
	}
	tp_api_result_free(&r);
	return rc;
}

/* ------------------------------------------------------------ cache */

typedef struct cache_ent {
	char name[TP_AGENT_NAME_MAX + 1]; /* "" = free */
	char tag[TP_AGENT_TAG_LEN + 1];   /* "" when the agent does not exist */
	long long read_ms;                /* monotonic time of the Sync read */
	time_t read_wall;                 /* the same, wall clock (tokens' iat) */
} cache_ent;

static cache_ent cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The agent's cached entry copied into *e; false when none. */
static bool cache_get(const char *name, cache_ent *e)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < CACHE_SLOTS && !found; i++)
		if (strcmp(cache[i].name, name) == 0) {
			*e = cache[i];
			found = true;
		}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

/* Stores the agent's entry in its own slot, else a free one, else the
 * oldest. */
static void cache_put(const char *name, const char *tag, long long read_ms)
{
	size_t i, slot = CACHE_SLOTS;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < CACHE_SLOTS && slot == CACHE_SLOTS; i++)
		if (strcmp(cache[i].name, name) == 0)
			slot = i;
	for (i = 0; i < CACHE_SLOTS && slot == CACHE_SLOTS; i++)
		if (!cache[i].name[0])
			slot = i;
	if (slot == CACHE_SLOTS)
		for (i = slot = 0; i < CACHE_SLOTS; i++)
			if (cache[i].read_ms < cache[slot].read_ms)
				slot = i;
	snprintf(cache[slot].name, sizeof cache[slot].name, "%s", name);
	snprintf(cache[slot].tag, sizeof cache[slot].tag, "%s", tag);
	cache[slot].read_ms = read_ms;
	cache[slot].read_wall = time(NULL);
	pthread_mutex_unlock(&cache_lock);
}

void tp_agent_store_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	memset(cache, 0, sizeof cache);
	pthread_mutex_unlock(&cache_lock);
}

/* Reads Sync and caches what it says about the agent. */
static tp_rc sync_tag(const tp_config *cfg, const char *name, char tag[TP_AGENT_TAG_LEN + 1])
{
	char *hash = NULL;
	long long t = now_ms();
	tp_rc rc = sync_read(cfg, name, &hash);

	tag[0] = '\0';
	if (rc == TP_OK)
		tp_agent_hash_tag(hash, tag);
	if (rc == TP_OK || rc == TP_ENOTFOUND)
		cache_put(name, tag, t);
	free(hash);
	return rc;
}

/* ------------------------------------------------------------ the store */

tp_rc tp_agent_store_hash(const tp_config *cfg, const char *name, char **hash)
{
	*hash = NULL;
	if (tp_agent_store_is_sync(cfg))
		return sync_read(cfg, name, hash);
	return tp_agent_lookup(cfg->agents_file, name, hash);
}

tp_rc tp_agent_store_tag(const tp_config *cfg, const char *name, char tag[TP_AGENT_TAG_LEN + 1])
{
	cache_ent e;

	tag[0] = '\0';
	/* A local file is cheap to read: every request reads it, so a
	 * change revokes at once. */
	if (!tp_agent_store_is_sync(cfg))
		return tp_agent_current_tag(cfg->agents_file, name, tag);
	if (!tp_agent_name_valid(name))
		return TP_ENOTFOUND;
	if (cfg->agents_cache_s > 0 && cache_get(name, &e) &&
	    now_ms() - e.read_ms < cfg->agents_cache_s * 1000) {
		snprintf(tag, TP_AGENT_TAG_LEN + 1, "%s", e.tag);
		return e.tag[0] ? TP_OK : TP_ENOTFOUND;
	}
	return sync_tag(cfg, name, tag);
}

tp_rc tp_agent_store_check_tag(const tp_config *cfg, const char *name, const char *pwh, time_t iat)
{
	char tag[TP_AGENT_TAG_LEN + 1];
	cache_ent e;
	tp_rc rc = tp_agent_store_tag(cfg, name, tag);

	if (rc == TP_OK && pwh && tp_ct_streq(pwh, tag))
		return TP_OK;
	if (rc != TP_OK && rc != TP_ENOTFOUND)
		return rc;
	/* Differs from a copy read before this token was issued: the
	 * password may have changed since, and the token come from a login
	 * elsewhere.  Sync decides. */
	if (tp_agent_store_is_sync(cfg) && cache_get(name, &e) &&
	    iat >= e.read_wall - CLOCK_SKEW_S) {
		rc = sync_tag(cfg, name, tag);
		if (rc == TP_OK && pwh && tp_ct_streq(pwh, tag))
			return TP_OK;
		if (rc != TP_OK && rc != TP_ENOTFOUND)
			return rc;
	}
	return TP_ENOTFOUND;
}

tp_rc tp_agent_store_login(const tp_config *cfg, const char *name, const char *password,
                           char tag[TP_AGENT_TAG_LEN + 1])
{
	char *hash = NULL;
	tp_rc rc;

	tag[0] = '\0';
	if (!tp_agent_store_is_sync(cfg))
		return tp_agent_check_password(cfg->agents_file, name, password, tag);
	rc = sync_read(cfg, name, &hash);
	if (rc == TP_OK || rc == TP_ENOTFOUND) {
		rc = tp_agent_verify_hash(name, rc, hash, password, tag);
		/* What Sync says now is what this process checks next. */
		if (rc == TP_OK)
			cache_put(name, tag, now_ms());
	}
	free(hash);
	return rc;
}

tp_rc tp_agent_store_set(const tp_config *cfg, const char *name, const char *hash,
                         tp_twilio_error *err)
{
	tp_api_result r;
	cJSON *rec;
	bool ok;

	memset(err, 0, sizeof *err);
	if (!tp_agent_store_is_sync(cfg))
		return tp_agents_file_set(cfg->agents_file, name, hash);
	if (!tp_agent_name_valid(name) || !cfg->agent_secret || !cfg->pay_sync_service_sid)
		return TP_EINVAL;
	if (!hash) {
		ok = tp_sync_item_delete(cfg, cfg->pay_sync_service_sid, cfg->agents_sync_map, name,
		                         &r);
		if (!ok && r.status == 404) {
			tp_api_result_free(&r);
			return TP_ENOTFOUND;
		}
	} else {
		rec = tp_agent_record(cfg->agent_secret, name, hash);
		ok = tp_sync_item_upsert(cfg, cfg->pay_sync_service_sid, cfg->agents_sync_map, name,
		                         rec, 0, &r);
		cJSON_Delete(rec);
	}
	if (!ok)
		*err = r.err;
	tp_api_result_free(&r);
	return ok ? TP_OK : TP_EIO;
}

tp_rc tp_agent_store_list(const tp_config *cfg, tp_buf *names, tp_twilio_error *err)
{
	tp_buf url, prefix;
	tp_rc rc = TP_OK;
	int page;

	memset(err, 0, sizeof *err);
	if (!tp_agent_store_is_sync(cfg))
		return tp_agents_file_list(cfg->agents_file, names);
	if (!cfg->pay_sync_service_sid)
		return TP_EINVAL;
	tp_buf_init(&url, 8192);
	tp_buf_init(&prefix, 4096);
	tp_buf_adds(&prefix, cfg->twilio_sync_url);
	tp_buf_adds(&prefix, "/v1/Services");
	tp_api_add_segment(&prefix, cfg->pay_sync_service_sid);
	tp_buf_adds(&prefix, "/Maps");
	tp_api_add_segment(&prefix, cfg->agents_sync_map);
	tp_buf_adds(&prefix, "/Items");
	tp_buf_addf(&url, "%s?PageSize=100", tp_buf_str(&prefix));
	/* Every page (twilio-contract.md 1.4: meta.next_page_url is absolute);
	 * our credentials follow only links into our own map. */
	for (page = 0; page < 1000 && url.len; page++) {
		tp_api_result r;
		const cJSON *items, *it, *meta, *next;
		if (!tp_api_call(cfg, "GET", tp_buf_str(&url), NULL, NULL, tp_api_budget_ms(cfg),
		                 &r)) {
			*err = r.err;
			tp_api_result_free(&r);
			rc = TP_EIO;
			break;
		}
		items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
		cJSON_ArrayForEach (it, items) {
			const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
			if (cJSON_IsString(k) && tp_agent_name_valid(k->valuestring))
				tp_buf_addf(names, "%s\n", k->valuestring);
		}
		meta = cJSON_GetObjectItemCaseSensitive(r.json, "meta");
		next = cJSON_GetObjectItemCaseSensitive(meta, "next_page_url");
		tp_buf_reset(&url);
		if (cJSON_IsString(next) && tp_str_prefix(next->valuestring, tp_buf_str(&prefix)))
			tp_buf_adds(&url, next->valuestring);
		tp_api_result_free(&r);
	}
	tp_buf_free(&url);
	tp_buf_free(&prefix);
	return rc;
}

void tp_agent_store_reply(tp_resp *resp, const tp_config *cfg, tp_rc rc)
{
	if (rc == TP_EUNAVAIL) {
		tp_resp_header(resp, "Retry-After", "5");
		tp_reply_error(
		    resp, TP_S_SERVICE_UNAVAILABLE, "agents_unavailable",
		    "the agent store (Twilio Sync) cannot be reached; try again shortly");
	} else if (tp_agent_store_is_sync(cfg)) {
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "agents_store",
		               "the agent store is not usable (AGENTS_SYNC_MAP needs "
		               "PAY_SYNC_SERVICE_SID and the Twilio credentials)");
	} else {
		tp_log_kv(TP_LOG_ERROR, "cannot read AGENTS_FILE", "path", cfg->agents_file);
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "agents_file",
		               "the agents file cannot be read (AGENTS_FILE)");
	}
}
