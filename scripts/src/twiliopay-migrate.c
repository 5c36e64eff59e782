/*
 * twiliopay-migrate - a complete .env from the Node original's, in one step.
 *
 *   twiliopay-migrate [--force] [--output FILE] [--agents FILE] [--agent NAME]
 *                     [--group GROUP] [--server-url URL] NODE_ENV
 *
 * Writes FILE (default ./.env): every line of NODE_ENV, its settings with
 * the values the Node original saw, then what this product needs and the
 * original never had, generated here with a CSPRNG (OpenSSL RAND):
 * AGENT_SECRET, ADMIN_TOKEN, CONNECTOR_USERNAME/CONNECTOR_PASSWORD, and
 * AGENTS_FILE (default: "agents" beside FILE) holding a first agent NAME
 * (default "agent") whose random password is printed once.  Then it says
 * what is still to do: the configuration problems the product's own loader
 * finds in FILE, and the Twilio Console changes (twiliopay-check
 * --print-console-urls).
 *
 * Nothing is overwritten without --force (FILE is put in place with
 * link(2), which fails when it exists; with --force an existing agents
 * file keeps its other agents).  Both files are created 0600, or 0640 with
 * group GROUP (--group twiliopay for the systemd services).  A setting
 * already in NODE_ENV is never replaced by a generated one; --server-url
 * replaces SERVER_URL (the Node value stays as a comment).
 *
 * Why C and not a script: the Node original read its .env with dotenv 6.2
 * (lib/dotenv.c), the product reads it with config.c, and the two differ
 * (quotes, backslashes, '#').  This tool reads NODE_ENV with the first
 * rules and, before writing anything, checks with the second that FILE
 * reads back as the same values - a shell script would have to re-implement
 * both readers in sed to do that.  It also hashes the agent's password with
 * the library's yescrypt (as twiliopay-agent does) and is installed beside
 * twiliopay-check and twiliopay-agent.
 *
 * Exit status: 0 written (still-to-do items may remain), 1 refused
 * (nothing written), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "twiliopay.h"

#define NODE_ENV_MAX     (256u << 10)
#define EXIT_REFUSED     1
#define EXIT_USAGE       2
#define EXIT_EXEC_FAILED 127 /* twiliopay-check could not be run (the shell's own status) */

/* What the product cannot work without: twiliopay-check's list, and
 * PAY_SYNC_SERVICE_NAME, without which setupSyncServices does not start
 * (the README's example .env leaves it out by a typo). */
static const char *const required[] = {
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "SERVER_URL",
    "SIP_DOMAIN_URI",
    "PAYMENT_CONNECTOR",
    "PAY_SYNC_SERVICE_SID",
    "PAY_SYNC_SERVICE_NAME",
    "SYNC_PAY_MAP_NAME",
    "SYNC_UUI_MAP_NAME",
    "API_KEY",
    "API_SECRET",
    "CONNECTOR_USERNAME",
    "CONNECTOR_PASSWORD",
    "ADMIN_TOKEN",
    "AGENT_SECRET",
    "AGENTS_FILE",
    NULL,
};

typedef struct opts {
	const char *node_env;
	const char *output;
	const char *agents;
	const char *agent;
	const char *group;
	const char *server_url;
	bool force;
} opts;

/* The file being built, and what it must read back as. */
typedef struct plan {
	tp_buf text;
	tp_params expect; /* name -> value config.c must read from text */
	tp_params added;  /* generated here: name -> value */
	tp_buf notes;     /* one line each, for the operator */
	size_t kept, rewritten;
} plan;

static void usage(FILE *f)
{
	fputs("usage: twiliopay-migrate [--force] [--output FILE] [--agents FILE] [--agent NAME]\n"
	      "                         [--group GROUP] [--server-url URL] NODE_ENV\n"
	      "Writes FILE (default ./.env) from the Node original's NODE_ENV, with new secrets\n"
	      "and an agents file (default: agents beside FILE) whose first agent's password\n"
	      "is printed once.  --force replaces FILE; --group makes both files 0640.\n",
	      f);
}

static void note(plan *p, const char *fmt, ...) TP_PRINTF(2, 3);
static void note(plan *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tp_buf_adds(&p->notes, "  - ");
	tp_buf_vaddf(&p->notes, fmt, ap);
	tp_buf_addc(&p->notes, '\n');
	va_end(ap);
}

/* n random bytes as lower-case hex, after `prefix`. */
static char *random_hex(const char *prefix, size_t n)
{
	unsigned char r[64];
	char hex[2 * sizeof r + 1];
	tp_buf b;

	tp_random_bytes(r, n);
	tp_hex(r, n, hex);
	OPENSSL_cleanse(r, sizeof r);
	tp_buf_init(&b, 256);
	tp_buf_addf(&b, "%s%s", prefix, hex);
	OPENSSL_cleanse(hex, sizeof hex);
	return tp_buf_take(&b);
}

/* ------------------------------------------------------------ the text */

/* True when tp_env_parse reads `raw` as key = the Node value cut at an
 * inline comment (blanks, then '#'): dotenv 6.2 kept "# ..." in the value,
 * config.c drops it.  *ours is then config.c's value (malloc'd). */
static bool comment_cut(const char *raw, const char *key, const char *node_value, char **ours)
{
	tp_params p;
	bool cut = false;

	tp_params_init(&p);
	if (tp_env_parse(&p, raw, strlen(raw), NULL) == TP_OK && p.n == 1 &&
	    strcmp(p.v[0].name, key) == 0) {
		size_t n = strlen(p.v[0].value);
		const char *rest = node_value + n;
		if (strncmp(node_value, p.v[0].value, n) == 0 && (*rest == ' ' || *rest == '\t') &&
		    rest[strspn(rest, " \t")] == '#') {
			*ours = tp_xstrdup(p.v[0].value);
			cut = true;
		}
	}
	tp_params_free(&p);
	return cut;
}

/* Appends key=value as a line; false when no line can carry the value. */
static bool add_setting(plan *p, const char *key, const char *value)
{
	if (tp_env_format(&p->text, key, value) != TP_OK)
		return false;
	tp_buf_addc(&p->text, '\n');
	tp_params_set(&p->expect, key, value);
	return true;
}

/* A comment line: prefix, then text with any \r shown as "\r". */
static void add_comment(plan *p, const char *prefix, const char *text)
{
	tp_buf_adds(&p->text, prefix);
	for (; *text; text++)
		if (*text == '\r')
			tp_buf_adds(&p->text, "\\r");
		else
			tp_buf_addc(&p->text, *text);
	tp_buf_addc(&p->text, '\n');
}

/* The Node original's lines, each kept as written when config.c reads it
 * as dotenv did, else rewritten so that it does. */
static bool copy_node_lines(plan *p, const tp_dotenv *d, const opts *o, tp_buf *err)
{
	size_t i;
	bool server_done = false;

	for (i = 0; i < d->n; i++) {
		const tp_dotenv_line *l = &d->v[i];
		char *ours = NULL;

		switch (l->kind) {
		case TP_DOTENV_BLANK:
			tp_buf_addc(&p->text, '\n');
			break;
		case TP_DOTENV_COMMENT:
			add_comment(p, "", l->raw);
			break;
		case TP_DOTENV_OTHER:
			/* dotenv ignored it; config.c might not ("export X=1") or
			 * would warn at every start (prose). */
			add_comment(p, "# (not read by the Node original) ", l->raw);
			note(p,
			     "line %zu is not NAME=value; the Node original ignored it, so it is "
			     "kept as a comment",
			     i + 1);
			break;
		case TP_DOTENV_SET:
			if (o->server_url && strcmp(l->key, "SERVER_URL") == 0) {
				tp_buf_addf(&p->text, "# SERVER_URL of the Node original: %s\n",
				            l->value);
				if (!server_done && !add_setting(p, "SERVER_URL", o->server_url)) {
					tp_buf_addf(
					    err, "--server-url cannot be written to a .env line\n");
					return false;
				}
				server_done = true;
				break;
			}
			/* A \r inside a line (dotenv allows blanks after one) is
			 * not worth keeping: such a line is rewritten. */
			if (!strchr(l->raw, '\r') && tp_env_line_reads(l->raw, l->key, l->value)) {
				tp_buf_addf(&p->text, "%s\n", l->raw);
				tp_params_set(&p->expect, l->key, l->value);
				p->kept++;
			} else if (!strchr(l->raw, '\r') &&
			           comment_cut(l->raw, l->key, l->value, &ours)) {
				tp_buf_addf(&p->text, "%s\n", l->raw);
				tp_params_set(&p->expect, l->key, ours);
				note(
				    p,
				    "%s (line %zu): the '#' text after the value is a comment now; "
				    "the Node original read it as part of the value",
				    l->key, i + 1);
				free(ours);
				p->kept++;
			} else if (add_setting(p, l->key, l->value)) {
				note(
				    p,
				    "%s (line %zu) rewritten so that it reads as the Node original "
				    "read it (quotes or backslashes)",
				    l->key, i + 1);
				p->rewritten++;
			} else {
				tp_buf_addf(
				    err,
				    "%s (line %zu of %s): its value holds a carriage return, "
				    "which no .env line can carry; fix it there first\n",
				    l->key, i + 1, o->node_env);
				return false;
			}
			break;
		}
	}
	if (o->server_url && !server_done && !add_setting(p, "SERVER_URL", o->server_url)) {
		tp_buf_addf(err, "--server-url cannot be written to a .env line\n");
		return false;
	}
	return true;
}

/* A value the Node original left empty counts as unset (twilio-run
 * dropped empty values too). */
static bool node_has(const tp_dotenv *d, const char *key)
{
	const char *v = tp_dotenv_get(d, key);
	return v && *v;
}

static void add_generated(plan *p, const char *key, char *value, const char *comment)
{
	tp_buf_addf(&p->text, "# %s\n", comment);
	add_setting(p, key, value);
	tp_params_set(&p->added, key, value);
	OPENSSL_cleanse(value, strlen(value));
	free(value);
}

static void add_new_settings(plan *p, const tp_dotenv *d, const char *agents_path)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	tp_buf_addf(&p->text,
	            "\n# ---- Added by twiliopay-migrate on %s: what GenesysPay in C needs\n"
	            "# and the Node original did not have (docs/operating.md, \"Configuration\").\n"
	            "# The secrets were generated at random for this server.\n",
	            stamp);
	if (!node_has(d, "CONNECTOR_USERNAME"))
		add_generated(p, "CONNECTOR_USERNAME", random_hex("connector-", 4),
		              "Pay Connector credentials: enter both in the Generic Pay Connector "
		              "in Twilio Console.");
	if (!node_has(d, "CONNECTOR_PASSWORD"))
		add_generated(p, "CONNECTOR_PASSWORD", random_hex("", 24),
		              "(Twilio sends them as HTTP Basic to /connector/charge.)");
	if (!node_has(d, "ADMIN_TOKEN"))
		add_generated(p, "ADMIN_TOKEN", random_hex("", 24),
		              "Bearer token for /sync/setupSyncServices.");
	if (!node_has(d, "AGENT_SECRET"))
		add_generated(p, "AGENT_SECRET", random_hex("", 32),
		              "Key of the agents' and sessions' credentials (HMAC).");
	if (!node_has(d, "AGENTS_FILE")) {
		tp_buf_adds(&p->text, "# Agents who may sign in to the console: twiliopay-agent -f "
		                      "FILE set NAME.\n");
		add_setting(p, "AGENTS_FILE", agents_path);
		tp_params_set(&p->added, "AGENTS_FILE", agents_path);
	}
	if (!node_has(d, "NCHAN_PUBLISH_SOCKET")) {
		tp_buf_adds(&p->text, "# Live updates: nginx's internal nchan publisher (make "
		                      "install's RUNDIR; make run and\n# make run-live use their "
		                      "own).\n");
		add_setting(p, "NCHAN_PUBLISH_SOCKET", "/run/twiliopay/nchan-pub.sock");
		tp_params_set(&p->added, "NCHAN_PUBLISH_SOCKET", "/run/twiliopay/nchan-pub.sock");
	}
	if (!node_has(d, "PAYMENT_GATEWAY"))
		tp_buf_adds(&p->text,
		            "# The payment gateway behind /connector/*.  Against real Twilio the\n"
		            "# connector does not start until it is set: \"sandbox\" approves "
		            "without\n# moving money, as the Node original's /connector/charge "
		            "did.\n#PAYMENT_GATEWAY=sandbox\n");
}

/* config.c must read the text as exactly `expect`: every value the Node
 * original saw (or the one the operator chose), plus what was added. */
static bool verify(const plan *p, tp_buf *err)
{
	tp_params got;
	size_t i;
	bool ok = true;

	tp_params_init(&got);
	if (tp_env_parse(&got, tp_buf_str(&p->text), p->text.len, NULL) != TP_OK) {
		tp_buf_adds(err, "internal error: the new file would not parse\n");
		ok = false;
		goto out;
	}
	for (i = 0; i < p->expect.n; i++) {
		const char *v = tp_params_get(&got, p->expect.v[i].name);
		if (!v || strcmp(v, p->expect.v[i].value) != 0) {
			tp_buf_addf(err, "internal error: %s would not read back as written\n",
			            p->expect.v[i].name);
			ok = false;
		}
	}
	for (i = 0; i < got.n; i++)
		if (!tp_params_get(&p->expect, got.v[i].name)) {
			tp_buf_addf(err, "internal error: %s would appear from nowhere\n",
			            got.v[i].name);
			ok = false;
		}
out:
	tp_params_free(&got);
	return ok;
}

/* ------------------------------------------------------------ files */

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* A new file at `path` holding `text`, mode 0600 (0640 with a group),
 * never replacing one unless `replace`.  Written to a temporary file in
 * the same folder, synced, then linked (or renamed) into place, so it is
 * whole or absent. */
static bool write_file(const char *path, const char *text, size_t len, gid_t gid, bool replace,
                       tp_buf *err)
{
	tp_buf tmp;
	int fd;
	bool ok = false;
	mode_t mode = gid != (gid_t)-1 ? 0640 : 0600;

	tp_buf_init(&tmp, PATH_MAX + 64);
	tp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		tp_buf_addf(err, "cannot create %s: %s\n", tmp.ptr, strerror(errno));
		goto out;
	}
	if ((gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) || fchmod(fd, mode) != 0 ||
	    write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		tp_buf_addf(err, "cannot write %s: %s\n", tmp.ptr, strerror(errno));
		close(fd);
		unlink(tmp.ptr);
		goto out;
	}
	close(fd);
	if (replace ? rename(tmp.ptr, path) != 0 : link(tmp.ptr, path) != 0) {
		tp_buf_addf(err, "cannot create %s: %s%s\n", path, strerror(errno),
		            errno == EEXIST ? " (--force replaces it)" : "");
		unlink(tmp.ptr);
		goto out;
	}
	if (!replace)
		unlink(tmp.ptr);
	ok = true;
out:
	tp_buf_free(&tmp);
	return ok;
}

/* Adds (or, with --force on an existing file, sets) the first agent with
 * a random password, returned malloc'd.  A new file is created empty first
 * with the right mode and group, which tp_agents_file_set keeps. */
static char *first_agent(const char *path, const char *name, gid_t gid, bool *created, tp_buf *err)
{
	unsigned char r[18];
	tp_buf pw;
	char *hash = NULL;

	*created = false;
	if (!exists(path)) {
		if (!write_file(path, "", 0, gid, false, err))
			return NULL;
		*created = true;
	}
	tp_random_bytes(r, sizeof r);
	tp_buf_init(&pw, 64);
	tp_b64url_encode(&pw, r, sizeof r);
	OPENSSL_cleanse(r, sizeof r);
	if (tp_agent_hash_password(tp_buf_str(&pw), &hash) != TP_OK ||
	    tp_agents_file_set(path, name, hash) != TP_OK) {
		tp_buf_addf(err, "cannot write the agent to %s: %s\n", path, strerror(errno));
		OPENSSL_cleanse(pw.ptr, pw.len);
		tp_buf_free(&pw);
		free(hash);
		if (*created)
			unlink(path);
		return NULL;
	}
	free(hash);
	return tp_buf_take(&pw);
}

/* ------------------------------------------------------------ the report */

extern char **environ;

/* Drops every configuration variable from this process's environment:
 * the services read only the file. */
static void scrub_config_env(void)
{
	tp_params names;
	char **e;
	size_t i;

	tp_params_init(&names);
	for (e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		char *name = eq ? tp_xstrndup(*e, (size_t)(eq - *e)) : NULL;
		if (name && tp_config_known(name))
			tp_params_add(&names, name, "");
		free(name);
	}
	for (i = 0; i < names.n; i++)
		unsetenv(names.v[i].name);
	tp_params_free(&names);
}

/* Loads `path` with the product's own rules, this shell's variables
 * dropped (the services read only the file), and lists what is wrong. */
static void still_to_do(const char *path, const tp_dotenv *d, const opts *o, gid_t gid)
{
	tp_config cfg;
	tp_buf err, todo, unknown;
	const char *p;
	size_t i;

	scrub_config_env();
	setenv("TWILIOPAY_ENV", path, 1);
	tp_buf_init(&err, 65536);
	tp_buf_init(&todo, 65536);
	tp_buf_init(&unknown, 65536);
	tp_config_load(&cfg, required, &err);
	/* The loader's own lines, with what to do for the ones the Node
	 * original's .env typically lacks. */
	for (p = tp_buf_str(&err); *p;) {
		size_t len = strcspn(p, "\n");
		if (len)
			tp_buf_addf(&todo, "  - %.*s\n", (int)len, p);
		if (tp_str_prefix(p, "PAY_SYNC_SERVICE_SID "))
			tp_buf_addf(
			    &todo,
			    "    (scripts/setup-sync --env %s --write-env finds or creates the "
			    "Sync service named PAY_SYNC_SERVICE_NAME and sets it)\n",
			    path);
		if (tp_str_prefix(p, "API_KEY ") || tp_str_prefix(p, "API_SECRET "))
			tp_buf_adds(&todo,
			            "    (only /sync/getSyncToken uses it: Console > Account > "
			            "API keys & tokens, a standard key)\n");
		p += len + (p[len] == '\n');
	}
	if (cfg.server_url && strstr(cfg.server_url, ".twil.io"))
		tp_buf_addf(&todo,
		            "  - SERVER_URL %s is the Node original's Twilio Functions domain: set "
		            "it to this server's public https URL (--server-url)\n",
		            cfg.server_url);
	else if (cfg.server_url && !tp_str_prefix(cfg.server_url, "https://"))
		tp_buf_addf(&todo,
		            "  - SERVER_URL %s is not https: Twilio sends webhooks and card data "
		            "to it (make run-live accepts an http tunnel you name)\n",
		            cfg.server_url);
	/* The original created its Sync service without access control,
	 * which twiliopay-check refuses; turning it on is a step of its own
	 * because it also cuts off the original's browsers (their tokens have
	 * no permission). */
	if (cfg.pay_sync_service_sid && node_has(d, "PAY_SYNC_SERVICE_SID"))
		tp_buf_addf(&todo,
		            "  - Sync access control: the Node original created %s without it; "
		            "scripts/setup-sync --env %s turns it on (twiliopay-check fails until "
		            "then). The original's browsers can no longer read payMap after that: "
		            "do it when you switch over\n",
		            cfg.pay_sync_service_sid, path);
	if (!cfg.payment_gateway && !tp_config_raw("TWILIO_API_URL"))
		tp_buf_adds(&todo, "  - PAYMENT_GATEWAY: against real Twilio the connector "
		                   "(/connector/charge) does not start until it is set; "
		                   "PAYMENT_GATEWAY=sandbox keeps the Node original's behaviour "
		                   "(approves, moves no money), lib/gateway.c connects a real "
		                   "gateway\n");
	if (getuid() == 0 && gid == (gid_t)-1)
		tp_buf_addf(
		    &todo,
		    "  - %s and %s are root's alone (0600); for the systemd services: "
		    "chgrp twiliopay FILE && chmod 0640 FILE for both (or --group twiliopay)\n",
		    path, o->agents);
	for (i = 0; i < d->n; i++) {
		const tp_dotenv_line *l = &d->v[i];
		if (l->kind == TP_DOTENV_SET && !tp_config_known(l->key) &&
		    !strstr(tp_buf_str(&unknown), l->key))
			tp_buf_addf(&unknown, "%s%s", unknown.len ? ", " : "", l->key);
	}
	if (todo.len)
		printf("\nStill to do in %s:\n%s", path, tp_buf_str(&todo));
	else
		printf("\nNothing left to do in %s.\n", path);
	if (unknown.len)
		printf("\nKept, but not read by GenesysPay in C: %s.\n", tp_buf_str(&unknown));
	tp_config_free(&cfg);
	tp_buf_free(&err);
	tp_buf_free(&todo);
	tp_buf_free(&unknown);
}

/* twiliopay-check, installed beside this tool, prints the Console values. */
static void console_changes(const char *path)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;
	tp_buf check;
	pid_t pid;
	int status = -1;

	printf("\nTwilio Console: the paths are the Node original's; point them at "
	       "SERVER_URL, and give the\nPay Connector the new credentials (only a "
	       "Generic Pay Connector that called the Node\noriginal's /connector/charge; "
	       "another connector, e.g. Stripe, stays as it is).\n\n");
	fflush(stdout);
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	tp_buf_init(&check, PATH_MAX + 32);
	tp_buf_addf(&check, "%s/twiliopay-check", self);
	pid = fork();
	if (pid == 0) {
		char *const args[] = {check.ptr,
		                      (char *)"--print-console-urls",
		                      (char *)"--show-connector-password",
		                      (char *)"--env",
		                      (char *)path,
		                      NULL};
		execv(check.ptr, args);
		fprintf(stderr, "twiliopay-migrate: cannot run %s: %s\n", check.ptr,
		        strerror(errno));
		_exit(EXIT_EXEC_FAILED);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (pid <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("(Once SERVER_URL is right, twiliopay-check --print-console-urls "
		       "--show-connector-password --env %s prints them.)\n",
		       path);
	tp_buf_free(&check);
	printf("\nGenesys Cloud: the User-to-User value now arrives hex-encoded "
	       "(04<hex>;encoding=hex) and\nGenesys hands Architect and Scripter the plain "
	       "id; see migrating.md (docs/ in the source,\nshare/twiliopay/docs/ once installed) "
	       "for what to change.\n");
}

/* ------------------------------------------------------------ main */

/* path with its folder made absolute (the file itself need not exist);
 * NULL when the folder does not exist. */
static char *absolute(const char *path)
{
	char dir[PATH_MAX];
	char *copy = tp_xstrdup(path), *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy, *folder = ".";
	tp_buf b;

	if (slash == copy) {
		folder = "/";
	} else if (slash) {
		*slash = '\0';
		folder = copy;
	}
	if (!realpath(folder, dir) || !*base) {
		free(copy);
		return NULL;
	}
	tp_buf_init(&b, PATH_MAX + NAME_MAX + 2);
	tp_buf_addf(&b, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", base);
	free(copy);
	return tp_buf_take(&b);
}

int main(int argc, char **argv)
{
	opts o = {.output = ".env", .agent = "agent"};
	tp_buf node_text, err;
	tp_dotenv d = {0};
	plan p;
	char *out_abs = NULL, *agents_abs = NULL, *password = NULL;
	gid_t gid = (gid_t)-1;
	bool agents_created = false;
	int i, rc = EXIT_REFUSED;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = strcmp(a, "--output") == 0       ? &o.output
		                    : strcmp(a, "--agents") == 0     ? &o.agents
		                    : strcmp(a, "--agent") == 0      ? &o.agent
		                    : strcmp(a, "--group") == 0      ? &o.group
		                    : strcmp(a, "--server-url") == 0 ? &o.server_url
		                                                     : NULL;
		if (slot && i + 1 < argc) {
			*slot = argv[++i];
		} else if (strcmp(a, "--force") == 0) {
			o.force = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else if (a[0] != '-' && !o.node_env) {
			o.node_env = a;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!o.node_env) {
		usage(stderr);
		return EXIT_USAGE;
	}
	tp_log_init("twiliopay-migrate");
	tp_log_set_level(TP_LOG_ERROR);
	tp_buf_init(&node_text, NODE_ENV_MAX);
	tp_buf_init(&err, 65536);
	tp_buf_init(&p.text, 4 * NODE_ENV_MAX);
	tp_buf_init(&p.notes, 65536);
	tp_params_init(&p.expect);
	tp_params_init(&p.added);
	p.kept = p.rewritten = 0;

	if (!tp_agent_name_valid(o.agent)) {
		tp_buf_addf(&err,
		            "\"%s\" is not a valid agent name (1-%d of A-Z a-z 0-9 . _ - @)\n",
		            o.agent, TP_AGENT_NAME_MAX);
		goto out;
	}
	if (o.server_url && !tp_str_prefix(o.server_url, "https://") &&
	    !tp_str_prefix(o.server_url, "http://")) {
		tp_buf_addf(&err, "--server-url must be an http(s):// URL\n");
		goto out;
	}
	if (o.group) {
		const struct group *g = getgrnam(o.group);
		if (!g) {
			tp_buf_addf(&err, "no group %s\n", o.group);
			goto out;
		}
		gid = g->gr_gid;
	}
	switch (tp_buf_add_file(&node_text, o.node_env)) {
	case TP_OK:
		break;
	case TP_ETOOBIG:
		tp_buf_addf(&err, "%s is larger than 256 KiB: not a .env\n", o.node_env);
		goto out;
	default:
		tp_buf_addf(&err, "cannot read %s: %s\n", o.node_env, strerror(errno));
		goto out;
	}
	if (tp_dotenv_parse(tp_buf_str(&node_text), node_text.len, &d) != TP_OK) {
		tp_buf_addf(&err, "%s is not a text .env (a NUL byte or a line over 64 KiB)\n",
		            o.node_env);
		goto out;
	}
	out_abs = absolute(o.output);
	if (!out_abs) {
		tp_buf_addf(&err, "the folder of %s does not exist\n", o.output);
		goto out;
	}
	if (o.agents) {
		agents_abs = absolute(o.agents);
	} else if (tp_dotenv_get(&d, "AGENTS_FILE") && *tp_dotenv_get(&d, "AGENTS_FILE")) {
		agents_abs = absolute(tp_dotenv_get(&d, "AGENTS_FILE"));
	} else {
		tp_buf a;
		tp_buf_init(&a, PATH_MAX + 16);
		tp_buf_addf(&a, "%.*s/agents", (int)(strrchr(out_abs, '/') - out_abs), out_abs);
		agents_abs = tp_buf_take(&a);
	}
	if (!agents_abs) {
		tp_buf_addf(&err, "the folder of the agents file does not exist\n");
		goto out;
	}
	o.agents = agents_abs;
	if (!o.force && exists(out_abs)) {
		tp_buf_addf(&err, "%s exists; --force replaces it\n", out_abs);
		goto out;
	}
	if (!o.force && exists(agents_abs)) {
		tp_buf_addf(&err, "%s exists; --force adds the agent to it\n", agents_abs);
		goto out;
	}

	tp_buf_addf(&p.text,
	            "# GenesysPay configuration, migrated by twiliopay-migrate from %s.\n"
	            "# The Node original's lines first, as they were; what this product adds\n"
	            "# comes after them.  .env.example describes every variable.\n\n",
	            o.node_env);
	if (!copy_node_lines(&p, &d, &o, &err))
		goto out;
	add_new_settings(&p, &d, agents_abs);
	if (!p.text.ptr) {
		tp_buf_addf(&err, "%s is too large to migrate\n", o.node_env);
		goto out;
	}
	if (!verify(&p, &err))
		goto out;

	password = first_agent(agents_abs, o.agent, gid, &agents_created, &err);
	if (!password)
		goto out;
	if (!write_file(out_abs, p.text.ptr, p.text.len, gid, o.force, &err)) {
		if (agents_created)
			unlink(agents_abs);
		goto out;
	}
	rc = EXIT_SUCCESS;

	printf("twiliopay-migrate: wrote %s (mode %s) from %s: %zu settings kept as they were, "
	       "%zu rewritten, %zu added.\n",
	       out_abs, gid != (gid_t)-1 ? "0640" : "0600", o.node_env, p.kept, p.rewritten,
	       p.added.n);
	if (p.notes.len)
		printf("%s", tp_buf_str(&p.notes));
	printf("\nAgent console sign-in, shown only now (twiliopay-agent -f %s set %s changes "
	       "it):\n  %s / %s\n",
	       agents_abs, o.agent, o.agent, password);
	fflush(stdout);
	still_to_do(out_abs, &d, &o, gid);
	console_changes(out_abs);
out:
	if (rc != 0) {
		const char *e = tp_buf_str(&err);
		while (*e) {
			size_t len = strcspn(e, "\n");
			fprintf(stderr, "twiliopay-migrate: %.*s\n", (int)len, e);
			e += len + (e[len] == '\n');
		}
		fprintf(stderr, "twiliopay-migrate: nothing written\n");
	}
	if (password) {
		OPENSSL_cleanse(password, strlen(password));
		free(password);
	}
	if (p.text.ptr)
		OPENSSL_cleanse(p.text.ptr, p.text.len);
	tp_buf_free(&p.text);
	tp_buf_free(&p.notes);
	tp_params_free(&p.expect);
	tp_params_free(&p.added);
	tp_dotenv_free(&d);
	tp_buf_free(&node_text);
	tp_buf_free(&err);
	free(out_abs);
	free(agents_abs);
	return rc;
}
