/* Unit tests for lib/api.c and lib/sync.c against a scripted HTTP server
 * in a thread: retries, error JSON, auth, If-Match, upsert. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#define MAX_STEPS 8

typedef struct step {
	int status;
	const char *body;
} step;

static step script[MAX_STEPS];
static int nscript, served;
static char requests[MAX_STEPS][4096];
static int listen_fd, port;
static pthread_t thr;

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(listen_fd, NULL, NULL);
		char buf[4096];
		size_t len = 0;
		ssize_t n;
		char *hend = NULL;
		if (c < 0)
			return NULL;
		while (len < sizeof buf - 1 && (n = read(c, buf + len, sizeof buf - 1 - len)) > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			hend = strstr(buf, "\r\n\r\n");
			if (hend) {
				const char *cl = strcasestr(buf, "Content-Length: ");
				size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0;
				if (len >= (size_t)(hend + 4 - buf) + want)
					break;
			}
		}
		if (served < MAX_STEPS)
			snprintf(requests[served], sizeof requests[served], "%s", buf);
		{
			step s = served < nscript ? script[served] : (step){500, "{}"};
			char out[4096];
			int m = snprintf(
			    out, sizeof out,
			    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			    "ETag: \"7\"\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			    s.status, strlen(s.body), s.body);
			served++;
			if (write(c, out, (size_t)m) < 0)
				perror("write");
		}
		close(c);
	}
}

static tp_config cfg;

static int setup(void **state)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	char url[64];
	(void)state;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(listen_fd, (struct sockaddr *)&a, sizeof a);
	listen(listen_fd, 16);
	getsockname(listen_fd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	pthread_create(&thr, NULL, serve, NULL);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	memset(&cfg, 0, sizeof cfg);
	cfg.account_sid = tp_xstrdup("AC00000000000000000000000000000001");
	cfg.auth_token = tp_xstrdup("token0token0token0token0token0aa");
	cfg.twilio_api_url = tp_xstrdup(url);
	cfg.twilio_sync_url = tp_xstrdup(url);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shutdown(listen_fd, SHUT_RDWR); /* accept() fails: the thread returns */
	pthread_join(thr, NULL);
	close(listen_fd);
	free(cfg.account_sid);
	free(cfg.auth_token);
	free(cfg.twilio_api_url);
	free(cfg.twilio_sync_url);
	return 0;
}

static void reset(const step *s, int n)
{
	int i;
	for (i = 0; i < n; i++)
		script[i] = s[i];
	nscript = n;
	served = 0;
	memset(requests, 0, sizeof requests);
}

static void test_retry_then_success(void **state)
{
	static const step s[] = {
	    {503, "{}"}, {429, "{\"code\":20429}"}, {201, "{\"sid\":\"PK1\"}"}};
	tp_api_result r;
	tp_params f;
	(void)state;
	reset(s, 3);
	tp_params_init(&f);
	tp_params_add(&f, "IdempotencyKey", "k 1");
	assert_true(tp_payment_create(&cfg, "CA00000000000000000000000000000001", &f, &r));
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.status, 201);
	assert_string_equal(cJSON_GetObjectItem(r.json, "sid")->valuestring, "PK1");
	assert_string_equal(r.etag, "\"7\"");
	/* Same request each time: path, Basic auth, form body. */
	assert_non_null(strstr(requests[2],
	                       "POST /2010-04-01/Accounts/AC00000000000000000000000000000001/"
	                       "Calls/CA00000000000000000000000000000001/Payments.json "));
	assert_non_null(strstr(requests[2], "Authorization: Basic "));
	assert_non_null(strstr(requests[2], "IdempotencyKey=k%201"));
	assert_non_null(strstr(requests[0], "IdempotencyKey=k%201"));
	tp_api_result_free(&r);
	tp_params_free(&f);
}

static void test_error_not_retried(void **state)
{
	static const step s[] = {
	    {400, "{\"code\":64021,\"message\":\"Invalid Operation\","
	          "\"more_info\":\"https://www.twilio.com/docs/errors/64021\",\"status\":400}"},
	    {201, "{}"}};
	tp_api_result r;
	(void)state;
	reset(s, 2);
	assert_false(tp_payment_update(&cfg, "CA1", "PK1", NULL, &r));
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.err.status, 400);
	assert_int_equal(r.err.code, 64021);
	assert_string_equal(r.err.message, "Invalid Operation");
	assert_string_equal(r.err.more_info, "https://www.twilio.com/docs/errors/64021");
	tp_api_result_free(&r);
}

static void test_transport_budget(void **state)
{
	tp_api_result r;
	(void)state;
	/* Nobody listens on port 9: every attempt fails fast; the budget
	 * bounds the retries. */
	assert_false(tp_api_call(&cfg, "GET", "http://127.0.0.1:9/x", NULL, NULL, 1000, &r));
	assert_true(r.attempts >= 2);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err.message, "could not connect"));
	tp_api_result_free(&r);
}

/* Twilio's error JSON, including codes no long can hold (found by
 * tests/fuzz/fuzz_twilio.c: converting 1e300 was undefined behaviour). */
static void test_error_from_body(void **state)
{
	static const struct {
		int line;
		const char *body;
		long code;
		const char *message;
	} cases[] = {
	    {__LINE__, "{\"code\":21220,\"message\":\"Call is not in-progress\"}", 21220,
	     "Call is not in-progress"},
	    {__LINE__, "{\"code\":1e300,\"message\":\"x\"}", 0, "x"},
	    {__LINE__, "{\"code\":-1e300}", 0, "HTTP 400"},
	    {__LINE__, "{\"code\":\"20404\"}", 0, "HTTP 400"},
	    {__LINE__, "<html>", 0, "HTTP 400"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tp_http_resp r;
		tp_twilio_error e;
		memset(&r, 0, sizeof r);
		r.status = 400;
		tp_buf_init(&r.body, 4096);
		tp_buf_adds(&r.body, cases[i].body);
		tp_twilio_error_from(&e, TP_OK, &r);
		if (e.code != cases[i].code || strcmp(e.message, cases[i].message) != 0)
			fail_msg("line %d: code %ld message %s", cases[i].line, e.code, e.message);
		assert_int_equal(e.status, 400);
		tp_http_resp_free(&r);
	}
}

static void test_upsert_and_if_match(void **state)
{
	static const step s[] = {
	    {409, "{\"code\":54208,\"message\":\"Map Item already exists\",\"status\":409}"},
	    {200, "{\"key\":\"a/b c\",\"revision\":\"1\"}"},
	    {412, "{\"code\":54205,\"status\":412}"}};
	tp_api_result r;
	cJSON *data = cJSON_Parse("{\"uui\":\"x&y\"}");
	(void)state;
	reset(s, 3);
	assert_true(tp_sync_item_upsert(&cfg, "IS1", "uuiMap", "a/b c", data, TP_SYNC_TTL_12H, &r));
	assert_int_equal(served, 2);
	assert_non_null(strstr(requests[0], "POST /v1/Services/IS1/Maps/uuiMap/Items "));
	assert_non_null(strstr(requests[0], "Key=a%2Fb%20c"));
	assert_non_null(strstr(requests[0], "Ttl=43200"));
	assert_non_null(strstr(requests[1], "POST /v1/Services/IS1/Maps/uuiMap/Items/a%2Fb%20c "));
	assert_non_null(strstr(requests[1], "Data=%7B%22uui%22%3A%22x%26y%22%7D"));
	tp_api_result_free(&r);
	assert_false(tp_sync_item_update(&cfg, "IS1", "payMap", "PK1", data, -1, "0", &r));
	assert_non_null(strstr(requests[2], "If-Match: 0\r\n"));
	assert_null(strstr(requests[2], "Ttl="));
	assert_int_equal(r.err.code, 54205);
	tp_api_result_free(&r);
	cJSON_Delete(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_then_success), cmocka_unit_test(test_error_not_retried),
	    cmocka_unit_test(test_transport_budget),   cmocka_unit_test(test_upsert_and_if_match),
	    cmocka_unit_test(test_error_from_body),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
