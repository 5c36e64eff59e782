/*
 * sig.c - X-Twilio-Signature (twilio-contract.md section 9; twilio-node
 * src/webhooks/webhooks.ts, getExpectedTwilioSignature / validateRequest).
 *
 * data = URL, then for every form parameter name in byte order, each of its
 * distinct values in byte order as name+value; signature =
 * base64(HMAC-SHA1(auth_token, data)).  Query parameters are part of the
 * URL and are not appended again.
 *
 * Ports: Twilio does not sign consistently with or without the port, so
 * validation tries the URL as given, without its port, and with the
 * scheme's default port added, like twilio-node's addPort/removePort.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "internal.h"

typedef struct pair_ref {
	const char *name;
	const char *value;
} pair_ref;

static int cmp_pair(const void *a, const void *b)
{
	const pair_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static void sign_data(const char *data, size_t len, const char *token, char out[TP_SIG_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	tp_buf b;

	HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)data, len, mac, &maclen);
	tp_buf_init(&b, TP_SIG_LEN);
	if (tp_b64_encode(&b, mac, maclen) == TP_OK && b.len == TP_SIG_LEN)
		memcpy(out, b.ptr, TP_SIG_LEN + 1);
	else
		out[0] = '\0';
	tp_buf_free(&b);
}

/* Builds url + sorted, de-duplicated name/value pairs into `data`. */
static tp_rc signing_string(tp_buf *data, const char *url, const tp_params *form)
{
	pair_ref *refs = NULL;
	size_t i, n = form ? form->n : 0;
	tp_rc rc = tp_buf_adds(data, url);

	if (rc != TP_OK || n == 0)
		return rc;
	refs = tp_xmalloc(n * sizeof *refs);
	for (i = 0; i < n; i++) {
		refs[i].name = form->v[i].name;
		refs[i].value = form->v[i].value;
	}
	qsort(refs, n, sizeof *refs, cmp_pair);
	for (i = 0; i < n && rc == TP_OK; i++) {
		if (i > 0 && cmp_pair(&refs[i - 1], &refs[i]) == 0)
			continue; /* twilio-node de-duplicates repeated values */
		rc = tp_buf_adds(data, refs[i].name);
		if (rc == TP_OK)
			rc = tp_buf_adds(data, refs[i].value);
	}
	free(refs);
	return rc;
}

void tp_sig_compute(const char *url, const tp_params *form, const char *auth_token,
                    char out[TP_SIG_LEN + 1])
{
	tp_buf data;

	tp_buf_init(&data, 4u << 20);
	if (signing_string(&data, url, form) == TP_OK)
		sign_data(data.ptr, data.len, auth_token, out);
	else
		out[0] = '\0';
	tp_buf_free(&data);
}

/* Splits url into [0, host_end) "scheme://host", the optional ":port" and
 * the rest.  Returns false for a URL without "scheme://". */
static bool split_url(const char *url, size_t *host_end, size_t *rest, bool *https)
{
	const char *p = strstr(url, "://");
	const char *h, *end;

	if (!p)
		return false;
	*https = (size_t)(p - url) == 5 && strncmp(url, "https", 5) == 0;
	h = p + 3;
	end = h + strcspn(h, ":/?#");
	*host_end = (size_t)(end - url);
	if (*end == ':')
		end += 1 + strcspn(end + 1, "/?#");
	*rest = (size_t)(end - url);
	return true;
}

static bool sha256_hex_eq(const char *body, size_t len, const char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char got[2 * EVP_MAX_MD_SIZE + 1];

	if (!EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL))
		return false;
	tp_hex(md, mdlen, got);
	return tp_ct_streq(hex, got);
}

/* The bodySHA256 query parameter, if any, copied into out (hex, so no
 * decoding is needed).  Returns false when absent. */
static bool body_hash_param(const char *url, char *out, size_t cap)
{
	const char *q = strchr(url, '?');

	while (q) {
		const char *seg = q + 1;
		size_t n = strcspn(seg, "&#");
		if (n > 11 && strncmp(seg, "bodySHA256=", 11) == 0) {
			size_t v = n - 11;
			if (v >= cap)
				v = cap - 1;
			memcpy(out, seg + 11, v);
			out[v] = '\0';
			return true;
		}
		q = seg[n] == '&' ? seg + n : NULL;
	}
	return false;
}

bool tp_sig_valid(const char *url, const tp_params *form, const char *body, size_t body_len,
                  const char *auth_token, const char *header)
{
	char sig[TP_SIG_LEN + 1], hash[2 * EVP_MAX_MD_SIZE + 1];
	size_t host_end, rest;
	bool https, ok = false;
	tp_buf variant;

	if (!header || !auth_token || !*auth_token || !split_url(url, &host_end, &rest, &https))
		return false;

	/* JSON webhooks: the body is covered by bodySHA256 in the query and
	 * no parameters are appended (twilio-contract.md section 9). */
	if (body_hash_param(url, hash, sizeof hash)) {
		if (!sha256_hex_eq(body ? body : "", body ? body_len : 0, hash))
			return false;
		form = NULL;
	}

	/* 1: as given. */
	tp_sig_compute(url, form, auth_token, sig);
	if (tp_ct_streq(header, sig))
		return true; /* which form matched reveals nothing secret */
	tp_buf_init(&variant, 64u << 10);
	/* 2: without the port (if it has one), or with the default port. */
	if (rest != host_end) {
		tp_buf_add(&variant, url, host_end);
		tp_buf_adds(&variant, url + rest);
	} else {
		tp_buf_add(&variant, url, host_end);
		tp_buf_adds(&variant, https ? ":443" : ":80");
		tp_buf_adds(&variant, url + rest);
	}
	if (variant.ptr) {
		tp_sig_compute(variant.ptr, form, auth_token, sig);
		ok |= tp_ct_streq(header, sig);
	}
	tp_buf_free(&variant);
	return ok;
}
