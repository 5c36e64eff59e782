// The official twilio client against the emulator: every answer and every
// error must parse exactly as the client parses Twilio's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { startReceiver, startSim, client, placeCall, ctl } from './helpers.mjs';

let recv, sim, tw;

before(async () => {
  recv = await startReceiver();
  sim = await startSim(recv);
  tw = client(sim);
});

after(async () => {
  await sim.stop();
  sim.cleanup();
  await recv.close();
});

async function rejects(promise, status, code) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof twilio.RestException, `RestException, got ${e}`);
    assert.equal(e.status, status);
    assert.equal(e.code, code);
    assert.equal(e.moreInfo, `https://www.twilio.com/docs/errors/${code}`);
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    return e;
  }
  assert.fail(`expected HTTP ${status} / ${code}`);
}

test('calls: fetch parses; unknown call is 20404', async () => {
  const c = await placeCall(sim, recv);
  const call = await tw.calls(c.call_sid).fetch();
  assert.equal(call.sid, c.call_sid);
  assert.equal(call.accountSid, sim.env.ACCOUNT_SID);
  assert.equal(call.status, 'in-progress');
  assert.equal(call.direction, 'inbound');
  assert.equal(call.parentCallSid, null);
  assert.equal(call.to, '+15005550006');
  assert.equal(call.apiVersion, '2010-04-01');
  assert.ok(call.dateCreated instanceof Date && !isNaN(call.dateCreated));
  assert.ok(call.startTime instanceof Date && !isNaN(call.startTime));
  assert.equal(call.endTime, null);
  assert.match(call.subresourceUris.payments, /\/Calls\/CA[0-9a-f]{32}\/Payments\.json$/);
  const child = await tw.calls(c.sip_call_sid).fetch();
  assert.equal(child.direction, 'outbound-dial');
  assert.equal(child.parentCallSid, c.call_sid);
  assert.equal(child.to, 'sip:+61290001234@cc.example.com');
  await rejects(tw.calls('CA00000000000000000000000000000000').fetch(), 404, 20404);
  await ctl(sim, 'POST', `/sim/calls/${c.call_sid}/hangup`);
  const ended = await tw.calls(c.call_sid).fetch();
  assert.equal(ended.status, 'completed');
  assert.ok(ended.endTime instanceof Date);
  assert.match(ended.duration, /^\d+$/);
});

test('wrong credentials: 401 / 20003 Authenticate', async () => {
  const bad = client(sim, sim.env.ACCOUNT_SID, 'not-the-token');
  const e = await rejects(bad.sync.v1.services.list(), 401, 20003);
  assert.equal(e.message, 'Authenticate');
  // The API key pair is accepted too (contract 1.1).
  const keyed = client(sim, sim.env.API_KEY, sim.env.API_SECRET);
  assert.ok(Array.isArray(await keyed.sync.v1.services.list()));
});

test('payments: create 201 and update 202 parse; errors are RestExceptions', async () => {
  const c = await placeCall(sim, recv);
  const statusCallback = `${recv.base}/sync/paySyncUpdate`;
  const p = await tw.calls(c.call_sid).payments.create({
    idempotencyKey: `${c.call_sid}-create`,
    statusCallback,
    chargeAmount: 9.99,
    currency: 'usd',
    paymentConnector: sim.env.PAYMENT_CONNECTOR,
    securityCode: true,
    postalCode: false,
  });
  assert.match(p.sid, /^PK[0-9a-f]{32}$/);
  assert.equal(p.callSid, c.call_sid);
  assert.equal(p.accountSid, sim.env.ACCOUNT_SID);
  assert.ok(p.dateCreated instanceof Date && !isNaN(p.dateCreated));
  assert.equal(p.uri, `/2010-04-01/Accounts/${sim.env.ACCOUNT_SID}/Calls/${c.call_sid}/Payments/${p.sid}.json`);
  // Exactly the six documented fields (contract 3.1).
  assert.deepEqual(Object.keys(p.toJSON()).filter((k) => p[k] !== undefined && typeof p[k] !== 'function').sort(),
    ['accountSid', 'callSid', 'dateCreated', 'dateUpdated', 'sid', 'uri']);

  const u = await tw.calls(c.call_sid).payments(p.sid).update({
    idempotencyKey: `${p.sid}-capture-1`, statusCallback, capture: 'payment-card-number',
  });
  assert.equal(u.sid, p.sid);
  assert.ok(u.dateUpdated instanceof Date);

  // A repeated IdempotencyKey returns the first answer.
  const again = await tw.calls(c.call_sid).payments(p.sid).update({
    idempotencyKey: `${p.sid}-capture-1`, statusCallback, capture: 'payment-card-number',
  });
  assert.deepEqual(again.toJSON(), u.toJSON());

  await rejects(tw.calls(c.call_sid).payments(p.sid).update({
    idempotencyKey: 'both', statusCallback, capture: 'security-code', status: 'complete',
  }), 400, 64018);
  await rejects(tw.calls(c.call_sid).payments(p.sid).update({
    idempotencyKey: 'early', statusCallback, status: 'complete',
  }), 400, 64019);
  await rejects(tw.calls(c.call_sid).payments(p.sid).update({
    idempotencyKey: 'bogus', statusCallback, capture: 'favourite-colour',
  }), 400, 64020);
  await rejects(tw.calls(c.call_sid).payments.create({
    idempotencyKey: 'second', statusCallback, paymentConnector: sim.env.PAYMENT_CONNECTOR,
  }), 400, 64021);
  await rejects(tw.calls(c.call_sid).payments('PK00000000000000000000000000000000').update({
    idempotencyKey: 'x', statusCallback, status: 'cancel',
  }), 404, 20404);

  const c2 = await placeCall(sim, recv);
  await rejects(tw.calls(c2.call_sid).payments.create({
    idempotencyKey: 'conn', statusCallback, paymentConnector: 'nobody',
  }), 400, 64004);
  await rejects(tw.calls(c2.call_sid).payments.create({
    idempotencyKey: 'amount', statusCallback, paymentConnector: sim.env.PAYMENT_CONNECTOR, chargeAmount: 1000000,
  }), 400, 64003);
  await rejects(tw.calls(c2.call_sid).payments.create({
    idempotencyKey: 'bat', statusCallback, paymentConnector: sim.env.PAYMENT_CONNECTOR, bankAccountType: 'consumer-savings',
  }), 400, 64017);
  await ctl(sim, 'POST', `/sim/calls/${c2.call_sid}/hangup`);
  await rejects(tw.calls(c2.call_sid).payments.create({
    idempotencyKey: 'ended', statusCallback, paymentConnector: sim.env.PAYMENT_CONNECTOR,
  }), 400, 21220);

  const cancelled = await tw.calls(c.call_sid).payments(p.sid).update({
    idempotencyKey: `${p.sid}-cancel`, statusCallback, status: 'cancel',
  });
  assert.equal(cancelled.sid, p.sid);
  await rejects(tw.calls(c.call_sid).payments(p.sid).update({
    idempotencyKey: 'after', statusCallback, capture: 'payment-card-number',
  }), 400, 64021);
});

test('sync: services, maps, items round trip; 54208, 20404, 54205', async () => {
  const svc = await tw.sync.v1.services.create({ friendlyName: 'Conformance' });
  assert.match(svc.sid, /^IS[0-9a-f]{32}$/);
  assert.equal(svc.friendlyName, 'Conformance');
  assert.equal((await tw.sync.v1.services(svc.sid).fetch()).sid, svc.sid);
  const listed = await tw.sync.v1.services.list();
  assert.ok(listed.some((s) => s.sid === svc.sid));

  const map = await tw.sync.v1.services(svc.sid).syncMaps.create({ uniqueName: 'payMap' });
  assert.match(map.sid, /^MP[0-9a-f]{32}$/);
  assert.equal(map.uniqueName, 'payMap');
  assert.equal(map.revision, '0');
  assert.equal((await tw.sync.v1.services(svc.sid).syncMaps('payMap').fetch()).sid, map.sid);
  await rejects(tw.sync.v1.services(svc.sid).syncMaps.create({ uniqueName: 'payMap' }), 409, 54301);

  const items = tw.sync.v1.services(svc.sid).syncMaps('payMap').syncMapItems;
  const it = await items.create({ key: 'PK with space', data: { Sid: 'PK1', Capture: 'security-code' }, ttl: 43200 });
  assert.equal(it.key, 'PK with space');
  assert.deepEqual(it.data, { Sid: 'PK1', Capture: 'security-code' });
  assert.equal(it.revision, '0');
  assert.equal(it.mapSid, map.sid);
  assert.equal(it.serviceSid, svc.sid);
  assert.ok(it.dateExpires instanceof Date && it.dateExpires > it.dateCreated);
  assert.equal(it.createdBy, 'system');

  const got = await tw.sync.v1.services(svc.sid).syncMaps(map.sid).syncMapItems('PK with space').fetch();
  assert.deepEqual(got.data, it.data);

  const up = await items('PK with space').update({ data: { Sid: 'PK1', Capture: 'expiration-date' }, ifMatch: '0' });
  assert.equal(up.revision, '1');
  assert.equal(up.data.Capture, 'expiration-date');
  assert.equal(up.dateExpires.getTime(), it.dateExpires.getTime(), 'an update without TTL keeps the expiry');
  await rejects(items('PK with space').update({ data: { x: 1 }, ifMatch: '0' }), 412, 54205);

  await rejects(items.create({ key: 'PK with space', data: {} }), 409, 54208);
  await rejects(items('missing').fetch(), 404, 20404);
  await rejects(tw.sync.v1.services(svc.sid).syncMaps('nomap').fetch(), 404, 20404);

  // Data is at most 16 KiB serialised (Sync limits).
  await rejects(items.create({ key: 'big', data: { x: 'y'.repeat(17000) } }), 413, 54006);
  await rejects(items.create({ key: 'arr', data: [1, 2] }), 400, 54206);

  // Paging: the client follows next_page_url.
  for (const k of ['a', 'b', 'c', 'd', 'e']) await items.create({ key: k, data: { k } });
  const all = await items.list({ pageSize: 2 });
  assert.deepEqual(all.map((i) => i.key), ['PK with space', 'a', 'b', 'c', 'd', 'e']);
  const desc = await items.list({ order: 'desc', from: 'c', bounds: 'exclusive' });
  assert.deepEqual(desc.map((i) => i.key), ['b', 'a', 'PK with space']);

  assert.equal(await items('PK with space').remove(), true);
  await rejects(items('PK with space').fetch(), 404, 20404);
  assert.equal(await tw.sync.v1.services(svc.sid).syncMaps(map.sid).remove(), true);
  await rejects(tw.sync.v1.services(svc.sid).syncMaps(map.sid).fetch(), 404, 20404);
});

test('sync: an item with a TTL vanishes when it expires', async () => {
  const svc = await tw.sync.v1.services.create({ friendlyName: 'ttl' });
  const map = await tw.sync.v1.services(svc.sid).syncMaps.create({ uniqueName: 'uuiMap' });
  const items = tw.sync.v1.services(svc.sid).syncMaps(map.sid).syncMapItems;
  await items.create({ key: 'short', data: { a: 1 }, ttl: 1 });
  await items.create({ key: 'long', data: { a: 2 } });
  // Poll until the expiry passes (bounded by the test timeout).
  for (;;) {
    try {
      await items('short').fetch();
    } catch (e) {
      assert.equal(e.status, 404);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal((await items('long').fetch()).dateExpires, null);
});

test('calls: update with Twiml, Url and Status as Twilio does', async () => {
  const c = await placeCall(sim, recv);
  // Inline TwiML replaces the bridge: the dialled leg ends.
  let call = await tw.calls(c.call_sid).update({ twiml: '<Response><Say>bye</Say><Hangup/></Response>' });
  assert.equal(call.status, 'completed');
  assert.equal((await tw.calls(c.sip_call_sid).fetch()).status, 'completed');
  await rejects(tw.calls(c.call_sid).update({ url: `${recv.base}/next` }), 400, 21220);

  const d = await placeCall(sim, recv);
  recv.routes.set('/next', () => ({ status: 200, type: 'text/xml', body: '<Response><Hangup/></Response>' }));
  call = await tw.calls(d.call_sid).update({ url: `${recv.base}/next`, method: 'POST' });
  assert.equal(call.sid, d.call_sid);
  // The new TwiML is fetched asynchronously, as at Twilio.
  await recv.until(() => recv.at('/next').length === 1);
  assert.equal(recv.at('/next')[0].form.CallSid, d.call_sid);
  for (;;) {
    const s = (await tw.calls(d.call_sid).fetch()).status;
    if (s === 'completed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const e = await placeCall(sim, recv);
  call = await tw.calls(e.call_sid).update({ status: 'completed' });
  assert.equal(call.status, 'completed');
  await rejects(tw.calls(e.call_sid).update({ status: 'busy' }), 400, 21218);
});

test('phone page: same-origin HTML and script under a strict CSP', async () => {
  const page = await fetch(`${sim.base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  const csp = page.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  const html = await page.text();
  assert.match(html, /<script src="\/phone\.js" defer><\/script>/);
  assert.doesNotMatch(html, /<script>|\son[a-z]+="|style="|https?:\/\//);
  const js = await fetch(`${sim.base}/phone.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const src = await js.text();
  assert.match(src, /\/sim\/calls/);
  assert.doesNotMatch(src, /innerHTML/);
  new Function(src); // parses
  assert.equal((await fetch(`${sim.base}/phone.css`)).status, 200);
});

test('account: fetch parses (the config checker reads it); no auth token is returned', async () => {
  const a = await tw.api.v2010.accounts(sim.env.ACCOUNT_SID).fetch();
  assert.equal(a.sid, sim.env.ACCOUNT_SID);
  assert.equal(a.status, 'active');
  assert.equal(a.type, 'Full');
  assert.ok(a.dateCreated instanceof Date && !isNaN(a.dateCreated));
  assert.equal(a.authToken, undefined);
  await rejects(tw.api.v2010.accounts('AC00000000000000000000000000000000').fetch(), 404, 20404);
});
