/*
 * control.c - the emulator's control API (DESIGN.md "The emulator"), for
 * tests and for the customer phone page.  No authentication: the
 * emulator listens on 127.0.0.1 only.
 *
 *   GET  /sim/health                    200 once ready
 *   GET  /sim/calls                     every call, newest first
 *   POST /sim/calls                     {"from","to","sipHeaders"}: a call arrives;
 *                                       "voiceUrl" (below --server-url) as if the
 *                                       number or domain had that voice URL,
 *                                       "params" further parameters Twilio adds
 *                                       (TollFreeMobileOriginationLocation)
 *   GET  /sim/calls/{CallSid}           call, legs, payments (masked)
 *   POST /sim/calls/{CallSid}/digits    {"digits":"4111...#"}
 *   POST /sim/calls/{CallSid}/refer     {"target":"sip:..."}
 *   POST /sim/calls/{CallSid}/hangup
 *   GET|POST|DELETE /sim/faults         see faults.c
 *   GET|POST|DELETE /sim/latency        see latency.c
 *   GET|DELETE /sim/requests            see reqlog.c
 *
 * POSTs on a call answer once the webhooks they caused have been delivered
 * (and the TwiML they returned executed): everything queued for that call,
 * what the continuations queued included; other calls' webhooks are not
 * waited for.  "wait": false in the body or ?wait=0 answers at once.
 */
#include <string.h>

#include "sim.h"

static void health(sim_resp *rs)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "status", "ok");
	cJSON_AddStringToObject(j, "account_sid", sim_conf.account_sid);
	cJSON_AddStringToObject(j, "phone_number", sim_conf.phone_number);
	cJSON_AddStringToObject(j, "voice_url", sim_conf.voice_url ? sim_conf.voice_url : "");
	cJSON_AddStringToObject(j, "sip_voice_url",
	                        sim_conf.sip_voice_url ? sim_conf.sip_voice_url : "");
	cJSON_AddStringToObject(j, "connector_url",
	                        sim_conf.connector_url ? sim_conf.connector_url : "");
	cJSON_AddStringToObject(j, "payment_connector",
	                        sim_conf.connector_name ? sim_conf.connector_name : "");
	sim_resp_json(rs, TP_S_OK, j);
}

void sim_control(sim_req *rq, sim_resp *rs)
{
	const char *m = rq->method;
	bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;

	/* Bodies, when any, are JSON. */
	if (post && rq->body.len && !rq->json) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "the body must be JSON");
		return;
	}
	if (rq->nseg == 2 && strcmp(rq->seg[1], "health") == 0 && get) {
		health(rs);
	} else if (rq->nseg == 2 && strcmp(rq->seg[1], "faults") == 0) {
		sim_faults_control(rq, rs);
	} else if (rq->nseg == 2 && strcmp(rq->seg[1], "latency") == 0) {
		sim_latency_control(rq, rs);
	} else if (rq->nseg == 2 && strcmp(rq->seg[1], "requests") == 0) {
		sim_reqlog_control(rq, rs);
	} else if (rq->nseg == 2 && strcmp(rq->seg[1], "calls") == 0) {
		if (get)
			sim_ctl_calls_list(rs);
		else if (post)
			sim_ctl_call_create(rq, rs);
		else
			sim_resp_ctl_error(rs, TP_S_METHOD_NOT_ALLOWED, "GET or POST");
	} else if (rq->nseg == 3 && strcmp(rq->seg[1], "calls") == 0) {
		if (get)
			sim_ctl_call_get(rq->seg[2], rs);
		else
			sim_resp_ctl_error(rs, TP_S_METHOD_NOT_ALLOWED, "GET");
	} else if (rq->nseg == 4 && strcmp(rq->seg[1], "calls") == 0) {
		const char *sid = rq->seg[2], *verb = rq->seg[3];
		if (!post)
			sim_resp_ctl_error(rs, TP_S_METHOD_NOT_ALLOWED, "POST");
		else if (strcmp(verb, "digits") == 0)
			sim_ctl_digits(sid, rq, rs);
		else if (strcmp(verb, "refer") == 0)
			sim_ctl_refer(sid, rq, rs);
		else if (strcmp(verb, "hangup") == 0)
			sim_ctl_hangup(sid, rs);
		else
			sim_resp_ctl_error(rs, TP_S_NOT_FOUND, "no control call %s", verb);
	} else {
		sim_resp_ctl_error(rs, TP_S_NOT_FOUND, "no control call %s", rq->path);
	}
}
