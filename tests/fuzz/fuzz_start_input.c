/* startCapture's fields (lib/capture_input.c) through the request
 * pipeline: input = one byte choosing JSON or form, then the body.  Every
 * request is either refused with a 400 or read into an input that keeps
 * the rules: an allowed upper-case currency, at most its places, an
 * amount below the limit whose text reads back as the same minor units,
 * a token type only when tokenizing, a bank account type only for ACH. */
#include "fuzz.h"

static tp_config cfg;
static char allowed[] = "EUR,JPY,KWD";

static void check(const tp_req *req, tp_resp *resp, const tp_config *c)
{
	tp_start_input in;
	int64_t back;

	tp_start_input_init(&in);
	if (!tp_start_input_or_reply(req, resp, c, &in)) {
		FUZZ_ASSERT(resp->status == TP_S_BAD_REQUEST);
		goto out;
	}
	FUZZ_ASSERT(in.target.call_sid || in.target.uui);
	FUZZ_ASSERT(strlen(in.currency) == 3 && tp_payopts_currency_allowed(c, in.currency));
	FUZZ_ASSERT(in.places == tp_payopts_places(in.currency));
	FUZZ_ASSERT(in.minor >= 0 && tp_amount_below_limit(in.minor, in.places));
	if (in.minor > 0) {
		FUZZ_ASSERT(tp_money_parse(tp_buf_str(&in.amount), in.places, &back) == TP_OK);
		FUZZ_ASSERT(back == in.minor);
	} else {
		FUZZ_ASSERT(in.amount.len == 0);
		FUZZ_ASSERT(tp_str_eq(in.token_type, "one-time") ||
		            tp_str_eq(in.token_type, "reusable"));
	}
	FUZZ_ASSERT(!in.bank_account_type || in.ach);
	FUZZ_ASSERT(!in.parameters || in.parameters[0] == '{');
	tp_reply_text(resp, TP_S_OK, "ok");
out:
	tp_start_input_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const tp_handler h = {.name = "f", .fn = check};
	tp_buf cl, out;
	const char *env[7];

	if (size < 1)
		return 0;
	if (!cfg.server_url) {
		cfg.server_url = tp_xstrdup("https://pay.example.com");
		cfg.max_body_bytes = 65536;
		tp_log_set_level(TP_LOG_ERROR);
	}
	/* Half the runs with ALLOWED_CURRENCIES set, as config.c leaves it. */
	cfg.allowed_currencies = data[0] & 2 ? allowed : NULL;
	tp_buf_init(&cl, 64);
	tp_buf_init(&out, 1u << 22);
	tp_buf_addf(&cl, "CONTENT_LENGTH=%zu", size - 1);
	env[0] = "REQUEST_METHOD=POST";
	env[1] = "DOCUMENT_URI=/aap/startCapture";
	env[2] = "REQUEST_URI=/aap/startCapture";
	env[3] = "QUERY_STRING=";
	env[4] = data[0] & 1 ? "CONTENT_TYPE=application/x-www-form-urlencoded"
	                     : "CONTENT_TYPE=application/json";
	env[5] = tp_buf_str(&cl);
	env[6] = NULL;
	tp_process_cgi(&h, &cfg, env, (const char *)data + 1, size - 1, &out);
	FUZZ_ASSERT(strncmp(tp_buf_str(&out), "Status: ", 8) == 0);
	tp_buf_free(&cl);
	tp_buf_free(&out);
	return 0;
}
