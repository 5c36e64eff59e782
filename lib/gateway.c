/*
 * gateway.c - the seam between the Pay Connector and a payment gateway.
 *
 * connector.c validates what Twilio sends and calls tp_gateway_submit with
 * a tp_conn_req; whatever this file answers goes back to Twilio as the
 * charge_id / token_id or as error_code / error_message.  This is the one
 * place to connect a real gateway:
 *
 *   1. add its name to the `gateways` table and a submit function, in a
 *      file of its own (gateway_<name>.c), that calls the gateway's API
 *      with tp_http_do (Basic/Bearer auth, JSON or form body) using the
 *      request's transaction_id as the gateway's idempotency key, so a
 *      Twilio retry cannot charge twice;
 *   2. map the gateway's answer onto tp_gw_result: its charge or token id
 *      on approval, else a short machine code and a message the agent can
 *      read out (Twilio shows it as PaymentError);
 *   3. keep card data out of logs and errors: pass only brand and last
 *      four to tp_log_kv, never the request body.
 *
 * The built-in gateway is the sandbox (gateway_sandbox.c), which moves no
 * money.  PAYMENT_GATEWAY picks the gateway; when it is unset the sandbox
 * is used only while the Twilio URLs point somewhere other than Twilio
 * (the emulator, the fixture tests), so a production configuration cannot
 * fall into "approve everything" by omission.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef void (*submit_fn)(const tp_config *cfg, const tp_conn_req *rq, tp_gw_result *out);

static const struct {
	const char *name;
	submit_fn submit;
} gateways[] = {
    {"sandbox", tp_gateway_sandbox_submit},
};

/* Chosen by tp_gateway_init; the sandbox until then (unit tests). */
static submit_fn chosen = tp_gateway_sandbox_submit;

/* True when url's host is twilio.com or a subdomain of it. */
static bool is_twilio(const char *url)
{
	const char *h = url ? strstr(url, "://") : NULL;
	size_t n;

	if (!h)
		return false;
	h += 3;
	n = strcspn(h, ":/");
	if (n == 10 && strncmp(h, "twilio.com", 10) == 0)
		return true;
	return n > 11 && strncmp(h + n - 11, ".twilio.com", 11) == 0;
}

bool tp_gateway_init(const tp_config *cfg)
{
	const char *name = cfg->payment_gateway;
	size_t i;

	if (!name) {
		if (is_twilio(cfg->twilio_api_url)) {
			tp_log(TP_LOG_ERROR,
			       "PAYMENT_GATEWAY is not set and TWILIO_API_URL is Twilio's own: "
			       "the sandbox gateway approves payments without moving money. "
			       "Set PAYMENT_GATEWAY=sandbox to accept that (test accounts), or "
			       "connect a real gateway in lib/gateway.c");
			return false;
		}
		name = "sandbox";
	}
	for (i = 0; i < sizeof gateways / sizeof gateways[0]; i++) {
		if (tp_str_eq(name, gateways[i].name)) {
			chosen = gateways[i].submit;
			if (chosen == tp_gateway_sandbox_submit)
				tp_log_kv(TP_LOG_INFO, "payment gateway: sandbox (no money moves)",
				          "gateway", name);
			return true;
		}
	}
	tp_log_kv(TP_LOG_ERROR, "PAYMENT_GATEWAY names no gateway this build has (sandbox)",
	          "gateway", name);
	return false;
}

void tp_gateway_submit(const tp_config *cfg, const tp_conn_req *rq, tp_gw_result *out)
{
	memset(out, 0, sizeof *out);
	chosen(cfg, rq, out);
}
