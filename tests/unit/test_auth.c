/* Unit tests for lib/auth.c: the Basic header as RFC 7617 writes it (the
 * password may hold colons, the user may not), malformed ones refused;
 * the admin bearer token and the connector's credentials accepted only
 * exactly, refused when not configured, each refusal a 401 with its
 * WWW-Authenticate challenge and a JSON body. */
#include "unit.h"

static void test_basic_parse(void **state)
{
	static const struct {
		int line;
		const char *header;
		const char *user, *pass; /* NULL: refused */
	} rows[] = {
	    /* "user:pass" */
	    {__LINE__, "Basic dXNlcjpwYXNz", "user", "pass"},
	    /* The scheme is case-insensitive; blanks after it are skipped. */
	    {__LINE__, "basic   dXNlcjpwYXNz", "user", "pass"},
	    /* "u:p:q": the first colon splits, the password keeps the rest. */
	    {__LINE__, "Basic dTpwOnE=", "u", "p:q"},
	    /* ":p" and "u:": empty parts are for the comparison to refuse. */
	    {__LINE__, "Basic OnA=", "", "p"},
	    {__LINE__, "Basic dTo=", "u", ""},
	    /* No colon ("userpass"). */
	    {__LINE__, "Basic dXNlcnBhc3M=", NULL, NULL},
	    /* Not base64. */
	    {__LINE__, "Basic !!!!", NULL, NULL},
	    /* A NUL inside ("u\0:p"): refused, not cut at the NUL. */
	    {__LINE__, "Basic dQA6cA==", NULL, NULL},
	    /* Another scheme, or none. */
	    {__LINE__, "Bearer dXNlcjpwYXNz", NULL, NULL},
	    {__LINE__, "dXNlcjpwYXNz", NULL, NULL},
	    {__LINE__, "Basic", NULL, NULL},
	    {__LINE__, NULL, NULL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		char *u = NULL, *p = NULL;
		tp_rc rc = tp_basic_auth_parse(rows[i].header, &u, &p);
		if (rows[i].user) {
			if (rc != TP_OK || strcmp(u, rows[i].user) != 0 ||
			    strcmp(p, rows[i].pass) != 0)
				ROW_FAIL(rows[i].line, "rc %d user \"%s\" pass \"%s\"\n", (int)rc,
				         u ? u : "(null)", p ? p : "(null)");
		} else if (rc == TP_OK) {
			ROW_FAIL(rows[i].line, "accepted: user \"%s\"\n", u);
		}
		free(u);
		free(p);
	}
}

/* A refusal: 401, the challenge, {"code":"unauthorized"}, no subject. */
static void refused(int line, const tp_req *q, tp_resp *r, const char *challenge)
{
	cJSON *j = cJSON_Parse(tp_buf_str(&r->body));
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
	if (r->status != 401 || r->nheaders != 1 || strcmp(r->headers[0], challenge) != 0 ||
	    !cJSON_IsString(code) || strcmp(code->valuestring, "unauthorized") != 0 ||
	    q->auth_subject)
		ROW_FAIL(line, "status %d, %zu headers, body %s\n", r->status, r->nheaders,
		         tp_buf_str(&r->body));
	cJSON_Delete(j);
}

static void test_admin(void **state)
{
	static const struct {
		int line;
		const char *token;  /* ADMIN_TOKEN, NULL: not configured */
		const char *header; /* Authorization */
		bool ok;
	} rows[] = {
	    {__LINE__, "s3cret-admin-token", "Bearer s3cret-admin-token", true},
	    {__LINE__, "s3cret-admin-token", "bearer s3cret-admin-token", true},
	    {__LINE__, "s3cret-admin-token", "Bearer s3cret-admin-toke", false},
	    {__LINE__, "s3cret-admin-token", "Bearer s3cret-admin-token2", false},
	    {__LINE__, "s3cret-admin-token", "Bearer S3CRET-ADMIN-TOKEN", false},
	    {__LINE__, "s3cret-admin-token", "Bearer ", false},
	    {__LINE__, "s3cret-admin-token", "Basic czNjcmV0LWFkbWluLXRva2Vu", false},
	    {__LINE__, "s3cret-admin-token", NULL, false},
	    /* No ADMIN_TOKEN: nobody is admin, not even with an empty one. */
	    {__LINE__, NULL, "Bearer ", false},
	    {__LINE__, NULL, "Bearer (null)", false},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_config cfg;
		tp_req q;
		tp_resp r;
		char tok[64];
		memset(&cfg, 0, sizeof cfg);
		if (rows[i].token) {
			snprintf(tok, sizeof tok, "%s", rows[i].token);
			cfg.admin_token = tok;
		}
		memset(&q, 0, sizeof q);
		q.h_authorization = rows[i].header;
		tp_resp_init(&r);
		if (tp_admin_authorize(&q, &r, &cfg) != rows[i].ok)
			ROW_FAIL(rows[i].line, "expected %s\n", rows[i].ok ? "admin" : "refused");
		if (rows[i].ok) {
			if (!q.auth_subject || strcmp(q.auth_subject, "admin") != 0 || r.status)
				ROW_FAIL(rows[i].line, "accepted without the admin subject\n");
		} else {
			refused(rows[i].line, &q, &r,
			        "WWW-Authenticate: Bearer realm=\"twiliopay-admin\"");
		}
		tp_resp_free(&r);
	}
}

static void test_connector(void **state)
{
	static const struct {
		int line;
		const char *user, *pass; /* configured; NULL: not */
		const char *header;
		bool ok;
	} rows[] = {
	    /* "twilio:pay-pass" */
	    {__LINE__, "twilio", "pay-pass", "Basic dHdpbGlvOnBheS1wYXNz", true},
	    /* "twilio:pay-pas", "twilio:pay-pass2", "twili:pay-pass" */
	    {__LINE__, "twilio", "pay-pass", "Basic dHdpbGlvOnBheS1wYXM=", false},
	    {__LINE__, "twilio", "pay-pass", "Basic dHdpbGlvOnBheS1wYXNzMg==", false},
	    {__LINE__, "twilio", "pay-pass", "Basic dHdpbGk6cGF5LXBhc3M=", false},
	    /* ":" against an unconfigured connector. */
	    {__LINE__, NULL, NULL, "Basic Og==", false},
	    {__LINE__, "twilio", NULL, "Basic dHdpbGlvOg==", false},
	    {__LINE__, "twilio", "pay-pass", NULL, false},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_config cfg;
		tp_req q;
		tp_resp r;
		char u[32], p[32];
		memset(&cfg, 0, sizeof cfg);
		if (rows[i].user) {
			snprintf(u, sizeof u, "%s", rows[i].user);
			cfg.connector_username = u;
		}
		if (rows[i].pass) {
			snprintf(p, sizeof p, "%s", rows[i].pass);
			cfg.connector_password = p;
		}
		memset(&q, 0, sizeof q);
		q.h_authorization = rows[i].header;
		tp_resp_init(&r);
		if (tp_connector_authorize(&q, &r, &cfg) != rows[i].ok)
			ROW_FAIL(rows[i].line, "expected %s\n",
			         rows[i].ok ? "accepted" : "refused");
		if (rows[i].ok) {
			if (!q.auth_subject || strcmp(q.auth_subject, "connector") != 0)
				ROW_FAIL(rows[i].line, "accepted without the connector subject\n");
		} else {
			refused(rows[i].line, &q, &r,
			        "WWW-Authenticate: Basic realm=\"twiliopay-connector\"");
		}
		tp_resp_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_parse),
	    cmocka_unit_test(test_admin),
	    cmocka_unit_test(test_connector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
