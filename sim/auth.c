/*
 * auth.c - HTTP Basic auth of the REST APIs (contract 1.1): the account's
 * SID and auth token, or an API key SID and its secret.  Anything else is
 * Twilio's 401 with code 20003 "Authenticate".
 *
 * Sync also takes an Access Token (contract 10), the credential of the
 * Sync SDKs: real Sync reads it on its client connection, the emulator in
 * an X-Twilio-Token header on the same REST paths, so a test can act as a
 * token holder.  An invalid token is 401 20101 ("Invalid Access Token"),
 * an expired one 401 20104 (Twilio error pages).  What the token's
 * identity may then touch (the service's ACL, the Permissions resource)
 * is sync.c's business.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static bool pair_ok(const char *user, const char *pass, const char *want_user,
                    const char *want_pass)
{
	if (!want_user || !want_pass || !*want_user || !*want_pass)
		return false;
	/* Both compared in constant time: the secret's length is the only
	 * thing the timing can tell. */
	return tp_ct_streq(user, want_user) & tp_ct_streq(pass, want_pass);
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* TP_OK when the token is good (identity and service set), TP_EEXPIRED
 * when it is past its exp, TP_EAUTH otherwise. */
static tp_rc token_check(sim_req *rq)
{
	cJSON *payload = NULL;
	const cJSON *grants, *sync, *exp;
	const char *identity, *service;
	tp_rc rc = TP_EAUTH;

	if (!sim_conf.api_key || !sim_conf.api_secret ||
	    tp_jwt_verify_hs256(rq->twilio_token, sim_conf.api_secret, NULL, &payload) != TP_OK)
		return rc;
	grants = cJSON_GetObjectItemCaseSensitive(payload, "grants");
	sync = cJSON_GetObjectItemCaseSensitive(grants, "data_sync");
	identity = jstr(grants, "identity");
	service = jstr(sync, "service_sid");
	exp = cJSON_GetObjectItemCaseSensitive(payload, "exp");
	if (!tp_str_eq(jstr(payload, "iss"), sim_conf.api_key) ||
	    !tp_str_eq(jstr(payload, "sub"), sim_conf.account_sid) || !identity || !*identity ||
	    !service || !cJSON_IsNumber(exp))
		goto out;
	if (exp->valuedouble <= (double)time(NULL)) {
		rc = TP_EEXPIRED;
		goto out;
	}
	rq->token_identity = tp_xstrdup(identity);
	rq->token_service = tp_xstrdup(service);
	rq->auth_user = "token";
	rc = TP_OK;
out:
	cJSON_Delete(payload);
	return rc;
}

bool sim_auth_check(sim_req *rq, sim_resp *rs, bool token_ok)
{
	char *user = NULL, *pass = NULL;
	bool ok = false;

	if (token_ok && rq->twilio_token && !rq->authorization) {
		tp_rc rc = token_check(rq);
		if (rc == TP_OK)
			return true;
		if (rc == TP_EEXPIRED)
			sim_resp_twilio_error(rs, TP_S_UNAUTHORIZED, 20104,
			                      "Access Token expired or expiration date invalid");
		else
			sim_resp_twilio_error(rs, TP_S_UNAUTHORIZED, 20101, "Invalid Access Token");
		return false;
	}

	if (rq->authorization && tp_basic_auth_parse(rq->authorization, &user, &pass) == TP_OK) {
		if (pair_ok(user, pass, sim_conf.account_sid, sim_conf.auth_token) ||
		    pair_ok(user, pass, sim_conf.api_key, sim_conf.api_secret)) {
			ok = true;
			rq->auth_user = tp_str_prefix(user, "SK") ? "api-key" : "account";
		}
	}
	if (pass)
		explicit_bzero(pass, strlen(pass));
	free(user);
	free(pass);
	if (ok)
		return true;
	sim_resp_twilio_error(rs, TP_S_UNAUTHORIZED, TP_TW_AUTHENTICATE, "Authenticate");
	/* Twilio adds a human-readable "detail" to its 401s (contract 1.2);
	 * clients read code/message/status and ignore it. */
	{
		cJSON *j = cJSON_ParseWithLength(rs->body.ptr, rs->body.len);
		if (j) {
			cJSON_AddStringToObject(j, "detail",
			                        "Your AccountSid or AuthToken was incorrect.");
			sim_resp_json(rs, TP_S_UNAUTHORIZED, j);
		}
	}
	sim_resp_header(rs, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
	return false;
}
