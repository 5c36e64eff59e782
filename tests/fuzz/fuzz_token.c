/* Agent and session tokens (lib/agent.c) and live-update tickets
 * (lib/ticket.c): parsing, checking, and the authorisation steps built on
 * them, with arbitrary bytes.
 *
 * The first input byte picks what the rest is:
 *   0  a token as a client sends it: tp_token_verify for both kinds,
 *      tp_ticket_redeem (the live-update subscription), and
 *      "Authorization: Bearer <input>" through the request pipeline with
 *      tp_agent_authorize; nothing verifies without AGENT_SECRET;
 *   1  the claims segment of a token signed with AGENT_SECRET (a token we
 *      could have issued, holding anything): verify accepts it exactly when
 *      it is a JSON object with string kind/sub and numeric iat/exp, the
 *      kind asked for and exp in the future; the subscription check and
 *      the agent authorisation accept it only for the agent in the agents
 *      file with its current password tag (and, for a ticket, its payment,
 *      a well-formed id, and only once);
 *   2  an edit of a valid session token (byte 1 = position, byte 2 = new
 *      character): any change before the MAC's last character makes it
 *      invalid;
 *   3  a publish token (tp_publish_token_ok): only the one the handlers make
 *      for this time and channel passes. */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

#define SECRET "fuzz-agent-secret-0123456789abcdef"
#define PK     "PK0123456789abcdef0123456789abcdef"
#define CA     "CA0123456789abcdef0123456789abcdef"
#define NOW    ((time_t)1795000000)

static tp_config cfg;
static char tag[TP_AGENT_TAG_LEN + 1];

/* A fixed yescrypt hash of "fuzz-password", so that the tag it gives
 * (HASH_TAG) can sit in seed tokens. */
#define HASH     "$y$j9T$3NNz.LoFTKifYSCh9YcxJ.$fO0W7KE28rNtFNEYzvHsw434G5cmnx6c8fIOCgWqUs9"
#define HASH_TAG "03f6c95bf827679c"

static void setup(void)
{
	char path[] = "/tmp/fuzz-agents-XXXXXX";
	int fd;
	FILE *f;

	if (cfg.agents_file)
		return;
	tp_log_set_level(TP_LOG_ERROR);
	fd = mkstemp(path);
	FUZZ_ASSERT(fd >= 0);
	f = fdopen(fd, "w");
	FUZZ_ASSERT(f);
	fprintf(f, "# fuzz\nagent:%s\nother:%s\n", HASH, HASH);
	fclose(f);
	tp_agent_hash_tag(HASH, tag);
	FUZZ_ASSERT(strcmp(tag, HASH_TAG) == 0);
	cfg.agents_file = tp_xstrdup(path);
	cfg.agent_secret = tp_xstrdup(SECRET);
	cfg.server_url = tp_xstrdup("https://pay.example.com");
	cfg.max_body_bytes = 65536;
	/* The files live as long as the fuzzer (a few hundred bytes; the
	 * spent list holds only tickets that passed). */
	{
		char spent[] = "/tmp/fuzz-spent-XXXXXX";
		FUZZ_ASSERT(mkdtemp(spent));
		cfg.tickets_file = tp_xmalloc(strlen(spent) + 8);
		snprintf(cfg.tickets_file, strlen(spent) + 8, "%s/spent", spent);
	}
}

static void authorized(const tp_req *req, tp_resp *resp, const tp_config *c)
{
	(void)c;
	tp_reply_text(resp, 200, req->auth_subject ? req->auth_subject : "");
}

/* Runs tp_agent_authorize through the pipeline; returns the status and
 * leaves the subject (the body of a 200) in `who`. */
static long authorize(const char *token, tp_buf *who)
{
	static const tp_handler h = {
	    .name = "f", .fn = authorized, .authorize = tp_agent_authorize};
	tp_buf out, auth;
	const char *env[4], *body;
	long status;

	tp_buf_init(&out, 1u << 20);
	tp_buf_init(&auth, 1u << 16);
	tp_buf_addf(&auth, "HTTP_AUTHORIZATION=Bearer %s", token);
	env[0] = "REQUEST_METHOD=POST";
	env[1] = "DOCUMENT_URI=/aap/startCapture";
	env[2] = tp_buf_str(&auth);
	env[3] = NULL;
	tp_process_cgi(&h, &cfg, env, NULL, 0, &out);
	FUZZ_ASSERT(strncmp(tp_buf_str(&out), "Status: ", 8) == 0);
	status = strtol(tp_buf_str(&out) + 8, NULL, 10);
	body = strstr(tp_buf_str(&out), "\r\n\r\n");
	FUZZ_ASSERT(body);
	if (who)
		tp_buf_adds(who, body + 4);
	tp_buf_free(&out);
	tp_buf_free(&auth);
	return status;
}

static bool claims_valid(const cJSON *c, const char *kind)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(c, "kind");
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(c, "sub");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
	const cJSON *iat = cJSON_GetObjectItemCaseSensitive(c, "iat");

	return cJSON_IsObject(c) && cJSON_IsString(k) && cJSON_IsString(sub) &&
	       cJSON_IsNumber(exp) && cJSON_IsNumber(iat) && strcmp(k->valuestring, kind) == 0 &&
	       exp->valuedouble > (double)NOW;
}

/* Every outcome's reason is the one its code stands for (the logs and the
 * 403 answers print the reason, the handlers branch on the code). */
static tp_rc token_checked(tp_rc rc, const char *why)
{
	static const struct {
		tp_rc rc;
		const char *why;
	} pairs[] = {
	    {TP_OK, "ok"},
	    {TP_ENOTFOUND, "no token"},
	    {TP_EINVAL, "the token is malformed"},
	    {TP_EAUTH, "the token's signature is wrong"},
	    {TP_EAUTH, "the token is of the wrong kind"},
	    {TP_EEXPIRED, "the token has expired"},
	};
	size_t i;

	for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (pairs[i].rc == rc && tp_str_eq(pairs[i].why, why))
			return rc;
	FUZZ_ASSERT(!"tp_token_verify: a reason that is not its code's");
	return rc;
}

static tp_rc ticket_checked(tp_rc rc, const char *why)
{
	static const struct {
		tp_rc rc;
		const char *why;
	} pairs[] = {
	    {TP_OK, "ok"},
	    {TP_ENOTFOUND, "no ticket"},
	    {TP_EAUTH, "the ticket is not valid"},
	    {TP_EAUTH, "the ticket is for another payment"},
	    {TP_EAUTH, "the agent was removed or its password changed"},
	    {TP_EAUTH, "the ticket has been used already"},
	    {TP_EEXPIRED, "the ticket has expired"},
	    {TP_ECONFIG, "tickets cannot be checked (AGENT_SECRET, AGENTS_FILE or AGENTS_SYNC_MAP, "
	                 "TICKETS_FILE)"},
	    {TP_EUNAVAIL, "the agent store (Twilio Sync) cannot be reached"},
	    {TP_EUNAVAIL, "the spent-tickets store (Redis, NCHAN_REDIS_URL) cannot be reached"},
	};
	size_t i;

	for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (pairs[i].rc == rc && tp_str_eq(pairs[i].why, why))
			return rc;
	FUZZ_ASSERT(!"tp_ticket_redeem: a reason that is not its code's");
	return rc;
}

static tp_rc verify(const char *s, const char *kind, cJSON **c)
{
	const char *why = NULL;
	return token_checked(tp_token_verify(s, SECRET, kind, NOW, c, &why), why);
}

static tp_rc redeem(const char *s)
{
	const char *why = NULL;
	return ticket_checked(tp_ticket_redeem(&cfg, s, PK, time(NULL), &why), why);
}

static void raw_token(const char *s)
{
	cJSON *c = NULL;

	FUZZ_ASSERT(verify(s, "agent", &c) != TP_OK || c);
	cJSON_Delete(c);
	c = NULL;
	(void)verify(s, "session", &c);
	cJSON_Delete(c);
	FUZZ_ASSERT(redeem(s) != TP_OK);
	FUZZ_ASSERT(authorize(s, NULL) == 401);
}

/* A token over arbitrary claims bytes, signed with the secret. */
static void signed_claims(const uint8_t *data, size_t size)
{
	tp_buf tok;
	unsigned char mac[32];
	cJSON *parsed = cJSON_ParseWithLength((const char *)data, size), *c = NULL;
	const char *kinds[2] = {"agent", "session"};
	size_t k;

	tp_buf_init(&tok, 1u << 20);
	tp_b64url_encode(&tok, data, size);
	tp_hmac_sha256(SECRET, tok.ptr ? tok.ptr : "", tok.len, mac);
	tp_buf_addc(&tok, '.');
	tp_b64url_encode(&tok, mac, sizeof mac);
	for (k = 0; k < 2; k++) {
		tp_rc rc = verify(tp_buf_str(&tok), kinds[k], &c);
		/* Longer than the limit: refused whatever it holds. */
		if (tok.len > 2048) {
			FUZZ_ASSERT(rc == TP_EINVAL && !c);
			continue;
		}
		FUZZ_ASSERT((rc == TP_OK) == claims_valid(parsed, kinds[k]));
		FUZZ_ASSERT((rc == TP_OK) == (c != NULL));
		cJSON_Delete(c);
		c = NULL;
	}
	{
		/* The subscription: only a ticket of agent's (or other's) for
		 * PK with the tag the agents file gives today and a 128-bit id,
		 * once (time(NULL) is later than NOW, so a ticket expired by
		 * then fails too). */
		if (redeem(tp_buf_str(&tok)) == TP_OK) {
			const char *why = NULL;
			const char *sub = tp_claim_str(parsed, "sub"),
			           *jti = tp_claim_str(parsed, "jti");
			FUZZ_ASSERT(claims_valid(parsed, "ticket"));
			FUZZ_ASSERT(tp_str_eq(tp_claim_str(parsed, "pk"), PK));
			FUZZ_ASSERT(tp_str_eq(sub, "agent") || tp_str_eq(sub, "other"));
			FUZZ_ASSERT(tp_str_eq(tp_claim_str(parsed, "pwh"), tag));
			FUZZ_ASSERT(jti && strlen(jti) == 32 &&
			            strspn(jti, "0123456789abcdef") == 32);
			FUZZ_ASSERT(tp_ticket_redeem(&cfg, tp_buf_str(&tok), PK, time(NULL),
			                             &why) == TP_EAUTH &&
			            tp_str_eq(why, "the ticket has been used already"));
		}
	}
	{
		/* An agent token: the agent must be in the file with the tag
		 * of its current password; the subject is that agent. */
		tp_buf who;
		long st;
		tp_buf_init(&who, 4096);
		st = authorize(tp_buf_str(&tok), &who);
		if (st == 200) {
			const char *sub = tp_claim_str(parsed, "sub");
			FUZZ_ASSERT(claims_valid(parsed, "agent"));
			FUZZ_ASSERT(tp_str_eq(sub, "agent") || tp_str_eq(sub, "other"));
			FUZZ_ASSERT(tp_str_eq(tp_buf_str(&who), sub));
			FUZZ_ASSERT(tp_str_eq(tp_claim_str(parsed, "pwh"), tag));
		} else {
			FUZZ_ASSERT(st == 401);
		}
		tp_buf_free(&who);
	}
	cJSON_Delete(parsed);
	tp_buf_free(&tok);
}

static void edited_session(const uint8_t *data, size_t size)
{
	tp_buf tok;
	cJSON *c = NULL;
	size_t pos, len;
	char *t;

	if (size < 2)
		return;
	tp_buf_init(&tok, 4096);
	FUZZ_ASSERT(tp_session_token_issue(&tok, SECRET, "agent", tag, PK, CA, NOW, 600) == TP_OK);
	FUZZ_ASSERT(verify(tp_buf_str(&tok), "session", &c) == TP_OK);
	cJSON_Delete(c);
	c = NULL;
	len = tok.len;
	pos = data[0] % (len - 1); /* not the MAC's last character (its spare bits) */
	t = tp_buf_take(&tok);
	if (t[pos] != (char)data[1] && data[1] != '\0') {
		t[pos] = (char)data[1];
		FUZZ_ASSERT(verify(t, "session", &c) != TP_OK && !c);
		FUZZ_ASSERT(redeem(t) != TP_OK);
	}
	free(t);
}

static void publish(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);

	if (tp_publish_token_ok(SECRET, s, PK, NOW)) {
		/* Only with the MAC the handlers make for that time. */
		tp_buf good;
		long long ts = strtoll(s, NULL, 10);
		tp_buf_init(&good, 256);
		FUZZ_ASSERT(ts >= NOW - TP_PUBLISH_TOKEN_SKEW_S &&
		            ts <= NOW + TP_PUBLISH_TOKEN_SKEW_S);
		tp_publish_token(SECRET, PK, (time_t)ts, &good);
		FUZZ_ASSERT(strcmp(strchr(s, '.'), strchr(tp_buf_str(&good), '.')) == 0);
		tp_buf_free(&good);
		FUZZ_ASSERT(
		    !tp_publish_token_ok(SECRET, s, "PKfedcba9876543210fedcba9876543210", NOW));
	}
	FUZZ_ASSERT(!tp_publish_token_ok("", s, PK, NOW));
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		char *s = fuzz_cstr(data + 1, size - 1);
		raw_token(s);
		free(s);
		break;
	}
	case 1:
		signed_claims(data + 1, size - 1);
		break;
	case 2:
		edited_session(data + 1, size - 1);
		break;
	case 3:
		publish(data + 1, size - 1);
		break;
	}
	return 0;
}
