/*
 * callToSIP - voice webhook of the Twilio phone number (DESIGN.md;
 * twilio-contract.md sections 7.1, 8, 11).  Also serves the original's
 * /pv/callToSIPwithRefer alias.
 *
 * An inbound PSTN call is dialled on to the contact centre's SIP domain,
 * sip:<To>@<SIP_DOMAIN_URI>.  The PSTN CallSid travels as the User-to-User
 * header, hex-encoded with an explicit ;encoding=hex so Genesys reads the
 * id itself (lib/voice.c explains the encoding); the answered callback
 * records uuiMap[CallSid] = {uui, pstnSid} through /sync/uuiSyncUpdate.
 * With ENABLE_REFER (or the withRefer path) the <Dial> also gets
 * answerOnBridge and referUrl, so the contact centre can transfer the call
 * with a SIP REFER (handled by /pv/callTransfer).
 */
#include "twiliopay.h"

static const char *const need[] = {"AUTH_TOKEN", "SERVER_URL", "SIP_DOMAIN_URI", NULL};

static void call_to_sip(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *call_sid = tp_req_require_sid_or_reply(req, resp, "CallSid", "CA");

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	{
		const tp_voice_route r = {
		    .uui = call_sid,
		    .callback_uui = call_sid,
		    .refer = cfg->enable_refer || tp_voice_refer_path(req->path),
		};
		tp_voice_reply_to_sip(req, resp, cfg, &r);
	}
}

static const tp_handler handler = {
    .name = "callToSIP",
    .fn = call_to_sip,
    /* A phone number's voice URL may be configured as GET. */
    .flags = TP_H_TWILIO_SIGNED | TP_H_ALLOW_GET,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
