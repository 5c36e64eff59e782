/*
 * twiliopay.h - the one public header of libtwiliopay.
 *
 * Handlers (cgi-bin/<function>.c), the emulator (sim/), the tools
 * (scripts/src/) and the test tools (tests/tools/) include only this file,
 * and it declares only what they call.  What the library uses between its
 * own modules is in lib/internal.h (which the unit tests and the fuzz
 * harnesses include too).  Each section below is one module of lib/, one
 * lib/<module>.c, named by its prefix (tp_buf_*, tp_form_*, tp_sig_* ...),
 * in the order they build on each other.
 *
 * Memory policy, stated once: allocation failure aborts the process
 * (tp_xmalloc and friends, also installed as cJSON's hooks).  Every binary
 * runs as worker processes under a supervisor that restarts them, so a
 * worker that runs out of memory dies loudly, with the requests its
 * threads were serving, and is replaced instead of limping on with
 * half-written state.  Functions therefore never return an "out of
 * memory" error; their rc values are about input and I/O.
 *
 * Ownership, unless a function's comment says otherwise: strings passed in
 * are borrowed for the duration of the call; pointers returned from a
 * `const` accessor are owned by the object they came from and live as long
 * as it (for a request: until the handler returns).
 */
#ifndef TWILIOPAY_H
#define TWILIOPAY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#define TP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---------------------------------------------------------------- rc */

/* The one error idiom: every function that can fail returns a tp_rc (TP_OK
 * or a negative code); when the caller needs more than the code (a log
 * reason, the field at fault) it passes `const char **why` and gets a
 * static phrase.  A function that answers the request itself on failure
 * is named ..._or_reply and returns bool (true: go on).  Handlers keep
 * one `out:` label.  The enums elsewhere in this header are values (a
 * kind, a decision, a callback's outcome), not errors; the one refusal
 * kept as an enum is tp_cap_err, because each of its values picks another
 * answer whose text is built from the capture state (tp_cap_ok_or_reply). */

typedef enum tp_rc {
	TP_OK = 0,
	TP_EINVAL = -1,  /* malformed input (bad encoding, bad syntax) */
	TP_ETOOBIG = -2, /* a hard maximum was reached */
	TP_ENOTFOUND = -3,
	TP_EIO = -4,      /* a system call failed */
	TP_EAUTH = -5,    /* not authentic or not allowed: a wrong password, a forged,
	                   * revoked or spent credential, a MAC that does not match */
	TP_EEXPIRED = -6, /* authentic but past its expiry (a token, a ticket) */
	TP_EUNAVAIL = -7, /* a service we depend on cannot answer now (unreachable,
	                   * refused, busy): nothing was done, try again */
	TP_ETIMEOUT = -8, /* no answer in time: the request may have been carried out */
	TP_ECONFIG = -9,  /* configuration missing or unusable */
} tp_rc;

/* ---------------------------------------------------------------- alloc.c */

/* Allocation that cannot fail: out of memory aborts the process (the
 * memory policy above).  The same functions are cJSON's hooks. */

void *tp_xcalloc(size_t nmemb, size_t size);
void *tp_xrealloc(void *p, size_t n);
char *tp_xstrdup(const char *s);
char *tp_xstrndup(const char *s, size_t n);

/* ---------------------------------------------------------------- buf.c */

/* The one growable byte buffer every string of the library is built in,
 * and reading a small file into one. */

/* A growable byte buffer with a hard maximum fixed at init (curl's dynbuf).
 * Invariant: when ptr != NULL, ptr[len] == '\0'.  An append that would pass
 * `max` frees the buffer and returns TP_ETOOBIG, so a caller that ignores
 * the error can never send a truncated document. */
typedef struct tp_buf {
	char *ptr;
	size_t len; /* bytes used, excluding the terminating NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* largest allowed len */
} tp_buf;

void tp_buf_init(tp_buf *b, size_t max);
void tp_buf_free(tp_buf *b);
void tp_buf_reset(tp_buf *b); /* len = 0, keeps the allocation */
tp_rc tp_buf_add(tp_buf *b, const void *mem, size_t len);
tp_rc tp_buf_adds(tp_buf *b, const char *s);
tp_rc tp_buf_addc(tp_buf *b, char c);
tp_rc tp_buf_addf(tp_buf *b, const char *fmt, ...) TP_PRINTF(2, 3);
tp_rc tp_buf_vaddf(tp_buf *b, const char *fmt, va_list ap) TP_PRINTF(2, 0);
/* Pointer to the contents; "" for an empty or freed buffer (never NULL). */
const char *tp_buf_str(const tp_buf *b);
/* Hands the allocation to the caller (free() it); the buffer is left empty.
 * Returns a fresh "" allocation for an empty buffer. */
char *tp_buf_take(tp_buf *b);
/* Appends the whole file at `path` (a small one: .env, the agents file).
 * TP_ENOTFOUND when it does not exist, TP_EIO when it cannot be read,
 * TP_ETOOBIG past the buffer's maximum.  On TP_OK the buffer is allocated
 * even for an empty file. */
tp_rc tp_buf_add_file(tp_buf *b, const char *path);

/* ---------------------------------------------------------------- str.c */

/* String helpers: cursor-based number parsing (curl STRPARSE style: no
 * atoi/sscanf), comparisons (one in constant time, for secrets), the
 * shape of a Twilio SID, random bytes and hex. */

/* Parses a decimal unsigned integer that fills all of s[0..len) and is at
 * most `max`.  Returns TP_EINVAL on any non-digit, empty input or overflow. */
tp_rc tp_str_to_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
bool tp_str_eq(const char *a, const char *b); /* NULL-safe strcmp()==0 */
bool tp_str_caseeq(const char *a, const char *b);
bool tp_str_prefix(const char *s, const char *prefix);
/* Constant-time comparison of two secrets (lighttpd ck_memeq_const_time):
 * the time taken depends only on the length of `b` (the secret). */
bool tp_ct_streq(const char *a, const char *b);
/* Parses "true"/"false"/"1"/"0"/"yes"/"no" (any case). */
tp_rc tp_str_to_bool(const char *s, bool *out);
/* A Twilio SID is 2 upper-case letters naming the resource (CA a call, PK
 * a payment, IS a Sync service...) and 32 hex digits (twilio-contract.md
 * 1.3): TP_SID_LEN characters, TP_SID_SIZE bytes with the NUL. */
#define TP_SID_LEN  34
#define TP_SID_SIZE (TP_SID_LEN + 1)
/* True when s is 2 upper-case letters `prefix` followed by 32 hex digits.
 * prefix may be NULL for any. */
bool tp_sid_valid(const char *s, const char *prefix);
/* Fills out[0..n) with cryptographically random bytes (OpenSSL RAND). */
void tp_random_bytes(void *out, size_t n);
/* Writes 2*n lower-case hex digits plus NUL into hex. */
void tp_hex(const void *mem, size_t n, char *hex);

/* ---------------------------------------------------------------- url.c */

/* Percent-encoding and decoding (RFC 3986) of URL parts, query strings
 * and form values. */

/* Percent-encodes every byte outside RFC 3986 "unreserved" (A-Z a-z 0-9
 * - . _ ~).  Safe for query values, form values and path segments. */
tp_rc tp_url_encode(tp_buf *out, const char *s);
/* Decodes percent-escapes (and '+' as space when `plus_is_space`) from
 * s[0..len) into a new string.  Rejects truncated or non-hex escapes and
 * encoded NUL bytes with TP_EINVAL.  *out is malloc'd on TP_OK. */
tp_rc tp_url_decode(const char *s, size_t len, bool plus_is_space, char **out);

/* ---------------------------------------------------------------- params.c */

/* Ordered name/value lists: form bodies and query strings as parsed
 * from a request, and the forms sent to Twilio. */

/* An ordered list of name/value pairs: a parsed form or query string.
 * Names may repeat (Twilio sends repeated keys for lists).  Owns its
 * strings. */
typedef struct tp_param {
	char *name;
	char *value;
} tp_param;

typedef struct tp_params {
	tp_param *v;
	size_t n;
	size_t cap;
} tp_params;

void tp_params_init(tp_params *p);
void tp_params_free(tp_params *p);
void tp_params_add(tp_params *p, const char *name, const char *value);
/* Replaces every pair called `name` by one pair (or adds it). */
void tp_params_set(tp_params *p, const char *name, const char *value);
/* First value of `name`, or NULL. */
const char *tp_params_get(const tp_params *p, const char *name);
/* Same, matching the name without regard to ASCII case. */
const char *tp_params_get_case(const tp_params *p, const char *name);
/* Parses application/x-www-form-urlencoded (also used for query strings):
 * pairs separated by '&', '+' is a space, percent-escapes decoded.  Empty
 * segments are skipped; a segment without '=' is a name with value "".
 * Returns TP_EINVAL on bad escapes, TP_ETOOBIG past TP_PARAMS_MAX pairs;
 * on error `out` holds nothing new. */
tp_rc tp_form_parse(tp_params *out, const char *s, size_t len);
/* Serialises as a form body (names and values percent-encoded). */
tp_rc tp_form_encode(tp_buf *out, const tp_params *p);

/* ---------------------------------------------------------------- b64.c */

/* Base64 encoding (RFC 4648) in the standard and the URL-safe alphabet. */

/* Standard alphabet with '=' padding (RFC 4648 section 4). */
tp_rc tp_b64_encode(tp_buf *out, const void *mem, size_t len);
/* URL-safe alphabet, no padding (RFC 4648 section 5), as JWT wants. */
tp_rc tp_b64url_encode(tp_buf *out, const void *mem, size_t len);

/* ---------------------------------------------------------------- sig.c */

/* Twilio request signatures (twilio-contract.md section 9): the
 * X-Twilio-Signature of a URL and its form parameters. */

#define TP_SIG_LEN 28 /* base64 of a 20-byte HMAC-SHA1 */

/* Computes the X-Twilio-Signature for `url` and the form parameters `form`
 * (NULL for none) exactly as Twilio does: the URL, then for each parameter
 * name in byte order its (sorted, de-duplicated) values as name+value,
 * HMAC-SHA1 keyed with the auth token, base64.  out gets TP_SIG_LEN+1
 * bytes. */
void tp_sig_compute(const char *url, const tp_params *form, const char *auth_token,
                    char out[TP_SIG_LEN + 1]);

/* ---------------------------------------------------------------- redact.c */

/* PCI redaction: what keeps card numbers, security codes and bank
 * numbers out of every log line and error body. */

/* PCI redaction for anything that may reach a log line or an error body:
 * replaces every run of 12-19 digits (optionally separated by single spaces
 * or dashes) that passes the Luhn check with "[card]".  Appends the result
 * to out. */
tp_rc tp_redact_text(tp_buf *out, const char *s);
/* True when a field with this name holds data that must never be logged
 * whatever it looks like (card number, security code, bank numbers,
 * passwords, tokens).  Matched case-insensitively, ignoring '_' and '-'. */
bool tp_redact_is_secret_name(const char *name);

/* ---------------------------------------------------------------- log.c */

/* Structured logging: one logfmt line to stderr per call,
 *   ts=2026-11-27T13:37:04.123Z level=info fn=callToSIP msg="..." k=v ...
 * Every value passes tp_redact_text; values of secret-named keys are
 * replaced by "[redacted]".  `fn` comes from tp_log_init. */

typedef enum tp_log_level { TP_LOG_DEBUG, TP_LOG_INFO, TP_LOG_WARN, TP_LOG_ERROR } tp_log_level;

void tp_log_init(const char *fn_name);
void tp_log_set_level(tp_log_level min);
/* kv is a NULL-terminated list of name, value pairs (values may be NULL). */
void tp_logv_kv(tp_log_level lvl, const char *msg, const char *const *kv);
void tp_log(tp_log_level lvl, const char *fmt, ...) TP_PRINTF(2, 3);
#define tp_log_kv(lvl, msg, ...)                                                                   \
	do {                                                                                       \
		const char *const tp__kv[] = {__VA_ARGS__, NULL};                                  \
		tp_logv_kv((lvl), (msg), tp__kv);                                                  \
	} while (0)

/* ---------------------------------------------------------------- config.c */

/* Configuration: the Node original's .env names (DESIGN.md "Fixed
 * interfaces"), plus our own.  Read from the file named by TWILIOPAY_ENV
 * (default ./.env), then overridden by the process environment.  The
 * struct is filled once at start-up and is read-only afterwards. */

typedef struct tp_config {
	/* Node original */
	char *account_sid;           /* ACCOUNT_SID, AC + 32 hex */
	char *auth_token;            /* AUTH_TOKEN, signs webhooks, REST password */
	char *server_url;            /* SERVER_URL, public base URL, no trailing '/' */
	char *sip_domain_uri;        /* SIP_DOMAIN_URI, host[:port], no "sip:" */
	char *payment_connector;     /* PAYMENT_CONNECTOR */
	bool include_cvc;            /* INCLUDE_CVC, default true */
	bool include_postal_code;    /* INCLUDE_POSTAL_CODE, default false */
	char *payment_capture_order; /* PAYMENT_CAPTURE_ORDER, comma list */
	char *pay_sync_service_name; /* PAY_SYNC_SERVICE_NAME */
	char *pay_sync_service_sid;  /* PAY_SYNC_SERVICE_SID, IS + 32 hex */
	char *sync_pay_map_name;     /* SYNC_PAY_MAP_NAME, default payMap */
	char *sync_uui_map_name;     /* SYNC_UUI_MAP_NAME, default uuiMap */
	char *api_key;               /* API_KEY, SK + 32 hex */
	char *api_secret;            /* API_SECRET */
	/* ours */
	char *twilio_api_url;     /* TWILIO_API_URL, default https://api.twilio.com */
	char *twilio_sync_url;    /* TWILIO_SYNC_URL, default https://sync.twilio.com */
	bool enable_refer;        /* ENABLE_REFER, default false */
	bool enable_sync_tokens;  /* ENABLE_SYNC_TOKENS, default false: getSyncToken */
	char *connector_username; /* CONNECTOR_USERNAME */
	char *connector_password; /* CONNECTOR_PASSWORD */
	char *payment_gateway;    /* PAYMENT_GATEWAY, see lib/gateway.c */
	char *admin_token;        /* ADMIN_TOKEN, bearer for admin endpoints */
	char *agent_secret;       /* AGENT_SECRET, HMAC key for agent/session tokens */
	char *agents_file;        /* AGENTS_FILE, agent credentials (one node) */
	char *agents_sync_map;    /* AGENTS_SYNC_MAP, or in this Sync map (several nodes) */
	long agents_cache_s;      /* AGENTS_CACHE_S, default 30: Sync records kept that long */
	char *nchan_redis_url;    /* NCHAN_REDIS_URL, the nodes' shared Redis, or NULL */
	char *nchan_publish_url;  /* NCHAN_PUBLISH_URL, publisher location + "/<PK>" */
	char *nchan_socket;       /* NCHAN_PUBLISH_SOCKET, its unix socket, or NULL */
	char *tickets_file;       /* TICKETS_FILE, spent live-update tickets (lib/ticket.c) */
	long http_timeout_ms;     /* HTTP_TIMEOUT_MS, default 10000 */
	long api_retry_budget_ms; /* API_RETRY_BUDGET_MS, default 12000: all tries of one call */
	long max_body_bytes;      /* MAX_BODY_BYTES, default 65536 */
	tp_log_level log_level;   /* LOG_LEVEL, default info */
	char *allowed_currencies; /* ALLOWED_CURRENCIES, "USD,EUR", NULL = any ISO 4217 */
	/* What may be dialled (lib/dial.c), comma lists normalised at load. */
	char *dial_allowed_prefixes;    /* DIAL_ALLOWED_PREFIXES, "+1,+44", NULL = any */
	char *dial_denied_prefixes;     /* DIAL_DENIED_PREFIXES, NULL = "premium" */
	char *dial_allowed_sip_domains; /* DIAL_ALLOWED_SIP_DOMAINS, besides SIP_DOMAIN_URI */
	char *metrics_dir;              /* METRICS_DIR: <dir>/<handler>/scoreboard, NULL = none */
	/* The .env path actually read ("" when none). */
	char *env_path;
} tp_config;

/* Loads the configuration.  On failure writes one line per problem to
 * `err` (e.g. "ACCOUNT_SID is missing", "SERVER_URL must start with http://
 * or https://") and returns TP_EINVAL.  Well-formedness is checked for every
 * variable that is set; presence only for `need`. */
tp_rc tp_config_load(tp_config *cfg, const char *const *need, tp_buf *err);
void tp_config_free(tp_config *cfg);
/* Reads a .env file into params (KEY=VALUE, optional "export ", quotes,
 * '#' comments).  Used by tp_config_load and by scripts. */
tp_rc tp_env_parse(tp_params *out, const char *text, size_t len, tp_buf *err);
/* True when `name` is one of the variables tp_config_load reads. */
bool tp_config_known(const char *name);

/* Value of a raw variable by name (environment first, then .env); NULL if
 * unset or empty.  Only valid after tp_config_load. */
const char *tp_config_raw(const char *name);

/* ---------------------------------------------------------------- dotenv.c */

/* The Node original's .env, line by line, as its runtime (twilio-run,
 * dotenv 6.2) read it; for twiliopay-migrate.  dotenv.c states the rules. */

typedef enum tp_dotenv_kind {
	TP_DOTENV_BLANK,   /* nothing but blanks */
	TP_DOTENV_COMMENT, /* starts with '#' */
	TP_DOTENV_SET,     /* NAME=value: key and value are set */
	TP_DOTENV_OTHER,   /* anything else, which dotenv ignores */
} tp_dotenv_kind;

typedef struct tp_dotenv_line {
	tp_dotenv_kind kind;
	char *raw;   /* the line as written, without its line break */
	char *key;   /* TP_DOTENV_SET: the name */
	char *value; /* TP_DOTENV_SET: the value the Node original saw */
} tp_dotenv_line;

typedef struct tp_dotenv {
	tp_dotenv_line *v;
	size_t n;
} tp_dotenv;

/* Splits text into lines at \n, as dotenv does (`raw` loses a \r before
 * it), and reads each; out is the caller's to tp_dotenv_free.  TP_EINVAL
 * for a NUL byte, TP_ETOOBIG for a line over 64 KiB. */
tp_rc tp_dotenv_parse(const char *text, size_t len, tp_dotenv *out);
void tp_dotenv_free(tp_dotenv *d);
/* The value the Node original saw for key (the last line setting it), or
 * NULL; borrowed from d. */
const char *tp_dotenv_get(const tp_dotenv *d, const char *key);
/* True when tp_env_parse reads `line` alone as exactly key=value. */
bool tp_env_line_reads(const char *line, const char *key, const char *value);
/* Appends one KEY=value line (no line break) that tp_env_parse reads back
 * as exactly key and value: as written when that works, else the value in
 * double quotes with \\, \" and \n escapes.  TP_EINVAL when no line can
 * (a carriage return in the value; '=', '#' or a line break in the key). */
tp_rc tp_env_format(tp_buf *out, const char *key, const char *value);

/* ---------------------------------------------------------------- status.c */

/* HTTP status codes (an enum whose values are the codes) and their
 * reason phrases. */

/* The enum values are the HTTP status codes (suckless quark http.h). */
typedef enum tp_status {
	TP_S_OK = 200,
	TP_S_CREATED = 201,
	TP_S_ACCEPTED = 202,
	TP_S_NO_CONTENT = 204,
	TP_S_FOUND = 302,
	TP_S_BAD_REQUEST = 400,
	TP_S_UNAUTHORIZED = 401,
	TP_S_FORBIDDEN = 403,
	TP_S_NOT_FOUND = 404,
	TP_S_METHOD_NOT_ALLOWED = 405,
	TP_S_NOT_ACCEPTABLE = 406,
	TP_S_CONFLICT = 409,
	TP_S_GONE = 410,
	TP_S_PRECONDITION_FAILED = 412,
	TP_S_PAYLOAD_TOO_LARGE = 413,
	TP_S_UNSUPPORTED_MEDIA_TYPE = 415,
	TP_S_UNPROCESSABLE = 422,
	TP_S_TOO_MANY_REQUESTS = 429,
	TP_S_INTERNAL_SERVER_ERROR = 500,
	TP_S_BAD_GATEWAY = 502,
	TP_S_SERVICE_UNAVAILABLE = 503,
	TP_S_GATEWAY_TIMEOUT = 504,
} tp_status;

/* Reason phrase, "Unknown" for codes not in the table. */
const char *tp_status_str(int status);

/* ---------------------------------------------------------------- req.c */

/* The request as a handler sees it (parameters, headers, the URL Twilio
 * signed) and the response it writes: status, headers, and the
 * tp_reply_* bodies, error messages redacted. */

/* One HTTP request as the handler sees it.  Everything is copied out of
 * FastCGI before the handler runs (fcgiapp.h: FCGX_GetParam strings die at
 * the next Accept/Finish), and freed after the response is written. */
typedef struct tp_req {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* DOCUMENT_URI, decoded, without query */
	const char *request_uri;  /* REQUEST_URI as sent: path + "?" + query */
	const char *query;        /* QUERY_STRING, raw, "" if none */
	const char *content_type; /* CONTENT_TYPE, "" if none */
	const char *remote_addr;
	/* Request headers we use (NULL when absent). */
	const char *h_signature;     /* X-Twilio-Signature */
	const char *h_authorization; /* Authorization */
	const char *h_accept;        /* Accept */
	const char *h_if_match;      /* If-Match */
	const char *h_request_id;    /* X-Request-Id (nginx $request_id) */
	tp_params query_params;      /* parsed query string */
	tp_params body_params;       /* parsed form body, or a flat JSON body */
	cJSON *json;                 /* JSON body (object), NULL if not JSON */
	bool body_is_form;           /* body was x-www-form-urlencoded */
	tp_buf body;                 /* raw body bytes */
	/* Filled by the loop for authenticated agent/session requests. */
	const char *auth_subject;
} tp_req;

/* Looks a parameter up in the body, then in the query string. */
const char *tp_req_param(const tp_req *req, const char *name);
/* The URL Twilio signed: SERVER_URL + REQUEST_URI. Owned by req. */
const char *tp_req_public_url(const tp_req *req);
/* True when the client prefers JSON over HTML (Accept header). */
bool tp_req_wants_json(const tp_req *req);

#define TP_RESP_MAX_HEADERS 8

typedef struct tp_resp {
	int status;                         /* HTTP status; 0 means 200 */
	const char *content_type;           /* static string */
	char *headers[TP_RESP_MAX_HEADERS]; /* "Name: value", owned */
	size_t nheaders;
	tp_buf body;
	/* Extra key/value pairs for the request's log line (values copied). */
	tp_params log;
} tp_resp;

void tp_resp_header(tp_resp *resp, const char *name, const char *value);
/* Adds a pair to this request's log line (redacted like every log value). */
void tp_resp_log(tp_resp *resp, const char *name, const char *value);

void tp_reply_html(tp_resp *resp, int status, const char *html);
/* Takes ownership of `json` and frees it. */
void tp_reply_json_take(tp_resp *resp, int status, cJSON *json);
/* Writes {"error": message, "code": code} with `status`.  The message is
 * passed through tp_redact_text so a card number can never be echoed. */
void tp_reply_error(tp_resp *resp, int status, const char *code, const char *fmt, ...)
    TP_PRINTF(4, 5);

/* ...OrReply helpers (redis): on failure they have already written a 400
 * error naming the parameter, and return NULL/false so the handler can
 * simply `return`. */
const char *tp_req_require_or_reply(const tp_req *req, tp_resp *resp, const char *name);
const char *tp_req_require_sid_or_reply(const tp_req *req, tp_resp *resp, const char *name,
                                        const char *prefix);

/* ---------------------------------------------------------------- fcgi.c */

/* The life of a handler binary: command line, configuration, worker
 * processes and their threads under a supervisor, and the one request
 * pipeline every handler shares (method, body cap, parsing, signature and
 * authorisation as its tp_handler table says, then the handler, the
 * response and one log line). */

/* What the loop checks before it calls the handler. */
enum {
	TP_H_TWILIO_SIGNED = 1u << 0, /* X-Twilio-Signature required (403) */
	TP_H_ALLOW_GET = 1u << 1,     /* GET (and HEAD) accepted besides POST */
	TP_H_GET_ONLY = 1u << 2,      /* only GET/HEAD */
};

typedef void (*tp_handler_fn)(const tp_req *req, tp_resp *resp, const tp_config *cfg);
/* An authorisation step run after parsing, before the handler.  Returns
 * false after writing the 401/403 response; may set req->auth_subject. */
typedef bool (*tp_authorize_fn)(tp_req *req, tp_resp *resp, const tp_config *cfg);

typedef struct tp_handler {
	const char *name; /* function name, e.g. "callToSIP" */
	tp_handler_fn fn;
	unsigned flags;            /* TP_H_* */
	tp_authorize_fn authorize; /* NULL, or e.g. tp_admin_authorize */
	const char *const *need;   /* config variables required, NULL-terminated */
	size_t max_body;           /* bytes; 0 = MAX_BODY_BYTES from config */
	/* Called once per worker after config load, before accepting; may be
	 * NULL.  Returns false to abort start-up (it logs why). */
	bool (*init)(const tp_config *cfg);
} tp_handler;

/* The whole life of a handler binary.  Parses the command line
 *   --listen PATH | --listen HOST:PORT   bind a socket (else fd 0 is used)
 *   --workers N                          worker processes (default 2)
 *   --threads N                          requests each serves at once;
 *                                        past it 503 (default 32)
 *   --spare MIN:MAX                      idle threads (default 1:2)
 *   --cgi                                serve exactly one CGI request
 *   --check-config                       load config, report, exit
 * loads the configuration (exit 78, EX_CONFIG, naming what is wrong), then
 * serves until SIGTERM/SIGINT.  Returns the process exit status. */
int tp_serve(int argc, char **argv, const tp_handler *h);

/* A raw request variable (a FastCGI/CGI param such as
 * "HTTP_X_SESSION_TOKEN" or one nginx sets with fastcgi_param), valid
 * while the handler runs; NULL when absent. */
const char *tp_req_getenv(const tp_req *req, const char *name);

/* ---------------------------------------------------------------- auth.c */

/* The authorisation steps of admin endpoints (a bearer ADMIN_TOKEN) and
 * of the payment connector (HTTP Basic, as Twilio's Generic Pay
 * Connector sends it). */

/* Authorization: Bearer <ADMIN_TOKEN> (constant-time); 401 otherwise. */
bool tp_admin_authorize(tp_req *req, tp_resp *resp, const tp_config *cfg);
/* Authorization: Basic CONNECTOR_USERNAME:CONNECTOR_PASSWORD, as Twilio's
 * Generic Pay Connector sends it (twilio-contract.md section 5). */
bool tp_connector_authorize(tp_req *req, tp_resp *resp, const tp_config *cfg);
/* Decodes "Basic base64(user:pass)" into malloc'd user and pass. */
tp_rc tp_basic_auth_parse(const char *header, char **user, char **pass);

/* ---------------------------------------------------------------- http.c */

/* HTTP client on libcurl, callable from any thread.  Connections to
 * api.twilio.com / sync.twilio.com are kept alive in a per-process pool
 * of handles (see http.c), reused by whichever thread asks next. */

typedef struct tp_http_req {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *url;
	const char *userpwd;      /* "user:password" for Basic auth, or NULL */
	const char *bearer;       /* Bearer token, or NULL */
	const char *content_type; /* for body; default form-urlencoded */
	const char *body;         /* NULL for none */
	size_t body_len;
	const char *const *headers; /* extra "Name: value", NULL-terminated */
	long timeout_ms;            /* whole request; 0 = config default */
	const char *unix_socket;    /* connect to this unix socket instead of
	                             * the URL's host (the nchan publisher) */
} tp_http_req;

typedef struct tp_http_resp {
	long status;
	tp_buf body;
	char etag[80];       /* ETag header, "" if none */
	char request_id[80]; /* Twilio-Request-Id, "" if none */
	char error[256];     /* transport error text, "" if none */
} tp_http_resp;

void tp_http_resp_free(tp_http_resp *r);
/* Performs the request.  TP_OK when a response arrived, whatever its
 * status: the response (body capped at 1 MiB) is in `out` even for
 * 4xx/5xx.  Otherwise no response: TP_EUNAVAIL when the server could not
 * be reached (DNS, connect, TLS: the request was not sent), TP_ETIMEOUT
 * when none came in time (the request may have been carried out),
 * TP_ETOOBIG when the body passed the cap, TP_EIO for any other transfer
 * failure.  out must be freed with tp_http_resp_free either way. */
tp_rc tp_http_do(const tp_http_req *rq, tp_http_resp *out);
/* What a transfer's rc is logged and reported as ("could not connect",
 * "timed out", "response too large", "transfer failed"; "ok"). */
const char *tp_http_error_str(tp_rc rc);

/* Twilio's error JSON (twilio-contract.md 1.2). */
typedef struct tp_twilio_error {
	long status;       /* HTTP status, or 0 when no response */
	long code;         /* Twilio error code, 0 if none */
	char message[256]; /* Twilio's message or transport error */
	char more_info[128];
} tp_twilio_error;

/* The Twilio error codes the server acts on (tp_twilio_error.code), as
 * Twilio's error pages (twilio.com/docs/api/errors/<code>) define them;
 * twilio-contract.md 1.2, 3.3 and 6 say which are verified. */
typedef enum tp_twilio_code {
	TP_TW_AUTHENTICATE = 20003, /* bad or missing credentials (HTTP 401) */
	TP_TW_NOT_FOUND = 20404,    /* no such resource, any API, any path (404) */
	/* "Invalid call state": a realtime operation (a redirect, a payment)
	 * on a call that is not in-progress. */
	TP_TW_CALL_NOT_IN_PROGRESS = 21220,
	/* Sync */
	TP_TW_SYNC_ITEM_REVISION = 54205, /* Map Item revision mismatch: If-Match lost to
	                                   * another write; read again and retry */
	TP_TW_SYNC_ITEM_EXISTS = 54208,   /* Map Item already exists: a create with a key
	                                   * in use (also a create sent twice) */
	TP_TW_SYNC_NAME_EXISTS = 54301,   /* Unique name already exists (a Map's) */
	/* Pay (the Payments resource and <Pay>) */
	TP_TW_PAY_AMOUNT = 64003,            /* invalid ChargeAmount */
	TP_TW_PAY_CONNECTOR = 64004,         /* no Pay Connector has that unique name */
	TP_TW_PAY_CURRENCY = 64011,          /* currency not supported */
	TP_TW_PAY_METHOD = 64013,            /* PaymentMethod not supported */
	TP_TW_PAY_ACH_NAME = 64014,          /* ACH needs the account holder's name */
	TP_TW_PAY_MISSING_PARAM = 64015,     /* a required parameter is missing */
	TP_TW_PAY_BANK_ACCOUNT_TYPE = 64017, /* BankAccountType with a card payment */
	TP_TW_PAY_CAPTURE_OR_STATUS = 64018, /* an update needs Capture or Status */
	TP_TW_PAY_INCOMPLETE = 64019,        /* Status=complete before every required
	                                      * field was captured */
	TP_TW_PAY_BAD_VALUE = 64020,         /* a parameter's value is invalid */
	TP_TW_PAY_INVALID_OPERATION = 64021, /* e.g. starting a payment on a call that
	                                      * has one running */
} tp_twilio_code;

/* Fills err from a response body/status or a transport failure. */
void tp_twilio_error_from(tp_twilio_error *err, tp_rc rc, const tp_http_resp *resp);

/* ---------------------------------------------------------------- api.c */

/* Twilio REST calls (twilio-contract.md section 1): HTTP Basic with
 * ACCOUNT_SID:AUTH_TOKEN, form-encoded bodies, JSON answers, Twilio's
 * error JSON.  Transient failures (no connection, timeout, 429, 500, 502,
 * 503, 504) are retried with exponential back-off and jitter until
 * `budget_ms` is spent; 20429's page says such a request was not
 * processed, and every write we make is safe to repeat (Payments carry an
 * IdempotencyKey; a repeated Sync create ends as 54208, which callers
 * turn into an update). */

typedef struct tp_api_result {
	long status;         /* HTTP status of the last attempt; 0 if none */
	cJSON *json;         /* parsed body of a 2xx answer (NULL for 204), owned */
	char etag[80];       /* ETag of the answer, "" if none */
	int attempts;        /* requests sent */
	tp_twilio_error err; /* filled when the call failed */
} tp_api_result;

void tp_api_result_free(tp_api_result *r);
/* The most one call may take with its retries: TP_API_BUDGET_MS, or
 * API_RETRY_BUDGET_MS when that is lower.  tp_api_call never goes past it. */
long tp_api_budget_ms(const tp_config *cfg);
/* One REST call.  `url` is absolute; `form` may be NULL; `if_match` adds
 * If-Match.  Returns true for a 2xx answer.  `out` must be freed either
 * way. */
bool tp_api_call(const tp_config *cfg, const char *method, const char *url, const tp_params *form,
                 const char *if_match, long budget_ms, tp_api_result *out);
/* Appends a path segment, percent-encoded (keys may hold any character). */
tp_rc tp_api_add_segment(tp_buf *url, const char *segment);

/* Starts a payment on call_sid (Payments resource, 2010 API). */
bool tp_payment_create(const tp_config *cfg, const char *call_sid, const tp_params *form,
                       tp_api_result *out);

/* ---------------------------------------------------------------- sync.c */

/* Sync v1 (twilio-contract.md section 6).  `map` is a map SID or unique
 * name; `service` a service SID.  ttl_s: 0 = no expiry, < 0 = leave as is
 * (updates only).  `data` is serialised as the Data parameter. */

#define TP_SYNC_TTL_12H 43200

/* Create, and when the key exists (54208) update instead: the upsert the
 * Node original lacked. */
bool tp_sync_item_upsert(const tp_config *cfg, const char *service, const char *map,
                         const char *key, const cJSON *data, long ttl_s, tp_api_result *out);
/* Sync Map Permission of `identity` on `map` (all three flags are sent;
 * with the service's ACL on, a token identity reaches only what this
 * grants). */
bool tp_sync_map_permission_set(const tp_config *cfg, const char *service, const char *map,
                                const char *identity, bool read, bool write, bool manage,
                                tp_api_result *out);
bool tp_sync_map_fetch(const tp_config *cfg, const char *service, const char *map,
                       tp_api_result *out);
bool tp_sync_map_create(const tp_config *cfg, const char *service, const char *unique_name,
                        tp_api_result *out);

#define TP_SYNC_MAX_PAGES 50 /* service list pages read: 5,000 services */

typedef struct tp_sync_service_match {
	char sid[TP_SID_SIZE]; /* the first service with the name, "" when none */
	bool acl_enabled;      /* its acl_enabled */
	int matches;           /* services that carry the name */
	bool all_pages;        /* false: TP_SYNC_MAX_PAGES pages were not the end */
	bool foreign_next;     /* the list went on at a URL outside TWILIO_SYNC_URL,
	                        * not followed (our credentials stay with our Sync) */
} tp_sync_service_match;

/* Looks for the service whose friendly_name is `friendly_name` over every
 * page of the service list.  False when Sync failed (out holds its
 * answer: status, err) or the first match has no valid IS sid (out's
 * status is 2xx and err.message says so); out is the caller's to free. */
bool tp_sync_service_find(const tp_config *cfg, const char *friendly_name, tp_sync_service_match *m,
                          tp_api_result *out);
/* Creates the service with AclEnabled=true. */
bool tp_sync_service_create(const tp_config *cfg, const char *friendly_name, tp_api_result *out);
/* Turns the service's access control on (AclEnabled=true). */
bool tp_sync_service_acl_on(const tp_config *cfg, const char *service, tp_api_result *out);

/* ---------------------------------------------------------------- card.c */

/* Card, bank and money rules (twilio-contract.md 4.1, 5).  Inputs are
 * digit strings without separators.  Nothing here logs or stores. */

typedef enum tp_card_brand {
	TP_BRAND_UNKNOWN,
	TP_BRAND_VISA,
	TP_BRAND_MASTERCARD,
	TP_BRAND_AMEX,
	TP_BRAND_DISCOVER,
	TP_BRAND_JCB,
	TP_BRAND_DINERS,
	TP_BRAND_MAESTRO,
	TP_BRAND_ENROUTE,
} tp_card_brand;

/* Twilio's names: visa mastercard amex discover jcb diners-club maestro
 * enroute ("unknown" otherwise). */
const char *tp_card_brand_name(tp_card_brand b);
tp_card_brand tp_card_brand_from_name(const char *name);
/* Digits only, 12-19 long, known brand, brand's length, Luhn.  TP_OK, or
 * TP_EINVAL with why = Twilio's ErrorType for it: "invalid-card-type" (no
 * known brand: *brand is TP_BRAND_UNKNOWN) or "invalid-card-number"
 * (anything else).  *brand is set as far as it is known. */
tp_rc tp_card_number_check(const char *digits, tp_card_brand *brand, const char **why);
bool tp_card_cvc_ok(tp_card_brand b, const char *cvc);
/* MMYY, MM/YY, MMYYYY or MM/YYYY; year is four digits on return. */
tp_rc tp_card_expiry_parse(const char *s, int *month, int *year);
/* Not before the current month (UTC) and at most 20 years ahead. */
bool tp_card_expiry_current(int month, int year, time_t now);
/* Appends Twilio's mask: all but the last four digits as 'x'. */
void tp_card_mask(const char *digits, tp_buf *out);
/* ABA routing number: 9 digits, valid Fed prefix, 3-7-1 checksum. */
bool tp_aba_routing_ok(const char *routing);
/* 4-17 digits. */
bool tp_bank_account_ok(const char *account);
/* ISO 4217 minor units of an active currency code, -1 if unknown. */
int tp_currency_minor_units(const char *code);
/* The one reading of a currency code a client sent: s[0..len) must be
 * three letters naming an active ISO 4217 code, in either case.  Writes
 * the upper-case code to out and returns its minor units; -1 (out "")
 * otherwise. */
int tp_currency_code(const char *s, size_t len, char out[4]);
/* The one amount limit check: minor < TP_AMOUNT_LIMIT major units. */
bool tp_amount_below_limit(int64_t minor, int places);
/* A plain decimal ("9.99", "10", no sign, no exponent) with at most
 * max_places decimals, below 10,000,000, into minor units. */
tp_rc tp_money_parse(const char *s, int max_places, int64_t *minor_out);
tp_rc tp_money_format(tp_buf *out, int64_t minor, int places);

/* ---------------------------------------------------------------- xml.c */

/* A small XML/TwiML writer.  Every attribute value and text node is escaped
 * (& < > " ') so caller-controlled values can never break the markup
 * (twilio-contract.md section 8). */

tp_rc tp_xml_escape(tp_buf *out, const char *s);

/* ---------------------------------------------------------------- voice.c */

/* Voice routing shared by callToSIP, callToPSTN, callTransfer and
 * uuiSyncUpdate (twilio-contract.md sections 7, 8 and 11): SIP/tel URI
 * and E.164 parsing, the User-to-User (UUI) value the contact centre reads,
 * and the <Dial> TwiML.  The parsers take untrusted webhook values; they
 * never write past a buffer and are fuzz targets.  Strings and structs
 * they fill are owned by the caller (free with the matching _free). */

#define TP_VOICE_UUI_MAX 128  /* bytes of a plain UUI (Genesys: keep UUI <= 128) */
#define TP_VOICE_URI_MAX 2048 /* longest SIP URI / REFER target we parse */

/* True when s can be a UUI: 1..TP_VOICE_UUI_MAX printable ASCII bytes,
 * no blanks or controls (markup characters are allowed: every output
 * escapes them). */
bool tp_voice_uui_valid(const char *s);

typedef enum tp_voice_uui_source {
	TP_VOICE_UUI_NONE = 0,
	TP_VOICE_UUI_ININ_CNV,     /* SipHeader_x-inin-cnv (Genesys conversation id) */
	TP_VOICE_UUI_USER_TO_USER, /* SipHeader_User-to-User, decoded */
	TP_VOICE_UUI_REFER_TO,     /* User-to-User in the REFER target's URI headers */
	TP_VOICE_UUI_CALL_SID,     /* the webhook's CallSid */
} tp_voice_uui_source;

const char *tp_voice_uui_source_str(tp_voice_uui_source s);
/* Picks the UUI of a voice webhook: SipHeader_x-inin-cnv, then
 * SipHeader_User-to-User (decoded), then CallSid (must be a CA SID).
 * Names match without regard to ASCII case, in the body then the query.
 * Unusable candidates are skipped.  Appends the UUI to out and returns
 * its source, TP_VOICE_UUI_NONE (out untouched) when there is none. */
tp_voice_uui_source tp_voice_uui_select(const tp_req *req, tp_buf *out);

/* True when a request path is one of the original's ...withRefer aliases. */
bool tp_voice_refer_path(const char *path);

/* How a voice webhook's call is dialled on (the route handlers:
 * callToSIP, tollfreeCallToSIP, callToPSTN, simpleCallToPSTN). */
typedef struct tp_voice_route {
	const char *uui;          /* User-to-User on the <Sip> leg, NULL for none
	                           * (never sent to the PSTN) */
	const char *callback_uui; /* UUI= of the answered uuiSyncUpdate callback,
	                           * NULL for no callback */
	bool refer;               /* answerOnBridge and referUrl (callTransfer) */
} tp_voice_route;

/* The phone number's answer: To must be E.164 (else <Reject>); dials
 * sip:<To>@<SIP_DOMAIN_URI> as <Sip> per `r`, after the toll-fraud rule
 * (tp_dial_allowed_or_reply).  The response is written. */
void tp_voice_reply_to_sip(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                           const tp_voice_route *r);
/* The SIP domain's answer: dials the E.164 number of To (tp_voice_number;
 * none: <Reject>) as <Number> when the toll-fraud rule allows it
 * (tp_dial_allowed_or_reply), callerId = From's E.164 number when it has
 * one, per `r`.  The response is written. */
void tp_voice_reply_to_pstn(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                            const tp_voice_route *r);
/* The REFER's answer (callTransfer): ReferTransferTarget dialled as <Sip>
 * carrying the UUI (the Refer-To's own User-to-User, else
 * tp_voice_uui_select) or as <Number>, with the answered callback and
 * referUrl again; <Reject reason="busy"/> for a missing or undialable
 * target, reason="rejected" when the toll-fraud rule refuses it.  The
 * response is written. */
void tp_voice_reply_transfer(const tp_req *req, tp_resp *resp, const tp_config *cfg);
/* The call's TollFreeMobileOriginationLocation (Twilio adds it to calls to
 * a toll-free number from a mobile phone), borrowed from req; NULL when it
 * is absent or empty (a landline caller), or not 1..TP_VOICE_UUI_MAX
 * printable ASCII characters (logged). */
const char *tp_voice_tollfree_location(const tp_req *req);

/* ---------------------------------------------------------------- connector.c */

/* The merchant side of Twilio's Generic Pay Connector (twilio-contract.md
 * section 5; twilio.com/docs/voice/twiml/pay/generic-pay-connector).  When
 * a payment session completes, Twilio POSTs the captured data in clear as
 * JSON with HTTP Basic auth; we validate it, pass it to the gateway
 * (gateway.c) and answer {"charge_id"|"token_id", "error_code",
 * "error_message"}.  Twilio's current connector posts every transaction to
 * one Endpoint URL and names the operation in "method"; the older
 * connector posted to .../charge and .../tokenize.  Both binaries accept
 * both: "method" wins, the path is the default when it is absent. */

typedef enum tp_conn_method { TP_CONN_CHARGE, TP_CONN_TOKENIZE } tp_conn_method;

/* The whole handler of cgi-bin/charge and cgi-bin/tokenize: `path_method`
 * is the binary's own operation, used when the body names none. */
void tp_connector_handle(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                         tp_conn_method path_method);
/* Configuration the connector binaries need. */
extern const char *const tp_connector_need[];

/* ---------------------------------------------------------------- gateway.c */

/* The seam where a real payment gateway goes: the connector hands every
 * validated request to tp_gateway_submit and relays what comes back.  The
 * only gateway built in is the sandbox (gateway_sandbox.c). */

/* Chooses the gateway from PAYMENT_GATEWAY (environment, then .env).
 * Unset means "sandbox" unless TWILIO_API_URL is Twilio's own: the sandbox
 * approves without moving money, so against real Twilio it must be asked
 * for by name.  Returns false (after logging why) to stop start-up. */
bool tp_gateway_init(const tp_config *cfg);

/* ---------------------------------------------------------------- jwt.c */

/* JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, RFC 7515) and the
 * Twilio Access Token built on them (twilio-contract.md section 10). */

/* Checks the HS256 signature in constant time, then that the header says
 * "alg":"HS256" (no other alg is accepted).  On TP_OK *payload (and
 * *header when not NULL) are the caller's to cJSON_Delete.  Claims such as
 * exp are the caller's to check. */
tp_rc tp_jwt_verify_hs256(const char *token, const char *key, cJSON **header, cJSON **payload);

/* Twilio Access Token with a Sync grant (twilio-contract.md section 10). */
#define TP_ACCESS_TOKEN_TTL_S 3600
typedef struct tp_access_token_req {
	const char *account_sid; /* sub */
	const char *api_key;     /* iss, and the jti prefix */
	const char *api_secret;  /* signing key */
	const char *service_sid; /* grants.data_sync.service_sid */
	const char *identity;    /* grants.identity */
	time_t iat;
	long ttl_s; /* exp = iat + ttl_s */
} tp_access_token_req;
tp_rc tp_access_token_sync(tp_buf *out, const tp_access_token_req *r);

/* ---------------------------------------------------------------- agent.c */

/* Agent credentials: the agents file (AGENTS_FILE, crypt(3) hashes), the
 * bearer tokens the console carries (an agent token after login, a
 * session token per payment) and the authorisation steps that check
 * them; also the tokens handlers present to nginx's nchan publisher. */

#define TP_AGENT_NAME_MAX     64
#define TP_AGENT_PASSWORD_MAX 1024
#define TP_AGENT_TAG_LEN      16    /* hex chars of the stored-hash tag */
#define TP_AGENT_TOKEN_TTL_S  36000 /* 10 h: one shift */

/* What looking an agent up, checking its password or a credential's tag
 * returns (the functions below, the agent store's, lib/internal.h's):
 *   TP_OK
 *   TP_ENOTFOUND  no such agent (or a Sync record that fails its MAC)
 *   TP_EAUTH      a wrong password, or a tag that is not the agent's now
 *   TP_ECONFIG    no agent store: AGENTS_FILE unset, or AGENTS_SYNC_MAP
 *                 without PAY_SYNC_SERVICE_SID and the Twilio credentials
 *   TP_EIO        AGENTS_FILE cannot be read (missing, unreadable, too big)
 *   TP_EUNAVAIL   Sync cannot be read now (try again)
 * A caller answers TP_ENOTFOUND and TP_EAUTH alike (a refusal that does not
 * say which names are agents) and any other failure with
 * tp_agent_store_reply. */

/* 1-64 of [A-Za-z0-9._@-], starting with a letter or digit. */
bool tp_agent_name_valid(const char *name);
/* The agent's stored hash (malloc'd) from an agents file. */
tp_rc tp_agent_lookup(const char *file, const char *name, char **hash);
/* A short hex tag of a stored hash: it changes when the password does. */
void tp_agent_hash_tag(const char *hash, char tag[TP_AGENT_TAG_LEN + 1]);
/* A fresh yescrypt hash of password (malloc'd). */
tp_rc tp_agent_hash_password(const char *password, char **hash);
/* Adds or replaces `name` (hash != NULL) or deletes it (hash == NULL,
 * TP_ENOTFOUND if absent) in the agents file, atomically (write to a
 * temporary file, fsync, rename), keeping the file's mode; a new file is
 * created 0600. */
tp_rc tp_agents_file_set(const char *file, const char *name, const char *hash);
/* Appends the agent names, one per line. */
tp_rc tp_agents_file_list(const char *file, tp_buf *names);

/* {sub, kind:"agent", iat, exp, pwh, jti}; jti is random (unique tokens) */
tp_rc tp_agent_token_issue(tp_buf *out, const char *secret, const char *agent, const char *tag,
                           time_t now, long ttl_s);
/* {sub, kind:"session", pk, call, pwh, iat, exp, jti} */
tp_rc tp_session_token_issue(tp_buf *out, const char *secret, const char *agent, const char *tag,
                             const char *payment_sid, const char *call_sid, time_t now, long ttl_s);

/* .authorize for agent endpoints: Authorization: Bearer <agent token>,
 * valid, unexpired, and the agent still in the agent store (AGENTS_FILE or
 * AGENTS_SYNC_MAP) with the same password hash.  401 with a JSON body
 * otherwise (500 when AGENT_SECRET or the store is not usable, 503 when
 * Sync cannot be reached).  Sets req->auth_subject to the agent. */
bool tp_agent_authorize(tp_req *req, tp_resp *resp, const tp_config *cfg);
/* After tp_agent_authorize: the session token (X-Session-Token header, or
 * the sessionToken body field) must be valid for this PaymentSid and this
 * agent.  401 when absent, 403 when wrong; returns false after replying. */
bool tp_session_authorize_or_reply(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                                   const char *payment_sid);

/* Publish tokens (the handlers -> nginx's nchan publisher, checked by
 * eventsAuth): "<unix time>.<hex HMAC-SHA256(AGENT_SECRET,
 * "nchan-publish|time|PK")>".  True when `token` is one for payment_sid,
 * made within a minute of now. */
bool tp_publish_token_ok(const char *secret, const char *token, const char *payment_sid,
                         time_t now);

/* ---------------------------------------------------------------- agentstore.c */

/* Where the agents live: AGENTS_FILE (one node) or the Sync map
 * AGENTS_SYNC_MAP that every node shares (lib/agentstore.c explains the
 * record, its MAC and the AGENTS_CACHE_S cache). */
bool tp_agent_store_is_sync(const tp_config *cfg);
/* Login: the password against the store, read now. */
tp_rc tp_agent_store_login(const tp_config *cfg, const char *name, const char *password,
                           char tag[TP_AGENT_TAG_LEN + 1]);
/* Adds or replaces (hash) or deletes (NULL; TP_ENOTFOUND if absent) an
 * agent; TP_EIO with `err` when Sync refused or failed. */
tp_rc tp_agent_store_set(const tp_config *cfg, const char *name, const char *hash,
                         tp_twilio_error *err);
/* Appends every agent's name, one a line. */
tp_rc tp_agent_store_list(const tp_config *cfg, tp_buf *names, tp_twilio_error *err);
/* Replies to a failure of the store other than a refusal: 503 +
 * Retry-After for TP_EUNAVAIL (Sync unreachable), else 500 (not usable). */
void tp_agent_store_reply(tp_resp *resp, const tp_config *cfg, tp_rc rc);

/* ---------------------------------------------------------------- ticket.c */

/* Live-update tickets (lib/ticket.c): the one-use, short-lived credential
 * an EventSource carries in its URL instead of the session token. */

#define TP_TICKET_TTL_S 60

/* {sub, kind:"ticket", pk, pwh, jti (128 random bits, hex), iat, exp},
 * signed like every token of lib/agent.c. */
tp_rc tp_ticket_issue(tp_buf *out, const char *secret, const char *agent, const char *tag,
                      const char *payment_sid, time_t now, long ttl_s);

/* The subscription check: a ticket of ours for `payment_sid`, unexpired,
 * whose agent still exists with the same password, never used before; it
 * is spent only when everything else holds: in the nodes' shared Redis
 * when NCHAN_REDIS_URL is set, else in TICKETS_FILE (this node).  TP_OK
 * when valid (and spent now); else *why (when why is not NULL) says which
 * of these it was:
 *   TP_ENOTFOUND  no ticket given
 *   TP_EAUTH      malformed, forged or not a ticket; for another
 *                 PaymentSid; its agent removed or its password changed;
 *                 used before
 *   TP_EEXPIRED   past its exp
 *   TP_ECONFIG    AGENT_SECRET, the agent store or TICKETS_FILE unusable
 *   TP_EUNAVAIL   the Sync agent store cannot be read now, or (why ==
 *                 tp_ticket_spent_store_unavailable) NCHAN_REDIS_URL is set
 *                 and Redis cannot be reached */
tp_rc tp_ticket_redeem(const tp_config *cfg, const char *ticket, const char *payment_sid,
                       time_t now, const char **why);
extern const char tp_ticket_spent_store_unavailable[];

/* ---------------------------------------------------------------- capture.c */

/* The agent-assisted capture state machine (twilio-contract.md 3.2,
 * 4.1, 4.2), with no I/O: which field Twilio is asked for next, what one
 * status callback changes, and the session's stored and displayed
 * forms.  capture.c's header states the rules. */

typedef enum tp_field {
	TP_FIELD_NONE = -1,
	TP_FIELD_CARD_NUMBER,
	TP_FIELD_SECURITY_CODE,
	TP_FIELD_EXPIRATION_DATE,
	TP_FIELD_POSTAL_CODE,
	TP_FIELD_ROUTING_NUMBER,
	TP_FIELD_ACCOUNT_NUMBER,
	TP_FIELD_COUNT
} tp_field;

typedef enum tp_cap_status {
	TP_CAP_CAPTURING,  /* a field is being asked for */
	TP_CAP_READY,      /* nothing required: the agent may submit */
	TP_CAP_SUBMITTING, /* Status=complete sent, waiting for the Result */
	TP_CAP_COMPLETED,  /* Result=success */
	TP_CAP_FAILED,     /* any other Result (hang-up, connector error...) */
	TP_CAP_CANCELLED,  /* the agent cancelled */
} tp_cap_status;

typedef enum tp_cap_stall {
	TP_STALL_NONE,
	TP_STALL_RETRIES_EXHAUSTED, /* TP_CAPTURE_MAX_ATTEMPTS errors on one field */
	TP_STALL_REQUEST_FAILED,    /* Twilio refused or missed our Capture */
	TP_STALL_UNKNOWN_REQUIRED,  /* Required names a field we cannot capture */
} tp_cap_stall;

typedef enum tp_act_kind {
	TP_ACT_NONE,
	TP_ACT_CAPTURE, /* Payments update Capture=<field> */
	TP_ACT_READY,   /* became ready to submit */
	TP_ACT_FINAL,   /* a Result arrived */
} tp_act_kind;

typedef enum tp_cb_outcome {
	TP_CB_APPLIED,
	TP_CB_DUPLICATE, /* this exact callback was applied already */
	TP_CB_STALE,     /* older than the newest applied (DateUpdated) */
	TP_CB_FINAL,     /* the session has ended; only the record keeps it */
} tp_cb_outcome;

typedef enum tp_cap_err {
	TP_CAP_E_OK,
	TP_CAP_E_FINAL,        /* the session has ended */
	TP_CAP_E_SUBMITTING,   /* waiting for the Result of complete */
	TP_CAP_E_NOT_IN_ORDER, /* not a field of this session */
	TP_CAP_E_INCOMPLETE,   /* fields are still required */
} tp_cap_err;

#define TP_CAPTURE_SEEN   16
#define TP_CAPTURE_FP_LEN 16 /* hex chars of a callback fingerprint */

/* One session's state (stored as payMap[PaymentSid]._session). */
typedef struct tp_capture {
	tp_cap_status status;
	bool ach;                       /* ach-debit, else credit-card */
	tp_field order[TP_FIELD_COUNT]; /* fields to capture, in order */
	size_t norder;
	tp_field current;    /* field Twilio was last asked for */
	unsigned step;       /* increases whenever `current` changes */
	unsigned attempt;    /* Capture requests for `current` in this step, 1.. */
	unsigned required;   /* bit (1 << field) per field Twilio requires */
	bool required_known; /* a callback has carried Required */
	bool required_other; /* Required named a field we do not capture */
	bool partial;        /* PartialResult of the last callback */
	bool keyed;          /* the last callback carried digits for `current` */
	char error_type[48]; /* the last ErrorType, kept until new digits for err_field */
	tp_field err_field;  /* the field error_type is about, TP_FIELD_NONE if none */
	tp_cap_stall stalled;
	char result[48]; /* Twilio's Result, "" until the end */
	int64_t last_ms; /* newest applied DateUpdated, ms since epoch */
	char seen[TP_CAPTURE_SEEN][TP_CAPTURE_FP_LEN + 1]; /* recent callbacks */
	size_t nseen;
	unsigned seq; /* writes so far: the live update's sequence number */
	char agent[TP_AGENT_NAME_MAX + 1];
	char call_sid[TP_SID_SIZE];
	char charge_amount[16]; /* as sent to Twilio; "" when tokenizing */
	char currency[4];
	char token_type[16];
	char updated_at[32]; /* ISO 8601 of the last write */
	/* Once completed: the short reference read to the customer
	 * (reference.c, "" until claimed) and the connector's id it stands
	 * for (the charge id, or the token when tokenizing). */
	char reference[16];
	char connector_id[128];
} tp_capture;

typedef struct tp_capture_action {
	tp_act_kind kind;
	tp_field field; /* for TP_ACT_CAPTURE */
	unsigned step, attempt;
} tp_capture_action;

typedef struct tp_capture_params {
	bool ach, cvc, postal; /* payment method; INCLUDE_CVC; INCLUDE_POSTAL_CODE */
	const char *order;     /* PAYMENT_CAPTURE_ORDER */
	const char *agent, *call_sid, *charge_amount, *currency, *token_type;
} tp_capture_params;

const char *tp_field_name(tp_field f); /* "payment-card-number"... */
/* Kebab-case or PascalCase, any case ("ExpirationDate"). */
tp_field tp_field_from_name(const char *name);
bool tp_cap_status_final(tp_cap_status s);

/* A new session; *act is the Capture of the first field (step 1). */
void tp_capture_start(tp_capture *c, const tp_capture_params *p, tp_capture_action *act);
/* NULL when every parameter of a status callback holds a value Twilio
 * sends (documented Result, ErrorType, PaymentCardType values; PartialResult
 * true/false; Required a list of capture names; masked card, security
 * code and account values of Twilio's shape; SIDs, dates; AccountSid =
 * account_sid when given; no parameter twice); otherwise the name of the
 * first one that does not (borrowed from cb).  A callback re-split under
 * the same signature fails here (capture.c explains why). */
const char *tp_capture_callback_invalid(const tp_params *cb, const char *account_sid);
/* Applies one status callback.  On TP_CB_APPLIED the state changed and
 * *act says what to do; otherwise nothing changed. */
tp_cb_outcome tp_capture_apply(tp_capture *c, const tp_params *cb, tp_capture_action *act);
/* The agent re-captures field f: *act is its Capture. */
tp_cap_err tp_capture_reset(tp_capture *c, tp_field f, tp_capture_action *act);
tp_cap_err tp_capture_can_complete(const tp_capture *c);
tp_cap_err tp_capture_can_cancel(const tp_capture *c);
/* IdempotencyKey of a Capture: PK-s<step>-<field>-a<attempt>[-nonce]. */
void tp_capture_action_key(const tp_capture_action *act, const char *payment_sid, const char *nonce,
                           tp_buf *out);
/* Merges a callback's fields (masked) into payMap data; Capture,
 * PartialResult, Required and ErrorType are dropped when absent. */
void tp_capture_merge(cJSON *data, const tp_params *cb);
/* Forgets a field's value (re-capture). */
void tp_capture_clear_value(cJSON *data, tp_field f);

/* ---------------------------------------------------------------- reference.c */

/* A payment's short reference, "K7QM-4XTR": 8 symbols of
 * tp_reference_alphabet in two groups, derived from the connector's id
 * with HMAC-SHA256 (AGENT_SECRET) and claimed unique in payMap
 * ("ref:K7QM-4XTR", a year).  Design and odds in reference.c. */

#define TP_REFERENCE_LEN 9 /* with the dash */

/* tp_reference_claim against payMap; err says why when not TP_OK. */
tp_rc tp_reference_claim_sync(const tp_config *cfg, const char *payment_sid, const char *id,
                              char out[TP_REFERENCE_LEN + 1], tp_twilio_error *err);

/* ---------------------------------------------------------------- paysession.c */

/* The I/O around the capture state machine: payMap[PaymentSid] in Sync
 * as the session's record (read-modify-write with If-Match), the
 * Payments requests the machine asks for, the live update to the
 * session's nchan channel, and the handler helpers built on them. */

#define TP_SESSION_KEY  "_session"
#define TP_REVISION_MAX 80
#define TP_ISO8601_LEN  24

void tp_iso8601_from(time_t t, char out[TP_ISO8601_LEN + 1]);

typedef enum tp_paysession_decision { TP_PS_KEEP, TP_PS_WRITE } tp_paysession_decision;
/* Changes `data` (the item's data, {} when the item does not exist) and
 * says whether to write it.  Called again with fresh data after a
 * conflicting write, so it must recompute from `data` alone. */
typedef tp_paysession_decision (*tp_paysession_fn)(cJSON *data, bool exists, void *ctx);

typedef struct tp_paysession_result {
	cJSON *data;  /* the data as written or as last read; caller frees */
	bool written; /* a write happened */
	int conflicts;
	tp_twilio_error err; /* when the update failed */
} tp_paysession_result;

/* payMap[payment_sid]: data (caller frees) and revision; false with err
 * (status 404 when the item does not exist). */
bool tp_paysession_fetch(const tp_config *cfg, const char *payment_sid, cJSON **data,
                         char revision[TP_REVISION_MAX], tp_twilio_error *err);
/* Read-modify-write with If-Match, retried on conflicts. */
bool tp_paysession_update(const tp_config *cfg, const char *payment_sid, tp_paysession_fn fn,
                          void *ctx, tp_paysession_result *out);
/* The same for an item that most likely does not exist yet (a payment
 * just created): fn(data = {}, exists = false) and a create, one round
 * trip instead of a read and a write; when the item exists after all,
 * tp_paysession_update takes over. */
bool tp_paysession_update_new(const tp_config *cfg, const char *payment_sid, tp_paysession_fn fn,
                              void *ctx, tp_paysession_result *out);
/* data._session, checked and parsed: TP_OK; TP_ENOTFOUND when there is
 * none; TP_EINVAL when it is malformed; TP_EAUTH (logged as an error)
 * when its MAC is missing or wrong - the session was written by someone
 * other than this server (anyone who can write Sync) and is not ours to
 * act on. */
tp_rc tp_paysession_load(const tp_config *cfg, const char *payment_sid, const cJSON *data,
                         tp_capture *c);
/* seq+1, updatedAt = now, data._session = c with its MAC: HMAC-SHA256
 * under AGENT_SECRET over the payment SID and every field of c, so the
 * agent, the call, the payment and the state the server acts on cannot
 * be changed in Sync without the server noticing. */
void tp_paysession_store(const tp_config *cfg, const char *payment_sid, cJSON *data, tp_capture *c);
/* 409 session_untrusted for a session tp_paysession_load refused with
 * TP_EAUTH. */
void tp_reply_session_untrusted(tp_resp *resp, const char *payment_sid);
/* Payments update Capture=<act->field> / Status=<status> on c's call,
 * StatusCallback = SERVER_URL/sync/paySyncUpdate. */
bool tp_paysession_capture(const tp_config *cfg, const tp_capture *c, const char *payment_sid,
                           const tp_capture_action *act, const char *nonce, tp_twilio_error *err);
bool tp_paysession_status(const tp_config *cfg, const tp_capture *c, const char *payment_sid,
                          const char *status, tp_twilio_error *err);
/* Builds the view from data and publishes it. */
bool tp_paysession_publish_state(const tp_config *cfg, const char *payment_sid, const cJSON *data);

/* Handler helpers.  Each has replied when it returns false. */
/* Maps a failed Twilio/Sync call to a clear JSON error: 502 when Twilio
 * cannot be reached or refuses us, 409 for a session already in progress
 * (64021), incomplete data (64019) or a call not in progress, 400 for
 * request values Twilio rejects, 404 for unknown resources, 503 for 429.
 * `what` says what we were doing ("creating the payment"). */
void tp_reply_twilio_error(tp_resp *resp, const tp_twilio_error *err, const char *what);
/* 404 unknown call, 409 not in-progress, Twilio errors mapped. */
bool tp_call_in_progress_or_reply(const tp_config *cfg, tp_resp *resp, const char *call_sid);
/* paymentSid parameter, session token for it, payMap item with our
 * session, owned by the requesting agent, and the callSid parameter, when
 * given, naming its call (400 otherwise).  *data is the caller's. */
bool tp_paysession_open_or_reply(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                                 const char **payment_sid, cJSON **data, tp_capture *c);
/* The one answer to a capture rule's refusal (tp_capture_reset,
 * tp_capture_can_complete, tp_capture_can_cancel): true for TP_CAP_E_OK;
 * else 409 session_ended, 409 submitting, 409 incomplete naming the
 * fields still required, or 400 invalid_parameter when `field` (the name
 * the agent sent) is not in c's order. */
bool tp_cap_ok_or_reply(tp_resp *resp, tp_cap_err e, const tp_capture *c, const char *field);
/* {"state": view} */
void tp_reply_state(tp_resp *resp, int status, const tp_capture *c, const cJSON *data,
                    const char *payment_sid);

/* payMap item data key holding the nonce of the last agent request that
 * wrote the session (startCapture, changeCapture).  When Sync acts on a
 * write but its answer is lost, the retry meets a conflict with that very
 * write; finding its own nonce there, the handler knows the write landed
 * instead of doing the work twice. */
#define TP_REQUEST_KEY "_request"

/* ---------------------------------------------------------------- payopts.c */

/* What the server accepts for a payment, in one place: currencies, the
 * default currency, amounts and their decimals, and the console's view
 * of it all (GET /aap/config, docs/api.md "Agent API"). */

/* The console's view of all of it (docs/api.md "Agent API", GET /aap/config):
 * currencies, defaultCurrency, currencyRules, paymentMethods, tokenTypes,
 * includeCvc, includePostalCode, captureOrder.  Caller frees. */
cJSON *tp_payopts_json(const tp_config *cfg);

/* ---------------------------------------------------------------- attach.c */

/* An agent attaching to a call: naming it (callSid, or a UUI / Genesys
 * conversation id looked up in uuiMap), finding the payment running on
 * it again, and the answer startCapture and attach share (docs/api.md
 * "Agent API"). */

/* The call an agent names: callSid, or uui / conversationId.  Pointers
 * borrow from the request. */
typedef struct tp_attach_target {
	const char *call_sid; /* a CA SID, or NULL */
	const char *uui;      /* when call_sid is NULL: a uuiMap key */
} tp_attach_target;

/* Reads and checks the target (400 naming the parameter otherwise). */
bool tp_attach_target_or_reply(const tp_req *req, tp_resp *resp, tp_attach_target *t);
/* The call's SID: callSid as given, or uuiMap[uui].pstnSid (404
 * uui_not_found, 502 uui_malformed, Sync errors mapped). */
bool tp_attach_resolve_or_reply(const tp_config *cfg, tp_resp *resp, const tp_attach_target *t,
                                char call_sid[TP_SID_SIZE]);
/* payMap[CallSid] = {"callSid","paymentSid","agent","startedAt"}, 12 h TTL:
 * the call's latest payment, so it is found again without scanning
 * payMap (Twilio's keys there are PaymentSids, PK..., so a CallSid key
 * never collides).  False after logging when Sync refuses. */
bool tp_attach_record(const tp_config *cfg, const char *call_sid, const char *payment_sid,
                      const char *agent);
/* The PaymentSid payMap[CallSid] names: TP_OK; TP_ENOTFOUND when there is
 * no record or it is malformed; TP_EIO with err filled when Sync fails. */
tp_rc tp_attach_lookup(const tp_config *cfg, const char *call_sid, char payment_sid[TP_SID_SIZE],
                       tp_twilio_error *err);
/* The agent's password-hash tag for a session token (401 token_revoked
 * when the agent is gone, 500 when AGENTS_FILE is unreadable). */
bool tp_attach_agent_tag_or_reply(const tp_config *cfg, tp_resp *resp, const char *agent,
                                  char tag[TP_AGENT_TAG_LEN + 1]);
/* The answer of startCapture (201) and attach (200): paymentSid, callSid,
 * a new sessionToken for (agent, payment), sessionExpiresAt, eventsUrl
 * (no credential in it), ticketUrl, stateUrl, order, state and, when not
 * NULL, warning. */
void tp_attach_reply(tp_resp *resp, int status, const tp_config *cfg, const char *agent,
                     const char *tag, const char *payment_sid, const tp_capture *c,
                     const cJSON *data, const char *warning);

/* ---------------------------------------------------------------- capture_input.c */

/* startCapture's request, read and checked in the library so it is unit
 * tested and fuzzed: the call, the currency and amount against
 * payopts.c's rules, the payment method, token type, description and
 * Twilio Parameters. */

/* Strings borrow from the request; amount and parameters are owned. */
typedef struct tp_start_input {
	tp_attach_target target;
	char call_sid[TP_SID_SIZE]; /* the call, once resolved (the handler's) */
	char currency[4];           /* upper case, allowed here */
	int places;                 /* decimals sent to Twilio (tp_payopts_places) */
	int64_t minor;              /* the amount in minor units; 0 tokenizes */
	tp_buf amount;              /* ChargeAmount as sent, "" when tokenizing */
	bool ach;
	const char *token_type; /* one-time | reusable when minor == 0 */
	const char *description;
	const char *bank_account_type; /* ACH only */
	char *parameters;              /* serialised flat JSON object or NULL */
} tp_start_input;

void tp_start_input_init(tp_start_input *in);
void tp_start_input_free(tp_start_input *in);
/* Reads and checks every field of startCapture's JSON or form body into
 * `in` (initialised); false after a 400 naming the field. */
bool tp_start_input_or_reply(const tp_req *req, tp_resp *resp, const tp_config *cfg,
                             tp_start_input *in);

/* ---------------------------------------------------------------- task.c */

/* A piece of a request run on a thread of its own (two independent
 * Twilio requests at once).  tp_task_start never fails: without a thread
 * it runs fn(arg) before returning.  tp_task_join waits for it and frees
 * it (NULL does nothing); every started task must be joined, by the
 * request that started it. */

typedef struct tp_task tp_task;
tp_task *tp_task_start(void (*fn)(void *), void *arg);
void tp_task_join(tp_task *t);

/* ---------------------------------------------------------------- metrics.c */

/* Counters an operator watches (docs/operating.md "Metrics"): kept per handler in
 * a shared-memory scoreboard when the binary runs under tp_serve,
 * ignored otherwise (tests, tools). */

/* A status callback's outcome: applied duplicate stale final recorded. */
void tp_metrics_callback(const char *outcome);
/* Appends the Prometheus text exposition (version 0.0.4) of every
 * handler's scoreboard found in dir (METRICS_DIR). */
tp_rc tp_metrics_render(const char *dir, tp_buf *out);

#endif
