// A whole agent-assisted payment driven only through the control API and
// REST, with small receivers standing in for the status callback and the
// connector: every callback body in order against the contract (4.1, 4.2),
// the connector request (5) and its Basic auth, and no card digits in the
// emulator's log or its request record.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import twilio from 'twilio';
import { startReceiver, startSim, ctl, rest, placeCall, paymentsPath, twiml } from './helpers.mjs';

let recv, sim;
const PAN = '4111111111111111';
const BAD_PAN = '4111111111111112'; // fails Luhn

before(async () => {
  recv = await startReceiver();
  sim = await startSim(recv);
});

after(async () => {
  await sim.stop();
  sim.cleanup();
  await recv.close();
});

const isoMs = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function signed(rec) {
  return twilio.validateRequest(sim.env.AUTH_TOKEN, rec.headers['x-twilio-signature'],
    recv.base + rec.url, rec.form);
}

// Compares a callback with the expected fields; DateCreated/DateUpdated
// only by format.
function expectCallback(rec, want, label) {
  assert.ok(signed(rec), `${label}: signature`);
  const got = { ...rec.form };
  if (!want.Result) {
    assert.match(got.DateCreated, isoMs, `${label}: DateCreated`);
    delete got.DateCreated;
  }
  if ('DateUpdated' in want) {
    assert.match(got.DateUpdated, isoMs, `${label}: DateUpdated`);
    delete got.DateUpdated;
    want = { ...want };
    delete want.DateUpdated;
  }
  assert.deepEqual(got, want, label);
}

test('card charge: create, invalid card, three fields, complete', async () => {
  const c = await placeCall(sim, recv);
  const call = c.call_sid; // inbound PSTN: the parent leg is the PSTN leg
  assert.equal(c.pstn_call_sid, call);
  const cbUrl = `${recv.base}/pay?tag=1`;
  let connectorBody = { charge_id: 'ch_54f5f89e649a4ffe9f136010188ee80e', error_code: null, error_message: null };
  recv.routes.set('/connector/charge', () => ({ status: 200, type: 'application/json', body: JSON.stringify(connectorBody) }));

  const create = await rest(sim, 'POST', paymentsPath(sim, call), {
    IdempotencyKey: 'k-create', StatusCallback: cbUrl, ChargeAmount: '9.99', Currency: 'USD',
    PaymentConnector: sim.env.PAYMENT_CONNECTOR, SecurityCode: 'true', PostalCode: 'false',
    Description: 'order 42',
  });
  assert.equal(create.status, 201);
  const pk = create.body.sid;
  assert.deepEqual(Object.keys(create.body).sort(),
    ['account_sid', 'call_sid', 'date_created', 'date_updated', 'sid', 'uri']);
  await recv.until(() => recv.at('/pay').length === 1);

  const base = {
    AccountSid: sim.env.ACCOUNT_SID, CallSid: call, Sid: pk,
    PaymentConnector: sim.env.PAYMENT_CONNECTOR, PaymentMethod: 'credit-card', ChargeAmount: '9.99',
  };
  const step = (form) => rest(sim, 'POST', paymentsPath(sim, call, pk), { StatusCallback: cbUrl, ...form });
  const keys = (digits) => ctl(sim, 'POST', `/sim/calls/${call}/digits`, { digits });
  const all = 'payment-card-number,security-code,expiration-date';

  assert.equal((await step({ IdempotencyKey: 'k1', Capture: 'payment-card-number' })).status, 202);
  assert.equal((await keys(`${BAD_PAN}#`)).status, 200);
  assert.equal((await step({ IdempotencyKey: 'k2', Capture: 'payment-card-number' })).status, 202);
  assert.equal((await keys(`${PAN}#`)).status, 200);
  assert.equal((await step({ IdempotencyKey: 'k3', Capture: 'security-code' })).status, 202);
  await keys('123#');
  assert.equal((await step({ IdempotencyKey: 'k4', Capture: 'expiration-date' })).status, 202);
  await keys('1230#');
  const done = await step({ IdempotencyKey: 'k5', Status: 'complete' });
  assert.equal(done.status, 202);
  await recv.until(() => recv.at('/pay').some((r) => r.form.Result));

  const cbs = recv.at('/pay');
  const want = [];
  want.push(base); // 1: create
  want.push({ ...base, DateUpdated: 1, Capture: 'payment-card-number', PartialResult: 'true', Required: all });
  for (let i = 1; i <= 16; i++) {
    want.push({ ...base, DateUpdated: 1, Capture: 'payment-card-number', PartialResult: 'true', Required: all,
      PaymentCardNumber: 'x'.repeat(i) });
  }
  want.push({ ...base, DateUpdated: 1, Capture: 'payment-card-number', PartialResult: 'false', Required: all,
    ErrorType: 'invalid-card-number' });
  want.push({ ...base, DateUpdated: 1, Capture: 'payment-card-number', PartialResult: 'true', Required: all });
  for (let i = 1; i <= 16; i++) {
    want.push({ ...base, DateUpdated: 1, Capture: 'payment-card-number', PartialResult: 'true', Required: all,
      PaymentCardNumber: 'x'.repeat(i) });
  }
  const card = { PaymentCardNumber: 'xxxxxxxxxxxx1111', PaymentCardType: 'visa' };
  want.push({ ...base, DateUpdated: 1, Capture: 'payment-card-number', PartialResult: 'false',
    Required: 'security-code,expiration-date', ...card });
  want.push({ ...base, DateUpdated: 1, Capture: 'security-code', PartialResult: 'true',
    Required: 'security-code,expiration-date', ...card });
  for (const m of ['x', 'xx', 'xxx']) {
    want.push({ ...base, DateUpdated: 1, Capture: 'security-code', PartialResult: 'true',
      Required: 'security-code,expiration-date', ...card, SecurityCode: m });
  }
  want.push({ ...base, DateUpdated: 1, Capture: 'security-code', PartialResult: 'false',
    Required: 'expiration-date', ...card, SecurityCode: 'xxx' });
  want.push({ ...base, DateUpdated: 1, Capture: 'expiration-date', PartialResult: 'true',
    Required: 'expiration-date', ...card, SecurityCode: 'xxx' });
  for (const m of ['1', '12', '123', '1230']) {
    want.push({ ...base, DateUpdated: 1, Capture: 'expiration-date', PartialResult: 'true',
      Required: 'expiration-date', ...card, SecurityCode: 'xxx', ExpirationDate: m });
  }
  want.push({ ...base, DateUpdated: 1, Capture: 'expiration-date', PartialResult: 'false',
    Required: '', ...card, SecurityCode: 'xxx', ExpirationDate: '1230' });
  // The final post as Twilio sent it to the Node original (its
  // paySyncUpdate comment): no DateCreated, PaymentConnector, ChargeAmount.
  want.push({ AccountSid: sim.env.ACCOUNT_SID, CallSid: call, Sid: pk, DateUpdated: 1, PaymentMethod: 'credit-card',
    Result: 'success', PaymentConfirmationCode: 'ch_54f5f89e649a4ffe9f136010188ee80e', PaymentToken: '', ProfileId: '',
    ...card, SecurityCode: 'xxx', ExpirationDate: '1230' });
  assert.equal(cbs.length, want.length, 'callback count');
  cbs.forEach((rec, i) => expectCallback(rec, want[i], `callback ${i + 1}`));
  assert.ok(cbs.every((r) => r.query.tag === '1'));

  // The connector request (contract 5).
  const conn = recv.at('/connector/charge');
  assert.equal(conn.length, 1);
  const auth = Buffer.from(`${sim.env.CONNECTOR_USERNAME}:${sim.env.CONNECTOR_PASSWORD}`).toString('base64');
  assert.equal(conn[0].headers.authorization, `Basic ${auth}`);
  assert.match(conn[0].headers['content-type'], /^application\/json/);
  const body = conn[0].json;
  assert.match(body.transaction_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  delete body.transaction_id;
  assert.deepEqual(body, {
    method: 'charge', cardnumber: PAN, cvv: '123', expiry_month: '12', expiry_year: '30',
    amount: '9.99', currency_code: 'USD', description: 'order 42', parameters: {},
  });

  // Nothing moves after the end; the same key still answers the same.
  const n = recv.at('/pay').length;
  const again = await step({ IdempotencyKey: 'k5', Status: 'complete' });
  assert.equal(again.status, 202);
  assert.deepEqual(again.body, done.body);
  assert.equal(recv.at('/connector/charge').length, 1, 'the connector is called once');
  const late = await step({ IdempotencyKey: 'k6', Status: 'cancel' });
  assert.equal(late.status, 400);
  assert.equal(late.body.code, 64021);
  assert.equal(recv.at('/pay').length, n);

  // The record of traffic keeps no card data either.
  const log = await ctl(sim, 'GET', '/sim/requests');
  const text = JSON.stringify(log.body);
  assert.ok(!text.includes(PAN) && !text.includes(BAD_PAN), 'no PAN in /sim/requests');
  const connRec = log.body.requests.find((r) => r.kind === 'connector');
  assert.equal(connRec.request.cardnumber, '[redacted]');
  assert.equal(connRec.request.cvv, '[redacted]');
  assert.equal(connRec.status, 200);
  const dtmf = log.body.requests.find((r) => r.kind === 'control' && r.url.endsWith('/digits'));
  assert.match(dtmf.request.digits, /^\[\d+ keys\]$/);
  assert.ok(!fs.readFileSync(sim.log, 'utf8').includes(PAN));
});

test('tokenize, decline and connector failure', async () => {
  const runTo = async (connector, amount) => {
    const c = await placeCall(sim, recv);
    const cbUrl = `${recv.base}/pay2`;
    recv.routes.set('/connector/charge', connector);
    const form = { IdempotencyKey: 'c', StatusCallback: cbUrl, PaymentConnector: sim.env.PAYMENT_CONNECTOR,
      SecurityCode: 'false', PostalCode: 'true', TokenType: 'one-time' };
    if (amount) form.ChargeAmount = amount;
    const p = (await rest(sim, 'POST', paymentsPath(sim, c.call_sid), form)).body.sid;
    const step = (f) => rest(sim, 'POST', paymentsPath(sim, c.call_sid, p), { StatusCallback: cbUrl, ...f });
    const keys = (d) => ctl(sim, 'POST', `/sim/calls/${c.call_sid}/digits`, { digits: d });
    await step({ IdempotencyKey: '1', Capture: 'payment-card-number' });
    await keys('5555555555554444#');
    await step({ IdempotencyKey: '2', Capture: 'expiration-date' });
    await keys('1230#');
    await step({ IdempotencyKey: '3', Capture: 'postal-code' });
    await keys('94105#');
    assert.equal((await step({ IdempotencyKey: '4', Status: 'complete' })).status, 202);
    await recv.until(() => recv.at('/pay2').some((r) => r.form.Sid === p && r.form.Result));
    return { final: recv.at('/pay2').filter((r) => r.form.Sid === p).at(-1).form, conn: recv.at('/connector/charge').at(-1) };
  };

  let r = await runTo(() => ({ status: 200, type: 'application/json', body: '{"token_id":"tok_1","error_code":null,"error_message":null}' }));
  assert.equal(r.conn.json.method, 'tokenize');
  assert.equal(r.conn.json.token_type, 'one-time');
  assert.equal(r.conn.json.postal_code, '94105');
  assert.equal(r.conn.json.amount, undefined);
  assert.equal(r.conn.json.cvv, undefined);
  assert.equal(r.final.Result, 'success');
  assert.equal(r.final.PaymentToken, 'tok_1');
  assert.equal(r.final.PaymentConfirmationCode, '');
  assert.equal(r.final.TokenType, undefined, 'the final post has no TokenType');
  assert.equal(r.final.PaymentCardType, 'mastercard');
  assert.equal(r.final.PaymentCardPostalCode, '94105');

  r = await runTo(() => ({ status: 200, type: 'application/json', body: '{"charge_id":null,"error_code":"card_declined","error_message":"card is declined"}' }), '10');
  assert.equal(r.conn.json.amount, '10.00');
  assert.equal(r.final.Result, 'payment-connector-error');
  assert.equal(r.final.PaymentError, 'card is declined');
  assert.equal(r.final.PayErrorCode, '64008');
  assert.equal(r.final.ConnectorError, 'card_declined');

  r = await runTo(() => ({ status: 500, type: 'text/plain', body: 'boom' }), '1.50');
  assert.equal(r.final.Result, 'payment-connector-error');
  assert.equal(r.final.PayErrorCode, '64008');
  assert.equal(r.final.ConnectorError, 'HTTP 500');

  r = await runTo(() => ({ status: 200, type: 'application/json', body: 'not json' }), '2');
  assert.equal(r.final.Result, 'payment-connector-error');
  assert.match(r.final.PaymentError, /malformed response/);
});

test('inter-digit timeout ends a field; hang-up ends the session', async () => {
  const c = await placeCall(sim, recv);
  const cbUrl = `${recv.base}/pay3`;
  const p = (await rest(sim, 'POST', paymentsPath(sim, c.call_sid), {
    IdempotencyKey: 't', StatusCallback: cbUrl, PaymentConnector: sim.env.PAYMENT_CONNECTOR, Timeout: '1',
  })).body.sid;
  await rest(sim, 'POST', paymentsPath(sim, c.call_sid, p), { IdempotencyKey: '1', StatusCallback: cbUrl, Capture: 'payment-card-number' });
  await ctl(sim, 'POST', `/sim/calls/${c.call_sid}/digits`, { digits: '4242424242424242' });
  // No '#': the field ends after Timeout seconds without a key.
  await recv.until(() => recv.at('/pay3').some((r) => r.form.PartialResult === 'false'));
  const end = recv.at('/pay3').find((r) => r.form.PartialResult === 'false').form;
  assert.equal(end.PaymentCardNumber, 'xxxxxxxxxxxx4242');
  assert.equal(end.Required, 'payment-card-number,security-code,expiration-date,postal-code'.replace('payment-card-number,', ''));
  await ctl(sim, 'POST', `/sim/calls/${c.call_sid}/hangup`);
  const last = recv.at('/pay3').at(-1).form;
  assert.equal(last.Result, 'caller-hung-up');
  const dial = recv.at('/sync/uuiSyncUpdate').filter((r) => r.form.ParentCallSid === c.call_sid);
  assert.deepEqual(dial.map((r) => r.form.CallStatus), ['in-progress', 'completed']);
  assert.equal(dial[1].form.CallSid, c.sip_call_sid);
});

test('SIP-originated call: the payment runs on the PSTN child, callbacks name the parent', async () => {
  recv.routes.set('/pv/callToPSTN', (r) => twiml(
    `<Response><Dial callerId="+61290001234" answerOnBridge="true" referUrl="/pv/callTransfer">` +
    `<Number statusCallbackEvent="answered" statusCallback="/sync/uuiSyncUpdate?CallDirection=toPSTN&amp;UUI=${r.form['SipHeader_x-inin-cnv']}">` +
    '+14155550100</Number></Dial></Response>'));
  const c = await ctl(sim, 'POST', '/sim/calls', {
    from: 'sip:+61290001234@10.0.0.5', to: 'sip:+14155550100@example.sip.twilio.com', sipHeaders: { 'x-inin-cnv': 'conv-9' },
  });
  assert.equal(c.status, 201);
  const v = recv.at('/pv/callToPSTN').at(-1).form;
  assert.equal(v['SipHeader_x-inin-cnv'], 'conv-9');
  assert.equal(v.SipDomain, 'example.sip.twilio.com');
  assert.equal(v.Direction, 'inbound');
  const pstn = c.body.pstn_call_sid;
  assert.notEqual(pstn, c.body.call_sid);
  const ans = recv.at('/sync/uuiSyncUpdate').find((r) => r.query.UUI === 'conv-9');
  assert.equal(ans.form.CallSid, pstn);
  assert.equal(ans.form.ParentCallSid, c.body.call_sid);
  assert.equal(ans.form.From, '+61290001234');

  const cbUrl = `${recv.base}/pay4`;
  const created = await rest(sim, 'POST', paymentsPath(sim, pstn), {
    IdempotencyKey: 's', StatusCallback: cbUrl, PaymentConnector: sim.env.PAYMENT_CONNECTOR,
  });
  assert.equal(created.body.call_sid, pstn);
  await rest(sim, 'POST', paymentsPath(sim, pstn, created.body.sid), { IdempotencyKey: '1', StatusCallback: cbUrl, Capture: 'payment-card-number' });
  await ctl(sim, 'POST', `/sim/calls/${c.body.call_sid}/digits`, { digits: '4' });
  const cbs = recv.at('/pay4');
  assert.equal(cbs.length, 3);
  assert.ok(cbs.every((r) => r.form.CallSid === c.body.call_sid));
  assert.equal(cbs[2].form.PaymentCardNumber, 'x');

  // REFER: the webhook carries ReferTransferTarget; a new <Dial> replaces the leg.
  recv.routes.set('/pv/callTransfer', () => twiml('<Response><Dial><Number>+14155550111</Number></Dial></Response>'));
  const rf = await ctl(sim, 'POST', `/sim/calls/${c.body.call_sid}/refer`, { target: '<sip:+14155550111@cc.example.com>' });
  assert.equal(rf.status, 200);
  assert.equal(rf.body.refer, 'accepted');
  const refer = recv.at('/pv/callTransfer').at(-1);
  assert.equal(refer.form.ReferTransferTarget, '<sip:+14155550111@cc.example.com>');
  assert.equal(refer.form.CallSid, c.body.call_sid);
  assert.ok(signed(refer));
  const legs = rf.body.legs;
  assert.equal(legs.find((l) => l.sid === pstn).status, 'completed');
  const fresh = legs.find((l) => l.to === '+14155550111');
  assert.equal(fresh.status, 'in-progress');
  assert.equal(fresh.parent_call_sid, c.body.call_sid);
  // The session was on the replaced leg: it ended with it.
  assert.equal(recv.at('/pay4').at(-1).form.Result, 'caller-hung-up');
});

test('malformed TwiML fails the call, visible in /sim/requests', async () => {
  recv.routes.set('/pv/callToSIP', () => twiml('<Response><Dial><Sip>sip:a@b</Dial></Response>'));
  const c = await ctl(sim, 'POST', '/sim/calls', { from: '+14155550100' });
  assert.equal(c.status, 201);
  assert.equal(c.body.status, 'failed');
  assert.match(c.body.error, /^12100 /);
  const log = await ctl(sim, 'GET', '/sim/requests');
  const v = log.body.requests.filter((r) => r.kind === 'voice').at(-1);
  assert.match(v.response, /<Sip>sip:a@b<\/Dial>/);
  recv.routes.set('/pv/callToSIP', () => ({ status: 500, body: 'down' }));
  const d = await ctl(sim, 'POST', '/sim/calls', { from: '+14155550100' });
  assert.equal(d.body.status, 'failed');
  assert.match(d.body.error, /^11200 /);
});

test('faults: api 503 once, webhook duplicated, connection dropped', async () => {
  let f = await ctl(sim, 'POST', '/sim/faults', { target: 'sync', status: 503, count: 1 });
  assert.equal(f.status, 201);
  let r = await rest(sim, 'GET', '/v1/Services');
  assert.equal(r.status, 503);
  assert.equal(r.body.code, 20503);
  r = await rest(sim, 'GET', '/v1/Services');
  assert.equal(r.status, 200);

  await ctl(sim, 'POST', '/sim/faults', { target: 'api', drop: true, match: '/Calls/' });
  await assert.rejects(rest(sim, 'GET', `/2010-04-01/Accounts/${sim.env.ACCOUNT_SID}/Calls/CA00000000000000000000000000000000.json`));

  await ctl(sim, 'POST', '/sim/faults', { target: 'webhooks', duplicate: true, match: '/pay5' });
  const c = await placeCall(sim, recv);
  await rest(sim, 'POST', paymentsPath(sim, c.call_sid), {
    IdempotencyKey: 'f', StatusCallback: `${recv.base}/pay5`, PaymentConnector: sim.env.PAYMENT_CONNECTOR,
  });
  await recv.until(() => recv.at('/pay5').length === 2);
  const [a, b] = recv.at('/pay5');
  assert.deepEqual(a.form, b.form);
  assert.notEqual(a.headers['i-twilio-idempotency-token'], b.headers['i-twilio-idempotency-token']);

  // A delayed webhook still arrives, and nothing overtakes it.
  await ctl(sim, 'POST', '/sim/faults', { target: 'webhooks', delay_ms: 300, match: '/pay6' });
  const d = await placeCall(sim, recv);
  const pk = (await rest(sim, 'POST', paymentsPath(sim, d.call_sid), {
    IdempotencyKey: 'g', StatusCallback: `${recv.base}/pay6`, PaymentConnector: sim.env.PAYMENT_CONNECTOR,
  })).body.sid;
  await rest(sim, 'POST', paymentsPath(sim, d.call_sid, pk), { IdempotencyKey: 'h', StatusCallback: `${recv.base}/pay6`, Capture: 'payment-card-number' });
  await recv.until(() => recv.at('/pay6').length === 2);
  assert.deepEqual(recv.at('/pay6').map((r) => r.form.Capture), [undefined, 'payment-card-number']);

  // The record never shows our credentials, even where a client put them.
  await fetch(`${sim.base}/v1/Services?leak=${sim.env.AUTH_TOKEN}`);
  const text = JSON.stringify((await ctl(sim, 'GET', '/sim/requests')).body);
  assert.ok(!text.includes(sim.env.AUTH_TOKEN));
  assert.ok(!text.includes(sim.env.CONNECTOR_PASSWORD));

  f = await ctl(sim, 'GET', '/sim/faults');
  assert.deepEqual(f.body.faults, []);
  assert.equal((await ctl(sim, 'POST', '/sim/faults', { target: 'nowhere', status: 500 })).status, 400);
});

test('ACH debit: routing checksum, account masking, connector fields', async () => {
  const c = await placeCall(sim, recv);
  const cbUrl = `${recv.base}/pay7`;
  recv.routes.set('/connector/charge', () => ({ status: 200, type: 'application/json', body: '{"charge_id":"ch_ach","error_code":null,"error_message":null}' }));
  const bad = await rest(sim, 'POST', paymentsPath(sim, c.call_sid), {
    IdempotencyKey: 'a0', StatusCallback: cbUrl, PaymentConnector: sim.env.PAYMENT_CONNECTOR, PaymentMethod: 'ach-debit', ChargeAmount: '5',
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 64015, 'ach-debit needs Parameter');
  const p = (await rest(sim, 'POST', paymentsPath(sim, c.call_sid), {
    IdempotencyKey: 'a1', StatusCallback: cbUrl, PaymentConnector: sim.env.PAYMENT_CONNECTOR, PaymentMethod: 'ach-debit',
    BankAccountType: 'consumer-savings', ChargeAmount: '5', Parameter: JSON.stringify({ AVSName: 'Jane Doe' }),
  })).body.sid;
  const step = (f) => rest(sim, 'POST', paymentsPath(sim, c.call_sid, p), { StatusCallback: cbUrl, ...f });
  const keys = (d) => ctl(sim, 'POST', `/sim/calls/${c.call_sid}/digits`, { digits: d });
  assert.equal((await step({ IdempotencyKey: '0', Capture: 'payment-card-number' })).body.code, 64020);
  await step({ IdempotencyKey: '1', Capture: 'bank-routing-number' });
  await keys('121000359#');
  let last = recv.at('/pay7').at(-1).form;
  assert.equal(last.ErrorType, 'invalid-bank-routing-number');
  assert.equal(last.Required, 'bank-routing-number,bank-account-number');
  await step({ IdempotencyKey: '2', Capture: 'bank-routing-number' });
  await keys('121000358#');
  await step({ IdempotencyKey: '3', Capture: 'bank-account-number' });
  await keys('123456789#');
  last = recv.at('/pay7').at(-1).form;
  assert.equal(last.BankAccountNumber, '*******89');
  assert.equal(last.BankRoutingNumber, '121000358');
  assert.equal(last.BankAccountType, 'consumer-savings');
  assert.equal(last.Required, '');
  await step({ IdempotencyKey: '4', Status: 'complete' });
  await recv.until(() => recv.at('/pay7').some((r) => r.form.Result));
  const conn = recv.at('/connector/charge').at(-1).json;
  assert.equal(conn.routing_number, '121000358');
  assert.equal(conn.account_number, '123456789');
  assert.equal(conn.account_type, 'consumer-savings');
  assert.deepEqual(conn.parameters, { AVSName: 'Jane Doe' });
  assert.equal(conn.cardnumber, undefined);
  assert.equal(recv.at('/pay7').at(-1).form.Result, 'success');
});

test('no card digits in the emulator log', () => {
  const log = fs.readFileSync(sim.log, 'utf8');
  assert.ok(log.includes('msg=request'), 'the log has request lines');
  for (const pan of [PAN, BAD_PAN, '5555555555554444', '4242424242424242', '123456789']) {
    assert.ok(!log.includes(pan), `${pan} not in the log`);
  }
  // Not even as a digit run with separators or split across fields.
  assert.ok(!/4111[ -]?1111[ -]?1111[ -]?111[12]/.test(log));
});
