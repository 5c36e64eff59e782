/* Unit tests for lib/fcgi.c's request pipeline, through tp_process_cgi:
 * method, body length and cap, parsing, signature, authorisation,
 * response form. */
#include "unit.h"

static tp_config cfg;
static int handler_calls;

static void echo(const tp_req *req, tp_resp *resp, const tp_config *c)
{
	cJSON *o = cJSON_CreateObject();
	(void)c;
	handler_calls++;
	cJSON_AddStringToObject(o, "a", tp_req_param(req, "a") ? tp_req_param(req, "a") : "-");
	cJSON_AddStringToObject(o, "q", tp_req_param(req, "q") ? tp_req_param(req, "q") : "-");
	cJSON_AddStringToObject(o, "url", tp_req_public_url(req));
	tp_reply_json_take(resp, TP_S_OK, o);
}

static const tp_handler signed_h = {.name = "t", .fn = echo, .flags = TP_H_TWILIO_SIGNED};
static const tp_handler open_h = {.name = "t", .fn = echo, .flags = 0, .max_body = 32};
static const tp_handler admin_h = {.name = "t", .fn = echo, .authorize = tp_admin_authorize};

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.server_url = tp_xstrdup("https://pay.example.com");
	cfg.auth_token = tp_xstrdup("0123456789abcdef0123456789abcdef");
	cfg.admin_token = tp_xstrdup("admin-token-0123456789");
	cfg.max_body_bytes = 65536;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(cfg.server_url);
	free(cfg.auth_token);
	free(cfg.admin_token);
	return 0;
}

/* Runs one request; returns the status, body in *body (static). */
static int run(const tp_handler *h, const char *method, const char *uri, const char *ctype,
               const char *body, const char *extra_env, const char **out_body)
{
	static tp_buf out;
	char cl[48], m[64], u[512], d[512], q[512], ct[128], ex[512];
	const char *env[10];
	const char *qs = strchr(uri, '?');
	size_t n = 0;
	uint64_t st = 0;

	snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", body ? strlen(body) : 0);
	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	snprintf(d, sizeof d, "DOCUMENT_URI=%.*s", (int)(qs ? (size_t)(qs - uri) : strlen(uri)),
	         uri);
	snprintf(q, sizeof q, "QUERY_STRING=%s", qs ? qs + 1 : "");
	snprintf(ct, sizeof ct, "CONTENT_TYPE=%s", ctype ? ctype : "");
	env[n++] = cl;
	env[n++] = m;
	env[n++] = u;
	env[n++] = d;
	env[n++] = q;
	env[n++] = ct;
	if (extra_env) {
		snprintf(ex, sizeof ex, "%s", extra_env);
		env[n++] = ex;
	}
	env[n] = NULL;
	tp_buf_free(&out);
	tp_buf_init(&out, 1 << 20);
	tp_process_cgi(h, &cfg, env, body, body ? strlen(body) : 0, &out);
	tp_str_to_u64(out.ptr + 8, 3, 999, &st);
	*out_body = strstr(out.ptr, "\r\n\r\n") + 4;
	/* Every response says it must not be cached. */
	assert_non_null(strstr(out.ptr, "Cache-Control: no-store\r\n"));
	return (int)st;
}

static void test_signed_ok_and_forged(void **state)
{
	const char *body;
	char sig[TP_SIG_LEN + 1], hdr[80];
	tp_params p;
	(void)state;
	tp_params_init(&p);
	tp_params_add(&p, "a", "1 2");
	tp_sig_compute("https://pay.example.com/pv/x?q=z", &p, cfg.auth_token, sig);
	snprintf(hdr, sizeof hdr, "HTTP_X_TWILIO_SIGNATURE=%s", sig);
	handler_calls = 0;
	assert_int_equal(run(&signed_h, "POST", "/pv/x?q=z", "application/x-www-form-urlencoded",
	                     "a=1+2", hdr, &body),
	                 200);
	assert_string_equal(
	    body, "{\"a\":\"1 2\",\"q\":\"z\",\"url\":\"https://pay.example.com/pv/x?q=z\"}");
	/* Same signature, other body / other URL / none: 403 and the
	 * handler never runs. */
	assert_int_equal(run(&signed_h, "POST", "/pv/x?q=z", "application/x-www-form-urlencoded",
	                     "a=1+3", hdr, &body),
	                 403);
	assert_int_equal(run(&signed_h, "POST", "/pv/y?q=z", "application/x-www-form-urlencoded",
	                     "a=1+2", hdr, &body),
	                 403);
	assert_int_equal(run(&signed_h, "POST", "/pv/x?q=z", "application/x-www-form-urlencoded",
	                     "a=1+2", NULL, &body),
	                 403);
	assert_non_null(strstr(body, "\"code\":\"missing_signature\""));
	assert_int_equal(handler_calls, 1);
	tp_params_free(&p);
}

/* Twilio's JSON webhooks carry bodySHA256 in the signed URL
 * (twilio-contract.md section 9).  A URL-only signature (what a GET
 * webhook carries) must not cover a JSON body it never saw: the attack
 * replayed such a signature as a POST with {"a":"evil"} and the body won
 * over the query. */
static void test_signed_json(void **state)
{
	static const char json[] = "{\"property\": \"value\", \"boolean\": true}";
	static const char hash[] =
	    "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
	const char *body;
	char sig[TP_SIG_LEN + 1], hdr[80], uri[256], url[320];
	(void)state;
	/* URL-only signature, JSON body without bodySHA256: refused. */
	tp_sig_compute("https://pay.example.com/pv/x?q=z", NULL, cfg.auth_token, sig);
	snprintf(hdr, sizeof hdr, "HTTP_X_TWILIO_SIGNATURE=%s", sig);
	assert_int_equal(run(&signed_h, "GET", "/pv/x?q=z", NULL, NULL, hdr, &body), 405);
	handler_calls = 0;
	assert_int_equal(
	    run(&signed_h, "POST", "/pv/x?q=z", "application/json", "{\"a\":\"evil\"}", hdr, &body),
	    403);
	assert_non_null(strstr(body, "\"code\":\"unsigned_body\""));
	assert_int_equal(handler_calls, 0);
	/* With bodySHA256 (the contract's vector): taken; a body that does
	 * not hash to it: refused. */
	snprintf(uri, sizeof uri, "/pv/x?q=z&bodySHA256=%s", hash);
	snprintf(url, sizeof url, "https://pay.example.com%s", uri);
	tp_sig_compute(url, NULL, cfg.auth_token, sig);
	snprintf(hdr, sizeof hdr, "HTTP_X_TWILIO_SIGNATURE=%s", sig);
	assert_int_equal(run(&signed_h, "POST", uri, "application/json", json, hdr, &body), 200);
	assert_int_equal(handler_calls, 1);
	assert_int_equal(
	    run(&signed_h, "POST", uri, "application/json", "{\"a\":\"evil\"}", hdr, &body), 403);
	assert_int_equal(handler_calls, 1);
}

/* A parameter in both the query string and the body is ambiguous: a 400
 * naming it, before any handler runs, signed or not. */
static void test_query_and_body_clash(void **state)
{
	const char *body;
	char sig[TP_SIG_LEN + 1], hdr[80];
	tp_params p;
	(void)state;
	tp_params_init(&p);
	tp_params_add(&p, "q", "y");
	tp_sig_compute("https://pay.example.com/pv/x?q=z", &p, cfg.auth_token, sig);
	snprintf(hdr, sizeof hdr, "HTTP_X_TWILIO_SIGNATURE=%s", sig);
	handler_calls = 0;
	assert_int_equal(run(&signed_h, "POST", "/pv/x?q=z", "application/x-www-form-urlencoded",
	                     "q=y", hdr, &body),
	                 400);
	assert_non_null(strstr(body, "\"code\":\"duplicate_parameter\""));
	assert_non_null(strstr(body, "q is given both in the query string and in the body"));
	assert_int_equal(
	    run(&open_h, "POST", "/x?a=1", "application/json", "{\"A\":\"2\"}", NULL, &body), 400);
	assert_non_null(strstr(body, "A is given both"));
	assert_int_equal(handler_calls, 0);
	assert_int_equal(
	    run(&open_h, "POST", "/x?q=1", "application/json", "{\"a\":\"2\"}", NULL, &body), 200);
	tp_params_free(&p);
}

static void test_method_and_media(void **state)
{
	const char *body;
	(void)state;
	assert_int_equal(run(&open_h, "GET", "/x", NULL, NULL, NULL, &body), 405);
	assert_non_null(strstr(body, "method GET is not allowed"));
	assert_int_equal(run(&open_h, "POST", "/x", "text/plain", "hello", NULL, &body), 415);
	assert_int_equal(
	    run(&open_h, "POST", "/x", "application/json", "{\"a\":\"j\"}", NULL, &body), 200);
	assert_non_null(strstr(body, "\"a\":\"j\""));
	assert_int_equal(run(&open_h, "POST", "/x", "application/json", "[1,2]", NULL, &body), 400);
	assert_int_equal(run(&open_h, "POST", "/x", "application/json", "{\"a\":", NULL, &body),
	                 400);
	assert_int_equal(
	    run(&open_h, "POST", "/x", "application/x-www-form-urlencoded", "a=%4", NULL, &body),
	    400);
	assert_non_null(strstr(body, "bad_form"));
	assert_int_equal(run(&open_h, "POST", "/x?q=%zz", NULL, NULL, NULL, &body), 400);
	assert_int_equal(run(&open_h, "POST", "/x",
	                     "Application/X-WWW-Form-Urlencoded; charset=utf-8", "a=b", NULL,
	                     &body),
	                 200);
}

static void test_body_cap(void **state)
{
	const char *body;
	(void)state;
	/* open_h caps at 32 bytes. */
	assert_int_equal(run(&open_h, "POST", "/x", "application/x-www-form-urlencoded",
	                     "a=0123456789012345678901234567890", NULL, &body),
	                 413);
	assert_non_null(strstr(body, "larger than 32 bytes"));
	assert_int_equal(run(&open_h, "POST", "/x", "application/x-www-form-urlencoded",
	                     "a=012345678901234567890123456789", NULL, &body),
	                 200);
}

/* read_body's outcomes as the client sees them: a CONTENT_LENGTH that is
 * not a number is a 400 (the handler never runs), one past the cap a 413
 * before any byte is read, a body shorter than announced is what came. */
static void test_body_length(void **state)
{
	static const struct {
		int line;
		const char *length, *body;
		int status;
		const char *code;
		int handled;
	} rows[] = {
	    {__LINE__, "CONTENT_LENGTH=3x", "a=b", 400, "\"bad_request\"", 0},
	    {__LINE__, "CONTENT_LENGTH=-1", "a=b", 400, "\"bad_request\"", 0},
	    {__LINE__, "CONTENT_LENGTH=99999999999999999999999", "a=b", 400, "\"bad_request\"", 0},
	    {__LINE__, "CONTENT_LENGTH=33", "a=b", 413, "\"payload_too_large\"", 0},
	    {__LINE__, "CONTENT_LENGTH=32", "a=b", 200, "\"a\":\"b\"", 1},
	    {__LINE__, "CONTENT_LENGTH=", "", 200, "\"a\":\"-\"", 1},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		const char *env[] = {rows[i].length,
		                     "REQUEST_METHOD=POST",
		                     "REQUEST_URI=/x",
		                     "DOCUMENT_URI=/x",
		                     "CONTENT_TYPE=application/x-www-form-urlencoded",
		                     NULL};
		tp_buf out;
		uint64_t st = 0;
		int before = handler_calls;

		tp_buf_init(&out, 1 << 20);
		tp_process_cgi(&open_h, &cfg, env, rows[i].body, strlen(rows[i].body), &out);
		tp_str_to_u64(out.ptr + 8, 3, 999, &st);
		if ((int)st != rows[i].status || !strstr(tp_buf_str(&out), rows[i].code) ||
		    handler_calls - before != rows[i].handled)
			ROW_FAIL(rows[i].line, "got %s\n", tp_buf_str(&out));
		tp_buf_free(&out);
	}
}

static void test_admin(void **state)
{
	const char *body;
	(void)state;
	assert_int_equal(run(&admin_h, "POST", "/x", NULL, NULL, NULL, &body), 401);
	assert_int_equal(
	    run(&admin_h, "POST", "/x", NULL, NULL, "HTTP_AUTHORIZATION=Bearer wrong", &body), 401);
	assert_int_equal(run(&admin_h, "POST", "/x", NULL, NULL,
	                     "HTTP_AUTHORIZATION=Bearer admin-token-0123456789", &body),
	                 200);
}

static void test_error_redacts(void **state)
{
	tp_resp r;
	(void)state;
	memset(&r, 0, sizeof r);
	tp_buf_init(&r.body, 4096);
	tp_params_init(&r.log);
	tp_reply_error(&r, 400, "bad", "card %s rejected", "4111111111111111");
	assert_null(strstr(r.body.ptr, "4111111111111111"));
	assert_non_null(strstr(r.body.ptr, "[card]"));
	tp_buf_free(&r.body);
	tp_params_free(&r.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signed_ok_and_forged),
	    cmocka_unit_test(test_signed_json),
	    cmocka_unit_test(test_query_and_body_clash),
	    cmocka_unit_test(test_method_and_media),
	    cmocka_unit_test(test_body_cap),
	    cmocka_unit_test(test_body_length),
	    cmocka_unit_test(test_admin),
	    cmocka_unit_test(test_error_redacts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
