/*
 * log.c - one structured (logfmt) line per event on stderr, which nginx's
 * error log, the supervisor or journald collect.  Every value goes through
 * tp_redact_text, and secret-named fields are dropped, so no code path can
 * log card data by accident (PCI: a log file is storage).
 *
 * Threads: every line is built in its own buffer and leaves in one
 * write(2), so lines of the threads of a worker (and of the workers
 * sharing the descriptor) never interleave inside a line: a pipe or
 * journald's stream socket takes up to PIPE_BUF (4096) bytes atomically,
 * a file opened O_APPEND a whole write.  The level and the function name
 * are set once before any thread starts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define LINE_MAX_BYTES 8192

static const char *log_fn = "-";
static tp_log_level log_min = TP_LOG_INFO;

static const char *const level_name[] = {
    [TP_LOG_DEBUG] = "debug",
    [TP_LOG_INFO] = "info",
    [TP_LOG_WARN] = "warn",
    [TP_LOG_ERROR] = "error",
};

void tp_log_init(const char *fn_name)
{
	log_fn = fn_name;
}

void tp_log_set_level(tp_log_level min)
{
	log_min = min;
}

bool tp_log_enabled(tp_log_level lvl)
{
	return lvl >= log_min;
}

/* One write(2) of the whole line to stderr (retried only for what a
 * signal or a full pipe cut off). */
static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Appends value in logfmt: bare when safe, else quoted with \" \\ \n. */
static void add_value(tp_buf *line, const char *v)
{
	tp_buf red;
	const char *p;
	bool quote = false;

	tp_buf_init(&red, LINE_MAX_BYTES);
	if (tp_redact_text(&red, v ? v : "") != TP_OK) {
		tp_buf_adds(line, "\"[too long]\"");
		return;
	}
	p = tp_buf_str(&red);
	if (!*p)
		quote = true;
	for (; *p; p++)
		if (*p == ' ' || *p == '=' || *p == '"' || (unsigned char)*p < 0x20)
			quote = true;
	if (!quote) {
		tp_buf_adds(line, tp_buf_str(&red));
		tp_buf_free(&red);
		return;
	}
	tp_buf_addc(line, '"');
	for (p = tp_buf_str(&red); *p; p++) {
		if (*p == '"' || *p == '\\') {
			tp_buf_addc(line, '\\');
			tp_buf_addc(line, *p);
		} else if (*p == '\n') {
			tp_buf_adds(line, "\\n");
		} else if ((unsigned char)*p < 0x20) {
			tp_buf_addf(line, "\\x%02x", (unsigned char)*p);
		} else {
			tp_buf_addc(line, *p);
		}
	}
	tp_buf_addc(line, '"');
	tp_buf_free(&red);
}

void tp_logv_kv(tp_log_level lvl, const char *msg, const char *const *kv)
{
	struct timeval tv;
	struct tm tm;
	char ts[40];
	tp_buf line;
	size_t i;

	if (lvl < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

	tp_buf_init(&line, LINE_MAX_BYTES);
	tp_buf_addf(&line, "ts=%s.%03ldZ level=%s fn=%s pid=%ld", ts, (long)(tv.tv_usec / 1000),
	            level_name[lvl], log_fn, (long)getpid());
	if (msg) {
		tp_buf_adds(&line, " msg=");
		add_value(&line, msg);
	}
	for (i = 0; kv && kv[i]; i += 2) {
		const char *v = kv[i + 1];
		tp_buf_addc(&line, ' ');
		tp_buf_adds(&line, kv[i]);
		tp_buf_addc(&line, '=');
		if (tp_redact_is_secret_name(kv[i]))
			tp_buf_adds(&line, "[redacted]");
		else
			add_value(&line, v);
	}
	if (!line.ptr) {
		/* Over the cap: say so rather than write a cut line. */
		char small[160];
		int n = snprintf(small, sizeof small,
		                 "ts=%s.%03ldZ level=%s fn=%s msg=\"log line too long\"\n", ts,
		                 (long)(tv.tv_usec / 1000), level_name[lvl], log_fn);
		if (n > 0)
			write_all(small, (size_t)n < sizeof small ? (size_t)n : sizeof small - 1);
		return;
	}
	tp_buf_addc(&line, '\n');
	if (line.ptr)
		write_all(line.ptr, line.len);
	tp_buf_free(&line);
}

void tp_log(tp_log_level lvl, const char *fmt, ...)
{
	tp_buf msg;
	va_list ap;

	if (lvl < log_min)
		return;
	tp_buf_init(&msg, LINE_MAX_BYTES);
	va_start(ap, fmt);
	tp_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	tp_logv_kv(lvl, tp_buf_str(&msg), NULL);
	tp_buf_free(&msg);
}
