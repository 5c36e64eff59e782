/*
 * internal.h - private to lib/: what the library's modules call in each
 * other and no handler, tool or the emulator does.  Not installed.  The
 * unit tests (tests/unit) and the fuzz harnesses (tests/fuzz) include it
 * to reach these functions directly.
 *
 * The sections follow twiliopay.h's order, one per lib/<module>.c; the
 * memory and ownership rules stated at the top of twiliopay.h hold here
 * too.
 */
#ifndef TP_INTERNAL_H
#define TP_INTERNAL_H

#include "twiliopay.h"

/* ---------------------------------------------------------------- rc */

/* A short lower-case name of rc ("ok", "invalid", "expired", ...), for
 * the unit tests' messages. */
const char *tp_rc_str(tp_rc rc);

/* ---------------------------------------------------------------- alloc.c */

/* Allocation that cannot fail (twiliopay.h, alloc.c): the plain malloc
 * the library uses itself. */

void *tp_xmalloc(size_t n);

/* ---------------------------------------------------------------- str.c */

/* String helpers (twiliopay.h, str.c): what only the parsers use. */

/* Value of one hex digit (either case), or -1. */
int tp_hex_digit(int c);

/* ---------------------------------------------------------------- params.c */

/* Name/value lists (twiliopay.h, params.c): the limit of one parse and
 * the flattening of a JSON body into a list. */

#define TP_PARAMS_MAX 256 /* pairs accepted from one form/query string */

/* Adds every scalar member of a JSON object as a string pair: strings
 * as-is, integers exactly, other numbers with 15 significant digits,
 * booleans as true/false.  null, objects and arrays are skipped (they stay
 * reachable through tp_req.json).  TP_EINVAL when obj is not an object. */
tp_rc tp_params_from_json(tp_params *out, const cJSON *obj);

/* ---------------------------------------------------------------- b64.c */

/* Base64 (twiliopay.h, b64.c): decoding, which only the library does. */

/* Decodes standard base64 (padding optional); TP_EINVAL on bad input. */
tp_rc tp_b64_decode(tp_buf *out, const char *s, size_t len);

/* ---------------------------------------------------------------- sig.c */

/* Twilio request signatures (twiliopay.h, sig.c): the check the request
 * pipeline makes before a signed handler runs. */

/* True when `header` is the signature of url+form under auth_token, where
 * the URL is tried as given, with its port removed and with the scheme's
 * default port added (Twilio's validators accept each form).  When the URL
 * carries bodySHA256 (JSON webhooks), `body` must hash to it and the form
 * is ignored.  Constant-time in the comparison. */
bool tp_sig_valid(const char *url, const tp_params *form, const char *body, size_t body_len,
                  const char *auth_token, const char *header);

/* ---------------------------------------------------------------- log.c */

/* Logging (twiliopay.h, log.c): asking before building an expensive
 * line. */

/* True when a line at lvl would be written (skip building one otherwise). */
bool tp_log_enabled(tp_log_level lvl);

/* ---------------------------------------------------------------- req.c */

/* The request and response (twiliopay.h, req.c): the parts of a request
 * that handlers do not see, and the reply writers only the library
 * uses. */

/* Sets status + Content-Type and replaces the body. */
void tp_reply_text(tp_resp *resp, int status, const char *text);
void tp_reply_xml(tp_resp *resp, int status, const char *xml);
/* Serialises `json` (not consumed) compactly. */
void tp_reply_json(tp_resp *resp, int status, const cJSON *json);

/* A response body's maximum when the handler set none. */
#define TP_RESP_BODY_MAX (1u << 20)
/* An empty response with a body of up to TP_RESP_BODY_MAX, and its end
 * (headers, body, log fields): the pipeline's, and the unit tests'. */
void tp_resp_init(tp_resp *r);
void tp_resp_free(tp_resp *r);

/* Parameter a, else b (NULL: none), when not empty; NULL otherwise.  For
 * fields the agent API accepts under two names (uui/conversationId,
 * chargeAmount/amount). */
const char *tp_req_param_any(const tp_req *req, const char *a, const char *b);

/* tp_req is the first member, so a tp_req* handed to a handler can be
 * turned back into the private view. */
typedef struct tp_req_priv {
	tp_req pub;
	char *strings[16]; /* owned copies behind pub's const char* fields */
	size_t nstrings;
	char *public_url;
	/* Where the request's variables come from (fcgi.c), valid while the
	 * handler runs: tp_req_getenv reads through it. */
	const struct req_source *src;
} tp_req_priv;

/* ---------------------------------------------------------------- fcgi.c */

/* The request pipeline and process model (twiliopay.h, fcgi.c): what
 * the steps before a handler and the worker's thread pool share with the
 * rest of the library, and one request run from CGI-style variables for
 * the tests. */

/* Exposed for tests: run one request through the full pipeline (body cap,
 * parsing, auth/signature, handler) from CGI-style variables.  `env` is a
 * NULL-terminated "NAME=value" list; the CGI response (status line,
 * headers, body) is appended to `out`. */
void tp_process_cgi(const tp_handler *h, const tp_config *cfg, const char *const *env,
                    const char *body, size_t body_len, tp_buf *out);

/* A copy of s owned by the request (freed with it), or NULL for NULL:
 * what a step before the handler hands on to it, such as the
 * authenticated agent (every thread of a worker serves its own request,
 * so nothing request-scoped may live in a static buffer). */
const char *tp_req_keep(tp_req *req, const char *s);

/* Called by a request's thread just before it waits on something slow
 * (a Twilio request, a retry's back-off, a helper task): the worker's
 * pool makes sure an idle thread is left to take the next request
 * (fcgi.c, "Threads").  Nothing outside a worker process. */
void tp_pool_blocking(void);

/* ---------------------------------------------------------------- http.c */

/* The HTTP client (twiliopay.h, http.c): its one-time set-up and the
 * pool of kept-alive handles. */

/* curl_global_init and the pool's shared DNS/TLS-session cache, once per
 * process (tp_http_do calls it; call it before starting threads when
 * libcurl lacks CURL_VERSION_THREADSAFE). */
void tp_http_init(void);
/* Idle handles in the pool (each holds its connections). */
size_t tp_http_pool_idle(void);
/* Closes the handles idle for longer than the pool keeps them (15 s);
 * returns how many. */
size_t tp_http_pool_trim(void);

/* ---------------------------------------------------------------- api.c */

/* Twilio REST calls (twiliopay.h, api.c): the Calls and Payments
 * requests only the library's own helpers make. */

/* Calls and Payments (2010 API). */
bool tp_call_fetch(const tp_config *cfg, const char *call_sid, tp_api_result *out);
bool tp_payment_update(const tp_config *cfg, const char *call_sid, const char *payment_sid,
                       const tp_params *form, tp_api_result *out);

#define TP_API_BUDGET_MS 12000 /* inside Twilio's 15 s webhook timeout */

/* ---------------------------------------------------------------- sync.c */

/* Sync v1 (twiliopay.h, sync.c): the Map Item, Service and Map requests
 * made inside the library (paysession.c, attach.c, reference.c).
 * Parameters as described there. */

bool tp_sync_item_fetch(const tp_config *cfg, const char *service, const char *map, const char *key,
                        tp_api_result *out);
bool tp_sync_item_create(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, tp_api_result *out);
bool tp_sync_item_update(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, const char *if_match,
                         tp_api_result *out);
bool tp_sync_item_delete(const tp_config *cfg, const char *service, const char *map,
                         const char *key, tp_api_result *out);

/* ---------------------------------------------------------------- card.c */

/* Card, bank and money rules (twiliopay.h, card.c): the pieces
 * tp_card_number_check and the connector combine, and the list of known
 * currencies. */

tp_card_brand tp_card_brand_of(const char *digits);
bool tp_card_length_ok(tp_card_brand b, size_t ndigits);
bool tp_card_luhn_ok(const char *digits);
/* The same over d[0..n), which need not be NUL-terminated. */
bool tp_luhn_ok(const char *d, size_t n);
size_t tp_card_cvc_len(tp_card_brand b); /* 4 for amex, else 3 */

/* The i-th active ISO 4217 code known to tp_currency_minor_units, in
 * alphabetical order; NULL past the last. */
const char *tp_currency_code_at(size_t i);
/* TP_AMOUNT_LIMIT in minor units of a currency with `places` decimals. */
int64_t tp_amount_limit_minor(int places);

/* Twilio's ChargeAmount is a decimal 0 < x < 1,000,000 (Payments
 * resource, Create, ChargeAmount; twilio-contract.md 3.1). */
#define TP_AMOUNT_LIMIT 1000000 /* major units; amounts are below it */

/* ---------------------------------------------------------------- xml.c */

/* The XML/TwiML writer (twiliopay.h, xml.c): the element writers the
 * TwiML builders of voice.c use; every value is escaped. */

/* Appends <?xml version="1.0" encoding="UTF-8"?>\n */
tp_rc tp_xml_decl(tp_buf *out);
/* attrs: NULL-terminated name, value list; pairs with a NULL value are
 * skipped.  `empty` writes <name .../>. */
tp_rc tp_xml_open(tp_buf *out, const char *name, const char *const *attrs, bool empty);
tp_rc tp_xml_text(tp_buf *out, const char *text);
tp_rc tp_xml_close(tp_buf *out, const char *name);

/* ---------------------------------------------------------------- voice.c */

/* Voice routing (twiliopay.h, voice.c): URI parsing, the User-to-User
 * encoding and the TwiML documents behind the handler replies. */

#define TP_VOICE_E164_SIZE 17 /* '+', at most 15 digits, NUL */

/* A parsed sip:, sips: or tel: URI (RFC 3261 section 19.1.1, RFC 3966). */
typedef struct tp_voice_uri {
	char scheme[5];    /* "sip", "sips" or "tel", lower case */
	char *user;        /* user part as written (escapes kept), without its
	                    * ;parameters; tel: the number; "" if none */
	char *user_params; /* ";..." inside the user part (RFC 3966 parameters
	                    * of a user=phone number), "" if none */
	char *host;        /* hostport as written; "" for tel: */
	char *params;      /* ";name=value..." URI parameters as written, "" if none */
	tp_params headers; /* "?name=value&..." URI headers, percent-decoded */
} tp_voice_uri;

/* A REFER target (ReferTransferTarget, twilio-contract.md 7.3). */
typedef struct tp_voice_target {
	bool sip;                        /* dial a SIP URI (else a number) */
	char number[TP_VOICE_E164_SIZE]; /* !sip: the E.164 number */
	tp_voice_uri uri;                /* sip: the target */
	char *uui;                       /* decoded User-to-User the target carried, or NULL */
} tp_voice_target;

/* One <Dial> with one noun, as every voice handler answers. */
typedef struct tp_voice_dial {
	const char *caller_id; /* <Dial callerId>, NULL to leave it out */
	const char *refer_url; /* non-NULL: answerOnBridge, referUrl, referMethod=POST */
	bool sip;              /* <Sip> (true) or <Number> */
	const char *target;    /* the SIP URI or E.164 number (text of the noun) */
	const char *callback;  /* statusCallback for "answered", NULL for none */
} tp_voice_dial;

/* True when s is '+' then 2-15 digits, the first not 0: the Node
 * original's ^\+[1-9]\d{1,14}$ (ITU-T E.164 allows 15 digits). */
bool tp_voice_e164_valid(const char *s);

/* Parses a URI, optionally inside <...> (a display name before '<' and
 * header parameters after '>' are ignored) and surrounded by blanks; the
 * scheme matches in any case.  TP_EINVAL for another scheme, an empty
 * host, a truncated %-escape, or any character the grammar does not allow
 * unescaped (blanks, controls, < > " { } ...); TP_ETOOBIG past
 * TP_VOICE_URI_MAX.  On TP_OK free `out` with tp_voice_uri_free; on error
 * it holds nothing. */
tp_rc tp_voice_uri_parse(const char *s, tp_voice_uri *out);
void tp_voice_uri_free(tp_voice_uri *u);

/* Appends the User-to-User header value that carries `uui` to Genesys
 * Cloud, unescaped: "04" + upper-case hex of the bytes + ";encoding=hex".
 * (Why: see voice.c.)  Percent-encode it when placing it in a URI. */
tp_rc tp_voice_uui_encode(tp_buf *out, const char *uui);
/* The plain UUI inside a received User-to-User header value, i.e. what
 * Genesys would show: hex (the default when no encoding parameter is
 * given) decodes, and the leading protocol discriminator octet is dropped
 * unless a pd parameter carries it; ascii is taken as is.  A value that
 * does not decode to printable text is taken as written (without its
 * parameters), so a bare CallSid from the Node original still matches.
 * TP_EINVAL when the result is not a valid UUI. */
tp_rc tp_voice_uui_decode(tp_buf *out, const char *header);

/* Appends a whole TwiML document; every value is XML-escaped. */
tp_rc tp_voice_twiml_dial(tp_buf *out, const tp_voice_dial *d);
/* <Response><Reject reason="..."/></Response>; reason "rejected" or "busy". */
tp_rc tp_voice_twiml_reject(tp_buf *out, const char *reason);

/* The E.164 number a webhook value names: the user part of a sip:/sips:
 * URI or the number of a tel: URI (both also inside <...>), or a bare
 * number.  Escapes are decoded and RFC 3966 visual separators (- . ( ))
 * dropped; a sip: user or a bare number without '+' gets one (Genesys
 * sends both forms); a tel: number must be global (start with '+').
 * TP_EINVAL when the value holds no valid E.164 number. */
tp_rc tp_voice_number(const char *s, char out[TP_VOICE_E164_SIZE]);

/* <server_url>/sync/uuiSyncUpdate?CallDirection=<direction>&UUI=<uui>,
 * both values percent-encoded. */
tp_rc tp_voice_callback_url(tp_buf *out, const char *server_url, const char *direction,
                            const char *uui);

/* Renders u for <Sip>: scheme, user, parameters, then as URI headers its
 * X- headers (not X-Twilio-*, which Twilio refuses; others are dropped)
 * and, when uui is not NULL, User-to-User = tp_voice_uui_encode(uui), every
 * header percent-encoded.  TP_ETOOBIG when the headers part would reach
 * 1024 characters (Twilio warning 21227). */
tp_rc tp_voice_sip_uri(tp_buf *out, const tp_voice_uri *u, const char *uui);

/* sip:/sips: URIs (bare or in <...>, with parameters and headers) are SIP
 * targets; an all-digit user part gets a '+' as the Node original did
 * (an alphanumeric user is left alone).  tel: URIs and bare numbers are
 * PSTN targets and must be E.164.  TP_EINVAL otherwise.  On TP_OK free
 * with tp_voice_target_free. */
tp_rc tp_voice_refer_target(const char *s, tp_voice_target *out);

void tp_voice_target_free(tp_voice_target *t);

/* Handler replies (redis's ...OrReply idea: the response is written).
 * reply_reject answers 200 with <Reject reason=...> (TwiML, so Twilio ends
 * the call cleanly instead of reporting an application error), logs `why`
 * as a warning and adds rejected=why to the request's log line.
 * reply_dial answers 200 with tp_voice_twiml_dial(d). */
void tp_voice_reply_reject(tp_resp *resp, const char *reason, const char *why);

void tp_voice_reply_dial(tp_resp *resp, const tp_voice_dial *d);

/* ---------------------------------------------------------------- dial.c */

/* The toll-fraud rule: every handler that answers with <Dial> passes each
 * target through tp_dial_allowed_or_reply before it answers (docs/api.md
 * "Toll fraud", docs/operating.md "Configuration"; the why and the
 * sources are in dial.c).
 *
 *   TP_DIAL_NUMBER  target is the E.164 number for <Number> ("+..." as
 *                   tp_voice_number gives it).  Allowed when it starts
 *                   with a DIAL_ALLOWED_PREFIXES entry (any number when
 *                   unset) and with no DIAL_DENIED_PREFIXES entry (default
 *                   "premium": premium-rate and high-cost ranges).
 *   TP_DIAL_SIP     target is the SIP URI for <Sip>, as it will be
 *                   dialled.  Allowed when its host is SIP_DOMAIN_URI's or
 *                   matches DIAL_ALLOWED_SIP_DOMAINS, and it has no maddr
 *                   parameter.
 *
 * Usage, in a voice route (voice.c):
 *     if (!tp_dial_allowed_or_reply(cfg, resp, TP_DIAL_NUMBER, number))
 *             return;   // answered <Reject reason="rejected"/>, logged
 */

typedef enum tp_dial_kind { TP_DIAL_NUMBER, TP_DIAL_SIP } tp_dial_kind;

/* NULL when `target` may be dialled; otherwise why not, a static phrase
 * ("a premium-rate or high-cost range ...") for logs.  Pure: no I/O. */
const char *tp_dial_refusal(const tp_config *cfg, tp_dial_kind kind, const char *target);

/* The lists of DIAL_ALLOWED_PREFIXES, DIAL_DENIED_PREFIXES and
 * DIAL_ALLOWED_SIP_DOMAINS, checked and normalised (blanks dropped, lower
 * case) into out by config.c at start-up.  False when an entry is
 * malformed. */
typedef enum tp_dial_list {
	TP_DIAL_LIST_ALLOWED, /* +prefixes, or "any" */
	TP_DIAL_LIST_DENIED,  /* +prefixes and "premium", or "none" */
	TP_DIAL_LIST_DOMAINS, /* host names, "*.example.com" */
} tp_dial_list;
bool tp_dial_list_normalise(tp_dial_list kind, const char *v, tp_buf *out);

/* True when allowed.  Otherwise answers 200 <Reject reason="rejected"/>,
 * logs a warning naming the rule, adds dial_target and rejected to the
 * request's log line, and returns false. */
bool tp_dial_allowed_or_reply(const tp_config *cfg, tp_resp *resp, tp_dial_kind kind,
                              const char *target);

/* ---------------------------------------------------------------- connector.c */

/* The Generic Pay Connector (twiliopay.h, connector.c): a validated
 * request, a refusal, and the validation itself, which the gateways
 * receive and the fuzz harness drives. */

/* A validated request.  Pointers borrow from the request JSON (never
 * copied, so card data lives only in the request buffers); the buffers
 * hold values that arrived as JSON numbers. */
typedef struct tp_conn_req {
	tp_conn_method method;
	bool ach;                   /* bank debit (ach-debit) instead of a card */
	const char *transaction_id; /* Twilio's id: the idempotency key */
	/* card: never logged; only brand and last4 may be */
	const char *cardnumber;
	const char *cvv;         /* NULL when not captured */
	const char *postal_code; /* NULL when not captured */
	tp_card_brand brand;
	int expiry_month; /* 1-12 */
	int expiry_year;  /* four digits */
	char last4[5];
	/* ACH: never logged */
	const char *routing_number;
	const char *account_number;
	const char *account_type; /* consumer-checking, consumer-savings, commercial-checking */
	/* charge */
	int64_t amount_minor; /* > 0, in the currency's minor units */
	int currency_places;  /* ISO 4217 minor units */
	char currency[4];     /* upper case */
	/* tokenize */
	const char *token_type; /* one-time, reusable, payment-method */
	char amount_buf[32], month_buf[8], year_buf[8];
} tp_conn_req;

/* A validation failure or a decline, in the contract's terms. */
typedef struct tp_conn_error {
	const char *code;  /* static: "invalid_number", "card_declined"... */
	char message[200]; /* never holds request data */
} tp_conn_error;

/* Validates a connector request body.  `default_method` applies when the
 * body has no "method"; `now` decides whether the card has expired.
 * Returns true, or false with err filled. */
bool tp_connector_parse(const cJSON *json, tp_conn_method default_method, time_t now,
                        tp_conn_req *out, tp_conn_error *err);

/* ---------------------------------------------------------------- gateway.c */

/* The seam where a real payment gateway goes (twiliopay.h, gateway.c):
 * the connector hands every validated request to tp_gateway_submit and
 * relays what comes back. */

typedef struct tp_gw_result {
	bool approved;
	char id[48];               /* "ch_..." / "tok_..." when approved, else "" */
	const char *error_code;    /* static; NULL when approved */
	const char *error_message; /* static; NULL when approved */
} tp_gw_result;

void tp_gateway_submit(const tp_config *cfg, const tp_conn_req *rq, tp_gw_result *out);

/* ---------------------------------------------------------------- gateway_sandbox.c */

/* The sandbox gateway: approves every valid request except the documented
 * test numbers below, stores nothing, and derives its ids from the
 * request's transaction_id with a keyed hash (HMAC-SHA256 under
 * CONNECTOR_PASSWORD), so a retried transaction gets the same answer from
 * whichever worker or node serves it and ids cannot be guessed. */

void tp_gateway_sandbox_submit(const tp_config *cfg, const tp_conn_req *rq, tp_gw_result *out);
/* "ch_"/"tok_" + the first 16 bytes, in hex, of
 * HMAC-SHA256(key, "twiliopay-sandbox-v1|" method "|" transaction_id). */
void tp_gateway_sandbox_id(const char *key, tp_conn_method m, const char *transaction_id, char *out,
                           size_t out_len);

/* One documented sandbox test number and what it does. */
typedef struct tp_gw_test_number {
	const char *number; /* card number or bank account number */
	const char *error_code;
	const char *error_message;
} tp_gw_test_number;

/* NULL-terminated tables (docs/api.md "The Pay Connector"). */
extern const tp_gw_test_number tp_gateway_sandbox_cards[];
extern const tp_gw_test_number tp_gateway_sandbox_accounts[];

/* ---------------------------------------------------------------- jwt.c */

/* JWT and Access Tokens (twiliopay.h, jwt.c): the HMAC, the decoding and
 * the signing the token code shares. */

/* HMAC-SHA256 with a NUL-terminated key. */
void tp_hmac_sha256(const char *key, const void *msg, size_t len, unsigned char out[32]);
/* Base64url without padding (RFC 4648 section 5); TP_EINVAL on '+', '/',
 * '=' or any other character outside the alphabet. */
tp_rc tp_b64url_decode(tp_buf *out, const char *s, size_t len);
/* Appends header.payload.signature (RFC 7515 compact form, HS256). */
tp_rc tp_jwt_sign_hs256(tp_buf *out, const cJSON *header, const cJSON *payload, const char *key);

#define TP_ACCESS_TOKEN_MAX_TTL_S 86400 /* Twilio errors 20157 / 20104 */

/* ---------------------------------------------------------------- agent.c */

/* Agent credentials (twiliopay.h, agent.c): the signed-token format
 * under agent, session and ticket tokens, and the publish token the
 * handlers send to nchan. */

#define TP_SESSION_TOKEN_TTL_S 14400 /* 4 h: far longer than any call */

/* Verifies a password with crypt(3) (libxcrypt), in constant time per
 * hash; an unknown agent costs the same as a wrong password.  On TP_OK
 * `tag` is the stored hash's tag (for tokens). */
tp_rc tp_agent_check_password(const char *file, const char *name, const char *password,
                              char tag[TP_AGENT_TAG_LEN + 1]);
/* The tag of `name`'s stored hash now (tag "" unless TP_OK).  Return
 * values of this and the agent functions below: twiliopay.h, agent.c. */
tp_rc tp_agent_current_tag(const char *file, const char *name, char tag[TP_AGENT_TAG_LEN + 1]);
/* The revocation check for every credential that carries a tag (agent
 * tokens, tickets): TP_OK while `name` exists with the password whose tag
 * is `pwh` (compared in constant time); TP_ENOTFOUND once the agent is
 * deleted, TP_EAUTH once its password changed, TP_ECONFIG or TP_EIO when
 * AGENTS_FILE is unset or cannot be read. */
tp_rc tp_agent_tag_check(const char *file, const char *name, const char *pwh);
/* Verifies a password against a hash found by a lookup (`found`: TP_OK
 * with `hash`, or TP_ENOTFOUND with hash NULL, which burns the same
 * time).  Returns TP_OK (and `tag`), TP_EAUTH or TP_ENOTFOUND. */
tp_rc tp_agent_verify_hash(const char *name, tp_rc found, const char *hash, const char *password,
                           char tag[TP_AGENT_TAG_LEN + 1]);

/* ---------------------------------------------------------------- agentstore.c */

/* The agent store's parts that only lib/ and the unit tests use
 * (twiliopay.h has what handlers and tools call). */

/* The agent's stored hash (malloc'd), read now. */
tp_rc tp_agent_store_hash(const tp_config *cfg, const char *name, char **hash);
/* The agent's current tag; from Sync at most AGENTS_CACHE_S old. */
tp_rc tp_agent_store_tag(const tp_config *cfg, const char *name, char tag[TP_AGENT_TAG_LEN + 1]);
/* TP_OK when a token's pwh is still the agent's tag; TP_ENOTFOUND when
 * the agent is gone or its password changed (revoked); a store error
 * otherwise.  iat: when the token was issued. */
tp_rc tp_agent_store_check_tag(const tp_config *cfg, const char *name, const char *pwh, time_t iat);
/* A Sync record {"hash","mac"} (caller frees) and the check of one:
 * TP_OK and *hash (malloc'd) only when its MAC is right, else
 * TP_ENOTFOUND (no agent). */
cJSON *tp_agent_record(const char *secret, const char *name, const char *hash);
tp_rc tp_agent_record_hash(const char *secret, const char *name, const cJSON *data, char **hash);
void tp_agent_record_mac(const char *secret, const char *name, const char *hash, char hex[65]);
/* Forgets every cached record (tests). */
void tp_agent_store_cache_clear(void);

/* ---------------------------------------------------------------- redis.c */

/* One Redis command over a fresh connection (lib/redis.c): the nodes'
 * shared Redis, NCHAN_REDIS_URL. */
typedef struct tp_redis_url {
	char *host; /* TCP (redis://), or */
	int port;
	char *path; /* a unix socket (unix://) */
	char *user, *password;
	int db;
} tp_redis_url;

/* redis://[[user]:password@]host[:port][/db] or
 * unix://[[user]:password@]/path[?db=N]; TP_EINVAL otherwise (rediss://,
 * TLS, included).  tp_redis_url_free after TP_OK. */
tp_rc tp_redis_url_parse(const char *url, tp_redis_url *u);
void tp_redis_url_free(tp_redis_url *u);

typedef enum tp_redis_type {
	TP_REDIS_NIL,
	TP_REDIS_STATUS, /* +OK: str */
	TP_REDIS_ERROR,  /* -ERR ...: str */
	TP_REDIS_INT,    /* integer */
	TP_REDIS_BULK,   /* str, len */
	TP_REDIS_ARRAY,  /* integer = its length; elements not read */
} tp_redis_type;

typedef struct tp_redis_reply {
	tp_redis_type type;
	long long integer;
	char *str;
	size_t len;
} tp_redis_reply;

/* Connects per `url` (AUTH, SELECT as it says), sends argv, reads the
 * reply into *out (tp_redis_reply_free it), everything within timeout_ms.
 * TP_OK when Redis answered (an error reply included); TP_EIO when it
 * cannot be reached or does not answer in time, TP_EAUTH when it refused
 * the URL's password or database, TP_EINVAL for a bad URL or a reply that
 * is not RESP.  `why` gets a reason that never holds the password. */
tp_rc tp_redis_command(const char *url, long timeout_ms, size_t argc, const char *const argv[],
                       tp_redis_reply *out, tp_buf *why);
void tp_redis_reply_free(tp_redis_reply *r);

/* The claims every token of ours starts with: sub (the agent), kind, pwh
 * (the agent's password-hash tag: a new password or a deleted agent voids
 * the token), jti (TP_TOKEN_JTI_BYTES random bytes, hex: every token is
 * unique, and a ticket's jti names it in the spent list), iat, exp.  The
 * caller adds its own and frees the object. */
#define TP_TOKEN_JTI_BYTES 16
cJSON *tp_claims_new(const char *kind, const char *agent, const char *tag, time_t now, long ttl_s);
/* base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part)). */
tp_rc tp_token_issue(tp_buf *out, const char *secret, const cJSON *claims);
/* Checks the MAC (constant time) before parsing, then kind, sub, iat and
 * exp > now.  On TP_OK *claims is the caller's to cJSON_Delete.  Else
 * *why (when why is not NULL) says what was wrong:
 *   TP_ENOTFOUND  no token (NULL or "")
 *   TP_EINVAL     malformed (or no secret to check it with)
 *   TP_EAUTH      the signature is wrong, or the token is of another kind
 *   TP_EEXPIRED   exp has passed */
tp_rc tp_token_verify(const char *token, const char *secret, const char *kind, time_t now,
                      cJSON **claims, const char **why);
/* A string claim, or NULL. */
const char *tp_claim_str(const cJSON *claims, const char *name);

/* Publish tokens (twiliopay.h, tp_publish_token_ok): how far a token's
 * time may be from now, and making one. */
#define TP_PUBLISH_TOKEN_SKEW_S 60
void tp_publish_token(const char *secret, const char *payment_sid, time_t now, tp_buf *out);

/* ---------------------------------------------------------------- ticket.c */

/* Live-update tickets (twiliopay.h, ticket.c): the spent list that
 * makes each ticket usable once. */

/* Adds `id` (no blanks) to the spent list `file` until `exp`, unless a live
 * entry has it already: *fresh tells which.  Safe across processes (flock
 * on file ".lock"; the list replaced by rename).  TP_EIO / TP_ETOOBIG when
 * the list cannot be read or written: then nothing is spent. */
tp_rc tp_spent_claim(const char *file, const char *id, time_t exp, time_t now, bool *fresh);
/* The same in Redis: SET tp:ticket:<id> 1 NX EX <exp - now> ("+OK" fresh,
 * nil spent).  TP_EIO when Redis cannot be reached or answers otherwise
 * (then nothing is known spent or fresh: refuse); `why` says why. */
tp_rc tp_spent_claim_redis(const char *url, const char *id, time_t exp, time_t now, bool *fresh,
                           tp_buf *why);

/* ---------------------------------------------------------------- capture.c */

/* The capture state machine (twiliopay.h, capture.c): what only
 * paysession.c and the machine itself use. */

#define TP_CAPTURE_MAX_ATTEMPTS 4 /* Capture requests per field per step */

const char *tp_field_twilio_param(tp_field f); /* "PaymentCardNumber"... */
/* Milliseconds since the epoch of an ISO 8601 UTC time, -1 if malformed. */
int64_t tp_iso8601_ms(const char *s);
/* Order-independent digest of a callback's fields. */
void tp_capture_fingerprint(const tp_params *cb, char out[TP_CAPTURE_FP_LEN + 1]);

/* The field order: PAYMENT_CAPTURE_ORDER filtered to what applies, then
 * the applicable fields it left out. */
void tp_capture_order_build(tp_capture *c, const char *order_cfg, bool ach, bool cvc, bool postal);
/* True when the session asks for `f`. */
bool tp_capture_in_order(const tp_capture *c, tp_field f);
cJSON *tp_capture_to_json(const tp_capture *c);
/* TP_EINVAL on anything malformed. */
tp_rc tp_capture_from_json(tp_capture *c, const cJSON *o);
/* Appends `value` as it may be stored or shown: PaymentCardNumber keeps
 * its last 4 digits, BankAccountNumber its last 2, SecurityCode none;
 * anything else passes tp_redact_text. */
void tp_capture_mask(const char *param, const char *value, tp_buf *out);
/* The state object the console sees (docs/api.md "Agent API"). */
cJSON *tp_capture_view(const tp_capture *c, const cJSON *data, const char *payment_sid);

const char *tp_cap_status_name(tp_cap_status s);

/* Comma list of the fields still required (for a 409). */
void tp_capture_missing(const tp_capture *c, tp_buf *out);

/* ---------------------------------------------------------------- reference.c */

/* A payment's short reference (twiliopay.h, reference.c): its alphabet,
 * its candidates and the claim loop, apart from Sync so the unit tests
 * can drive it. */

#define TP_REFERENCE_CHARS      8
#define TP_REFERENCE_TRIES      8         /* candidates tried before giving up */
#define TP_REFERENCE_TTL_S      31536000L /* a year: Sync's longest item TTL */
#define TP_REFERENCE_KEY_PREFIX "ref:"

extern const char tp_reference_alphabet[]; /* 27 symbols, no look-alikes */

/* Candidate number `attempt` (0, 1...) for connector id `id`. */
void tp_reference_make(const char *key, const char *id, unsigned attempt,
                       char out[TP_REFERENCE_LEN + 1]);
/* True for a well-formed reference ("K7QM-4XTR"). */
bool tp_reference_valid(const char *s);

/* A registry's answer for one candidate: TP_OK with *mine true when it is
 * this id's (claimed now, or already held for it), false when another id
 * holds it (a collision); any other code when it could not tell. */
typedef tp_rc (*tp_reference_take_fn)(const char *ref, void *ctx, bool *mine);

/* Tries the candidates in order until `take` says one is this id's:
 * TP_OK with it in out (and its attempt number), TP_EIO when `take`
 * failed, TP_ENOTFOUND when every candidate was taken. */
tp_rc tp_reference_claim(const char *key, const char *id, tp_reference_take_fn take, void *ctx,
                         char out[TP_REFERENCE_LEN + 1], unsigned *attempt_out);

/* ---------------------------------------------------------------- paysession.c */

/* The payment session's I/O (twiliopay.h, paysession.c): what the
 * library's own steps use. */

void tp_iso8601_now(char out[TP_ISO8601_LEN + 1]); /* with milliseconds */

/* POSTs a view to the session's nchan channel (NCHAN_PUBLISH_URL/<PK>,
 * over NCHAN_PUBLISH_SOCKET when set).  Failures are logged. */
bool tp_paysession_publish(const tp_config *cfg, const char *payment_sid, const cJSON *view);

/* ---------------------------------------------------------------- payopts.c */

/* Payment options (twiliopay.h, payopts.c): the decimals limit and the
 * largest amount, for the console's view. */

#define TP_AMOUNT_PLACES 2 /* at most this many decimals, whatever ISO allows */

/* Appends the largest amount accepted with `places` decimals ("999999.99"). */
void tp_payopts_max_amount(int places, tp_buf *out);

/* Decimals a ChargeAmount may have in `currency`: its ISO 4217 minor
 * units, at most TP_AMOUNT_PLACES; -1 for an unknown code. */
int tp_payopts_places(const char *currency);

/* True when `code` (upper case) is known and in ALLOWED_CURRENCIES (any
 * known code when that is unset). */
bool tp_payopts_currency_allowed(const tp_config *cfg, const char *code);

/* The first of ALLOWED_CURRENCIES, or USD when it is unset. */
void tp_payopts_default_currency(const tp_config *cfg, char out[4]);

/* ---------------------------------------------------------------- attach.c */

/* Attaching to a call (twiliopay.h, attach.c): the longest UUI a
 * lookup accepts. */

#define TP_ATTACH_UUI_MAX 128

/* ---------------------------------------------------------------- metrics.c */

/* Metrics (twiliopay.h, metrics.c): what the Twilio client and the
 * payment session record, and the scoreboard they are kept in. */

typedef enum tp_metrics_kind {
	TP_METRICS_REST, /* api.twilio.com: Calls, Payments */
	TP_METRICS_SYNC, /* sync.twilio.com */
	TP_METRICS_KINDS
} tp_metrics_kind;

/* One Twilio HTTP request (one attempt) took `seconds`; ok is false for
 * no answer, a timeout, 429 or 5xx. */
void tp_metrics_twilio(tp_metrics_kind kind, double seconds, bool ok);
/* A payment session ended: completed failed cancelled. */
void tp_metrics_payment(const char *result);
/* A live update was published (ok) or refused/unreachable. */
void tp_metrics_publish(bool ok);

/* The scoreboard (metrics.c) as the process model (fcgi.c) drives it.
 * tp_sb_open maps it (a file under dir, or anonymous memory when dir is
 * NULL) in the supervisor, before it forks; every other call does nothing
 * until then. */
tp_rc tp_sb_open(const char *dir, const char *handler, tp_buf *err);
void tp_sb_close(void); /* supervisor, at exit: unmaps, removes the file */
void tp_sb_configure(int processes, int bound);
void tp_sb_heartbeat(void);
/* A slot for a worker process about to be forked (-1: none left). */
int tp_sb_slot_claim(void);
void tp_sb_slot_set_pid(int slot, long pid);
/* The process is gone: its gauges drop to zero; crashed counts a restart. */
void tp_sb_slot_release(int slot, bool crashed);
void tp_sb_slot_use(int slot); /* in the worker: the slot its gauges go to */
void tp_sb_threads(int delta);
void tp_sb_in_flight(int delta);
/* A request was answered with status; rejected: 503 past the bound. */
void tp_sb_request(int status, bool rejected);

#endif
