/*
 * callToSIP - voice webhook of the Twilio phone number (DESIGN.md,
 * twilio-contract.md sections 7.1, 8, 11).
 *
 * An inbound PSTN call is dialled on to the contact centre's SIP domain;
 * the PSTN CallSid travels as the User-to-User header so the agent's side
 * can find this leg again, and the answered callback records
 * uuiMap[CallSid] = {uui, pstnSid} through /sync/uuiSyncUpdate.
 */
#include <string.h>

#include "twiliopay.h"

static const char *const need[] = {"AUTH_TOKEN", "SERVER_URL", "SIP_DOMAIN_URI", NULL};

/* E.164: '+' then 1-15 digits, the first not 0 (ITU-T E.164 section 6). */
static bool is_e164(const char *s)
{
	size_t n;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strspn(s + 1, "0123456789");
	return n >= 2 && n <= 15 && s[1 + n] == '\0';
}

static void reject(tp_resp *resp, const char *why)
{
	tp_buf x;
	static const char *const attrs[] = {"reason", "rejected", NULL};

	tp_buf_init(&x, 4096);
	tp_xml_decl(&x);
	tp_buf_adds(&x, "<Response>");
	tp_xml_open(&x, "Reject", attrs, true);
	tp_buf_adds(&x, "</Response>");
	tp_resp_log(resp, "rejected", why);
	tp_reply_xml(resp, TP_S_OK, tp_buf_str(&x));
	tp_buf_free(&x);
}

static void call_to_sip(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *call_sid = tp_req_require_sid_or_reply(req, resp, "CallSid", "CA");
	const char *to = tp_req_param(req, "To");
	tp_buf sip, cb, x;

	if (!call_sid)
		return;
	tp_resp_log(resp, "call", call_sid);
	if (!is_e164(to)) {
		reject(resp, "To is not an E.164 number");
		return;
	}
	tp_buf_init(&sip, 4096);
	tp_buf_init(&cb, 4096);
	tp_buf_init(&x, 16384);

	/* sip:<To>@<domain>?User-to-User=<CallSid> (section 8: URI headers
	 * are a query string on the <Sip> URI, values percent-encoded). */
	tp_buf_addf(&sip, "sip:%s@%s?User-to-User=", to, cfg->sip_domain_uri);
	tp_url_encode(&sip, call_sid);

	tp_buf_addf(&cb, "%s/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=", cfg->server_url);
	tp_url_encode(&cb, call_sid);

	{
		const char *const sip_attrs[] = {"statusCallbackEvent",
		                                 "answered",
		                                 "statusCallbackMethod",
		                                 "POST",
		                                 "statusCallback",
		                                 tp_buf_str(&cb),
		                                 NULL};
		tp_xml_decl(&x);
		tp_buf_adds(&x, "<Response>");
		tp_xml_open(&x, "Dial", NULL, false);
		tp_xml_open(&x, "Sip", sip_attrs, false);
		tp_xml_text(&x, tp_buf_str(&sip));
		tp_xml_close(&x, "Sip");
		tp_xml_close(&x, "Dial");
		tp_buf_adds(&x, "</Response>");
	}
	tp_reply_xml(resp, TP_S_OK, tp_buf_str(&x));
	tp_buf_free(&sip);
	tp_buf_free(&cb);
	tp_buf_free(&x);
}

static const tp_handler handler = {
    .name = "callToSIP",
    .fn = call_to_sip,
    .flags = TP_H_TWILIO_SIGNED | TP_H_ALLOW_GET,
    .need = need,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
