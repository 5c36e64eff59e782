/*
 * callToPSTN - voice webhook of the Twilio SIP domain (DESIGN.md;
 * twilio-contract.md sections 7.1, 8, 11).  Also serves the original's
 * /pv/callToPSTNwithRefer alias.
 *
 * The contact centre calls out: Twilio posts To = the request URI
 * (sip:+61290001234@customer.sip.twilio.com) and From = the caller's URI.
 * We dial the E.164 number of To's user part, with the caller ID taken
 * from From when that holds an E.164 number, and an answered callback that
 * records uuiMap[UUI] = {uui, pstnSid = the PSTN leg} through
 * /sync/uuiSyncUpdate.  The UUI is the Genesys conversation id
 * (SipHeader_x-inin-cnv), else the INVITE's User-to-User, else the CallSid.
 *
 * Fixed from the Node original: a To or From its regex did not match
 * crashed the function (HTTP 500, the caller heard an application error);
 * numbers without '+', sips: and URI parameters or ports were not
 * understood; a missing x-inin-cnv gave a Date.now() UUI nothing else
 * knew; the UUI went into the callback URL unencoded.
 */
#include "twiliopay.h"

static const char *const need[] = {"AUTH_TOKEN", "SERVER_URL", NULL};

static void call_to_pstn(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *call_sid = tp_req_require_sid_or_reply(req, resp, "CallSid", "CA");
	tp_voice_uui_source src;
	tp_buf uui;

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	tp_buf_init(&uui, TP_VOICE_URI_MAX);
	src = tp_voice_uui_select(req, &uui);
	tp_resp_log(resp, "uui", tp_buf_str(&uui));
	tp_resp_log(resp, "uui_source", tp_voice_uui_source_str(src));
	{
		const tp_voice_route r = {
		    .callback_uui = tp_buf_str(&uui),
		    .refer = cfg->enable_refer || tp_voice_refer_path(req->path),
		};
		tp_voice_reply_to_pstn(req, resp, cfg, &r);
	}
	tp_buf_free(&uui);
}

static const tp_handler handler = {
    .name = "callToPSTN",
    .fn = call_to_pstn,
    /* A SIP domain's voice URL may be configured as GET. */
    .flags = TP_H_TWILIO_SIGNED | TP_H_ALLOW_GET,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
