/*
 * test_redis.c - lib/redis.c: the URL forms, and one command against a
 * fake Redis (a thread on a unix socket or a TCP port) that records what
 * it was sent and answers a scripted reply; tp_spent_claim_redis
 * (lib/ticket.c) on top.  The real redis-server is exercised by
 * tests/multinode.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

static void test_url(void **state)
{
	static const struct {
		int line;
		const char *url;
		bool ok;
		const char *host, *path, *user, *password;
		int port, db;
	} rows[] = {
	    {__LINE__, "redis://127.0.0.1:6390", true, "127.0.0.1", NULL, NULL, NULL, 6390, 0},
	    {__LINE__, "redis://redis.internal", true, "redis.internal", NULL, NULL, NULL, 6379, 0},
	    {__LINE__, "redis://:s3cr%40t@10.0.0.5:6379/2", true, "10.0.0.5", NULL, NULL, "s3cr@t",
	     6379, 2},
	    {__LINE__, "redis://tp:pw@h/", true, "h", NULL, "tp", "pw", 6379, 0},
	    {__LINE__, "unix:///run/redis/redis.sock", true, NULL, "/run/redis/redis.sock", NULL,
	     NULL, 0, 0},
	    {__LINE__, "unix://:pw@/run/redis.sock?db=3", true, NULL, "/run/redis.sock", NULL, "pw",
	     0, 3},
	    {__LINE__, "rediss://h:6380", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "http://h", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://h:0", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://h:65536", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://h/16", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://h/x", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://user@h", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://:p%4@h", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://h h", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "redis://h;x", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "unix://relative.sock", false, NULL, NULL, NULL, NULL, 0, 0},
	    {__LINE__, "unix:///s?db=x", false, NULL, NULL, NULL, NULL, 0, 0},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_redis_url u;
		tp_rc rc = tp_redis_url_parse(rows[i].url, &u);
		if ((rc == TP_OK) != rows[i].ok)
			ROW_FAIL(rows[i].line, "%s: rc %d\n", rows[i].url, rc);
		if (rc != TP_OK)
			continue;
		if (!tp_str_eq(u.host, rows[i].host) || !tp_str_eq(u.path, rows[i].path) ||
		    !tp_str_eq(u.user, rows[i].user) || !tp_str_eq(u.password, rows[i].password) ||
		    (u.host && u.port != rows[i].port) || u.db != rows[i].db)
			ROW_FAIL(rows[i].line, "%s parsed wrong\n", rows[i].url);
		tp_redis_url_free(&u);
	}
}

/* ------------------------------------------------------------ fake Redis */

typedef struct fake {
	int lfd;
	const char *reply; /* written in pieces of `chunk` bytes; NULL: never answer */
	size_t chunk;
	size_t expect_cmds; /* commands to read before answering */
	char got[4096];     /* what was sent */
	size_t got_len;
	char url[160];
	pthread_t th;
} fake;

/* Commands (RESP arrays) complete in buf[0..len). */
static size_t count_commands(const char *buf, size_t len)
{
	size_t n = 0, pos = 0;

	while (pos < len && buf[pos] == '*') {
		long argc = strtol(buf + pos + 1, NULL, 10), a;
		const char *p = memchr(buf + pos, '\n', len - pos);
		if (!p)
			return n;
		pos = (size_t)(p - buf) + 1;
		for (a = 0; a < argc; a++) {
			long blen;
			if (pos >= len || buf[pos] != '$')
				return n;
			blen = strtol(buf + pos + 1, NULL, 10);
			p = memchr(buf + pos, '\n', len - pos);
			if (!p || (size_t)(p - buf) + 1 + (size_t)blen + 2 > len)
				return n;
			pos = (size_t)(p - buf) + 1 + (size_t)blen + 2;
		}
		n++;
	}
	return n;
}

static void *fake_serve(void *arg)
{
	fake *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	size_t off;

	if (c < 0)
		return NULL;
	while (count_commands(f->got, f->got_len) < f->expect_cmds) {
		ssize_t r = read(c, f->got + f->got_len, sizeof f->got - 1 - f->got_len);
		if (r <= 0)
			break;
		f->got_len += (size_t)r;
	}
	f->got[f->got_len] = '\0';
	if (!f->reply) {
		sleep(2); /* longer than the client waits */
	} else {
		for (off = 0; off < strlen(f->reply); off += f->chunk) {
			size_t n = strlen(f->reply) - off;
			if (n > f->chunk)
				n = f->chunk;
			if (write(c, f->reply + off, n) != (ssize_t)n)
				break;
			usleep(2000);
		}
	}
	close(c);
	return NULL;
}

static char sockdir[] = "/tmp/tp-test-redis-XXXXXX";

static void fake_start(fake *f, bool tcp, const char *userinfo, const char *reply, size_t chunk,
                       size_t cmds)
{
	memset(f, 0, sizeof *f);
	f->reply = reply;
	f->chunk = chunk ? chunk : 1 << 16;
	f->expect_cmds = cmds;
	if (tcp) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof sin;
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->lfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(f->lfd >= 0);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof sin), 0);
		assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sin, &sl), 0);
		snprintf(f->url, sizeof f->url, "redis://%s127.0.0.1:%d/1", userinfo,
		         ntohs(sin.sin_port));
	} else {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s/redis.sock", sockdir);
		unlink(sun.sun_path);
		f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(f->lfd >= 0);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof sun), 0);
		snprintf(f->url, sizeof f->url, "unix://%s%s", userinfo, sun.sun_path);
	}
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_serve, f), 0);
}

static void fake_end(fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static void test_command(void **state)
{
	const char *argv[6] = {"SET", "tp:ticket:ab", "1", "NX", "EX", "61"};
	tp_redis_reply r;
	tp_buf why;
	fake f;
	(void)state;

	tp_buf_init(&why, 1024);
	/* unix socket: the command as RESP, "+OK" */
	fake_start(&f, false, "", "+OK\r\n", 0, 1);
	assert_int_equal(tp_redis_command(f.url, 1000, 6, argv, &r, &why), TP_OK);
	fake_end(&f);
	assert_int_equal(r.type, TP_REDIS_STATUS);
	assert_string_equal(r.str, "OK");
	assert_string_equal(f.got,
	                    "*6\r\n$3\r\nSET\r\n$12\r\ntp:ticket:ab\r\n$1\r\n1\r\n$2\r\nNX\r\n"
	                    "$2\r\nEX\r\n$2\r\n61\r\n");
	tp_redis_reply_free(&r);

	/* TCP with a password and a database: AUTH, SELECT, then the
	 * command; the replies arrive a byte at a time */
	fake_start(&f, true, ":p%40ss@", "+OK\r\n+OK\r\n$-1\r\n", 1, 3);
	assert_int_equal(tp_redis_command(f.url, 2000, 6, argv, &r, &why), TP_OK);
	fake_end(&f);
	assert_int_equal(r.type, TP_REDIS_NIL);
	assert_non_null(
	    strstr(f.got, "*2\r\n$4\r\nAUTH\r\n$4\r\np@ss\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*6"));

	/* the other reply kinds */
	fake_start(&f, false, "", "$5\r\nhe\r\nl\r\n", 3, 1);
	assert_int_equal(tp_redis_command(f.url, 1000, 6, argv, &r, &why), TP_OK);
	fake_end(&f);
	assert_int_equal(r.type, TP_REDIS_BULK);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.str, "he\r\nl", 5);
	tp_redis_reply_free(&r);
	fake_start(&f, false, "", ":42\r\n", 0, 1);
	assert_int_equal(tp_redis_command(f.url, 1000, 6, argv, &r, &why), TP_OK);
	fake_end(&f);
	assert_int_equal(r.type, TP_REDIS_INT);
	assert_int_equal(r.integer, 42);
	fake_start(&f, false, "", "-ERR wrong number of arguments\r\n", 0, 1);
	assert_int_equal(tp_redis_command(f.url, 1000, 6, argv, &r, &why), TP_OK);
	fake_end(&f);
	assert_int_equal(r.type, TP_REDIS_ERROR);
	assert_string_equal(r.str, "ERR wrong number of arguments");
	tp_redis_reply_free(&r);

	/* a wrong password: TP_EAUTH, and the reason never holds it */
	tp_buf_free(&why);
	tp_buf_init(&why, 1024);
	fake_start(&f, false, ":hunter2hunter2@", "-WRONGPASS invalid password\r\n+OK\r\n", 0, 2);
	assert_int_equal(tp_redis_command(f.url, 1000, 6, argv, &r, &why), TP_EAUTH);
	fake_end(&f);
	assert_null(strstr(tp_buf_str(&why), "hunter2"));
	assert_non_null(strstr(tp_buf_str(&why), "password"));

	/* not RESP */
	fake_start(&f, false, "", "HTTP/1.1 400 Bad Request\r\n", 0, 1);
	assert_int_equal(tp_redis_command(f.url, 1000, 6, argv, &r, &why), TP_EINVAL);
	fake_end(&f);
	/* no answer in time: TP_EIO within the timeout */
	{
		struct timespec a, b;
		fake_start(&f, true, "", NULL, 0, 1);
		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_int_equal(tp_redis_command(f.url, 300, 6, argv, &r, &why), TP_EIO);
		clock_gettime(CLOCK_MONOTONIC, &b);
		fake_end(&f);
		assert_true(b.tv_sec - a.tv_sec < 2);
	}
	/* closed before answering */
	fake_start(&f, false, "", "+O", 0, 1);
	assert_int_equal(tp_redis_command(f.url, 1000, 6, argv, &r, &why), TP_EIO);
	fake_end(&f);
	/* nobody listening, and a bad URL */
	{
		char url[160];
		snprintf(url, sizeof url, "unix://%s/nobody.sock", sockdir);
		assert_int_equal(tp_redis_command(url, 500, 6, argv, &r, &why), TP_EIO);
	}
	assert_int_equal(tp_redis_command("rediss://h", 500, 6, argv, &r, &why), TP_EINVAL);
	tp_buf_free(&why);
}

/* The ticket check on top: SET NX EX with the seconds to exp. */
static void test_spent_claim_redis(void **state)
{
	time_t now = time(NULL);
	tp_buf why;
	bool fresh = true;
	fake f;
	(void)state;

	tp_buf_init(&why, 1024);
	fake_start(&f, false, "", "+OK\r\n", 0, 1);
	assert_int_equal(tp_spent_claim_redis(f.url, "0123abcd", now + 60, now, &fresh, &why),
	                 TP_OK);
	fake_end(&f);
	assert_true(fresh);
	assert_non_null(strstr(f.got,
	                       "$3\r\nSET\r\n$18\r\ntp:ticket:0123abcd\r\n$1\r\n1\r\n$2\r\nNX\r\n"
	                       "$2\r\nEX\r\n$2\r\n61\r\n"));
	fake_start(&f, false, "", "$-1\r\n", 0, 1);
	assert_int_equal(tp_spent_claim_redis(f.url, "0123abcd", now + 60, now, &fresh, &why),
	                 TP_OK);
	fake_end(&f);
	assert_false(fresh);
	/* an error reply is no answer: refused, not fresh */
	fake_start(&f, false, "", "-OOM command not allowed\r\n", 0, 1);
	assert_int_equal(tp_spent_claim_redis(f.url, "0123abcd", now + 60, now, &fresh, &why),
	                 TP_EIO);
	fake_end(&f);
	assert_false(fresh);
	/* already expired: still a second in Redis (EX 0 is an error) */
	fake_start(&f, false, "", "+OK\r\n", 0, 1);
	assert_int_equal(tp_spent_claim_redis(f.url, "ff", now - 5, now, &fresh, &why), TP_OK);
	fake_end(&f);
	assert_non_null(strstr(f.got, "$2\r\nEX\r\n$1\r\n1\r\n"));
	assert_int_equal(tp_spent_claim_redis(f.url, "a b", now + 60, now, &fresh, &why),
	                 TP_EINVAL);
	tp_buf_free(&why);
}

static int setup(void **state)
{
	(void)state;
	tp_log_set_level(TP_LOG_ERROR);
	return mkdtemp(sockdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[200];
	(void)state;
	snprintf(p, sizeof p, "%s/redis.sock", sockdir);
	unlink(p);
	return rmdir(sockdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_spent_claim_redis),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
