/*
 * fixture-runner - runs webhook fixtures: one request in, the expected
 * status, headers and body out (curl tests/data style; the format is in
 * tests/fixtures/README.md).
 *
 *   fixture-runner BUILD_DIR FIXTURE...
 *
 * Each fixture runs its handler binary once in --cgi mode with a clean
 * environment: the fixed test configuration below, the fixture's
 * `--- env` lines, and the CGI variables of its request.  Placeholders in
 * the request are filled in before it is sent:
 *   {{signature}}          X-Twilio-Signature of this request
 *   {{signature:URL}}      signature computed over another URL (replays)
 *   {{basic:USER:PASS}}    base64 of USER:PASS, for Authorization: Basic
 *   {{env:NAME}}           a configuration value
 * Output is TAP: the plan "1..N" (one result per fixture file given),
 * then "ok - FILE" or "not ok - FILE: section: expected ... got ...".
 * Exit status 1 when any fixture fails.  A fixture whose number (the
 * digits before the first '-' of its name) another file in its folder
 * also has fails without running: each number names one case per handler
 * (tests/fixtures/README.md), so that "startCapture/0021" is one file.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "twiliopay.h"

/* Exit statuses beside EXIT_SUCCESS and EXIT_FAILURE (a fixture failed). */
#define EXIT_ERROR       2   /* a bad command line, no temporary folder */
#define EXIT_EXEC_FAILED 127 /* the handler could not be run (the shell's own status) */

/* The spent-tickets list of this run (TICKETS_FILE), in a folder of its
 * own that main() makes and removes: never the handler's default,
 * ./spent-tickets in the checkout. */
static char spent_dir[] = "/tmp/tp-fixtures-XXXXXX";
static char spent_file[sizeof spent_dir + 16];

/* The configuration every fixture starts from. */
static const char *const base_env[] = {
    "ACCOUNT_SID=AC00000000000000000000000000000001",
    "AUTH_TOKEN=fixture0auth0token0000000000000a",
    "SERVER_URL=https://pay.example.com",
    "SIP_DOMAIN_URI=customer.sip.example.com",
    "PAYMENT_CONNECTOR=fixture_connector",
    "PAY_SYNC_SERVICE_SID=IS00000000000000000000000000000001",
    "API_KEY=SK00000000000000000000000000000001",
    "API_SECRET=fixture0api0secret00000000000000",
    "CONNECTOR_USERNAME=connector",
    "CONNECTOR_PASSWORD=fixture-connector-password",
    "ADMIN_TOKEN=fixture-admin-token-000000000000",
    "AGENT_SECRET=fixture-agent-secret-00000000000000000000",
    /* Nothing may call out: a handler that tries gets "connection
     * refused" on a port nobody listens on. */
    "TWILIO_API_URL=http://127.0.0.1:9",
    "TWILIO_SYNC_URL=http://127.0.0.1:9",
    "HTTP_TIMEOUT_MS=1000",
    /* Twilio-down cases retry for 1 s, not a webhook's 12 s. */
    "API_RETRY_BUDGET_MS=1000",
    "TWILIOPAY_ENV=/dev/null",
    "LOG_LEVEL=error",
    NULL,
};

typedef struct fixture {
	const char *file;
	tp_params sections; /* name -> text */
} fixture;

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	tp_buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	tp_buf_init(&b, 1u << 22);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		tp_buf_add(&b, chunk, n);
	fclose(f);
	return tp_buf_take(&b);
}

/* Splits "--- name" sections; the newline before the next marker is not
 * part of a section.  Lines before the first marker are comments. */
static void parse_fixture(fixture *fx, const char *text)
{
	const char *p = text;
	char *name = NULL;
	tp_buf body;

	tp_params_init(&fx->sections);
	tp_buf_init(&body, 1u << 22);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= 4 && strncmp(p, "--- ", 4) == 0) {
			if (name) {
				if (body.len && body.ptr[body.len - 1] == '\n')
					body.ptr[--body.len] = '\0';
				tp_params_add(&fx->sections, name, tp_buf_str(&body));
				free(name);
			}
			name = tp_xstrndup(p + 4, len - 4);
			tp_buf_reset(&body);
		} else if (name) {
			tp_buf_add(&body, p, len);
			tp_buf_addc(&body, '\n');
		}
		p += len + (nl ? 1 : 0);
	}
	if (name) {
		if (body.len && body.ptr[body.len - 1] == '\n')
			body.ptr[--body.len] = '\0';
		tp_params_add(&fx->sections, name, tp_buf_str(&body));
		free(name);
	}
	tp_buf_free(&body);
}

static const char *env_lookup(const tp_params *env, const char *name)
{
	return tp_params_get(env, name);
}

/* Agent credentials:
 *   {{agent-token:NAME}}            agent token, as POST /aap/login issues
 *   {{expired-agent-token:NAME}}    the same, expired an hour ago
 *   {{session-token:NAME:PK:CA}}    session token for one payment
 *   {{expired-session-token:NAME:PK:CA}}  the same, expired an hour ago
 *   {{ticket:NAME:PK}}              live-update ticket (lib/ticket.c), new
 *                                   each time, URL-encoded for a query
 *   {{expired-ticket:NAME:PK}}      the same, expired a minute ago
 * signed with the fixture's AGENT_SECRET for NAME's entry in AGENTS_FILE
 * (an unknown NAME gets a tag no entry has). */
static void token_placeholder(tp_buf *out, const char *key, const tp_params *env)
{
	const char *secret = env_lookup(env, "AGENT_SECRET");
	const char *file = env_lookup(env, "AGENTS_FILE");
	char *args = tp_xstrdup(strchr(key, ':') + 1);
	char *name = args, *pk = NULL, *ca = NULL, *hash = NULL;
	char tag[TP_AGENT_TAG_LEN + 1] = "0000000000000000";
	time_t now = time(NULL);

	if ((pk = strchr(name, ':')) != NULL) {
		*pk++ = '\0';
		if ((ca = strchr(pk, ':')) != NULL)
			*ca++ = '\0';
	}
	if (file && tp_agent_lookup(file, name, &hash) == TP_OK)
		tp_agent_hash_tag(hash, tag);
	if (strncmp(key, "ticket:", 7) == 0 || strncmp(key, "expired-ticket:", 15) == 0) {
		tp_buf t;
		tp_buf_init(&t, 4096);
		tp_ticket_issue(&t, secret, name, tag, pk ? pk : "",
		                key[0] == 'e' ? now - 120 : now, TP_TICKET_TTL_S);
		tp_url_encode(out, tp_buf_str(&t));
		tp_buf_free(&t);
	} else if (strncmp(key, "agent-token:", 12) == 0)
		tp_agent_token_issue(out, secret, name, tag, now, 600);
	else if (strncmp(key, "expired-agent-token:", 20) == 0)
		tp_agent_token_issue(out, secret, name, tag, now - 7200, 3600);
	else if (pk && ca && strncmp(key, "expired-", 8) == 0)
		tp_session_token_issue(out, secret, name, tag, pk, ca, now - 7200, 3600);
	else if (pk && ca)
		tp_session_token_issue(out, secret, name, tag, pk, ca, now, 600);
	free(hash);
	free(args);
}

/* Fills {{...}} placeholders other than the signature. */
static void fill(tp_buf *out, const char *s, const tp_params *env)
{
	while (*s) {
		const char *open = strstr(s, "{{");
		const char *close = open ? strstr(open, "}}") : NULL;
		if (!open || !close) {
			tp_buf_adds(out, s);
			return;
		}
		tp_buf_add(out, s, (size_t)(open - s));
		{
			char *key = tp_xstrndup(open + 2, (size_t)(close - open - 2));
			if (strncmp(key, "env:", 4) == 0) {
				const char *v = env_lookup(env, key + 4);
				tp_buf_adds(out, v ? v : "");
			} else if (strncmp(key, "agent-token:", 12) == 0 ||
			           strncmp(key, "expired-agent-token:", 20) == 0 ||
			           strncmp(key, "session-token:", 14) == 0 ||
			           strncmp(key, "expired-session-token:", 22) == 0 ||
			           strncmp(key, "ticket:", 7) == 0 ||
			           strncmp(key, "expired-ticket:", 15) == 0) {
				token_placeholder(out, key, env);
			} else if (strncmp(key, "repeat:", 7) == 0 && strchr(key + 7, ':')) {
				/* {{repeat:N:TEXT}}: TEXT N times (oversize bodies). */
				const char *colon = strchr(key + 7, ':');
				uint64_t n = 0, i;
				tp_str_to_u64(key + 7, (size_t)(colon - key - 7), 1u << 22, &n);
				for (i = 0; i < n; i++)
					tp_buf_adds(out, colon + 1);
			} else if (strncmp(key, "year:", 5) == 0 || strncmp(key, "yy:", 3) == 0) {
				/* A year relative to now, so card expiries in
				 * fixtures never go stale: {{year:+5}} = 2031 in
				 * 2026, {{yy:+5}} = 31. */
				bool two = key[1] == 'y';
				const char *n = key + (two ? 3 : 5);
				uint64_t add = 0;
				time_t now = time(NULL);
				struct tm tm;
				int y;
				if (*n == '+')
					n++;
				tp_str_to_u64(n, strlen(n), 100, &add);
				gmtime_r(&now, &tm);
				y = tm.tm_year + 1900 + (int)add;
				tp_buf_addf(out, two ? "%02d" : "%d", two ? y % 100 : y);
			} else if (strncmp(key, "basic:", 6) == 0) {
				char *up = tp_xstrdup(key + 6);
				/* USER:PASS where either may be {env} names */
				tp_b64_encode(out, up, strlen(up));
				free(up);
			} else {
				/* signature placeholders are kept for later */
				tp_buf_add(out, open, (size_t)(close + 2 - open));
			}
			free(key);
		}
		s = close + 2;
	}
}

static void add_fail(tp_buf *why, const char *fmt, ...) TP_PRINTF(2, 3);
static void add_fail(tp_buf *why, const char *fmt, ...)
{
	va_list ap;
	if (why->len)
		tp_buf_adds(why, "\n    ");
	va_start(ap, fmt);
	tp_buf_vaddf(why, fmt, ap);
	va_end(ap);
}

/* The digits that start a fixture's file name, up to its first '-'; 0
 * when the name does not start that way. */
static size_t fixture_number(const char *name)
{
	size_t n = strspn(name, "0123456789");
	return n && name[n] == '-' ? n : 0;
}

/* Refuses FILE when another .txt file in its folder has the same number:
 * the folder is read as it is on disk, so a duplicate is found even when
 * only one of the two files was named on the command line. */
static bool number_unique(const char *file, tp_buf *why)
{
	const char *slash = strrchr(file, '/');
	const char *name = slash ? slash + 1 : file;
	size_t n = fixture_number(name), len;
	char dir[4096];
	struct dirent *e;
	DIR *d;
	bool ok = true;

	if (!n)
		return true;
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
	d = opendir(dir);
	if (!d) {
		add_fail(why, "cannot read its folder %s: %s", dir, strerror(errno));
		return false;
	}
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (strcmp(e->d_name, name) == 0 || len < 4 ||
		    strcmp(e->d_name + len - 4, ".txt") != 0 || fixture_number(e->d_name) != n ||
		    strncmp(e->d_name, name, n) != 0)
			continue;
		add_fail(why, "number %.*s is also used by %s/%s: each number once per folder",
		         (int)n, name, dir, e->d_name);
		ok = false;
	}
	closedir(d);
	return ok;
}

/* Runs the binary with env and body; captures stdout.  The body is
 * written while the output is read (poll), so neither side can block the
 * other, and a handler that answers without reading its body (a 413, a
 * configuration error) only ends the writing: EPIPE, not SIGPIPE, which
 * main() ignores.  Returns the wait status, -1 when the child could not
 * be run. */
static int run_cgi(const char *bin, char *const *envp, const char *body, size_t body_len,
                   tp_buf *out)
{
	int in[2], o[2], status = 0;
	pid_t pid;
	char chunk[4096];
	size_t sent = 0;
	struct pollfd pf[2];

	if (pipe(in))
		return -1;
	if (pipe(o)) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		/* FIXTURE_LOG_FILE (tests/run sets it): the handlers' log lines
		 * are kept there for the PCI scan of the whole suite. */
		const char *keep = getenv("FIXTURE_LOG_FILE");
		int logfd = keep && *keep ? open(keep, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], 0);
		dup2(o[1], 1);
		if (logfd >= 0)
			dup2(logfd, 2);
		else if (!getenv("FIXTURE_SHOW_LOGS"))
			dup2(devnull, 2);
		close(in[1]);
		close(o[0]);
		execle(bin, bin, "--cgi", (char *)NULL, envp);
		_exit(EXIT_EXEC_FAILED);
	}
	close(in[0]);
	close(o[1]);
	fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	if (!body_len) {
		close(in[1]);
		in[1] = -1;
	}
	pf[0].fd = o[0];
	pf[0].events = POLLIN;
	for (;;) {
		int nfd = 1;
		if (in[1] >= 0) {
			pf[1].fd = in[1];
			pf[1].events = POLLOUT;
			nfd = 2;
		}
		if (poll(pf, (nfds_t)nfd, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (nfd == 2 && pf[1].revents) {
			ssize_t w = write(in[1], body + sent, body_len - sent);
			if (w > 0)
				sent += (size_t)w;
			/* EPIPE: the handler closed its input; the rest of the
			 * body is not wanted. */
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == body_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (pf[0].revents) {
			ssize_t n = read(o[0], chunk, sizeof chunk);
			if (n > 0)
				tp_buf_add(out, chunk, (size_t)n);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				break;
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	close(o[0]);
	waitpid(pid, &status, 0);
	return status;
}

static bool run_fixture(const char *build, const char *file, tp_buf *why)
{
	fixture fx = {file, {0}};
	char *text = read_all(file);
	tp_params env, reqhdr;
	const char *handler, *request, *s;
	tp_buf req, body, out, bin, urlb;
	char **envp = NULL;
	size_t n = 0, i;
	const char *line_end;
	char method[16] = "", *target = NULL;
	bool ok = true;
	int st;

	if (!text) {
		add_fail(why, "cannot read: %s", strerror(errno));
		return false;
	}
	parse_fixture(&fx, text);
	tp_params_init(&env);
	tp_params_init(&reqhdr);
	tp_buf_init(&req, 1u << 22);
	tp_buf_init(&body, 1u << 22);
	tp_buf_init(&out, 1u << 22);
	tp_buf_init(&bin, 4096);
	tp_buf_init(&urlb, 65536);

	handler = tp_params_get(&fx.sections, "handler");
	request = tp_params_get(&fx.sections, "request");
	if (!handler || !request) {
		add_fail(why, "a fixture needs --- handler and --- request sections");
		ok = false;
		goto out;
	}
	for (i = 0; base_env[i]; i++) {
		const char *eq = strchr(base_env[i], '=');
		char *k = tp_xstrndup(base_env[i], (size_t)(eq - base_env[i]));
		tp_params_set(&env, k, eq + 1);
		free(k);
	}
	tp_params_set(&env, "TICKETS_FILE", spent_file);
	if ((s = tp_params_get(&fx.sections, "env")) != NULL) {
		tp_params fenv;
		tp_params_init(&fenv);
		tp_env_parse(&fenv, s, strlen(s), NULL);
		for (i = 0; i < fenv.n; i++)
			tp_params_set(&env, fenv.v[i].name, fenv.v[i].value);
		tp_params_free(&fenv);
	}

	/* Request: "METHOD TARGET", headers, blank line, body. */
	fill(&req, request, &env);
	s = tp_buf_str(&req);
	line_end = strchr(s, '\n');
	{
		size_t l = line_end ? (size_t)(line_end - s) : strlen(s);
		const char *sp = memchr(s, ' ', l);
		if (!sp || (size_t)(sp - s) >= sizeof method) {
			add_fail(why, "request line must be \"METHOD /path?query\"");
			ok = false;
			goto out;
		}
		memcpy(method, s, (size_t)(sp - s));
		method[sp - s] = '\0';
		target = tp_xstrndup(sp + 1, l - (size_t)(sp - s) - 1);
	}
	s = line_end ? line_end + 1 : s + strlen(s);
	while (*s && *s != '\n') {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		const char *colon = memchr(s, ':', l);
		if (colon) {
			char *k = tp_xstrndup(s, (size_t)(colon - s));
			const char *v = colon + 1;
			while (*v == ' ')
				v++;
			{
				char *val = tp_xstrndup(v, l - (size_t)(v - s));
				tp_params_add(&reqhdr, k, val);
				free(val);
			}
			free(k);
		}
		s += l + (nl ? 1 : 0);
	}
	if (*s == '\n')
		tp_buf_adds(&body, s + 1);
	/* {{sha256}} in the target: hex SHA-256 of the body, for Twilio's
	 * JSON webhooks (?bodySHA256=, twilio-contract.md section 9). */
	{
		char *at = strstr(target, "{{sha256}}");
		if (at) {
			unsigned char md[EVP_MAX_MD_SIZE];
			unsigned int mdlen = 0;
			char hex[2 * EVP_MAX_MD_SIZE + 1];
			tp_buf t;
			EVP_Digest(tp_buf_str(&body), body.len, md, &mdlen, EVP_sha256(), NULL);
			tp_hex(md, mdlen, hex);
			tp_buf_init(&t, 65536);
			tp_buf_add(&t, target, (size_t)(at - target));
			tp_buf_adds(&t, hex);
			tp_buf_adds(&t, at + 10);
			free(target);
			target = tp_buf_take(&t);
		}
	}

	/* Environment for the CGI child. */
	envp = tp_xcalloc(env.n + reqhdr.n + 16, sizeof *envp);
	for (i = 0; i < env.n; i++) {
		tp_buf e;
		tp_buf_init(&e, 65536);
		tp_buf_addf(&e, "%s=%s", env.v[i].name, env.v[i].value);
		envp[n++] = tp_buf_take(&e);
	}
	{
		const char *qs = strchr(target, '?');
		const char *ctype = tp_params_get_case(&reqhdr, "Content-Type");
		tp_buf e;
		tp_buf_init(&e, 65536);
		tp_buf_addf(&e, "REQUEST_METHOD=%s", method);
		envp[n++] = tp_buf_take(&e);
		tp_buf_addf(&e, "REQUEST_URI=%s", target);
		envp[n++] = tp_buf_take(&e);
		tp_buf_addf(&e, "DOCUMENT_URI=%.*s",
		            (int)(qs ? (size_t)(qs - target) : strlen(target)), target);
		envp[n++] = tp_buf_take(&e);
		tp_buf_addf(&e, "QUERY_STRING=%s", qs ? qs + 1 : "");
		envp[n++] = tp_buf_take(&e);
		tp_buf_addf(&e, "CONTENT_LENGTH=%zu", body.len);
		envp[n++] = tp_buf_take(&e);
		tp_buf_adds(&e, "REMOTE_ADDR=127.0.0.1");
		envp[n++] = tp_buf_take(&e);
		if (ctype) {
			tp_buf_addf(&e, "CONTENT_TYPE=%s", ctype);
			envp[n++] = tp_buf_take(&e);
		}
		for (i = 0; i < reqhdr.n; i++) {
			const char *k = reqhdr.v[i].name, *v = reqhdr.v[i].value;
			size_t j;
			if (strcasecmp(k, "Content-Type") == 0)
				continue;
			tp_buf_adds(&e, "HTTP_");
			for (j = 0; k[j]; j++)
				tp_buf_addc(&e,
				            k[j] == '-' ? '_' : (char)toupper((unsigned char)k[j]));
			tp_buf_addc(&e, '=');
			if (strncmp(v, "{{signature", 11) == 0) {
				/* Sign the public URL (or the one named) and the
				 * form body, as Twilio would. */
				tp_params form;
				char sig[TP_SIG_LEN + 1];
				bool is_form =
				    ctype && strncasecmp(ctype, "application/x-www-form-urlencoded",
				                         33) == 0;
				tp_params_init(&form);
				if (is_form)
					tp_form_parse(&form, tp_buf_str(&body), body.len);
				tp_buf_reset(&urlb);
				if (v[11] == ':') {
					tp_buf_add(&urlb, v + 12, strlen(v + 12) - 2);
				} else {
					tp_buf_adds(&urlb, env_lookup(&env, "SERVER_URL"));
					tp_buf_adds(&urlb, target);
				}
				tp_sig_compute(tp_buf_str(&urlb), is_form ? &form : NULL,
				               env_lookup(&env, "AUTH_TOKEN"), sig);
				tp_buf_adds(&e, sig);
				tp_params_free(&form);
			} else {
				tp_buf_adds(&e, v);
			}
			envp[n++] = tp_buf_take(&e);
		}
		tp_buf_free(&e);
	}
	envp[n] = NULL;

	tp_buf_addf(&bin, "%s/cgi-bin/%s", build, handler);
	st = run_cgi(tp_buf_str(&bin), envp, tp_buf_str(&body), body.len, &out);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (st < 0)
			add_fail(why, "handler %s could not be run: %s", handler, strerror(errno));
		else if (WIFSIGNALED(st))
			add_fail(why, "handler %s was killed by signal %d", handler, WTERMSIG(st));
		else
			add_fail(why, "handler %s exited with status %d (%s)", handler,
			         WEXITSTATUS(st),
			         WEXITSTATUS(st) == 78
			             ? "it refused the configuration: an env line missing?"
			             : "FIXTURE_SHOW_LOGS=1 shows its log");
		ok = false;
		goto out;
	}

	/* Compare. */
	{
		const char *o = tp_buf_str(&out);
		const char *hend = strstr(o, "\r\n\r\n");
		const char *rbody = hend ? hend + 4 : "";
		char got_status[4] = "";
		if (strncmp(o, "Status: ", 8) == 0)
			memcpy(got_status, o + 8, 3);
		if ((s = tp_params_get(&fx.sections, "status")) && strcmp(s, got_status) != 0) {
			add_fail(why, "status: expected %s got %s (body %s)", s, got_status, rbody);
			ok = false;
		}
		if ((s = tp_params_get(&fx.sections, "headers"))) {
			while (*s) {
				size_t l = strcspn(s, "\n");
				char *h = tp_xstrndup(s, l);
				tp_buf want;
				tp_buf_init(&want, 65536);
				tp_buf_addf(&want, "\r\n%s\r\n", h);
				if (!hend ||
				    !memmem(o, (size_t)(hend - o) + 2, want.ptr, want.len)) {
					add_fail(why, "headers: expected \"%s\"", h);
					ok = false;
				}
				tp_buf_free(&want);
				free(h);
				s += l + (s[l] == '\n');
			}
		}
		if ((s = tp_params_get(&fx.sections, "body"))) {
			tp_buf want;
			tp_buf_init(&want, 1u << 22);
			fill(&want, s, &env);
			if (strcmp(tp_buf_str(&want), rbody) != 0) {
				add_fail(why, "body: expected\n%s\n    got\n%s", tp_buf_str(&want),
				         rbody);
				ok = false;
			}
			tp_buf_free(&want);
		}
		if ((s = tp_params_get(&fx.sections, "body-contains"))) {
			while (*s) {
				size_t l = strcspn(s, "\n");
				char *h = tp_xstrndup(s, l);
				if (*h && !strstr(rbody, h)) {
					add_fail(why, "body-contains: \"%s\" not in\n%s", h, rbody);
					ok = false;
				}
				free(h);
				s += l + (s[l] == '\n');
			}
		}
		if ((s = tp_params_get(&fx.sections, "body-not-contains"))) {
			while (*s) {
				size_t l = strcspn(s, "\n");
				char *h = tp_xstrndup(s, l);
				if (*h && strstr(o, h)) {
					add_fail(why,
					         "body-not-contains: \"%s\" is in the response", h);
					ok = false;
				}
				free(h);
				s += l + (s[l] == '\n');
			}
		}
	}
out:
	for (i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
	free(target);
	free(text);
	tp_params_free(&fx.sections);
	tp_params_free(&env);
	tp_params_free(&reqhdr);
	tp_buf_free(&req);
	tp_buf_free(&body);
	tp_buf_free(&out);
	tp_buf_free(&bin);
	tp_buf_free(&urlb);
	return ok;
}

int main(int argc, char **argv)
{
	int i, failed = 0;

	if (argc < 2) {
		fputs("usage: fixture-runner BUILD_DIR FIXTURE...\n", stderr);
		return EXIT_ERROR;
	}
	if (!mkdtemp(spent_dir)) {
		perror("fixture-runner: mkdtemp");
		return EXIT_ERROR;
	}
	snprintf(spent_file, sizeof spent_file, "%s/spent", spent_dir);
	/* A handler that exits before reading its body must fail its own
	 * fixture, not end the run (a write to its closed stdin). */
	signal(SIGPIPE, SIG_IGN);
	printf("1..%d\n", argc - 2);
	fflush(stdout);
	for (i = 2; i < argc; i++) {
		tp_buf why;
		tp_buf_init(&why, 1u << 20);
		if (number_unique(argv[i], &why) && run_fixture(argv[1], argv[i], &why)) {
			printf("ok - %s\n", argv[i]);
		} else {
			printf("not ok - %s\n    %s\n", argv[i], tp_buf_str(&why));
			failed++;
		}
		fflush(stdout);
		tp_buf_free(&why);
	}
	unlink(spent_file);
	snprintf(spent_file, sizeof spent_file, "%s/spent.lock", spent_dir);
	unlink(spent_file);
	rmdir(spent_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
