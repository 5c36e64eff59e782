/*
 * tokenize - /connector/tokenize, Twilio's Generic Pay Connector endpoint
 * (twilio-contract.md section 5, lib/connector.c).
 *
 * Twilio's current connector posts every transaction to the one Endpoint
 * URL configured in Console and names the operation in the JSON "method";
 * this binary therefore serves "charge" as well, and uses "tokenize" only when
 * the body names no method (the older connector, which posted to
 * .../tokenize).  Either path works as the Endpoint URL; docs/operating.md
 * recommends https://<host>/connector/charge.
 */
#include "twiliopay.h"

static void tokenize(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	tp_connector_handle(req, resp, cfg, TP_CONN_TOKENIZE);
}

static const tp_handler handler = {
    .name = "tokenize",
    .fn = tokenize,
    .authorize = tp_connector_authorize,
    .need = tp_connector_need,
    .init = tp_gateway_init,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
