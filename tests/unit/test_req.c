/* Unit tests for lib/req.c: where a parameter comes from (the body wins
 * over the query string), who gets JSON and who HTML, the error body every
 * handler answers with (JSON, the code, a card number never echoed), the
 * response cap (never half a body), and the ...OrReply helpers' 400s. */
#include "unit.h"

static void req_new(tp_req *q, const char *body, const char *query)
{
	memset(q, 0, sizeof *q);
	tp_params_init(&q->body_params);
	tp_params_init(&q->query_params);
	if (body)
		assert_int_equal(tp_form_parse(&q->body_params, body, strlen(body)), TP_OK);
	if (query)
		assert_int_equal(tp_form_parse(&q->query_params, query, strlen(query)), TP_OK);
}

static void req_free(tp_req *q)
{
	tp_params_free(&q->body_params);
	tp_params_free(&q->query_params);
}

/* A response whose body holds at most max bytes. */
static void resp_new(tp_resp *r, size_t max)
{
	tp_resp_init(r);
	tp_buf_free(&r->body);
	tp_buf_init(&r->body, max);
}

/* The response body as JSON; the caller frees it. */
static cJSON *body_json(const tp_resp *r)
{
	cJSON *j = cJSON_Parse(tp_buf_str(&r->body));
	if (!j)
		fail_msg("the body is not JSON: %s", tp_buf_str(&r->body));
	return j;
}

static const char *jstr(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	return cJSON_IsString(v) ? v->valuestring : "(none)";
}

static void test_param_body_first(void **state)
{
	tp_req q;
	(void)state;
	req_new(&q, "callSid=CAbody&amount=1.00", "callSid=CAquery&currency=EUR");
	assert_string_equal(tp_req_param(&q, "callSid"), "CAbody");
	assert_string_equal(tp_req_param(&q, "currency"), "EUR");
	assert_string_equal(tp_req_param(&q, "amount"), "1.00");
	assert_null(tp_req_param(&q, "missing"));
	/* Names are matched exactly. */
	assert_null(tp_req_param(&q, "callsid"));
	req_free(&q);
}

static void test_wants_json(void **state)
{
	static const struct {
		int line;
		const char *accept; /* NULL: no header */
		bool json;
	} rows[] = {
	    {__LINE__, NULL, true},
	    {__LINE__, "", true},
	    {__LINE__, "*/*", true},
	    {__LINE__, "application/json", true},
	    {__LINE__, "text/html", false},
	    /* A browser's navigation. */
	    {__LINE__, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
	    /* fetch() asking for JSON first. */
	    {__LINE__, "application/json, text/html;q=0.5", true},
	    {__LINE__, "text/html, application/json", false},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_req q;
		memset(&q, 0, sizeof q);
		q.h_accept = rows[i].accept;
		if (tp_req_wants_json(&q) != rows[i].json)
			ROW_FAIL(rows[i].line, "Accept \"%s\": expected %s\n",
			         rows[i].accept ? rows[i].accept : "(none)",
			         rows[i].json ? "JSON" : "HTML");
	}
}

static void test_reply_error(void **state)
{
	tp_resp r;
	cJSON *j;
	(void)state;
	resp_new(&r, 1u << 20);
	tp_reply_error(&r, TP_S_BAD_REQUEST, "invalid_parameter", "chargeAmount %s is not %s",
	               "12,5", "an amount");
	assert_int_equal(r.status, 400);
	assert_string_equal(r.content_type, "application/json");
	j = body_json(&r);
	assert_string_equal(jstr(j, "error"), "chargeAmount 12,5 is not an amount");
	assert_string_equal(jstr(j, "code"), "invalid_parameter");
	cJSON_Delete(j);
	/* The log line gets the same message. */
	assert_string_equal(tp_params_get(&r.log, "error"), "chargeAmount 12,5 is not an amount");
	/* A card number in a message (say, a value echoed back) never
	 * reaches the body or the log. */
	tp_reply_error(&r, TP_S_BAD_REQUEST, "invalid_parameter", "bad value %s",
	               "4111111111111111");
	assert_null(strstr(tp_buf_str(&r.body), "4111111111111111"));
	assert_null(strstr(tp_buf_str(&r.body), "41111111"));
	j = body_json(&r);
	assert_string_equal(jstr(j, "code"), "invalid_parameter");
	cJSON_Delete(j);
	assert_null(strstr(tp_params_get(&r.log, "error"), "4111111111111111"));
	/* Quotes and control characters stay inside the JSON string. */
	tp_reply_error(&r, TP_S_BAD_REQUEST, "x", "a \"quoted\"\n\\value");
	j = body_json(&r);
	assert_string_equal(jstr(j, "error"), "a \"quoted\"\n\\value");
	cJSON_Delete(j);
	tp_resp_free(&r);
}

static void test_body_over_cap(void **state)
{
	tp_resp r;
	char big[300];
	cJSON *j;
	(void)state;
	resp_new(&r, 256);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	/* Within the cap: as given. */
	tp_reply_text(&r, 200, "short");
	assert_int_equal(r.status, 200);
	assert_string_equal(tp_buf_str(&r.body), "short");
	/* Over it: a 500 saying so, never a cut body with the 200. */
	tp_reply_xml(&r, 200, big);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.content_type, "application/json");
	j = body_json(&r);
	assert_string_equal(jstr(j, "error"), "response too large");
	cJSON_Delete(j);
	tp_resp_free(&r);
}

static void test_reply_types(void **state)
{
	tp_resp r;
	cJSON *o = cJSON_CreateObject();
	(void)state;
	resp_new(&r, 1u << 20);
	tp_reply_xml(&r, 200, "<Response/>");
	assert_string_equal(r.content_type, "text/xml; charset=utf-8");
	tp_reply_html(&r, 200, "<p>");
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	cJSON_AddStringToObject(o, "a", "b");
	tp_reply_json(&r, 201, o);
	assert_int_equal(r.status, 201);
	assert_string_equal(tp_buf_str(&r.body), "{\"a\":\"b\"}");
	cJSON_Delete(o);
	tp_resp_header(&r, "Retry-After", "1");
	assert_int_equal(r.nheaders, 1);
	assert_string_equal(r.headers[0], "Retry-After: 1");
	tp_resp_free(&r);
}

static void test_require_or_reply(void **state)
{
	static const struct {
		int line;
		const char *body;
		const char *prefix;
		int status; /* 0: accepted */
		const char *code, *error;
	} rows[] = {
	    {__LINE__, "callSid=CA0123456789abcdef0123456789abcdef", "CA", 0, NULL, NULL},
	    {__LINE__, "", "CA", 400, "missing_parameter", "callSid is required"},
	    {__LINE__, "callSid=", "CA", 400, "missing_parameter", "callSid is required"},
	    {__LINE__, "callSid=PK0123456789abcdef0123456789abcdef", "CA", 400, "invalid_parameter",
	     "callSid must be a CA SID: CA followed by 32 hex digits"},
	    /* One digit short, one too many, not hex. */
	    {__LINE__, "callSid=CA0123456789abcdef0123456789abcde", "CA", 400, "invalid_parameter",
	     NULL},
	    {__LINE__, "callSid=CA0123456789abcdef0123456789abcdef0", "CA", 400,
	     "invalid_parameter", NULL},
	    {__LINE__, "callSid=CA0123456789abcdef0123456789abcdeg", "CA", 400, "invalid_parameter",
	     NULL},
	    /* Any Twilio SID when no prefix is asked for. */
	    {__LINE__, "callSid=PK0123456789abcdef0123456789abcdef", NULL, 0, NULL, NULL},
	    {__LINE__, "callSid=x", NULL, 400, "invalid_parameter",
	     "callSid must be a Twilio SID: two letters followed by 32 hex digits"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_req q;
		tp_resp r;
		const char *v;
		req_new(&q, rows[i].body, NULL);
		resp_new(&r, 1u << 20);
		v = tp_req_require_sid_or_reply(&q, &r, "callSid", rows[i].prefix);
		if (!rows[i].status) {
			if (!v || r.status)
				ROW_FAIL(rows[i].line, "refused: %d %s\n", r.status,
				         tp_buf_str(&r.body));
		} else {
			cJSON *j;
			if (v || r.status != rows[i].status)
				ROW_FAIL(rows[i].line, "expected %d, got %d\n", rows[i].status,
				         r.status);
			j = body_json(&r);
			if (strcmp(jstr(j, "code"), rows[i].code) != 0 ||
			    (rows[i].error && strcmp(jstr(j, "error"), rows[i].error) != 0))
				ROW_FAIL(rows[i].line, "body %s\n", tp_buf_str(&r.body));
			cJSON_Delete(j);
		}
		tp_resp_free(&r);
		req_free(&q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_param_body_first), cmocka_unit_test(test_wants_json),
	    cmocka_unit_test(test_reply_error),      cmocka_unit_test(test_body_over_cap),
	    cmocka_unit_test(test_reply_types),      cmocka_unit_test(test_require_or_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
