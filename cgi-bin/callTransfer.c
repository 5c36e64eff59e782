/*
 * callTransfer - the REFER webhook (referUrl of the <Dial>s that
 * callToSIP and callToPSTN emit with ENABLE_REFER; twilio-contract.md
 * sections 7.3, 8, 11).
 *
 * The contact centre transferred the call with a SIP REFER; Twilio posts
 * the Refer-To contents as ReferTransferTarget.  A sip:/sips: target is
 * dialled as <Sip> carrying the UUI as User-to-User, a tel: URI or a bare
 * number as <Number> (E.164 only); both with the answered callback, so the
 * transfer re-maps uuiMap[UUI] to the new PSTN leg.  The UUI is preserved:
 * a User-to-User header inside the Refer-To URI when the transferring side
 * set one, else the call's own (x-inin-cnv, User-to-User, CallSid).
 * Anything else is answered with <Reject reason="busy"/>, as the original;
 * a target the toll-fraud rule refuses (a SIP host other than
 * SIP_DOMAIN_URI's, a premium-rate number: lib/dial.c) with
 * <Reject reason="rejected"/>.
 *
 * The new <Dial> carries referUrl again (answerOnBridge too), so a call
 * that was transferred once can be transferred again; without referUrl a
 * second REFER would fail with Twilio error 13802.
 *
 * Fixed from the Node original: a missing target was a 500; "sip:alice@x"
 * became "sip:+alice@x"; a target that already carried User-to-User got a
 * second one (Genesys discards all UUI then); tel: targets were rejected;
 * the UUI went into URLs unencoded; a From that was not a number became
 * the callerId.
 */
#include "twiliopay.h"

static const char *const need[] = {"AUTH_TOKEN", "SERVER_URL", NULL};

static void call_transfer(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *call_sid = tp_req_require_sid_or_reply(req, resp, "CallSid", "CA");
	const char *target = tp_req_param(req, "ReferTransferTarget");
	char caller[TP_VOICE_E164_SIZE];
	tp_voice_uui_source src;
	tp_voice_target t;
	tp_buf uui, sip, cb, refer_url;
	tp_rc rc;

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	tp_resp_log(resp, "target", target);
	if (!target || !*target) {
		tp_voice_reply_reject(resp, "busy", "ReferTransferTarget is missing");
		return;
	}
	if (tp_voice_refer_target(target, &t) != TP_OK) {
		tp_voice_reply_reject(
		    resp, "busy", "ReferTransferTarget is neither a SIP URI nor an E.164 number");
		return;
	}
	tp_buf_init(&uui, TP_VOICE_URI_MAX);
	tp_buf_init(&sip, TP_VOICE_URI_MAX);
	tp_buf_init(&cb, TP_VOICE_URI_MAX);
	tp_buf_init(&refer_url, TP_VOICE_URI_MAX);
	if (t.uui) {
		tp_buf_adds(&uui, t.uui);
		src = TP_VOICE_UUI_REFER_TO;
	} else {
		src = tp_voice_uui_select(req, &uui);
	}
	tp_resp_log(resp, "uui", tp_buf_str(&uui));
	tp_resp_log(resp, "uui_source", tp_voice_uui_source_str(src));
	tp_buf_addf(&refer_url, "%s/pv/callTransfer", cfg->server_url);

	if (t.sip) {
		rc = tp_voice_sip_uri(&sip, &t.uri, tp_buf_str(&uui));
		if (rc != TP_OK) {
			tp_voice_reply_reject(resp, "busy",
			                      "ReferTransferTarget headers are too long for Twilio "
			                      "(21227)");
			goto out;
		}
		/* Toll fraud: the REFER chooses the target (lib/dial.c). */
		if (!tp_dial_allowed_or_reply(cfg, resp, TP_DIAL_SIP, tp_buf_str(&sip)))
			goto out;
		tp_voice_callback_url(&cb, cfg->server_url, "toSIP", tp_buf_str(&uui));
		{
			const tp_voice_dial d = {
			    .refer_url = tp_buf_str(&refer_url),
			    .sip = true,
			    .target = tp_buf_str(&sip),
			    .callback = tp_buf_str(&cb),
			};
			tp_voice_reply_dial(resp, &d);
		}
	} else {
		const char *from = tp_req_param(req, "From");
		if (!tp_dial_allowed_or_reply(cfg, resp, TP_DIAL_NUMBER, t.number))
			goto out;
		if (tp_voice_number(from, caller) != TP_OK) {
			caller[0] = '\0';
			tp_log_kv(TP_LOG_WARN,
			          "From holds no E.164 number; dialling without callerId", "call",
			          call_sid, "from", from);
		}
		tp_voice_callback_url(&cb, cfg->server_url, "toPSTN", tp_buf_str(&uui));
		{
			const tp_voice_dial d = {
			    .caller_id = caller[0] ? caller : NULL,
			    .refer_url = tp_buf_str(&refer_url),
			    .sip = false,
			    .target = t.number,
			    .callback = tp_buf_str(&cb),
			};
			tp_voice_reply_dial(resp, &d);
		}
	}
out:
	tp_voice_target_free(&t);
	tp_buf_free(&uui);
	tp_buf_free(&sip);
	tp_buf_free(&cb);
	tp_buf_free(&refer_url);
}

static const tp_handler handler = {
    .name = "callTransfer",
    .fn = call_transfer,
    .flags = TP_H_TWILIO_SIGNED | TP_H_ALLOW_GET,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
