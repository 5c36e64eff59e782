/*
 * auth.c - credentials for the endpoints that are not Twilio webhooks:
 * the admin bearer token and the Generic Pay Connector's Basic auth.
 * Secrets are compared in constant time (lighttpd src/ck.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

tp_rc tp_basic_auth_parse(const char *header, char **user, char **pass)
{
	tp_buf dec;
	const char *p, *colon;

	if (!header || strncasecmp(header, "Basic ", 6) != 0)
		return TP_EINVAL;
	p = header + 6;
	while (*p == ' ')
		p++;
	tp_buf_init(&dec, 1024);
	if (tp_b64_decode(&dec, p, strlen(p)) != TP_OK || !dec.ptr ||
	    memchr(dec.ptr, '\0', dec.len)) {
		tp_buf_free(&dec);
		return TP_EINVAL;
	}
	colon = strchr(dec.ptr, ':');
	if (!colon) {
		tp_buf_free(&dec);
		return TP_EINVAL;
	}
	*user = tp_xstrndup(dec.ptr, (size_t)(colon - dec.ptr));
	*pass = tp_xstrdup(colon + 1);
	tp_buf_free(&dec);
	return TP_OK;
}

bool tp_admin_authorize(tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *h = req->h_authorization;

	if (cfg->admin_token && h && strncasecmp(h, "Bearer ", 7) == 0 &&
	    tp_ct_streq(h + 7, cfg->admin_token)) {
		req->auth_subject = "admin";
		return true;
	}
	tp_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"twiliopay-admin\"");
	tp_reply_error(resp, TP_S_UNAUTHORIZED, "unauthorized",
	               "this endpoint needs Authorization: Bearer <ADMIN_TOKEN>");
	return false;
}

bool tp_connector_authorize(tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	char *user = NULL, *pass = NULL;
	bool ok = false;

	if (cfg->connector_username && cfg->connector_password &&
	    tp_basic_auth_parse(req->h_authorization, &user, &pass) == TP_OK) {
		/* Both compared in full, whatever the first gives. */
		bool u = tp_ct_streq(user, cfg->connector_username);
		bool p = tp_ct_streq(pass, cfg->connector_password);
		ok = u && p;
	}
	free(user);
	free(pass);
	if (ok) {
		req->auth_subject = "connector";
		return true;
	}
	tp_resp_header(resp, "WWW-Authenticate", "Basic realm=\"twiliopay-connector\"");
	tp_reply_error(resp, TP_S_UNAUTHORIZED, "unauthorized",
	               "the connector credentials are missing or wrong");
	return false;
}
