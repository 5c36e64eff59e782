/*
 * script_server.h - a scripted HTTP server in a thread, for the unit
 * tests of code that talks to Twilio (http.c, sync.c, attach.c,
 * paysession.c): each connection gets the next step's answer and
 * Connection: close; every request is kept for the test to read.
 *
 *   ss_start()                      listen on 127.0.0.1, a free port
 *   ss_url()                        "http://127.0.0.1:PORT"
 *   ss_script(steps, n)             the answers, in order (after them: 500)
 *   ss_served, ss_request(i)        requests seen, the i-th one (head+body)
 *   ss_stop()
 *
 * A step with status 0 holds its connection open without answering (a
 * server that never replies) until ss_stop.
 */
#ifndef SCRIPT_SERVER_H
#define SCRIPT_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#define SS_MAX 24

typedef struct ss_step {
	int status;          /* 0: never answer */
	const char *body;    /* JSON */
	const char *headers; /* extra "Name: value\r\n" lines, or NULL */
	size_t body_len;     /* 0: strlen(body) */
} ss_step;

static ss_step ss_steps[SS_MAX];
static int ss_nsteps;
static volatile int ss_served;
static char ss_requests[SS_MAX][16384];
static int ss_fd = -1, ss_port, ss_held[SS_MAX], ss_nheld;
static pthread_t ss_thread;
static char ss_base[64];

static inline void ss_read_request(int c, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	buf[0] = '\0';
	while (len < cap - 1 && (n = read(c, buf + len, cap - 1 - len)) > 0) {
		const char *hend, *cl;
		len += (size_t)n;
		buf[len] = '\0';
		hend = strstr(buf, "\r\n\r\n");
		if (!hend)
			continue;
		cl = strcasestr(buf, "Content-Length: ");
		if (len >= (size_t)(hend + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0))
			break;
	}
}

static inline void *ss_serve(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(ss_fd, NULL, NULL);
		int i;
		ss_step s;
		char head[1024];
		int m;

		if (c < 0)
			return NULL;
		i = ss_served;
		ss_read_request(c, ss_requests[i < SS_MAX ? i : SS_MAX - 1], sizeof ss_requests[0]);
		s = i < ss_nsteps ? ss_steps[i] : (ss_step){500, "{}", NULL, 0};
		ss_served = i + 1;
		if (s.status == 0) {
			if (ss_nheld < SS_MAX)
				ss_held[ss_nheld++] = c;
			continue;
		}
		if (!s.body_len)
			s.body_len = strlen(s.body);
		m = snprintf(head, sizeof head,
		             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
		             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		             s.status, s.headers ? s.headers : "", s.body_len);
		if (write(c, head, (size_t)m) < 0 || write(c, s.body, s.body_len) < 0)
			perror("script_server: write");
		close(c);
	}
}

static inline void ss_start(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;

	ss_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ss_fd < 0 || bind(ss_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(ss_fd, 16) != 0 || getsockname(ss_fd, (struct sockaddr *)&a, &al) != 0) {
		perror("script_server");
		abort();
	}
	ss_port = ntohs(a.sin_port);
	snprintf(ss_base, sizeof ss_base, "http://127.0.0.1:%d", ss_port);
	pthread_create(&ss_thread, NULL, ss_serve, NULL);
}

static inline const char *ss_url(void)
{
	return ss_base;
}

static inline void ss_stop(void)
{
	int i;

	shutdown(ss_fd, SHUT_RDWR); /* accept() fails: the thread returns */
	pthread_join(ss_thread, NULL);
	close(ss_fd);
	for (i = 0; i < ss_nheld; i++)
		close(ss_held[i]);
	ss_nheld = 0;
}

static inline void ss_script(const ss_step *s, int n)
{
	int i;

	for (i = 0; i < n && i < SS_MAX; i++)
		ss_steps[i] = s[i];
	ss_nsteps = n;
	ss_served = 0;
	memset(ss_requests, 0, sizeof ss_requests);
}

static inline const char *ss_request(int i)
{
	return ss_requests[i];
}

/* The request's body: what follows the blank line. */
static inline const char *ss_body(int i)
{
	const char *b = strstr(ss_requests[i], "\r\n\r\n");
	return b ? b + 4 : "";
}

#endif
