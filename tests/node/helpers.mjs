// Helpers for the emulator's conformance tests: start twilio-sim on free
// ports with a fresh sandbox .env, a recording HTTP server standing in for
// the product (voice URLs, status callbacks, the connector), and the
// official twilio client pointed at the emulator.
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import twilio from 'twilio';

const here = path.dirname(fileURLToPath(import.meta.url));
export const top = path.resolve(here, '..', '..');
const build = path.resolve(top, process.env.B || 'build');

export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

function parseEnv(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

// A recording stand-in for the product.  Routes answer with what the test
// set in `routes` (path -> function(req) returning {status, type, body},
// or a promise of it: a test can hold an answer back); every request is
// kept in `seen` with its raw body and parsed form.
export async function startReceiver() {
  const seen = [];
  const routes = new Map();
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url, 'http://x');
      const type = req.headers['content-type'] || '';
      const form = type.startsWith('application/x-www-form-urlencoded')
        ? Object.fromEntries(new URLSearchParams(raw)) : null;
      const rec = {
        method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams),
        url: req.url, headers: req.headers, raw, form,
        json: type.startsWith('application/json') ? JSON.parse(raw) : null,
      };
      seen.push(rec);
      const h = routes.get(url.pathname);
      Promise.resolve(h ? h(rec) : { status: 200, type: 'text/xml', body: '<Response/>' }).then((out) => {
        if (res.destroyed) return; // the emulator gave up on it
        res.writeHead(out.status || 200, { 'Content-Type': out.type || 'text/plain' });
        res.end(out.body || '');
      });
      for (const w of waiters.splice(0)) w();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base, seen, routes,
    // Requests to a path, in arrival order.
    at: (p) => seen.filter((r) => r.path === p),
    // Waits until pred(seen) holds.  The deadline only keeps a broken
    // emulator from hanging the suite; it is no timing assertion.
    async until(pred, what = 'the expected requests') {
      const deadline = Date.now() + 20000;
      while (!pred(seen)) {
        if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
      }
    },
    close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }),
  };
}

// Starts twilio-sim for `recv` (the product's base URL), with extra
// command-line arguments and extra .env lines (NAME: value).  Returns the
// emulator's base URL, the sandbox env, the stderr log path and stop().
export async function startSim(recv, extraArgs = [], extraEnv = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-sim-'));
  const envFile = path.join(dir, 'env');
  const text = execFileSync(path.join(top, 'scripts', 'sandbox-env'), ['8080', String(port)]).toString() +
    Object.entries(extraEnv).map(([k, v]) => `${k}=${v}\n`).join('');
  fs.writeFileSync(envFile, text, { mode: 0o600 });
  const env = parseEnv(text);
  const log = path.join(dir, 'sim.log');
  const errFd = fs.openSync(log, 'a');
  const child = spawn(path.join(build, 'sim', 'twilio-sim'),
    ['--listen', `127.0.0.1:${port}`, '--env', envFile, '--server-url', recv.base, ...extraArgs],
    { stdio: ['ignore', 'ignore', errFd], env: { PATH: process.env.PATH, ...(process.env.ASAN_OPTIONS ? { ASAN_OPTIONS: process.env.ASAN_OPTIONS } : {}), ...(process.env.UBSAN_OPTIONS ? { UBSAN_OPTIONS: process.env.UBSAN_OPTIONS } : {}) } });
  fs.closeSync(errFd);
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      const r = await fetch(`${base}/sim/health`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error(`twilio-sim exited: ${fs.readFileSync(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base, env, log, dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
    cleanup() { fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

// The official client, its hosts rewritten to the emulator by a custom
// httpClient (twilio-node's documented extension point): URL building,
// auth, parameter names and response/error parsing stay the library's own.
export function client(sim, user, pass) {
  class SimClient extends twilio.RequestClient {
    request(opts) {
      const uri = opts.uri.replace(/^https:\/\/(api|sync)\.twilio\.com/, sim.base);
      return super.request({ ...opts, uri });
    }
  }
  return twilio(user || sim.env.ACCOUNT_SID, pass || sim.env.AUTH_TOKEN, {
    accountSid: sim.env.ACCOUNT_SID,
    httpClient: new SimClient(),
  });
}

// Control API (JSON).
export async function ctl(sim, method, p, body) {
  const r = await fetch(sim.base + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// REST with Basic auth and a form body, without the client.
export async function rest(sim, method, p, form, headers = {}) {
  const auth = Buffer.from(`${sim.env.ACCOUNT_SID}:${sim.env.AUTH_TOKEN}`).toString('base64');
  const r = await fetch(sim.base + p, {
    method,
    headers: { Authorization: `Basic ${auth}`, ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}), ...headers },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { status: r.status, headers: r.headers, body };
}

export function xmlEscape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// TwiML like cgi-bin/callToSIP emits (contract 8).
export function dialSip(recv, callSid, extra = '') {
  const cb = `${recv.base}/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=${callSid}`;
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Dial answerOnBridge="true"${extra}>` +
    `<Sip statusCallbackEvent="answered completed" statusCallbackMethod="POST" statusCallback="${xmlEscape(cb)}">` +
    `sip:+61290001234@cc.example.com?User-to-User=${callSid}</Sip></Dial></Response>`;
}

export const twiml = (body) => ({ status: 200, type: 'text/xml', body });

// Places a PSTN call whose voice webhook dials the SIP side.
export async function placeCall(sim, recv, extra = '') {
  recv.routes.set('/pv/callToSIP', (r) => twiml(dialSip(recv, r.form.CallSid, extra)));
  const c = await ctl(sim, 'POST', '/sim/calls', { from: '+14155550100' });
  if (c.status !== 201) throw new Error(`call: ${JSON.stringify(c.body)}`);
  return c.body;
}

export function paymentsPath(sim, callSid, pk) {
  return `/2010-04-01/Accounts/${sim.env.ACCOUNT_SID}/Calls/${callSid}/Payments${pk ? '/' + pk : ''}.json`;
}

export function sigOk(authToken, rec, fullUrl) {
  const params = rec.method === 'POST' && rec.form ? rec.form : {};
  return twilio.validateRequest(authToken, rec.headers['x-twilio-signature'], fullUrl, params);
}
