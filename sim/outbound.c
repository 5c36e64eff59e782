/*
 * outbound.c - every request the emulator makes: voice webhooks, <Dial>
 * status callbacks, REFER webhooks, Payments status callbacks and the
 * Generic Pay Connector.
 *
 * A queue per call (keyed by the call's arriving leg), served by a pool
 * of sender threads.  REST handlers and control calls only queue; a
 * sender takes the next call that has work, sends that call's oldest
 * request, runs its continuation (execute the TwiML, report the
 * connector's answer...), which may queue more, and puts the call back
 * at the end of the run list when more is waiting.  So a call's requests
 * leave one at a time, each after the previous one was answered, in the
 * order Twilio generated them (a payment session's callbacks stay in
 * order), while the requests of different calls travel at once, as
 * Twilio delivers them: one slow answer delays its own call only.
 *
 * Senders are started on demand, up to --senders (SIM_SENDERS, default
 * 1000): a contact centre's peak has hundreds of calls each with a
 * callback in flight, and a pool smaller than that would queue callbacks
 * here, inside "Twilio", where a benchmark would not see them as the
 * product's delay.  A sender's thread is mostly blocked on the network
 * and its stack is small; each has its own curl handle (libtwiliopay's
 * client keeps one per process), so its connection to nginx is reused.
 *
 * The latency model (latency.c) stamps each request with the earliest
 * time it may leave: queued time + a delay, never earlier than the
 * call's previous request (jitter must not reorder a call).  The delay
 * runs while the previous request is still out, as packets in flight
 * would, rather than adding up behind it.
 *
 * Twilio waits 15 s for the answer, connection included, then fails the
 * request (error 11205, twilio.com/docs/errors/11205); the record says
 * "timeout".  Twilio does not retry a status callback that way, and
 * neither does the emulator.
 *
 * Webhooks are form posts signed like Twilio (contract 9): the signature
 * covers the URL exactly as configured (query included) plus the sorted
 * POST parameters; a GET webhook carries the parameters in the query and
 * signs the resulting URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "sim.h"

#define CALLQ_BUCKETS   1024
#define SENDER_STACK    (512u * 1024u)
#define RESP_BODY_MAX   (2u << 20)
#define SENDERS_DEFAULT 1000

typedef struct callq {
	sim_sid sid;
	sim_out *head, *tail;
	int busy;               /* requests queued or being sent */
	int waiters;            /* sim_out_wait_call callers */
	bool scheduled;         /* on the run list or being sent */
	double last_not_before; /* of the newest request queued */
	pthread_cond_t idle_cv; /* busy reached 0 */
	struct callq *hnext;    /* hash chain */
	struct callq *rnext;    /* run list */
} callq;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;    /* a call is runnable / stop */
static pthread_cond_t stop_cv = PTHREAD_COND_INITIALIZER; /* interrupts latency waits */
static callq *buckets[CALLQ_BUCKETS];
static callq *run_head, *run_tail;
static long run_len;  /* calls on the run list */
static long idle;     /* senders waiting for work */
static long nsenders; /* started */
static pthread_t *senders;
static bool stopping;

sim_out *sim_out_new(const char *kind, sim_target target, const char *url, const char *method)
{
	sim_out *o = tp_xcalloc(1, sizeof *o);

	o->kind = kind;
	o->target = target;
	o->url = tp_xstrdup(url);
	o->get = method && tp_str_caseeq(method, "GET");
	tp_params_init(&o->params);
	return o;
}

static void out_free(sim_out *o)
{
	tp_params_free(&o->params);
	free(o->url);
	if (o->json) {
		/* The connector body holds the clear card number. */
		explicit_bzero(o->json, strlen(o->json));
		free(o->json);
	}
	sim_free_secret(o->userpwd);
	free(o);
}

/* ---------------------------------------------------------------- call queues (q_lock) */

static unsigned hash_sid(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % CALLQ_BUCKETS;
}

static callq *callq_find(const char *sid, bool create)
{
	unsigned b = hash_sid(sid);
	callq *q;

	for (q = buckets[b]; q; q = q->hnext)
		if (strcmp(q->sid, sid) == 0)
			return q;
	if (!create)
		return NULL;
	q = tp_xcalloc(1, sizeof *q);
	snprintf(q->sid, sizeof q->sid, "%s", sid);
	pthread_cond_init(&q->idle_cv, NULL);
	q->hnext = buckets[b];
	buckets[b] = q;
	return q;
}

/* Frees q once nothing refers to it any more. */
static void callq_release(callq *q)
{
	callq **pp;

	if (q->busy || q->waiters || q->scheduled)
		return;
	for (pp = &buckets[hash_sid(q->sid)]; *pp; pp = &(*pp)->hnext)
		if (*pp == q) {
			*pp = q->hnext;
			break;
		}
	pthread_cond_destroy(&q->idle_cv);
	free(q);
}

static void *sender_main(void *arg);

static void run_push(callq *q)
{
	q->scheduled = true;
	q->rnext = NULL;
	if (run_tail)
		run_tail->rnext = q;
	else
		run_head = q;
	run_tail = q;
	run_len++;
	/* One sender per runnable call, up to the bound. */
	if (run_len > idle && nsenders < sim_conf.senders_max) {
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, SENDER_STACK);
		if (pthread_create(&senders[nsenders], &a, sender_main, NULL) == 0)
			nsenders++;
		else
			tp_log(TP_LOG_WARN, "cannot start another sender thread");
		pthread_attr_destroy(&a);
	}
	pthread_cond_signal(&q_cv);
}

static callq *run_pop(void)
{
	callq *q = run_head;

	if (q) {
		run_head = q->rnext;
		if (!run_head)
			run_tail = NULL;
		run_len--;
	}
	return q;
}

void sim_out_queue(sim_out *o)
{
	callq *q;
	double now = sim_mono_ms();

	o->queued_ms = now;
	o->not_before_ms = now + (double)sim_latency_sample_ms(o->target);
	o->next = NULL;
	pthread_mutex_lock(&q_lock);
	if (stopping) {
		pthread_mutex_unlock(&q_lock);
		if (o->done)
			o->done(o->ctx, NULL);
		out_free(o);
		return;
	}
	q = callq_find(o->call_sid, true);
	if (o->not_before_ms < q->last_not_before)
		o->not_before_ms = q->last_not_before;
	q->last_not_before = o->not_before_ms;
	if (q->tail)
		q->tail->next = o;
	else
		q->head = o;
	q->tail = o;
	q->busy++;
	if (!q->scheduled)
		run_push(q);
	pthread_mutex_unlock(&q_lock);
}

static void deadline_in(struct timespec *dl, double ms)
{
	clock_gettime(CLOCK_REALTIME, dl);
	dl->tv_sec += (time_t)(ms / 1000.0);
	dl->tv_nsec += (long)((ms - 1000.0 * (double)(long)(ms / 1000.0)) * 1e6);
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

bool sim_out_wait_call(const char *call_sid, long timeout_ms)
{
	struct timespec dl;
	callq *q;
	bool ok = true;

	deadline_in(&dl, (double)timeout_ms);
	pthread_mutex_lock(&q_lock);
	q = callq_find(call_sid, false);
	if (q) {
		q->waiters++;
		while (q->busy > 0 && !stopping)
			if (pthread_cond_timedwait(&q->idle_cv, &q_lock, &dl) != 0)
				break;
		ok = q->busy == 0;
		q->waiters--;
		callq_release(q);
	}
	pthread_mutex_unlock(&q_lock);
	return ok;
}

/* ---------------------------------------------------------------- sending */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	tp_buf *b = ud;
	return tp_buf_add(b, p, size * n) == TP_OK ? size * n : 0;
}

/* One HTTP exchange on the sender's handle c; fills res. */
static void send_once(CURL *c, sim_out *o, const char *url, const char *body, const char *sig,
                      sim_out_result *res)
{
	struct curl_slist *h = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	long status = 0;

	tp_buf_reset(&res->body);
	res->error[0] = '\0';
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, sim_conf.webhook_timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L); /* 11205: two 5 s tries */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &res->body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (o->userpwd) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, o->userpwd);
	}
	h = curl_slist_append(h, "Expect:");
	if (sig) {
		char line[TP_SIG_LEN + 64], token[TP_SID_SIZE];
		snprintf(line, sizeof line, "X-Twilio-Signature: %s", sig);
		h = curl_slist_append(h, line);
		/* Twilio identifies each webhook attempt; a handler may use it
		 * to spot a duplicate delivery. */
		sim_new_sid(token, "RQ");
		snprintf(line, sizeof line, "I-Twilio-Idempotency-Token: %s", token + 2);
		h = curl_slist_append(h, line);
	}
	curl_easy_setopt(c, CURLOPT_USERAGENT, "TwilioProxy/1.1");
	h = curl_slist_append(h, "Accept: application/json");
	if (o->get) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		h = curl_slist_append(h, o->json
		                             ? "Content-Type: application/json"
		                             : "Content-Type: application/x-www-form-urlencoded");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(h);
	res->sent = cc == CURLE_OK;
	res->status = cc == CURLE_OK ? status : 0;
	res->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
	if (res->timed_out)
		snprintf(res->error, sizeof res->error, "no answer within %ld ms",
		         sim_conf.webhook_timeout_ms);
	else if (cc != CURLE_OK)
		snprintf(res->error, sizeof res->error, "%s%s%.180s", curl_easy_strerror(cc),
		         errbuf[0] ? ": " : "", errbuf);
}

static const char *outcome_of(const sim_out_result *res, bool faulted, const sim_fault *f)
{
	if (faulted && f->drop)
		return "dropped";
	if (faulted && f->status)
		return "not-sent";
	if (res->timed_out)
		return "timeout";
	if (!res->sent)
		return "failed";
	return res->status >= 200 && res->status < 300 ? "delivered" : "http-error";
}

static void deliver(CURL *c, sim_out *o)
{
	sim_out_result res;
	sim_out_record rec;
	sim_fault f;
	bool faulted = sim_fault_take(o->target, o->get ? "GET" : "POST", o->url, &f);
	tp_buf url, body;
	char sig[TP_SIG_LEN + 1];
	int sends = 1, i;
	double t0;

	memset(&res, 0, sizeof res);
	memset(&rec, 0, sizeof rec);
	tp_buf_init(&res.body, RESP_BODY_MAX);
	tp_buf_init(&url, 16384);
	tp_buf_init(&body, 4u << 20);
	tp_buf_adds(&url, o->url);
	if (o->json)
		tp_buf_adds(&body, o->json);
	else if (o->get)
		sim_url_add_query(&url, &o->params);
	else
		tp_form_encode(&body, &o->params);
	if (!body.ptr)
		tp_buf_add(&body, "", 0);
	if (!o->json)
		tp_sig_compute(tp_buf_str(&url), o->get ? NULL : &o->params, sim_conf.auth_token,
		               sig);

	if (faulted && f.delay_ms)
		sim_sleep_ms(f.delay_ms);
	if (faulted && f.drop) {
		snprintf(res.error, sizeof res.error, "dropped by an injected fault");
		sends = 0;
	} else if (faulted && f.status) {
		res.status = f.status;
		sends = 0;
	} else if (faulted && f.duplicate) {
		sends = 2;
	}
	clock_gettime(CLOCK_REALTIME, &rec.sent_at);
	t0 = sim_mono_ms();
	rec.wait_ms = t0 - o->queued_ms;
	for (i = 0; i < sends; i++)
		send_once(c, o, tp_buf_str(&url), tp_buf_str(&body), o->json ? NULL : sig, &res);
	rec.ms = sim_mono_ms() - t0;
	if (sends == 0)
		res.sent = !f.drop; /* a pretended answer counts as an answer */
	rec.kind = o->kind;
	rec.method = o->get ? "GET" : "POST";
	rec.url = tp_buf_str(&url);
	rec.ctype = o->json ? "application/json" : "application/x-www-form-urlencoded";
	rec.body = o->get ? NULL : tp_buf_str(&body);
	rec.status = res.status;
	rec.resp_body = tp_buf_str(&res.body);
	rec.error = res.error;
	rec.call_sid = o->call_sid;
	rec.fault = faulted ? f.desc : NULL;
	rec.outcome = outcome_of(&res, faulted, &f);
	sim_reqlog_out(&rec);
	{
		char st[16], ms[32];
		snprintf(st, sizeof st, "%ld", res.status);
		snprintf(ms, sizeof ms, "%.1f", rec.ms);
		tp_log_kv(res.status >= 200 && res.status < 300 ? TP_LOG_INFO : TP_LOG_WARN,
		          "outbound", "kind", o->kind, "url", tp_buf_str(&url), "status", st,
		          "outcome", rec.outcome, "ms", ms, "error", res.error, "call",
		          o->call_sid);
	}
	if (o->done)
		o->done(o->ctx, &res);
	if (body.ptr)
		explicit_bzero(body.ptr, body.len);
	tp_buf_free(&body);
	tp_buf_free(&url);
	tp_buf_free(&res.body);
}

/* Waits (q_lock held) until the monotonic time `at`; false when stopping. */
static bool wait_until(double at)
{
	for (;;) {
		double now = sim_mono_ms();
		struct timespec dl;

		if (stopping)
			return false;
		if (now >= at)
			return true;
		deadline_in(&dl, at - now);
		pthread_cond_timedwait(&stop_cv, &q_lock, &dl);
	}
}

static void *sender_main(void *arg)
{
	CURL *c = curl_easy_init();

	(void)arg;
	if (!c)
		abort(); /* only fails on OOM */
	pthread_mutex_lock(&q_lock);
	for (;;) {
		callq *q;
		sim_out *o;

		while (!run_head && !stopping) {
			idle++;
			pthread_cond_wait(&q_cv, &q_lock);
			idle--;
		}
		if (stopping)
			break;
		q = run_pop();
		o = q->head;
		q->head = o->next;
		if (!q->head)
			q->tail = NULL;
		if (!wait_until(o->not_before_ms)) {
			/* Stopping: sim_out_stop drops the rest. */
			if (o->done)
				o->done(o->ctx, NULL);
			out_free(o);
			break;
		}
		pthread_mutex_unlock(&q_lock);

		deliver(c, o);
		out_free(o);

		pthread_mutex_lock(&q_lock);
		q->busy--;
		q->scheduled = false;
		if (q->head && !stopping) {
			run_push(q);
		} else if (q->busy == 0) {
			pthread_cond_broadcast(&q->idle_cv);
			callq_release(q);
		}
	}
	pthread_mutex_unlock(&q_lock);
	curl_easy_cleanup(c);
	return NULL;
}

void sim_out_start(void)
{
	if (sim_conf.senders_max <= 0)
		sim_conf.senders_max = SENDERS_DEFAULT;
	senders = tp_xcalloc((size_t)sim_conf.senders_max, sizeof *senders);
}

void sim_out_stop(void)
{
	size_t b;
	long i, n;

	pthread_mutex_lock(&q_lock);
	stopping = true;
	pthread_cond_broadcast(&q_cv);
	pthread_cond_broadcast(&stop_cv);
	n = nsenders;
	pthread_mutex_unlock(&q_lock);
	for (i = 0; i < n; i++)
		pthread_join(senders[i], NULL);
	/* Pending work is dropped at shutdown. */
	for (b = 0; b < CALLQ_BUCKETS; b++)
		while (buckets[b]) {
			callq *q = buckets[b];
			while (q->head) {
				sim_out *o = q->head;
				q->head = o->next;
				if (o->done)
					o->done(o->ctx, NULL);
				out_free(o);
			}
			buckets[b] = q->hnext;
			pthread_cond_destroy(&q->idle_cv);
			free(q);
		}
	free(senders);
	senders = NULL;
}
