/* Unit tests for lib/http.c against a scripted server: an error status is
 * an answer (its body kept), the request carries what Twilio needs (auth,
 * Accept, form body, method, no Expect), headers are read within their
 * buffers, the 1 MiB response cap, only http(s), and the transport
 * failures each named, and retried or not by tp_api_call; then
 * tp_twilio_error_from on Twilio's error JSON. */
#include "script_server.h"

static int setup(void **state)
{
	(void)state;
	ss_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ss_stop();
	return 0;
}

static tp_rc get(const char *method, const char *path, const char *body, tp_http_resp *out)
{
	char url[128];
	tp_http_req rq;

	snprintf(url, sizeof url, "%s%s", ss_url(), path);
	memset(&rq, 0, sizeof rq);
	rq.method = method;
	rq.url = url;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.userpwd = "AC1:secret";
	rq.timeout_ms = 5000;
	return tp_http_do(&rq, out);
}

static void test_error_status_is_an_answer(void **state)
{
	static const ss_step s[] = {{404, "{\"code\":20404,\"message\":\"not found\"}", NULL, 0}};
	tp_http_resp r;
	(void)state;
	ss_script(s, 1);
	assert_int_equal(get("GET", "/v1/x", NULL, &r), TP_OK);
	assert_int_equal(r.status, 404);
	assert_string_equal(tp_buf_str(&r.body), "{\"code\":20404,\"message\":\"not found\"}");
	assert_string_equal(r.error, "");
	tp_http_resp_free(&r);
}

static void test_request_shape(void **state)
{
	static const ss_step s[] = {
	    {201, "{}", NULL, 0}, {204, "", NULL, 0}, {200, "{}", NULL, 0}, {200, "{}", NULL, 0}};
	tp_http_resp r;
	const char *q;
	(void)state;
	ss_script(s, 4);
	assert_int_equal(get("POST", "/p", "A=1&B=two", &r), TP_OK);
	tp_http_resp_free(&r);
	q = ss_request(0);
	assert_non_null(strstr(q, "POST /p HTTP/1.1\r\n"));
	/* Basic auth of "AC1:secret", JSON wanted, a form body, no
	 * "Expect: 100-continue" round trip. */
	assert_non_null(strstr(q, "Authorization: Basic QUMxOnNlY3JldA==\r\n"));
	assert_non_null(strstr(q, "Accept: application/json\r\n"));
	assert_non_null(strstr(q, "Content-Type: application/x-www-form-urlencoded\r\n"));
	assert_null(strcasestr(q, "Expect:"));
	assert_string_equal(ss_body(0), "A=1&B=two");

	assert_int_equal(get("DELETE", "/d", NULL, &r), TP_OK);
	assert_int_equal(r.status, 204);
	tp_http_resp_free(&r);
	assert_non_null(strstr(ss_request(1), "DELETE /d HTTP/1.1\r\n"));

	/* A POST without a body still says its length (Twilio's update
	 * endpoints are POSTs; a proxy refuses one without a length). */
	assert_int_equal(get("POST", "/empty", NULL, &r), TP_OK);
	tp_http_resp_free(&r);
	assert_non_null(strstr(ss_request(2), "POST /empty HTTP/1.1\r\n"));
	assert_non_null(strstr(ss_request(2), "Content-Length: 0\r\n"));

	assert_int_equal(get("GET", "/g?PageSize=100", NULL, &r), TP_OK);
	tp_http_resp_free(&r);
	assert_non_null(strstr(ss_request(3), "GET /g?PageSize=100 HTTP/1.1\r\n"));
	assert_null(strstr(ss_request(3), "Content-Type:"));
}

static void test_bearer_and_extra_headers(void **state)
{
	static const ss_step s[] = {{200, "{}", NULL, 0}};
	static const char *const extra[] = {"If-Match: \"3\"", NULL};
	char url[128];
	tp_http_req rq;
	tp_http_resp r;
	(void)state;
	ss_script(s, 1);
	snprintf(url, sizeof url, "%s/b", ss_url());
	memset(&rq, 0, sizeof rq);
	rq.method = "POST";
	rq.url = url;
	rq.bearer = "tok123";
	rq.headers = extra;
	rq.content_type = "application/json";
	rq.body = "{}";
	rq.body_len = 2;
	assert_int_equal(tp_http_do(&rq, &r), TP_OK);
	tp_http_resp_free(&r);
	assert_non_null(strstr(ss_request(0), "Authorization: Bearer tok123\r\n"));
	assert_non_null(strstr(ss_request(0), "If-Match: \"3\"\r\n"));
	assert_non_null(strstr(ss_request(0), "Content-Type: application/json\r\n"));
}

static void test_headers_read(void **state)
{
	char long_etag[200];
	char hdrs[400];
	ss_step s[2] = {{200, "{}", "ETag: \"12\"\r\nTwilio-Request-Id: RQ0123\r\n", 0},
	                {200, "{}", hdrs, 0}};
	tp_http_resp r;
	(void)state;
	memset(long_etag, 'e', sizeof long_etag - 1);
	long_etag[sizeof long_etag - 1] = '\0';
	snprintf(hdrs, sizeof hdrs, "ETag:   %s  \r\n", long_etag);
	ss_script(s, 2);
	assert_int_equal(get("GET", "/h", NULL, &r), TP_OK);
	assert_string_equal(r.etag, "\"12\"");
	assert_string_equal(r.request_id, "RQ0123");
	tp_http_resp_free(&r);
	/* A value longer than its buffer is cut to fit, blanks trimmed. */
	assert_int_equal(get("GET", "/h", NULL, &r), TP_OK);
	assert_int_equal(strlen(r.etag), sizeof r.etag - 1);
	assert_int_equal(strspn(r.etag, "e"), sizeof r.etag - 1);
	assert_string_equal(r.request_id, "");
	tp_http_resp_free(&r);
}

static void test_body_cap(void **state)
{
	size_t cap = 1u << 20;
	char *big = malloc(cap + 1);
	ss_step s[2] = {{200, big, NULL, cap}, {200, big, NULL, cap + 1}};
	tp_http_resp r;
	(void)state;
	memset(big, 'x', cap + 1);
	ss_script(s, 2);
	/* 1 MiB exactly: kept whole. */
	assert_int_equal(get("GET", "/big", NULL, &r), TP_OK);
	assert_int_equal(r.body.len, cap);
	tp_http_resp_free(&r);
	/* One byte more: refused, nothing half-kept. */
	assert_int_equal(get("GET", "/bigger", NULL, &r), TP_ETOOBIG);
	assert_int_equal(r.body.len, 0);
	assert_string_equal(tp_http_error_str(TP_ETOOBIG), "response too large");
	tp_http_resp_free(&r);
	free(big);
}

static void test_only_http(void **state)
{
	tp_http_req rq;
	tp_http_resp r;
	tp_rc rc;
	(void)state;
	memset(&rq, 0, sizeof rq);
	rq.method = "GET";
	rq.url = "file:///etc/passwd";
	rc = tp_http_do(&rq, &r);
	assert_int_not_equal(rc, TP_OK);
	assert_null(strstr(tp_buf_str(&r.body), "root:"));
	tp_http_resp_free(&r);
}

static void test_transport_failures(void **state)
{
	static const ss_step hang[] = {{0, "", NULL, 0}};
	tp_http_req rq;
	tp_http_resp r;
	tp_twilio_error e;
	char url[128];
	(void)state;
	/* Nobody listens on port 9 (discard): could not connect. */
	memset(&rq, 0, sizeof rq);
	rq.method = "GET";
	rq.url = "http://127.0.0.1:9/x";
	rq.timeout_ms = 2000;
	assert_int_equal(tp_http_do(&rq, &r), TP_EUNAVAIL);
	tp_twilio_error_from(&e, TP_EUNAVAIL, &r);
	assert_int_equal(e.status, 0);
	assert_int_equal(strncmp(e.message, "could not connect: ", 19), 0);
	tp_http_resp_free(&r);
	/* A server that never answers: timed out, within the request's own
	 * timeout (the result is checked, not the time it took). */
	ss_script(hang, 1);
	snprintf(url, sizeof url, "%s/slow", ss_url());
	rq.url = url;
	rq.timeout_ms = 300;
	assert_int_equal(tp_http_do(&rq, &r), TP_ETIMEOUT);
	assert_string_equal(tp_http_error_str(TP_ETIMEOUT), "timed out");
	tp_http_resp_free(&r);
}

/* Each transfer failure reads as its own words, in the log and in the
 * errors answered (tests/fixtures and the integration suites look for
 * them). */
static void test_error_words(void **state)
{
	tp_http_resp r;
	tp_twilio_error e;
	(void)state;
	assert_string_equal(tp_http_error_str(TP_OK), "ok");
	assert_string_equal(tp_http_error_str(TP_EUNAVAIL), "could not connect");
	assert_string_equal(tp_http_error_str(TP_ETIMEOUT), "timed out");
	assert_string_equal(tp_http_error_str(TP_ETOOBIG), "response too large");
	assert_string_equal(tp_http_error_str(TP_EIO), "transfer failed");
	memset(&r, 0, sizeof r);
	snprintf(r.error, sizeof r.error, "Recv failure");
	tp_twilio_error_from(&e, TP_EIO, &r);
	assert_int_equal(e.status, 0);
	assert_string_equal(e.message, "transfer failed: Recv failure");
}

/* tp_api_call's retries by transfer result: a timeout is tried again (the
 * request may have been carried out, and every write carries an
 * idempotency key); a response too big to keep is not (it would be as big
 * again). */
static void test_retry_by_result(void **state)
{
	size_t cap = 1u << 20;
	char *big = malloc(cap + 1);
	ss_step hang_then_ok[] = {{0, "", NULL, 0}, {201, "{\"sid\":\"PK1\"}", NULL, 0}};
	ss_step big_then_ok[] = {{200, big, NULL, cap + 1}, {201, "{}", NULL, 0}};
	char sid[] = "AC00000000000000000000000000000001", token[] = "secret";
	tp_config c;
	tp_api_result r;
	char url[128];
	(void)state;
	memset(big, 'x', cap + 1);
	memset(&c, 0, sizeof c);
	c.account_sid = sid;
	c.auth_token = token;
	c.http_timeout_ms = 300;
	snprintf(url, sizeof url, "%s/r", ss_url());

	ss_script(hang_then_ok, 2);
	assert_true(tp_api_call(&c, "POST", url, NULL, NULL, 5000, &r));
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.status, 201);
	tp_api_result_free(&r);

	ss_script(big_then_ok, 2);
	assert_false(tp_api_call(&c, "GET", url, NULL, NULL, 5000, &r));
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(strncmp(r.err.message, "response too large", 18), 0);
	tp_api_result_free(&r);
	free(big);
}

static void test_twilio_error_from(void **state)
{
	static const struct {
		int line;
		long status;
		const char *body;
		long code;
		const char *message, *more;
	} rows[] = {
	    {__LINE__, 400,
	     "{\"code\":21201,\"message\":\"No to number\",\"more_info\":\"https://x/21201\"}",
	     21201, "No to number", "https://x/21201"},
	    /* No message: the status says it. */
	    {__LINE__, 503, "{\"code\":20503}", 20503, "HTTP 503", ""},
	    /* Not JSON (a proxy's page). */
	    {__LINE__, 502, "<html>Bad Gateway</html>", 0, "HTTP 502", ""},
	    {__LINE__, 500, "", 0, "HTTP 500", ""},
	    /* Codes no long holds, negative, or not numbers: none. */
	    {__LINE__, 400, "{\"code\":1e300,\"message\":\"m\"}", 0, "m", ""},
	    {__LINE__, 400, "{\"code\":-5,\"message\":\"m\"}", 0, "m", ""},
	    {__LINE__, 400, "{\"code\":\"21201\",\"message\":7}", 0, "HTTP 400", ""},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_http_resp r;
		tp_twilio_error e;
		memset(&r, 0, sizeof r);
		tp_buf_init(&r.body, 1u << 20);
		tp_buf_adds(&r.body, rows[i].body);
		r.status = rows[i].status;
		tp_twilio_error_from(&e, TP_OK, &r);
		if (e.status != rows[i].status || e.code != rows[i].code ||
		    strcmp(e.message, rows[i].message) != 0 ||
		    strcmp(e.more_info, rows[i].more) != 0)
			ROW_FAIL(rows[i].line,
			         "got status %ld code %ld message \"%s\" more \"%s\"\n", e.status,
			         e.code, e.message, e.more_info);
		tp_http_resp_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_status_is_an_answer),
	    cmocka_unit_test(test_request_shape),
	    cmocka_unit_test(test_bearer_and_extra_headers),
	    cmocka_unit_test(test_headers_read),
	    cmocka_unit_test(test_body_cap),
	    cmocka_unit_test(test_only_http),
	    cmocka_unit_test(test_transport_failures),
	    cmocka_unit_test(test_error_words),
	    cmocka_unit_test(test_retry_by_result),
	    cmocka_unit_test(test_twilio_error_from),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
