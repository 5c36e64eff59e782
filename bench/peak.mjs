// peak.mjs - the contact-centre peak: N customers at once, each on its own
// call, keying card details at human pace while an agent watches and
// submits; the Twilio emulator adds its latency to every request.  Used by
// scripts/bench (the "contact-centre peak" table) and by
// tests/integration/test_peak.sh (20 payments must all complete).
//
//   node bench/peak.mjs --base URL --sim URL --user NAME --password-file F
//        [--customers 200] [--ramp-s 5] [--key-ms 250,400] [--invalid-every 10]
//        [--deadline-s 300] [--stall-s 120] [--stack-pids "PID ..."] [--sim-pid PID]
//        [--sample-ms 1000] [--quiet]
//
// Each customer: the call arrives (POST /sim/calls, answered once its
// webhooks were delivered), the agent starts a payment (startCapture) and
// subscribes to its EventSource, the customer keys each field the server
// asks for (a digit every --key-ms MIN,MAX ms, uniformly; 0 keys a whole
// field at once), one customer in --invalid-every first keys a card number
// that fails the Luhn check, the agent submits when the state is ready,
// and the outcome arrives on the EventSource.  Agents log in once, at the
// start of their shift: one login (/aap/login is throttled per address),
// its token used by every agent.
//
// Measured: payments completed / failed (and why); webhook answer times
// and outcomes from the emulator's own records (GET /sim/requests?dir=out,
// polled); key -> agent, from the emulator sending a key's callback to the
// EventSource message showing it (a key's callback and its message are
// matched in order on the field, the attempt and the masked value); and,
// sampled from /proc every --sample-ms, the processes, threads, busy
// workers (not blocked in accept()), RSS and PSS of the stack's own
// processes (--stack-pids and every descendant: the handlers and nginx of
// this run only, never another sandbox's), the emulator's separately, and
// the CPU each group and this driver used.
//
// No fixed waits decide anything: a payment ends on its outcome, or fails
// at --deadline-s (0: none); the whole run gives up only when nothing at
// all happened for --stall-s.  Prints one JSON object on stdout.
import http from 'node:http';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const flag = (name) => args.includes(`--${name}`);
const base = new URL(arg('base'));
const sim = new URL(arg('sim'));
const customers = Number(arg('customers', '200'));
const rampMs = Number(arg('ramp-s', '5')) * 1000;
const keyMs = arg('key-ms', '250,400').split(',').map(Number);
const keyMin = keyMs[0], keyMax = keyMs[1] ?? keyMs[0];
const invalidEvery = Number(arg('invalid-every', '10'));
const deadlineMs = Number(arg('deadline-s', '300')) * 1000;
const stallMs = Number(arg('stall-s', '120')) * 1000;
const stackPids = (arg('stack-pids', '') || '').split(/\s+/).filter(Boolean).map(Number);
const simPid = Number(arg('sim-pid', '0'));
const sampleMs = Number(arg('sample-ms', '1000'));
const quiet = flag('quiet');
const user = arg('user', 'agent');
const password = arg('password-file') ? fs.readFileSync(arg('password-file'), 'utf8').trim() : arg('password', '');

const now = () => performance.timeOrigin + performance.now(); // wall clock, ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...m) => { if (!quiet) console.error(...m); };

// Keep-alive pools: the driver must not be what limits the run.  The
// EventSource streams get a connection each (agent: false).
const nginxAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const simAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(url, method, { headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h = { ...headers };
    if (data !== undefined) {
      h['Content-Type'] ??= 'application/json';
      h['Content-Length'] = Buffer.byteLength(data);
    }
    const r = http.request(url, { method, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    if (data !== undefined) r.write(data);
    r.end();
  });
}
const api = (path, method, body, extra = {}) =>
  request(new URL(path, base), method, { body, agent: nginxAgent, headers: { Authorization: `Bearer ${token}`, ...extra } });
const ctl = (path, method, body) => request(new URL(path, sim), method, { body, agent: simAgent });

// A request the handlers may refuse past their bound (503 + Retry-After):
// retried as a console would, and counted.
let retries503 = 0;
async function apiRetrying(path, method, body, extra) {
  for (let i = 0; ; i++) {
    const r = await api(path, method, body, extra);
    if (r.status !== 503 || i === 9) return r;
    retries503++;
    await sleep(Math.min(5, Number(r.headers['retry-after']) || 1) * 1000 * (0.5 + Math.random()));
  }
}

// ---------------------------------------------------------------- progress
let lastProgress = now();
const progress = () => { lastProgress = now(); };

// ---------------------------------------------------------------- customers
const year2 = (new Date().getUTCFullYear() + 3) % 100;
const fieldKeys = {
  'payment-card-number': (bad) => (bad ? '4111111111111112' : '4111111111111111'),
  'security-code': () => '123',
  'expiration-date': () => `12${String(year2).padStart(2, '0')}`,
  'postal-code': () => '94105',
  'bank-routing-number': () => '121000358',
  'bank-account-number': () => '12345678',
};
const uniform = (a, b) => a + Math.random() * (b - a);

let token = '';
const results = [];
let active = 0, maxActive = 0;

// Nothing is replayed to a new subscriber: onOpen reads the current state
// (GET /aap/session), as the console does once its stream is open.
function subscribe(url, onState, onEnd, onOpen) {
  const r = http.get(url, { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) { res.resume(); onEnd(`subscribe HTTP ${res.statusCode}`); return; }
    onOpen();
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      const t = now();
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        if (!data) continue;
        try { onState(JSON.parse(data), t); } catch { /* not a state */ }
      }
    });
    res.on('end', () => onEnd('stream ended'));
    res.on('error', () => onEnd('stream error'));
  });
  r.on('error', (e) => onEnd(`subscribe: ${e.message}`));
  return r;
}

async function customer(i) {
  const rec = { i, outcome: null, reason: null, msgs: [], keys: [], t0: now() };
  results.push(rec);
  const bad = invalidEvery > 0 && i % invalidEvery === 0;
  active++;
  if (active > maxActive) maxActive = active;
  let sse = null;
  try {
    const c = await ctl('/sim/calls', 'POST', { from: `+1415${String(5550000 + i).slice(-7)}` });
    if (c.status !== 201 || !c.json || c.json.status !== 'in-progress') {
      throw new Error(`call: HTTP ${c.status}${c.json ? ` ${c.json.status || ''} ${c.json.error || ''}` : ''}`.trim());
    }
    rec.call = c.json.pstn_call_sid || c.json.call_sid;
    rec.tCall = now();
    progress();
    const s = await apiRetrying('/aap/startCapture', 'POST', { callSid: rec.call, chargeAmount: '9.99', currency: 'USD' });
    if (s.status !== 201) throw new Error(`startCapture: HTTP ${s.status}${s.json?.code ? ' ' + s.json.code : ''}`);
    rec.pk = s.json.paymentSid;
    rec.tStarted = now();
    progress();
    // The EventSource's credential: a one-use ticket bought with the
    // session token in a POST (no lasting secret in a URL), as the console does.
    const tk = await apiRetrying('/aap/events-ticket', 'POST', { paymentSid: rec.pk },
      { 'X-Session-Token': s.json.sessionToken });
    if (tk.status !== 200 || !tk.json?.eventsUrl) throw new Error(`events-ticket: HTTP ${tk.status}${tk.json?.code ? ' ' + tk.json.code : ''}`);
    await new Promise((resolve) => {
      let lastSeq = -1, submitted = false, keying = null, finished = false;
      const started = new Set();
      const deadline = deadlineMs > 0 ? setTimeout(() => finish('deadline', `no outcome after ${deadlineMs / 1000} s`), deadlineMs - (now() - rec.t0)) : null;
      function finish(outcome, reason) {
        if (finished) return;
        finished = true;
        if (deadline) clearTimeout(deadline);
        rec.outcome = outcome;
        rec.reason = reason;
        rec.tDone = now();
        resolve();
      }
      async function key(field, attempt) {
        const digits = (fieldKeys[field] || (() => '1'))(bad && attempt === 1) + '#';
        keying = field;
        if (keyMax === 0) {
          rec.keys.push({ t: now(), field, attempt, n: digits.length - 1 });
          const r = await ctl(`/sim/calls/${rec.call}/digits`, 'POST', { digits, wait: false });
          if (r.status !== 200) rec.keyErrors = (rec.keyErrors || 0) + 1;
          return;
        }
        for (let k = 0; k < digits.length && !finished; k++) {
          await sleep(uniform(keyMin, keyMax));
          if (digits[k] !== '#') rec.keys.push({ t: now(), field, attempt, n: k + 1 });
          const r = await ctl(`/sim/calls/${rec.call}/digits`, 'POST', { digits: digits[k], wait: false });
          if (r.status !== 200) rec.keyErrors = (rec.keyErrors || 0) + 1;
        }
      }
      // A state from the stream, or (read) from GET /aap/session: only the
      // stream's messages count for key -> agent.
      const onState = (st, t, read = false) => {
        progress();
        const f = st.capture;
        if (!read) {
          rec.msgs.push({ t, seq: st.seq, capture: f, partial: st.partial, attempt: st.attempt,
            value: f && st.fields && st.fields[f] ? st.fields[f].value : null });
        }
        if (st.seq <= lastSeq) return;
        lastSeq = st.seq;
        if (st.status === 'completed' || st.status === 'failed' || st.status === 'cancelled') {
          finish(st.status === 'completed' && st.result === 'success' ? 'completed' : 'failed',
            `${st.status}${st.result ? ': ' + st.result : ''}`);
          return;
        }
        if (st.stalled) rec.stalled = st.stalled;
        if (st.status === 'ready' && !submitted) {
          submitted = true;
          rec.tReady = t;
          apiRetrying('/aap/changeStatus', 'POST', { paymentSid: rec.pk, status: 'complete' },
            { 'X-Session-Token': s.json.sessionToken }).then((r) => {
            if (r.status !== 202) { submitted = false; rec.submitErrors = (rec.submitErrors || 0) + 1; }
          }, () => { submitted = false; });
          return;
        }
        if (st.status === 'capturing' && st.partial && f && !started.has(`${f}/${st.attempt}`) &&
            !(st.fields[f] && st.fields[f].state === 'keying')) {
          started.add(`${f}/${st.attempt}`);
          key(f, st.attempt).catch((e) => finish('failed', `keying: ${e.message}`));
        }
      };
      sse = subscribe(new URL(tk.json.eventsUrl, base), onState, (why) => finish('failed', why), () => {
        apiRetrying(`/aap/session?paymentSid=${rec.pk}`, 'GET', undefined, { 'X-Session-Token': s.json.sessionToken })
          .then((r) => {
            const st = r.json && (r.json.state || r.json);
            if (r.status === 200 && st && typeof st.seq === 'number') onState(st, now(), true);
            else finish('failed', `session: HTTP ${r.status}`);
          }, (e) => finish('failed', `session: ${e.message}`));
      });
    });
  } catch (e) {
    rec.outcome = 'failed';
    rec.reason = e.message;
    rec.tDone = now();
  } finally {
    active--;
    if (sse) sse.destroy();
    if (rec.call) ctl(`/sim/calls/${rec.call}/hangup`, 'POST').catch(() => {});
  }
}

// ---------------------------------------------------------------- the emulator's records
const out = []; // compact outbound records
let since = 0, truncated = false;
async function pollRecords() {
  const r = await request(new URL(`/sim/requests?dir=out&since=${since}`, sim), 'GET', { agent: simAgent });
  if (r.status !== 200 || !r.json) return;
  if (r.json.truncated) truncated = true;
  since = r.json.next - 1;
  for (const e of r.json.requests) {
    since = Math.max(since, e.seq);
    const q = e.request || {};
    const field = q.Capture;
    const valueParam = { 'payment-card-number': 'PaymentCardNumber', 'security-code': 'SecurityCode',
      'expiration-date': 'ExpirationDate', 'postal-code': 'PaymentCardPostalCode' }[field];
    out.push({ call: e.call_sid, kind: e.kind, sent: Date.parse(e.sent_at), ms: e.ms, wait: e.wait_ms,
      outcome: e.outcome, capture: field, partial: q.PartialResult === 'true',
      value: valueParam ? q[valueParam] ?? null : null, result: q.Result });
  }
}

// ---------------------------------------------------------------- /proc sampling
const clk = (() => { try { return Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100; } catch { return 100; } })();
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch { return null; } };
function descendants(pid, acc = new Set()) {
  if (acc.has(pid)) return acc;
  acc.add(pid);
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return acc; }
  for (const t of tasks) {
    const kids = read(`/proc/${pid}/task/${t}/children`);
    if (kids) for (const k of kids.trim().split(/\s+/).filter(Boolean)) descendants(Number(k), acc);
  }
  return acc;
}
function procInfo(pid) {
  const st = read(`/proc/${pid}/status`);
  const stat = read(`/proc/${pid}/stat`);
  if (!st || !stat) return null;
  const rss = Number((/VmRSS:\s+(\d+)/.exec(st) || [])[1] || 0);
  const threads = Number((/Threads:\s+(\d+)/.exec(st) || [])[1] || 1);
  const pss = Number((/Pss:\s+(\d+)/.exec(read(`/proc/${pid}/smaps_rollup`) || '') || [])[1] || 0);
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / clk; // utime + stime, s
  let exe = '';
  try { exe = fs.readlinkSync(`/proc/${pid}/exe`); } catch { /* gone */ }
  return { pid, rss, pss, threads, cpu, exe, ppid: Number(f[1]) };
}
// Tasks of a handler process that are serving a request: not blocked
// waiting for a FastCGI connection, i.e. not in accept/accept4 (x86-64:
// 43, 288) nor on the futex of a shared accept lock (202, libfcgi's
// threaded accept).  A process with children is a supervisor and serves
// nothing itself.  (Under an event loop an idle worker and a busy one both
// wait in epoll: the handlers' own in-flight gauge, read from /metrics
// when there is one, is then the figure.)
function busyTasks(pid) {
  let n = 0;
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  if (tasks.some((t) => (read(`/proc/${pid}/task/${t}/children`) || '').trim())) return 0;
  for (const t of tasks) {
    const s = read(`/proc/${pid}/task/${t}/syscall`);
    if (s === null) continue;
    const nr = s.split(' ')[0];
    if (nr !== '43' && nr !== '288' && nr !== '202') n++;
  }
  return n;
}
function machineCpu() {
  const f = (read('/proc/stat') || '').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] || 0);
  return { total: f.reduce((a, b) => a + b, 0), idle };
}

// The handlers' own count of requests in flight, when the stack serves
// Prometheus text at /metrics: every sample whose name says in_flight,
// summed (null when there is no such endpoint).
let metricsSeen = true;
async function inFlight() {
  if (!metricsSeen) return null;
  try {
    const r = await request(new URL('/metrics', base), 'GET', { agent: nginxAgent });
    if (r.status !== 200 || !/in_flight/.test(r.text)) { metricsSeen = false; return null; }
    let sum = 0;
    for (const line of r.text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*in_flight\w*)(\{[^}]*\})?\s+([0-9.eE+-]+)/.exec(line);
      if (m && !/_(max|limit|bound)\b/.test(m[1])) sum += Number(m[3]);
    }
    return sum;
  } catch { metricsSeen = false; return null; }
}

const samples = [];
let sampleCpuMs = 0; // the driver's own time reading /proc
const cpuFirst = new Map(), cpuLast = new Map();
function sample() {
  const c0 = process.cpuUsage();
  const s = { t: now(), active, handlers: { procs: 0, threads: 0, busy: 0, rss: 0, pss: 0 },
    nginx: { procs: 0, threads: 0, rss: 0, pss: 0 }, sim: null };
  for (const root of stackPids) {
    for (const pid of descendants(root)) {
      const p = procInfo(pid);
      if (!p) continue;
      const group = p.exe.includes('/cgi-bin/') ? 'handlers' : 'nginx';
      const g = s[group];
      g.procs++;
      g.threads += p.threads;
      g.rss += p.rss;
      g.pss += p.pss;
      if (group === 'handlers') g.busy += busyTasks(pid);
      const key = `${group}:${pid}`;
      if (!cpuFirst.has(key)) cpuFirst.set(key, p.cpu);
      cpuLast.set(key, p.cpu);
    }
  }
  if (simPid) {
    const p = procInfo(simPid);
    if (p) {
      s.sim = { rss: p.rss, pss: p.pss, threads: p.threads };
      if (!cpuFirst.has('sim')) cpuFirst.set('sim', p.cpu);
      cpuLast.set('sim', p.cpu);
    }
  }
  samples.push(s);
  const c = process.cpuUsage(c0);
  sampleCpuMs += (c.user + c.system) / 1000;
  return s;
}
const cpuOf = (prefix) => {
  let sum = 0;
  for (const [k, v] of cpuLast) if (k === prefix || k.startsWith(prefix + ':')) sum += v - cpuFirst.get(k);
  return sum;
};

// ---------------------------------------------------------------- statistics
const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 10) / 10;
};
const stats = (xs) => ({ n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99),
  max: xs.length ? Math.round(Math.max(...xs) * 10) / 10 : null });

// key -> agent: each key's callback (partial, with a value) matched, in
// order, with the first later EventSource message of the same call showing
// that field with that masked value.
function keyToAgent() {
  const byCall = new Map();
  for (const o of out) {
    if (o.kind !== 'payment-status' || !o.partial || !o.value) continue;
    if (!byCall.has(o.call)) byCall.set(o.call, []);
    byCall.get(o.call).push(o);
  }
  const fromSend = [], fromKey = [];
  let unmatched = 0;
  for (const r of results) {
    const cbs = byCall.get(r.call) || [];
    const msgs = [...r.msgs].sort((a, b) => a.seq - b.seq);
    let m = 0;
    cbs.forEach((cb, k) => {
      let j = m;
      while (j < msgs.length && !(msgs[j].capture === cb.capture && msgs[j].value === cb.value)) j++;
      if (j === msgs.length) { unmatched++; return; }
      m = j + 1;
      fromSend.push(msgs[j].t - cb.sent);
      if (r.keys[k] && r.keys[k].field === cb.capture) fromKey.push(msgs[j].t - r.keys[k].t);
    });
  }
  return { fromSend: stats(fromSend), fromKey: stats(fromKey), unmatched };
}

// ---------------------------------------------------------------- run
const login = await request(new URL('/aap/login', base), 'POST', { agent: nginxAgent, body: { username: user, password } });
if (login.status !== 200 || !login.json?.token) {
  console.log(JSON.stringify({ error: `login: HTTP ${login.status} ${login.text.slice(0, 120)}` }));
  process.exit(1);
}
token = login.json.token;
await pollRecords(); // skip what came before
out.length = 0;
truncated = false;

const idle = sample();
const m0 = machineCpu();
const cpu0 = process.cpuUsage();
const t0 = now();
let stopSampling = false;
(async () => {
  while (!stopSampling) {
    await sleep(sampleMs);
    const s = sample();
    s.inFlight = await inFlight();
    await pollRecords().catch(() => {});
    const done = results.filter((r) => r.outcome).length;
    if (!quiet && samples.length % 10 === 0) {
      log(`peak: ${Math.round((now() - t0) / 1000)} s, ${active} active, ${done}/${customers} done, ` +
        `${results.filter((r) => r.outcome && r.outcome !== 'completed').length} failed, ${out.length} webhooks`);
    }
  }
})();

const runs = [];
for (let i = 0; i < customers; i++) {
  runs.push(sleep(customers > 1 ? (rampMs * i) / (customers - 1) : 0).then(() => customer(i)));
}
// The only give-up: nothing at all happened for --stall-s while payments
// were still open (a wedged stack), not a duration.
let stalled = false;
const allDone = Promise.all(runs);
await Promise.race([allDone, new Promise((resolve) => {
  const iv = setInterval(() => {
    if (now() - lastProgress > stallMs && results.some((r) => !r.outcome)) {
      stalled = true;
      for (const r of results) if (!r.outcome) { r.outcome = 'failed'; r.reason = `nothing happened for ${stallMs / 1000} s`; }
      clearInterval(iv);
      resolve();
    }
  }, 1000);
  allDone.then(() => { clearInterval(iv); resolve(); });
})]);
const wall = (now() - t0) / 1000;
const cpuDriver = process.cpuUsage(cpu0);
const m1 = machineCpu();
stopSampling = true;
sample();
// The last callbacks (hang-ups) reach the record after the outcome.
await pollRecords().catch(() => {});

const completed = results.filter((r) => r.outcome === 'completed');
const failedReasons = {};
for (const r of results) if (r.outcome !== 'completed') failedReasons[r.reason || 'unknown'] = (failedReasons[r.reason || 'unknown'] || 0) + 1;
const webhooks = out.filter((o) => o.kind !== 'connector');
const outcomes = {};
for (const o of webhooks) outcomes[o.outcome] = (outcomes[o.outcome] || 0) + 1;
const peakBy = (f) => samples.reduce((a, s) => Math.max(a, f(s)), 0);
const k2a = keyToAgent();
const summary = {
  customers, completed: completed.length, failed: customers - completed.length, failedReasons,
  retries503, wallSeconds: Math.round(wall * 10) / 10, maxActive, stalled,
  payment: stats(completed.map((r) => (r.tDone - r.t0) / 1000)),
  startCapture: stats(results.filter((r) => r.tStarted).map((r) => r.tStarted - r.tCall)),
  webhooks: { ...stats(webhooks.map((o) => o.ms)), over15s: webhooks.filter((o) => o.outcome === 'timeout' || o.ms >= 15000).length,
    outcomes, recordsTruncated: truncated, emulatorWait: stats(webhooks.map((o) => o.wait)) },
  keyToAgent: k2a.fromSend, keyPressToAgent: k2a.fromKey, keyUnmatched: k2a.unmatched,
  peak: {
    handlerProcs: peakBy((s) => s.handlers.procs), handlerThreads: peakBy((s) => s.handlers.threads),
    handlerBusy: peakBy((s) => s.handlers.busy), nginxProcs: peakBy((s) => s.nginx.procs),
    inFlight: samples.some((s) => typeof s.inFlight === 'number') ? peakBy((s) => s.inFlight || 0) : null,
    stackRssKiB: peakBy((s) => s.handlers.rss + s.nginx.rss), stackPssKiB: peakBy((s) => s.handlers.pss + s.nginx.pss),
    handlersPssKiB: peakBy((s) => s.handlers.pss), nginxPssKiB: peakBy((s) => s.nginx.pss),
    simRssKiB: peakBy((s) => (s.sim ? s.sim.rss : 0)), simThreads: peakBy((s) => (s.sim ? s.sim.threads : 0)),
  },
  idle: { stackRssKiB: idle.handlers.rss + idle.nginx.rss, stackPssKiB: idle.handlers.pss + idle.nginx.pss,
    handlerProcs: idle.handlers.procs, handlerThreads: idle.handlers.threads },
  cpu: {
    driverPct: Math.round(((cpuDriver.user + cpuDriver.system) / 1e6 / wall) * 1000) / 10,
    driverSamplingPct: Math.round((sampleCpuMs / 1000 / wall) * 1000) / 10,
    handlersPct: Math.round((cpuOf('handlers') / wall) * 1000) / 10,
    nginxPct: Math.round((cpuOf('nginx') / wall) * 1000) / 10,
    simPct: Math.round((cpuOf('sim') / wall) * 1000) / 10,
    machineBusyPct: Math.round((1 - (m1.idle - m0.idle) / (m1.total - m0.total)) * 1000) / 10,
    // CPU ms per webhook delivered: what one key costs each part, to
    // size a machine (the whole peak is roughly keys/s times this).
    perWebhookMs: webhooks.length ? {
      stack: Math.round(((cpuOf('handlers') + cpuOf('nginx')) / webhooks.length) * 1e4) / 10,
      sim: Math.round((cpuOf('sim') / webhooks.length) * 1e4) / 10,
      // the load itself, without the /proc sampling
      driver: Math.round((((cpuDriver.user + cpuDriver.system) / 1e3 - sampleCpuMs) / webhooks.length) * 10) / 10,
    } : null,
  },
};
console.log(JSON.stringify(summary));
nginxAgent.destroy();
simAgent.destroy();
process.exit(summary.failed === 0 && !stalled ? 0 : 1);
