/*
 * tollfreeCallToSIP - voice webhook of a Twilio toll-free number (the Node
 * original's /pv/tollfreeCallToSIP; twilio-contract.md sections 7.1, 8).
 *
 * As callToSIP, the inbound PSTN call is dialled on to the contact
 * centre's SIP domain, sip:<To>@<SIP_DOMAIN_URI>.  The User-to-User value
 * is not the CallSid but the call's TollFreeMobileOriginationLocation,
 * which Twilio adds when the caller is on a mobile phone, so the contact
 * centre sees where a mobile caller is; a landline caller's call goes
 * without User-to-User.  Hex-encoded with ;encoding=hex like every UUI we
 * send (lib/voice.c).  No answered callback: nothing is recorded in
 * uuiMap, as in the original, so an agent attaches to such a call by its
 * Call SID.  ENABLE_REFER adds answerOnBridge and referUrl as for the
 * other routes.
 *
 * Fixed from the Node original: a landline call sent the literal
 * "User-to-User=undefined"; the value went into the SIP URI unencoded; the
 * URI had no sip: scheme; a To that was not a number was dialled anyway.
 */
#include "twiliopay.h"

static const char *const need[] = {"AUTH_TOKEN", "SERVER_URL", "SIP_DOMAIN_URI", NULL};

static void tollfree_call_to_sip(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *call_sid = tp_req_require_sid_or_reply(req, resp, "CallSid", "CA");

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	{
		const tp_voice_route r = {
		    .uui = tp_voice_tollfree_location(req),
		    .refer = cfg->enable_refer,
		};
		tp_voice_reply_to_sip(req, resp, cfg, &r);
	}
}

static const tp_handler handler = {
    .name = "tollfreeCallToSIP",
    .fn = tollfree_call_to_sip,
    /* A phone number's voice URL may be configured as GET. */
    .flags = TP_H_TWILIO_SIGNED | TP_H_ALLOW_GET,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
