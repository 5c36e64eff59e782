/* Unit tests for lib/jwt.c: HS256 JWTs and Twilio Access Tokens. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unit.h"

#define SECRET "fixture0api0secret00000000000000"
#define AK     "SK0123456789abcdef0123456789abcdef"
#define AC     "AC00000000000000000000000000000001"
#define IS     "IS00000000000000000000000000000001"

/* Computed independently (Python hmac/hashlib/base64/json, compact
 * separators, the field order of twilio-node's AccessToken). */
static const char vector[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0."
    "eyJqdGkiOiJTSzAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmLTE3MzU2ODk2MDAiLCJncmFudHMiOnsia"
    "WRlbnRpdHkiOiJhZ2VudC03IiwiZGF0YV9zeW5jIjp7InNlcnZpY2Vfc2lkIjoiSVMwMDAwMDAwMDAwMDAwMDAwMD"
    "AwMDAwMDAwMDAwMDAwMSJ9fSwiaWF0IjoxNzM1Njg5NjAwLCJleHAiOjE3MzU2OTMyMDAsImlzcyI6IlNLMDEyMzQ"
    "1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYiLCJzdWIiOiJBQzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"
    "MDAxIn0.ef8nP8a41qz1RvyIDgcwzpfruqrVg349f_A_MvnnjFo";

static tp_access_token_req base_req(void)
{
	tp_access_token_req r = {AC, AK, SECRET, IS, "agent-7", 1735689600, 3600};
	return r;
}

static void test_access_token_vector(void **state)
{
	tp_access_token_req r = base_req();
	tp_buf out;
	(void)state;

	tp_buf_init(&out, 8192);
	assert_int_equal(tp_access_token_sync(&out, &r), TP_OK);
	assert_string_equal(out.ptr, vector);
	tp_buf_free(&out);
}

/* Decodes our own token and checks every field exactly, and the
 * signature with OpenSSL directly (not through tp_jwt_verify_hs256). */
static void test_access_token_fields(void **state)
{
	tp_access_token_req r = base_req();
	tp_buf out, sig;
	cJSON *h = NULL, *p = NULL;
	const cJSON *g, *ds;
	const char *dot2;
	unsigned char mac[32];
	unsigned int n = sizeof mac;
	(void)state;

	r.identity = "CAabc";
	r.iat = 1800000000;
	tp_buf_init(&out, 8192);
	tp_buf_init(&sig, 64);
	assert_int_equal(tp_access_token_sync(&out, &r), TP_OK);
	assert_null(strchr(out.ptr, '='));
	assert_int_equal(tp_jwt_verify_hs256(out.ptr, SECRET, &h, &p), TP_OK);
	assert_string_equal(cJSON_GetObjectItem(h, "alg")->valuestring, "HS256");
	assert_string_equal(cJSON_GetObjectItem(h, "typ")->valuestring, "JWT");
	assert_string_equal(cJSON_GetObjectItem(h, "cty")->valuestring, "twilio-fpa;v=1");
	assert_int_equal(cJSON_GetArraySize(h), 3);
	assert_string_equal(cJSON_GetObjectItem(p, "jti")->valuestring, AK "-1800000000");
	assert_string_equal(cJSON_GetObjectItem(p, "iss")->valuestring, AK);
	assert_string_equal(cJSON_GetObjectItem(p, "sub")->valuestring, AC);
	assert_true(cJSON_GetObjectItem(p, "iat")->valuedouble == 1800000000.0);
	assert_true(cJSON_GetObjectItem(p, "exp")->valuedouble == 1800003600.0);
	g = cJSON_GetObjectItem(p, "grants");
	assert_string_equal(cJSON_GetObjectItem(g, "identity")->valuestring, "CAabc");
	ds = cJSON_GetObjectItem(g, "data_sync");
	assert_string_equal(cJSON_GetObjectItem(ds, "service_sid")->valuestring, IS);
	assert_int_equal(cJSON_GetArraySize(ds), 1);
	assert_int_equal(cJSON_GetArraySize(p), 6);

	dot2 = strrchr(out.ptr, '.');
	assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)out.ptr,
	                     (size_t)(dot2 - out.ptr), mac, &n));
	assert_int_equal(tp_b64url_decode(&sig, dot2 + 1, strlen(dot2 + 1)), TP_OK);
	assert_int_equal(sig.len, 32);
	assert_memory_equal(sig.ptr, mac, 32);
	cJSON_Delete(h);
	cJSON_Delete(p);
	tp_buf_free(&out);
	tp_buf_free(&sig);
}

static void test_access_token_rejects(void **state)
{
	tp_access_token_req r;
	tp_buf out;
	(void)state;

	tp_buf_init(&out, 8192);
	r = base_req();
	r.api_secret = NULL;
	assert_int_equal(tp_access_token_sync(&out, &r), TP_EINVAL);
	r = base_req();
	r.identity = "";
	assert_int_equal(tp_access_token_sync(&out, &r), TP_EINVAL);
	r = base_req();
	r.ttl_s = 86401; /* Twilio: at most 24 h */
	assert_int_equal(tp_access_token_sync(&out, &r), TP_EINVAL);
	r = base_req();
	r.ttl_s = 0;
	assert_int_equal(tp_access_token_sync(&out, &r), TP_EINVAL);
	assert_int_equal(out.len, 0);
	tp_buf_free(&out);
}

static void test_verify_rejects(void **state)
{
	cJSON *p = NULL, *h = cJSON_CreateObject(), *pl = cJSON_CreateObject();
	tp_buf t, bad;
	(void)state;

	tp_buf_init(&t, 8192);
	tp_buf_init(&bad, 8192);
	assert_int_equal(tp_jwt_verify_hs256(vector, SECRET, NULL, &p), TP_OK);
	cJSON_Delete(p);
	p = NULL;
	/* Wrong key. */
	assert_int_equal(tp_jwt_verify_hs256(vector, "another-secret-000000000000", NULL, &p),
	                 TP_EINVAL);
	assert_null(p);
	/* One byte of the payload changed. */
	tp_buf_adds(&bad, vector);
	bad.ptr[80] = bad.ptr[80] == 'A' ? 'B' : 'A';
	assert_int_equal(tp_jwt_verify_hs256(bad.ptr, SECRET, NULL, &p), TP_EINVAL);
	/* Signature cut short / extra segment / no segments. */
	tp_buf_reset(&bad);
	tp_buf_add(&bad, vector, strlen(vector) - 2);
	assert_int_equal(tp_jwt_verify_hs256(bad.ptr, SECRET, NULL, &p), TP_EINVAL);
	tp_buf_reset(&bad);
	tp_buf_addf(&bad, "%s.xx", vector);
	assert_int_equal(tp_jwt_verify_hs256(bad.ptr, SECRET, NULL, &p), TP_EINVAL);
	assert_int_equal(tp_jwt_verify_hs256("abc", SECRET, NULL, &p), TP_EINVAL);
	assert_int_equal(tp_jwt_verify_hs256("", SECRET, NULL, &p), TP_EINVAL);
	/* "alg":"none" even with a correct MAC: never accepted. */
	cJSON_AddStringToObject(h, "alg", "none");
	cJSON_AddStringToObject(pl, "sub", "x");
	assert_int_equal(tp_jwt_sign_hs256(&t, h, pl, SECRET), TP_OK);
	assert_int_equal(tp_jwt_verify_hs256(t.ptr, SECRET, NULL, &p), TP_EINVAL);
	assert_null(p);
	cJSON_Delete(h);
	cJSON_Delete(pl);
	tp_buf_free(&t);
	tp_buf_free(&bad);
}

static void test_b64url(void **state)
{
	static const struct {
		int line;
		const char *in;
		tp_rc rc;
		const char *out;
	} rows[] = {
	    {__LINE__, "", TP_OK, ""},
	    {__LINE__, "Zg", TP_OK, "f"},
	    {__LINE__, "Zm8", TP_OK, "fo"},
	    {__LINE__, "Zm9v", TP_OK, "foo"},
	    {__LINE__, "-_8", TP_OK, "\xfb\xff"},
	    {__LINE__, "+_8", TP_EINVAL, NULL}, /* standard alphabet is not base64url */
	    {__LINE__, "Zg==", TP_EINVAL, NULL},
	    {__LINE__, "Z", TP_EINVAL, NULL},
	    {__LINE__, "Zm9v!", TP_EINVAL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_buf b;
		tp_rc rc;
		tp_buf_init(&b, 100);
		rc = tp_b64url_decode(&b, rows[i].in, strlen(rows[i].in));
		if (rc != rows[i].rc)
			ROW_FAIL(rows[i].line, "rc %d want %d\n", rc, rows[i].rc);
		if (rows[i].out && strcmp(tp_buf_str(&b), rows[i].out) != 0)
			ROW_FAIL(rows[i].line, "got \"%s\"\n", tp_buf_str(&b));
		tp_buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_access_token_vector),
	    cmocka_unit_test(test_access_token_fields),
	    cmocka_unit_test(test_access_token_rejects),
	    cmocka_unit_test(test_verify_rejects),
	    cmocka_unit_test(test_b64url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
