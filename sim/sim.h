/*
 * sim.h - private header of the local Twilio emulator (sim/).
 *
 * The emulator behaves like the part of Twilio this product uses
 * (../shared/twilio-contract.md sections 1-9, control API in
 * ../shared/DESIGN.md "The emulator").  One file per concept:
 *
 *   main.c      command line, configuration, start-up and shutdown
 *   util.c      SIDs, dates, URLs
 *   http.c      libmicrohttpd server: request parsing, routing, responses
 *   auth.c      HTTP Basic auth of the REST APIs (contract 1.1)
 *   faults.c    injected faults per target (/sim/faults)
 *   reqlog.c    recent traffic both ways, redacted (/sim/requests)
 *   latency.c   the network's delay on every request both ways (/sim/latency)
 *   outbound.c  webhooks and connector calls: a queue per call, a pool of senders
 *   twiml.c     a small XML parser for TwiML replies
 *   calls.c     calls and legs: Calls REST, voice webhooks, <Dial>, REFER
 *   payments.c  agent-assisted Payments: REST, DTMF, callbacks, connector
 *   sync.c      Sync v1: services, maps, items
 *   control.c   the /sim/... control API
 *   phone.c     the customer phone page at GET /, live through /phone/events
 *
 * Threads.  libmicrohttpd serves every connection on its own thread, so a
 * control call may wait while a webhook it caused is delivered and the
 * handler calls back into the REST API, and a request held back by the
 * latency model holds back nobody else.  All outbound HTTP (webhooks, the
 * connector) goes through a queue per call, served by a bounded pool of
 * sender threads: the callbacks of one call leave one at a time in the
 * order Twilio sends them, those of different calls travel at once, and
 * no REST handler ever waits on a webhook.  A timer thread ends DTMF
 * fields on the inter-digit timeout.
 *
 * Locking.  sim_lock guards calls, legs, payments and Sync.  It is held
 * briefly and never across network I/O.  faults.c, latency.c, reqlog.c
 * and outbound.c each have their own small lock and may be called with or
 * without sim_lock held; they never take sim_lock themselves (outbound.c's
 * senders run a request's continuation, which may, after dropping the
 * queue lock).
 *
 * PCI.  Card and bank digits exist only inside payments.c, in memory, for
 * the life of a session; they leave the process only in the connector
 * request body, which is redacted before it is logged or recorded.
 */
#ifndef SIM_H
#define SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "twiliopay.h"

#define SIM_BODY_MAX   (1u << 20) /* inbound request bodies */
#define SIM_TWIML_MAX  65536      /* TwiML replies; Twilio's 64 kB limit (error 11750) */
#define SIM_WEBHOOK_MS 15000      /* Twilio's webhook timeout */

typedef char sim_sid[TP_SID_SIZE];

/* ---------------------------------------------------------------- main.c */

typedef struct sim_cfg {
	char *listen_host;
	unsigned port;
	char *base_url;       /* our own http://host:port, used in Sync URLs */
	char *server_url;     /* the product's public base URL */
	char *account_sid;    /* the one account accepted */
	char *auth_token;     /* REST password; signs webhooks */
	char *api_key;        /* optional SK... accepted with api_secret */
	char *api_secret;     /* optional */
	char *connector_name; /* the one PaymentConnector unique name known */
	char *connector_user; /* Basic auth sent to the connector, may be NULL */
	char *connector_pass;
	char *connector_url;  /* the Generic Pay Connector endpoint */
	char *phone_number;   /* our Twilio number, E.164 */
	char *phone_sid;      /* its PN... SID */
	char *voice_url;      /* the number's voice URL */
	char *sip_voice_url;  /* the SIP domain's voice URL */
	char *sip_domain_sid; /* SD... */
	long webhook_timeout_ms;
	long senders_max;      /* sender threads at most (outbound.c) */
	long requests_kept[2]; /* /sim/requests entries kept: [0] inbound, [1] outbound */
	time_t started;        /* the account's date_created */
} sim_cfg;

extern sim_cfg sim_conf;
extern pthread_mutex_t sim_lock;

/* ---------------------------------------------------------------- util.c */

void sim_new_sid(sim_sid out, const char *prefix);
void sim_uuid(char out[37]);
void sim_time_rfc2822(time_t t, char out[40]); /* "Wed, 18 Dec 2019 20:02:01 +0000" */
void sim_time_iso(time_t t, char out[32]);     /* "2015-07-30T20:00:00Z" */
void sim_time_iso_ms(const struct timespec *ts, char out[40]); /* ...53.408Z */
double sim_mono_ms(void);                                      /* monotonic clock, ms */
void sim_sleep_ms(long ms);
/* An absolute URL for `url`: as is when it has a scheme, else resolved
 * against `base` (scheme://host[:port] plus the path for relative paths).
 * malloc'd; NULL when neither gives an http(s) URL. */
char *sim_abs_url(const char *base, const char *url);
bool sim_is_http_url(const char *s);
/* Appends "?"/"&" + the encoded form to url (GET webhooks). */
void sim_url_add_query(tp_buf *url, const tp_params *p);
/* Wipes and frees a string that held card data. */
void sim_free_secret(char *s);
/* Strict positive decimal integer, s wholly digits, <= max. */
bool sim_parse_long(const char *s, long max, long *out);

/* ---------------------------------------------------------------- http.c */

typedef struct sim_req {
	const char *method;
	char *uri;  /* request target as sent: path + "?" + query */
	char *path; /* path part, still percent-encoded */
	char **seg; /* decoded path segments */
	size_t nseg;
	tp_params query; /* decoded query string */
	tp_params form;  /* decoded form body */
	cJSON *json;     /* JSON body, NULL unless valid JSON */
	tp_buf body;     /* raw body */
	const char *content_type, *authorization, *if_match;
	const char *twilio_token; /* X-Twilio-Token: an Access Token (Sync only) */
	const char *auth_user;    /* Basic user once authenticated, for the log */
	/* Set when an Access Token authenticated the request (Sync only):
	 * grants.identity and grants.data_sync.service_sid, owned. */
	char *token_identity, *token_service;
	bool bad_encoding; /* path, query or form had a bad escape */
} sim_req;

typedef struct sim_phone_stream sim_phone_stream;

typedef struct sim_resp {
	int status;
	const char *content_type; /* static string */
	tp_buf body;
	tp_params headers;
	bool drop;                /* close the connection without an answer */
	const char *fault;        /* description of an injected fault, for the log */
	sim_phone_stream *stream; /* an event stream instead of body (phone.c), owned */
	long latency_ms;          /* the latency model's delay, for the log */
} sim_resp;

/* Starts serving on --listen: TP_ECONFIG when its host is not an IPv4
 * address, TP_EIO when it cannot listen (both logged). */
tp_rc sim_http_start(void);
void sim_http_stop(void);
/* Takes ownership of j. */
void sim_resp_json(sim_resp *r, int status, cJSON *j);
void sim_resp_text(sim_resp *r, int status, const char *ctype, const char *text);
void sim_resp_header(sim_resp *r, const char *name, const char *value);
/* Twilio's error JSON (contract 1.2): code, message, more_info, status. */
void sim_resp_twilio_error(sim_resp *r, int status, long code, const char *fmt, ...)
    TP_PRINTF(4, 5);
/* The control API's error: {"error": "...", "code": n?}. */
void sim_resp_ctl_error(sim_resp *r, int status, const char *fmt, ...) TP_PRINTF(3, 4);
/* Parameter from the form body, then the query. */
const char *sim_req_param(const sim_req *rq, const char *name);

/* ---------------------------------------------------------------- auth.c */

/* True when the request carries Basic credentials of the account (SID +
 * auth token) or of its API key; else writes Twilio's 401 (20003). */
/* HTTP Basic (account or API key).  When `token_ok` (the Sync API), an
 * Access Token in X-Twilio-Token instead: HS256 with API_SECRET, iss =
 * API_KEY, sub = the account, not expired, a data_sync grant; it sets
 * rq->token_identity / token_service, and sync.c decides what the
 * identity may do.  Replies 401 and returns false otherwise. */
bool sim_auth_check(sim_req *rq, sim_resp *rs, bool token_ok);

/* ---------------------------------------------------------------- faults.c */

typedef enum sim_target {
	SIM_T_API,
	SIM_T_SYNC,
	SIM_T_CONNECTOR,
	SIM_T_WEBHOOKS,
	SIM_T_COUNT,
} sim_target;

typedef struct sim_fault {
	int status;       /* 0, or the HTTP status to answer / pretend */
	long delay_ms;    /* wait before acting */
	bool drop;        /* drop the connection / lose the webhook */
	bool duplicate;   /* webhooks: deliver twice */
	bool lose_answer; /* api, sync: process the request, then close the
	                   * connection without answering */
	char desc[96];    /* for the request log */
} sim_fault;

/* Consumes one use of the first fault armed for target whose `match`
 * (if any) is a substring of url and whose `method` (if any) is method.
 * False when none applies. */
bool sim_fault_take(sim_target t, const char *method, const char *url, sim_fault *out);
void sim_faults_control(const sim_req *rq, sim_resp *rs);

/* ---------------------------------------------------------------- latency.c */

/* "MEAN[,JITTER]" in milliseconds (--latency-ms, SIM_LATENCY_MS). */
bool sim_latency_parse(const char *s, long *mean_ms, long *jitter_ms);
void sim_latency_set_all(long mean_ms, long jitter_ms);
/* This request's delay for target t, in ms (0 without latency). */
long sim_latency_sample_ms(sim_target t);
void sim_latency_control(const sim_req *rq, sim_resp *rs);

/* ---------------------------------------------------------------- reqlog.c */

/* What became of one outbound request, for the record. */
typedef struct sim_out_record {
	const char *kind, *method, *url, *ctype, *body; /* body: redacted here */
	long status;                                    /* 0: no answer */
	const char *resp_body, *error, *call_sid, *fault;
	const char *outcome;     /* delivered, http-error, timeout, failed, dropped, not-sent */
	struct timespec sent_at; /* wall clock when it left (or would have) */
	double wait_ms;          /* from being queued to leaving: latency, queue */
	double ms;               /* from leaving to the answer (or giving up) */
} sim_out_record;

/* Records an inbound request (body redacted). */
void sim_reqlog_in(const sim_req *rq, const sim_resp *rs, const char *api, double ms);
/* Records an outbound request (body redacted; `ctype` says how). */
void sim_reqlog_out(const sim_out_record *r);
void sim_reqlog_control(const sim_req *rq, sim_resp *rs);
/* Redacted copies of a form body / a JSON body, for the record: values
 * of secret-named fields (tp_redact_is_secret_name, plus DTMF "digits")
 * are replaced unless already masked, and every string passes
 * tp_redact_text. */
cJSON *sim_redact_form(const tp_params *form);
cJSON *sim_redact_json(const cJSON *j);

/* ---------------------------------------------------------------- outbound.c */

typedef struct sim_out_result {
	bool sent;      /* a request went out and an answer came back */
	bool timed_out; /* no answer within Twilio's webhook timeout */
	long status;    /* HTTP status, 0 without an answer */
	tp_buf body;    /* answer body */
	char error[256];
} sim_out_result;

typedef void (*sim_out_done_fn)(void *ctx, const sim_out_result *res);

/* One outbound request.  Form requests (webhooks) are signed with
 * X-Twilio-Signature (contract 9); JSON requests (the connector) carry
 * Basic auth instead. */
typedef struct sim_out {
	const char *kind;  /* voice, dial-status, refer, payment-status, connector */
	sim_target target; /* SIM_T_WEBHOOKS or SIM_T_CONNECTOR */
	char *url;
	bool get;             /* GET with the parameters in the query */
	tp_params params;     /* form parameters */
	char *json;           /* JSON body instead of a form (connector), owned */
	char *userpwd;        /* "user:pass" for Basic auth, owned, may be NULL */
	sim_sid call_sid;     /* the call's arriving leg: its queue; for the record */
	sim_out_done_fn done; /* called on the sender, without sim_lock */
	void *ctx;
	double queued_ms;     /* monotonic, when queued */
	double not_before_ms; /* monotonic: not sent earlier (latency) */
	struct sim_out *next;
} sim_out;

sim_out *sim_out_new(const char *kind, sim_target target, const char *url, const char *method);
/* Queues o on its call's queue (takes ownership).  May be called with
 * sim_lock held. */
void sim_out_queue(sim_out *o);
/* Waits until nothing of call `call_sid` is queued or being sent (what
 * its requests' continuations queued included); false on timeout. */
bool sim_out_wait_call(const char *call_sid, long timeout_ms);
void sim_out_start(void);
void sim_out_stop(void);

/* ---------------------------------------------------------------- twiml.c */

typedef struct sim_xml {
	char *name;
	tp_params attrs;
	char *text; /* concatenated character data, trimmed */
	struct sim_xml *child, *next;
} sim_xml;

/* Parses a well-formed XML document (elements, attributes, text, the five
 * predefined entities and numeric references, comments, the XML
 * declaration, CDATA).  NULL with a reason in err when malformed. */
sim_xml *sim_xml_parse(const char *s, size_t len, tp_buf *err);
void sim_xml_free(sim_xml *x);
const char *sim_xml_attr(const sim_xml *x, const char *name);

/* ---------------------------------------------------------------- calls.c */

typedef struct sim_leg {
	sim_sid sid;
	sim_sid parent; /* "" for the leg that arrived */
	sim_sid root;   /* the arriving leg of this call */
	char *from, *to;
	const char *direction; /* inbound, outbound-dial */
	const char
	    *status; /* queued ringing in-progress completed busy failed no-answer canceled */
	bool sip;    /* this leg faces the SIP side (To or From is a SIP URI) */
	tp_params sip_headers; /* X- headers of the INVITE (inbound SIP) or of the <Sip> URI */
	tp_params call_params; /* the arriving leg: further voice-request parameters
	                        * Twilio adds for this caller (control API "params",
	                        * e.g. TollFreeMobileOriginationLocation) */
	time_t created, updated, started, ended;
	/* child legs: the <Number>/<Sip> statusCallback */
	char *cb_url;
	bool cb_get;
	unsigned cb_events; /* SIM_EV_* */
	int cb_seq;
	/* the leg that ran <Dial>: its referUrl */
	char *refer_url;
	bool refer_get;
	char *doc_url;      /* URL of the TwiML this leg runs; relative URLs resolve here */
	char *refer_result; /* last REFER on this call: accepted, rejected, failed: ... */
	char *error;        /* why the call failed, e.g. "12100 Document parse failure" */
} sim_leg;

enum {
	SIM_EV_INITIATED = 1u << 0,
	SIM_EV_RINGING = 1u << 1,
	SIM_EV_ANSWERED = 1u << 2,
	SIM_EV_COMPLETED = 1u << 3,
};

/* All under sim_lock. */
sim_leg *sim_leg_find(const char *sid);
/* The customer's PSTN leg of the call `any` belongs to (NULL if none). */
sim_leg *sim_leg_pstn(const sim_leg *any);
bool sim_leg_same_call(const sim_leg *a, const sim_leg *b);
/* /2010-04-01/Accounts/{AC}/Calls/... after authentication. */
void sim_calls_api(sim_req *rq, sim_resp *rs);
/* Control API (control.c routes here). */
void sim_ctl_call_create(sim_req *rq, sim_resp *rs);
void sim_ctl_call_get(const char *sid, sim_resp *rs);
void sim_ctl_calls_list(sim_resp *rs);
void sim_ctl_digits(const char *sid, sim_req *rq, sim_resp *rs);
void sim_ctl_refer(const char *sid, sim_req *rq, sim_resp *rs);
void sim_ctl_hangup(const char *sid, sim_resp *rs);

/* ---------------------------------------------------------------- payments.c */

/* .../Calls/{CallSid}/Payments[/{Sid}].json; `leg` is the URL's call. */
void sim_payments_api(sim_req *rq, sim_resp *rs, sim_leg *leg, const char *pk);
/* The customer pressed a key on the PSTN leg `pstn`. */
void sim_pay_dtmf(sim_leg *pstn, char key);
/* Leg `leg` ended: a session listening on it ends with caller-hung-up. */
void sim_pay_leg_ended(const sim_leg *leg);
/* Masked view of the payments on the call of `leg`. */
cJSON *sim_pay_json(const sim_leg *leg);
/* TP_EIO when its thread cannot be started. */
tp_rc sim_pay_timer_start(void);
void sim_pay_timer_stop(void);

/* ---------------------------------------------------------------- sync.c */

/* /v1/... after authentication. */
void sim_sync_api(sim_req *rq, sim_resp *rs);

/* ---------------------------------------------------------------- control.c, phone.c */

void sim_control(sim_req *rq, sim_resp *rs);
/* GET /, /phone.js, /phone.css, /phone/events; false when the path is
 * not the page's. */
bool sim_phone(const sim_req *rq, sim_resp *rs);
/* Something may have changed (a request was handled): streams look now. */
void sim_phone_changed(void);
/* Ends every stream (shutting down). */
void sim_phone_stop(void);
/* The next bytes of an event stream, at most max; blocks until there are
 * some.  -1 at the end. */
long sim_phone_stream_read(sim_phone_stream *s, char *buf, size_t max);
void sim_phone_stream_free(sim_phone_stream *s);

#endif
