/*
 * outbound.c - every request the emulator makes: voice webhooks, <Dial>
 * status callbacks, REFER webhooks, Payments status callbacks and the
 * Generic Pay Connector.
 *
 * One FIFO, one worker thread.  REST handlers and control calls only
 * queue; the worker sends, then runs the request's continuation (execute
 * the TwiML, report the connector's answer...), which may queue more.  A
 * single worker keeps Twilio's order between the callbacks of a call or a
 * payment session; it also means libtwiliopay's HTTP client (one curl
 * handle per process) is only ever used from this thread.
 *
 * Webhooks are form posts signed like Twilio (contract 9): the signature
 * covers the URL exactly as configured (query included) plus the sorted
 * POST parameters; a GET webhook carries the parameters in the query and
 * signs the resulting URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;    /* work arrived / stop */
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER; /* queue drained */
static sim_out *q_head, *q_tail;
static int busy; /* jobs queued or running */
static bool stopping;
static pthread_t worker;

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

void sim_out_queue(sim_out *o)
{
	pthread_mutex_lock(&q_lock);
	o->next = NULL;
	if (q_tail)
		q_tail->next = o;
	else
		q_head = o;
	q_tail = o;
	busy++;
	pthread_cond_signal(&q_cv);
	pthread_mutex_unlock(&q_lock);
}

bool sim_out_wait_idle(long timeout_ms)
{
	struct timespec dl;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q_lock);
	while (busy > 0 && ok)
		ok = pthread_cond_timedwait(&idle_cv, &q_lock, &dl) == 0 || busy == 0;
	ok = busy == 0;
	pthread_mutex_unlock(&q_lock);
	return ok;
}

/* One HTTP exchange; fills res. */
static void send_once(sim_out *o, const char *url, const char *body, const char *sig,
                      sim_out_result *res)
{
	tp_http_req rq;
	tp_http_resp hr;
	tp_http_rc rc;
	tp_buf sigh;
	const char *hdrs[4] = {NULL, NULL, NULL, NULL};
	size_t nh = 0;
	char token[SIM_SID_LEN + 1];
	tp_buf idem;

	memset(&rq, 0, sizeof rq);
	tp_buf_init(&sigh, 128);
	tp_buf_init(&idem, 128);
	if (sig) {
		tp_buf_addf(&sigh, "X-Twilio-Signature: %s", sig);
		hdrs[nh++] = tp_buf_str(&sigh);
		/* Twilio identifies each webhook attempt; a handler may use it
		 * to spot a duplicate delivery. */
		sim_new_sid(token, "RQ");
		tp_buf_addf(&idem, "I-Twilio-Idempotency-Token: %s", token + 2);
		hdrs[nh++] = tp_buf_str(&idem);
		hdrs[nh++] = "User-Agent: TwilioProxy/1.1";
	}
	rq.method = o->get ? "GET" : "POST";
	rq.url = url;
	rq.userpwd = o->userpwd;
	rq.content_type = o->json ? "application/json" : "application/x-www-form-urlencoded";
	rq.body = o->get ? NULL : body;
	rq.body_len = body ? strlen(body) : 0;
	rq.headers = hdrs;
	rq.timeout_ms = sim_conf.webhook_timeout_ms;
	rc = tp_http_do(&rq, &hr);
	res->sent = rc == TP_HTTP_OK;
	res->status = rc == TP_HTTP_OK ? hr.status : 0;
	tp_buf_reset(&res->body);
	tp_buf_add(&res->body, hr.body.ptr ? hr.body.ptr : "", hr.body.len);
	if (rc != TP_HTTP_OK) {
		tp_buf e;
		tp_buf_init(&e, sizeof res->error - 1);
		tp_buf_addf(&e, "%s%s%.180s", tp_http_rc_str(rc), hr.error[0] ? ": " : "",
		            hr.error);
		memcpy(res->error, tp_buf_str(&e), strlen(tp_buf_str(&e)) + 1);
		tp_buf_free(&e);
	}
	tp_http_resp_free(&hr);
	tp_buf_free(&sigh);
	tp_buf_free(&idem);
}

static void deliver(sim_out *o)
{
	sim_out_result res;
	sim_fault f;
	bool faulted = sim_fault_take(o->target, o->get ? "GET" : "POST", o->url, &f);
	tp_buf url, body;
	char sig[TP_SIG_LEN + 1];
	const char *ctype = o->json ? "application/json" : "application/x-www-form-urlencoded";
	int sends = 1, i;

	memset(&res, 0, sizeof res);
	tp_buf_init(&res.body, 2u << 20);
	tp_buf_init(&url, 16384);
	tp_buf_init(&body, 4u << 20);
	tp_buf_adds(&url, o->url);
	if (o->json)
		tp_buf_adds(&body, o->json);
	else if (o->get)
		sim_url_add_query(&url, &o->params);
	else
		tp_form_encode(&body, &o->params);
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
	for (i = 0; i < sends; i++)
		send_once(o, tp_buf_str(&url), tp_buf_str(&body), o->json ? NULL : sig, &res);
	if (sends == 0)
		res.sent = !f.drop; /* a pretended answer counts as an answer */
	sim_reqlog_out(o->kind, o->get ? "GET" : "POST", tp_buf_str(&url), ctype,
	               o->get ? NULL : tp_buf_str(&body), res.status, tp_buf_str(&res.body),
	               res.error, o->call_sid, faulted ? f.desc : NULL);
	{
		char st[16];
		snprintf(st, sizeof st, "%ld", res.status);
		tp_log_kv(res.status >= 200 && res.status < 300 ? TP_LOG_INFO : TP_LOG_WARN,
		          "outbound", "kind", o->kind, "url", tp_buf_str(&url), "status", st,
		          "error", res.error, "call", o->call_sid);
	}
	if (o->done)
		o->done(o->ctx, &res);
	if (body.ptr)
		explicit_bzero(body.ptr, body.len);
	tp_buf_free(&body);
	tp_buf_free(&url);
	tp_buf_free(&res.body);
}

static void *work(void *arg)
{
	(void)arg;
	for (;;) {
		sim_out *o;

		pthread_mutex_lock(&q_lock);
		while (!q_head && !stopping)
			pthread_cond_wait(&q_cv, &q_lock);
		o = q_head;
		if (!o) {
			pthread_mutex_unlock(&q_lock);
			return NULL; /* stopping */
		}
		q_head = o->next;
		if (!q_head)
			q_tail = NULL;
		pthread_mutex_unlock(&q_lock);

		deliver(o);
		out_free(o);

		pthread_mutex_lock(&q_lock);
		if (--busy == 0)
			pthread_cond_broadcast(&idle_cv);
		pthread_mutex_unlock(&q_lock);
	}
}

int sim_out_start(void)
{
	return pthread_create(&worker, NULL, work, NULL) == 0 ? 0 : -1;
}

void sim_out_stop(void)
{
	pthread_mutex_lock(&q_lock);
	stopping = true;
	/* Pending work is dropped at shutdown. */
	while (q_head) {
		sim_out *o = q_head;
		q_head = o->next;
		if (o->done)
			o->done(o->ctx, NULL);
		out_free(o);
	}
	q_tail = NULL;
	pthread_cond_broadcast(&q_cv);
	pthread_mutex_unlock(&q_lock);
	pthread_join(worker, NULL);
}
