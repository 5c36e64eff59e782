/*
 * setupSyncServices - /sync/setupSyncServices, the one-time Sync setup
 * (DESIGN.md; twilio-contract.md sections 6.1, 6.2 and 11).
 *
 * Finds the Sync service whose friendly_name is PAY_SYNC_SERVICE_NAME
 * (every page of the service list) or creates it, then each map by unique
 * name (SYNC_PAY_MAP_NAME, SYNC_UUI_MAP_NAME): fetch, and create on 404.
 *
 * The service is created with AclEnabled=true, and a service found
 * without it gets it turned on (reported as "turned-on"): with the ACL
 * off, any Access Token for the service may read and write every object
 * ("Securing your Sync App": token identities are then ignored; error
 * 54007's page: disabling ACL "will allow access from any SDK with a
 * valid token"), so one agent's token could rewrite another agent's
 * payment in payMap.  With it on, a token reaches only what the Map
 * Permission resource grants its identity (getSyncToken grants read on
 * payMap, and only when ENABLE_SYNC_TOKENS is set); our own REST calls
 * (account credentials) are not subject to it.
 *
 * Running it again changes nothing and says "exists" for each resource, so
 * it is safe to run at every start-up (scripts/setup-sync does, for `make
 * run`).  The Node original looked at the first page of services only and
 * answered HTML; this answers JSON for curl and scripts, HTML for a
 * browser (Accept), with the service SID ready to copy into .env.
 *
 * Admin only: Authorization: Bearer <ADMIN_TOKEN>.  A browser cannot send
 * that header from the address bar, so nginx answers a browser without it
 * with www/public/setup.html (401), a page that asks for the token and
 * repeats the request with it (a token in the URL would end up in
 * histories and proxy logs); nginx/twiliopay.conf.in says how.  Reached
 * without nginx, the handler's own 401 page says where to go.
 *
 * PAY_SYNC_SERVICE_SID is deliberately not needed: this creates it.
 */
#include <stdio.h>
#include <string.h>

#include "twiliopay.h"

static const char *const need[] = {"ACCOUNT_SID", "AUTH_TOKEN", "ADMIN_TOKEN",
                                   "PAY_SYNC_SERVICE_NAME", NULL};

#define MAX_MAPS 3

typedef struct resource {
	const char *name;
	char sid[TP_SID_SIZE];
	const char *status; /* "exists" or "created" */
} resource;

typedef struct setup {
	const tp_config *cfg;
	resource service;
	bool acl;               /* the service's acl_enabled as found */
	const char *acl_status; /* "on" (created so, or found so) or "turned-on" */
	resource maps[MAX_MAPS];
	size_t nmaps;
	cJSON *warnings; /* array of strings */
	/* When a Sync call failed: */
	char step[160];
	long sync_status; /* HTTP status Sync answered, 0 if none */
	tp_twilio_error err;
} setup;

/* The setup is an admin action, not a webhook with Twilio's 15 s limit,
 * but it should not outlast one HTTP timeout per call either: a Sync that
 * is down is reported promptly and the admin simply runs it again.  The
 * lib/sync.c calls take their budget from the configuration, so the setup
 * runs on a copy whose API_RETRY_BUDGET_MS is capped by HTTP_TIMEOUT_MS. */
static tp_config with_budget(const tp_config *cfg)
{
	tp_config c = *cfg;
	long b = tp_api_budget_ms(cfg);

	c.api_retry_budget_ms = cfg->http_timeout_ms < b ? cfg->http_timeout_ms : b;
	return c;
}

static void warn(setup *s, const char *fmt, ...) TP_PRINTF(2, 3);
static void warn(setup *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(s->warnings, cJSON_CreateString(msg));
}

/* Records the step that failed and Sync's answer to it (s->step set
 * means the setup stops and reply_failed answers).  `unusable`: Sync
 * answered without error, but not with what we need (why, instead of
 * Sync's message). */
static void sync_failed(setup *s, const tp_api_result *r, const char *unusable, const char *fmt,
                        ...) TP_PRINTF(4, 5);
static void sync_failed(setup *s, const tp_api_result *r, const char *unusable, const char *fmt,
                        ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->step, sizeof s->step, fmt, ap);
	va_end(ap);
	s->sync_status = r->status;
	s->err = r->err;
	if (unusable)
		snprintf(s->err.message, sizeof s->err.message, "%s", unusable);
}

/* A "sid" of the expected prefix from a Sync answer, or false. */
static bool take_sid(const cJSON *obj, const char *prefix, char *out, size_t n)
{
	const cJSON *sid = cJSON_GetObjectItemCaseSensitive(obj, "sid");

	if (!cJSON_IsString(sid) || !tp_sid_valid(sid->valuestring, prefix))
		return false;
	snprintf(out, n, "%s", sid->valuestring);
	return true;
}

/* Looks for the service by friendly_name over every page of the list:
 * TP_OK (s->service.sid "" when there is none), TP_EIO when Sync failed. */
static tp_rc find_service(setup *s)
{
	tp_sync_service_match m;
	tp_api_result r;
	tp_rc rc = TP_EIO;

	if (!tp_sync_service_find(s->cfg, s->service.name, &m, &r)) {
		sync_failed(s, &r, NULL,
		            r.status >= 200 && r.status < 300 ? "read the Sync service list"
		                                              : "list the Sync services");
		goto out;
	}
	snprintf(s->service.sid, sizeof s->service.sid, "%s", m.sid);
	s->acl = m.acl_enabled;
	if (m.foreign_next)
		warn(s,
		     "the service list continues at a URL outside %s/v1/Services; only the pages "
		     "before it were searched",
		     s->cfg->twilio_sync_url);
	if (!m.all_pages)
		warn(s, "only the first %d pages of services were searched", TP_SYNC_MAX_PAGES);
	if (m.matches > 1)
		warn(s, "%d Sync services are named %s; using the first, %s", m.matches,
		     s->service.name, s->service.sid);
	rc = TP_OK;
out:
	tp_api_result_free(&r);
	return rc;
}

/* Turns AclEnabled on for a service found (or created) without it; Sync
 * must answer acl_enabled true. */
static tp_rc acl_turn_on(setup *s)
{
	tp_api_result r;
	tp_rc rc = TP_EIO;

	if (!tp_sync_service_acl_on(s->cfg, s->service.sid, &r)) {
		sync_failed(s, &r, NULL,
		            "turn on access control (AclEnabled) of the Sync service %s",
		            s->service.sid);
		goto out;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "acl_enabled"))) {
		sync_failed(s, &r, "the answer does not say acl_enabled is true",
		            "turn on access control (AclEnabled) of the Sync service %s",
		            s->service.sid);
		goto out;
	}
	s->acl_status = "turned-on";
	rc = TP_OK;
out:
	tp_api_result_free(&r);
	return rc;
}

static tp_rc ensure_service(setup *s)
{
	tp_api_result r;
	tp_rc rc = find_service(s);

	if (rc != TP_OK)
		return rc;
	if (s->service.sid[0]) {
		s->service.status = "exists";
		if (!s->acl)
			return acl_turn_on(s);
		s->acl_status = "on";
		return TP_OK;
	}
	rc = TP_EIO;
	if (!tp_sync_service_create(s->cfg, s->service.name, &r)) {
		sync_failed(s, &r, NULL, "create the Sync service %s", s->service.name);
		goto out;
	}
	if (!take_sid(r.json, "IS", s->service.sid, sizeof s->service.sid)) {
		sync_failed(s, &r, "the answer has no valid IS sid", "create the Sync service %s",
		            s->service.name);
		goto out;
	}
	s->service.status = "created";
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "acl_enabled"))) {
		s->acl_status = "on";
		rc = TP_OK;
	} else {
		/* Created, but the answer does not show AclEnabled: make the
		 * update a re-run would make (reported as turned-on). */
		rc = acl_turn_on(s);
	}
out:
	tp_api_result_free(&r);
	return rc;
}

/* The map by unique name: TP_OK with its sid, TP_ENOTFOUND on 404 (no
 * step recorded), TP_EIO otherwise. */
static tp_rc fetch_map(setup *s, resource *m)
{
	tp_api_result r;
	tp_rc rc = TP_EIO;

	if (!tp_sync_map_fetch(s->cfg, s->service.sid, m->name, &r)) {
		if (r.status == TP_S_NOT_FOUND)
			rc = TP_ENOTFOUND;
		else
			sync_failed(s, &r, NULL, "fetch the Sync map %s", m->name);
		goto out;
	}
	if (!take_sid(r.json, "MP", m->sid, sizeof m->sid)) {
		sync_failed(s, &r, "the answer has no valid MP sid", "fetch the Sync map %s",
		            m->name);
		goto out;
	}
	rc = TP_OK;
out:
	tp_api_result_free(&r);
	return rc;
}

static tp_rc ensure_map(setup *s, resource *m)
{
	tp_api_result r;
	tp_rc rc = fetch_map(s, m);

	if (rc == TP_OK)
		m->status = "exists";
	if (rc != TP_ENOTFOUND)
		return rc;
	rc = TP_EIO;
	/* No TTL on the map itself: items carry theirs (contract 11). */
	if (tp_sync_map_create(s->cfg, s->service.sid, m->name, &r)) {
		if (!take_sid(r.json, "MP", m->sid, sizeof m->sid)) {
			sync_failed(s, &r, "the answer has no valid MP sid",
			            "create the Sync map %s", m->name);
			goto out;
		}
		m->status = "created";
		rc = TP_OK;
		goto out;
	}
	if (r.status != TP_S_CONFLICT && r.err.code != TP_TW_SYNC_NAME_EXISTS) {
		sync_failed(s, &r, NULL, "create the Sync map %s", m->name);
		goto out;
	}
	/* Someone else created it between our fetch and create. */
	rc = fetch_map(s, m);
	if (rc == TP_OK)
		m->status = "exists";
	else if (rc == TP_ENOTFOUND)
		sync_failed(s, &r, NULL, "create the Sync map %s", m->name);
out:
	tp_api_result_free(&r);
	return rc;
}

/* ------------------------------------------------------------ answers */

static cJSON *resource_json(const resource *r, const char *name_key)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, name_key, r->name);
	cJSON_AddStringToObject(o, "sid", r->sid);
	cJSON_AddStringToObject(o, "status", r->status);
	return o;
}

/* Everything done so far, for the answer (also after a failure). */
static void add_progress(cJSON *o, const setup *s)
{
	cJSON *maps = cJSON_CreateArray();
	size_t i;

	if (s->service.status) {
		cJSON *svc = resource_json(&s->service, "friendly_name");
		if (s->acl_status)
			cJSON_AddStringToObject(svc, "acl", s->acl_status);
		cJSON_AddItemToObject(o, "service", svc);
	}
	for (i = 0; i < s->nmaps; i++)
		if (s->maps[i].status)
			cJSON_AddItemToArray(maps, resource_json(&s->maps[i], "unique_name"));
	cJSON_AddItemToObject(o, "maps", maps);
}

static void html_escape(tp_buf *out, const char *s)
{
	tp_xml_escape(out, s);
}

static const char html_head[] = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                                "<title>GenesysPay: Sync setup</title>"
                                "<style>body{font:16px/1.5 system-ui,sans-serif;margin:2em;"
                                "max-width:48em}table{border-collapse:collapse}td,th{border:1px "
                                "solid #ccc;padding:.3em .6em;text-align:left}"
                                "code.copy{user-select:all;background:#f3f3f3;padding:.3em "
                                ".5em;display:inline-block}"
                                ".created{color:#06602a}.error{color:#a00000}</style>"
                                "</head><body>\n";

/* No script runs on the pages this handler writes. */
static void add_csp(tp_resp *resp)
{
	tp_resp_header(resp, "Content-Security-Policy",
	               "default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; "
	               "form-action 'none'; frame-ancestors 'none'; base-uri 'none'");
}

static void html_resources(tp_buf *b, const setup *s)
{
	size_t i;

	tp_buf_adds(b,
	            "<table><tr><th>resource</th><th>name</th><th>SID</th><th>result</th></tr>\n");
	for (i = 0; i < s->nmaps + 1; i++) {
		const resource *r = i == 0 ? &s->service : &s->maps[i - 1];
		if (!r->status)
			continue;
		tp_buf_adds(b, i == 0 ? "<tr><td>service</td><td>" : "<tr><td>map</td><td>");
		html_escape(b, r->name);
		tp_buf_adds(b, "</td><td><code>");
		html_escape(b, r->sid);
		tp_buf_addf(b, "</code></td><td class=\"%s\">%s</td></tr>\n", r->status, r->status);
	}
	tp_buf_adds(b, "</table>\n");
}

static void html_warnings(tp_buf *b, const setup *s)
{
	const cJSON *w;

	if (cJSON_GetArraySize(s->warnings) == 0)
		return;
	tp_buf_adds(b, "<h2>Warnings</h2><ul>\n");
	cJSON_ArrayForEach (w, s->warnings) {
		tp_buf_adds(b, "<li>");
		html_escape(b, w->valuestring);
		tp_buf_adds(b, "</li>\n");
	}
	tp_buf_adds(b, "</ul>\n");
}

static void reply_ok(const tp_req *req, tp_resp *resp, const setup *s)
{
	tp_buf env;

	tp_buf_init(&env, 256);
	tp_buf_addf(&env, "PAY_SYNC_SERVICE_SID=%s", s->service.sid);
	if (tp_req_wants_json(req)) {
		cJSON *o = cJSON_CreateObject();
		add_progress(o, s);
		cJSON_AddStringToObject(o, "env", tp_buf_str(&env));
		cJSON_AddItemReferenceToObject(o, "warnings", s->warnings);
		tp_reply_json_take(resp, TP_S_OK, o);
	} else {
		tp_buf b;
		tp_buf_init(&b, 65536);
		tp_buf_adds(&b, html_head);
		tp_buf_adds(&b, "<h1>Sync setup done</h1>\n");
		html_resources(&b, s);
		tp_buf_addf(&b,
		            "<p>Access control (ACL) of the service: <b>%s</b>: Sync tokens reach "
		            "only what their identity is granted.</p>\n",
		            tp_str_eq(s->acl_status, "turned-on") ? "turned on now" : "on");
		tp_buf_adds(&b, "<p>Put this line in the server's <code>.env</code> (or run "
		                "<code>scripts/setup-sync --write-env</code>), then reload the "
		                "handlers:</p>\n<p><code class=\"copy\">");
		html_escape(&b, tp_buf_str(&env));
		tp_buf_adds(&b, "</code></p>\n");
		html_warnings(&b, s);
		tp_buf_adds(&b, "</body></html>\n");
		add_csp(resp);
		tp_reply_html(resp, TP_S_OK, tp_buf_str(&b));
		tp_buf_free(&b);
	}
	tp_buf_free(&env);
}

static void reply_failed(const tp_req *req, tp_resp *resp, const setup *s)
{
	/* No answer at all: 504 when it timed out, else 502; Sync answered
	 * with an error: 502 (DESIGN: a bad gateway is upstream's fault). */
	int status = s->sync_status == 0 && tp_str_prefix(s->err.message, "timed out")
	                 ? TP_S_GATEWAY_TIMEOUT
	                 : TP_S_BAD_GATEWAY;
	tp_buf msg, red;

	tp_buf_init(&msg, 2048);
	tp_buf_init(&red, 2048);
	if (s->sync_status == 0)
		tp_buf_addf(&msg, "could not %s: Sync at %s did not answer (%s)", s->step,
		            s->cfg->twilio_sync_url, s->err.message);
	else if (s->sync_status == TP_S_UNAUTHORIZED || s->sync_status == TP_S_FORBIDDEN)
		tp_buf_addf(&msg,
		            "could not %s: Sync refused our credentials (HTTP %ld, code %ld: %s); "
		            "check ACCOUNT_SID and AUTH_TOKEN",
		            s->step, s->sync_status, s->err.code, s->err.message);
	else
		tp_buf_addf(&msg, "could not %s: Sync answered HTTP %ld, code %ld: %s", s->step,
		            s->sync_status, s->err.code, s->err.message);
	tp_redact_text(&red, tp_buf_str(&msg));
	tp_resp_log(resp, "error", tp_buf_str(&red));
	if (tp_req_wants_json(req)) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "error", tp_buf_str(&red));
		cJSON_AddStringToObject(o, "code", "sync_error");
		cJSON_AddNumberToObject(o, "sync_status", (double)s->sync_status);
		if (s->err.code)
			cJSON_AddNumberToObject(o, "sync_code", (double)s->err.code);
		add_progress(o, s);
		tp_reply_json_take(resp, status, o);
	} else {
		tp_buf b;
		tp_buf_init(&b, 65536);
		tp_buf_adds(&b, html_head);
		tp_buf_adds(&b, "<h1>Sync setup failed</h1>\n<p class=\"error\">");
		html_escape(&b, tp_buf_str(&red));
		tp_buf_adds(&b, "</p>\n<p>Nothing is lost: run the setup again once Sync "
		                "answers.</p>\n");
		html_resources(&b, s);
		tp_buf_adds(&b, "</body></html>\n");
		add_csp(resp);
		tp_reply_html(resp, status, tp_buf_str(&b));
		tp_buf_free(&b);
	}
	tp_buf_free(&msg);
	tp_buf_free(&red);
}

static void setup_sync(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	tp_config budgeted = with_budget(cfg);
	setup s;
	size_t i;

	memset(&s, 0, sizeof s);
	s.cfg = &budgeted;
	s.warnings = cJSON_CreateArray();
	s.service.name = cfg->pay_sync_service_name;
	s.maps[s.nmaps++].name = cfg->sync_pay_map_name;
	if (!tp_str_eq(cfg->sync_uui_map_name, cfg->sync_pay_map_name))
		s.maps[s.nmaps++].name = cfg->sync_uui_map_name;
	else
		warn(&s,
		     "SYNC_PAY_MAP_NAME and SYNC_UUI_MAP_NAME are both %s; payments and "
		     "call legs would share one map",
		     cfg->sync_pay_map_name);

	/* Several nodes keep their agents in Sync (lib/agentstore.c). */
	if (cfg->agents_sync_map && !tp_str_eq(cfg->agents_sync_map, cfg->sync_pay_map_name) &&
	    !tp_str_eq(cfg->agents_sync_map, cfg->sync_uui_map_name))
		s.maps[s.nmaps++].name = cfg->agents_sync_map;
	else if (cfg->agents_sync_map)
		warn(&s,
		     "AGENTS_SYNC_MAP is %s, a map of payments or call legs; agents need a map "
		     "of their own",
		     cfg->agents_sync_map);

	if (ensure_service(&s) != TP_OK)
		goto out;
	tp_resp_log(resp, "service", s.service.sid);
	tp_resp_log(resp, "service_status", s.service.status);
	tp_resp_log(resp, "acl", s.acl_status);
	for (i = 0; i < s.nmaps; i++) {
		if (ensure_map(&s, &s.maps[i]) != TP_OK)
			goto out;
		tp_resp_log(resp, "map", s.maps[i].name);
		tp_resp_log(resp, "map_status", s.maps[i].status);
	}
	if (cfg->pay_sync_service_sid && !tp_str_eq(cfg->pay_sync_service_sid, s.service.sid))
		warn(&s,
		     "PAY_SYNC_SERVICE_SID is %s in the configuration, but the service named %s "
		     "is %s: set PAY_SYNC_SERVICE_SID=%s",
		     cfg->pay_sync_service_sid, s.service.name, s.service.sid, s.service.sid);
	else if (!cfg->pay_sync_service_sid)
		warn(&s, "PAY_SYNC_SERVICE_SID is not set yet: set PAY_SYNC_SERVICE_SID=%s",
		     s.service.sid);
out:
	if (s.step[0])
		reply_failed(req, resp, &s);
	else
		reply_ok(req, resp, &s);
	cJSON_Delete(s.warnings);
}

static bool authorize(tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	tp_buf b;

	if (tp_admin_authorize(req, resp, cfg))
		return true;
	if (tp_req_wants_json(req))
		return false; /* tp_admin_authorize's 401 JSON */
	tp_buf_init(&b, 16384);
	tp_buf_adds(&b, html_head);
	tp_buf_adds(&b, "<h1>Sync setup</h1>\n<p>This needs the <code>ADMIN_TOKEN</code> from the "
	                "server's <code>.env</code>. Open this address through the server's nginx "
	                "(it serves a page that asks for the token), or run <code>curl -H "
	                "'Authorization: Bearer $ADMIN_TOKEN' -X POST ");
	html_escape(&b, tp_req_public_url(req));
	tp_buf_adds(&b, "</code></p>\n</body></html>\n");
	add_csp(resp);
	tp_reply_html(resp, TP_S_UNAUTHORIZED, tp_buf_str(&b));
	tp_buf_free(&b);
	return false;
}

static const tp_handler handler = {
    .name = "setupSyncServices",
    .fn = setup_sync,
    /* GET too, as the Node original allowed; it is idempotent. */
    .flags = TP_H_ALLOW_GET,
    .authorize = authorize,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
