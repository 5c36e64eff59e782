/*
 * config.c - the .env reader and the typed configuration.
 *
 * Source order: the file named by $TWILIOPAY_ENV (default ./.env, which may
 * be absent), then the process environment, which wins.  Names are the
 * Node original's (DESIGN.md) so an existing .env works unchanged; lines
 * that are not KEY=VALUE (the original's sample has prose lines) are
 * skipped with a warning, as dotenv skips them.
 *
 * Every variable that is set is checked for form; presence is checked only
 * for the names a binary declares it needs.  All problems are reported at
 * once, one line each, so an operator fixes the file in one pass.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define ENV_FILE_MAX (256u << 10)

extern char **environ;

static tp_params merged; /* file values overridden by the environment */

typedef enum var_kind {
	V_STR,    /* any non-empty string */
	V_SECRET, /* non-empty, at least 16 characters */
	V_BOOL,
	V_LONG,
	V_URL,   /* http(s)://host[:port][/path], trailing '/' removed */
	V_SID,   /* two-letter prefix + 32 hex, prefix in `arg` */
	V_HOST,  /* host[:port], no scheme */
	V_ORDER, /* comma list of capture names */
	V_LEVEL,
	V_PATH,
	V_CURRENCIES, /* comma list of ISO 4217 codes, stored upper case without blanks */
	V_DIAL,       /* a lib/dial.c list, its tp_dial_list in `arg`[0] */
	V_REDIS,      /* a lib/redis.c URL (may hold a password: never echoed) */
} var_kind;

typedef struct var_spec {
	const char *name;
	var_kind kind;
	size_t off;      /* offset in tp_config */
	const char *def; /* default, or NULL */
	const char *arg; /* SID prefix; for V_LONG "min:max" */
} var_spec;

#define F(field) offsetof(tp_config, field)

static const var_spec specs[] = {
    {"ACCOUNT_SID", V_SID, F(account_sid), NULL, "AC"},
    {"AUTH_TOKEN", V_SECRET, F(auth_token), NULL, NULL},
    {"SERVER_URL", V_URL, F(server_url), NULL, NULL},
    {"SIP_DOMAIN_URI", V_HOST, F(sip_domain_uri), NULL, NULL},
    {"PAYMENT_CONNECTOR", V_STR, F(payment_connector), NULL, NULL},
    {"INCLUDE_CVC", V_BOOL, F(include_cvc), "true", NULL},
    {"INCLUDE_POSTAL_CODE", V_BOOL, F(include_postal_code), "false", NULL},
    {"PAYMENT_CAPTURE_ORDER", V_ORDER, F(payment_capture_order),
     "payment-card-number,security-code,expiration-date", NULL},
    {"PAY_SYNC_SERVICE_NAME", V_STR, F(pay_sync_service_name), NULL, NULL},
    {"PAY_SYNC_SERVICE_SID", V_SID, F(pay_sync_service_sid), NULL, "IS"},
    {"SYNC_PAY_MAP_NAME", V_STR, F(sync_pay_map_name), "payMap", NULL},
    {"SYNC_UUI_MAP_NAME", V_STR, F(sync_uui_map_name), "uuiMap", NULL},
    {"API_KEY", V_SID, F(api_key), NULL, "SK"},
    {"API_SECRET", V_SECRET, F(api_secret), NULL, NULL},
    {"TWILIO_API_URL", V_URL, F(twilio_api_url), "https://api.twilio.com", NULL},
    {"TWILIO_SYNC_URL", V_URL, F(twilio_sync_url), "https://sync.twilio.com", NULL},
    {"ENABLE_REFER", V_BOOL, F(enable_refer), "false", NULL},
    {"ENABLE_SYNC_TOKENS", V_BOOL, F(enable_sync_tokens), "false", NULL},
    {"CONNECTOR_USERNAME", V_STR, F(connector_username), NULL, NULL},
    {"CONNECTOR_PASSWORD", V_SECRET, F(connector_password), NULL, NULL},
    /* Read by lib/gateway.c; missing from this table, it could never be
     * set, so the connector refused every real-Twilio configuration
     * (found by tests/integration/test_connector_gateway_contract.sh). */
    {"PAYMENT_GATEWAY", V_STR, F(payment_gateway), NULL, NULL},
    {"ADMIN_TOKEN", V_SECRET, F(admin_token), NULL, NULL},
    {"AGENT_SECRET", V_SECRET, F(agent_secret), NULL, NULL},
    {"AGENTS_FILE", V_PATH, F(agents_file), NULL, NULL},
    {"AGENTS_SYNC_MAP", V_STR, F(agents_sync_map), NULL, NULL},
    {"AGENTS_CACHE_S", V_LONG, F(agents_cache_s), "30", "0:300"},
    {"NCHAN_PUBLISH_URL", V_URL, F(nchan_publish_url), "http://localhost/pub", NULL},
    {"NCHAN_PUBLISH_SOCKET", V_PATH, F(nchan_socket), NULL, NULL},
    /* Relative to the handler's working directory: under systemd that is
     * eventsAuth's own RuntimeDirectory (/run/twiliopay/eventsAuth), so a
     * deployment needs no setting. */
    {"TICKETS_FILE", V_PATH, F(tickets_file), "spent-tickets", NULL},
    /* The nodes' shared Redis (docs/multinode.md): nchan's engine
     * (rendered into nginx) and, when set, where tickets are spent. */
    {"NCHAN_REDIS_URL", V_REDIS, F(nchan_redis_url), NULL, NULL},
    {"HTTP_TIMEOUT_MS", V_LONG, F(http_timeout_ms), "10000", "100:120000"},
    /* Documented (docs/operating.md, .env.example) and used by lib/api.c, but was
     * never read: every call kept the built-in 12 s (found by
     * tests/integration/test_fault_recovery.sh). */
    {"API_RETRY_BUDGET_MS", V_LONG, F(api_retry_budget_ms), "12000", "100:600000"},
    {"MAX_BODY_BYTES", V_LONG, F(max_body_bytes), "65536", "1024:10485760"},
    {"LOG_LEVEL", V_LEVEL, F(log_level), "info", NULL},
    {"ALLOWED_CURRENCIES", V_CURRENCIES, F(allowed_currencies), NULL, NULL},
    {"DIAL_ALLOWED_PREFIXES", V_DIAL, F(dial_allowed_prefixes), NULL, "a"},
    {"DIAL_DENIED_PREFIXES", V_DIAL, F(dial_denied_prefixes), NULL, "d"},
    {"DIAL_ALLOWED_SIP_DOMAINS", V_DIAL, F(dial_allowed_sip_domains), NULL, "s"},
    {"METRICS_DIR", V_PATH, F(metrics_dir), NULL, NULL},
};

static const char *const capture_names[] = {
    "payment-card-number", "expiration-date",     "security-code",
    "postal-code",         "bank-routing-number", "bank-account-number",
};

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

tp_rc tp_env_parse(tp_params *out, const char *text, size_t len, tp_buf *err)
{
	size_t pos = 0, lineno = 0;
	tp_rc rc = TP_OK;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		const char *eq, *key, *val;
		size_t klen, vlen;
		tp_buf v;

		pos += llen + 1;
		lineno++;
		trim(&line, &llen);
		if (llen == 0 || line[0] == '#')
			continue;
		if (llen > 7 && strncmp(line, "export ", 7) == 0) {
			line += 7;
			llen -= 7;
		}
		eq = memchr(line, '=', llen);
		if (!eq) {
			tp_log(TP_LOG_WARN, ".env line %zu is not KEY=VALUE; skipped", lineno);
			continue;
		}
		key = line;
		klen = (size_t)(eq - line);
		trim(&key, &klen);
		val = eq + 1;
		vlen = (size_t)(line + llen - val);
		trim(&val, &vlen);
		if (klen == 0) {
			if (err)
				tp_buf_addf(err, ".env line %zu has no variable name\n", lineno);
			rc = TP_EINVAL;
			continue;
		}
		tp_buf_init(&v, ENV_FILE_MAX);
		if (vlen >= 1 && (val[0] == '"' || val[0] == '\'')) {
			char q = val[0];
			size_t i;
			bool closed = false;
			for (i = 1; i < vlen; i++) {
				if (val[i] == q) {
					closed = true;
					break;
				}
				if (q == '"' && val[i] == '\\' && i + 1 < vlen) {
					i++;
					tp_buf_addc(&v, val[i] == 'n' ? '\n' : val[i]);
				} else {
					tp_buf_addc(&v, val[i]);
				}
			}
			if (!closed) {
				if (err)
					tp_buf_addf(err, ".env line %zu: unterminated quote\n",
					            lineno);
				rc = TP_EINVAL;
				tp_buf_free(&v);
				continue;
			}
		} else {
			/* Unquoted: an inline comment starts at " #". */
			size_t i;
			for (i = 0; i < vlen; i++)
				if (val[i] == '#' && i > 0 && isspace((unsigned char)val[i - 1]))
					break;
			while (i > 0 && isspace((unsigned char)val[i - 1]))
				i--;
			tp_buf_add(&v, val, i);
		}
		{
			char *k = tp_xstrndup(key, klen);
			tp_params_set(out, k, tp_buf_str(&v));
			free(k);
		}
		tp_buf_free(&v);
	}
	return rc;
}

bool tp_config_known(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if (strcmp(specs[i].name, name) == 0)
			return true;
	return false;
}

const char *tp_config_raw(const char *name)
{
	const char *v = tp_params_get(&merged, name);
	return v && *v ? v : NULL;
}

static bool valid_url(const char *v)
{
	const char *h;

	if (tp_str_prefix(v, "https://"))
		h = v + 8;
	else if (tp_str_prefix(v, "http://"))
		h = v + 7;
	else
		return false;
	if (!*h || *h == '/' || *h == ':')
		return false;
	for (; *h; h++)
		if (isspace((unsigned char)*h) || *h == '?' || *h == '#' || *h == '"' ||
		    *h == '<' || *h == '>')
			return false;
	return true;
}

static bool valid_host(const char *v)
{
	const char *p;

	if (!*v)
		return false;
	for (p = v; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':'))
			return false;
	return true;
}

static bool valid_order(const char *v)
{
	const char *p = v;

	while (*p) {
		size_t n = strcspn(p, ","), i;
		const char *s = p;
		bool known = false;
		size_t sl = n;
		trim(&s, &sl);
		for (i = 0; i < sizeof capture_names / sizeof capture_names[0]; i++)
			if (strlen(capture_names[i]) == sl && strncmp(capture_names[i], s, sl) == 0)
				known = true;
		if (!known)
			return false;
		p += n;
		if (*p == ',')
			p++;
	}
	return *v != '\0';
}

/* ALLOWED_CURRENCIES: "usd, EUR" -> "USD,EUR"; every code must be an
 * active ISO 4217 code (tp_currency_minor_units), repeats are dropped.
 * False (out untouched beyond what was added) when one is not. */
static bool currency_list(const char *v, tp_buf *out, tp_buf *err, const char *name)
{
	const char *p = v;

	while (*p) {
		size_t n = strcspn(p, ","), sl = n;
		const char *s = p;
		char code[4];
		trim(&s, &sl);
		if (tp_currency_code(s, sl, code) < 0) {
			tp_buf_addf(err,
			            "%s must be a comma list of ISO 4217 currency codes such as "
			            "USD,EUR,GBP (\"%.*s\" is not one)\n",
			            name, (int)(sl > 16 ? 16 : sl), s);
			return false;
		}
		if (!strstr(tp_buf_str(out), code)) {
			if (out->len)
				tp_buf_addc(out, ',');
			tp_buf_adds(out, code);
		}
		p += n + (p[n] == ',');
	}
	if (!out->len) {
		tp_buf_addf(err, "%s is set but names no currency\n", name);
		return false;
	}
	return true;
}

/* Checks and stores one variable; appends a line to err when malformed. */
static bool set_var(tp_config *cfg, const var_spec *s, const char *v, tp_buf *err)
{
	char *base = (char *)cfg;
	bool b;

	switch (s->kind) {
	case V_BOOL:
		if (tp_str_to_bool(v, &b) != TP_OK) {
			tp_buf_addf(err, "%s must be true or false (got \"%s\")\n", s->name, v);
			return false;
		}
		*(bool *)(base + s->off) = b;
		return true;
	case V_LONG: {
		uint64_t n, lo = 0, hi = 0;
		const char *colon = strchr(s->arg, ':');
		tp_str_to_u64(s->arg, (size_t)(colon - s->arg), UINT64_MAX, &lo);
		tp_str_to_u64(colon + 1, strlen(colon + 1), UINT64_MAX, &hi);
		if (tp_str_to_u64(v, strlen(v), hi, &n) != TP_OK || n < lo) {
			tp_buf_addf(err,
			            "%s must be a whole number from %llu to %llu (got \"%s\")\n",
			            s->name, (unsigned long long)lo, (unsigned long long)hi, v);
			return false;
		}
		*(long *)(base + s->off) = (long)n;
		return true;
	}
	case V_LEVEL: {
		static const char *const names[] = {"debug", "info", "warn", "error"};
		size_t i;
		for (i = 0; i < 4; i++)
			if (tp_str_caseeq(v, names[i])) {
				*(tp_log_level *)(base + s->off) = (tp_log_level)i;
				return true;
			}
		tp_buf_addf(err, "%s must be debug, info, warn or error (got \"%s\")\n", s->name,
		            v);
		return false;
	}
	case V_SID:
		if (!tp_sid_valid(v, s->arg)) {
			tp_buf_addf(err, "%s must be %s followed by 32 hex digits\n", s->name,
			            s->arg);
			return false;
		}
		break;
	case V_SECRET:
		if (strlen(v) < 16) {
			tp_buf_addf(
			    err, "%s is too short to be a real secret (16 characters at least)\n",
			    s->name);
			return false;
		}
		break;
	case V_URL:
		if (!valid_url(v)) {
			tp_buf_addf(err,
			            "%s must be an absolute http:// or https:// URL without query "
			            "(got \"%s\")\n",
			            s->name, v);
			return false;
		}
		break;
	case V_HOST:
		if (!valid_host(v)) {
			tp_buf_addf(
			    err,
			    "%s must be a host name such as customer.sip.twilio.com, without "
			    "sip: and without spaces (got \"%s\")\n",
			    s->name, v);
			return false;
		}
		break;
	case V_ORDER:
		if (!valid_order(v)) {
			tp_buf_addf(err,
			            "%s must be a comma list of payment-card-number, "
			            "security-code, expiration-date, postal-code, "
			            "bank-routing-number, bank-account-number (got \"%s\")\n",
			            s->name, v);
			return false;
		}
		break;
	case V_CURRENCIES: {
		tp_buf list;
		bool ok;
		tp_buf_init(&list, 4096);
		ok = currency_list(v, &list, err, s->name);
		if (ok) {
			char **slot = (char **)(base + s->off);
			free(*slot);
			*slot = tp_buf_take(&list);
		}
		tp_buf_free(&list);
		return ok;
	}
	case V_DIAL: {
		static const char *const shape[] = {
		    [TP_DIAL_LIST_ALLOWED] = "a comma list of E.164 prefixes such as +1,+44,+61 "
		                             "('x' for any digit), or any",
		    [TP_DIAL_LIST_DENIED] = "a comma list of E.164 prefixes such as +1900,+449 "
		                            "('x' for any digit) and premium (the built-in "
		                            "premium-rate list), or none",
		    [TP_DIAL_LIST_DOMAINS] = "a comma list of host names such as "
		                             "pbx.example.com or *.example.com",
		};
		tp_dial_list k = s->arg[0] == 'a'   ? TP_DIAL_LIST_ALLOWED
		                 : s->arg[0] == 'd' ? TP_DIAL_LIST_DENIED
		                                    : TP_DIAL_LIST_DOMAINS;
		tp_buf list;
		bool ok;
		tp_buf_init(&list, 8192);
		ok = tp_dial_list_normalise(k, v, &list);
		if (ok) {
			char **slot = (char **)(base + s->off);
			free(*slot);
			*slot = tp_buf_take(&list);
		} else {
			tp_buf_addf(err, "%s must be %s (got \"%.200s\")\n", s->name, shape[k], v);
		}
		tp_buf_free(&list);
		return ok;
	}
	case V_STR:
	case V_PATH:
		break;
	case V_REDIS: {
		tp_redis_url u;
		if (tp_redis_url_parse(v, &u) != TP_OK) {
			tp_buf_addf(err,
			            "%s must be redis://[[user]:password@]host[:port][/db] or "
			            "unix://[[user]:password@]/path/to/socket[?db=N] (not TLS)\n",
			            s->name);
			return false;
		}
		tp_redis_url_free(&u);
		break;
	}
	}
	{
		char **slot = (char **)(base + s->off);
		size_t len = strlen(v);
		free(*slot);
		/* URLs are stored without a trailing '/', so "base + path" is
		 * always right. */
		if (s->kind == V_URL)
			while (len > 0 && v[len - 1] == '/')
				len--;
		*slot = tp_xstrndup(v, len);
	}
	return true;
}

/* A need is a name, or alternatives "A|B": any one of them set will do. */
static bool need_met(const char *need)
{
	char name[64];
	const char *p = need;

	while (*p) {
		size_t n = strcspn(p, "|");
		if (n < sizeof name) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (tp_config_raw(name))
				return true;
		}
		p += n + (p[n] == '|');
	}
	return false;
}

tp_rc tp_config_load(tp_config *cfg, const char *const *need, tp_buf *err)
{
	const char *path = getenv("TWILIOPAY_ENV");
	bool explicit_path = path && *path;
	tp_buf file;
	tp_rc rc, result = TP_OK;
	size_t i;
	char **e;

	memset(cfg, 0, sizeof *cfg);
	tp_params_free(&merged);
	if (!explicit_path)
		path = ".env";

	tp_buf_init(&file, ENV_FILE_MAX);
	rc = tp_buf_add_file(&file, path);
	if (rc == TP_OK) {
		cfg->env_path = tp_xstrdup(path);
		if (tp_env_parse(&merged, tp_buf_str(&file), file.len, err) != TP_OK)
			result = TP_EINVAL;
	} else {
		cfg->env_path = tp_xstrdup("");
		if (rc != TP_ENOTFOUND || explicit_path) {
			tp_buf_addf(err, "cannot read the configuration file %s: %s\n", path,
			            rc == TP_ETOOBIG ? "larger than 256 KiB" : strerror(errno));
			result = TP_EINVAL;
		}
	}
	tp_buf_free(&file);

	/* The environment overrides the file, but only for our names. */
	for (e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
			size_t n = strlen(specs[i].name);
			if ((size_t)(eq - *e) == n && strncmp(*e, specs[i].name, n) == 0)
				tp_params_set(&merged, specs[i].name, eq + 1);
		}
	}

	for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		const var_spec *s = &specs[i];
		const char *v = tp_config_raw(s->name);
		if (!v)
			v = s->def;
		if (v && !set_var(cfg, s, v, err))
			result = TP_EINVAL;
	}
	/* One agent store: a file (one node) or the Sync map (several). */
	if (cfg->agents_file && cfg->agents_sync_map) {
		tp_buf_adds(err, "AGENTS_FILE and AGENTS_SYNC_MAP are both set: agents live in "
		                 "one of them (twiliopay-agent import moves a file into Sync)\n");
		result = TP_EINVAL;
	}
	for (i = 0; need && need[i]; i++)
		if (!need_met(need[i])) {
			bool has_default = false;
			size_t j;
			for (j = 0; j < sizeof specs / sizeof specs[0]; j++)
				if (strcmp(specs[j].name, need[i]) == 0 && specs[j].def)
					has_default = true;
			if (!has_default) {
				tp_buf_addf(err,
				            "%s is missing (set it in %s or the environment)\n",
				            strchr(need[i], '|') ? "AGENTS_FILE or AGENTS_SYNC_MAP"
				                                 : need[i],
				            *cfg->env_path ? cfg->env_path : ".env");
				result = TP_EINVAL;
			}
		}
	return result;
}

void tp_config_free(tp_config *cfg)
{
	size_t i;

	for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		var_kind k = specs[i].kind;
		if (k != V_BOOL && k != V_LONG && k != V_LEVEL) {
			char **slot = (char **)((char *)cfg + specs[i].off);
			free(*slot);
			*slot = NULL;
		}
	}
	free(cfg->env_path);
	cfg->env_path = NULL;
	tp_params_free(&merged);
}
