/*
 * simpleCallToPSTN - voice webhook of a Twilio SIP domain without call
 * correlation (the Node original's /pv/simpleCallToPSTN;
 * twilio-contract.md sections 7.1, 8).
 *
 * The contact centre calls out: the E.164 number of To's user part is
 * dialled with the caller ID from From when that holds an E.164 number,
 * exactly as callToPSTN, but with no User-to-User and no answered
 * callback: nothing is recorded in uuiMap, so a payment on such a call is
 * attached by its Call SID.  ENABLE_REFER adds answerOnBridge and referUrl
 * as for the other routes.
 *
 * Fixed from the Node original: a To or From its regex did not match
 * crashed the function (HTTP 500); numbers without '+', sips:, tel: and
 * URI parameters or ports were not understood; a From without a number
 * became "callerId=undefined".
 */
#include "twiliopay.h"

static const char *const need[] = {"AUTH_TOKEN", "SERVER_URL", NULL};

static void simple_call_to_pstn(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *call_sid = tp_req_require_sid_or_reply(req, resp, "CallSid", "CA");

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	{
		const tp_voice_route r = {.refer = cfg->enable_refer};
		tp_voice_reply_to_pstn(req, resp, cfg, &r);
	}
}

static const tp_handler handler = {
    .name = "simpleCallToPSTN",
    .fn = simple_call_to_pstn,
    /* A SIP domain's voice URL may be configured as GET. */
    .flags = TP_H_TWILIO_SIGNED | TP_H_ALLOW_GET,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
