// The emulator under load, as Twilio behaves (DESIGN.md "Under real
// load"): the callbacks of one call leave one at a time, in order; other
// calls are not held up by a slow one; the latency model (--latency-ms,
// /sim/latency) delays every request without a count and delays nobody
// else; a webhook not answered in time is a failed delivery in
// /sim/requests.  No timing is asserted: every check is an order of
// events, a record, or a state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startReceiver, startSim, ctl, rest, placeCall, paymentsPath, top } from './helpers.mjs';

let recv, sim;

before(async () => {
  recv = await startReceiver();
  sim = await startSim(recv, ['--latency-ms', '150,50']);
  await ctl(sim, 'DELETE', '/sim/latency');
});

after(async () => {
  await sim.stop();
  sim.cleanup();
  await recv.close();
});

const zero = { mean_ms: 0, jitter_ms: 0 };
const requests = async (q = '') => (await ctl(sim, 'GET', `/sim/requests${q}`)).body;

// A payment on a new call whose callbacks go to recv's `cbPath`.
async function payment(cbPath) {
  const c = await placeCall(sim, recv);
  const p = await rest(sim, 'POST', paymentsPath(sim, c.call_sid), {
    IdempotencyKey: `${c.call_sid}-create`, StatusCallback: recv.base + cbPath, ChargeAmount: '9.99',
    Currency: 'USD', PaymentConnector: sim.env.PAYMENT_CONNECTOR,
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const capture = await rest(sim, 'POST', paymentsPath(sim, c.call_sid, p.body.sid), {
    IdempotencyKey: 'k1', StatusCallback: recv.base + cbPath, Capture: 'payment-card-number',
  });
  assert.equal(capture.status, 202);
  return { call: c.call_sid, pk: p.body.sid };
}

test('latency: --latency-ms at start, GET / POST / DELETE /sim/latency, bad input refused', async () => {
  const other = await startSim(recv, ['--latency-ms', '150,50']);
  try {
    const got = await ctl(other, 'GET', '/sim/latency');
    const l = { mean_ms: 150, jitter_ms: 50 };
    assert.deepEqual(got, { status: 200, body: { api: l, sync: l, connector: l, webhooks: l } });
  } finally {
    await other.stop();
    other.cleanup();
  }
  let r = await ctl(sim, 'POST', '/sim/latency', { api: 10, sync: [20, 5], webhooks: { mean_ms: 30, jitter_ms: 0 } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { api: { mean_ms: 10, jitter_ms: 0 }, sync: { mean_ms: 20, jitter_ms: 5 },
    connector: zero, webhooks: { mean_ms: 30, jitter_ms: 0 } });
  assert.deepEqual((await ctl(sim, 'GET', '/sim/latency')).body, r.body);
  r = await ctl(sim, 'POST', '/sim/latency', { all: [7, 3] });
  const seven = { mean_ms: 7, jitter_ms: 3 };
  assert.deepEqual(r.body, { api: seven, sync: seven, connector: seven, webhooks: seven });
  for (const bad of [{ bogus: 1 }, { api: -1 }, { api: 60001 }, { api: 1.5 }, { api: [1, 2, 3] },
    { api: { mean_ms: 1, extra: 2 } }, { api: 'slow' }, {}, [150]]) {
    r = await ctl(sim, 'POST', '/sim/latency', bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(typeof r.body.error, 'string');
  }
  assert.deepEqual((await ctl(sim, 'GET', '/sim/latency')).body.api, seven, 'a refused change changes nothing');
  assert.equal((await ctl(sim, 'PUT', '/sim/latency', { all: 1 })).status, 405);
  r = await ctl(sim, 'DELETE', '/sim/latency');
  assert.deepEqual(r.body, { api: zero, sync: zero, connector: zero, webhooks: zero });

  // A bad --latency-ms is a configuration error (EX_CONFIG, naming it).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-sim-'));
  try {
    fs.writeFileSync(path.join(dir, 'env'), fs.readFileSync(path.join(sim.dir, 'env')));
    const p = spawnSync(path.join(top, process.env.B || 'build', 'sim', 'twilio-sim'),
      ['--listen', '127.0.0.1:1', '--env', path.join(dir, 'env'), '--latency-ms', '150,x'], { encoding: 'utf8' });
    assert.equal(p.status, 78);
    assert.match(p.stderr, /--latency-ms must be MEAN\[,JITTER\]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('latency: every request, no count; a delayed request holds up nobody else', async () => {
  const since = (await requests()).next;
  await ctl(sim, 'POST', '/sim/latency', { sync: 40 });
  const svc = `/v1/Services`;
  for (let i = 0; i < 3; i++) assert.equal((await rest(sim, 'GET', svc)).status, 200);
  let rec = (await requests(`?since=${since}&dir=in`)).requests.filter((r) => r.kind === 'sync');
  assert.deepEqual(rec.map((r) => r.latency_ms), [40, 40, 40], 'every Sync request, no count');

  // An API request held back 5 s; once it has reached the emulator, Sync
  // requests and control calls are answered: nothing waits behind it.
  await ctl(sim, 'POST', '/sim/latency', { api: 5000, sync: 0 });
  let slowDone = false;
  let sentCb;
  const sent = new Promise((r) => { sentCb = r; });
  const slow = new Promise((resolve, reject) => {
    const auth = Buffer.from(`${sim.env.ACCOUNT_SID}:${sim.env.AUTH_TOKEN}`).toString('base64');
    const q = http.request(`${sim.base}/2010-04-01/Accounts/${sim.env.ACCOUNT_SID}/Calls.json`,
      { headers: { Authorization: `Basic ${auth}` }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => { slowDone = true; resolve(res.statusCode); });
      });
    q.on('error', reject);
    q.on('finish', sentCb); // the whole request is on the wire
    q.end();
  });
  await sent;
  for (let i = 0; i < 5; i++) {
    assert.equal((await rest(sim, 'GET', svc)).status, 200);
    assert.equal((await ctl(sim, 'GET', '/sim/latency')).status, 200);
  }
  assert.equal(slowDone, false, 'the held request is still held while the others were answered');
  assert.equal(await slow, 200);
  rec = (await requests(`?since=${since}&dir=in`)).requests;
  assert.ok(rec.some((r) => r.latency_ms === 5000 && /Calls\.json$/.test(r.url)), 'the held request is recorded with its latency');
  await ctl(sim, 'DELETE', '/sim/latency');
});

test('webhooks: one call in order, one at a time; other calls are not held up', async () => {
  // Call A's first payment callback is held until released.
  let release;
  const held = new Promise((r) => { release = r; });
  let heldCall = null;
  recv.routes.set('/payA', (r) => {
    if (heldCall === null) {
      heldCall = r.form.CallSid;
      return held.then(() => ({ status: 200 }));
    }
    return { status: 200 };
  });
  const a = await payment('/payA');
  await recv.until(() => heldCall !== null, 'the held callback');
  // More keys on A queue behind the held callback.
  assert.equal((await ctl(sim, 'POST', `/sim/calls/${a.call}/digits`, { digits: '4111', wait: false })).status, 200);

  // Call B, meanwhile, runs its voice webhook, its <Dial> callbacks, a
  // payment and keys, and each control call returns once B's own
  // webhooks were delivered (A's held one is not waited for).
  const b = await payment('/payB');
  const keyed = await ctl(sim, 'POST', `/sim/calls/${b.call}/digits`, { digits: '41' });
  assert.equal(keyed.status, 200);
  const bCbs = recv.at('/payB').map((r) => r.form.PaymentCardNumber ?? '-');
  assert.deepEqual(bCbs, ['-', '-', 'x', 'xx'], 'B: create, capture, two keys, all delivered when /digits answered');
  assert.equal(recv.at('/payA').length, 1, 'A: nothing sent after the held callback while it is out');

  release();
  await recv.until(() => recv.at('/payA').length === 6, "A's callbacks after the release");
  assert.deepEqual(recv.at('/payA').map((r) => r.form.PaymentCardNumber ?? '-'),
    ['-', '-', 'x', 'xx', 'xxx', 'xxxx'], 'A: in the order Twilio generated them');
  // The emulator records a delivery once the answer is back, a moment
  // after the receiver counted the request: wait for the records.
  let out = [];
  for (const deadline = Date.now() + 20000; ; await new Promise((r) => setTimeout(r, 50))) {
    out = (await requests('?dir=out')).requests.filter((r) => r.kind === 'payment-status');
    if (out.length >= 10 || Date.now() > deadline) break;
  }
  assert.ok(out.length >= 10, `${out.length} payment-status deliveries recorded, 10 expected`);
  for (const r of out) {
    assert.equal(r.dir, 'out');
    assert.equal(r.outcome, 'delivered');
    assert.match(r.sent_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof r.wait_ms, 'number');
    assert.equal(typeof r.ms, 'number');
  }
});

test('webhooks: latency with jitter delays callbacks but never reorders a call', async () => {
  await ctl(sim, 'POST', '/sim/latency', { webhooks: [30, 30] });
  const c = await payment('/payJ');
  const keyed = await ctl(sim, 'POST', `/sim/calls/${c.call}/digits`, { digits: '4111111111' });
  assert.equal(keyed.status, 200);
  assert.deepEqual(recv.at('/payJ').map((r) => (r.form.PaymentCardNumber ?? '').length),
    [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await ctl(sim, 'DELETE', '/sim/latency');
});

test('webhook timeout: no answer in time is a failed delivery (11205), recorded with its outcome', async () => {
  const r2 = await startReceiver();
  const s2 = await startSim(r2, [], { SIM_WEBHOOK_TIMEOUT_MS: '1000' });
  try {
    r2.routes.set('/pv/callToSIP', () => new Promise(() => {})); // never answers
    const c = await ctl(s2, 'POST', '/sim/calls', { from: '+14155550100' });
    assert.equal(c.status, 201);
    assert.equal(c.body.status, 'failed');
    assert.match(c.body.error, /^11205 HTTP connection failure: no answer within 1000 ms/);
    const rec = (await ctl(s2, 'GET', '/sim/requests?dir=out')).body.requests;
    assert.equal(rec.length, 1);
    assert.equal(rec[0].kind, 'voice');
    assert.equal(rec[0].outcome, 'timeout');
    assert.equal(rec[0].status, null);
    assert.ok(rec[0].ms >= 900, `gave up after the timeout (${rec[0].ms} ms)`);
  } finally {
    await s2.stop();
    s2.cleanup();
    await r2.close();
  }
});

test('/sim/requests: one ring per direction (--requests-kept N or IN,OUT), dir filter, truncated', async () => {
  const r3 = await startReceiver();
  const s3 = await startSim(r3, ['--requests-kept', '5']);
  try {
    await placeCall(s3, r3); // 1 voice webhook + <Dial> callbacks out
    for (let i = 0; i < 8; i++) await rest(s3, 'GET', '/v1/Services');
    const inb = (await ctl(s3, 'GET', '/sim/requests?dir=in')).body;
    assert.equal(inb.requests.length, 5, 'the newest 5 inbound');
    assert.ok(inb.requests.every((r) => r.dir === 'in'));
    assert.equal(inb.truncated, true, 'older inbound entries were dropped');
    const outb = (await ctl(s3, 'GET', '/sim/requests?dir=out')).body;
    assert.ok(outb.requests.length >= 2 && outb.requests.every((r) => r.dir === 'out'),
      'the webhooks survive the inbound traffic');
    assert.equal(outb.truncated, false);
    const both = (await ctl(s3, 'GET', '/sim/requests')).body;
    const seqs = both.requests.map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'both directions, oldest first');
    assert.equal(both.requests.length, 5 + outb.requests.length);
    const none = (await ctl(s3, 'GET', `/sim/requests?since=${both.next}`)).body;
    assert.deepEqual([none.requests, none.truncated], [[], false]);
    assert.equal((await ctl(s3, 'GET', '/sim/requests?limit=2')).body.requests.length, 2);
    assert.equal((await ctl(s3, 'GET', '/sim/requests?dir=sideways')).status, 400);
  } finally {
    await s3.stop();
    s3.cleanup();
  }
  // IN,OUT: a benchmark keeps the webhooks only.
  const s4 = await startSim(r3, ['--requests-kept', '0,3']);
  try {
    await placeCall(s4, r3);
    await rest(s4, 'GET', '/v1/Services');
    const all = (await ctl(s4, 'GET', '/sim/requests')).body.requests;
    assert.ok(all.length > 0 && all.length <= 3 && all.every((r) => r.dir === 'out'), JSON.stringify(all.map((r) => r.dir)));
  } finally {
    await s4.stop();
    s4.cleanup();
    await r3.close();
  }
});
