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
 * that header from the address bar, so a browser without it gets a small
 * page that asks for the token and repeats the request with it (a token
 * in the URL would end up in histories and proxy logs).
 *
 * PAY_SYNC_SERVICE_SID is deliberately not needed: this creates it.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "twiliopay.h"

static const char *const need[] = {"ACCOUNT_SID", "AUTH_TOKEN", "ADMIN_TOKEN",
                                   "PAY_SYNC_SERVICE_NAME", NULL};

#define MAX_PAGES 50 /* 5,000 services at PageSize=100 */
#define MAX_MAPS  2

typedef struct resource {
	const char *name;
	char sid[TP_SID_SIZE];
	const char *status; /* "exists" or "created" */
} resource;

typedef struct setup {
	const tp_config *cfg;
	long budget_ms;
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
 * is down is reported promptly and the admin simply runs it again. */
static long budget_ms(const tp_config *cfg)
{
	return cfg->http_timeout_ms < TP_API_BUDGET_MS ? cfg->http_timeout_ms : TP_API_BUDGET_MS;
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

/* Records why a Sync call failed; always returns false. */
static bool sync_failed(setup *s, const tp_api_result *r, const char *fmt, ...) TP_PRINTF(3, 4);
static bool sync_failed(setup *s, const tp_api_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->step, sizeof s->step, fmt, ap);
	va_end(ap);
	s->sync_status = r->status;
	s->err = r->err;
	return false;
}

static bool call(setup *s, const char *method, const char *url, const tp_params *form,
                 tp_api_result *out)
{
	return tp_api_call(s->cfg, method, url, form, NULL, s->budget_ms, out);
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

static void services_url(tp_buf *u, const tp_config *cfg)
{
	tp_buf_adds(u, cfg->twilio_sync_url);
	tp_buf_adds(u, "/v1/Services");
}

/* Looks for the service by friendly_name over every page of the list
 * (twilio-contract.md 1.4: Sync pages carry an absolute
 * meta.next_page_url).  Returns false only when Sync failed. */
static bool find_service(setup *s)
{
	tp_buf url, prefix;
	int page, matches = 0;
	bool ok = true;

	tp_buf_init(&url, 8192);
	tp_buf_init(&prefix, 4096);
	services_url(&prefix, s->cfg);
	tp_buf_addf(&url, "%s?PageSize=100", tp_buf_str(&prefix));
	for (page = 0; page < MAX_PAGES; page++) {
		tp_api_result r;
		const cJSON *list, *it, *meta, *next;

		if (!call(s, "GET", tp_buf_str(&url), NULL, &r)) {
			ok = sync_failed(s, &r, "list the Sync services");
			tp_api_result_free(&r);
			break;
		}
		list = cJSON_GetObjectItemCaseSensitive(r.json, "services");
		cJSON_ArrayForEach (it, list) {
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(it, "friendly_name");
			if (!cJSON_IsString(fn) || !tp_str_eq(fn->valuestring, s->service.name))
				continue;
			if (matches++ == 0 &&
			    !take_sid(it, "IS", s->service.sid, sizeof s->service.sid)) {
				ok = sync_failed(s, &r, "read the Sync service list");
				snprintf(s->err.message, sizeof s->err.message,
				         "a service in the list has no valid IS sid");
				break;
			}
			if (matches == 1)
				s->acl = cJSON_IsTrue(
				    cJSON_GetObjectItemCaseSensitive(it, "acl_enabled"));
		}
		meta = cJSON_GetObjectItemCaseSensitive(r.json, "meta");
		next = cJSON_GetObjectItemCaseSensitive(meta, "next_page_url");
		tp_buf_reset(&url);
		/* Our credentials go wherever we follow: only to our own Sync. */
		if (ok && cJSON_IsString(next) && *next->valuestring) {
			if (tp_str_prefix(next->valuestring, tp_buf_str(&prefix)))
				tp_buf_adds(&url, next->valuestring);
			else
				warn(s,
				     "the service list continues at a URL outside %s; only "
				     "the pages before it were searched",
				     tp_buf_str(&prefix));
		}
		tp_api_result_free(&r);
		if (!ok || url.len == 0)
			break;
	}
	if (ok && page == MAX_PAGES)
		warn(s, "only the first %d pages of services were searched", MAX_PAGES);
	if (matches > 1)
		warn(s, "%d Sync services are named %s; using the first, %s", matches,
		     s->service.name, s->service.sid);
	tp_buf_free(&url);
	tp_buf_free(&prefix);
	return ok;
}

/* POST /v1/Services/{sid} AclEnabled=true, for a service found (or
 * created) without it; Sync must answer acl_enabled true. */
static bool acl_turn_on(setup *s)
{
	tp_api_result r;
	tp_params form;
	tp_buf url;
	bool ok;

	tp_buf_init(&url, 4096);
	tp_params_init(&form);
	services_url(&url, s->cfg);
	tp_api_add_segment(&url, s->service.sid);
	tp_params_add(&form, "AclEnabled", "true");
	ok = call(s, "POST", tp_buf_str(&url), &form, &r);
	if (ok && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "acl_enabled"))) {
		s->acl_status = "turned-on";
	} else if (ok) {
		ok =
		    sync_failed(s, &r, "turn on access control (AclEnabled) of the Sync service %s",
		                s->service.sid);
		snprintf(s->err.message, sizeof s->err.message,
		         "the answer does not say acl_enabled is true");
	} else {
		sync_failed(s, &r, "turn on access control (AclEnabled) of the Sync service %s",
		            s->service.sid);
	}
	tp_api_result_free(&r);
	tp_params_free(&form);
	tp_buf_free(&url);
	return ok;
}

static bool ensure_service(setup *s)
{
	tp_api_result r;
	tp_params form;
	tp_buf url;
	bool ok;

	if (!find_service(s))
		return false;
	if (s->service.sid[0]) {
		s->service.status = "exists";
		if (!s->acl)
			return acl_turn_on(s);
		s->acl_status = "on";
		return true;
	}
	tp_buf_init(&url, 4096);
	tp_params_init(&form);
	services_url(&url, s->cfg);
	tp_params_add(&form, "FriendlyName", s->service.name);
	tp_params_add(&form, "AclEnabled", "true");
	ok = call(s, "POST", tp_buf_str(&url), &form, &r);
	if (ok && take_sid(r.json, "IS", s->service.sid, sizeof s->service.sid) &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "acl_enabled"))) {
		s->service.status = "created";
		s->acl_status = "on";
	} else if (ok && s->service.sid[0]) {
		/* Created, but the answer does not show AclEnabled: make the
		 * update a re-run would make (reported as turned-on). */
		s->service.status = "created";
		tp_api_result_free(&r);
		tp_params_free(&form);
		tp_buf_free(&url);
		return acl_turn_on(s);
	} else if (ok) {
		ok = sync_failed(s, &r, "create the Sync service %s", s->service.name);
		snprintf(s->err.message, sizeof s->err.message, "the answer has no valid IS sid");
	} else {
		sync_failed(s, &r, "create the Sync service %s", s->service.name);
	}
	tp_api_result_free(&r);
	tp_params_free(&form);
	tp_buf_free(&url);
	return ok;
}

/* GET .../Maps/{unique_name}: true with the sid when it exists, false
 * with *missing set on 404, false otherwise. */
static bool fetch_map(setup *s, resource *m, bool *missing)
{
	tp_api_result r;
	tp_buf url;
	bool ok;

	*missing = false;
	tp_buf_init(&url, 4096);
	services_url(&url, s->cfg);
	tp_api_add_segment(&url, s->service.sid);
	tp_buf_adds(&url, "/Maps");
	tp_api_add_segment(&url, m->name);
	ok = call(s, "GET", tp_buf_str(&url), NULL, &r);
	if (ok && !take_sid(r.json, "MP", m->sid, sizeof m->sid)) {
		ok = sync_failed(s, &r, "fetch the Sync map %s", m->name);
		snprintf(s->err.message, sizeof s->err.message, "the answer has no valid MP sid");
	} else if (!ok && r.status == TP_S_NOT_FOUND) {
		*missing = true;
	} else if (!ok) {
		sync_failed(s, &r, "fetch the Sync map %s", m->name);
	}
	tp_api_result_free(&r);
	tp_buf_free(&url);
	return ok;
}

static bool ensure_map(setup *s, resource *m)
{
	tp_api_result r;
	tp_params form;
	tp_buf url;
	bool missing, ok;

	if (fetch_map(s, m, &missing)) {
		m->status = "exists";
		return true;
	}
	if (!missing)
		return false;
	tp_buf_init(&url, 4096);
	tp_params_init(&form);
	services_url(&url, s->cfg);
	tp_api_add_segment(&url, s->service.sid);
	tp_buf_adds(&url, "/Maps");
	/* No TTL on the map itself: items carry theirs (contract 11). */
	tp_params_add(&form, "UniqueName", m->name);
	ok = call(s, "POST", tp_buf_str(&url), &form, &r);
	if (ok && take_sid(r.json, "MP", m->sid, sizeof m->sid)) {
		m->status = "created";
	} else if (ok) {
		ok = sync_failed(s, &r, "create the Sync map %s", m->name);
		snprintf(s->err.message, sizeof s->err.message, "the answer has no valid MP sid");
	} else if (r.status == TP_S_CONFLICT || r.err.code == TP_TW_SYNC_NAME_EXISTS) {
		/* Someone else created it between our fetch and create. */
		ok = fetch_map(s, m, &missing);
		if (ok)
			m->status = "exists";
		else if (missing)
			sync_failed(s, &r, "create the Sync map %s", m->name);
	} else {
		sync_failed(s, &r, "create the Sync map %s", m->name);
	}
	tp_api_result_free(&r);
	tp_params_free(&form);
	tp_buf_free(&url);
	return ok;
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

/* No script runs on our pages except the token form's, named by hash. */
static void add_csp(tp_resp *resp, const char *script)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	tp_buf h, csp;

	tp_buf_init(&h, 256);
	tp_buf_init(&csp, 1024);
	if (script) {
		EVP_Digest(script, strlen(script), md, &md_len, EVP_sha256(), NULL);
		tp_b64_encode(&h, md, md_len);
	}
	tp_buf_addf(&csp,
	            "default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; "
	            "form-action 'none'; frame-ancestors 'none'; base-uri 'none'%s%s%s",
	            script ? "; script-src 'sha256-" : "", tp_buf_str(&h), script ? "'" : "");
	tp_resp_header(resp, "Content-Security-Policy", tp_buf_str(&csp));
	tp_buf_free(&h);
	tp_buf_free(&csp);
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
		add_csp(resp, NULL);
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
		add_csp(resp, NULL);
		tp_reply_html(resp, status, tp_buf_str(&b));
		tp_buf_free(&b);
	}
	tp_buf_free(&msg);
	tp_buf_free(&red);
}

static void setup_sync(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	setup s;
	size_t i;

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.budget_ms = budget_ms(cfg);
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

	if (!ensure_service(&s))
		goto out;
	tp_resp_log(resp, "service", s.service.sid);
	tp_resp_log(resp, "service_status", s.service.status);
	tp_resp_log(resp, "acl", s.acl_status);
	for (i = 0; i < s.nmaps; i++) {
		if (!ensure_map(&s, &s.maps[i]))
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

/* The token form for a browser: it repeats the request with the header a
 * browser cannot send from its address bar, and shows the answer. */
static const char token_script[] =
    "document.getElementById('f').addEventListener('submit',async function(e){"
    "e.preventDefault();var m=document.getElementById('m');m.textContent='Working...';"
    "try{var r=await fetch(location.pathname,{method:'POST',headers:{'Authorization':"
    "'Bearer '+document.getElementById('t').value,'Accept':'text/html'}});"
    "var h=await r.text();document.open();document.write(h);document.close();}"
    "catch(x){m.textContent='The request failed: '+x;}});";

static bool authorize(tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	tp_buf b;

	if (tp_admin_authorize(req, resp, cfg))
		return true;
	if (tp_req_wants_json(req))
		return false; /* tp_admin_authorize's 401 JSON */
	tp_buf_init(&b, 16384);
	tp_buf_adds(&b, html_head);
	tp_buf_adds(&b, "<h1>Sync setup</h1>\n<p>Creates the Sync service and maps if they are "
	                "missing. Enter the <code>ADMIN_TOKEN</code> from the server's "
	                "<code>.env</code>.</p>\n"
	                "<form id=\"f\"><input id=\"t\" type=\"password\" autocomplete=\"off\" "
	                "required placeholder=\"ADMIN_TOKEN\" size=\"40\"> "
	                "<button>Run setup</button></form>\n<p id=\"m\"></p>\n"
	                "<noscript><p>Without JavaScript: <code>curl -H 'Authorization: Bearer "
	                "$ADMIN_TOKEN' -X POST ");
	html_escape(&b, tp_req_public_url(req));
	tp_buf_adds(&b, "</code></p></noscript>\n<script>");
	tp_buf_adds(&b, token_script);
	tp_buf_adds(&b, "</script>\n</body></html>\n");
	add_csp(resp, token_script);
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
