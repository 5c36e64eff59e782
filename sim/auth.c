/*
 * auth.c - HTTP Basic auth of the REST APIs (contract 1.1): the account's
 * SID and auth token, or an API key SID and its secret.  Anything else is
 * Twilio's 401 with code 20003 "Authenticate".
 */
#include <stdlib.h>
#include <string.h>

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

bool sim_auth_check(sim_req *rq, sim_resp *rs)
{
	char *user = NULL, *pass = NULL;
	bool ok = false;

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
	sim_resp_twilio_error(rs, 401, 20003, "Authenticate");
	/* Twilio adds a human-readable "detail" to its 401s (contract 1.2);
	 * clients read code/message/status and ignore it. */
	{
		cJSON *j = cJSON_ParseWithLength(rs->body.ptr, rs->body.len);
		if (j) {
			cJSON_AddStringToObject(j, "detail",
			                        "Your AccountSid or AuthToken was incorrect.");
			sim_resp_json(rs, 401, j);
		}
	}
	sim_resp_header(rs, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
	return false;
}
