/*
 * jwt.c - JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, RFC 7515
 * section 3.1 compact serialisation) and the Twilio Access Token built on
 * them (twilio-contract.md section 10).
 *
 * Only HS256 is produced or accepted: Twilio's error pages say Access
 * Tokens must use it, and accepting whatever "alg" a token names is the
 * classic JWT downgrade ("alg":"none").  Verification compares the MAC in
 * constant time (CRYPTO_memcmp) before the payload is even parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "internal.h"

#define JWT_MAX_LEN 8192 /* far above any token we issue or accept */

void tp_hmac_sha256(const char *key, const void *msg, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	if (!HMAC(EVP_sha256(), key, (int)strlen(key), msg, len, out, &n))
		abort(); /* only fails on OOM: policy in twiliopay.h */
}

tp_rc tp_b64url_decode(tp_buf *out, const char *s, size_t len)
{
	tp_buf std;
	size_t i;
	tp_rc rc;

	/* Re-alphabet to standard base64; padding is optional there. */
	tp_buf_init(&std, len + 4);
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+' || c == '/' || c == '=') {
			tp_buf_free(&std);
			return TP_EINVAL;
		}
		tp_buf_addc(&std, c == '-' ? '+' : c == '_' ? '/' : c);
	}
	rc = tp_b64_decode(out, tp_buf_str(&std), std.len);
	tp_buf_free(&std);
	return rc;
}

/* b64url(json) appended to out. */
static void add_json_segment(tp_buf *out, const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	tp_b64url_encode(out, s, strlen(s));
	free(s);
}

tp_rc tp_jwt_sign_hs256(tp_buf *out, const cJSON *header, const cJSON *payload, const char *key)
{
	unsigned char mac[32];
	tp_buf in;
	tp_rc rc;

	if (!key || !*key || !cJSON_IsObject(header) || !cJSON_IsObject(payload))
		return TP_EINVAL;
	tp_buf_init(&in, JWT_MAX_LEN);
	add_json_segment(&in, header);
	tp_buf_addc(&in, '.');
	add_json_segment(&in, payload);
	if (!in.ptr) {
		tp_buf_free(&in);
		return TP_ETOOBIG;
	}
	tp_hmac_sha256(key, in.ptr, in.len, mac);
	rc = tp_buf_add(out, in.ptr, in.len);
	if (rc == TP_OK)
		rc = tp_buf_addc(out, '.');
	if (rc == TP_OK)
		rc = tp_b64url_encode(out, mac, sizeof mac);
	tp_buf_free(&in);
	return rc;
}

/* Decodes one base64url JSON object segment. */
static cJSON *decode_segment(const char *s, size_t len)
{
	tp_buf raw;
	cJSON *j = NULL;

	tp_buf_init(&raw, JWT_MAX_LEN);
	if (tp_b64url_decode(&raw, s, len) == TP_OK && raw.ptr)
		j = cJSON_ParseWithLength(raw.ptr, raw.len);
	tp_buf_free(&raw);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

tp_rc tp_jwt_verify_hs256(const char *token, const char *key, cJSON **header, cJSON **payload)
{
	const char *dot1, *dot2;
	size_t len;
	unsigned char mac[32];
	tp_buf got;
	cJSON *h = NULL, *p = NULL;
	tp_rc rc = TP_EINVAL;

	*payload = NULL;
	if (header)
		*header = NULL;
	if (!token || !key || !*key)
		return TP_EINVAL;
	len = strlen(token);
	if (len > JWT_MAX_LEN)
		return TP_EINVAL;
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
		return TP_EINVAL;

	tp_buf_init(&got, 64);
	if (tp_b64url_decode(&got, dot2 + 1, len - (size_t)(dot2 + 1 - token)) != TP_OK ||
	    got.len != sizeof mac)
		goto out;
	tp_hmac_sha256(key, token, (size_t)(dot2 - token), mac);
	if (CRYPTO_memcmp(mac, got.ptr, sizeof mac) != 0)
		goto out;
	h = decode_segment(token, (size_t)(dot1 - token));
	p = decode_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!h || !p)
		goto out;
	{
		const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
		if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
			goto out;
	}
	rc = TP_OK;
out:
	tp_buf_free(&got);
	if (rc == TP_OK) {
		*payload = p;
		if (header)
			*header = h;
		else
			cJSON_Delete(h);
	} else {
		cJSON_Delete(h);
		cJSON_Delete(p);
	}
	return rc;
}

tp_rc tp_access_token_sync(tp_buf *out, const tp_access_token_req *r)
{
	cJSON *hdr, *pl, *grants, *sync;
	char jti[96];
	tp_rc rc;

	if (!r->account_sid || !r->api_key || !r->api_secret || !r->service_sid || !r->identity ||
	    !*r->identity || r->ttl_s <= 0 || r->ttl_s > TP_ACCESS_TOKEN_MAX_TTL_S)
		return TP_EINVAL;
	hdr = cJSON_CreateObject();
	cJSON_AddStringToObject(hdr, "alg", "HS256");
	cJSON_AddStringToObject(hdr, "typ", "JWT");
	/* "cty": twilio-node AccessToken.ts; Twilio rejects tokens without
	 * it (error 20101 family). */
	cJSON_AddStringToObject(hdr, "cty", "twilio-fpa;v=1");

	pl = cJSON_CreateObject();
	snprintf(jti, sizeof jti, "%s-%lld", r->api_key, (long long)r->iat);
	cJSON_AddStringToObject(pl, "jti", jti);
	grants = cJSON_AddObjectToObject(pl, "grants");
	cJSON_AddStringToObject(grants, "identity", r->identity);
	sync = cJSON_AddObjectToObject(grants, "data_sync");
	cJSON_AddStringToObject(sync, "service_sid", r->service_sid);
	cJSON_AddNumberToObject(pl, "iat", (double)r->iat);
	cJSON_AddNumberToObject(pl, "exp", (double)(r->iat + r->ttl_s));
	cJSON_AddStringToObject(pl, "iss", r->api_key);
	cJSON_AddStringToObject(pl, "sub", r->account_sid);

	rc = tp_jwt_sign_hs256(out, hdr, pl, r->api_secret);
	cJSON_Delete(hdr);
	cJSON_Delete(pl);
	return rc;
}
