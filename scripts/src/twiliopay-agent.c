/*
 * twiliopay-agent - manage the agents who may log in to the console
 * (AGENTS_FILE: "name:crypt-hash" lines, lib/agent.c).
 *
 *   twiliopay-agent [-f FILE] set NAME       add NAME or change its password
 *   twiliopay-agent [-f FILE] delete NAME    remove NAME (its tokens stop working)
 *   twiliopay-agent [-f FILE] list           print the names
 *   twiliopay-agent [-f FILE] check NAME     exit 0 when the password is right
 *
 * The password is read from standard input (one line), never from the
 * command line, where any user could read it in /proc or ps.  On a
 * terminal it is asked for twice without echo.  FILE defaults to
 * AGENTS_FILE from $TWILIOPAY_ENV / ./.env / the environment.  Changing a
 * password revokes every token issued with the old one.
 *
 * Exit status: 0 done, 1 refused (wrong password, unknown agent), 2 usage
 * or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "twiliopay.h"

#define MIN_PASSWORD 12

static void usage(void)
{
	fputs("usage: twiliopay-agent [-f AGENTS_FILE] set|delete|check NAME\n"
	      "       twiliopay-agent [-f AGENTS_FILE] list\n"
	      "The password is read from standard input.\n",
	      stderr);
	exit(2);
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

static char *agents_file_from_config(void)
{
	tp_config cfg;
	tp_buf err;
	char *path = NULL;

	tp_buf_init(&err, 65536);
	/* Only AGENTS_FILE matters here: a problem elsewhere in the
	 * configuration must not stop an operator managing agents. */
	tp_config_load(&cfg, NULL, &err);
	if (tp_config_raw("AGENTS_FILE"))
		path = tp_xstrdup(tp_config_raw("AGENTS_FILE"));
	tp_config_free(&cfg);
	tp_buf_free(&err);
	return path;
}

int main(int argc, char **argv)
{
	char *file = NULL;
	const char *cmd, *name = NULL;
	char pw[TP_AGENT_PASSWORD_MAX + 2], again[TP_AGENT_PASSWORD_MAX + 2];
	int i = 1, status = 2;

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
	if (!file)
		file = agents_file_from_config();
	if (!file) {
		fputs("twiliopay-agent: no agents file: give -f FILE or set AGENTS_FILE\n", stderr);
		return 2;
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
		tp_buf_init(&names, 1u << 20);
		if (tp_agents_file_list(file, &names) != TP_OK) {
			fprintf(stderr, "twiliopay-agent: cannot read %s: %s\n", file,
			        strerror(errno));
		} else {
			fputs(tp_buf_str(&names), stdout);
			status = 0;
		}
		tp_buf_free(&names);
	} else if (strcmp(cmd, "set") == 0) {
		char *hash = NULL;
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
		rc = tp_agents_file_set(file, name, hash);
		free(hash);
		if (rc != TP_OK) {
			fprintf(stderr, "twiliopay-agent: cannot write %s: %s\n", file,
			        strerror(errno));
			goto out;
		}
		fprintf(stderr, "twiliopay-agent: %s set in %s\n", name, file);
		status = 0;
	} else if (strcmp(cmd, "delete") == 0) {
		tp_rc rc = tp_agents_file_set(file, name, NULL);
		if (rc == TP_ENOTFOUND) {
			fprintf(stderr, "twiliopay-agent: no agent %s in %s\n", name, file);
			status = 1;
		} else if (rc != TP_OK) {
			fprintf(stderr, "twiliopay-agent: cannot write %s: %s\n", file,
			        strerror(errno));
		} else {
			fprintf(stderr, "twiliopay-agent: %s deleted from %s\n", name, file);
			status = 0;
		}
	} else if (strcmp(cmd, "check") == 0) {
		char tag[TP_AGENT_TAG_LEN + 1];
		tp_agent_rc rc;
		if (!read_password("Password: ", pw, sizeof pw))
			goto out;
		rc = tp_agent_check_password(file, name, pw, tag);
		if (rc == TP_AGENT_FILE_ERROR) {
			fprintf(stderr, "twiliopay-agent: cannot read %s\n", file);
		} else {
			puts(rc == TP_AGENT_OK ? "ok" : "wrong name or password");
			status = rc == TP_AGENT_OK ? 0 : 1;
		}
	} else {
		usage();
	}
out:
	OPENSSL_cleanse(pw, sizeof pw);
	OPENSSL_cleanse(again, sizeof again);
	free(file);
	return status;
}
