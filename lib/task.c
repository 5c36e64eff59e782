/*
 * task.c - run a piece of a request on a second thread while the first
 * goes on: two Twilio requests that do not depend on each other take the
 * time of one (150-300 ms each against Twilio).
 *
 * A task is a thread of its own, started for it and joined by the
 * request that started it, so a request has at most a couple of them and
 * they never outlive it: the worker's bound on requests in flight bounds
 * them too.  Rejected: a shared pool of task threads (a request waiting
 * on a task queued behind other requests' tasks could wait for a request
 * that waits for it); libcurl's multi interface for the two transfers
 * (tp_api_call's retries and back-off per request would have to become a
 * state machine).  When no thread can be started the task runs at once on
 * the caller's thread: later, never lost.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "internal.h"

#define TASK_STACK (512u << 10) /* as the worker's threads (fcgi.c) */

struct tp_task {
	pthread_t thread;
	bool started; /* false: it already ran on the caller's thread */
	void (*fn)(void *);
	void *arg;
};

static void *run(void *p)
{
	tp_task *t = p;
	t->fn(t->arg);
	return NULL;
}

tp_task *tp_task_start(void (*fn)(void *), void *arg)
{
	tp_task *t = tp_xcalloc(1, sizeof *t);
	pthread_attr_t attr;
	sigset_t block, old;

	t->fn = fn;
	t->arg = arg;
	/* Signals belong to the worker's main thread (fcgi.c). */
	sigfillset(&block);
	sigdelset(&block, SIGSEGV);
	sigdelset(&block, SIGBUS);
	sigdelset(&block, SIGFPE);
	sigdelset(&block, SIGILL);
	sigdelset(&block, SIGABRT);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, TASK_STACK);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	t->started = pthread_create(&t->thread, &attr, run, t) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (!t->started)
		fn(arg);
	return t;
}

void tp_task_join(tp_task *t)
{
	if (!t)
		return;
	if (t->started) {
		tp_pool_blocking();
		pthread_join(t->thread, NULL);
	}
	free(t);
}
