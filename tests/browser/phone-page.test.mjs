// The emulator's customer phone page (sim/phone.c) on a 360 px phone:
// nothing wider than the screen, and live: one EventSource
// (/phone/events) brings every change of the call and its payment, with
// no polling, and what the page shows is the emulator's current state.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPIRY, openBrowser, screenshot, sim, startStack } from './harness.mjs';

let stack;
let phone;
before(async () => {
  stack = await startStack();
  phone = sim(stack);
});
after(async () => { await stack?.stop(); });

/** The agent's side, without a browser: sign in and start a payment on the call. */
async function agentStarts(callSid) {
  const post = async (path, body, token) => {
    const r = await fetch(stack.base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
      body: JSON.stringify(body),
    });
    assert.ok(r.ok, path + ': ' + r.status);
    return r.json();
  };
  const { token } = await post('/aap/login', stack.agent);
  return post('/aap/startCapture', { callSid, chargeAmount: '12.34', currency: 'USD' }, token);
}

/** The payment as the page shows it: {label: value}. */
async function shown(page) {
  return page.locator('#payments').evaluate((box) => {
    const o = {};
    for (const dt of box.querySelectorAll('dt'))
      o[dt.textContent] = dt.nextElementSibling?.textContent ?? '';
    return o;
  });
}

/** Waits until the page shows the payment with `label` = `value`. */
function showing(page, label, value) {
  return page.waitForFunction(([l, v]) => [...document.querySelectorAll('#payments dt')]
    .some((dt) => dt.textContent === l && dt.nextElementSibling?.textContent === v), [label, value], { timeout: 15000 });
}

test('phone page: fits 360 px, follows the call live through one stream, shows the current state', async () => {
  const b = await openBrowser({ width: 360, height: 740 });
  try {
    const { page } = b;
    const requests = [];
    page.on('request', (r) => requests.push(r.method() + ' ' + new URL(r.url()).pathname));
    await page.goto(stack.sim + '/');
    await page.locator('#link[data-link="live"]').waitFor();

    // The customer calls from the page.
    await page.getByRole('button', { name: 'Call', exact: true }).click();
    await page.waitForFunction(() => / - in-progress/.test(document.getElementById('call-status')?.textContent ?? ''));
    const callSid = (await page.locator('#call-status').textContent()).split(' ')[0];
    const call = await phone.call(callSid);
    assert.equal(await page.locator('#legs li').count(), call.legs.length, 'every leg listed');

    // From here the page asks nothing: the agent and the keys act
    // elsewhere, the page follows through its stream.
    const from = requests.length;
    const start = await agentStarts(call.pstn_call_sid || callSid);
    await showing(page, 'Payment', start.paymentSid);
    await showing(page, 'Keying', 'payment-card-number ');
    await phone.digits(call.pstn_call_sid, '4111111111111111#');
    await showing(page, 'Keying', 'security-code ');
    await phone.digits(call.pstn_call_sid, '123#');
    await phone.digits(call.pstn_call_sid, EXPIRY + '#');
    await showing(page, 'Still required', '(nothing)');
    assert.deepEqual(requests.slice(from), [], 'no polling: nothing requested while the payment went on');
    assert.equal(requests.filter((r) => r === 'GET /phone/events').length, 1, 'one stream');

    // What the page shows is the emulator's state now, not a second ago.
    const now = (await phone.call(callSid)).payments.at(-1);
    const seen = await shown(page);
    assert.equal(seen.State, now.state);
    assert.equal(seen['Still required'], now.required || '(nothing)');
    assert.equal(seen['Card type'], now.card_type);
    for (const [k, v] of Object.entries(now.captured))
      assert.equal(seen[k], v, k);
    // A key pressed on the page's own keypad shows through the stream too.
    await page.getByRole('button', { name: 'key *' }).click();
    await page.waitForFunction(() => /caller-interrupted-with-star|cancel/.test(document.getElementById('payments')?.textContent ?? ''),
      undefined, { timeout: 15000 });
    assert.equal((await shown(page)).Result, (await phone.call(callSid)).payments.at(-1).result);

    // 360 px: nothing sticks out, nothing scrolls sideways.
    const overflow = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')).slice(0, 5),
    }));
    assert.deepEqual(overflow, { page: 0, wide: [] }, 'no horizontal scrolling at 360 px');
    await screenshot(page, 'phone-360px');
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});
