/* The whole request pipeline (tp_process_cgi): input =
 * content-type \0 query \0 signature \0 body.  Never crashes, always
 * answers with a status line. */
#include "fuzz.h"

static void echo(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	(void)cfg;
	tp_reply_text(resp, 200, tp_req_param(req, "a") ? tp_req_param(req, "a") : "-");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const tp_handler open_h = {.name = "f", .fn = echo, .flags = TP_H_ALLOW_GET};
	static const tp_handler signed_h = {.name = "f", .fn = echo, .flags = TP_H_TWILIO_SIGNED};
	static tp_config cfg;
	char *s = fuzz_cstr(data, size);
	char *part[4] = {0};
	tp_buf ct, qs, uri, sig, cl, out;
	const char *env[8];

	if (!cfg.server_url) {
		cfg.server_url = tp_xstrdup("https://pay.example.com");
		cfg.auth_token = tp_xstrdup("0123456789abcdef0123456789abcdef");
		cfg.max_body_bytes = 65536;
		tp_log_set_level(TP_LOG_ERROR);
	}
	if (fuzz_split(s, size, part, 3) == 4) {
		size_t blen = size - (size_t)(part[3] - s);
		tp_buf_init(&ct, 1u << 20);
		tp_buf_init(&qs, 1u << 20);
		tp_buf_init(&uri, 1u << 20);
		tp_buf_init(&sig, 1u << 20);
		tp_buf_init(&cl, 64);
		tp_buf_init(&out, 1u << 22);
		tp_buf_addf(&ct, "CONTENT_TYPE=%s", part[0]);
		tp_buf_addf(&qs, "QUERY_STRING=%s", part[1]);
		tp_buf_addf(&uri, "REQUEST_URI=/f?%s", part[1]);
		tp_buf_addf(&sig, "HTTP_X_TWILIO_SIGNATURE=%s", part[2]);
		tp_buf_addf(&cl, "CONTENT_LENGTH=%zu", blen);
		env[0] = "REQUEST_METHOD=POST";
		env[1] = "DOCUMENT_URI=/f";
		env[2] = tp_buf_str(&ct);
		env[3] = tp_buf_str(&qs);
		env[4] = tp_buf_str(&uri);
		env[5] = tp_buf_str(&sig);
		env[6] = tp_buf_str(&cl);
		env[7] = NULL;
		tp_process_cgi(&open_h, &cfg, env, part[3], blen, &out);
		FUZZ_ASSERT(strncmp(tp_buf_str(&out), "Status: ", 8) == 0);
		tp_buf_reset(&out);
		tp_process_cgi(&signed_h, &cfg, env, part[3], blen, &out);
		FUZZ_ASSERT(strncmp(tp_buf_str(&out), "Status: ", 8) == 0);
		tp_buf_free(&ct);
		tp_buf_free(&qs);
		tp_buf_free(&uri);
		tp_buf_free(&sig);
		tp_buf_free(&cl);
		tp_buf_free(&out);
	}
	free(s);
	return 0;
}
