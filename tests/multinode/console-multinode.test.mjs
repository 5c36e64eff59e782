// The agent console on two nodes behind a round-robin balancer
// (scripts/stack.sh stack_multi_start): the console, the customer's
// callbacks and the agent's EventSource all go through the balancer.
//   - the node holding the agent's EventSource is stopped in the middle of
//     a payment: the live view reconnects through the balancer to the
//     other node and the payment completes there;
//   - Redis (nchan's engine) is stopped: payments still complete, and the
//     console says it is polling; when Redis is back it is live again.
// Screenshots in test-output/browser/multinode-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  EXPIRY, announced, asking, fieldState, openBrowser, outcome, screenshot, signIn, sim, startPayment, startStack,
} from '../browser/harness.mjs';

let stack;
let phone;
before(async () => {
  stack = await startStack({ nodes: 2 });
  phone = sim(stack);
});
after(async () => { await stack?.stop(); });

/** The nodes whose eventsAuth accepted a subscription to the payment, in log order. */
function subscribedOn(pk) {
  const lines = [];
  for (const n of [1, 2]) {
    let text = '';
    try { text = fs.readFileSync(path.join(stack.run, `node${n}`, 'log', 'eventsAuth.log'), 'utf8'); } catch { /* none yet */ }
    for (const l of text.split('\n'))
      if (l.includes('path=/auth/events') && l.includes('status=200') && l.includes('payment=' + pk))
        lines.push({ node: n, ts: /ts=(\S+)/.exec(l)?.[1] ?? '' });
  }
  return lines.sort((a, b) => a.ts.localeCompare(b.ts)).map((x) => x.node);
}

async function waitFor(what, fn, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v)
      return v;
    assert.ok(Date.now() < end, 'timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function paymentSid(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('genesyspay.session') || '{}').paymentSid);
}

/** A customer's call and the agent's browser with a payment started on it, live. */
async function agentOnCall() {
  const c = await phone.inboundCall();
  const b = await openBrowser();
  try {
    await signIn(b.page, stack);
    await startPayment(b.page, { uui: c.call_sid });
    await b.page.locator('#link[data-link="live"]').waitFor({ timeout: 20000 });
    await asking(b.page, 'payment-card-number');
  } catch (e) {
    await b.close();
    throw e;
  }
  return { call: { uui: c.call_sid, pstn: c.pstn_call_sid || c.call_sid }, b };
}

test('two nodes: the node holding the live view is stopped mid-payment; the payment completes through the other', async () => {
  const { call, b } = await agentOnCall();
  const { page } = b;
  try {
    const pk = await paymentSid(page);
    const first = await waitFor('the subscription', () => subscribedOn(pk).at(-1));
    await phone.digits(call.pstn, '4111111111111111#');
    await fieldState(page, 'payment-card-number', 'captured');

    await stack.command(`node-stop ${first}`);
    const other = first === 1 ? 2 : 1;
    // The browser's EventSource reconnects through the balancer, which
    // now has only the other node.
    await waitFor('a subscription on the other node', () => subscribedOn(pk).slice(1).includes(other), 40000);
    await page.locator('#link[data-link="live"]').waitFor({ timeout: 40000 });

    await phone.digits(call.pstn, '123#');
    await fieldState(page, 'security-code', 'captured');
    await phone.digits(call.pstn, EXPIRY + '#');
    await fieldState(page, 'expiration-date', 'captured');
    await page.locator('#submit:not([disabled])').waitFor();
    await page.locator('#submit').click();
    assert.equal((await outcome(page)).kind, 'success');
    assert.deepEqual(b.problems, []);
    await screenshot(page, 'multinode-node-stopped-success');
    await stack.command(`node-start ${first}`);
  } finally {
    await b.close();
  }
});

test('two nodes: Redis stopped mid-payment; the payment completes and the console says it is polling', async () => {
  const { call, b } = await agentOnCall();
  const { page } = b;
  try {
    await stack.command('redis-stop');
    // The open stream goes quiet (nchan keeps it and drops what is
    // published); the console notices and polls.
    await phone.digits(call.pstn, '4111111111111111#');
    await fieldState(page, 'payment-card-number', 'captured', 30000);
    await page.locator('#link[data-link="polling"]').waitFor({ timeout: 40000 });
    assert.match(await page.locator('#link').textContent(), /Live updates unavailable/);
    await announced(page, /Live updates are unavailable/);

    await phone.digits(call.pstn, '123#');
    await fieldState(page, 'security-code', 'captured');
    await phone.digits(call.pstn, EXPIRY + '#');
    await fieldState(page, 'expiration-date', 'captured');
    await page.locator('#submit:not([disabled])').waitFor();
    await screenshot(page, 'multinode-redis-down-polling');
    await page.locator('#submit').click();
    assert.equal((await outcome(page)).kind, 'success');
    assert.deepEqual(b.problems, []);
  } finally {
    await stack.command('redis-start');
    await b.close();
  }
});

test('two nodes: with Redis down a new payment is polled at once; Redis back, the console is live again', async () => {
  await stack.command('redis-stop');
  let b;
  try {
    const c = await phone.inboundCall();
    const pstn = c.pstn_call_sid || c.call_sid;
    b = await openBrowser();
    const { page } = b;
    await signIn(page, stack);
    await startPayment(page, { uui: c.call_sid });
    // The stream is refused (nchan answers 503 without Redis): polling.
    await page.locator('#link[data-link="polling"]').waitFor({ timeout: 40000 });
    await asking(page, 'payment-card-number');
    await stack.command('redis-start');
    await page.locator('#link[data-link="live"]').waitFor({ timeout: 40000 });
    await announced(page, /Live updates are back/);
    await phone.digits(pstn, '4111111111111111#');
    await fieldState(page, 'payment-card-number', 'captured');
    assert.deepEqual(b.problems, []);
  } finally {
    await stack.command('redis-start').catch(() => {});
    await b?.close();
  }
});
