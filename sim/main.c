/*
 * twilio-sim - the local Twilio emulator (DESIGN.md "The emulator").
 *
 *   twilio-sim --listen 127.0.0.1:PORT [--env FILE] [--server-url URL]
 *              [--voice-url URL] [--sip-voice-url URL] [--connector-url URL]
 *              [--phone-number E164] [--public-url URL]
 *              [--latency-ms MEAN[,JITTER]] [--senders N] [--requests-kept N]
 *
 * Configuration comes from the .env file (tp_env_parse), overridden by the
 * process environment, overridden by flags:
 *   ACCOUNT_SID, AUTH_TOKEN         the account accepted; AUTH_TOKEN signs webhooks
 *   API_KEY, API_SECRET             also accepted for Basic auth (contract 1.1)
 *   PAYMENT_CONNECTOR               the one connector unique name known (else 64004)
 *   CONNECTOR_USERNAME/PASSWORD     Basic auth sent to the connector
 *   SIM_PHONE_NUMBER                our number, default +15005550006
 *   SERVER_URL                      default for --server-url
 *   SIM_VOICE_URL                   default <server-url>/pv/callToSIP
 *   SIM_SIP_VOICE_URL               default <server-url>/pv/callToPSTN
 *   SIM_CONNECTOR_URL               default <server-url>/connector/charge
 *   SIM_LATENCY_MS                  MEAN[,JITTER] ms on every REST, Sync, webhook and
 *                                   connector request (latency.c), default none
 *   SIM_SENDERS                     outbound sender threads at most (outbound.c), 1000
 *   SIM_REQUESTS_KEPT               /sim/requests entries kept per direction, 1000;
 *                                   IN,OUT for each (0: not recorded)
 *   SIM_WEBHOOK_TIMEOUT_MS          Twilio's 15000; tests shorten it
 *   LOG_LEVEL                       debug, info, warn, error
 * Exit status 78 (EX_CONFIG) for a configuration error, naming it; 2 for
 * a bad command line; 1 when it cannot start (no socket, no thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sim.h"

/* Exit statuses beside <sysexits.h>'s EX_OK and EX_CONFIG (values tests
 * and scripts rely on). */
#define EXIT_USAGE       2 /* a bad command line */
#define EXIT_START_ERROR 1 /* could not listen or start a thread */

sim_cfg sim_conf;
pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;

static tp_params env_file;

static const char *var(const char *name)
{
	const char *v = getenv(name);

	if (v && *v)
		return v;
	v = tp_params_get(&env_file, name);
	return v && *v ? v : NULL;
}

static char *dup_or_null(const char *v)
{
	return v ? tp_xstrdup(v) : NULL;
}

static char *strip_slash(const char *v)
{
	char *s = tp_xstrdup(v);
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* Reads --env into env_file: TP_EIO when it cannot be read, else what
 * tp_env_parse returns; err says why. */
static tp_rc read_env_file(const char *path, tp_buf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	tp_buf text;
	char chunk[4096];
	ssize_t n;
	tp_rc rc;

	if (fd < 0) {
		tp_buf_addf(err, "cannot read %s: %s\n", path, strerror(errno));
		return TP_EIO;
	}
	tp_buf_init(&text, 1u << 20);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		if (tp_buf_add(&text, chunk, (size_t)n) != TP_OK)
			break;
	close(fd);
	if (n != 0) {
		rc = TP_EIO;
		tp_buf_addf(err, "cannot read %s\n", path);
	} else {
		rc = tp_env_parse(&env_file, tp_buf_str(&text), text.len, err);
	}
	tp_buf_free(&text);
	return rc;
}

static void usage(void)
{
	fputs("usage: twilio-sim --listen 127.0.0.1:PORT [--env FILE] [--server-url URL]\n"
	      "                  [--voice-url URL] [--sip-voice-url URL] [--connector-url URL]\n"
	      "                  [--phone-number E164] [--public-url URL]\n"
	      "                  [--latency-ms MEAN[,JITTER]] [--senders N] [--requests-kept N]\n",
	      stderr);
}

static bool url_or_err(const char *name, char **dst, const char *v, tp_buf *err)
{
	if (!v)
		return true;
	if (!sim_is_http_url(v)) {
		tp_buf_addf(err, "%s must be an absolute http(s) URL\n", name);
		return false;
	}
	*dst = strip_slash(v);
	return true;
}

static char *derive(const char *server, const char *path)
{
	tp_buf b;
	char *r;

	if (!server)
		return NULL;
	tp_buf_init(&b, 4096);
	tp_buf_addf(&b, "%s%s", server, path);
	r = tp_buf_take(&b);
	tp_buf_free(&b);
	return r;
}

/* Reads the command line and the configuration into sim_conf: EX_OK, or
 * the exit status (every configuration problem logged). */
static int configure(int argc, char **argv)
{
	const char *listen = NULL, *env = NULL, *server = NULL, *voice = NULL, *sipv = NULL,
	           *conn = NULL, *phone = NULL, *pub = NULL, *lvl, *latency = NULL, *senders = NULL,
	           *kept = NULL;
	tp_buf err;
	int i;
	bool ok = true;

	for (i = 1; i < argc; i++) {
		const char **dst = NULL;
		if (strcmp(argv[i], "--listen") == 0)
			dst = &listen;
		else if (strcmp(argv[i], "--env") == 0)
			dst = &env;
		else if (strcmp(argv[i], "--server-url") == 0)
			dst = &server;
		else if (strcmp(argv[i], "--voice-url") == 0)
			dst = &voice;
		else if (strcmp(argv[i], "--sip-voice-url") == 0)
			dst = &sipv;
		else if (strcmp(argv[i], "--connector-url") == 0)
			dst = &conn;
		else if (strcmp(argv[i], "--phone-number") == 0)
			dst = &phone;
		else if (strcmp(argv[i], "--public-url") == 0)
			dst = &pub;
		else if (strcmp(argv[i], "--latency-ms") == 0)
			dst = &latency;
		else if (strcmp(argv[i], "--senders") == 0)
			dst = &senders;
		else if (strcmp(argv[i], "--requests-kept") == 0)
			dst = &kept;
		if (!dst || i + 1 >= argc) {
			usage();
			return EXIT_USAGE;
		}
		*dst = argv[++i];
	}
	if (!listen) {
		usage();
		return EXIT_USAGE;
	}
	tp_params_init(&env_file);
	tp_buf_init(&err, 8192);
	if (env && read_env_file(env, &err) != TP_OK)
		ok = false;

	{
		const char *colon = strrchr(listen, ':');
		long port;
		if (!colon || colon == listen || !sim_parse_long(colon + 1, 65535, &port) ||
		    port < 1) {
			tp_buf_adds(&err, "--listen must be HOST:PORT\n");
			ok = false;
		} else {
			sim_conf.listen_host = tp_xstrndup(listen, (size_t)(colon - listen));
			sim_conf.port = (unsigned)port;
		}
	}
	sim_conf.started = time(NULL);
	sim_conf.account_sid = dup_or_null(var("ACCOUNT_SID"));
	sim_conf.auth_token = dup_or_null(var("AUTH_TOKEN"));
	if (!sim_conf.account_sid || !tp_sid_valid(sim_conf.account_sid, "AC")) {
		tp_buf_adds(&err, "ACCOUNT_SID is missing or not AC + 32 hex digits\n");
		ok = false;
	}
	if (!sim_conf.auth_token) {
		tp_buf_adds(&err, "AUTH_TOKEN is missing\n");
		ok = false;
	}
	sim_conf.api_key = dup_or_null(var("API_KEY"));
	sim_conf.api_secret = dup_or_null(var("API_SECRET"));
	if (sim_conf.api_key && !tp_sid_valid(sim_conf.api_key, "SK")) {
		tp_buf_adds(&err, "API_KEY must be SK + 32 hex digits\n");
		ok = false;
	}
	sim_conf.connector_name = dup_or_null(var("PAYMENT_CONNECTOR"));
	sim_conf.connector_user = dup_or_null(var("CONNECTOR_USERNAME"));
	sim_conf.connector_pass = dup_or_null(var("CONNECTOR_PASSWORD"));
	sim_conf.phone_number = tp_xstrdup(phone                     ? phone
	                                   : var("SIM_PHONE_NUMBER") ? var("SIM_PHONE_NUMBER")
	                                                             : "+15005550006");
	if (!server)
		server = var("SERVER_URL");
	ok = url_or_err("--server-url", &sim_conf.server_url, server, &err) && ok;
	if (!voice)
		voice = var("SIM_VOICE_URL");
	if (!sipv)
		sipv = var("SIM_SIP_VOICE_URL");
	if (!conn)
		conn = var("SIM_CONNECTOR_URL");
	ok = url_or_err("voice URL", &sim_conf.voice_url, voice, &err) && ok;
	ok = url_or_err("SIP voice URL", &sim_conf.sip_voice_url, sipv, &err) && ok;
	ok = url_or_err("connector URL", &sim_conf.connector_url, conn, &err) && ok;
	if (!sim_conf.voice_url)
		sim_conf.voice_url = derive(sim_conf.server_url, "/pv/callToSIP");
	if (!sim_conf.sip_voice_url)
		sim_conf.sip_voice_url = derive(sim_conf.server_url, "/pv/callToPSTN");
	if (!sim_conf.connector_url)
		sim_conf.connector_url = derive(sim_conf.server_url, "/connector/charge");
	if (pub) {
		ok = url_or_err("--public-url", &sim_conf.base_url, pub, &err) && ok;
	} else if (sim_conf.listen_host) {
		tp_buf b;
		tp_buf_init(&b, 256);
		tp_buf_addf(&b, "http://%s:%u", sim_conf.listen_host, sim_conf.port);
		sim_conf.base_url = tp_buf_take(&b);
		tp_buf_free(&b);
	}
	lvl = var("LOG_LEVEL");
	if (lvl) {
		if (strcmp(lvl, "debug") == 0)
			tp_log_set_level(TP_LOG_DEBUG);
		else if (strcmp(lvl, "warn") == 0)
			tp_log_set_level(TP_LOG_WARN);
		else if (strcmp(lvl, "error") == 0)
			tp_log_set_level(TP_LOG_ERROR);
	}
	sim_conf.webhook_timeout_ms = SIM_WEBHOOK_MS;
	if (var("SIM_WEBHOOK_TIMEOUT_MS") &&
	    (!sim_parse_long(var("SIM_WEBHOOK_TIMEOUT_MS"), 600000, &sim_conf.webhook_timeout_ms) ||
	     sim_conf.webhook_timeout_ms < 100)) {
		tp_buf_adds(&err, "SIM_WEBHOOK_TIMEOUT_MS must be 100-600000\n");
		ok = false;
	}
	if (!latency)
		latency = var("SIM_LATENCY_MS");
	if (latency) {
		long mean, jitter;
		if (sim_latency_parse(latency, &mean, &jitter)) {
			sim_latency_set_all(mean, jitter);
		} else {
			tp_buf_adds(&err,
			            "--latency-ms must be MEAN[,JITTER], milliseconds 0-60000\n");
			ok = false;
		}
	}
	if (!senders)
		senders = var("SIM_SENDERS");
	if (senders &&
	    (!sim_parse_long(senders, 10000, &sim_conf.senders_max) || sim_conf.senders_max < 1)) {
		tp_buf_adds(&err, "--senders must be 1-10000\n");
		ok = false;
	}
	if (!kept)
		kept = var("SIM_REQUESTS_KEPT");
	sim_conf.requests_kept[0] = sim_conf.requests_kept[1] = 1000;
	if (kept) {
		const char *comma = strchr(kept, ',');
		char *in = tp_xstrndup(kept, comma ? (size_t)(comma - kept) : strlen(kept));
		if (!sim_parse_long(in, 1000000, &sim_conf.requests_kept[0]) ||
		    !sim_parse_long(comma ? comma + 1 : in, 1000000, &sim_conf.requests_kept[1])) {
			tp_buf_adds(&err, "--requests-kept must be N or IN,OUT, 0-1000000\n");
			ok = false;
		}
		free(in);
	}
	sim_conf.phone_sid = tp_xcalloc(1, TP_SID_SIZE);
	sim_new_sid(sim_conf.phone_sid, "PN");
	sim_conf.sip_domain_sid = tp_xcalloc(1, TP_SID_SIZE);
	sim_new_sid(sim_conf.sip_domain_sid, "SD");
	if (!ok) {
		const char *p = tp_buf_str(&err);
		while (*p) {
			size_t n = strcspn(p, "\n");
			char *line = tp_xstrndup(p, n);
			tp_log_kv(TP_LOG_ERROR, "configuration error", "problem", line);
			free(line);
			p += n + (p[n] == '\n');
		}
	}
	tp_buf_free(&err);
	return ok ? EX_OK : EX_CONFIG;
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig = 0, rc;

	tp_log_init("twilio-sim");
	rc = configure(argc, argv);
	if (rc != EX_OK)
		return rc;
	/* Signals go to the main thread only (sigwait below): every thread
	 * created from here on inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sim_out_start();
	if (sim_pay_timer_start() != TP_OK || sim_http_start() != TP_OK) {
		tp_log(TP_LOG_ERROR, "start-up failed");
		return EXIT_START_ERROR;
	}
	tp_log_kv(TP_LOG_INFO, "listening", "url", sim_conf.base_url, "account",
	          sim_conf.account_sid, "number", sim_conf.phone_number, "voice_url",
	          sim_conf.voice_url ? sim_conf.voice_url : "", "sip_voice_url",
	          sim_conf.sip_voice_url ? sim_conf.sip_voice_url : "", "connector_url",
	          sim_conf.connector_url ? sim_conf.connector_url : "");
	sigwait(&set, &sig);
	tp_log_kv(TP_LOG_INFO, "stopping", "signal", sig == SIGINT ? "INT" : "TERM");
	sim_http_stop();
	sim_pay_timer_stop();
	sim_out_stop();
	curl_global_cleanup();
	return EX_OK;
}
