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
	const char *to = tp_req_param(req, "To");
	const char *from = tp_req_param(req, "From");
	bool refer = cfg->enable_refer || tp_voice_refer_path(req->path);
	char number[TP_VOICE_E164_SIZE], caller[TP_VOICE_E164_SIZE];
	tp_voice_uui_source src;
	tp_buf uui, cb, refer_url;

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	if (tp_voice_number(to, number) != TP_OK) {
		/* TwiML, never a 500: Twilio then ends the call with a clean
		 * rejection instead of "an application error has occurred". */
		tp_resp_log(resp, "to", to);
		tp_voice_reply_reject(resp, "rejected", "To holds no dialable E.164 number");
		return;
	}
	/* Toll fraud: the SIP side chooses the number (lib/dial.c). */
	if (!tp_dial_allowed_or_reply(cfg, resp, TP_DIAL_NUMBER, number))
		return;
	/* The caller ID must be a number; a SIP From such as
	 * sip:agent@10.0.0.5 or "anonymous" has none, and then <Dial> goes
	 * without callerId (Twilio's default) rather than with a made-up one. */
	if (tp_voice_number(from, caller) != TP_OK) {
		caller[0] = '\0';
		tp_log_kv(TP_LOG_WARN, "From holds no E.164 number; dialling without callerId",
		          "call", call_sid, "from", from);
	}
	tp_buf_init(&uui, TP_VOICE_URI_MAX);
	tp_buf_init(&cb, TP_VOICE_URI_MAX);
	tp_buf_init(&refer_url, TP_VOICE_URI_MAX);
	src = tp_voice_uui_select(req, &uui);
	tp_voice_callback_url(&cb, cfg->server_url, "toPSTN", tp_buf_str(&uui));
	tp_buf_addf(&refer_url, "%s/pv/callTransfer", cfg->server_url);
	tp_resp_log(resp, "uui", tp_buf_str(&uui));
	tp_resp_log(resp, "uui_source", tp_voice_uui_source_str(src));
	tp_resp_log(resp, "refer", refer ? "true" : "false");
	{
		const tp_voice_dial d = {
		    .caller_id = caller[0] ? caller : NULL,
		    .refer_url = refer ? tp_buf_str(&refer_url) : NULL,
		    .sip = false,
		    .target = number,
		    .callback = tp_buf_str(&cb),
		};
		tp_voice_reply_dial(resp, &d);
	}
	tp_buf_free(&uui);
	tp_buf_free(&cb);
	tp_buf_free(&refer_url);
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
