/* JWT decode/verify (lib/jwt.c) and base64url.
 *
 * The first input byte picks what the rest is:
 *   0  a compact JWT as anyone could send it: verified with the key;
 *   1  header bytes \0 payload bytes, signed with the key as a JWT: it
 *      verifies exactly when the token is at most 8192 bytes, both parts
 *      are JSON objects and the header says "alg":"HS256" (no other alg,
 *      no "none"); on success the claims are the payload;
 *   2  base64url: decode(encode(x)) == x; decode of the raw bytes never
 *      accepts '+', '/' or '=';
 *   3  an Access Token identity: tp_access_token_sync verifies back and
 *      carries exactly that identity, the service and a 1 h lifetime. */
#include "fuzz.h"

#define KEY "fuzz-api-secret-0123456789abcdef"

static bool is_hs256_header(const cJSON *h)
{
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
	return cJSON_IsObject(h) && cJSON_IsString(alg) && strcmp(alg->valuestring, "HS256") == 0;
}

static void any_token(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	cJSON *h = NULL, *p = NULL;

	if (tp_jwt_verify_hs256(s, KEY, &h, &p) == TP_OK) {
		FUZZ_ASSERT(is_hs256_header(h) && cJSON_IsObject(p));
	} else {
		FUZZ_ASSERT(!h && !p);
	}
	cJSON_Delete(h);
	cJSON_Delete(p);
	FUZZ_ASSERT(tp_jwt_verify_hs256(s, "", &h, &p) == TP_EINVAL && !p);
	free(s);
}

static void signed_parts(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t hl = nul ? (size_t)(nul - data) : size;
	const uint8_t *pl = nul ? nul + 1 : data + size;
	size_t pll = size - hl - (nul ? 1 : 0);
	cJSON *hj = cJSON_ParseWithLength((const char *)data, hl);
	cJSON *pj = cJSON_ParseWithLength((const char *)pl, pll);
	cJSON *h = NULL, *p = NULL;
	unsigned char mac[32];
	tp_buf tok;
	bool want;
	tp_rc rc;

	tp_buf_init(&tok, 1u << 20);
	tp_b64url_encode(&tok, data, hl);
	tp_buf_addc(&tok, '.');
	tp_b64url_encode(&tok, pl, pll);
	tp_hmac_sha256(KEY, tok.ptr, tok.len, mac);
	tp_buf_addc(&tok, '.');
	tp_b64url_encode(&tok, mac, sizeof mac);
	want = tok.len <= 8192 && is_hs256_header(hj) && cJSON_IsObject(pj);
	rc = tp_jwt_verify_hs256(tp_buf_str(&tok), KEY, &h, &p);
	FUZZ_ASSERT((rc == TP_OK) == want);
	if (rc == TP_OK) {
		char *a = cJSON_PrintUnformatted(p), *b = cJSON_PrintUnformatted(pj);
		FUZZ_ASSERT(strcmp(a, b) == 0);
		free(a);
		free(b);
	}
	cJSON_Delete(h);
	cJSON_Delete(p);
	/* The same token under another key never verifies. */
	FUZZ_ASSERT(tp_jwt_verify_hs256(tp_buf_str(&tok), KEY "x", NULL, &p) != TP_OK && !p);
	cJSON_Delete(hj);
	cJSON_Delete(pj);
	tp_buf_free(&tok);
}

static void b64url(const uint8_t *data, size_t size)
{
	tp_buf enc, dec;
	tp_rc rc;

	tp_buf_init(&enc, 1u << 20);
	tp_buf_init(&dec, 1u << 20);
	FUZZ_ASSERT(tp_b64url_encode(&enc, data, size) == TP_OK);
	FUZZ_ASSERT(!memchr(tp_buf_str(&enc), '+', enc.len) &&
	            !memchr(tp_buf_str(&enc), '/', enc.len) &&
	            !memchr(tp_buf_str(&enc), '=', enc.len));
	FUZZ_ASSERT(tp_b64url_decode(&dec, tp_buf_str(&enc), enc.len) == TP_OK);
	FUZZ_ASSERT(dec.len == size && (size == 0 || memcmp(dec.ptr, data, size) == 0));
	tp_buf_reset(&dec);
	rc = tp_b64url_decode(&dec, (const char *)data, size);
	if (memchr(data, '+', size) || memchr(data, '/', size) || memchr(data, '=', size))
		FUZZ_ASSERT(rc == TP_EINVAL);
	tp_buf_free(&enc);
	tp_buf_free(&dec);
}

static void access_token(const uint8_t *data, size_t size)
{
	char *id = fuzz_cstr(data, size);
	tp_access_token_req r = {
	    .account_sid = "AC0123456789abcdef0123456789abcdef",
	    .api_key = "SK0123456789abcdef0123456789abcdef",
	    .api_secret = KEY,
	    .service_sid = "IS0123456789abcdef0123456789abcdef",
	    .identity = id,
	    .iat = 1795000000,
	    .ttl_s = TP_ACCESS_TOKEN_TTL_S,
	};
	tp_buf tok;
	cJSON *h = NULL, *p = NULL;
	tp_rc rc;

	tp_buf_init(&tok, 1u << 20);
	rc = tp_access_token_sync(&tok, &r);
	if (!*id) {
		FUZZ_ASSERT(rc == TP_EINVAL);
	} else if (rc == TP_OK) {
		const cJSON *g, *exp;
		FUZZ_ASSERT(tp_jwt_verify_hs256(tp_buf_str(&tok), KEY, &h, &p) == TP_OK ||
		            tok.len > 8192);
		if (p) {
			g = cJSON_GetObjectItemCaseSensitive(p, "grants");
			FUZZ_ASSERT(tp_str_eq(
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "identity")),
			    id));
			FUZZ_ASSERT(tp_str_eq(
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			        cJSON_GetObjectItemCaseSensitive(g, "data_sync"), "service_sid")),
			    r.service_sid));
			exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
			FUZZ_ASSERT(cJSON_IsNumber(exp) && exp->valuedouble == 1795000000.0 + 3600);
			FUZZ_ASSERT(tp_str_eq(
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "cty")),
			    "twilio-fpa;v=1"));
		}
	}
	cJSON_Delete(h);
	cJSON_Delete(p);
	tp_buf_free(&tok);
	free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		any_token(data + 1, size - 1);
		break;
	case 1:
		signed_parts(data + 1, size - 1);
		break;
	case 2:
		b64url(data + 1, size - 1);
		break;
	case 3:
		access_token(data + 1, size - 1);
		break;
	}
	return 0;
}
