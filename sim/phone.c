/*
 * phone.c - the customer phone page at GET / (DESIGN.md): place a call to
 * our number or from the contact centre's SIP side, a keypad that sends
 * DTMF, REFER, hang up, and the legs and the (masked) payment session,
 * polled from the control API.  A person uses it next to the agent
 * console to try the product end to end.
 *
 * Same-origin and self-contained: one HTML page, one script and one style
 * sheet served from here, no inline script or style and no CDN, so the
 * strict Content-Security-Policy below holds.  The script builds the DOM
 * with textContent only (call data never becomes markup).
 */
#include <string.h>

#include "sim.h"

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
    "payment session as Twilio sees it (masked).</p></header>\n",
    "<main>\n",
    "<section id=\"place\" aria-labelledby=\"place-h\">\n",
    "<h2 id=\"place-h\">Place a call</h2>\n",
    "<form id=\"call-form\">\n",
    "<fieldset><legend>Who calls</legend>\n",
    "<label><input type=\"radio\" name=\"origin\" value=\"pstn\" checked> The customer calls "
    "our number <span id=\"our-number\"></span></label>\n",
    "<label><input type=\"radio\" name=\"origin\" value=\"sip\"> The contact centre calls the "
    "customer (SIP)</label>\n",
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
    "<label>Current call <select id=\"calls\"></select></label>\n",
    "<p id=\"call-status\" role=\"status\">No call yet.</p>\n",
    "<div id=\"keypad\" class=\"keypad\" aria-label=\"Keypad\"></div>\n",
    "<form id=\"keys-form\"><label>Type keys <input id=\"keys\" inputmode=\"numeric\" "
    "autocomplete=\"off\" placeholder=\"digits, then #\"></label> "
    "<button type=\"submit\">Send keys</button></form>\n",
    "<form id=\"refer-form\"><label>Transfer (REFER) to <input id=\"refer\" "
    "autocomplete=\"off\" placeholder=\"sip:agent@cc.example.com or +61...\"></label> "
    "<button type=\"submit\">Send REFER</button></form>\n",
    "<button id=\"hangup\" class=\"danger\" type=\"button\">Hang up</button>\n",
    "<h3>Legs</h3>\n",
    "<table id=\"legs\"><thead><tr><th>SID</th><th>Side</th><th>Direction</th><th>From</th>"
    "<th>To</th><th>Status</th></tr></thead><tbody></tbody></table>\n",
    "<h3>Payment session</h3>\n",
    "<div id=\"payments\"><p>None.</p></div>\n",
    "</section>\n",
    "</main>\n",
    "</body>\n",
    "</html>\n",
    NULL};

static const char *const page_css[] = {
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f5f6f8}\n",
    "header{background:#0b3d91;color:#fff;padding:.8em 1.2em}header h1{margin:0;font-size:1.4em}"
    "header p{margin:.2em 0 0}\n",
    "main{display:flex;flex-wrap:wrap;gap:1em;padding:1em}\n",
    "section{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:1em;flex:1 1 "
    "22em}\n",
    "label{display:block;margin:.4em 0}input,select{font:inherit;padding:.25em}\n",
    "fieldset{border:1px solid #d5d9e0;margin:0 0 .6em}\n",
    "button{font:inherit;padding:.35em .9em;margin:.3em .3em .3em 0;cursor:pointer}\n",
    ".danger{background:#b00020;color:#fff;border:0;border-radius:4px}\n",
    ".keypad{display:grid;grid-template-columns:repeat(3,4em);gap:.4em;margin:.6em 0}\n",
    ".keypad button{height:3em;font-size:1.2em;margin:0}\n",
    "table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border:1px solid "
    "#d5d9e0;padding:.2em .4em;text-align:left}\n",
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}"
    "dd{margin:0;font-family:monospace}\n",
    ".err{color:#b00020}\n",
    NULL};

static const char *const page_js[] = {
    "'use strict';\n",
    "// Customer phone page of the Twilio emulator.  Talks to the control API\n",
    "// (/sim/...) on the same origin; builds the DOM with textContent only.\n",
    "(function () {\n",
    "  const $ = (id) => document.getElementById(id);\n",
    "  let current = null;\n",
    "  let timer = null;\n",
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
    "      current = c.call_sid;\n",
    "      say($('place-msg'), 'Call ' + c.call_sid + ': ' + c.status + (c.error ? ' (' + "
    "c.error + ')' : ''), !!c.error);\n",
    "      await refreshList();\n",
    "      render(c);\n",
    "    } catch (e) {\n",
    "      say($('place-msg'), e.message, true);\n",
    "    }\n",
    "  }\n",
    "\n",
    "  async function refreshList() {\n",
    "    const j = await api('GET', '/sim/calls');\n",
    "    const sel = $('calls');\n",
    "    sel.replaceChildren();\n",
    "    for (const c of j.calls) {\n",
    "      const o = document.createElement('option');\n",
    "      o.value = c.call_sid;\n",
    "      o.textContent = c.call_sid + ' ' + c.from + ' (' + c.status + ')';\n",
    "      sel.appendChild(o);\n",
    "    }\n",
    "    if (!current && j.calls.length) current = j.calls[0].call_sid;\n",
    "    if (current) sel.value = current;\n",
    "  }\n",
    "\n",
    "  function cell(tr, text) {\n",
    "    const td = document.createElement('td');\n",
    "    td.textContent = text == null ? '' : String(text);\n",
    "    tr.appendChild(td);\n",
    "  }\n",
    "\n",
    "  function render(c) {\n",
    "    say($('call-status'), c.call_sid + ' - ' + c.status + (c.refer ? ' - REFER: ' + "
    "c.refer : '') + (c.error ? ' - ' + c.error : ''), !!c.error);\n",
    "    const tb = document.querySelector('#legs tbody');\n",
    "    tb.replaceChildren();\n",
    "    for (const l of c.legs) {\n",
    "      const tr = document.createElement('tr');\n",
    "      [l.sid, l.side, l.direction, l.from, l.to, l.status].forEach((v) => cell(tr, v));\n",
    "      tb.appendChild(tr);\n",
    "    }\n",
    "    const box = $('payments');\n",
    "    box.replaceChildren();\n",
    "    if (!c.payments.length) {\n",
    "      const p = document.createElement('p');\n",
    "      p.textContent = 'None.';\n",
    "      box.appendChild(p);\n",
    "      return;\n",
    "    }\n",
    "    const p = c.payments[c.payments.length - 1];\n",
    "    const dl = document.createElement('dl');\n",
    "    const rows = [['Payment', p.sid], ['State', p.state], ['Amount', p.charge_amount ? "
    "p.charge_amount + ' ' + p.currency : 'tokenize (' + p.token_type + ')'],\n",
    "      ['Keying', p.capture ? p.capture + ' ' + (p.keyed || '') : '-'], ['Still required', "
    "p.required || '(nothing)']];\n",
    "    for (const k of Object.keys(p.captured || {})) rows.push([k, p.captured[k]]);\n",
    "    if (p.card_type) rows.push(['Card type', p.card_type]);\n",
    "    if (p.error_type) rows.push(['Last error', p.error_type]);\n",
    "    if (p.result) rows.push(['Result', p.result]);\n",
    "    for (const [k, v] of rows) {\n",
    "      const dt = document.createElement('dt');\n",
    "      dt.textContent = k;\n",
    "      const dd = document.createElement('dd');\n",
    "      dd.textContent = v;\n",
    "      dl.append(dt, dd);\n",
    "    }\n",
    "    box.appendChild(dl);\n",
    "  }\n",
    "\n",
    "  async function poll() {\n",
    "    if (!current) return;\n",
    "    try { render(await api('GET', '/sim/calls/' + encodeURIComponent(current))); }\n",
    "    catch (e) { say($('call-status'), e.message, true); }\n",
    "  }\n",
    "\n",
    "  async function send(path, body) {\n",
    "    if (!current) { say($('call-status'), 'Place a call first.', true); return; }\n",
    "    try { render(await api('POST', '/sim/calls/' + encodeURIComponent(current) + path, "
    "body)); }\n",
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
    "  document.addEventListener('DOMContentLoaded', async () => {\n",
    "    keypad();\n",
    "    document.querySelectorAll('input[name=origin]').forEach((r) => "
    "r.addEventListener('change', showOrigin));\n",
    "    $('call-form').addEventListener('submit', placeCall);\n",
    "    $('calls').addEventListener('change', (e) => { current = e.target.value; poll(); });\n",
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
    "    try {\n",
    "      const h = await api('GET', '/sim/health');\n",
    "      $('our-number').textContent = h.phone_number;\n",
    "      await refreshList();\n",
    "    } catch (e) { say($('place-msg'), e.message, true); }\n",
    "    poll();\n",
    "    timer = setInterval(poll, 1000);\n",
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

bool sim_phone(const sim_req *rq, sim_resp *rs)
{
	const char *const *body;
	const char *ctype;
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
	} else {
		return false;
	}
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
		sim_resp_ctl_error(rs, 405, "GET");
		return true;
	}
	tp_buf_init(&b, 1u << 20);
	join(&b, body);
	sim_resp_text(rs, 200, ctype, tp_buf_str(&b));
	tp_buf_free(&b);
	sim_resp_header(rs, "Content-Security-Policy",
	                "default-src 'none'; script-src 'self'; style-src 'self'; "
	                "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
	                "frame-ancestors 'none'");
	sim_resp_header(rs, "X-Content-Type-Options", "nosniff");
	sim_resp_header(rs, "Referrer-Policy", "no-referrer");
	sim_resp_header(rs, "Cache-Control", "no-store");
	return true;
}
