/*
 * redis.c - one Redis command over a fresh connection (RESP2): what the
 * handlers need from the nodes' shared Redis (NCHAN_REDIS_URL), today the
 * one-use check of live-update tickets (lib/ticket.c).
 *
 * Why our own: no Redis client library is in the package set we build
 * against (Debian's libhiredis is not installed by scripts/install-deps),
 * and what is needed is small: connect, AUTH/SELECT when the URL says so,
 * one command, one reply.  The protocol is the documented RESP2
 * (https://redis.io/docs/reference/protocol-spec/): commands go as arrays
 * of bulk strings ("*N\r\n$len\r\narg\r\n..."), replies start with '+'
 * (status), '-' (error), ':' (integer), '$' (bulk, $-1 nil) or '*'
 * (array, *-1 nil).
 *
 * A connection per command: a ticket is redeemed once per EventSource
 * (re)connection, not per request, so a TCP handshake to a Redis on the
 * same network costs nothing that matters, and no pool can be left
 * half-read by a timed-out command.  Every step (connect, write, read)
 * shares one deadline, `timeout_ms`; a reply that does not arrive in time
 * is a failure, never a guess.
 *
 * URLs: redis://[[user]:password@]host[:port][/db] (TCP, port 6379) and
 * unix://[[user]:password@]/path/to/socket[?db=N].  rediss:// (TLS) is
 * refused by tp_redis_url_parse: this client speaks plain TCP only, and a
 * ticket check that silently could not reach Redis would refuse every
 * subscription.  The password may be percent-encoded; it is never logged.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "internal.h"

#define REPLY_MAX (64u * 1024) /* a status, an integer or a short string */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string; NULL when malformed. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = tp_xmalloc(n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void tp_redis_url_free(tp_redis_url *u)
{
	free(u->host);
	free(u->path);
	free(u->user);
	if (u->password) {
		OPENSSL_cleanse(u->password, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof *u);
}

static bool parse_db(const char *s, size_t n, int *db)
{
	uint64_t v;

	if (n == 0 || n > 2 || tp_str_to_u64(s, n, 15, &v) != TP_OK)
		return false;
	*db = (int)v;
	return true;
}

tp_rc tp_redis_url_parse(const char *url, tp_redis_url *u)
{
	const char *p, *at, *end, *host, *q;
	bool is_unix;

	memset(u, 0, sizeof *u);
	if (!url)
		return TP_EINVAL;
	if (tp_str_prefix(url, "redis://"))
		p = url + 8, is_unix = false;
	else if (tp_str_prefix(url, "unix://"))
		p = url + 7, is_unix = true;
	else
		return TP_EINVAL; /* rediss:// among them: no TLS here */
	for (q = p; *q; q++)
		if (isspace((unsigned char)*q) || *q == '#')
			return TP_EINVAL;
	/* userinfo: up to the last '@' before the path ('@' may not occur
	 * unencoded in a password, but a unix path may hold one). */
	end = is_unix ? strchr(p, '/') : p + strcspn(p, "/");
	if (!end)
		return TP_EINVAL;
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!colon || colon + 1 == at)
			goto bad; /* a user without a password says nothing */
		if (colon > p && !(u->user = pct_decode(p, (size_t)(colon - p))))
			goto bad;
		if (!(u->password = pct_decode(colon + 1, (size_t)(at - colon - 1))))
			goto bad;
		p = at + 1;
	}
	if (is_unix) {
		size_t plen;
		if (*p != '/')
			goto bad;
		plen = strcspn(p, "?");
		if (plen < 2 || plen >= sizeof(((struct sockaddr_un *)0)->sun_path))
			goto bad;
		u->path = tp_xstrndup(p, plen);
		q = p + plen;
		if (*q) {
			if (!tp_str_prefix(q, "?db=") || !parse_db(q + 4, strlen(q + 4), &u->db))
				goto bad;
		}
		return TP_OK;
	}
	host = p;
	end = host + strcspn(host, ":/");
	if (end == host || (size_t)(end - host) > 253)
		goto bad;
	for (q = host; q < end; q++)
		if (!(isalnum((unsigned char)*q) || *q == '.' || *q == '-'))
			goto bad;
	u->host = tp_xstrndup(host, (size_t)(end - host));
	u->port = 6379;
	if (*end == ':') {
		uint64_t v;
		const char *ps = end + 1;
		size_t pn = strcspn(ps, "/");
		if (pn == 0 || pn > 5 || tp_str_to_u64(ps, pn, 65535, &v) != TP_OK || v == 0)
			goto bad;
		u->port = (int)v;
		end = ps + pn;
	}
	if (*end == '/' && end[1] && !parse_db(end + 1, strlen(end + 1), &u->db))
		goto bad;
	return TP_OK;
bad:
	tp_redis_url_free(u);
	return TP_EINVAL;
}

/* Waits until fd is ready for `ev` or the deadline passes. */
static bool wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = ev};
		long long left = deadline - now_ms();
		int n;
		if (left <= 0)
			return false;
		n = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

static int connect_nb(const struct sockaddr *sa, socklen_t len, int family, long long deadline)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0;
	socklen_t elen = sizeof err;

	if (fd < 0)
		return -1;
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto fail;
	if (!wait_fd(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int open_conn(const tp_redis_url *u, long long deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int fd = -1;

	if (u->path) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", u->path);
		return connect_nb((const struct sockaddr *)&sun, sizeof sun, AF_UNIX, deadline);
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", u->port);
	/* A host name is resolved without our deadline (getaddrinfo has
	 * none): give NCHAN_REDIS_URL an address, or a name in /etc/hosts. */
	if (getaddrinfo(u->host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = connect_nb(ai->ai_addr, ai->ai_addrlen, ai->ai_family, deadline);
	freeaddrinfo(res);
	return fd;
}

static void add_command(tp_buf *out, size_t argc, const char *const argv[])
{
	size_t i;

	tp_buf_addf(out, "*%zu\r\n", argc);
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		tp_buf_addf(out, "$%zu\r\n", n);
		tp_buf_add(out, argv[i], n);
		tp_buf_adds(out, "\r\n");
	}
}

static bool write_all(int fd, const char *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return false;
		} else if (!wait_fd(fd, POLLOUT, deadline)) {
			return false;
		}
	}
	return true;
}

/* Reads one reply from `in` (more from fd as needed) into *r; *pos moves
 * past it.  TP_EINVAL on a protocol error, TP_EIO on a failed or timed
 * out read, TP_ETOOBIG past REPLY_MAX. */
static tp_rc read_reply(int fd, tp_buf *in, size_t *pos, long long deadline, tp_redis_reply *r)
{
	memset(r, 0, sizeof *r);
	for (;;) {
		const char *s = in->ptr ? in->ptr + *pos : NULL;
		size_t avail = in->ptr ? in->len - *pos : 0;
		const char *crlf = s && avail >= 2 ? memmem(s, avail, "\r\n", 2) : NULL;

		if (crlf) {
			size_t line = (size_t)(crlf - s);
			const char *body = s + 1;
			size_t blen = line ? line - 1 : 0;
			long long n = 0;
			bool neg = false;
			size_t i;

			if (line == 0)
				return TP_EINVAL;
			if (s[0] == '+' || s[0] == '-') {
				r->type = s[0] == '+' ? TP_REDIS_STATUS : TP_REDIS_ERROR;
				r->str = tp_xstrndup(body, blen);
				r->len = blen;
				*pos += line + 2;
				return TP_OK;
			}
			if (s[0] != ':' && s[0] != '$' && s[0] != '*')
				return TP_EINVAL;
			i = 0;
			if (blen && body[0] == '-')
				neg = true, i = 1;
			if (i == blen || blen - i > 18)
				return TP_EINVAL;
			for (; i < blen; i++) {
				if (!isdigit((unsigned char)body[i]))
					return TP_EINVAL;
				n = n * 10 + (body[i] - '0');
			}
			if (neg)
				n = -n;
			if (s[0] == ':') {
				r->type = TP_REDIS_INT;
				r->integer = n;
				*pos += line + 2;
				return TP_OK;
			}
			if (n < 0) { /* $-1 / *-1 */
				r->type = TP_REDIS_NIL;
				*pos += line + 2;
				return TP_OK;
			}
			if (s[0] == '*') {
				/* Only its length: no command of ours expects an
				 * array, and the connection is closed after it. */
				r->type = TP_REDIS_ARRAY;
				r->integer = n;
				*pos += line + 2;
				return TP_OK;
			}
			if ((unsigned long long)n > REPLY_MAX)
				return TP_ETOOBIG;
			if (avail >= line + 2 + (size_t)n + 2) {
				const char *data = crlf + 2;
				if (memcmp(data + n, "\r\n", 2) != 0)
					return TP_EINVAL;
				r->type = TP_REDIS_BULK;
				r->str = tp_xstrndup(data, (size_t)n);
				r->len = (size_t)n;
				*pos += line + 2 + (size_t)n + 2;
				return TP_OK;
			}
		} else if (avail > REPLY_MAX) {
			return TP_ETOOBIG;
		}
		/* more bytes */
		{
			char chunk[4096];
			ssize_t got;
			if (!wait_fd(fd, POLLIN, deadline))
				return TP_EIO;
			got = recv(fd, chunk, sizeof chunk, 0);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
				return TP_EIO;
			if (got > 0 && tp_buf_add(in, chunk, (size_t)got) != TP_OK)
				return TP_ETOOBIG;
		}
	}
}

void tp_redis_reply_free(tp_redis_reply *r)
{
	free(r->str);
	memset(r, 0, sizeof *r);
}

tp_rc tp_redis_command(const char *url, long timeout_ms, size_t argc, const char *const argv[],
                       tp_redis_reply *out, tp_buf *why)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	tp_redis_url u;
	tp_buf req, in;
	size_t pos = 0;
	int fd = -1, pre = 0, i;
	tp_rc rc;

	memset(out, 0, sizeof *out);
	tp_buf_init(&req, 1u << 20);
	tp_buf_init(&in, REPLY_MAX + 4096);
	tp_buf_add(&in, "", 0);
	if (tp_redis_url_parse(url, &u) != TP_OK) {
		tp_buf_adds(why, "the Redis URL is not usable");
		rc = TP_EINVAL;
		goto out;
	}
	/* AUTH and SELECT first, in the same write: Redis answers in order. */
	if (u.password) {
		const char *a[3] = {"AUTH", u.user ? u.user : u.password, u.password};
		add_command(&req, u.user ? 3 : 2, a);
		pre++;
	}
	if (u.db) {
		char db[4];
		const char *a[2] = {"SELECT", db};
		snprintf(db, sizeof db, "%d", u.db);
		add_command(&req, 2, a);
		pre++;
	}
	add_command(&req, argc, argv);
	if (!req.ptr) {
		tp_buf_adds(why, "the command is too big");
		rc = TP_ETOOBIG;
		goto out;
	}
	fd = open_conn(&u, deadline);
	if (fd < 0) {
		tp_buf_addf(why, "cannot connect to Redis (%s)", u.path ? u.path : u.host);
		rc = TP_EIO;
		goto out;
	}
	if (!write_all(fd, req.ptr, req.len, deadline)) {
		tp_buf_adds(why, "cannot write to Redis");
		rc = TP_EIO;
		goto out;
	}
	for (i = 0; i <= pre; i++) {
		tp_redis_reply_free(out);
		rc = read_reply(fd, &in, &pos, deadline, out);
		if (rc != TP_OK) {
			tp_buf_adds(why, rc == TP_EIO
			                     ? "no answer from Redis in time"
			                     : "Redis answered something that is not RESP");
			goto out;
		}
		if (i < pre && out->type == TP_REDIS_ERROR) {
			tp_buf_addf(why, "Redis refused %s: %.80s",
			            u.password && i == 0 ? "the password" : "the database",
			            out->str);
			tp_redis_reply_free(out);
			rc = TP_EAUTH;
			goto out;
		}
	}
	rc = TP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (req.ptr)
		OPENSSL_cleanse(req.ptr, req.len); /* held the password */
	tp_redis_url_free(&u);
	tp_buf_free(&req);
	tp_buf_free(&in);
	return rc;
}
