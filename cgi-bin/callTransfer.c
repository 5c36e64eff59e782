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

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	tp_voice_reply_transfer(req, resp, cfg);
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
