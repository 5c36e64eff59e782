/*
 * twiliopay-check - is this production configuration ready to take calls?
 *
 *   twiliopay-check [--env FILE] [--cgi-bin DIR] [--service-user USER]
 *                   [--environment] [--tunnel URL]
 *   twiliopay-check --print-console-urls [--show-connector-password]
 *                   [--env FILE]
 *
 * Checks, one line each ("ok", "FAIL" with the reason, or "skip" when an
 * earlier failure makes a check meaningless), exit status 1 if any failed:
 *   - the configuration file: readable by the service user, by nobody
 *     else, writable by no group;
 *   - every variable the product needs, present and well formed (the
 *     library's own rules, tp_config_load), SERVER_URL https and public -
 *     or exactly the development tunnel URL given with --tunnel (make
 *     run-live: a tunnel the operator names may be plain http);
 *   - every installed handler accepts the file (`<handler> --check-config`,
 *     so a handler's own needs are checked without a list kept here);
 *   - Twilio accepts ACCOUNT_SID/AUTH_TOKEN and API_KEY/API_SECRET (one
 *     read-only GET of the Account resource each) and the account is
 *     active (an API that serves no Account resource answers Twilio's
 *     20404 once authenticated: that counts);
 *   - the Sync service PAY_SYNC_SERVICE_SID and both maps exist (GETs);
 *   - the Pay Connector credentials are set and usable as HTTP Basic.
 *
 * The file is checked as the services see it: FILE is $TWILIOPAY_ENV, or
 * /etc/twiliopay/env, and variables in this shell's environment are
 * dropped first (the units set none), unless --environment.
 *
 * --print-console-urls prints what to paste into the Twilio Console (the
 * phone number's voice URL, the SIP domain's request URL, their variants
 * without call correlation, the Pay Connector's endpoint and username).  Secrets are never printed:
 * the connector password only with --show-connector-password.  The Account resource's JSON carries
 * the account's auth token, so no response body is ever printed either, only chosen fields.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "twiliopay.h"

#define DEFAULT_ENV   "/etc/twiliopay/env"
#define DEFAULT_USER  "twiliopay"
#define NET_BUDGET_MS 6000
#define CHILD_OUT_MAX 65536
/* Beside EXIT_SUCCESS and EXIT_FAILURE (a check failed): */
#define EXIT_USAGE       2   /* a bad command line */
#define EXIT_EXEC_FAILED 127 /* a handler could not be run (the shell's own status) */

extern char **environ;

/* Every variable some part of the product cannot work without.  API_KEY
 * and API_SECRET only sign Sync Access Tokens: they are required only
 * with ENABLE_SYNC_TOKENS=true (check_token_key). */
static const char *const required[] = {
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "SERVER_URL",
    "SIP_DOMAIN_URI",
    "PAYMENT_CONNECTOR",
    "PAY_SYNC_SERVICE_SID",
    "SYNC_PAY_MAP_NAME",
    "SYNC_UUI_MAP_NAME",
    "CONNECTOR_USERNAME",
    "CONNECTOR_PASSWORD",
    "ADMIN_TOKEN",
    "AGENT_SECRET",
    "AGENTS_FILE|AGENTS_SYNC_MAP",
    NULL,
};

/* Variables whose value may be shown; every other one is a secret or may
 * hold one. */
static const char *const showable[] = {
    "ACCOUNT_SID",          "SERVER_URL",        "SIP_DOMAIN_URI",       "PAYMENT_CONNECTOR",
    "PAY_SYNC_SERVICE_SID", "SYNC_PAY_MAP_NAME", "SYNC_UUI_MAP_NAME",    "API_KEY",
    "AGENTS_FILE",          "AGENTS_SYNC_MAP",   "NCHAN_PUBLISH_SOCKET", NULL,
};

/* Configuration names that, set in this shell, would hide the file's
 * values (tp_config_load lets the environment win). */
static const char *const config_names[] = {
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "SERVER_URL",
    "SIP_DOMAIN_URI",
    "PAYMENT_CONNECTOR",
    "INCLUDE_CVC",
    "INCLUDE_POSTAL_CODE",
    "PAYMENT_CAPTURE_ORDER",
    "PAY_SYNC_SERVICE_NAME",
    "PAY_SYNC_SERVICE_SID",
    "SYNC_PAY_MAP_NAME",
    "SYNC_UUI_MAP_NAME",
    "API_KEY",
    "API_SECRET",
    "TWILIO_API_URL",
    "TWILIO_SYNC_URL",
    "ENABLE_REFER",
    "CONNECTOR_USERNAME",
    "CONNECTOR_PASSWORD",
    "PAYMENT_GATEWAY",
    "ADMIN_TOKEN",
    "AGENT_SECRET",
    "AGENTS_FILE",
    "AGENTS_SYNC_MAP",
    "AGENTS_CACHE_S",
    "NCHAN_PUBLISH_URL",
    "NCHAN_PUBLISH_SOCKET",
    "NCHAN_REDIS_URL",
    "HTTP_TIMEOUT_MS",
    "API_RETRY_BUDGET_MS",
    "MAX_BODY_BYTES",
    "LOG_LEVEL",
    "ALLOWED_CURRENCIES",
    NULL,
};

/* Kept from this shell: locale, and what outbound HTTP may need (a proxy,
 * a CA bundle) - an operator who needs those gives them to the units too
 * (`systemctl edit twiliopay@.service`). */
static const char *const kept_env[] = {
    "PATH",          "TZ",           "LANG",           "LC_ALL",   "http_proxy", "https_proxy",
    "HTTP_PROXY",    "HTTPS_PROXY",  "no_proxy",       "NO_PROXY", "all_proxy",  "ALL_PROXY",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", NULL,
};

typedef struct checks {
	int total;
	int failed;
} checks;

static void line(checks *c, const char *tag, bool counts_as_failure, const char *fmt, va_list ap)
{
	printf("%-5s ", tag);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	c->total++;
	if (counts_as_failure)
		c->failed++;
}

static void TP_PRINTF(2, 3) ok(checks *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line(c, "ok", false, fmt, ap);
	va_end(ap);
}

static void TP_PRINTF(2, 3) fail(checks *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line(c, "FAIL", true, fmt, ap);
	va_end(ap);
}

/* A check that cannot run because an earlier one failed: shown, not
 * counted again. */
static void TP_PRINTF(2, 3) skip(checks *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line(c, "skip", false, fmt, ap);
	c->total--;
	va_end(ap);
}

static bool in_list(const char *const *list, const char *name)
{
	size_t i;
	for (i = 0; list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ environment */

/* Replaces the environment by kept_env plus TWILIOPAY_ENV=path.  Returns
 * how many configuration variables were dropped (named in `dropped`). */
static int scrub_environment(const char *path, tp_buf *dropped)
{
	tp_params keep;
	size_t i;
	int n = 0;

	tp_params_init(&keep);
	for (i = 0; kept_env[i]; i++) {
		const char *v = getenv(kept_env[i]);
		if (v)
			tp_params_add(&keep, kept_env[i], v);
	}
	for (i = 0; config_names[i]; i++)
		if (getenv(config_names[i])) {
			tp_buf_addf(dropped, "%s%s", n ? ", " : "", config_names[i]);
			n++;
		}
	clearenv();
	for (i = 0; i < keep.n; i++)
		setenv(keep.v[i].name, keep.v[i].value, 1);
	setenv("TWILIOPAY_ENV", path, 1);
	tp_params_free(&keep);
	return n;
}

/* ------------------------------------------------------------ the file */

static bool user_in_group(const struct passwd *pw, gid_t gid)
{
	const struct group *gr;
	size_t i;

	if (pw->pw_gid == gid)
		return true;
	gr = getgrgid(gid);
	for (i = 0; gr && gr->gr_mem[i]; i++)
		if (strcmp(gr->gr_mem[i], pw->pw_name) == 0)
			return true;
	return false;
}

/* The file holds AUTH_TOKEN and the connector password: only root and the
 * service user may read it (tmpfiles.d sets 0640 root:twiliopay). */
static void check_file(checks *c, const char *path, const char *user)
{
	struct stat st;
	const struct passwd *pw, *owner;
	const struct group *grp;
	unsigned mode;
	char oname[64], gname[64];

	if (stat(path, &st) != 0) {
		fail(c, "configuration file %s: %s", path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(c, "configuration file %s is not a regular file", path);
		return;
	}
	mode = (unsigned)st.st_mode & 07777;
	owner = getpwuid(st.st_uid);
	snprintf(oname, sizeof oname, "%s", owner ? owner->pw_name : "?");
	grp = getgrgid(st.st_gid);
	snprintf(gname, sizeof gname, "%s", grp ? grp->gr_name : "?");
	if (mode & 0007) {
		fail(c,
		     "configuration file %s is open to every user (mode %04o): chmod 0640 and "
		     "chown root:%s",
		     path, mode, user);
		return;
	}
	if (mode & 0020) {
		fail(c, "configuration file %s is writable by group %s (mode %04o): chmod 0640",
		     path, gname, mode);
		return;
	}
	pw = getpwnam(user);
	if (!pw) {
		fail(c,
		     "service user %s does not exist (systemd-sysusers creates it from "
		     "sysusers.d/twiliopay.conf)",
		     user);
		return;
	}
	if (st.st_uid != 0 && st.st_uid != pw->pw_uid) {
		fail(c, "configuration file %s is owned by %s: only root or %s may own it", path,
		     oname, user);
		return;
	}
	if (!(pw->pw_uid == 0 || (pw->pw_uid == st.st_uid && (mode & 0400)) ||
	      (user_in_group(pw, st.st_gid) && (mode & 0040)))) {
		fail(c,
		     "configuration file %s (%s:%s, mode %04o) is not readable by the service "
		     "user %s: chown root:%s and chmod 0640",
		     path, oname, gname, mode, user, user);
		return;
	}
	ok(c, "configuration file %s (%s:%s, mode %04o, readable by %s only)", path, oname, gname,
	   mode, user);
}

/* ------------------------------------------------------------ variables */

static const char *shown_value(const tp_config *cfg, const char *name)
{
	if (strcmp(name, "SYNC_PAY_MAP_NAME") == 0)
		return cfg->sync_pay_map_name;
	if (strcmp(name, "SYNC_UUI_MAP_NAME") == 0)
		return cfg->sync_uui_map_name;
	if (strcmp(name, "SERVER_URL") == 0)
		return cfg->server_url;
	return tp_config_raw(name);
}

/* One line per required variable: the loader's own message when it
 * complained about it, ok otherwise.  Complaints about anything else (a
 * bad .env line, an optional variable) get a line each too. */
static void check_variables(checks *c, const tp_config *cfg, const char *errors)
{
	const char *p;
	size_t i;

	for (i = 0; required[i]; i++) {
		/* "A|B": either will do; the loader's complaint starts with A. */
		size_t n = strcspn(required[i], "|");
		char name[64];
		bool bad = false;
		for (p = errors; *p;) {
			size_t len = strcspn(p, "\n");
			if (len > n && strncmp(p, required[i], n) == 0 && p[n] == ' ') {
				fail(c, "%.*s", (int)len, p);
				bad = true;
			}
			p += len + (p[len] == '\n');
		}
		if (bad)
			continue;
		/* The alternative that is set (the first when none is). */
		snprintf(name, sizeof name, "%.*s", (int)n, required[i]);
		for (p = required[i]; *p && !tp_config_raw(name);) {
			p += strcspn(p, "|");
			p += *p == '|';
			if (*p)
				snprintf(name, sizeof name, "%.*s", (int)strcspn(p, "|"), p);
		}
		if (!tp_config_raw(name))
			snprintf(name, sizeof name, "%.*s", (int)n, required[i]);
		if (in_list(showable, name))
			ok(c, "%s = %s", name, shown_value(cfg, name));
		else
			ok(c, "%s is set (not shown)", name);
	}
	for (p = errors; *p;) {
		size_t len = strcspn(p, "\n"), j;
		bool known = false;
		for (j = 0; required[j]; j++) {
			size_t n = strcspn(required[j], "|");
			if (len > n && strncmp(p, required[j], n) == 0 && p[n] == ' ')
				known = true;
		}
		if (!known && len)
			fail(c, "%.*s", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

/* Twilio must reach SERVER_URL from the internet, over TLS: its webhooks
 * carry call data and the connector endpoint receives card numbers
 * (twilio-contract.md section 5). */
static void check_server_url(checks *c, const tp_config *cfg, const char *tunnel)
{
	const char *u = cfg->server_url, *host;
	size_t hlen;

	if (!u) {
		skip(c, "SERVER_URL is https: SERVER_URL is not usable");
		return;
	}
	/* The operator named this URL as their development tunnel (make
	 * run-live): whatever its scheme, it is the one they mean. */
	if (tunnel) {
		size_t n = strlen(tunnel);
		while (n && tunnel[n - 1] == '/')
			n--;
		if (strlen(u) == n && strncmp(u, tunnel, n) == 0) {
			ok(c, "SERVER_URL is the tunnel you named (%s; development only)", u);
			return;
		}
	}
	if (!tp_str_prefix(u, "https://")) {
		fail(c,
		     "SERVER_URL must be https:// (got %s): Twilio sends webhooks and card data "
		     "to it",
		     u);
		return;
	}
	host = u + 8;
	hlen = strcspn(host, ":/");
	if ((hlen == 9 && strncmp(host, "localhost", 9) == 0) || tp_str_prefix(host, "127.") ||
	    tp_str_prefix(host, "[::1]")) {
		fail(c, "SERVER_URL %s is a loopback address: Twilio cannot reach it", u);
		return;
	}
	ok(c, "SERVER_URL is https");
}

/* ------------------------------------------------------------ handlers */

/* Runs `bin --check-config`; returns its wait status, output in out. */
static int run_check_config(const char *bin, tp_buf *out)
{
	int fds[2], status = -1;
	pid_t pid;
	char chunk[4096];
	ssize_t n;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		char *const args[] = {(char *)bin, (char *)"--check-config", NULL};
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(bin, args);
		_exit(EXIT_EXEC_FAILED);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out->len + (size_t)n < out->max)
			tp_buf_add(out, chunk, (size_t)n);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the regular executable files in dir.  Returns the count; *names
 * and each name are malloc'd. */
static size_t list_handlers(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	const struct dirent *e;
	size_t n = 0, cap = 0;
	char **v = NULL;

	*names = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		tp_buf path;
		struct stat st;
		bool exe;

		if (e->d_name[0] == '.')
			continue;
		tp_buf_init(&path, PATH_MAX);
		tp_buf_addf(&path, "%s/%s", dir, e->d_name);
		exe = stat(tp_buf_str(&path), &st) == 0 && S_ISREG(st.st_mode) &&
		      access(tp_buf_str(&path), X_OK) == 0;
		tp_buf_free(&path);
		if (!exe)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = tp_xrealloc(v, cap * sizeof *v);
		}
		v[n++] = tp_xstrdup(e->d_name);
	}
	closedir(d);
	*names = v;
	return n;
}

static void check_handlers(checks *c, const char *dir)
{
	char **names = NULL;
	size_t n = list_handlers(dir, &names), i;

	if (n == 0) {
		fail(c, "no handler binaries in %s (--cgi-bin DIR names the folder)", dir);
		return;
	}
	qsort(names, n, sizeof *names, by_name);
	for (i = 0; i < n; i++) {
		tp_buf path, out, why;
		int st;
		const char *p;

		tp_buf_init(&path, PATH_MAX);
		tp_buf_init(&out, CHILD_OUT_MAX);
		tp_buf_init(&why, 4096);
		tp_buf_addf(&path, "%s/%s", dir, names[i]);
		st = run_check_config(tp_buf_str(&path), &out);
		if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			ok(c, "handler %s accepts the configuration", names[i]);
		} else {
			/* "<name>: configuration error: <what>" lines. */
			for (p = tp_buf_str(&out); *p;) {
				size_t len = strcspn(p, "\n");
				const char *m = strstr(p, "configuration error: ");
				if (m && m < p + len) {
					m += strlen("configuration error: ");
					tp_buf_addf(&why, "%s%.*s", why.len ? "; " : "",
					            (int)(p + len - m), m);
				}
				p += len + (p[len] == '\n');
			}
			if (!why.len)
				tp_buf_addf(&why, "%s",
				            st >= 0 && WIFEXITED(st)
				                ? "it exited with an error"
				                : "it could not be run or was killed");
			fail(c, "handler %s refuses the configuration: %s", names[i],
			     tp_buf_str(&why));
		}
		tp_buf_free(&path);
		tp_buf_free(&out);
		tp_buf_free(&why);
		free(names[i]);
	}
	free(names);
}

/* ------------------------------------------------------------ Twilio */

/* "HTTP 401, Twilio error 20003: Authenticate", or the transport error. */
static void describe(const tp_api_result *r, tp_buf *out)
{
	if (r->status == 0) {
		tp_buf_addf(out, "no answer: %s", r->err.message);
		return;
	}
	tp_buf_addf(out, "HTTP %ld", r->status);
	if (r->err.code)
		tp_buf_addf(out, ", Twilio error %ld", r->err.code);
	if (r->err.message[0])
		tp_buf_addf(out, ": %s", r->err.message);
}

/* Twilio authenticates before it routes (twilio-contract.md 1.1, 1.2): a
 * wrong credential is a 401 on any path, so Twilio's own "not found"
 * (20404, in its error JSON - not any server's 404 page) proves the
 * credentials were accepted.  Twilio and the local emulator serve the
 * Account resource; a Twilio-compatible API that does not still proves
 * the credentials this way. */
static bool authenticated_404(long status, long code)
{
	return status == TP_S_NOT_FOUND && code == TP_TW_NOT_FOUND;
}

static void account_url(tp_buf *u, const tp_config *cfg)
{
	tp_buf_adds(u, cfg->twilio_api_url);
	tp_buf_adds(u, "/2010-04-01/Accounts");
	tp_api_add_segment(u, cfg->account_sid);
	tp_buf_adds(u, ".json");
}

/* GET /2010-04-01/Accounts/{AccountSid}.json: read-only, needs nothing
 * but the credentials, and says whether the account is active (Account
 * resource, "status": active | suspended | closed). */
static void check_credentials(checks *c, const tp_config *cfg)
{
	tp_buf u, why;
	tp_api_result r;
	const cJSON *st, *name;

	if (!cfg->account_sid || !cfg->auth_token || !cfg->twilio_api_url) {
		skip(c, "Twilio accepts ACCOUNT_SID/AUTH_TOKEN: they are not usable");
		return;
	}
	tp_buf_init(&u, 4096);
	tp_buf_init(&why, 1024);
	account_url(&u, cfg);
	if (!tp_api_call(cfg, "GET", tp_buf_str(&u), NULL, NULL, NET_BUDGET_MS, &r)) {
		describe(&r, &why);
		if (authenticated_404(r.status, r.err.code))
			ok(c,
			   "Twilio accepts ACCOUNT_SID/AUTH_TOKEN (%s does not serve the Account "
			   "resource, so its status is not checked)",
			   cfg->twilio_api_url);
		else if (r.status == TP_S_UNAUTHORIZED)
			fail(c,
			     "Twilio rejects ACCOUNT_SID/AUTH_TOKEN (%s): copy both from the "
			     "Console's Account Info",
			     tp_buf_str(&why));
		else
			fail(c, "Twilio account check, GET %s: %s", tp_buf_str(&u),
			     tp_buf_str(&why));
		goto out;
	}
	st = cJSON_GetObjectItemCaseSensitive(r.json, "status");
	name = cJSON_GetObjectItemCaseSensitive(r.json, "friendly_name");
	if (cJSON_IsString(st) && strcmp(st->valuestring, "active") != 0) {
		fail(c, "Twilio account %s is %s, not active", cfg->account_sid, st->valuestring);
		goto out;
	}
	ok(c, "Twilio accepts ACCOUNT_SID/AUTH_TOKEN (account \"%s\", %s)",
	   cJSON_IsString(name) ? name->valuestring : cfg->account_sid,
	   cJSON_IsString(st) ? st->valuestring : "status not reported");
out:
	tp_api_result_free(&r);
	tp_buf_free(&u);
	tp_buf_free(&why);
}

/* The same GET authenticated with the API key (twilio-contract.md 1.1: a
 * key authenticates like the account's own credentials).  getSyncToken
 * signs Access Tokens with it, and nothing else would notice a wrong
 * secret before an agent's browser does. */
static void check_api_key(checks *c, const tp_config *cfg)
{
	tp_buf u, userpwd;
	tp_http_resp resp;
	tp_rc rc;
	tp_twilio_error err;

	if (!cfg->enable_sync_tokens && !cfg->api_key && !cfg->api_secret) {
		ok(c, "API_KEY/API_SECRET not needed: Sync tokens are off (ENABLE_SYNC_TOKENS)");
		return;
	}
	if (cfg->enable_sync_tokens && (!cfg->api_key || !cfg->api_secret)) {
		fail(c, "ENABLE_SYNC_TOKENS=true needs API_KEY and API_SECRET (a standard API key "
		        "of this account): getSyncToken signs the tokens with it");
		return;
	}
	if (!cfg->api_key || !cfg->api_secret || !cfg->account_sid || !cfg->twilio_api_url) {
		skip(c, "Twilio accepts API_KEY/API_SECRET: they are not usable");
		return;
	}
	tp_buf_init(&u, 4096);
	tp_buf_init(&userpwd, 1024);
	account_url(&u, cfg);
	tp_buf_addf(&userpwd, "%s:%s", cfg->api_key, cfg->api_secret);
	{
		tp_http_req rq = {.method = "GET",
		                  .url = tp_buf_str(&u),
		                  .userpwd = tp_buf_str(&userpwd),
		                  .timeout_ms = NET_BUDGET_MS};
		rc = tp_http_do(&rq, &resp);
	}
	tp_twilio_error_from(&err, rc, &resp);
	if (rc != TP_OK)
		fail(c, "Twilio API key check, GET %s: no answer: %s", tp_buf_str(&u),
		     resp.error[0] ? resp.error : tp_http_error_str(rc));
	else if (resp.status == TP_S_OK || authenticated_404(resp.status, err.code))
		ok(c, "Twilio accepts API_KEY/API_SECRET");
	else if (resp.status == TP_S_UNAUTHORIZED || resp.status == TP_S_FORBIDDEN)
		fail(c,
		     "Twilio rejects API_KEY/API_SECRET (HTTP %ld): create a standard API key "
		     "in this account and copy its SID and secret",
		     resp.status);
	else
		fail(c, "Twilio API key check, GET %s: HTTP %ld", tp_buf_str(&u), resp.status);
	tp_http_resp_free(&resp);
	tp_buf_free(&u);
	tp_buf_free(&userpwd);
}

/* GET /v1/Services/{sid}, then /Maps/{unique name} for both maps, and
 * the agents' map when agents live in Sync (twilio-contract.md 6.1, 6.2: a
 * map is fetched by SID or unique name). */
static void check_sync(checks *c, const tp_config *cfg)
{
	const char *maps[3] = {cfg->sync_pay_map_name, cfg->sync_uui_map_name,
	                       cfg->agents_sync_map};
	size_t nmaps = cfg->agents_sync_map ? 3 : 2;
	tp_buf u, why;
	tp_api_result r;
	bool have_service;
	size_t i;

	if (!cfg->pay_sync_service_sid || !cfg->account_sid || !cfg->auth_token ||
	    !cfg->twilio_sync_url) {
		skip(c, "Sync service and maps exist: PAY_SYNC_SERVICE_SID or the credentials "
		        "are not usable");
		return;
	}
	tp_buf_init(&u, 4096);
	tp_buf_init(&why, 1024);
	tp_buf_adds(&u, cfg->twilio_sync_url);
	tp_buf_adds(&u, "/v1/Services");
	tp_api_add_segment(&u, cfg->pay_sync_service_sid);
	have_service = tp_api_call(cfg, "GET", tp_buf_str(&u), NULL, NULL, NET_BUDGET_MS, &r);
	if (have_service) {
		ok(c, "Sync service %s exists", cfg->pay_sync_service_sid);
		/* Without access control any Sync token may rewrite payMap
		 * (cgi-bin/setupSyncServices.c says why it matters). */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "acl_enabled")))
			ok(c, "Sync service %s has access control on (AclEnabled)",
			   cfg->pay_sync_service_sid);
		else
			fail(c,
			     "Sync service %s has access control off: any Sync token could rewrite "
			     "payMap; POST /sync/setupSyncServices turns it on",
			     cfg->pay_sync_service_sid);
	} else {
		describe(&r, &why);
		if (r.status == TP_S_NOT_FOUND)
			fail(c,
			     "Sync service %s not found (%s): POST /sync/setupSyncServices "
			     "creates it; put the SID it answers in PAY_SYNC_SERVICE_SID",
			     cfg->pay_sync_service_sid, tp_buf_str(&why));
		else
			fail(c, "Sync service %s, GET %s: %s", cfg->pay_sync_service_sid,
			     tp_buf_str(&u), tp_buf_str(&why));
	}
	tp_api_result_free(&r);
	for (i = 0; i < nmaps; i++) {
		if (!have_service) {
			skip(c, "Sync map %s exists: no Sync service", maps[i]);
			continue;
		}
		tp_buf_reset(&why);
		if (tp_sync_map_fetch(cfg, cfg->pay_sync_service_sid, maps[i], &r)) {
			ok(c, "Sync map %s exists", maps[i]);
		} else {
			describe(&r, &why);
			if (r.status == TP_S_NOT_FOUND)
				fail(c,
				     "Sync map %s not found in service %s (%s): POST "
				     "/sync/setupSyncServices creates it",
				     maps[i], cfg->pay_sync_service_sid, tp_buf_str(&why));
			else
				fail(c, "Sync map %s: %s", maps[i], tp_buf_str(&why));
		}
		tp_api_result_free(&r);
	}
	tp_buf_free(&u);
	tp_buf_free(&why);
}

/* Twilio sends these as HTTP Basic to the connector endpoint
 * (twilio-contract.md section 5); RFC 7617 section 2: the user-id cannot
 * contain ':'. */
static void check_connector(checks *c, const tp_config *cfg)
{
	if (!cfg->payment_connector || !cfg->connector_username || !cfg->connector_password) {
		fail(c, "Pay Connector: PAYMENT_CONNECTOR, CONNECTOR_USERNAME and "
		        "CONNECTOR_PASSWORD must all be set and well formed");
		return;
	}
	if (strchr(cfg->connector_username, ':')) {
		fail(c, "Pay Connector: CONNECTOR_USERNAME must not contain ':' (HTTP Basic "
		        "auth splits at the first ':')");
		return;
	}
	ok(c, "Pay Connector %s: credentials set (--print-console-urls shows what to enter)",
	   cfg->payment_connector);
}

/* ------------------------------------------------------------ Console */

static int print_console_urls(const tp_config *cfg, const char *path, bool show_password)
{
	const char *u = cfg->server_url;

	if (!u) {
		fprintf(stderr, "twiliopay-check: SERVER_URL is not usable; nothing to print\n");
		return EXIT_FAILURE;
	}
	if (!tp_str_prefix(u, "https://"))
		fprintf(stderr, "twiliopay-check: warning: SERVER_URL is not https; use an https "
		                "URL for real Twilio\n");
	printf("Twilio Console configuration for %s (from %s)\n\n", u, path);
	printf("Phone number: Phone Numbers > Manage > Active numbers > (number) > Voice "
	       "Configuration\n");
	printf("  A call comes in   Webhook   %s/pv/callToSIP   HTTP POST\n\n", u);
	printf("SIP domain: Voice > Manage > SIP domains > (domain) > Voice Configuration\n");
	printf("  Request URL       %s/pv/callToPSTN   HTTP POST\n\n", u);
	printf("Without call correlation (nothing recorded in uuiMap; an agent attaches by Call "
	       "SID), as the Node original offered:\n");
	printf("  Toll-free number  Webhook   %s/pv/tollfreeCallToSIP   HTTP POST   (a mobile "
	       "caller's location as User-to-User)\n",
	       u);
	printf("  SIP domain        Request URL   %s/pv/simpleCallToPSTN   HTTP POST\n\n", u);
	printf("Pay Connector: Voice > Manage > Pay Connectors > Generic Pay Connector\n");
	printf("  Unique name       %s\n",
	       cfg->payment_connector ? cfg->payment_connector : "(PAYMENT_CONNECTOR is not set)");
	printf("  Endpoint URL      %s/connector/charge\n", u);
	printf("                    (Twilio posts charge and tokenize requests to this one URL "
	       "with a \"method\" field; %s/connector/tokenize is served as well)\n",
	       u);
	printf("  Username          %s\n", cfg->connector_username
	                                       ? cfg->connector_username
	                                       : "(CONNECTOR_USERNAME is not set)");
	if (!cfg->connector_password)
		printf("  Password          (CONNECTOR_PASSWORD is not set)\n");
	else if (show_password)
		printf("  Password          %s\n", cfg->connector_password);
	else
		printf("  Password          CONNECTOR_PASSWORD in %s "
		       "(--show-connector-password prints it)\n",
		       path);
	printf("\nSync setup, once: POST %s/sync/setupSyncServices with "
	       "\"Authorization: Bearer <ADMIN_TOKEN>\"\n",
	       u);
	printf("Agent console:    %s/\n", u);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fputs("usage: twiliopay-check [--env FILE] [--cgi-bin DIR] [--service-user USER] "
	      "[--environment] [--tunnel URL]\n"
	      "       twiliopay-check --print-console-urls [--show-connector-password] "
	      "[--env FILE]\n"
	      "FILE defaults to $TWILIOPAY_ENV, else " DEFAULT_ENV ".\n",
	      f);
}

/* dirname(/proc/self/exe)/../cgi-bin: the build tree and the installed
 * tree both put tools in bin/ next to cgi-bin/. */
static char *default_cgi_bin(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;
	tp_buf d;

	if (n <= 0)
		return tp_xstrdup("cgi-bin");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	tp_buf_init(&d, PATH_MAX + 16);
	tp_buf_addf(&d, "%s/../cgi-bin", self);
	return tp_buf_take(&d);
}

int main(int argc, char **argv)
{
	const char *env_path = NULL, *user = DEFAULT_USER, *tunnel = NULL;
	char *cgi_bin = NULL;
	bool keep_env = false, print_urls = false, show_password = false;
	tp_buf err, dropped;
	tp_config cfg;
	checks c = {0, 0};
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--env") == 0 && i + 1 < argc) {
			env_path = argv[++i];
		} else if (strcmp(a, "--cgi-bin") == 0 && i + 1 < argc) {
			free(cgi_bin);
			cgi_bin = tp_xstrdup(argv[++i]);
		} else if (strcmp(a, "--service-user") == 0 && i + 1 < argc) {
			user = argv[++i];
		} else if (strcmp(a, "--tunnel") == 0 && i + 1 < argc) {
			tunnel = argv[++i];
		} else if (strcmp(a, "--environment") == 0) {
			keep_env = true;
		} else if (strcmp(a, "--print-console-urls") == 0) {
			print_urls = true;
		} else if (strcmp(a, "--show-connector-password") == 0) {
			show_password = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			free(cgi_bin);
			return EXIT_SUCCESS;
		} else {
			usage(stderr);
			free(cgi_bin);
			return EXIT_USAGE;
		}
	}
	if (show_password && !print_urls) {
		usage(stderr);
		free(cgi_bin);
		return EXIT_USAGE;
	}
	if (!env_path)
		env_path = getenv("TWILIOPAY_ENV");
	if (!env_path || !*env_path)
		env_path = DEFAULT_ENV;
	if (!cgi_bin)
		cgi_bin = default_cgi_bin();
	tp_log_init("twiliopay-check");
	/* The check lines say what failed; the client's retry warnings would
	 * only repeat it. */
	tp_log_set_level(TP_LOG_ERROR);
	tp_buf_init(&err, 65536);
	tp_buf_init(&dropped, 4096);
	{
		/* Keep what scrub_environment is about to replace. */
		char *path_copy = tp_xstrdup(env_path);
		if (keep_env) {
			setenv("TWILIOPAY_ENV", path_copy, 1);
		} else if (scrub_environment(path_copy, &dropped) > 0 && !print_urls) {
			printf("note  ignoring %s from this shell: the services read only %s "
			       "(--environment to include them)\n",
			       tp_buf_str(&dropped), path_copy);
		}
		env_path = getenv("TWILIOPAY_ENV");
		free(path_copy);
	}

	/* Failures are in err; check_variables reports them. */
	tp_config_load(&cfg, print_urls ? NULL : required, &err);
	if (print_urls) {
		rc = print_console_urls(&cfg, env_path, show_password);
		goto out;
	}
	printf("Checking %s\n", env_path);
	check_file(&c, env_path, user);
	check_variables(&c, &cfg, tp_buf_str(&err));
	check_server_url(&c, &cfg, tunnel);
	check_handlers(&c, cgi_bin);
	check_credentials(&c, &cfg);
	check_api_key(&c, &cfg);
	check_sync(&c, &cfg);
	check_connector(&c, &cfg);
	if (c.failed)
		printf("%d checks, %d failed\n", c.total, c.failed);
	else
		printf("%d checks, all passed\n", c.total);
	rc = c.failed ? EXIT_FAILURE : EXIT_SUCCESS;
out:
	tp_config_free(&cfg);
	tp_buf_free(&err);
	tp_buf_free(&dropped);
	free(cgi_bin);
	return rc;
}
