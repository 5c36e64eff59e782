/*
 * calls.c - calls and their legs: the Calls REST resource (contract 2),
 * the voice webhook and TwiML execution (7.1, 8), <Dial> child legs and
 * their status callbacks (7.2), REFER (7.3), and the control calls that
 * drive them (DESIGN.md: /sim/calls...).
 *
 * A call is a tree of legs: the arriving leg (direction inbound, no
 * parent) and the legs its <Dial> creates (outbound-dial, parent_call_sid
 * = the arriving leg).  A call from the PSTN to our number faces the
 * customer on its arriving leg; a call from the contact centre into our
 * SIP domain faces the customer on its dialled child.  DTMF keyed by the
 * customer arrive on that PSTN leg.
 *
 * TwiML runs on an outbound sender (outbound.c): the voice webhook's
 * continuation parses the reply and executes it under sim_lock, queueing
 * the status callbacks it causes.  Verbs: <Say>, <Play>, <Pause> (no
 * sound here), <Dial> with <Number>, <Sip> or a bare number (the first
 * noun is dialled; it answers at once), <Reject>, <Hangup>, <Redirect>.
 * After a <Dial> that connected, later verbs would run when the dialled
 * party hangs up; the emulator ends the call instead.  A reply that is
 * not well-formed TwiML fails the call (12100), an unknown verb too
 * (12200), an unreachable or failing URL too (11200), like Twilio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define CTL_WAIT_MS 30000 /* a control call waits this long for its webhooks */

static sim_leg **legs;
static size_t nlegs, caplegs;

/* ---------------------------------------------------------------- legs */

static bool is_sip_uri(const char *s)
{
	return s && (tp_str_prefix(s, "sip:") || tp_str_prefix(s, "sips:"));
}

static sim_leg *leg_new(const sim_leg *parent, const char *from, const char *to,
                        const char *direction, bool sip)
{
	sim_leg *l = tp_xcalloc(1, sizeof *l);

	sim_new_sid(l->sid, "CA");
	if (parent) {
		memcpy(l->parent, parent->sid, sizeof l->parent);
		memcpy(l->root, parent->root, sizeof l->root);
	} else {
		memcpy(l->root, l->sid, sizeof l->root);
	}
	l->from = tp_xstrdup(from);
	l->to = tp_xstrdup(to);
	l->direction = direction;
	l->status = "queued";
	l->sip = sip;
	tp_params_init(&l->sip_headers);
	tp_params_init(&l->call_params);
	l->created = l->updated = time(NULL);
	if (nlegs == caplegs) {
		caplegs = caplegs ? 2 * caplegs : 64;
		legs = tp_xrealloc(legs, caplegs * sizeof *legs);
	}
	legs[nlegs++] = l;
	return l;
}

sim_leg *sim_leg_find(const char *sid)
{
	size_t i;

	if (!sid)
		return NULL;
	for (i = 0; i < nlegs; i++)
		if (strcmp(legs[i]->sid, sid) == 0)
			return legs[i];
	return NULL;
}

bool sim_leg_same_call(const sim_leg *a, const sim_leg *b)
{
	return a && b && strcmp(a->root, b->root) == 0;
}

static bool leg_live(const sim_leg *l)
{
	return strcmp(l->status, "queued") == 0 || strcmp(l->status, "ringing") == 0 ||
	       strcmp(l->status, "in-progress") == 0;
}

sim_leg *sim_leg_pstn(const sim_leg *any)
{
	sim_leg *best = NULL;
	size_t i;

	/* The live PSTN leg wins over one that already ended (a transfer
	 * may have replaced it). */
	for (i = 0; any && i < nlegs; i++) {
		sim_leg *l = legs[i];
		if (strcmp(l->root, any->root) != 0 || l->sip)
			continue;
		if (!best || (leg_live(l) && !leg_live(best)))
			best = l;
	}
	return best;
}

static void set_status(sim_leg *l, const char *st)
{
	time_t now = time(NULL);

	l->status = st;
	l->updated = now;
	if (strcmp(st, "in-progress") == 0 && !l->started)
		l->started = now;
	if (!leg_live(l) && !l->ended)
		l->ended = now;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? tp_xstrdup(v) : NULL;
}

/* ---------------------------------------------------------------- parameters */

static const char *country_of(const char *e164)
{
	static const struct {
		const char *prefix, *cc;
	} t[] = {{"+1", "US"}, {"+44", "GB"}, {"+61", "AU"}, {"+64", "NZ"}, {"+353", "IE"}};
	size_t i;

	for (i = 0; e164 && i < sizeof t / sizeof t[0]; i++)
		if (tp_str_prefix(e164, t[i].prefix))
			return t[i].cc;
	return "";
}

/* The host part of a SIP URI (sip:user@host;params?headers). */
static char *sip_host(const char *uri)
{
	const char *at = strchr(uri, '@'), *h = at ? at + 1 : uri + strcspn(uri, ":") + 1;

	return tp_xstrndup(h, strcspn(h, ";?>:"));
}

/* Twilio's voice request parameters of leg l (contract 7.1). */
static void voice_params(const sim_leg *l, tp_params *p)
{
	bool into_sip_domain = !l->parent[0] && l->sip;
	size_t i;

	tp_params_add(p, "CallSid", l->sid);
	tp_params_add(p, "AccountSid", sim_conf.account_sid);
	tp_params_add(p, "From", l->from);
	tp_params_add(p, "To", l->to);
	tp_params_add(p, "CallStatus", l->status);
	tp_params_add(p, "ApiVersion", "2010-04-01");
	tp_params_add(p, "Direction", l->direction);
	tp_params_add(p, "Caller", l->from);
	tp_params_add(p, "Called", l->to);
	if (l->parent[0])
		tp_params_add(p, "ParentCallSid", l->parent);
	if (!is_sip_uri(l->from)) {
		tp_params_add(p, "FromCountry", country_of(l->from));
		tp_params_add(p, "CallerCountry", country_of(l->from));
	}
	if (!is_sip_uri(l->to)) {
		tp_params_add(p, "ToCountry", country_of(l->to));
		tp_params_add(p, "CalledCountry", country_of(l->to));
	}
	if (into_sip_domain) {
		/* "SIP and TwiML Interaction": SipDomain, SipDomainSid,
		 * SipCallId, SipSourceIp and one SipHeader_<name> per X-
		 * header of the INVITE, name as the sender spelt it. */
		char *host = sip_host(l->to);
		tp_buf cid;
		tp_params_add(p, "SipDomain", host);
		tp_params_add(p, "SipDomainSid", sim_conf.sip_domain_sid);
		tp_buf_init(&cid, 128);
		tp_buf_addf(&cid, "%s@127.0.0.1", l->sid + 2);
		tp_params_add(p, "SipCallId", tp_buf_str(&cid));
		tp_params_add(p, "SipSourceIp", "127.0.0.1");
		for (i = 0; i < l->sip_headers.n; i++) {
			tp_buf n;
			tp_buf_init(&n, 512);
			tp_buf_addf(&n, "SipHeader_%s", l->sip_headers.v[i].name);
			tp_params_add(p, tp_buf_str(&n), l->sip_headers.v[i].value);
			tp_buf_free(&n);
		}
		tp_buf_free(&cid);
		free(host);
	}
	for (i = 0; i < l->call_params.n; i++)
		tp_params_add(p, l->call_params.v[i].name, l->call_params.v[i].value);
}

/* ---------------------------------------------------------------- callbacks */

static unsigned parse_events(const char *s)
{
	unsigned ev = 0;
	const char *p = s;

	if (!s)
		return SIM_EV_COMPLETED; /* default per the noun docs (7.2) */
	while (*p) {
		size_t n;
		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, " ,");
		if (n == 9 && strncmp(p, "initiated", n) == 0)
			ev |= SIM_EV_INITIATED;
		else if (n == 7 && strncmp(p, "ringing", n) == 0)
			ev |= SIM_EV_RINGING;
		else if (n == 8 && strncmp(p, "answered", n) == 0)
			ev |= SIM_EV_ANSWERED;
		else if (n == 9 && strncmp(p, "completed", n) == 0)
			ev |= SIM_EV_COMPLETED;
		p += n;
	}
	return ev;
}

/* Queues the <Number>/<Sip> statusCallback of child leg l for `ev` when
 * the TwiML asked for it (contract 7.2). */
static void dial_callback(sim_leg *l, unsigned ev, const char *call_status)
{
	sim_out *o;
	char ts[40], seq[16];

	if (!l->cb_url || !(l->cb_events & ev))
		return;
	o = sim_out_new("dial-status", SIM_T_WEBHOOKS, l->cb_url, l->cb_get ? "GET" : "POST");
	memcpy(o->call_sid, l->root, sizeof o->call_sid);
	voice_params(l, &o->params);
	tp_params_set(&o->params, "CallStatus", call_status);
	sim_time_rfc2822(time(NULL), ts);
	tp_params_add(&o->params, "Timestamp", ts);
	tp_params_add(&o->params, "CallbackSource", "call-progress-events");
	snprintf(seq, sizeof seq, "%d", l->cb_seq++);
	tp_params_add(&o->params, "SequenceNumber", seq);
	if (ev == SIM_EV_COMPLETED) {
		char d[24];
		snprintf(d, sizeof d, "%ld",
		         l->started && l->ended ? (long)(l->ended - l->started) : 0L);
		tp_params_add(&o->params, "CallDuration", d);
		tp_params_add(&o->params, "Duration", l->started ? "1" : "0");
	}
	sim_out_queue(o);
}

/* Ends leg l with `st` (completed, canceled, failed...). */
static void end_leg(sim_leg *l, const char *st)
{
	if (!leg_live(l))
		return;
	/* A payment session listening on this leg ends with it. */
	sim_pay_leg_ended(l);
	if (strcmp(st, "completed") == 0 && strcmp(l->status, "in-progress") != 0)
		st = "canceled"; /* never answered */
	set_status(l, st);
	dial_callback(l, SIM_EV_COMPLETED, st);
}

/* Ends every leg of the call: children first, then the arriving leg. */
static void end_call(sim_leg *any, const char *st)
{
	size_t i;
	sim_leg *root = sim_leg_find(any->root);

	for (i = 0; i < nlegs; i++)
		if (strcmp(legs[i]->root, any->root) == 0 && legs[i]->parent[0])
			end_leg(legs[i], st);
	if (root)
		end_leg(root, st);
}

static void fail_call(sim_leg *l, const char *why)
{
	sim_leg *root = sim_leg_find(l->root);

	tp_log_kv(TP_LOG_WARN, "call failed", "call", l->root, "error", why);
	if (root && !root->error)
		root->error = tp_xstrdup(why);
	end_call(l, "failed");
}

/* ---------------------------------------------------------------- TwiML */

static void run_twiml(sim_leg *l, const char *body, size_t len);

typedef struct webhook_ctx {
	sim_sid leg;
	sim_sid child; /* REFER: the leg that sent it */
	bool refer;
} webhook_ctx;

static void on_twiml(void *ctx, const sim_out_result *res)
{
	webhook_ctx *w = ctx;
	sim_leg *l;

	if (!res) {
		free(w);
		return;
	}
	pthread_mutex_lock(&sim_lock);
	l = sim_leg_find(w->leg);
	if (!l || !leg_live(l)) {
		/* Hung up while the webhook was out. */
	} else if (!res->sent || res->status < 200 || res->status >= 300) {
		tp_buf why;
		tp_buf_init(&why, 512);
		if (res->timed_out)
			tp_buf_addf(&why, "11205 HTTP connection failure: %s", res->error);
		else
			tp_buf_addf(&why, "11200 HTTP retrieval failure: %s",
			            res->sent ? tp_status_str((int)res->status) : res->error);
		fail_call(l, tp_buf_str(&why));
		tp_buf_free(&why);
	} else if (res->body.len > SIM_TWIML_MAX) {
		fail_call(l, "11750 TwiML response body too large");
	} else {
		run_twiml(l, res->body.ptr ? res->body.ptr : "", res->body.len);
	}
	pthread_mutex_unlock(&sim_lock);
	free(w);
}

/* Fetches TwiML for leg l from url (the voice URL, a <Redirect>, an
 * update's Url) and runs it. */
static void fetch_twiml(sim_leg *l, const char *kind, const char *url, bool get)
{
	webhook_ctx *w = tp_xcalloc(1, sizeof *w);
	sim_out *o = sim_out_new(kind, SIM_T_WEBHOOKS, url, get ? "GET" : "POST");

	memcpy(w->leg, l->sid, sizeof w->leg);
	memcpy(o->call_sid, l->root, sizeof o->call_sid);
	voice_params(l, &o->params);
	o->done = on_twiml;
	o->ctx = w;
	set_str(&l->doc_url, url);
	sim_out_queue(o);
}

static bool is_e164(const char *s)
{
	size_t n;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strspn(s + 1, "0123456789");
	return n >= 2 && n <= 15 && s[1 + n] == '\0';
}

/* Splits "sip:u@h?A=b&C=d" into the URI and its headers (contract 8). */
static char *sip_split(const char *uri, tp_params *headers)
{
	const char *q = strchr(uri, '?');

	if (!q)
		return tp_xstrdup(uri);
	tp_form_parse(headers, q + 1, strlen(q + 1));
	return tp_xstrndup(uri, (size_t)(q - uri));
}

/* Runs <Dial> on leg l; true when a leg connected. */
static bool run_dial(sim_leg *l, const sim_xml *dial)
{
	const sim_xml *noun = dial->child;
	const char *target = NULL, *caller_id = sim_xml_attr(dial, "callerId");
	bool sip = false;
	sim_leg *c;
	char *uri;

	for (; noun; noun = noun->next)
		if (strcmp(noun->name, "Number") == 0 || strcmp(noun->name, "Sip") == 0)
			break;
	if (noun) {
		target = noun->text;
		sip = strcmp(noun->name, "Sip") == 0;
	} else if (dial->text && *dial->text) {
		target = dial->text;
	}
	if (!target || !*target) {
		fail_call(l, "13201 Dial: Cannot Dial out without a number or client");
		return false;
	}
	{
		const char *ru = sim_xml_attr(dial, "referUrl");
		const char *rm = sim_xml_attr(dial, "referMethod");
		char *abs = ru ? sim_abs_url(l->doc_url, ru) : NULL;
		set_str(&l->refer_url, abs);
		l->refer_get = rm && tp_str_caseeq(rm, "GET");
		free(abs);
	}
	c = leg_new(l, caller_id ? caller_id : l->from, "", "outbound-dial", sip);
	if (sip) {
		uri = sip_split(target, &c->sip_headers);
	} else {
		uri = tp_xstrdup(target);
	}
	set_str(&c->to, uri);
	free(uri);
	if (noun) {
		const char *cb = sim_xml_attr(noun, "statusCallback");
		const char *m = sim_xml_attr(noun, "statusCallbackMethod");
		if (cb) {
			c->cb_url = sim_abs_url(l->doc_url, cb);
			c->cb_get = m && tp_str_caseeq(m, "GET");
		}
		c->cb_events = parse_events(sim_xml_attr(noun, "statusCallbackEvent"));
	}
	if (sip ? !is_sip_uri(c->to) : !is_e164(c->to)) {
		/* 13223/13224: the dialled party never rings. */
		c->error = tp_xstrdup(sip ? "13224 Dial: invalid SIP URI"
		                          : "13223 Dial: Invalid phone number format");
		set_status(c, "failed");
		dial_callback(c, SIM_EV_COMPLETED, "failed");
		return false;
	}
	/* initiated -> ringing -> answered (contract 7.2).  With
	 * answerOnBridge the caller is answered only now; without it Twilio
	 * answered before dialling, either way both legs are up. */
	set_status(c, "queued");
	dial_callback(c, SIM_EV_INITIATED, "initiated");
	set_status(c, "ringing");
	dial_callback(c, SIM_EV_RINGING, "ringing");
	set_status(c, "in-progress");
	set_status(l, "in-progress");
	dial_callback(c, SIM_EV_ANSWERED, "in-progress");
	return true;
}

static void run_twiml(sim_leg *l, const char *body, size_t len)
{
	tp_buf err;
	sim_xml *doc, *v;

	tp_buf_init(&err, 512);
	doc = sim_xml_parse(body, len, &err);
	if (!doc || strcmp(doc->name, "Response") != 0) {
		tp_buf why;
		tp_buf_init(&why, 1024);
		tp_buf_addf(&why, "12100 Document parse failure: %s",
		            doc ? "the root element is not <Response>" : tp_buf_str(&err));
		fail_call(l, tp_buf_str(&why));
		tp_buf_free(&why);
		goto out;
	}
	/* Unknown verbs make the whole document invalid (12200), before
	 * anything runs. */
	for (v = doc->child; v; v = v->next) {
		static const char *const known[] = {
		    "Say",    "Play",   "Pause", "Dial",    "Reject", "Hangup", "Redirect",
		    "Gather", "Record", "Pay",   "Enqueue", "Leave",  "Refer",  "Connect"};
		size_t i;
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (strcmp(v->name, known[i]) == 0)
				break;
		if (i == sizeof known / sizeof known[0]) {
			tp_buf why;
			tp_buf_init(&why, 512);
			tp_buf_addf(&why, "12200 Schema validation warning: unknown verb <%.64s>",
			            v->name);
			fail_call(l, tp_buf_str(&why));
			tp_buf_free(&why);
			goto out;
		}
	}
	for (v = doc->child; v; v = v->next) {
		if (strcmp(v->name, "Say") == 0 || strcmp(v->name, "Play") == 0 ||
		    strcmp(v->name, "Pause") == 0) {
			if (strcmp(l->status, "ringing") == 0)
				set_status(l, "in-progress");
		} else if (strcmp(v->name, "Dial") == 0) {
			if (run_dial(l, v))
				goto out;
		} else if (strcmp(v->name, "Reject") == 0) {
			const char *r = sim_xml_attr(v, "reason");
			end_call(l, r && strcmp(r, "busy") == 0 ? "busy" : "no-answer");
			goto out;
		} else if (strcmp(v->name, "Hangup") == 0) {
			if (strcmp(l->status, "ringing") == 0)
				set_status(l, "in-progress");
			end_call(l, "completed");
			goto out;
		} else if (strcmp(v->name, "Redirect") == 0) {
			const char *m = sim_xml_attr(v, "method");
			char *u = sim_abs_url(l->doc_url, v->text);
			if (!u) {
				fail_call(l, "21205 Redirect: Url is not a valid URL");
			} else {
				fetch_twiml(l, "voice", u, m && tp_str_caseeq(m, "GET"));
				free(u);
			}
			goto out;
		} else {
			/* Verbs the product never sends; the emulator does not
			 * model them: the call ends as if they finished. */
			tp_log_kv(TP_LOG_WARN, "TwiML verb not modelled; hanging up", "verb",
			          v->name, "call", l->root);
		}
	}
	/* Out of instructions: Twilio hangs up. */
	if (strcmp(l->status, "ringing") == 0)
		set_status(l, "in-progress");
	end_call(l, "completed");
out:
	sim_xml_free(doc);
	tp_buf_free(&err);
}

/* ---------------------------------------------------------------- JSON */

static void add_str_or_null(cJSON *j, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(j, name, v);
	else
		cJSON_AddNullToObject(j, name);
}

static void add_time(cJSON *j, const char *name, time_t t)
{
	char s[40];

	if (!t) {
		cJSON_AddNullToObject(j, name);
		return;
	}
	sim_time_rfc2822(t, s);
	cJSON_AddStringToObject(j, name, s);
}

static char *formatted(const char *n)
{
	tp_buf b;
	char *r;

	/* North American numbers as Twilio formats them. */
	if (tp_str_prefix(n, "+1") && strlen(n) == 12 && strspn(n + 1, "0123456789") == 11) {
		tp_buf_init(&b, 32);
		tp_buf_addf(&b, "(%.3s) %.3s-%.4s", n + 2, n + 5, n + 8);
		r = tp_buf_take(&b);
		tp_buf_free(&b);
		return r;
	}
	return tp_xstrdup(n);
}

/* The Calls resource JSON (contract 2). */
static cJSON *call_json(const sim_leg *l)
{
	cJSON *j = cJSON_CreateObject(), *sub;
	tp_buf u, x;
	char *f;
	static const char *const subs[] = {"feedback",
	                                   "notifications",
	                                   "recordings",
	                                   "streams",
	                                   "payments",
	                                   "siprec",
	                                   "events",
	                                   "feedback_summaries",
	                                   "user_defined_message_subscriptions",
	                                   "user_defined_messages"};
	static const char *const segs[] = {"Feedback",
	                                   "Notifications",
	                                   "Recordings",
	                                   "Streams",
	                                   "Payments",
	                                   "Siprec",
	                                   "Events",
	                                   "FeedbackSummary",
	                                   "UserDefinedMessageSubscriptions",
	                                   "UserDefinedMessages"};
	size_t i;

	tp_buf_init(&u, 1024);
	tp_buf_init(&x, 1024);
	tp_buf_addf(&u, "/2010-04-01/Accounts/%s/Calls/%s", sim_conf.account_sid, l->sid);
	cJSON_AddStringToObject(j, "sid", l->sid);
	add_time(j, "date_created", l->created);
	add_time(j, "date_updated", l->updated);
	add_str_or_null(j, "parent_call_sid", l->parent[0] ? l->parent : NULL);
	cJSON_AddStringToObject(j, "account_sid", sim_conf.account_sid);
	cJSON_AddStringToObject(j, "to", l->to);
	f = formatted(l->to);
	cJSON_AddStringToObject(j, "to_formatted", f);
	free(f);
	cJSON_AddStringToObject(j, "from", l->from);
	f = formatted(l->from);
	cJSON_AddStringToObject(j, "from_formatted", f);
	free(f);
	add_str_or_null(j, "phone_number_sid",
	                !l->parent[0] && !l->sip && tp_str_eq(l->to, sim_conf.phone_number)
	                    ? sim_conf.phone_sid
	                    : NULL);
	cJSON_AddStringToObject(j, "status", l->status);
	add_time(j, "start_time", l->started);
	add_time(j, "end_time", l->ended);
	if (l->ended) {
		char d[24];
		snprintf(d, sizeof d, "%ld", l->started ? (long)(l->ended - l->started) : 0L);
		cJSON_AddStringToObject(j, "duration", d);
	} else {
		cJSON_AddNullToObject(j, "duration");
	}
	cJSON_AddNullToObject(j, "price");
	cJSON_AddStringToObject(j, "price_unit", "USD");
	cJSON_AddStringToObject(j, "direction", l->direction);
	cJSON_AddNullToObject(j, "answered_by");
	cJSON_AddStringToObject(j, "api_version", "2010-04-01");
	cJSON_AddNullToObject(j, "forwarded_from");
	cJSON_AddNullToObject(j, "group_sid");
	cJSON_AddNullToObject(j, "caller_name");
	cJSON_AddStringToObject(j, "queue_time", "0");
	cJSON_AddNullToObject(j, "trunk_sid");
	tp_buf_addf(&x, "%s.json", tp_buf_str(&u));
	cJSON_AddStringToObject(j, "uri", tp_buf_str(&x));
	sub = cJSON_AddObjectToObject(j, "subresource_uris");
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		tp_buf_reset(&x);
		tp_buf_addf(&x, "%s/%s.json", tp_buf_str(&u), segs[i]);
		cJSON_AddStringToObject(sub, subs[i], tp_buf_str(&x));
	}
	tp_buf_free(&u);
	tp_buf_free(&x);
	return j;
}

static cJSON *leg_summary(const sim_leg *l)
{
	cJSON *j = cJSON_CreateObject(), *h;
	size_t i;

	cJSON_AddStringToObject(j, "sid", l->sid);
	add_str_or_null(j, "parent_call_sid", l->parent[0] ? l->parent : NULL);
	cJSON_AddStringToObject(j, "direction", l->direction);
	cJSON_AddStringToObject(j, "from", l->from);
	cJSON_AddStringToObject(j, "to", l->to);
	cJSON_AddStringToObject(j, "status", l->status);
	cJSON_AddStringToObject(j, "side", l->sip ? "sip" : "pstn");
	h = cJSON_AddObjectToObject(j, "sip_headers");
	for (i = 0; i < l->sip_headers.n; i++)
		cJSON_AddStringToObject(h, l->sip_headers.v[i].name, l->sip_headers.v[i].value);
	add_str_or_null(j, "status_callback", l->cb_url);
	add_str_or_null(j, "refer_url", l->refer_url);
	add_str_or_null(j, "error", l->error);
	return j;
}

/* The control view of a call (GET /sim/calls/{sid}). */
static cJSON *call_view(const sim_leg *any)
{
	const sim_leg *root = sim_leg_find(any->root), *pstn = sim_leg_pstn(any), *sipl = NULL;
	cJSON *j = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddStringToObject(j, "call_sid", root->sid);
	cJSON_AddStringToObject(j, "status", root->status);
	cJSON_AddStringToObject(j, "from", root->from);
	cJSON_AddStringToObject(j, "to", root->to);
	cJSON_AddStringToObject(j, "origin", root->sip ? "sip" : "pstn");
	a = cJSON_AddArrayToObject(j, "legs");
	for (i = 0; i < nlegs; i++) {
		if (strcmp(legs[i]->root, root->sid) != 0)
			continue;
		cJSON_AddItemToArray(a, leg_summary(legs[i]));
		if (legs[i]->sip && (!sipl || leg_live(legs[i])))
			sipl = legs[i];
	}
	add_str_or_null(j, "pstn_call_sid", pstn ? pstn->sid : NULL);
	add_str_or_null(j, "sip_call_sid", sipl ? sipl->sid : NULL);
	add_str_or_null(j, "refer", root->refer_result);
	add_str_or_null(j, "error", root->error);
	cJSON_AddItemToObject(j, "payments", sim_pay_json(root));
	return j;
}

/* ---------------------------------------------------------------- REST */

static void calls_list(const sim_req *rq, sim_resp *rs)
{
	long size = 50, page = 0;
	const char *ps = tp_params_get(&rq->query, "PageSize");
	const char *pg = tp_params_get(&rq->query, "Page");
	cJSON *j = cJSON_CreateObject(), *a;
	size_t i, skip, shown = 0, total = 0;
	tp_buf u;

	if ((ps && (!sim_parse_long(ps, 1000, &size) || size < 1)) ||
	    (pg && !sim_parse_long(pg, 1000000, &page))) {
		cJSON_Delete(j);
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 20001, "Invalid PageSize or Page");
		return;
	}
	a = cJSON_AddArrayToObject(j, "calls");
	skip = (size_t)(page * size);
	/* Newest first, as Twilio lists calls. */
	for (i = nlegs; i > 0; i--) {
		if (total >= skip && shown < (size_t)size) {
			cJSON_AddItemToArray(a, call_json(legs[i - 1]));
			shown++;
		}
		total++;
	}
	tp_buf_init(&u, 1024);
	cJSON_AddNumberToObject(j, "page", (double)page);
	cJSON_AddNumberToObject(j, "page_size", (double)size);
	cJSON_AddNumberToObject(j, "start", (double)skip);
	cJSON_AddNumberToObject(j, "end", (double)(skip + (shown ? shown - 1 : 0)));
	tp_buf_addf(&u, "/2010-04-01/Accounts/%s/Calls.json?PageSize=%ld&Page=%ld",
	            sim_conf.account_sid, size, page);
	cJSON_AddStringToObject(j, "uri", tp_buf_str(&u));
	tp_buf_reset(&u);
	tp_buf_addf(&u, "/2010-04-01/Accounts/%s/Calls.json?PageSize=%ld&Page=0",
	            sim_conf.account_sid, size);
	cJSON_AddStringToObject(j, "first_page_uri", tp_buf_str(&u));
	tp_buf_reset(&u);
	if (total > skip + (size_t)size) {
		tp_buf_addf(&u, "/2010-04-01/Accounts/%s/Calls.json?PageSize=%ld&Page=%ld",
		            sim_conf.account_sid, size, page + 1);
		cJSON_AddStringToObject(j, "next_page_uri", tp_buf_str(&u));
	} else {
		cJSON_AddNullToObject(j, "next_page_uri");
	}
	tp_buf_reset(&u);
	if (page > 0) {
		tp_buf_addf(&u, "/2010-04-01/Accounts/%s/Calls.json?PageSize=%ld&Page=%ld",
		            sim_conf.account_sid, size, page - 1);
		cJSON_AddStringToObject(j, "previous_page_uri", tp_buf_str(&u));
	} else {
		cJSON_AddNullToObject(j, "previous_page_uri");
	}
	tp_buf_free(&u);
	sim_resp_json(rs, TP_S_OK, j);
}

/* POST .../Calls/{Sid}.json (contract 2: Status, Url, Twiml, Method). */
static void call_update(const sim_req *rq, sim_resp *rs, sim_leg *l)
{
	const char *st = sim_req_param(rq, "Status");
	const char *url = sim_req_param(rq, "Url");
	const char *twiml = sim_req_param(rq, "Twiml");
	const char *method = sim_req_param(rq, "Method");

	if (st && strcmp(st, "completed") != 0 && strcmp(st, "canceled") != 0) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 21218,
		                      "Invalid Status: completed or canceled");
		return;
	}
	if (url && twiml) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 21205,
		                      "Url and Twiml are mutually exclusive");
		return;
	}
	if (method && !tp_str_caseeq(method, "GET") && !tp_str_caseeq(method, "POST")) {
		sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 21204, "Method must be GET or POST");
		return;
	}
	if (st) {
		/* canceled only ends a call that has not been answered;
		 * completed ends it in any state. */
		if (strcmp(st, "completed") == 0 || strcmp(l->status, "in-progress") != 0)
			end_call(l, st);
	} else if (url || twiml) {
		char *abs = url ? sim_abs_url(NULL, url) : NULL;
		size_t i;

		if (url && !abs) {
			sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, 21205,
			                      "Url is not a valid URL");
			return;
		}
		if (strcmp(l->status, "in-progress") != 0) {
			free(abs);
			sim_resp_twilio_error(rs, TP_S_BAD_REQUEST, TP_TW_CALL_NOT_IN_PROGRESS,
			                      "Call is not in-progress. Cannot redirect.");
			return;
		}
		/* The new TwiML replaces what the leg was doing: a bridge it
		 * had made with <Dial> ends. */
		for (i = 0; i < nlegs; i++)
			if (strcmp(legs[i]->parent, l->sid) == 0)
				end_leg(legs[i], "completed");
		if (abs) {
			fetch_twiml(l, "voice", abs, method && tp_str_caseeq(method, "GET"));
			free(abs);
		} else {
			run_twiml(l, twiml, strlen(twiml));
		}
	}
	sim_resp_json(rs, TP_S_OK, call_json(l));
}

/* Strips ".json" from the last segment; false if it is not there. */
static bool strip_json(char *seg)
{
	size_t n = strlen(seg);

	if (n < 5 || strcmp(seg + n - 5, ".json") != 0)
		return false;
	seg[n - 5] = '\0';
	return true;
}

/* GET /2010-04-01/Accounts/{AccountSid}.json (spec api.v2010.account):
 * the read-only call an operator's config check makes.  The auth token
 * Twilio returns for a main account is left out: the emulator never
 * hands out secrets. */
static void account_fetch(sim_resp *rs)
{
	cJSON *o = cJSON_CreateObject(), *sub = cJSON_CreateObject();
	char when[40], uri[128];

	sim_time_rfc2822(sim_conf.started, when);
	snprintf(uri, sizeof uri, "/2010-04-01/Accounts/%s.json", sim_conf.account_sid);
	cJSON_AddStringToObject(o, "sid", sim_conf.account_sid);
	cJSON_AddStringToObject(o, "owner_account_sid", sim_conf.account_sid);
	cJSON_AddStringToObject(o, "friendly_name", "GenesysPay emulator account");
	cJSON_AddStringToObject(o, "status", "active");
	cJSON_AddStringToObject(o, "type", "Full");
	cJSON_AddStringToObject(o, "date_created", when);
	cJSON_AddStringToObject(o, "date_updated", when);
	cJSON_AddStringToObject(o, "uri", uri);
	snprintf(uri, sizeof uri, "/2010-04-01/Accounts/%s/Calls.json", sim_conf.account_sid);
	cJSON_AddStringToObject(sub, "calls", uri);
	cJSON_AddItemToObject(o, "subresource_uris", sub);
	sim_resp_json(rs, TP_S_OK, o);
}

void sim_calls_api(sim_req *rq, sim_resp *rs)
{
	bool get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
	sim_leg *l;

	if (rq->nseg == 3 && strcmp(rq->seg[1], "Accounts") == 0 && strip_json(rq->seg[2]) &&
	    strcmp(rq->seg[2], sim_conf.account_sid) == 0) {
		if (get)
			account_fetch(rs);
		else
			sim_resp_twilio_error(rs, TP_S_METHOD_NOT_ALLOWED, 20004,
			                      "Method not allowed");
		return;
	}

	/* seg: 2010-04-01 Accounts AC.. Calls(.json) [CA..(.json) [Payments(.json) [PK...json]]] */
	if (rq->nseg < 4 || strcmp(rq->seg[1], "Accounts") != 0 ||
	    strcmp(rq->seg[2], sim_conf.account_sid) != 0 || !strip_json(rq->seg[rq->nseg - 1]) ||
	    strcmp(rq->seg[3], "Calls") != 0 || rq->nseg > 7 ||
	    (rq->nseg >= 6 && strcmp(rq->seg[5], "Payments") != 0)) {
		sim_resp_twilio_error(rs, TP_S_NOT_FOUND, TP_TW_NOT_FOUND,
		                      "The requested resource %s was not found", rq->path);
		return;
	}
	pthread_mutex_lock(&sim_lock);
	if (rq->nseg == 4) {
		if (get)
			calls_list(rq, rs);
		else
			sim_resp_twilio_error(rs, TP_S_METHOD_NOT_ALLOWED, 20004,
			                      "Method not allowed: the emulator places no "
			                      "outbound-api calls");
		goto out;
	}
	l = sim_leg_find(rq->seg[4]);
	if (!l) {
		sim_resp_twilio_error(rs, TP_S_NOT_FOUND, TP_TW_NOT_FOUND,
		                      "The requested resource %s was not found", rq->path);
		goto out;
	}
	if (rq->nseg == 5) {
		if (get)
			sim_resp_json(rs, TP_S_OK, call_json(l));
		else if (post)
			call_update(rq, rs, l);
		else
			sim_resp_twilio_error(rs, TP_S_METHOD_NOT_ALLOWED, 20004,
			                      "Method not allowed");
		goto out;
	}
	if (!post) {
		sim_resp_twilio_error(rs, TP_S_METHOD_NOT_ALLOWED, 20004, "Method not allowed");
		goto out;
	}
	sim_payments_api(rq, rs, l, rq->nseg == 7 ? rq->seg[6] : NULL);
out:
	pthread_mutex_unlock(&sim_lock);
}

/* ---------------------------------------------------------------- control */

static bool ctl_wait(const sim_req *rq)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(rq->json, "wait");
	const char *q = tp_params_get(&rq->query, "wait");

	/* By default a control call returns once the webhooks it caused
	 * have been delivered, so tests need not poll. */
	if (cJSON_IsBool(w))
		return cJSON_IsTrue(w);
	return !(q && (strcmp(q, "0") == 0 || strcmp(q, "false") == 0));
}

static void reply_view(sim_resp *rs, int status, const char *sid)
{
	sim_leg *l;

	pthread_mutex_lock(&sim_lock);
	l = sim_leg_find(sid);
	if (l)
		sim_resp_json(rs, status, call_view(l));
	else
		sim_resp_ctl_error(rs, TP_S_NOT_FOUND, "no call %s", sid);
	pthread_mutex_unlock(&sim_lock);
}

static bool header_name_ok(const char *n)
{
	size_t i;

	/* Custom SIP headers are X-... (not X-Twilio-...), plus the few
	 * standard ones Twilio passes on (contract 8). */
	if (!(tp_str_prefix(n, "X-") || tp_str_prefix(n, "x-") || tp_str_caseeq(n, "User-to-User")))
		return false;
	if (strlen(n) > 64 || tp_str_prefix(n, "X-Twilio") || tp_str_prefix(n, "x-twilio"))
		return false;
	for (i = 0; n[i]; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || n[i] == '-' || n[i] == '_'))
			return false;
	return true;
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The control API's "params": {"Name": "value", ...}, absent or an
 * object of string values under names Twilio could send. */
static bool extra_params(const cJSON *jp, tp_params *out)
{
	const cJSON *h;
	size_t i;

	tp_params_init(out);
	if (!jp)
		return true;
	if (!cJSON_IsObject(jp))
		return false;
	cJSON_ArrayForEach (h, jp) {
		const char *n = h->string;
		bool ok = n && n[0] >= 'A' && n[0] <= 'Z' && strlen(n) <= 64 && cJSON_IsString(h) &&
		          strlen(h->valuestring) <= 1024;
		for (i = 0; ok && n[i]; i++)
			ok = (n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
			     (n[i] >= '0' && n[i] <= '9');
		if (!ok) {
			tp_params_free(out);
			return false;
		}
		tp_params_add(out, n, h->valuestring);
	}
	return true;
}

/* True when one of `extra` is a parameter Twilio already sends for a
 * call arriving from `from` to `to` (checked on a leg that is never
 * registered). */
static bool params_clash(const char *from, const char *to, bool sip, const tp_params *hdrs,
                         const tp_params *extra)
{
	sim_leg probe = {.direction = "inbound", .status = "ringing", .sip = sip};
	tp_params std;
	size_t i;
	bool clash = false;

	memcpy(probe.sid, "CA", 3);
	probe.from = tp_xstrdup(from);
	probe.to = tp_xstrdup(to);
	probe.sip_headers = *hdrs;
	tp_params_init(&probe.call_params);
	tp_params_init(&std);
	voice_params(&probe, &std);
	for (i = 0; i < extra->n && !clash; i++)
		clash = tp_params_get(&std, extra->v[i].name) != NULL ||
		        tp_str_prefix(extra->v[i].name, "SipHeader");
	tp_params_free(&std);
	free(probe.from);
	free(probe.to);
	return clash;
}

void sim_ctl_call_create(sim_req *rq, sim_resp *rs)
{
	const cJSON *o = rq->json, *jf, *jt, *jh, *jv, *jp, *h;
	const char *from, *to, *voice_url;
	bool sip;
	sim_leg *l;
	sim_sid sid;
	tp_params hdrs, extra;

	if (!cJSON_IsObject(o)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "body must be a JSON object {\"from\", \"to\"}");
		return;
	}
	jf = cJSON_GetObjectItemCaseSensitive(o, "from");
	jt = cJSON_GetObjectItemCaseSensitive(o, "to");
	jh = cJSON_GetObjectItemCaseSensitive(o, "sipHeaders");
	jv = cJSON_GetObjectItemCaseSensitive(o, "voiceUrl");
	jp = cJSON_GetObjectItemCaseSensitive(o, "params");
	if (!cJSON_IsString(jf) || !text_ok(jf->valuestring, 256)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "from must be a phone number or a SIP URI");
		return;
	}
	if (jt && (!cJSON_IsString(jt) || !text_ok(jt->valuestring, 256))) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "to must be a phone number or a SIP URI");
		return;
	}
	from = jf->valuestring;
	to = jt ? jt->valuestring : sim_conf.phone_number;
	sip = is_sip_uri(to);
	if (!sip && strcmp(to, sim_conf.phone_number) != 0) {
		sim_resp_ctl_error(rs, TP_S_NOT_FOUND,
		                   "%s is not a number of this emulator (it has %s)", to,
		                   sim_conf.phone_number);
		return;
	}
	if (sip && (!strchr(to, '@') || strchr(to, '?'))) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "to must be a SIP URI sip:user@domain");
		return;
	}
	if (jh && (!sip || !cJSON_IsObject(jh))) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "sipHeaders is an object, for calls to a SIP URI");
		return;
	}
	tp_params_init(&hdrs);
	cJSON_ArrayForEach (h, jh) {
		if (!header_name_ok(h->string) || !cJSON_IsString(h) ||
		    !text_ok(h->valuestring, 1024)) {
			tp_params_free(&hdrs);
			sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
			                   "sipHeaders: names X-..., string values (%s)",
			                   h->string);
			return;
		}
		tp_params_add(&hdrs, h->string, h->valuestring);
	}
	voice_url = sip ? sim_conf.sip_voice_url : sim_conf.voice_url;
	/* Another voice URL for this call, as if the number (or SIP domain)
	 * were configured with it, e.g. /pv/tollfreeCallToSIP.  Only below
	 * the product's own base URL: the emulator signs what it sends. */
	if (jv && (!cJSON_IsString(jv) || !text_ok(jv->valuestring, 1024) ||
	           !tp_str_prefix(jv->valuestring, sim_conf.server_url) ||
	           jv->valuestring[strlen(sim_conf.server_url)] != '/')) {
		tp_params_free(&hdrs);
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "voiceUrl must be a URL below %s",
		                   sim_conf.server_url);
		return;
	}
	if (jv)
		voice_url = jv->valuestring;
	if (!voice_url) {
		tp_params_free(&hdrs);
		sim_resp_ctl_error(rs, TP_S_CONFLICT, "no voice URL configured for %s calls",
		                   sip ? "SIP" : "PSTN");
		return;
	}
	if (!extra_params(jp, &extra)) {
		tp_params_free(&hdrs);
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "params is an object of further voice-request parameters: "
		                   "names A-Z a-z 0-9 starting with a capital, not one Twilio "
		                   "already sends, string values");
		return;
	}

	if (params_clash(from, to, sip, &hdrs, &extra)) {
		tp_params_free(&hdrs);
		tp_params_free(&extra);
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "params may not replace a parameter Twilio sends");
		return;
	}

	pthread_mutex_lock(&sim_lock);
	l = leg_new(NULL, from, to, "inbound", sip);
	tp_params_free(&l->sip_headers);
	l->sip_headers = hdrs;
	tp_params_free(&l->call_params);
	l->call_params = extra;
	set_status(l, "ringing");
	memcpy(sid, l->sid, sizeof sid);
	fetch_twiml(l, "voice", voice_url, false);
	pthread_mutex_unlock(&sim_lock);
	tp_log_kv(TP_LOG_INFO, "call placed", "call", sid, "origin", sip ? "sip" : "pstn");
	if (ctl_wait(rq))
		sim_out_wait_call(sid, CTL_WAIT_MS);
	reply_view(rs, TP_S_CREATED, sid);
}

void sim_ctl_call_get(const char *sid, sim_resp *rs)
{
	reply_view(rs, TP_S_OK, sid);
}

void sim_ctl_calls_list(sim_resp *rs)
{
	cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "calls");
	size_t i;

	pthread_mutex_lock(&sim_lock);
	for (i = nlegs; i > 0; i--)
		if (!legs[i - 1]->parent[0])
			cJSON_AddItemToArray(a, call_view(legs[i - 1]));
	pthread_mutex_unlock(&sim_lock);
	sim_resp_json(rs, TP_S_OK, j);
}

void sim_ctl_digits(const char *sid, sim_req *rq, sim_resp *rs)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(rq->json, "digits");
	const char *keys;
	sim_leg *l, *pstn;
	size_t i, n;
	sim_sid root;

	if (!cJSON_IsString(d)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "body must be {\"digits\": \"...\"}");
		return;
	}
	keys = d->valuestring;
	n = strlen(keys);
	if (n == 0 || n > 64 || strspn(keys, "0123456789*#") != n) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST, "digits: 1 to 64 DTMF keys 0-9 * #");
		return;
	}
	pthread_mutex_lock(&sim_lock);
	l = sim_leg_find(sid);
	pstn = l ? sim_leg_pstn(l) : NULL;
	if (!l) {
		pthread_mutex_unlock(&sim_lock);
		sim_resp_ctl_error(rs, TP_S_NOT_FOUND, "no call %s", sid);
		return;
	}
	if (!pstn || strcmp(pstn->status, "in-progress") != 0) {
		pthread_mutex_unlock(&sim_lock);
		sim_resp_ctl_error(rs, TP_S_CONFLICT, "the call has no PSTN leg in progress");
		return;
	}
	memcpy(root, l->root, sizeof root);
	for (i = 0; i < n; i++)
		sim_pay_dtmf(pstn, keys[i]);
	pthread_mutex_unlock(&sim_lock);
	if (ctl_wait(rq))
		sim_out_wait_call(root, CTL_WAIT_MS);
	reply_view(rs, TP_S_OK, root);
}

static void on_refer(void *ctx, const sim_out_result *res)
{
	webhook_ctx *w = ctx;
	sim_leg *l, *child;
	tp_buf err, why;
	sim_xml *doc = NULL, *v;

	if (!res) {
		free(w);
		return;
	}
	tp_buf_init(&err, 512);
	tp_buf_init(&why, 1024);
	pthread_mutex_lock(&sim_lock);
	l = sim_leg_find(w->leg);
	child = sim_leg_find(w->child);
	if (!l || !leg_live(l))
		goto out;
	if (!res->sent || res->status < 200 || res->status >= 300) {
		tp_buf_addf(&why, "failed: 11200 HTTP retrieval failure: %s",
		            res->sent ? tp_status_str((int)res->status) : res->error);
		set_str(&l->refer_result, tp_buf_str(&why));
		goto out;
	}
	doc = sim_xml_parse(res->body.ptr ? res->body.ptr : "", res->body.len, &err);
	if (!doc || strcmp(doc->name, "Response") != 0) {
		tp_buf_addf(&why, "failed: 12100 Document parse failure: %s", tp_buf_str(&err));
		set_str(&l->refer_result, tp_buf_str(&why));
		goto out;
	}
	for (v = doc->child; v; v = v->next)
		if (strcmp(v->name, "Dial") == 0 || strcmp(v->name, "Reject") == 0 ||
		    strcmp(v->name, "Hangup") == 0)
			break;
	if (!v || strcmp(v->name, "Reject") == 0) {
		/* The REFER is refused; the call stays as it was. */
		set_str(&l->refer_result, "rejected");
	} else if (strcmp(v->name, "Hangup") == 0) {
		set_str(&l->refer_result, "accepted");
		end_call(l, "completed");
	} else {
		/* The new <Dial> replaces the referred leg (contract 7.3). */
		set_str(&l->refer_result, "accepted");
		if (child)
			end_leg(child, "completed");
		if (!run_dial(l, v))
			set_str(&l->refer_result, "failed: the transfer target did not answer");
	}
out:
	pthread_mutex_unlock(&sim_lock);
	sim_xml_free(doc);
	tp_buf_free(&err);
	tp_buf_free(&why);
	free(w);
}

void sim_ctl_refer(const char *sid, sim_req *rq, sim_resp *rs)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rq->json, "target");
	sim_leg *l, *root, *child = NULL;
	size_t i;
	sim_out *o;
	webhook_ctx *w;
	sim_sid rsid;

	if (!cJSON_IsString(t) || !text_ok(t->valuestring, 1024)) {
		sim_resp_ctl_error(rs, TP_S_BAD_REQUEST,
		                   "body must be {\"target\": \"sip:...\" or a number}");
		return;
	}
	pthread_mutex_lock(&sim_lock);
	l = sim_leg_find(sid);
	root = l ? sim_leg_find(l->root) : NULL;
	if (!root || !leg_live(root)) {
		pthread_mutex_unlock(&sim_lock);
		sim_resp_ctl_error(rs, TP_S_NOT_FOUND, "no call %s in progress", sid);
		return;
	}
	for (i = 0; i < nlegs; i++)
		if (strcmp(legs[i]->parent, root->sid) == 0 && leg_live(legs[i]))
			child = legs[i];
	if (!child) {
		pthread_mutex_unlock(&sim_lock);
		sim_resp_ctl_error(rs, TP_S_CONFLICT,
		                   "the call has no dialled leg to send a REFER");
		return;
	}
	if (!root->refer_url) {
		/* 13802: REFER on a <Dial> without referUrl. */
		set_str(&root->refer_result, "failed: 13802 no referUrl on the <Dial>");
		pthread_mutex_unlock(&sim_lock);
		sim_resp_ctl_error(rs, TP_S_CONFLICT,
		                   "13802: the <Dial> of this call has no referUrl");
		return;
	}
	w = tp_xcalloc(1, sizeof *w);
	memcpy(w->leg, root->sid, sizeof w->leg);
	memcpy(w->child, child->sid, sizeof w->child);
	w->refer = true;
	o = sim_out_new("refer", SIM_T_WEBHOOKS, root->refer_url, root->refer_get ? "GET" : "POST");
	memcpy(o->call_sid, root->sid, sizeof o->call_sid);
	voice_params(root, &o->params);
	tp_params_add(&o->params, "ReferTransferTarget", t->valuestring);
	o->done = on_refer;
	o->ctx = w;
	set_str(&root->refer_result, "pending");
	memcpy(rsid, root->sid, sizeof rsid);
	sim_out_queue(o);
	pthread_mutex_unlock(&sim_lock);
	if (ctl_wait(rq))
		sim_out_wait_call(rsid, CTL_WAIT_MS);
	reply_view(rs, TP_S_OK, rsid);
}

void sim_ctl_hangup(const char *sid, sim_resp *rs)
{
	sim_leg *l;
	sim_sid root;

	pthread_mutex_lock(&sim_lock);
	l = sim_leg_find(sid);
	if (!l) {
		pthread_mutex_unlock(&sim_lock);
		sim_resp_ctl_error(rs, TP_S_NOT_FOUND, "no call %s", sid);
		return;
	}
	memcpy(root, l->root, sizeof root);
	end_call(l, "completed");
	pthread_mutex_unlock(&sim_lock);
	sim_out_wait_call(root, CTL_WAIT_MS);
	reply_view(rs, TP_S_OK, root);
}
