/*
 * consoleConfig - GET /aap/config: what this server accepts for a
 * payment, so the agent console offers exactly that (docs/api.md "Agent API").
 * Agent token required: it says nothing secret, but nothing here is for
 * anyone but agents.
 *
 *   200 {"currencies": ["USD", ...], "defaultCurrency": "USD",
 *        "currencyRules": {"USD": {"places": 2, "maxAmount": "999999.99"}, ...},
 *        "paymentMethods": ["credit-card", "ach-debit"],
 *        "tokenTypes": ["reusable", "one-time"],
 *        "includeCvc": true, "includePostalCode": false,
 *        "captureOrder": {"credit-card": [...], "ach-debit": [...]}}
 *
 * Built from the configuration only (lib/payopts.c): no Twilio request.
 */
#include "twiliopay.h"

static const char *const need[] = {"AGENT_SECRET", "AGENTS_FILE|AGENTS_SYNC_MAP", NULL};

static void console_config(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	(void)req;
	/* Changes only when the operator edits the configuration; the
	 * console reads it once per sign-in. */
	tp_resp_header(resp, "Cache-Control", "no-store");
	tp_reply_json_take(resp, TP_S_OK, tp_payopts_json(cfg));
}

static const tp_handler handler = {
    .name = "consoleConfig",
    .fn = console_config,
    .flags = TP_H_GET_ONLY,
    .authorize = tp_agent_authorize,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
