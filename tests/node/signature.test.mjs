// X-Twilio-Signature of every webhook the emulator sends equals what the
// official library computes (getExpectedTwilioSignature) and accepts
// (validateRequest) for the same URL and parameters (contract 9).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { startReceiver, startSim, ctl, twiml, xmlEscape } from './helpers.mjs';

let recv, sim;

before(async () => {
  recv = await startReceiver();
  sim = await startSim(recv);
});

after(async () => {
  await sim.stop();
  sim.cleanup();
  await recv.close();
});

function check(rec) {
  const url = recv.base + rec.url;
  const params = rec.method === 'POST' ? rec.form : {};
  const sig = rec.headers['x-twilio-signature'];
  assert.ok(sig, `${rec.method} ${rec.url} is signed`);
  assert.equal(sig, twilio.getExpectedTwilioSignature(sim.env.AUTH_TOKEN, url, params), rec.url);
  assert.ok(twilio.validateRequest(sim.env.AUTH_TOKEN, sig, url, params), rec.url);
  assert.ok(!twilio.validateRequest('0123456789abcdef0123456789abcdef', sig, url, params));
}

test('voice webhook, POST and GET status callbacks with query strings', async () => {
  // A query with characters that need care: '&' separators, an encoded
  // space and a quote (twilio-node normalises through WHATWG URL).
  const cbPost = `${recv.base}/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=a%20b&q='x'`;
  const cbGet = `${recv.base}/status/get?x=1`;
  recv.routes.set('/pv/callToSIP', (r) => twiml(
    '<Response><Dial><Sip statusCallbackEvent="initiated ringing answered completed" ' +
    `statusCallback="${xmlEscape(cbPost)}">sip:+61290001234@cc.example.com?User-to-User=${r.form.CallSid}</Sip>` +
    '</Dial></Response>'));
  const c = await ctl(sim, 'POST', '/sim/calls', { from: '+14155550100' });
  assert.equal(c.status, 201);
  const voice = recv.at('/pv/callToSIP');
  assert.equal(voice.length, 1);
  check(voice[0]);
  const cbs = recv.at('/sync/uuiSyncUpdate');
  assert.deepEqual(cbs.map((r) => r.form.CallStatus), ['initiated', 'ringing', 'in-progress']);
  cbs.forEach(check);
  assert.deepEqual(cbs.map((r) => r.form.SequenceNumber), ['0', '1', '2']);
  assert.equal(cbs[2].query.UUI, 'a b', 'the statusCallback query is kept');
  await ctl(sim, 'POST', `/sim/calls/${c.body.call_sid}/hangup`);
  const done = recv.at('/sync/uuiSyncUpdate');
  assert.equal(done.at(-1).form.CallStatus, 'completed');
  check(done.at(-1));

  // statusCallbackMethod="GET": parameters in the query, signed as a URL.
  recv.routes.set('/pv/callToSIP', () => twiml(
    '<Response><Dial><Number statusCallbackEvent="answered" statusCallbackMethod="GET" ' +
    `statusCallback="${xmlEscape(cbGet)}">+61290001234</Number></Dial></Response>`));
  await ctl(sim, 'POST', '/sim/calls', { from: '+14155550100' });
  const g = recv.at('/status/get');
  assert.equal(g.length, 1);
  assert.equal(g[0].method, 'GET');
  assert.equal(g[0].query.CallStatus, 'in-progress');
  assert.equal(g[0].query.x, '1');
  check(g[0]);
});

test('SIP-side call: SipHeader_ parameters are signed like the rest', async () => {
  recv.routes.set('/pv/callToPSTN', () => twiml('<Response><Say>hi</Say></Response>'));
  const c = await ctl(sim, 'POST', '/sim/calls', {
    from: 'sip:+61290001234@10.0.0.5', to: 'sip:+14155550100@example.sip.twilio.com',
    sipHeaders: { 'x-inin-cnv': 'conv-1 & ü', 'X-Other': 'two' },
  });
  assert.equal(c.status, 201);
  const v = recv.at('/pv/callToPSTN')[0];
  assert.equal(v.form['SipHeader_x-inin-cnv'], 'conv-1 & ü');
  assert.equal(v.form['SipHeader_X-Other'], 'two');
  check(v);
});
