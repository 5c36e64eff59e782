/* Twilio's answers (lib/http.c tp_twilio_error_from, lib/paysession.c
 * tp_reply_twilio_error): whatever body and status Twilio, Sync or
 * something in between sends back, the error is read without undefined
 * behaviour, its strings stay within their arrays, and what the agent gets
 * is a JSON object {"error", "code"[, "twilioCode"]} with a status
 * docs/api.md lists, holding no card number.
 *
 * Input: 2 bytes of HTTP status (big-endian, taken modulo 600), then the
 * body. */
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tp_http_resp r;
	tp_twilio_error err;
	tp_resp resp;
	tp_buf red;
	cJSON *j;
	const cJSON *e, *c;
	int st;

	if (size < 2)
		return 0;
	tp_log_set_level(TP_LOG_ERROR);
	memset(&r, 0, sizeof r);
	r.status = ((long)data[0] << 8 | data[1]) % 600;
	tp_buf_init(&r.body, 1u << 20);
	tp_buf_add(&r.body, data + 2, size - 2);
	tp_twilio_error_from(&err, TP_OK, &r);
	FUZZ_ASSERT(err.status == r.status);
	FUZZ_ASSERT(memchr(err.message, '\0', sizeof err.message));
	FUZZ_ASSERT(memchr(err.more_info, '\0', sizeof err.more_info));

	memset(&resp, 0, sizeof resp);
	tp_buf_init(&resp.body, 1u << 20);
	tp_params_init(&resp.log);
	tp_reply_twilio_error(&resp, &err, "creating the payment");
	st = resp.status;
	FUZZ_ASSERT(st == 400 || st == 404 || st == 409 || st == 502 || st == 503);
	j = cJSON_Parse(tp_buf_str(&resp.body));
	FUZZ_ASSERT(cJSON_IsObject(j));
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	c = cJSON_GetObjectItemCaseSensitive(j, "code");
	FUZZ_ASSERT(cJSON_IsString(e) && cJSON_IsString(c) && *c->valuestring);
	tp_buf_init(&red, 1u << 20);
	tp_redact_text(&red, e->valuestring);
	FUZZ_ASSERT(strcmp(tp_buf_str(&red), e->valuestring) == 0);
	tp_buf_free(&red);
	cJSON_Delete(j);

	/* A transport failure carries no status and says so. */
	snprintf(r.error, sizeof r.error, "%.*s", (int)(size - 2 < 255 ? size - 2 : 255),
	         (const char *)data + 2);
	tp_twilio_error_from(&err, TP_ETIMEOUT, &r);
	FUZZ_ASSERT(err.status == 0 && strncmp(err.message, "timed out", 9) == 0);

	tp_buf_free(&resp.body);
	tp_params_free(&resp.log);
	tp_buf_free(&r.body);
	return 0;
}
