/* Credentials that are not Twilio signatures (lib/auth.c): the Generic Pay
 * Connector's HTTP Basic and the admin bearer token, through the request
 * pipeline, and the Accept header (lib/req.c).
 *
 * Input: the Authorization header value \0 the Accept header value.
 * Properties: no crash; tp_basic_auth_parse succeeds only for "Basic "
 * (any case) and base64 of user:password, and then splits at the first
 * ':'; the connector endpoint lets a request through only with exactly the
 * configured user and password, the admin endpoint only with exactly
 * "Bearer <ADMIN_TOKEN>"; every refusal is a 401 JSON error. */
#include <strings.h>

#include "fuzz.h"

#define USER  "twilio-connector"
#define PASS  "s3cret:with:colons"
#define ADMIN "admin-token-0123456789abcdef"

static void ok(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	(void)cfg;
	tp_reply_text(resp, 200, req->auth_subject ? req->auth_subject : "");
}

static long run(const tp_handler *h, const tp_config *cfg, const char *auth, const char *accept)
{
	tp_buf out, a, b;
	const char *env[6];
	long st;

	tp_buf_init(&out, 1u << 20);
	tp_buf_init(&a, 1u << 16);
	tp_buf_init(&b, 1u << 16);
	tp_buf_addf(&a, "HTTP_AUTHORIZATION=%s", auth);
	tp_buf_addf(&b, "HTTP_ACCEPT=%s", accept);
	env[0] = "REQUEST_METHOD=POST";
	env[1] = "DOCUMENT_URI=/connector/charge";
	env[2] = tp_buf_str(&a);
	env[3] = tp_buf_str(&b);
	env[4] = NULL;
	tp_process_cgi(h, cfg, env, NULL, 0, &out);
	FUZZ_ASSERT(strncmp(tp_buf_str(&out), "Status: ", 8) == 0);
	st = strtol(tp_buf_str(&out) + 8, NULL, 10);
	if (st != 200)
		FUZZ_ASSERT(st == 401 && strstr(tp_buf_str(&out), "\r\n\r\n{\"error\":"));
	tp_buf_free(&out);
	tp_buf_free(&a);
	tp_buf_free(&b);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tp_config cfg;
	static const tp_handler conn = {.name = "f", .fn = ok, .authorize = tp_connector_authorize};
	static const tp_handler admin = {.name = "f", .fn = ok, .authorize = tp_admin_authorize};
	char *s = fuzz_cstr(data, size);
	char *part[2] = {s, ""};
	char *user = NULL, *pass = NULL;

	if (!cfg.connector_username) {
		cfg.connector_username = tp_xstrdup(USER);
		cfg.connector_password = tp_xstrdup(PASS);
		cfg.admin_token = tp_xstrdup(ADMIN);
		cfg.server_url = tp_xstrdup("https://pay.example.com");
		cfg.max_body_bytes = 65536;
		tp_log_set_level(TP_LOG_ERROR);
	}
	fuzz_split(s, size, part, 1);
	if (tp_basic_auth_parse(part[0], &user, &pass) == TP_OK) {
		FUZZ_ASSERT(strncasecmp(part[0], "Basic ", 6) == 0);
		FUZZ_ASSERT(!strchr(user, ':'));
	}
	if (run(&conn, &cfg, part[0], part[1]) == 200)
		FUZZ_ASSERT(user && pass && strcmp(user, USER) == 0 && strcmp(pass, PASS) == 0);
	if (run(&admin, &cfg, part[0], part[1]) == 200)
		FUZZ_ASSERT(strncasecmp(part[0], "Bearer ", 7) == 0 &&
		            strcmp(part[0] + 7, ADMIN) == 0);
	free(user);
	free(pass);
	free(s);
	return 0;
}
