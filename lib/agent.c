/*
 * agent.c - agent credentials: the agents file, password hashes, and the
 * bearer tokens the console carries (an agent token after login, a
 * session token per payment).
 *
 * Why bearer tokens and not cookies: the console runs inside a Genesys
 * Cloud iframe on another site, where browsers increasingly drop
 * third-party cookies.  The console keeps the token in sessionStorage and
 * sends "Authorization: Bearer"; nothing is ambient, so there is no CSRF
 * surface either.
 *
 * Agents file (AGENTS_FILE): htpasswd-style lines "name:hash", '#'
 * comments, where hash is a crypt(3) string from libxcrypt (yescrypt "$y$"
 * by default; sha512-crypt "$6$", bcrypt "$2b$" and the other non-legacy
 * methods verify too).  Legacy methods (DES, MD5-crypt) are refused:
 * crypt_checksalt() calls them CRYPT_SALT_METHOD_LEGACY.
 *
 * Tokens: base64url(JSON claims) "." base64url(HMAC-SHA256(AGENT_SECRET,
 * first segment)).  Claims: sub (agent name), kind ("agent" or
 * "session"), iat, exp, and pwh, a tag of the agent's stored hash, so
 * changing an agent's password or deleting the agent revokes every token
 * issued before; session tokens add pk (the PaymentSid the token is for)
 * and call (its CallSid).  A token is only as long-lived as
 * its exp: TP_AGENT_TOKEN_TTL_S for a shift, TP_SESSION_TOKEN_TTL_S for a
 * payment.  Every token also carries jti, 128 random bits in hex: two
 * tokens minted for the same claims in the same second (a second tab
 * attaching to the payment a first tab just started) are still two
 * different tokens, as docs/api.md promises; iat alone has whole seconds.
 * lib/ticket.c makes a third kind, "ticket", the one-use credential of a
 * live-update subscription, whose jti names it in the spent list.
 */
#include <crypt.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

#define AGENTS_FILE_MAX (1u << 20)
#define TOKEN_MAX_LEN   2048

/* ------------------------------------------------------------ names */

bool tp_agent_name_valid(const char *name)
{
	size_t i, n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > TP_AGENT_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '@')))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ agents file */

/* Calls fn for each "name:hash" line; stops when fn returns false. */
typedef bool (*line_fn)(const char *name, size_t nlen, const char *hash, size_t hlen, void *ud);

static void each_line(const char *text, line_fn fn, void *ud)
{
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *colon = memchr(p, ':', len);
		size_t hl;
		if (len && p[0] != '#' && colon) {
			hl = len - (size_t)(colon + 1 - p);
			while (hl && (colon[hl] == '\r' || colon[hl] == ' '))
				hl--;
			if (!fn(p, (size_t)(colon - p), colon + 1, hl, ud))
				return;
		}
		p += len + (p[len] == '\n');
	}
}

typedef struct find_ctx {
	const char *name;
	char *hash;
} find_ctx;

static bool find_line(const char *name, size_t nlen, const char *hash, size_t hlen, void *ud)
{
	find_ctx *f = ud;

	if (strlen(f->name) != nlen || memcmp(f->name, name, nlen) != 0)
		return true;
	f->hash = tp_xstrndup(hash, hlen);
	return false;
}

tp_rc tp_agent_lookup(const char *file, const char *name, char **hash)
{
	tp_buf text;
	find_ctx f = {name, NULL};
	tp_rc rc;

	*hash = NULL;
	if (!file || !*file)
		return TP_ECONFIG;
	tp_buf_init(&text, AGENTS_FILE_MAX);
	rc = tp_buf_add_file(&text, file);
	if (rc != TP_OK) {
		/* Missing or too big as much as unreadable: not "no agent". */
		tp_buf_free(&text);
		return TP_EIO;
	}
	if (tp_agent_name_valid(name))
		each_line(tp_buf_str(&text), find_line, &f);
	tp_buf_free(&text);
	if (!f.hash)
		return TP_ENOTFOUND;
	*hash = f.hash;
	return TP_OK;
}

void tp_agent_hash_tag(const char *hash, char out[TP_AGENT_TAG_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = sizeof md;

	if (!EVP_Digest(hash, strlen(hash), md, &n, EVP_sha256(), NULL))
		abort();
	tp_hex(md, TP_AGENT_TAG_LEN / 2, out);
}

tp_rc tp_agent_current_tag(const char *file, const char *name, char tag[TP_AGENT_TAG_LEN + 1])
{
	char *hash = NULL;
	tp_rc rc = tp_agent_lookup(file, name, &hash);

	tag[0] = '\0';
	if (rc == TP_OK)
		tp_agent_hash_tag(hash, tag);
	free(hash);
	return rc;
}

tp_rc tp_agent_tag_check(const char *file, const char *name, const char *pwh)
{
	char tag[TP_AGENT_TAG_LEN + 1];
	tp_rc rc = tp_agent_current_tag(file, name, tag);

	if (rc == TP_OK && !(pwh && tp_ct_streq(pwh, tag)))
		rc = TP_EAUTH;
	return rc;
}

/* crypt_rn into a heap crypt_data (it is ~32 KiB); true when the
 * phrase hashes to `setting`'s full hash. */
static bool crypt_matches(const char *password, const char *setting)
{
	struct crypt_data *cd = tp_xcalloc(1, sizeof *cd);
	const char *h = crypt_rn(password, setting, cd, (int)sizeof *cd);
	/* crypt_rn returns NULL, or a string starting with '*', on failure;
	 * a failure string can never equal a stored hash. */
	bool ok = h && h[0] != '*' && tp_ct_streq(h, setting);
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* A hash to burn the same time on when the agent does not exist, so the
 * answer time does not say which names are agents. */
static char *dummy;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
	char pw[33];
	unsigned char r[16];

	tp_random_bytes(r, sizeof r);
	tp_hex(r, sizeof r, pw);
	if (tp_agent_hash_password(pw, &dummy) != TP_OK)
		dummy = tp_xstrdup("*");
}

/* Made once per process, by whichever thread needs it first. */
static const char *dummy_hash(void)
{
	pthread_once(&dummy_once, dummy_make);
	return dummy;
}

tp_rc tp_agent_verify_hash(const char *name, tp_rc found, const char *hash, const char *password,
                           char tag[TP_AGENT_TAG_LEN + 1])
{
	bool ok;

	tag[0] = '\0';
	if (!password || strlen(password) > TP_AGENT_PASSWORD_MAX)
		return found == TP_OK ? TP_EAUTH : found;
	if (found != TP_OK || !hash || crypt_checksalt(hash) != CRYPT_SALT_OK) {
		if (found == TP_OK)
			tp_log_kv(TP_LOG_ERROR,
			          "agent has an unusable password hash (legacy method?)", "agent",
			          name);
		crypt_matches(password, dummy_hash());
		return found == TP_OK ? TP_EAUTH : TP_ENOTFOUND;
	}
	ok = crypt_matches(password, hash);
	if (ok)
		tp_agent_hash_tag(hash, tag);
	return ok ? TP_OK : TP_EAUTH;
}

tp_rc tp_agent_check_password(const char *file, const char *name, const char *password,
                              char tag[TP_AGENT_TAG_LEN + 1])
{
	char *hash = NULL;
	tp_rc rc;

	tag[0] = '\0';
	rc = tp_agent_lookup(file, name, &hash);
	if (rc == TP_OK || rc == TP_ENOTFOUND)
		rc = tp_agent_verify_hash(name, rc, hash, password, tag);
	free(hash);
	return rc;
}

tp_rc tp_agent_hash_password(const char *password, char **hash)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	tp_rc rc = TP_EINVAL;

	*hash = NULL;
	if (!password || !*password || strlen(password) > TP_AGENT_PASSWORD_MAX)
		return TP_EINVAL;
	/* "$y$" with count 0: yescrypt at libxcrypt's default cost; the
	 * salt comes from the OS random source (NULL rbytes). */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, (int)sizeof setting))
		return TP_EIO;
	cd = tp_xcalloc(1, sizeof *cd);
	h = crypt_rn(password, setting, cd, (int)sizeof *cd);
	if (h && h[0] != '*') {
		*hash = tp_xstrdup(h);
		rc = TP_OK;
	}
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return rc;
}

tp_rc tp_agents_file_set(const char *file, const char *name, const char *hash)
{
	tp_buf text, out, tmp;
	tp_rc rc;
	const char *p;
	bool found = false;
	struct stat st;
	mode_t mode = 0600;
	bool existed = false;
	int fd = -1;

	if (!tp_agent_name_valid(name) || (hash && (strchr(hash, '\n') || strchr(hash, ':') ||
	                                            crypt_checksalt(hash) != CRYPT_SALT_OK)))
		return TP_EINVAL;
	tp_buf_init(&text, AGENTS_FILE_MAX);
	tp_buf_init(&out, AGENTS_FILE_MAX + 4096);
	tp_buf_init(&tmp, 4096);
	/* Allocated from the start, so that below a NULL out.ptr means only
	 * "grew past the maximum": deleting the last agent of a file without
	 * comments leaves it empty, which is no error (found by
	 * tests/fuzz/fuzz_agents.c). */
	tp_buf_add(&out, "", 0);
	rc = tp_buf_add_file(&text, file);
	if (rc == TP_ENOTFOUND) {
		tp_buf_adds(&out,
		            "# twiliopay agents: name:crypt-hash, managed with twiliopay-agent\n");
		rc = TP_OK;
	} else if (rc != TP_OK) {
		goto out;
	} else if (stat(file, &st) == 0) {
		mode = st.st_mode & 0777; /* keep the operator's mode */
		existed = true;
	}
	/* Copy every line but the agent's own; comments stay. */
	for (p = tp_buf_str(&text); *p;) {
		size_t len = strcspn(p, "\n");
		const char *colon = memchr(p, ':', len);
		bool mine = p[0] != '#' && colon && (size_t)(colon - p) == strlen(name) &&
		            memcmp(p, name, strlen(name)) == 0;
		if (mine && hash && !found)
			tp_buf_addf(&out, "%s:%s\n", name, hash);
		if (mine)
			found = true;
		else if (len) {
			tp_buf_add(&out, p, len);
			tp_buf_addc(&out, '\n');
		}
		p += len + (p[len] == '\n');
	}
	if (!found && hash)
		tp_buf_addf(&out, "%s:%s\n", name, hash);
	if (!found && !hash) {
		rc = TP_ENOTFOUND;
		goto out;
	}
	if (!out.ptr) {
		rc = TP_ETOOBIG;
		goto out;
	}
	/* Atomic replace: a reader sees the old file or the new one. */
	tp_buf_addf(&tmp, "%s.tmp.%ld", file, (long)getpid());
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = TP_EIO;
		goto out;
	}
	/* ...and owner: root editing /etc/twiliopay/agents (root:twiliopay
	 * 0640) must not leave a root:root file the handlers cannot read.
	 * When we may not chown, the file must already be ours. */
	if (existed && fchown(fd, st.st_uid, st.st_gid) != 0 &&
	    (st.st_uid != geteuid() || st.st_gid != getegid())) {
		rc = TP_EIO;
		close(fd);
		unlink(tmp.ptr);
		goto out;
	}
	if (fchmod(fd, mode) != 0 || write(fd, out.ptr, out.len) != (ssize_t)out.len ||
	    fsync(fd) != 0) {
		rc = TP_EIO;
		close(fd);
		unlink(tmp.ptr);
		goto out;
	}
	close(fd);
	if (rename(tmp.ptr, file) != 0) {
		unlink(tmp.ptr);
		rc = TP_EIO;
	}
out:
	tp_buf_free(&text);
	tp_buf_free(&out);
	tp_buf_free(&tmp);
	return rc;
}

typedef struct list_ctx {
	tp_buf *out;
} list_ctx;

static bool list_line(const char *name, size_t nlen, const char *hash, size_t hlen, void *ud)
{
	list_ctx *l = ud;

	(void)hash;
	(void)hlen;
	tp_buf_add(l->out, name, nlen);
	tp_buf_addc(l->out, '\n');
	return true;
}

tp_rc tp_agents_file_list(const char *file, tp_buf *names)
{
	tp_buf text;
	list_ctx l = {names};
	tp_rc rc;

	tp_buf_init(&text, AGENTS_FILE_MAX);
	rc = tp_buf_add_file(&text, file);
	if (rc == TP_OK)
		each_line(tp_buf_str(&text), list_line, &l);
	tp_buf_free(&text);
	return rc;
}

/* ------------------------------------------------------------ tokens */

tp_rc tp_token_issue(tp_buf *out, const char *secret, const cJSON *claims)
{
	unsigned char mac[32];
	size_t start = out->len;
	char *s;
	tp_rc rc;

	if (!secret || !*secret || !cJSON_IsObject(claims))
		return TP_EINVAL;
	s = cJSON_PrintUnformatted(claims);
	rc = tp_b64url_encode(out, s, strlen(s));
	free(s);
	if (rc != TP_OK)
		return rc;
	tp_hmac_sha256(secret, out->ptr + start, out->len - start, mac);
	rc = tp_buf_addc(out, '.');
	return rc == TP_OK ? tp_b64url_encode(out, mac, sizeof mac) : rc;
}

tp_rc tp_token_verify(const char *token, const char *secret, const char *kind, time_t now,
                      cJSON **claims, const char **why)
{
	const char *dot;
	unsigned char mac[32];
	tp_buf got, raw;
	cJSON *c = NULL;
	const cJSON *k, *sub, *exp, *iat;
	const char *w = "the token is malformed";
	tp_rc rc = TP_EINVAL;

	*claims = NULL;
	tp_buf_init(&got, 64);
	tp_buf_init(&raw, TOKEN_MAX_LEN);
	if (!token || !*token) {
		rc = TP_ENOTFOUND;
		w = "no token";
		goto out;
	}
	if (!secret || !*secret || strlen(token) > TOKEN_MAX_LEN)
		goto out;
	dot = strchr(token, '.');
	if (!dot || strchr(dot + 1, '.'))
		goto out;
	if (tp_b64url_decode(&got, dot + 1, strlen(dot + 1)) != TP_OK || got.len != sizeof mac)
		goto out;
	tp_hmac_sha256(secret, token, (size_t)(dot - token), mac);
	if (CRYPTO_memcmp(mac, got.ptr, sizeof mac) != 0) {
		rc = TP_EAUTH;
		w = "the token's signature is wrong";
		goto out;
	}
	/* Only a token we signed gets parsed. */
	if (tp_b64url_decode(&raw, token, (size_t)(dot - token)) != TP_OK || !raw.ptr)
		goto out;
	c = cJSON_ParseWithLength(raw.ptr, raw.len);
	k = cJSON_GetObjectItemCaseSensitive(c, "kind");
	sub = cJSON_GetObjectItemCaseSensitive(c, "sub");
	exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
	iat = cJSON_GetObjectItemCaseSensitive(c, "iat");
	if (!cJSON_IsObject(c) || !cJSON_IsString(k) || !cJSON_IsString(sub) ||
	    !cJSON_IsNumber(exp) || !cJSON_IsNumber(iat))
		goto out;
	if (!tp_str_eq(k->valuestring, kind)) {
		rc = TP_EAUTH;
		w = "the token is of the wrong kind";
		goto out;
	}
	if (exp->valuedouble <= (double)now) {
		rc = TP_EEXPIRED;
		w = "the token has expired";
		goto out;
	}
	rc = TP_OK;
	w = "ok";
out:
	tp_buf_free(&got);
	tp_buf_free(&raw);
	if (rc == TP_OK)
		*claims = c;
	else
		cJSON_Delete(c);
	if (why)
		*why = w;
	return rc;
}

const char *tp_claim_str(const cJSON *claims, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *tp_claims_new(const char *kind, const char *agent, const char *tag, time_t now, long ttl_s)
{
	cJSON *c = cJSON_CreateObject();
	unsigned char r[TP_TOKEN_JTI_BYTES];
	char jti[2 * TP_TOKEN_JTI_BYTES + 1];

	tp_random_bytes(r, sizeof r);
	tp_hex(r, sizeof r, jti);
	cJSON_AddStringToObject(c, "sub", agent);
	cJSON_AddStringToObject(c, "kind", kind);
	cJSON_AddStringToObject(c, "pwh", tag);
	cJSON_AddStringToObject(c, "jti", jti);
	cJSON_AddNumberToObject(c, "iat", (double)now);
	cJSON_AddNumberToObject(c, "exp", (double)(now + ttl_s));
	return c;
}

tp_rc tp_agent_token_issue(tp_buf *out, const char *secret, const char *agent, const char *tag,
                           time_t now, long ttl_s)
{
	cJSON *c = tp_claims_new("agent", agent, tag, now, ttl_s);
	tp_rc rc = tp_token_issue(out, secret, c);

	cJSON_Delete(c);
	return rc;
}

tp_rc tp_session_token_issue(tp_buf *out, const char *secret, const char *agent, const char *tag,
                             const char *payment_sid, const char *call_sid, time_t now, long ttl_s)
{
	cJSON *c = tp_claims_new("session", agent, tag, now, ttl_s);
	tp_rc rc;

	cJSON_AddStringToObject(c, "pk", payment_sid);
	cJSON_AddStringToObject(c, "call", call_sid);
	rc = tp_token_issue(out, secret, c);
	cJSON_Delete(c);
	return rc;
}

/* ------------------------------------------------------------ authorize */

/* A numeric claim as a time (tp_token_verify checked it is a number). */
static time_t claim_time(const cJSON *claims, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
	return cJSON_IsNumber(v) ? (time_t)v->valuedouble : 0;
}

static const char *bearer_of(const char *h)
{
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

static void unauthorized(tp_resp *resp, const char *code, const char *why)
{
	tp_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"twiliopay-agent\"");
	tp_reply_error(resp, TP_S_UNAUTHORIZED, code, "%s", why);
}

bool tp_agent_authorize(tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *tok = bearer_of(req->h_authorization);
	cJSON *claims = NULL;
	const char *sub, *pwh, *why;
	tp_rc rc;
	bool ok = false;

	if (!cfg->agent_secret || (!cfg->agents_file && !tp_agent_store_is_sync(cfg))) {
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "not_configured",
		               "agent authentication is not configured: set %s%s%s",
		               cfg->agent_secret ? "" : "AGENT_SECRET",
		               !cfg->agent_secret && !cfg->agents_file ? " and " : "",
		               cfg->agents_file ? "" : "AGENTS_FILE or AGENTS_SYNC_MAP");
		return false;
	}
	if (!tok) {
		unauthorized(resp, "unauthorized",
		             "this endpoint needs Authorization: Bearer <agent token> from "
		             "POST /aap/login");
		return false;
	}
	rc = tp_token_verify(tok, cfg->agent_secret, "agent", time(NULL), &claims, &why);
	if (rc != TP_OK) {
		tp_resp_log(resp, "auth", why);
		unauthorized(resp, rc == TP_EEXPIRED ? "token_expired" : "unauthorized",
		             rc == TP_EEXPIRED ? "the agent token has expired; log in again"
		                               : "the agent token is not valid; log in again");
		return false;
	}
	sub = tp_claim_str(claims, "sub");
	pwh = tp_claim_str(claims, "pwh");
	if (!tp_agent_name_valid(sub) || !pwh) {
		unauthorized(resp, "unauthorized", "the agent token is not valid; log in again");
		goto out;
	}
	/* The agent must still exist with the password the token was
	 * issued for: deleting an agent or changing its password revokes
	 * its tokens (on every node: lib/agentstore.c). */
	rc = tp_agent_store_check_tag(cfg, sub, pwh, claim_time(claims, "iat"));
	if (rc == TP_ENOTFOUND || rc == TP_EAUTH) {
		tp_resp_log(resp, "auth", "revoked");
		unauthorized(resp, "token_revoked",
		             "the agent was removed or its password changed; log in again");
		goto out;
	}
	if (rc != TP_OK) {
		tp_agent_store_reply(resp, cfg, rc);
		goto out;
	}
	req->auth_subject = tp_req_keep(req, sub);
	tp_resp_log(resp, "agent", sub);
	ok = true;
out:
	cJSON_Delete(claims);
	return ok;
}

bool tp_session_authorize_or_reply(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                                   const char *payment_sid)
{
	const char *tok = tp_req_getenv(req, "HTTP_X_SESSION_TOKEN");
	cJSON *claims = NULL;
	const char *why;
	tp_rc rc;
	bool ok = false;

	if (!tok || !*tok)
		tok = tp_params_get(&req->body_params, "sessionToken");
	rc = tp_token_verify(tok, cfg->agent_secret, "session", time(NULL), &claims, &why);
	if (rc == TP_ENOTFOUND) {
		unauthorized(resp, "session_token_required",
		             "this endpoint needs the session token from startCapture "
		             "(X-Session-Token header or sessionToken field)");
		return false;
	}
	if (rc != TP_OK) {
		tp_resp_log(resp, "session_auth", why);
		tp_reply_error(resp, TP_S_FORBIDDEN, "session_forbidden",
		               "the session token is not valid for this payment (%s)", why);
		return false;
	}
	/* Scoped to one payment, and to the agent who started it. */
	if (!tp_str_eq(tp_claim_str(claims, "pk"), payment_sid) ||
	    !tp_str_eq(tp_claim_str(claims, "sub"), req->auth_subject)) {
		tp_reply_error(resp, TP_S_FORBIDDEN, "session_forbidden",
		               "the session token is for another payment or another agent");
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(claims);
	return ok;
}

/* ------------------------------------------------------------ publish tokens */

/* Publishing to a live-update channel is for the handlers only.  The
 * publisher listens on a unix socket, but nginx makes that socket 0666,
 * so file permissions alone depend on how the socket's folder is set up;
 * this token (checked by nchan's publisher authorisation, eventsAuth)
 * keeps a local user without AGENT_SECRET from showing an agent a state
 * that Twilio never sent.  "<unix time>.<hex HMAC-SHA256(AGENT_SECRET,
 * "nchan-publish|<time>|<PaymentSid>")>", valid TP_PUBLISH_TOKEN_SKEW_S
 * either side of now. */
static void publish_mac(const char *secret, long long ts, const char *pk, char hex[65])
{
	unsigned char mac[32];
	tp_buf m;

	tp_buf_init(&m, 256);
	tp_buf_addf(&m, "nchan-publish|%lld|%s", ts, pk);
	tp_hmac_sha256(secret, tp_buf_str(&m), m.len, mac);
	tp_hex(mac, sizeof mac, hex);
	tp_buf_free(&m);
}

void tp_publish_token(const char *secret, const char *payment_sid, time_t now, tp_buf *out)
{
	char hex[65];

	publish_mac(secret, (long long)now, payment_sid, hex);
	tp_buf_addf(out, "%lld.%s", (long long)now, hex);
}

bool tp_publish_token_ok(const char *secret, const char *token, const char *payment_sid, time_t now)
{
	const char *dot = token ? strchr(token, '.') : NULL;
	uint64_t ts;
	char hex[65];

	if (!secret || !*secret || !dot || !tp_sid_valid(payment_sid, "PK") ||
	    tp_str_to_u64(token, (size_t)(dot - token), UINT64_MAX / 2, &ts) != TP_OK)
		return false;
	if ((long long)ts > (long long)now + TP_PUBLISH_TOKEN_SKEW_S ||
	    (long long)ts < (long long)now - TP_PUBLISH_TOKEN_SKEW_S)
		return false;
	publish_mac(secret, (long long)ts, payment_sid, hex);
	return tp_ct_streq(dot + 1, hex);
}
