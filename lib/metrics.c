/*
 * metrics.c - what an operator watches: per-handler counters in shared
 * memory (a scoreboard, as php-fpm keeps one for its pool), and their
 * Prometheus text rendering for GET /metrics (cgi-bin/metrics.c).
 *
 * One scoreboard per handler: the supervisor maps it before it forks, so
 * it and every worker process (and every thread in them) update the same
 * counters with atomic operations, lock-free and address-free (C11
 * 7.17.5; x86-64 and aarch64 do 64-bit atomics in shared memory).  With
 * METRICS_DIR set the mapping is the file METRICS_DIR/<handler>/scoreboard,
 * which the metrics handler, another process, reads; without it the
 * mapping is anonymous and the counters stay private to the handler.
 *
 * Why a file per handler in a folder of its own: under systemd every
 * handler is a unit whose only writable place is its RuntimeDirectory
 * (/run/twiliopay/<function>, ProtectSystem=strict), and units share no
 * IPC namespace (PrivateIPC=yes rules out SysV or POSIX shared memory
 * between them); a file in /run is readable by the metrics unit, which
 * runs as the same user.  Rejected: each process serving its own
 * counters over FastCGI (nginx reaches one process of a handler, and a
 * scrape would have to visit every handler's socket); a collector daemon
 * the handlers push to (one more process to run and lose).
 *
 * Gauges that belong to a process (requests in flight, threads) live in
 * that process's slot, which the supervisor clears when the process dies,
 * so a crash cannot leave a request counted in flight forever.  Counters
 * only grow while the supervisor runs; a restarted handler starts from
 * zero, which Prometheus' rate() treats as a counter reset.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SB_MAGIC   0x7470736275ULL /* "tpsbu" */
#define SB_VERSION 1
#define SB_SLOTS   128 /* two generations of MAX_WORKERS during a reload */
#define SB_STATUS  600 /* requests by status code 0..599 */
#define STALE_S    5   /* heartbeat older than this: the handler is down */

/* Upper bounds of the Twilio latency buckets, seconds: fine where Twilio
 * answers (100-300 ms from the same region), coarse up to the 15 s a
 * webhook has. */
static const double bucket_le[] = {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])

static const char *const kind_name[TP_METRICS_KINDS] = {
    [TP_METRICS_REST] = "rest",
    [TP_METRICS_SYNC] = "sync",
};
static const char *const outcome_name[] = {"applied", "duplicate", "stale", "final", "recorded"};
#define NOUTCOMES (sizeof outcome_name / sizeof outcome_name[0])
static const char *const result_name[] = {"completed", "failed", "cancelled"};
#define NRESULTS (sizeof result_name / sizeof result_name[0])

typedef _Atomic int64_t gauge;
typedef _Atomic uint64_t counter;

typedef struct sb_slot {
	gauge pid; /* 0: free */
	gauge in_flight;
	gauge threads;
} sb_slot;

typedef struct tp_scoreboard {
	_Atomic uint64_t magic; /* SB_MAGIC once the rest is initialised */
	uint64_t version, size;
	char handler[64];
	gauge heartbeat_s; /* unix time, refreshed every second by the supervisor */
	gauge processes;   /* worker processes configured */
	gauge bound;       /* requests in flight one process serves; past it 503 */
	counter restarts;  /* workers that died unexpectedly */
	counter rejected;  /* 503 past the bound */
	counter requests[SB_STATUS];
	counter twilio_bucket[TP_METRICS_KINDS][NBUCKETS + 1]; /* per bucket, +Inf last */
	counter twilio_sum_us[TP_METRICS_KINDS];
	counter twilio_errors[TP_METRICS_KINDS];
	counter callbacks[NOUTCOMES];
	counter payments[NRESULTS];
	counter publishes, publish_failures;
	sb_slot slots[SB_SLOTS];
} tp_scoreboard;

static tp_scoreboard *sb;  /* this handler's, or NULL (tests, tools) */
static sb_slot *own;       /* this worker process's slot */
static char sb_path[4096]; /* "" when anonymous */

static void add(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void gauge_add(gauge *g, int64_t n)
{
	atomic_fetch_add_explicit(g, n, memory_order_relaxed);
}

static int64_t gauge_get(const gauge *g)
{
	return atomic_load_explicit((gauge *)g, memory_order_relaxed);
}

static uint64_t get(const counter *c)
{
	return atomic_load_explicit((counter *)c, memory_order_relaxed);
}

/* ------------------------------------------------------------ writer side */

tp_rc tp_sb_open(const char *dir, const char *handler, tp_buf *err)
{
	void *m;
	int fd = -1;

	sb_path[0] = '\0';
	if (dir && *dir) {
		char sub[3072];
		if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, handler) >= sizeof sub) {
			tp_buf_addf(err, "METRICS_DIR is too long");
			return TP_EINVAL;
		}
		/* Under systemd the folder is the unit's RuntimeDirectory and
		 * exists; in the sandbox it is made here. */
		if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
		    (mkdir(sub, 0755) != 0 && errno != EEXIST)) {
			tp_buf_addf(err, "cannot create %s: %s", sub, strerror(errno));
			return TP_EIO;
		}
		snprintf(sb_path, sizeof sb_path, "%s/scoreboard", sub);
		/* A new file each start: a reader never sees the counters of
		 * a previous run mixed with ours. */
		unlink(sb_path);
		fd = open(sb_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)sizeof *sb) != 0) {
			tp_buf_addf(err, "cannot create %s: %s", sb_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			sb_path[0] = '\0';
			return TP_EIO;
		}
		m = mmap(NULL, sizeof *sb, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	} else {
		m = mmap(NULL, sizeof *sb, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		         0);
	}
	if (m == MAP_FAILED) {
		tp_buf_addf(err, "cannot map the scoreboard: %s", strerror(errno));
		return TP_EIO;
	}
	sb = m;
	sb->version = SB_VERSION;
	sb->size = sizeof *sb;
	snprintf(sb->handler, sizeof sb->handler, "%s", handler);
	atomic_store(&sb->heartbeat_s, (int64_t)time(NULL));
	atomic_store_explicit(&sb->magic, SB_MAGIC, memory_order_release);
	return TP_OK;
}

void tp_sb_close(void)
{
	if (!sb)
		return;
	if (sb_path[0])
		unlink(sb_path);
	munmap(sb, sizeof *sb);
	sb = NULL;
	own = NULL;
}

void tp_sb_configure(int processes, int bound)
{
	if (!sb)
		return;
	atomic_store(&sb->processes, processes);
	atomic_store(&sb->bound, bound);
}

void tp_sb_heartbeat(void)
{
	if (sb)
		atomic_store_explicit(&sb->heartbeat_s, (int64_t)time(NULL), memory_order_relaxed);
}

int tp_sb_slot_claim(void)
{
	int i;

	if (!sb)
		return -1;
	for (i = 0; i < SB_SLOTS; i++) {
		int64_t free_ = 0;
		/* -1 marks it taken until the process's pid is known. */
		if (atomic_compare_exchange_strong(&sb->slots[i].pid, &free_, -1))
			return i;
	}
	return -1;
}

void tp_sb_slot_set_pid(int slot, long pid)
{
	if (sb && slot >= 0)
		atomic_store(&sb->slots[slot].pid, (int64_t)pid);
}

void tp_sb_slot_release(int slot, bool crashed)
{
	sb_slot *s;

	if (!sb || slot < 0)
		return;
	s = &sb->slots[slot];
	atomic_store(&s->in_flight, 0);
	atomic_store(&s->threads, 0);
	atomic_store(&s->pid, 0);
	if (crashed)
		add(&sb->restarts, 1);
}

void tp_sb_slot_use(int slot)
{
	own = sb && slot >= 0 ? &sb->slots[slot] : NULL;
}

void tp_sb_threads(int delta)
{
	if (own)
		gauge_add(&own->threads, delta);
}

void tp_sb_in_flight(int delta)
{
	if (own)
		gauge_add(&own->in_flight, delta);
}

void tp_sb_request(int status, bool rejected)
{
	if (!sb)
		return;
	add(&sb->requests[status >= 0 && status < SB_STATUS ? status : 0], 1);
	if (rejected)
		add(&sb->rejected, 1);
}

void tp_metrics_twilio(tp_metrics_kind kind, double seconds, bool ok)
{
	size_t i;

	if (!sb || kind < 0 || kind >= TP_METRICS_KINDS)
		return;
	for (i = 0; i < NBUCKETS && seconds > bucket_le[i]; i++)
		;
	add(&sb->twilio_bucket[kind][i], 1);
	add(&sb->twilio_sum_us[kind], seconds > 0 ? (uint64_t)(seconds * 1e6) : 0);
	if (!ok)
		add(&sb->twilio_errors[kind], 1);
}

static void count_named(counter *v, const char *const *names, size_t n, const char *name)
{
	size_t i;

	if (!sb || !name)
		return;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0) {
			add(&v[i], 1);
			return;
		}
}

void tp_metrics_callback(const char *outcome)
{
	count_named(sb ? sb->callbacks : NULL, outcome_name, NOUTCOMES, outcome);
}

void tp_metrics_payment(const char *result)
{
	count_named(sb ? sb->payments : NULL, result_name, NRESULTS, result);
}

void tp_metrics_publish(bool ok)
{
	if (!sb)
		return;
	add(&sb->publishes, 1);
	if (!ok)
		add(&sb->publish_failures, 1);
}

/* ------------------------------------------------------------ reader side */

typedef struct board {
	const tp_scoreboard *sb;
	char name[64];
} board;

static int by_name(const void *a, const void *b)
{
	return strcmp(((const board *)a)->name, ((const board *)b)->name);
}

/* A label value in the text format: \ " and newline escaped. */
static void label(tp_buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			tp_buf_addc(out, '\\');
		if (*v == '\n') {
			tp_buf_adds(out, "\\n");
			continue;
		}
		tp_buf_addc(out, *v);
	}
}

static void family(tp_buf *out, const char *name, const char *type, const char *help)
{
	tp_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void per_handler(tp_buf *out, const board *b, size_t n, const char *name, const char *type,
                        const char *help, int64_t (*value)(const tp_scoreboard *))
{
	size_t i;

	family(out, name, type, help);
	for (i = 0; i < n; i++) {
		tp_buf_addf(out, "%s{handler=\"", name);
		label(out, b[i].name);
		tp_buf_addf(out, "\"} %lld\n", (long long)value(b[i].sb));
	}
}

static int64_t v_up(const tp_scoreboard *s)
{
	return time(NULL) - gauge_get(&s->heartbeat_s) <= STALE_S;
}

static int64_t v_processes(const tp_scoreboard *s)
{
	int64_t n = 0;
	int i;
	for (i = 0; i < SB_SLOTS; i++)
		n += gauge_get(&s->slots[i].pid) > 0;
	return n;
}

static int64_t slot_sum(const tp_scoreboard *s, size_t off)
{
	int64_t n = 0;
	int i;
	for (i = 0; i < SB_SLOTS; i++)
		n += gauge_get((const gauge *)((const char *)&s->slots[i] + off));
	return n;
}

static int64_t v_in_flight(const tp_scoreboard *s)
{
	return slot_sum(s, offsetof(sb_slot, in_flight));
}

static int64_t v_threads(const tp_scoreboard *s)
{
	return slot_sum(s, offsetof(sb_slot, threads));
}

static int64_t v_bound(const tp_scoreboard *s)
{
	return gauge_get(&s->bound) * gauge_get(&s->processes);
}

static int64_t v_rejected(const tp_scoreboard *s)
{
	return (int64_t)get(&s->rejected);
}

static int64_t v_restarts(const tp_scoreboard *s)
{
	return (int64_t)get(&s->restarts);
}

/* Maps every readable scoreboard in dir (at most max). */
static size_t load_boards(const char *dir, board *b, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		const tp_scoreboard *s;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/scoreboard", dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof *s) {
			close(fd);
			continue;
		}
		s = mmap(NULL, sizeof *s, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (s == MAP_FAILED)
			continue;
		if (atomic_load_explicit((_Atomic uint64_t *)&s->magic, memory_order_acquire) !=
		        SB_MAGIC ||
		    s->version != SB_VERSION || s->size != sizeof *s) {
			munmap((void *)s, sizeof *s);
			continue;
		}
		b[n].sb = s;
		snprintf(b[n].name, sizeof b[n].name, "%.*s", (int)sizeof s->handler - 1,
		         s->handler);
		n++;
	}
	closedir(d);
	qsort(b, n, sizeof *b, by_name);
	return n;
}

/* One counter family with a label, summed over every handler: the
 * `count` counters at `field` (an offsetof into tp_scoreboard), labelled
 * label="names[k]". */
static void labelled_sum(tp_buf *out, const board *b, size_t n, size_t field, size_t count,
                         const char *metric, const char *help, const char *label_name,
                         const char *const *names)
{
	size_t i, k;

	family(out, metric, "counter", help);
	for (k = 0; k < count; k++) {
		uint64_t v = 0;
		for (i = 0; i < n; i++)
			v += get((const counter *)((const char *)b[i].sb + field) + k);
		tp_buf_addf(out, "%s{%s=\"%s\"} %llu\n", metric, label_name, names[k],
		            (unsigned long long)v);
	}
}

tp_rc tp_metrics_render(const char *dir, tp_buf *out)
{
	board b[256];
	size_t n, i, k, j;

	n = load_boards(dir, b, sizeof b / sizeof b[0]);
	per_handler(out, b, n, "twiliopay_up", "gauge",
	            "1 while the handler's supervisor is alive (heartbeat in the last 5 s).", v_up);
	per_handler(out, b, n, "twiliopay_processes", "gauge", "Worker processes running.",
	            v_processes);
	per_handler(out, b, n, "twiliopay_threads", "gauge",
	            "Threads of the worker processes, serving or waiting for work.", v_threads);
	per_handler(out, b, n, "twiliopay_requests_in_flight", "gauge",
	            "Requests being served now.", v_in_flight);
	per_handler(out, b, n, "twiliopay_requests_bound", "gauge",
	            "Requests the handler serves at once (processes x threads); past it 503.",
	            v_bound);
	per_handler(out, b, n, "twiliopay_requests_rejected_total", "counter",
	            "Requests answered 503 with Retry-After because the bound was reached.",
	            v_rejected);
	per_handler(out, b, n, "twiliopay_worker_restarts_total", "counter",
	            "Worker processes that died unexpectedly and were restarted.", v_restarts);

	family(out, "twiliopay_requests_total", "counter",
	       "Requests answered, by handler and HTTP status.");
	for (i = 0; i < n; i++)
		for (k = 0; k < SB_STATUS; k++) {
			uint64_t v = get(&b[i].sb->requests[k]);
			if (!v)
				continue;
			tp_buf_adds(out, "twiliopay_requests_total{handler=\"");
			label(out, b[i].name);
			tp_buf_addf(out, "\",status=\"%zu\"} %llu\n", k, (unsigned long long)v);
		}

	/* The rest is summed over handlers: what matters is the kind of
	 * Twilio request or the outcome, not which binary saw it. */
	family(out, "twiliopay_twilio_request_duration_seconds", "histogram",
	       "Time of each Twilio request (each retry counts), by kind.");
	for (k = 0; k < TP_METRICS_KINDS; k++) {
		uint64_t cum = 0, sum_us = 0;
		for (i = 0; i < n; i++)
			sum_us += get(&b[i].sb->twilio_sum_us[k]);
		for (j = 0; j <= NBUCKETS; j++) {
			for (i = 0; i < n; i++)
				cum += get(&b[i].sb->twilio_bucket[k][j]);
			if (j < NBUCKETS)
				tp_buf_addf(
				    out,
				    "twiliopay_twilio_request_duration_seconds_bucket{kind=\"%s\","
				    "le=\"%g\"} %llu\n",
				    kind_name[k], bucket_le[j], (unsigned long long)cum);
			else
				tp_buf_addf(
				    out,
				    "twiliopay_twilio_request_duration_seconds_bucket{kind=\"%s\","
				    "le=\"+Inf\"} %llu\n",
				    kind_name[k], (unsigned long long)cum);
		}
		tp_buf_addf(out,
		            "twiliopay_twilio_request_duration_seconds_sum{kind=\"%s\"} %.6f\n",
		            kind_name[k], (double)sum_us / 1e6);
		tp_buf_addf(out,
		            "twiliopay_twilio_request_duration_seconds_count{kind=\"%s\"} %llu\n",
		            kind_name[k], (unsigned long long)cum);
	}
	labelled_sum(out, b, n, offsetof(tp_scoreboard, twilio_errors), TP_METRICS_KINDS,
	             "twiliopay_twilio_request_errors_total",
	             "Twilio requests that failed (no answer, timeout, 429 or 5xx), by kind.",
	             "kind", kind_name);
	labelled_sum(
	    out, b, n, offsetof(tp_scoreboard, callbacks), NOUTCOMES, "twiliopay_callbacks_total",
	    "Payments status callbacks, by what they did to the session.", "outcome", outcome_name);
	labelled_sum(out, b, n, offsetof(tp_scoreboard, payments), NRESULTS,
	             "twiliopay_payments_total", "Payment sessions that ended, by result.",
	             "result", result_name);
	{
		uint64_t pub = 0, fail = 0;
		for (i = 0; i < n; i++) {
			pub += get(&b[i].sb->publishes);
			fail += get(&b[i].sb->publish_failures);
		}
		family(out, "twiliopay_live_publishes_total", "counter",
		       "Live-update messages published to the agents' channels.");
		tp_buf_addf(out, "twiliopay_live_publishes_total %llu\n", (unsigned long long)pub);
		family(out, "twiliopay_live_publish_failures_total", "counter",
		       "Live-update messages nginx's publisher did not accept.");
		tp_buf_addf(out, "twiliopay_live_publish_failures_total %llu\n",
		            (unsigned long long)fail);
	}
	for (i = 0; i < n; i++)
		munmap((void *)b[i].sb, sizeof *b[i].sb);
	return out->ptr ? TP_OK : TP_ETOOBIG;
}
