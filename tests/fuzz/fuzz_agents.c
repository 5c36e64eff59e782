/* The agents file (lib/agent.c: AGENTS_FILE, htpasswd-style "name:hash"
 * lines, '#' comments), as the handlers read it and twiliopay-agent
 * rewrites it.
 *
 * Input: an agent name \0 the file's bytes.  Properties:
 *  - tp_agents_file_list lists the name of every "name:..." line that is
 *    not a comment, in order; a name that is valid finds the hash of its
 *    first line (trailing CR and blanks dropped); an invalid name, or one
 *    with no line, finds nothing;
 *  - setting the agent's hash makes it found with that hash and leaves
 *    every other agent's lookup as it was; so does deleting it, after
 *    which it is not found; the file keeps its mode;
 *  - an invalid name or a hash with ':' or a newline changes nothing. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define HASH "$y$j9T$3NNz.LoFTKifYSCh9YcxJ.$fO0W7KE28rNtFNEYzvHsw434G5cmnx6c8fIOCgWqUs9"

static char path[64];

static void write_file(const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(write(fd, text, len) == (ssize_t)len);
	FUZZ_ASSERT(fchmod(fd, 0640) == 0);
	close(fd);
}

/* The reference reading of a file: one entry per "name:hash" line. */
typedef struct entry {
	char *name, *hash;
} entry;

static size_t model(const char *text, entry *e, size_t max)
{
	const char *p = text;
	size_t n = 0;

	while (*p && n < max) {
		size_t len = strcspn(p, "\n");
		const char *colon = memchr(p, ':', len);
		if (len && p[0] != '#' && colon) {
			const char *h = colon + 1;
			size_t hl = len - (size_t)(h - p);
			while (hl && (h[hl - 1] == '\r' || h[hl - 1] == ' '))
				hl--;
			e[n].name = tp_xstrndup(p, (size_t)(colon - p));
			e[n].hash = tp_xstrndup(h, hl);
			n++;
		}
		p += len + (p[len] == '\n');
	}
	return n;
}

/* What tp_agent_lookup should find for name. */
static const char *expected(const entry *e, size_t n, const char *name)
{
	size_t i;

	if (!tp_agent_name_valid(name))
		return NULL;
	for (i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return e[i].hash;
	return NULL;
}

static void check_lookup(const char *name, const char *want)
{
	char *hash = NULL;
	tp_rc rc = tp_agent_lookup(path, name, &hash);

	if (want) {
		FUZZ_ASSERT(rc == TP_OK && hash && strcmp(hash, want) == 0);
	} else {
		FUZZ_ASSERT(rc == TP_ENOTFOUND && !hash);
	}
	free(hash);
}

#define MAX_ENTRIES 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *part[2] = {s, NULL};
	const char *name, *text;
	entry *before = tp_xcalloc(MAX_ENTRIES, sizeof *before);
	size_t nb, i;
	tp_buf names, want;
	struct stat st;

	if (!path[0]) {
		snprintf(path, sizeof path, "%s/fuzz-agents-%ld",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
		tp_log_set_level(TP_LOG_ERROR);
	}
	if (fuzz_split(s, size, part, 1) < 2)
		part[1] = s + size;
	name = part[0];
	text = part[1];
	write_file(text, size - (size_t)(text - s));

	/* Reading. */
	nb = model(text, before, MAX_ENTRIES);
	tp_buf_init(&names, 1u << 22);
	tp_buf_init(&want, 1u << 22);
	FUZZ_ASSERT(tp_agents_file_list(path, &names) == TP_OK);
	for (i = 0; i < nb; i++) {
		tp_buf_adds(&want, before[i].name);
		tp_buf_addc(&want, '\n');
	}
	if (nb < MAX_ENTRIES)
		FUZZ_ASSERT(strcmp(tp_buf_str(&names), tp_buf_str(&want)) == 0);
	for (i = 0; i < nb; i++)
		check_lookup(before[i].name, expected(before, nb, before[i].name));
	check_lookup(name, expected(before, nb, name));

	/* Writing: set, then delete. */
	if (nb < MAX_ENTRIES) {
		tp_rc rc = tp_agents_file_set(path, name, HASH);
		if (!tp_agent_name_valid(name)) {
			FUZZ_ASSERT(rc == TP_EINVAL);
		} else {
			FUZZ_ASSERT(rc == TP_OK);
			check_lookup(name, HASH);
			for (i = 0; i < nb; i++)
				if (strcmp(before[i].name, name) != 0)
					check_lookup(before[i].name,
					             expected(before, nb, before[i].name));
			FUZZ_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
			FUZZ_ASSERT(tp_agents_file_set(path, name, NULL) == TP_OK);
			check_lookup(name, NULL);
			for (i = 0; i < nb; i++)
				if (strcmp(before[i].name, name) != 0)
					check_lookup(before[i].name,
					             expected(before, nb, before[i].name));
			FUZZ_ASSERT(tp_agents_file_set(path, name, NULL) == TP_ENOTFOUND);
			/* A hash that would break the file is refused. */
			FUZZ_ASSERT(tp_agents_file_set(path, name, HASH "\nroot:x") == TP_EINVAL);
			FUZZ_ASSERT(tp_agents_file_set(path, name, "x:" HASH) == TP_EINVAL);
		}
	}
	for (i = 0; i < nb; i++) {
		free(before[i].name);
		free(before[i].hash);
	}
	free(before);
	tp_buf_free(&names);
	tp_buf_free(&want);
	free(s);
	return 0;
}
