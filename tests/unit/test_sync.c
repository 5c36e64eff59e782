/* Unit tests for lib/sync.c against a scripted Sync: the URL of each
 * resource (keys percent-encoded, so a key cannot climb out of its map),
 * the form fields Twilio reads (Key only on create, Data, Ttl, If-Match),
 * the upsert (a second request only after "already exists"), services
 * created with access control, and map permissions always naming all
 * three rights. */
#include "script_server.h"

#define IS "IS0123456789abcdef0123456789abcdef"

static tp_config cfg;

static int setup(void **state)
{
	(void)state;
	ss_start();
	memset(&cfg, 0, sizeof cfg);
	cfg.account_sid = tp_xstrdup("AC00000000000000000000000000000001");
	cfg.auth_token = tp_xstrdup("token0token0token0token0token0aa");
	cfg.twilio_api_url = tp_xstrdup(ss_url());
	cfg.twilio_sync_url = tp_xstrdup(ss_url());
	cfg.api_retry_budget_ms = 3000;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ss_stop();
	free(cfg.account_sid);
	free(cfg.auth_token);
	free(cfg.twilio_api_url);
	free(cfg.twilio_sync_url);
	return 0;
}

/* The request line of request i starts with `want`. */
static void request_line(int i, const char *want)
{
	if (strncmp(ss_request(i), want, strlen(want)) != 0)
		fail_msg("request %d: expected \"%s\", got \"%.120s\"", i, want, ss_request(i));
}

static void test_item_urls(void **state)
{
	static const ss_step s[] = {{200, "{}", NULL, 0}, {204, "", NULL, 0}};
	tp_api_result r;
	(void)state;
	ss_script(s, 2);
	/* A key with a slash, a blank and "..": one path segment. */
	assert_true(tp_sync_item_fetch(&cfg, IS, "uuiMap", "../a b/c", &r));
	tp_api_result_free(&r);
	request_line(0, "GET /v1/Services/" IS "/Maps/uuiMap/Items/..%2Fa%20b%2Fc HTTP/1.1");
	assert_true(tp_sync_item_delete(&cfg, IS, "payMap", "PK1", &r));
	tp_api_result_free(&r);
	request_line(1, "DELETE /v1/Services/" IS "/Maps/payMap/Items/PK1 HTTP/1.1");
}

static void test_create_and_update_forms(void **state)
{
	static const ss_step s[] = {
	    {201, "{}", NULL, 0}, {200, "{}", NULL, 0}, {200, "{}", NULL, 0}};
	cJSON *data = cJSON_Parse("{\"pstnSid\":\"CA1\"}");
	tp_api_result r;
	(void)state;
	ss_script(s, 3);
	assert_true(tp_sync_item_create(&cfg, IS, "uuiMap", "k1", data, 43200, &r));
	tp_api_result_free(&r);
	request_line(0, "POST /v1/Services/" IS "/Maps/uuiMap/Items HTTP/1.1");
	assert_string_equal(ss_body(0), "Key=k1&Data=%7B%22pstnSid%22%3A%22CA1%22%7D&Ttl=43200");
	/* An update names the item in the URL, not in a Key field; a
	 * negative TTL leaves it as it is; If-Match when given. */
	assert_true(tp_sync_item_update(&cfg, IS, "uuiMap", "k1", data, -1, "5", &r));
	tp_api_result_free(&r);
	request_line(1, "POST /v1/Services/" IS "/Maps/uuiMap/Items/k1 HTTP/1.1");
	assert_string_equal(ss_body(1), "Data=%7B%22pstnSid%22%3A%22CA1%22%7D");
	assert_non_null(strstr(ss_request(1), "If-Match: 5\r\n"));
	assert_true(tp_sync_item_update(&cfg, IS, "uuiMap", "k1", data, 0, NULL, &r));
	tp_api_result_free(&r);
	assert_null(strstr(ss_request(2), "If-Match"));
	assert_string_equal(ss_body(2), "Data=%7B%22pstnSid%22%3A%22CA1%22%7D&Ttl=0");
	cJSON_Delete(data);
}

static void test_upsert(void **state)
{
	static const ss_step exists[] = {
	    {409, "{\"code\":54208,\"message\":\"Item already exists\",\"status\":409}", NULL, 0},
	    {200, "{\"revision\":\"2\"}", NULL, 0}};
	static const ss_step refused[] = {
	    {403, "{\"code\":20003,\"message\":\"Authenticate\",\"status\":403}", NULL, 0},
	    {200, "{}", NULL, 0}};
	cJSON *data = cJSON_Parse("{\"a\":1}");
	tp_api_result r;
	(void)state;
	/* Created elsewhere first: the same data goes to the item itself. */
	ss_script(exists, 2);
	assert_true(tp_sync_item_upsert(&cfg, IS, "payMap", "CA1", data, 60, &r));
	tp_api_result_free(&r);
	assert_int_equal(ss_served, 2);
	request_line(1, "POST /v1/Services/" IS "/Maps/payMap/Items/CA1 HTTP/1.1");
	assert_string_equal(ss_body(1), "Data=%7B%22a%22%3A1%7D&Ttl=60");
	/* Any other refusal is the answer: no second request. */
	ss_script(refused, 2);
	assert_false(tp_sync_item_upsert(&cfg, IS, "payMap", "CA1", data, 60, &r));
	assert_int_equal(r.err.status, 403);
	assert_int_equal(r.err.code, 20003);
	tp_api_result_free(&r);
	assert_int_equal(ss_served, 1);
	cJSON_Delete(data);
}

static void test_services_and_maps(void **state)
{
	static const ss_step s[] = {{200, "{\"services\":[]}", NULL, 0},
	                            {201, "{}", NULL, 0},
	                            {201, "{}", NULL, 0},
	                            {200, "{}", NULL, 0},
	                            {200, "{}", NULL, 0}};
	tp_api_result r;
	tp_sync_service_match m;
	(void)state;
	ss_script(s, 5);
	assert_true(tp_sync_service_find(&cfg, "Genesys Pay", &m, &r));
	tp_api_result_free(&r);
	assert_int_equal(m.matches, 0);
	assert_string_equal(m.sid, "");
	request_line(0, "GET /v1/Services?PageSize=100 HTTP/1.1");
	/* Always with access control: without it any token reads every map. */
	assert_true(tp_sync_service_create(&cfg, "Genesys Pay", &r));
	tp_api_result_free(&r);
	request_line(1, "POST /v1/Services HTTP/1.1");
	assert_string_equal(ss_body(1), "FriendlyName=Genesys%20Pay&AclEnabled=true");
	assert_true(tp_sync_map_create(&cfg, IS, "payMap", &r));
	tp_api_result_free(&r);
	request_line(2, "POST /v1/Services/" IS "/Maps HTTP/1.1");
	assert_string_equal(ss_body(2), "UniqueName=payMap");
	assert_true(tp_sync_map_fetch(&cfg, IS, "payMap", &r));
	tp_api_result_free(&r);
	request_line(3, "GET /v1/Services/" IS "/Maps/payMap HTTP/1.1");
	/* Read only: the other two said false, not left out. */
	assert_true(
	    tp_sync_map_permission_set(&cfg, IS, "payMap", "agent one", true, false, false, &r));
	tp_api_result_free(&r);
	request_line(4, "POST /v1/Services/" IS "/Maps/payMap/Permissions/agent%20one HTTP/1.1");
	assert_string_equal(ss_body(4), "Read=true&Write=false&Manage=false");
}

static void test_not_found(void **state)
{
	static const ss_step s[] = {
	    {404, "{\"code\":20404,\"message\":\"The requested resource was not found\"}", NULL,
	     0}};
	tp_api_result r;
	(void)state;
	ss_script(s, 1);
	assert_false(tp_sync_item_fetch(&cfg, IS, "payMap", "PK404", &r));
	assert_int_equal(r.err.status, 404);
	assert_int_equal(r.err.code, 20404);
	/* Not retried: a 404 is an answer. */
	assert_int_equal(ss_served, 1);
	tp_api_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_item_urls), cmocka_unit_test(test_create_and_update_forms),
	    cmocka_unit_test(test_upsert),    cmocka_unit_test(test_services_and_maps),
	    cmocka_unit_test(test_not_found),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
