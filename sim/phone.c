/*
 * phone.c - the customer phone page at GET / (DESIGN.md): place a call to
 * our number or from the contact centre's SIP side, a keypad that sends
 * DTMF, REFER, hang up, and the legs and the (masked) payment session.  A
 * person uses it next to the agent console to try the product end to end.
 *
 * Live, not polled: the page keeps one EventSource on GET /phone/events,
 * which sends every call (as GET /sim/calls has them) at once and again
 * whenever that changes.  A change is noticed at once after any request
 * that may change something (http.c calls sim_phone_changed), and within
 * STREAM_CHECK_MS otherwise (the inter-digit timer, the connector's
 * answer): the stream compares what it would send with what it sent,
 * in memory.  The page renders only what the stream says, in its order,
 * so an answer to one of its own requests can never put an older state
 * on screen after a newer one.  (It used to poll once a second: 271
 * requests for one payment, and a state up to a second old.)
 *
 * Same-origin and self-contained: one HTML page, one script and one style
 * sheet served from here, no inline script or style and no CDN, so the
 * strict Content-Security-Policy below holds.  The script builds the DOM
 * with textContent only (call data never becomes markup).  It fits a
 * 360 px phone: one column, long SIDs wrap, the legs are a list.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define STREAM_CHECK_MS     250   /* compare again at least this often */
#define STREAM_KEEPALIVE_MS 15000 /* a comment line when nothing changed */

static const char *const page_html[] = {
    "<!doctype html>\n",
    "<html lang=\"en\">\n",
    "<head>\n",
    "<meta charset=\"utf-8\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<title>Twilio emulator - customer phone</title>\n",
    "<link rel=\"stylesheet\" href=\"/phone.css\">\n",
    "<script src=\"/phone.js\" defer></script>\n",
    "</head>\n",
    "<body>\n",
    "<header><h1>Customer phone</h1><p>Local Twilio emulator: calls, keypad (DTMF) and the\n",
    "payment session as Twilio sees it (masked).</p>\n",
    "<p id=\"link\" class=\"link\" role=\"status\">Connecting&hellip;</p></header>\n",
    "<main>\n",
    "<section id=\"place\" aria-labelledby=\"place-h\">\n",
    "<h2 id=\"place-h\">Place a call</h2>\n",
    "<form id=\"call-form\">\n",
    "<fieldset><legend>Who calls</legend>\n",
    "<label class=\"choice\"><input type=\"radio\" name=\"origin\" value=\"pstn\" checked> The "
    "customer calls our number <span id=\"our-number\"></span></label>\n",
    "<label class=\"choice\"><input type=\"radio\" name=\"origin\" value=\"sip\"> The contact "
    "centre calls the customer (SIP)</label>\n",
    "</fieldset>\n",
    "<div class=\"pstn-only\"><label>Customer number <input id=\"from-pstn\" "
    "value=\"+14155550100\" autocomplete=\"off\"></label></div>\n",
    "<div class=\"sip-only\" hidden>\n",
    "<label>From (SIP) <input id=\"from-sip\" value=\"sip:+61290001234@10.0.0.5\" "
    "autocomplete=\"off\"></label>\n",
    "<label>To (SIP) <input id=\"to-sip\" value=\"sip:+14155550100@sandbox.sip.twilio.com\" "
    "autocomplete=\"off\"></label>\n",
    "<label>x-inin-cnv <input id=\"cnv\" value=\"\" placeholder=\"conversation id\" "
    "autocomplete=\"off\"></label>\n",
    "</div>\n",
    "<button type=\"submit\">Call</button>\n",
    "</form>\n",
    "<p id=\"place-msg\" role=\"status\"></p>\n",
    "</section>\n",
    "<section id=\"call\" aria-labelledby=\"call-h\">\n",
    "<h2 id=\"call-h\">Call</h2>\n",
    "<label>Current call <select id=\"calls\"><option value=\"\">Newest "
    "call</option></select></label>\n",
    "<p id=\"call-status\" role=\"status\">No call yet.</p>\n",
    "<div id=\"keypad\" class=\"keypad\" role=\"group\" aria-label=\"Keypad\"></div>\n",
    "<form id=\"keys-form\" class=\"row\"><label>Type keys <input id=\"keys\" "
    "inputmode=\"numeric\" autocomplete=\"off\" placeholder=\"digits, then #\"></label>\n",
    "<button type=\"submit\">Send keys</button></form>\n",
    "<form id=\"refer-form\" class=\"row\"><label>Transfer (REFER) to <input id=\"refer\" "
    "autocomplete=\"off\" placeholder=\"sip:agent@cc.example.com or +61...\"></label>\n",
    "<button type=\"submit\">Send REFER</button></form>\n",
    "<button id=\"hangup\" class=\"danger\" type=\"button\">Hang up</button>\n",
    "<h3>Legs</h3>\n",
    "<ul id=\"legs\" class=\"legs\"><li>None.</li></ul>\n",
    "<h3>Payment session</h3>\n",
    "<div id=\"payments\"><p>None.</p></div>\n",
    "</section>\n",
    "</main>\n",
    "</body>\n",
    "</html>\n",
    NULL};

static const char *const page_css[] = {
    "*,*::before,*::after{box-sizing:border-box}\n",
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f5f6f8}\n",
    "header{background:#0b3d91;color:#fff;padding:.8em 1em}header h1{margin:0;font-size:1.4em}\n",
    "header p{margin:.2em 0 0}\n",
    ".link{display:inline-block;font-size:.85em;padding:0 .5em;border:1px solid "
    "#fff;border-radius:999px}\n",
    ".link[data-link=\"live\"]::before{content:\"\\25CF\\00A0\"}\n",
    "main{display:flex;flex-wrap:wrap;gap:1em;padding:1em;max-width:70em}\n",
    "section{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:1em;flex:1 1 "
    "20em;min-width:0}\n",
    "label{display:block;margin:.4em 0}\n",
    "input,select{font:inherit;padding:.25em;max-width:100%}\n",
    "select{width:100%}\n",
    ".row label{display:inline-block;max-width:100%}\n",
    "label.choice{display:flex;gap:.4em;align-items:baseline}\n",
    "fieldset{border:1px solid #d5d9e0;margin:0 0 .6em;min-width:0}\n",
    "button{font:inherit;padding:.35em .9em;margin:.3em .3em .3em 0;cursor:pointer}\n",
    ".danger{background:#b00020;color:#fff;border:0;border-radius:4px}\n",
    ".keypad{display:grid;grid-template-columns:repeat(3,4em);gap:.4em;margin:.6em 0}\n",
    ".keypad button{height:3em;font-size:1.2em;margin:0}\n",
    ".legs{list-style:none;margin:0;padding:0;display:grid;gap:.4em}\n",
    ".legs li{border:1px solid #d5d9e0;border-radius:4px;padding:.3em .5em;font-size:.9em}\n",
    ".legs .sid,dd{font-family:monospace;overflow-wrap:anywhere}\n",
    "dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2em "
    "1em}dt{font-weight:600}\n",
    "dd{margin:0}\n",
    "#call-status,#place-msg{overflow-wrap:anywhere}\n",
    ".err{color:#b00020}\n",
    NULL};

static const char *const page_js[] = {
    "'use strict';\n",
    "// Customer phone page of the Twilio emulator.  Talks to the control API\n",
    "// (/sim/...) on the same origin and follows every call through one\n",
    "// EventSource (/phone/events); renders only what that stream says.\n",
    "// Builds the DOM with textContent only.\n",
    "(function () {\n",
    "  const $ = (id) => document.getElementById(id);\n",
    "  let selected = '';   // the call chosen in the list; '' follows the newest\n",
    "  let calls = [];\n",
    "\n",
    "  async function api(method, path, body) {\n",
    "    const opts = { method, headers: {} };\n",
    "    if (body !== undefined) {\n",
    "      opts.headers['Content-Type'] = 'application/json';\n",
    "      opts.body = JSON.stringify(body);\n",
    "    }\n",
    "    const r = await fetch(path, opts);\n",
    "    const text = await r.text();\n",
    "    let json = null;\n",
    "    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }\n",
    "    if (!r.ok) throw new Error((json && json.error) || ('HTTP ' + r.status));\n",
    "    return json;\n",
    "  }\n",
    "\n",
    "  function say(el, msg, isErr) {\n",
    "    el.textContent = msg;\n",
    "    el.classList.toggle('err', !!isErr);\n",
    "  }\n",
    "\n",
    "  function origin() {\n",
    "    const r = document.querySelector('input[name=origin]:checked');\n",
    "    return r ? r.value : 'pstn';\n",
    "  }\n",
    "\n",
    "  function showOrigin() {\n",
    "    const sip = origin() === 'sip';\n",
    "    document.querySelectorAll('.sip-only').forEach((e) => { e.hidden = !sip; });\n",
    "    document.querySelectorAll('.pstn-only').forEach((e) => { e.hidden = sip; });\n",
    "  }\n",
    "\n",
    "  function current() {\n",
    "    return calls.find((c) => c.call_sid === selected) || (selected ? null : calls[0] || "
    "null);\n",
    "  }\n",
    "\n",
    "  async function placeCall(ev) {\n",
    "    ev.preventDefault();\n",
    "    let body;\n",
    "    if (origin() === 'sip') {\n",
    "      body = { from: $('from-sip').value, to: $('to-sip').value };\n",
    "      const cnv = $('cnv').value.trim();\n",
    "      if (cnv) body.sipHeaders = { 'x-inin-cnv': cnv };\n",
    "    } else {\n",
    "      body = { from: $('from-pstn').value };\n",
    "    }\n",
    "    say($('place-msg'), 'Calling...');\n",
    "    try {\n",
    "      const c = await api('POST', '/sim/calls', body);\n",
    "      selected = c.call_sid;\n",
    "      say($('place-msg'), 'Call ' + c.call_sid + ': ' + c.status + (c.error ? ' (' + c.error "
    "+ ')' : ''), !!c.error);\n",
    "      render();\n",
    "    } catch (e) {\n",
    "      say($('place-msg'), e.message, true);\n",
    "    }\n",
    "  }\n",
    "\n",
    "  function renderList() {\n",
    "    const sel = $('calls');\n",
    "    const opts = [['', 'Newest call']].concat(calls.map((c) => [c.call_sid, c.call_sid + ' ' "
    "+ c.from + ' (' + c.status + ')']));\n",
    "    sel.replaceChildren(...opts.map(([v, t]) => {\n",
    "      const o = document.createElement('option');\n",
    "      o.value = v;\n",
    "      o.textContent = t;\n",
    "      return o;\n",
    "    }));\n",
    "    sel.value = selected;\n",
    "  }\n",
    "\n",
    "  function render() {\n",
    "    renderList();\n",
    "    const c = current();\n",
    "    const legs = $('legs');\n",
    "    const box = $('payments');\n",
    "    if (!c) {\n",
    "      say($('call-status'), selected ? 'Call ' + selected + ' is gone.' : 'No call yet.', "
    "!!selected);\n",
    "      legs.replaceChildren(item('None.'));\n",
    "      box.replaceChildren(para('None.'));\n",
    "      return;\n",
    "    }\n",
    "    say($('call-status'), c.call_sid + ' - ' + c.status + (c.refer ? ' - REFER: ' + c.refer : "
    "'') + (c.error ? ' - ' + c.error : ''), !!c.error);\n",
    "    legs.replaceChildren(...c.legs.map((l) => {\n",
    "      const li = document.createElement('li');\n",
    "      const sid = document.createElement('span');\n",
    "      sid.className = 'sid';\n",
    "      sid.textContent = l.sid;\n",
    "      li.append(sid, ' ' + [l.side, l.direction, l.from + ' \\u2192 ' + l.to, "
    "l.status].join(' \\u00b7 '));\n",
    "      return li;\n",
    "    }));\n",
    "    if (!c.payments.length) {\n",
    "      box.replaceChildren(para('None.'));\n",
    "      return;\n",
    "    }\n",
    "    const p = c.payments[c.payments.length - 1];\n",
    "    const rows = [['Payment', p.sid], ['State', p.state], ['Amount', p.charge_amount ? "
    "p.charge_amount + ' ' + p.currency : 'tokenize (' + p.token_type + ')'],\n",
    "      ['Keying', p.capture ? p.capture + ' ' + (p.keyed || '') : '-'], ['Still required', "
    "p.required || '(nothing)']];\n",
    "    for (const k of Object.keys(p.captured || {})) rows.push([k, p.captured[k]]);\n",
    "    if (p.card_type) rows.push(['Card type', p.card_type]);\n",
    "    if (p.error_type) rows.push(['Last error', p.error_type]);\n",
    "    if (p.result) rows.push(['Result', p.result]);\n",
    "    const dl = document.createElement('dl');\n",
    "    for (const [k, v] of rows) {\n",
    "      const dt = document.createElement('dt');\n",
    "      dt.textContent = k;\n",
    "      const dd = document.createElement('dd');\n",
    "      dd.textContent = v;\n",
    "      dl.append(dt, dd);\n",
    "    }\n",
    "    box.replaceChildren(dl);\n",
    "  }\n",
    "\n",
    "  function para(t) { const e = document.createElement('p'); e.textContent = t; return e; }\n",
    "  function item(t) { const e = document.createElement('li'); e.textContent = t; return e; }\n",
    "\n",
    "  // Errors only: what a request changed arrives through the stream.\n",
    "  async function send(path, body) {\n",
    "    const c = current();\n",
    "    if (!c) { say($('call-status'), 'Place a call first.', true); return; }\n",
    "    try { await api('POST', '/sim/calls/' + encodeURIComponent(c.call_sid) + path, body); }\n",
    "    catch (e) { say($('call-status'), e.message, true); }\n",
    "  }\n",
    "\n",
    "  function keypad() {\n",
    "    const pad = $('keypad');\n",
    "    for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#']) {\n",
    "      const b = document.createElement('button');\n",
    "      b.type = 'button';\n",
    "      b.textContent = k;\n",
    "      b.setAttribute('aria-label', 'key ' + k);\n",
    "      b.addEventListener('click', () => send('/digits', { digits: k }));\n",
    "      pad.appendChild(b);\n",
    "    }\n",
    "  }\n",
    "\n",
    "  // The browser reconnects by itself; every (re)connection starts with\n",
    "  // the whole current state, so nothing missed while away stays missing.\n",
    "  function follow() {\n",
    "    const es = new EventSource('/phone/events');\n",
    "    const link = $('link');\n",
    "    es.onopen = () => { link.textContent = 'Live'; link.dataset.link = 'live'; };\n",
    "    es.onerror = () => { link.textContent = 'Reconnecting\\u2026'; link.dataset.link = "
    "'reconnecting'; };\n",
    "    es.onmessage = (e) => {\n",
    "      try { calls = JSON.parse(e.data).calls || []; } catch (x) { return; }\n",
    "      render();\n",
    "    };\n",
    "  }\n",
    "\n",
    "  document.addEventListener('DOMContentLoaded', async () => {\n",
    "    keypad();\n",
    "    document.querySelectorAll('input[name=origin]').forEach((r) => "
    "r.addEventListener('change', showOrigin));\n",
    "    $('call-form').addEventListener('submit', placeCall);\n",
    "    $('calls').addEventListener('change', (e) => { selected = e.target.value; render(); });\n",
    "    $('keys-form').addEventListener('submit', (e) => {\n",
    "      e.preventDefault();\n",
    "      const v = $('keys').value.replace(/\\s+/g, '');\n",
    "      $('keys').value = '';\n",
    "      if (v) send('/digits', { digits: v });\n",
    "    });\n",
    "    $('refer-form').addEventListener('submit', (e) => {\n",
    "      e.preventDefault();\n",
    "      send('/refer', { target: $('refer').value.trim() });\n",
    "    });\n",
    "    $('hangup').addEventListener('click', () => send('/hangup'));\n",
    "    follow();\n",
    "    try {\n",
    "      const h = await api('GET', '/sim/health');\n",
    "      $('our-number').textContent = h.phone_number;\n",
    "    } catch (e) { say($('place-msg'), e.message, true); }\n",
    "  });\n",
    "})();\n",
    NULL};

/* The assets are arrays of lines (C compilers need not accept string
 * literals over 4095 bytes); joined when served. */
static void join(tp_buf *out, const char *const *lines)
{
	size_t i;

	for (i = 0; lines[i]; i++)
		tp_buf_adds(out, lines[i]);
}

/* ---------------------------------------------------------------- the live stream */

static pthread_mutex_t change_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t change_cond = PTHREAD_COND_INITIALIZER;
static unsigned long change_version; /* bumped by sim_phone_changed */
static bool stopping;

void sim_phone_changed(void)
{
	pthread_mutex_lock(&change_lock);
	change_version++;
	pthread_cond_broadcast(&change_cond);
	pthread_mutex_unlock(&change_lock);
}

void sim_phone_stop(void)
{
	pthread_mutex_lock(&change_lock);
	stopping = true;
	pthread_cond_broadcast(&change_cond);
	pthread_mutex_unlock(&change_lock);
}

struct sim_phone_stream {
	char *last;     /* the snapshot sent last, NULL before the first */
	tp_buf pending; /* bytes of the next event not yet handed over */
	size_t off;     /* how many of them were */
	double sent_ms; /* when something was last sent */
};

/* Every call as GET /sim/calls has them, on one line. */
static char *snapshot(void)
{
	sim_resp r;
	char *s;

	memset(&r, 0, sizeof r);
	tp_buf_init(&r.body, 8u << 20);
	tp_params_init(&r.headers);
	sim_ctl_calls_list(&r);
	s = tp_xstrdup(tp_buf_str(&r.body));
	tp_buf_free(&r.body);
	tp_params_free(&r.headers);
	return s;
}

long sim_phone_stream_read(sim_phone_stream *st, char *buf, size_t max)
{
	for (;;) {
		unsigned long seen;
		char *now;

		if (st->off < st->pending.len) {
			size_t n = st->pending.len - st->off;
			if (n > max)
				n = max;
			memcpy(buf, st->pending.ptr + st->off, n);
			st->off += n;
			return (long)n;
		}
		tp_buf_reset(&st->pending);
		st->off = 0;
		pthread_mutex_lock(&change_lock);
		seen = change_version;
		pthread_mutex_unlock(&change_lock);
		if (stopping)
			return -1;
		now = snapshot();
		if (!st->last || strcmp(now, st->last) != 0) {
			tp_buf_adds(&st->pending, "data: ");
			tp_buf_adds(&st->pending, now);
			tp_buf_adds(&st->pending, "\n\n");
			free(st->last);
			st->last = now;
			st->sent_ms = sim_mono_ms();
			continue;
		}
		free(now);
		if (sim_mono_ms() - st->sent_ms >= STREAM_KEEPALIVE_MS) {
			/* Keeps proxies and the browser from calling it idle. */
			tp_buf_adds(&st->pending, ": still here\n\n");
			st->sent_ms = sim_mono_ms();
			continue;
		}
		/* Nothing new: wait for a change, or look again soon (changes
		 * nobody signals: timers, the connector's answer). */
		{
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)STREAM_CHECK_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_mutex_lock(&change_lock);
			while (change_version == seen && !stopping &&
			       pthread_cond_timedwait(&change_cond, &change_lock, &until) == 0)
				;
			pthread_mutex_unlock(&change_lock);
		}
	}
}

void sim_phone_stream_free(sim_phone_stream *st)
{
	if (!st)
		return;
	free(st->last);
	tp_buf_free(&st->pending);
	free(st);
}

/* ---------------------------------------------------------------- routing */

static void headers(sim_resp *rs)
{
	sim_resp_header(rs, "Content-Security-Policy",
	                "default-src 'none'; script-src 'self'; style-src 'self'; "
	                "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
	                "frame-ancestors 'none'");
	sim_resp_header(rs, "X-Content-Type-Options", "nosniff");
	sim_resp_header(rs, "Referrer-Policy", "no-referrer");
	sim_resp_header(rs, "Cache-Control", "no-store");
}

bool sim_phone(const sim_req *rq, sim_resp *rs)
{
	const char *const *body;
	const char *ctype;
	bool events = false;
	tp_buf b;

	if (rq->nseg == 0 || (rq->nseg == 1 && strcmp(rq->seg[0], "index.html") == 0)) {
		body = page_html;
		ctype = "text/html; charset=utf-8";
	} else if (rq->nseg == 1 && strcmp(rq->seg[0], "phone.js") == 0) {
		body = page_js;
		ctype = "text/javascript; charset=utf-8";
	} else if (rq->nseg == 1 && strcmp(rq->seg[0], "phone.css") == 0) {
		body = page_css;
		ctype = "text/css; charset=utf-8";
	} else if (rq->nseg == 2 && strcmp(rq->seg[0], "phone") == 0 &&
	           strcmp(rq->seg[1], "events") == 0) {
		body = NULL;
		ctype = "text/event-stream";
		events = true;
	} else {
		return false;
	}
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
		sim_resp_ctl_error(rs, TP_S_METHOD_NOT_ALLOWED, "GET");
		return true;
	}
	if (events) {
		rs->status = TP_S_OK;
		rs->content_type = ctype;
		rs->stream = tp_xcalloc(1, sizeof *rs->stream);
		tp_buf_init(&rs->stream->pending, 16u << 20);
		headers(rs);
		return true;
	}
	tp_buf_init(&b, 1u << 20);
	join(&b, body);
	sim_resp_text(rs, TP_S_OK, ctype, tp_buf_str(&b));
	tp_buf_free(&b);
	headers(rs);
	return true;
}
