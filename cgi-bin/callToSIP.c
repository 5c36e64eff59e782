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
	const char *to = tp_req_param(req, "To");
	bool refer = cfg->enable_refer || tp_voice_refer_path(req->path);
	tp_buf raw, sip, cb, refer_url;
	tp_voice_uri uri;

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	/* A phone number's webhook always has an E.164 To; anything else
	 * cannot name a SIP user we should ring. */
	if (!tp_voice_e164_valid(to)) {
		tp_resp_log(resp, "to", to);
		tp_voice_reply_reject(resp, "rejected", "To is not an E.164 number");
		return;
	}
	tp_buf_init(&raw, TP_VOICE_URI_MAX);
	tp_buf_init(&sip, TP_VOICE_URI_MAX);
	tp_buf_init(&cb, TP_VOICE_URI_MAX);
	tp_buf_init(&refer_url, TP_VOICE_URI_MAX);
	/* The Node original built "<To>@<domain>" without the sip: scheme
	 * (twilio-contract.md section 11). */
	tp_buf_addf(&raw, "sip:%s@%s", to, cfg->sip_domain_uri);
	if (tp_voice_uri_parse(tp_buf_str(&raw), &uri) != TP_OK) {
		/* SIP_DOMAIN_URI passed the configuration check, so this is
		 * unreachable unless that check and the SIP grammar disagree. */
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "bad_sip_domain",
		               "SIP_DOMAIN_URI does not form a SIP URI");
		goto out;
	}
	tp_voice_sip_uri(&sip, &uri, call_sid);
	tp_voice_uri_free(&uri);
	/* Always SIP_DOMAIN_URI here; checked like every dialled target so
	 * the rule stays in one place (lib/dial.c). */
	if (!tp_dial_allowed_or_reply(cfg, resp, TP_DIAL_SIP, tp_buf_str(&sip)))
		goto out;
	tp_voice_callback_url(&cb, cfg->server_url, "toSIP", call_sid);
	tp_buf_addf(&refer_url, "%s/pv/callTransfer", cfg->server_url);
	tp_resp_log(resp, "uui", call_sid);
	tp_resp_log(resp, "refer", refer ? "true" : "false");
	{
		const tp_voice_dial d = {
		    .refer_url = refer ? tp_buf_str(&refer_url) : NULL,
		    .sip = true,
		    .target = tp_buf_str(&sip),
		    .callback = tp_buf_str(&cb),
		};
		tp_voice_reply_dial(resp, &d);
	}
out:
	tp_buf_free(&raw);
	tp_buf_free(&sip);
	tp_buf_free(&cb);
	tp_buf_free(&refer_url);
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
