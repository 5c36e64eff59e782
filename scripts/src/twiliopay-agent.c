/*
 * twiliopay-agent - manage the agents who may log in to the console
 * (lib/agent.c, lib/agentstore.c): in AGENTS_FILE ("name:crypt-hash"
 * lines, one node) or in the Sync map AGENTS_SYNC_MAP (several nodes
 * share it; docs/multinode.md).
 *
 *   twiliopay-agent [-f FILE] set NAME       add NAME or change its password
 *   twiliopay-agent [-f FILE] delete NAME    remove NAME (its tokens stop working)
 *   twiliopay-agent [-f FILE] list           print the names
 *   twiliopay-agent [-f FILE] check NAME     exit 0 when the password is right
 *   twiliopay-agent import FILE              copy every agent of an agents
 *                                            file into AGENTS_SYNC_MAP
 *
 * The password is read from standard input (one line), never from the
 * command line, where any user could read it in /proc or ps.  On a
 * terminal it is asked for twice without echo.  Without -f the store is
 * the configuration's ($TWILIOPAY_ENV / ./.env / the environment):
 * AGENTS_SYNC_MAP when set (with the Twilio credentials, PAY_SYNC_SERVICE_SID
 * and AGENT_SECRET, which seals each record), else AGENTS_FILE.  Changing
 * a password revokes every token issued with the old one: at once with a
 * file, within AGENTS_CACHE_S seconds on every node with Sync.
 *
 * Exit status: 0 done, 1 refused (wrong password, unknown agent), 2 usage
 * or I/O error.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "twiliopay.h"

#define MIN_PASSWORD 12
/* Exit statuses (as the header says), beside EXIT_SUCCESS: */
#define EXIT_REFUSED 1 /* a wrong password, an unknown agent */
#define EXIT_ERROR   2 /* a bad command line, a store that cannot be read or written */

static void usage(void)
{
	fputs("usage: twiliopay-agent [-f AGENTS_FILE] set|delete|check NAME\n"
	      "       twiliopay-agent [-f AGENTS_FILE] list\n"
	      "       twiliopay-agent import AGENTS_FILE     (into AGENTS_SYNC_MAP)\n"
	      "The password is read from standard input.\n",
	      stderr);
	exit(EXIT_ERROR);
}

/* One line from stdin into buf (cap bytes); without echo on a terminal.
 * Returns false on EOF, error or a line too long. */
static bool read_password(const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	bool tty = isatty(0) == 1;
	bool ok;
	size_t n;

	if (tty) {
		fputs(prompt, stderr);
		tcgetattr(0, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	ok = fgets(buf, (int)cap, stdin) != NULL;
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return false;
	n = strlen(buf);
	if (n == cap - 1 && buf[n - 1] != '\n')
		return false; /* longer than TP_AGENT_PASSWORD_MAX */
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return true;
}

/* Where the agents are, as the store's name for messages. */
static const char *where(const tp_config *cfg)
{
	return tp_agent_store_is_sync(cfg) ? cfg->agents_sync_map : cfg->agents_file;
}

static void store_error(const tp_config *cfg, const char *what, const tp_twilio_error *err)
{
	if (tp_agent_store_is_sync(cfg))
		fprintf(stderr, "twiliopay-agent: cannot %s the Sync map %s: %s\n", what,
		        cfg->agents_sync_map,
		        err && err->message[0]
		            ? err->message
		            : "PAY_SYNC_SERVICE_SID, ACCOUNT_SID, AUTH_TOKEN and "
		              "AGENT_SECRET must be set");
	else
		fprintf(stderr, "twiliopay-agent: cannot %s %s: %s\n", what, cfg->agents_file,
		        strerror(errno));
}

/* Copies every agent of `file` into the Sync store. */
static int import_file(const tp_config *cfg, const char *file)
{
	tp_buf names;
	const char *p;
	int status = EXIT_SUCCESS, n = 0;

	if (!tp_agent_store_is_sync(cfg)) {
		fputs("twiliopay-agent: import copies an agents file into AGENTS_SYNC_MAP, which "
		      "is not set\n",
		      stderr);
		return EXIT_ERROR;
	}
	tp_buf_init(&names, 1u << 20);
	if (tp_agents_file_list(file, &names) != TP_OK) {
		fprintf(stderr, "twiliopay-agent: cannot read %s: %s\n", file, strerror(errno));
		tp_buf_free(&names);
		return EXIT_ERROR;
	}
	for (p = tp_buf_str(&names); *p && status == EXIT_SUCCESS;) {
		size_t len = strcspn(p, "\n");
		char *name = tp_xstrndup(p, len), *hash = NULL;
		tp_twilio_error err;
		if (tp_agent_lookup(file, name, &hash) == TP_OK &&
		    crypt_checksalt(hash) == CRYPT_SALT_OK) {
			if (tp_agent_store_set(cfg, name, hash, &err) == TP_OK)
				n++;
			else {
				store_error(cfg, "write", &err);
				status = EXIT_ERROR;
			}
		} else if (tp_agent_name_valid(name)) {
			fprintf(stderr, "twiliopay-agent: %s skipped: unusable hash\n", name);
		}
		free(hash);
		free(name);
		p += len + (p[len] == '\n');
	}
	tp_buf_free(&names);
	fprintf(stderr, "twiliopay-agent: %d agents copied from %s into %s\n", n, file,
	        cfg->agents_sync_map);
	return status;
}

int main(int argc, char **argv)
{
	tp_config cfg;
	tp_buf cerr;
	const char *cmd, *name = NULL;
	char pw[TP_AGENT_PASSWORD_MAX + 2], again[TP_AGENT_PASSWORD_MAX + 2];
	char *file = NULL;
	int i = 1, status = EXIT_ERROR;

	tp_log_init("twiliopay-agent");
	if (i + 1 < argc && strcmp(argv[i], "-f") == 0) {
		file = tp_xstrdup(argv[i + 1]);
		i += 2;
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
	if (strcmp(cmd, "list") != 0) {
		if (i >= argc)
			usage();
		name = argv[i++];
	}
	if (i != argc)
		usage();
	/* Only the store's variables matter here: a problem elsewhere in the
	 * configuration must not stop an operator managing agents. */
	tp_buf_init(&cerr, 65536);
	tp_config_load(&cfg, NULL, &cerr);
	tp_buf_free(&cerr);
	if (file) {
		/* -f: that file, whatever the configuration says. */
		free(cfg.agents_file);
		free(cfg.agents_sync_map);
		cfg.agents_file = file;
		cfg.agents_sync_map = NULL;
		file = NULL;
	} else if (!cfg.agents_file && !tp_agent_store_is_sync(&cfg)) {
		if (tp_config_raw("AGENTS_FILE"))
			cfg.agents_file = tp_xstrdup(tp_config_raw("AGENTS_FILE"));
		else if (tp_config_raw("AGENTS_SYNC_MAP"))
			cfg.agents_sync_map = tp_xstrdup(tp_config_raw("AGENTS_SYNC_MAP"));
	}
	if (strcmp(cmd, "import") == 0) {
		status = import_file(&cfg, name);
		goto out;
	}
	if (!cfg.agents_file && !tp_agent_store_is_sync(&cfg)) {
		fputs("twiliopay-agent: no agent store: give -f FILE, or set AGENTS_FILE or "
		      "AGENTS_SYNC_MAP\n",
		      stderr);
		goto out;
	}
	if (name && !tp_agent_name_valid(name)) {
		fprintf(
		    stderr,
		    "twiliopay-agent: \"%s\" is not a valid agent name (1-%d of A-Z a-z 0-9 . _ "
		    "- @, starting with a letter or digit)\n",
		    name, TP_AGENT_NAME_MAX);
		goto out;
	}

	if (strcmp(cmd, "list") == 0) {
		tp_buf names;
		tp_twilio_error err;
		tp_buf_init(&names, 1u << 20);
		if (tp_agent_store_list(&cfg, &names, &err) != TP_OK) {
			store_error(&cfg, "read", &err);
		} else {
			fputs(tp_buf_str(&names), stdout);
			status = EXIT_SUCCESS;
		}
		tp_buf_free(&names);
	} else if (strcmp(cmd, "set") == 0) {
		char *hash = NULL;
		tp_twilio_error err;
		tp_rc rc;
		if (!read_password("New password: ", pw, sizeof pw)) {
			fputs("twiliopay-agent: no password on standard input (or longer than "
			      "1024 bytes)\n",
			      stderr);
			goto out;
		}
		if (strlen(pw) < MIN_PASSWORD) {
			fprintf(stderr,
			        "twiliopay-agent: the password must have %d characters or "
			        "more\n",
			        MIN_PASSWORD);
			goto out;
		}
		if (isatty(0) == 1) {
			if (!read_password("Again: ", again, sizeof again) ||
			    strcmp(pw, again) != 0) {
				fputs("twiliopay-agent: the passwords differ\n", stderr);
				goto out;
			}
		}
		if (tp_agent_hash_password(pw, &hash) != TP_OK) {
			fputs("twiliopay-agent: hashing failed\n", stderr);
			goto out;
		}
		rc = tp_agent_store_set(&cfg, name, hash, &err);
		free(hash);
		if (rc != TP_OK) {
			store_error(&cfg, "write", &err);
			goto out;
		}
		fprintf(stderr, "twiliopay-agent: %s set in %s\n", name, where(&cfg));
		status = EXIT_SUCCESS;
	} else if (strcmp(cmd, "delete") == 0) {
		tp_twilio_error err;
		tp_rc rc = tp_agent_store_set(&cfg, name, NULL, &err);
		if (rc == TP_ENOTFOUND) {
			fprintf(stderr, "twiliopay-agent: no agent %s in %s\n", name, where(&cfg));
			status = EXIT_REFUSED;
		} else if (rc != TP_OK) {
			store_error(&cfg, "write", &err);
		} else {
			fprintf(stderr, "twiliopay-agent: %s deleted from %s\n", name, where(&cfg));
			status = EXIT_SUCCESS;
		}
	} else if (strcmp(cmd, "check") == 0) {
		char tag[TP_AGENT_TAG_LEN + 1];
		tp_rc rc;
		if (!read_password("Password: ", pw, sizeof pw))
			goto out;
		rc = tp_agent_store_login(&cfg, name, pw, tag);
		if (rc == TP_OK || rc == TP_ENOTFOUND || rc == TP_EAUTH) {
			puts(rc == TP_OK ? "ok" : "wrong name or password");
			status = rc == TP_OK ? EXIT_SUCCESS : EXIT_REFUSED;
		} else {
			store_error(&cfg, "read", NULL);
		}
	} else {
		usage();
	}
out:
	OPENSSL_cleanse(pw, sizeof pw);
	OPENSSL_cleanse(again, sizeof again);
	tp_config_free(&cfg);
	free(file);
	return status;
}
