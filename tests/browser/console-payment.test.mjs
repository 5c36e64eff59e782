// The agent console end to end: the real stack (nginx, every handler, the
// Twilio emulator, the sandbox connector), a customer calling in through
// the emulator and keying DTMF through its control API, and the agent
// driving the console in Chromium.  Each test ends with a screenshot of
// its final state in test-output/browser/.
//
// The test never asks the server for the next field: every move from one
// field to the next is the server's auto-progression, seen in the page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EXPIRY, EXPIRY_SHOWN, announced, asking, contrasts, facts, fieldState, openBrowser, outcome, payMap, screenshot, signIn, sim,
  startPayment, startStack,
} from './harness.mjs';

let stack;
let phone;
before(async () => {
  stack = await startStack();
  phone = sim(stack);
});
after(async () => { await stack?.stop(); });

/** A customer calls the sandbox number; returns {uui, pstn} (UUI = the inbound CallSid, callToSIP). */
async function customerCalls() {
  const c = await phone.inboundCall();
  assert.match(c.call_sid, /^CA[0-9a-f]{32}$/);
  assert.equal(c.status, 'in-progress');
  return { uui: c.call_sid, pstn: c.pstn_call_sid || c.call_sid };
}

/** The agent's browser, signed in, with a payment started on the customer's call. */
async function agentStarts(call, opts = {}) {
  const b = await openBrowser({ width: opts.width || 900 });
  try {
    await signIn(b.page, stack, opts.query || '');
    await startPayment(b.page, { uui: opts.query ? undefined : call.uui, ...opts });
  } catch (e) {
    await b.close();
    throw e;
  }
  return b;
}

async function text(page, sel) {
  return ((await page.locator(sel).textContent()) || '').replace(/\s+/g, ' ').trim();
}

/** The session's state as the server has it (GET /aap/session with the page's credentials). */
async function serverState(page) {
  const { auth, ref } = await page.evaluate(() => ({
    auth: JSON.parse(sessionStorage.getItem('genesyspay.auth') || '{}'),
    ref: JSON.parse(sessionStorage.getItem('genesyspay.session') || '{}'),
  }));
  const r = await fetch(`${stack.base}/aap/session?paymentSid=${ref.paymentSid}`, {
    headers: { Authorization: 'Bearer ' + auth.token, 'X-Session-Token': ref.sessionToken },
  });
  assert.equal(r.status, 200);
  return (await r.json()).state;
}

/** Waits until Twilio has confirmed the server's automatic re-ask number `attempt`; returns that state. */
async function reasked(page, attempt) {
  for (let i = 0; ; i++) {
    const st = await serverState(page);
    if (st.attempt === attempt && st.partial)
      return st;
    assert.ok(i < 150, 'the server re-asks: ' + JSON.stringify(st));
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Nothing the customer keyed is ever in the page beyond what Twilio masks. */
async function assertNoPan(page, ...secrets) {
  const html = await page.content();
  const storage = await page.evaluate(() => JSON.stringify(sessionStorage));
  for (const s of secrets) {
    assert.equal(html.includes(s), false, 'the page holds ' + s.length + ' keyed digits in clear');
    assert.equal(storage.includes(s), false, 'sessionStorage holds keyed digits');
  }
}

/* lib/reference.c: 8 of 27 symbols (no 0 1 B I L O S U Z), in two groups. */
const REFERENCE = /^[2-9ACDEFGHJKMNPQRTVWXY]{4}-[2-9ACDEFGHJKMNPQRTVWXY]{4}$/;

/** A field row of the page. */
const field = (page, name) => page.locator(`#fields li[data-field="${name}"]`);

/** Every field row as [field, data-state, badge, value shown]. */
async function rows(page) {
  return page.locator('#fields li').evaluateAll((ls) => ls.map((l) => [l.dataset.field, l.dataset.state,
    l.querySelector('.badge').textContent, l.querySelector('.value-shown').textContent]));
}

/** The customer keys one field: asked for, keyed, captured. */
async function keyField(page, pstn, field, digits) {
  await asking(page, field);
  await phone.digits(pstn, digits + '#');
  await fieldState(page, field, 'captured');
}

/**
 * A test with a customer on the line and the agent's payment started
 * (agentStarts options in `opts`); fails on any page error or
 * Content-Security-Policy refusal the page saw, and closes the browser
 * whatever happens.
 */
function paymentTest(title, opts, body) {
  if (typeof opts === 'function')
    [opts, body] = [{}, opts];
  test(title, async () => {
    const call = await customerCalls();
    const b = await agentStarts(call, opts);
    try {
      await body({ call, b, page: b.page });
      assert.deepEqual(b.problems, []);
    } finally {
      await b.close();
    }
  });
}

async function keyCard(page, pstn, { card = '4111111111111111', cvc = '123', expiry = EXPIRY } = {}) {
  await keyField(page, pstn, 'payment-card-number', card);
  await keyField(page, pstn, 'security-code', cvc);
  await keyField(page, pstn, 'expiration-date', expiry);
}

paymentTest('console payment: happy path inbound - attach by UUI, auto-progression, submit, success', async ({ call, b, page }) => {
  assert.match(await text(page, '#session-title'), /^\$9\.99 by card$/);
  // Only the configured fields: no postal code (INCLUDE_POSTAL_CODE=false), no bank fields.
  assert.deepEqual(await page.locator('#fields li').evaluateAll((ls) => ls.map((l) => l.dataset.field)),
    ['payment-card-number', 'security-code', 'expiration-date']);
  await asking(page, 'payment-card-number');
  assert.equal(await page.locator('#submit').isDisabled(), true, 'Submit waits for every field');
  assert.equal(await page.locator('#fields button:visible').count(), 0, 'no Ask again where nothing was keyed or reached');
  assert.equal(await text(page, '#link'), 'Live');

  await phone.digits(call.pstn, '4111111111111111#');
  await fieldState(page, 'payment-card-number', 'captured');
  assert.match(await text(page, '#fields li[data-field="payment-card-number"] .value-shown'), /^Visa .*1111$/);
  // Auto-progression: the server moved on to the security code by itself.
  await asking(page, 'security-code');
  assert.match(await text(page, '#session-status'), /3-digit code/);
  await announced(page, /Card number captured, Visa, ending 1111\./);
  await announced(page, /Now asking for the security code/);
  assert.equal(await page.locator('#submit').isDisabled(), true);

  await phone.digits(call.pstn, '123#');
  await fieldState(page, 'security-code', 'captured');
  await keyField(page, call.pstn, 'expiration-date', EXPIRY);
  assert.equal(await text(page, '#fields li[data-field="expiration-date"] .value-shown'), EXPIRY_SHOWN);

  await page.locator('#submit:not([disabled])').waitFor();
  assert.match(await text(page, '#session-status'), /press Submit/);
  await announced(page, /All details captured\. Press Submit/);
  await page.locator('#submit').click();
  const o = await outcome(page);
  assert.deepEqual(o, { kind: 'success', title: 'Payment successful' });
  // A short reference to read out, not the processor's 35-character id.
  const ref = await text(page, '#reference:not([hidden]) #reference-value');
  assert.match(ref, REFERENCE, 'two groups of four symbols without look-alikes');
  assert.equal(await text(page, '#outcome-detail'), 'Read the reference to the customer.');
  await announced(page, new RegExp('Payment successful\\. Read the reference to the customer\\. The reference is ' +
    ref.replace('-', '').split('').join(' ').replace(/^(\S \S \S \S) /, '$1, ') + '\\.'));
  const f = await facts(page);
  assert.match(f['Processor\'s id'], /^ch_[0-9a-f]{32}$/, 'the connector\'s id, for the records');
  assert.equal(f.Card, 'Visa ending 1111');
  // Copied for the agent's notes.
  await b.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.base });
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.locator('#reference-copy', { hasText: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), ref);
  await announced(page, /Reference copied\./);
  // Stored with the full id in payMap: the session state and the claim.
  const paymentSid = JSON.parse(await page.evaluate(() => sessionStorage.getItem('genesyspay.session'))).paymentSid;
  const item = await payMap(stack).item(paymentSid);
  assert.equal(item._session.reference, ref);
  assert.equal(item._session.connectorId, f['Processor\'s id']);
  assert.equal(item.PaymentConfirmationCode, f['Processor\'s id']);
  assert.deepEqual(await payMap(stack).item('ref:' + ref), { reference: ref, paymentSid, connectorId: f['Processor\'s id'] });
  assert.equal((await serverState(page)).reference, ref, 'GET /aap/session has it too');
  assert.equal(f.Amount, '$9.99');
  assert.equal(await page.locator('#actions').isHidden(), true, 'no Submit or Cancel after the outcome');
  await assertNoPan(page, '4111111111111111', '411111111111');
  await screenshot(page, 'happy-path-success');
});

/**
 * Every text of the field rows, in light and in dark mode, at 4.5:1 or
 * better (WCAG 2 AA, normal text), the keying pulse sampled through its
 * cycle; returns the states seen.
 */
async function readable(page, seen) {
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme, reducedMotion: 'no-preference' });
    const all = await contrasts(page, '#fields');
    const low = all.filter((c) => c.ratio < 4.5);
    assert.deepEqual(low, [], colorScheme + ': below 4.5:1');
    for (const c of all)
      seen.add(colorScheme + ' ' + c.what.replace(/ .*/, '').replace(/^[a-z-]+/, ''));
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

paymentTest('console payment: every field state reads at 4.5:1 or better, light and dark, the keying pulse included', async ({ call, page }) => {
  const seen = new Set();
  await asking(page, 'payment-card-number');
  await readable(page, seen); // asking now, waiting
  await phone.digits(call.pstn, '4111');
  await fieldState(page, 'payment-card-number', 'keying');
  assert.ok(await page.evaluate(() => document.getAnimations().length > 0), 'the keying badge pulses');
  await readable(page, seen); // keying, pulse sampled
  await phone.digits(call.pstn, '111111111112#');
  await fieldState(page, 'payment-card-number', 'invalid');
  await readable(page, seen); // not valid
  await phone.digits(call.pstn, '4242424242424242#');
  await fieldState(page, 'payment-card-number', 'captured');
  await asking(page, 'security-code');
  await phone.digits(call.pstn, '1');
  await fieldState(page, 'security-code', 'keying');
  await readable(page, seen); // captured (with Ask again), keying
  await page.getByRole('button', { name: 'Cancel payment' }).click();
  await page.getByRole('button', { name: 'Yes, cancel it' }).click();
  await outcome(page);
  await readable(page, seen); // captured, not captured
  for (const scheme of ['light', 'dark'])
    for (const st of ['[waiting]', '[waiting,current]', '[keying,current]', '[invalid,current]', '[captured]', '[not-captured]'])
      assert.ok(seen.has(scheme + ' ' + st), scheme + ' ' + st + ' measured: ' + [...seen].join(' '));
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'field-states-dark');
});

paymentTest('console payment: an invalid card number is explained, then the re-entry is captured', async ({ call, page }) => {
  await asking(page, 'payment-card-number');
  // Asked, nothing keyed yet: "Asking now", not "Customer keying" (the
  // server's state; Twilio says PartialResult=true as the capture starts).
  assert.equal(await text(page, '#fields li[data-field="payment-card-number"] .badge'), 'Asking now');
  assert.equal(await page.locator('#fields li[data-field="payment-card-number"]').getAttribute('data-state'), 'waiting');
  await phone.digits(call.pstn, '4111');
  await fieldState(page, 'payment-card-number', 'keying');
  assert.equal(await text(page, '#fields li[data-field="payment-card-number"] .badge'), 'Customer keying');
  await phone.digits(call.pstn, '111111111112#'); // fails the Luhn check
  await fieldState(page, 'payment-card-number', 'invalid');
  const alert = page.locator('#session-alert[role="alert"]:not([hidden])');
  await alert.waitFor();
  assert.match(await alert.textContent(), /card number was not valid.*Ask the customer to key the card number again/);
  await announced(page, /The card number was not valid/);
  assert.equal(await text(page, '#fields li[data-field="payment-card-number"] .badge'), 'Not valid');
  assert.equal(await page.locator('#submit').isDisabled(), true);
  await screenshot(page, 'invalid-card-number');

  // The server asked again by itself and keeps the error until new
  // digits arrive: still shown once Twilio confirmed the re-ask.
  const st = await reasked(page, 2);
  assert.equal(st.errorType, 'invalid-card-number', 'the server kept the error through the re-ask');
  await page.locator(`#view-session[data-seq="${st.seq}"]`).waitFor(); // that state is on screen
  assert.equal(await alert.isVisible(), true);
  assert.equal(await text(page, '#fields li[data-field="payment-card-number"] .badge'), 'Not valid');
  // The customer starts keying a good number: the error goes, keying.
  await phone.digits(call.pstn, '4242');
  await fieldState(page, 'payment-card-number', 'keying');
  await alert.waitFor({ state: 'hidden' });
  await screenshot(page, 'invalid-card-rekeying');
  await phone.digits(call.pstn, '424242424242#');
  await fieldState(page, 'payment-card-number', 'captured');
  await asking(page, 'security-code');
  await alert.waitFor({ state: 'hidden' });
  assert.match(await text(page, '#fields li[data-field="payment-card-number"] .value-shown'), /4242$/);
  await assertNoPan(page, '4242424242424242', '4111111111111112');
  await screenshot(page, 'invalid-card-then-reentered');
});

paymentTest('console payment: after four invalid entries the capture pauses for the agent, who asks again', async ({ call, page }) => {
  for (let attempt = 1; attempt <= 4; attempt++) {
    await asking(page, 'payment-card-number');
    await phone.digits(call.pstn, '4111111111111112#');
    await fieldState(page, 'payment-card-number', 'invalid');
    if (attempt < 4) // the server asks again by itself; Twilio confirms; then the customer keys
      await reasked(page, attempt + 1);
  }
  // The server stopped asking: nothing says "ask again" any more.
  await page.waitForFunction(() => /^Paused/.test(document.getElementById('session-status')?.textContent ?? ''));
  assert.match(await text(page, '#session-status'), /^Paused after several invalid entries of the card number\. Press Ask again/);
  const alert = await text(page, '#session-alert');
  assert.match(alert, /could not key a valid card number after several tries/);
  assert.doesNotMatch(alert, /key the card number again/);
  await announced(page, /could not key a valid card number after several tries/);
  await screenshot(page, 'retries-exhausted');
  await page.getByRole('button', { name: 'Ask again for the card number' }).click();
  await announced(page, /Asking for the card number again\./);
  assert.equal(await text(page, '#fields li[data-field="payment-card-number"] .badge'), 'Asking now');
  // Being asked for, nothing keyed: asking again would change nothing.
  assert.equal(await field(page, 'payment-card-number').locator('button').isHidden(), true);
  await phone.digits(call.pstn, '4111111111111111#');
  await fieldState(page, 'payment-card-number', 'captured');
  await asking(page, 'security-code');
});

paymentTest('console payment: the agent asks again for a captured field', async ({ call, page }) => {
  await keyField(page, call.pstn, 'payment-card-number', '4111111111111111');
  await keyField(page, call.pstn, 'security-code', '123');
  await asking(page, 'expiration-date');

  // The customer read the wrong card: the agent asks for the number again.
  await page.getByRole('button', { name: 'Ask again for the card number' }).click();
  await keyField(page, call.pstn, 'payment-card-number', '5555555555554444');
  assert.match(await text(page, '#fields li[data-field="payment-card-number"] .value-shown'), /^Mastercard .*4444$/);
  // Then the server goes on with what is still required.
  await asking(page, 'expiration-date');
  await phone.digits(call.pstn, EXPIRY + '#');
  await page.locator('#submit:not([disabled])').waitFor();
  await page.locator('#submit').click();
  const o = await outcome(page);
  assert.equal(o.kind, 'success');
  assert.equal((await facts(page)).Card, 'Mastercard ending 4444');
  await screenshot(page, 'recapture-card-number');
});

paymentTest('console payment: cancel asks for confirmation, then ends the payment', async ({ call, page }) => {
  await keyField(page, call.pstn, 'payment-card-number', '4111111111111111');

  const statusSent = [];
  page.on('request', (r) => { if (r.url().endsWith('/aap/changeStatus')) statusSent.push(r.postData()); });
  await page.getByRole('button', { name: 'Cancel payment' }).click();
  assert.equal(await page.locator('#cancel-confirm').isHidden(), false);
  // The safe choice has the focus: Cancel then Enter keeps the payment going.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'cancel-no');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#cancel-confirm').isHidden(), true);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'cancel');
  assert.deepEqual(statusSent, [], 'nothing cancelled');
  assert.equal(await page.locator('#outcome').isHidden(), true);
  // Cancel, Enter, Enter: the same, never a cancelled payment.
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'cancel-no');
  await page.keyboard.press('Enter');
  assert.deepEqual(statusSent, []);
  await page.getByRole('button', { name: 'Cancel payment' }).click();
  // Escape keeps the payment going.
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#cancel-confirm').isHidden(), true);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'cancel');

  // The security code half keyed when the agent cancels.
  await asking(page, 'security-code');
  await phone.digits(call.pstn, '12');
  await fieldState(page, 'security-code', 'keying');
  await page.getByRole('button', { name: 'Cancel payment' }).click();
  await page.getByRole('button', { name: 'Yes, cancel it' }).click();
  const o = await outcome(page);
  assert.deepEqual(o, { kind: 'cancelled', title: 'Payment cancelled' });
  assert.equal(statusSent.length, 1);
  // What was captured says so; what was keyed in part, or never reached,
  // was not captured: said, no bullets, nothing waits for it.
  assert.deepEqual(await rows(page), [
    ['payment-card-number', 'captured', 'Captured', 'Visa •••• •••• •••• 1111'],
    ['security-code', 'not-captured', 'Not captured', '\u2014'],
    ['expiration-date', 'not-captured', 'Not captured', '\u2014'],
  ]);
  assert.equal(await page.locator('#fields button:visible').count(), 0, 'nothing to ask again once it ended');
  assert.match(await text(page, '#outcome-detail'), /Nothing was charged/);
  const sessionAtSim = (await phone.call(call.uui)).payments;
  assert.ok(JSON.stringify(sessionAtSim).includes('cancel'), 'the emulator saw the cancel');
  await screenshot(page, 'cancelled');

  // New payment: back to the form, nothing of the old one kept.
  await page.getByRole('button', { name: 'New payment' }).click();
  await page.locator('#view-attach:not([hidden])').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('genesyspay.session')), null);
});

paymentTest('console payment: the customer hangs up mid-way', async ({ call, page }) => {
  await keyField(page, call.pstn, 'payment-card-number', '4111111111111111');
  await asking(page, 'security-code');
  await phone.digits(call.pstn, '1');
  await fieldState(page, 'security-code', 'keying');
  await phone.hangup(call.pstn);
  const o = await outcome(page);
  assert.deepEqual(o, { kind: 'failure', title: 'The customer hung up' });
  assert.deepEqual((await rows(page)).map((r) => r.slice(1, 3)),
    [['captured', 'Captured'], ['not-captured', 'Not captured'], ['not-captured', 'Not captured']]);
  assert.match(await text(page, '#fields li[data-field="security-code"] .value-spoken'), /not captured/);
  assert.match(await text(page, '#outcome-detail'), /Nothing was charged/);
  await screenshot(page, 'customer-hung-up');
  // A new payment on the ended call: refused in the agent's words.
  await page.getByRole('button', { name: 'New payment' }).click();
  await page.getByLabel('Amount').fill('5');
  await page.locator('#start').click();
  const err = page.locator('#attach-error[role="alert"]:not([hidden])');
  await err.waitFor();
  assert.equal(await err.textContent(), 'That call has ended, so no payment can be taken on it.');
});

paymentTest('console payment: a decline from the connector says what to do next', { amount: '25.00' }, async ({ call, page }) => {
  await keyCard(page, call.pstn, { card: '4000000000000002' }); // the sandbox gateway declines it
  await page.locator('#submit:not([disabled])').waitFor();
  await page.locator('#submit').click();
  const o = await outcome(page);
  assert.deepEqual(o, { kind: 'failure', title: 'Payment declined' });
  const detail = await text(page, '#outcome-detail');
  assert.match(detail, /declined/);
  assert.match(detail, /another card/);
  assert.equal((await facts(page)).Card, 'Visa ending 0002');
  await screenshot(page, 'declined');
});

paymentTest('console payment: a reload mid-session re-attaches and carries on', async ({ call, page }) => {
  await keyField(page, call.pstn, 'payment-card-number', '4111111111111111');
  await asking(page, 'security-code');
  const before = await page.evaluate(() => sessionStorage.getItem('genesyspay.session'));

  await page.reload();
  // No sign-in again, straight back to the same payment, state intact.
  await page.locator('#view-session:not([hidden])').waitFor();
  await fieldState(page, 'payment-card-number', 'captured');
  await asking(page, 'security-code');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('genesyspay.session')), before);
  assert.match(await text(page, '#fields li[data-field="payment-card-number"] .value-shown'), /1111$/);
  await page.locator('#link[data-link="live"]').waitFor();

  // The customer keys what was missing; the reloaded page sees it all.
  await phone.digits(call.pstn, '123#');
  await fieldState(page, 'security-code', 'captured');
  await asking(page, 'expiration-date');
  // A second reload while something happened in between.
  await page.reload();
  await phone.digits(call.pstn, EXPIRY + '#');
  await fieldState(page, 'expiration-date', 'captured');
  await page.locator('#submit:not([disabled])').waitFor();
  await page.locator('#submit').click();
  assert.equal((await outcome(page)).kind, 'success');
  await screenshot(page, 'reload-mid-session-success');
});

paymentTest('console payment: losing the server shows it, and the console recovers', async ({ call, page }) => {
  await asking(page, 'payment-card-number');
  await page.locator('#link[data-link="live"]').waitFor();
  await stack.command('nginx-stop');
  await page.locator('#link[data-link="reconnecting"]').waitFor({ timeout: 20000 });
  await announced(page, /Connection to the payment server lost/);
  assert.match(await text(page, '#link'), /Connection lost/);
  await screenshot(page, 'connection-lost');
  await stack.command('nginx-start');
  await page.locator('#link[data-link="live"]').waitFor({ timeout: 40000 });
  await announced(page, /Connection restored/);

  // Live again: keys arrive and show as before.
  await phone.digits(call.pstn, '4111111111111111#');
  await fieldState(page, 'payment-card-number', 'captured');
  await asking(page, 'security-code');
  await screenshot(page, 'connection-recovered');
});

paymentTest('console payment: ACH shows the bank fields only, and saves the account when the amount is 0', { amount: '0', ach: true }, async ({ call, page }) => {
  assert.match(await text(page, '#session-title'), /^Save bank account$/);
  await asking(page, 'bank-routing-number');
  const rows = await page.locator('#fields li').evaluateAll((ls) => ls.map((l) => l.dataset.field));
  assert.deepEqual([...rows].sort(), ['bank-account-number', 'bank-routing-number']);
  await phone.digits(call.pstn, '110000000#');
  await fieldState(page, 'bank-routing-number', 'captured');
  await keyField(page, call.pstn, 'bank-account-number', '000123456789');
  assert.match(await text(page, '#fields li[data-field="bank-account-number"] .value-shown'), /89$/);
  await page.locator('#submit:not([disabled])').waitFor();
  assert.equal(await text(page, '#submit'), 'Save details');
  await page.locator('#submit').click();
  const o = await outcome(page);
  assert.deepEqual(o, { kind: 'success', title: 'Bank account saved' });
  assert.equal((await facts(page)).Account, 'ending 89');
  assert.match((await facts(page)).Token, /^\S{6,}$/, 'the connector\'s token');
  await assertNoPan(page, '000123456789');
  await screenshot(page, 'ach-saved');
});

paymentTest('console payment: another tab finds the running payment (widget URL, or starting one on the same call)', async ({ call, b, page }) => {
  const ref = async (p) => JSON.parse(await p.evaluate(() => sessionStorage.getItem('genesyspay.session')) || '{}');
  await keyField(page, call.pstn, 'payment-card-number', '4111111111111111');
  const first = await ref(page);

  // A second tab (its own sessionStorage: signs in) opened as the widget
  // of this call: it shows the running payment, not a new form.
  const tab2 = await b.ctx.newPage();
  await signIn(tab2, stack, '?uui=' + call.uui);
  await tab2.locator('#view-session:not([hidden])').waitFor();
  await fieldState(tab2, 'payment-card-number', 'captured');
  await asking(tab2, 'security-code');
  const second = await ref(tab2);
  assert.equal(second.paymentSid, first.paymentSid, 'the same payment');
  assert.notEqual(second.sessionToken, first.sessionToken, 'with its own session token');
  await tab2.locator('#link[data-link="live"]').waitFor();

  // A third tab, the plain console: starting a payment on the same call
  // shows the running one, and says so.
  const tab3 = await b.ctx.newPage();
  await signIn(tab3, stack);
  await startPayment(tab3, { uui: call.uui });
  assert.equal((await ref(tab3)).paymentSid, first.paymentSid);
  assert.match(await text(tab3, '#session-notice[role="status"]:not([hidden])'), /already running on this call: this is it/);
  await announced(tab3, /already running on this call/);
  await asking(tab3, 'security-code');
  assert.equal(await tab3.locator('#attach-error').isHidden(), true, 'no error: nothing went wrong');

  // Every tab follows the customer's keys; any of them can submit.
  await phone.digits(call.pstn, '123#');
  for (const p of [page, tab2, tab3])
    await fieldState(p, 'security-code', 'captured');
  await phone.digits(call.pstn, EXPIRY + '#');
  await tab2.locator('#submit:not([disabled])').waitFor();
  await tab2.locator('#submit').click();
  for (const p of [tab2, page, tab3])
    assert.deepEqual(await outcome(p), { kind: 'success', title: 'Payment successful' });
  await screenshot(tab3, 'another-tab-attached');

  // Once it has ended, the widget of the call offers a new payment.
  const tab4 = await b.ctx.newPage();
  await signIn(tab4, stack, '?uui=' + call.uui);
  await tab4.locator('#view-attach:not([hidden])').waitFor();
  assert.equal(await tab4.locator('#attach-error').isHidden(), true);
  // ?uui= of an inbound call is its CallSid: named as the call it is.
  assert.equal(await text(tab4, '#attach-fixed'), 'For call ' + call.uui.slice(0, 6) + '\u2026' + call.uui.slice(-4));
});

test('console payment: every completed payment has its own reference, claimed in payMap for its connector id', async () => {
  // The payments the tests above completed (card and ACH, charged and saved).
  const all = await payMap(stack).items();
  const sessions = all.filter((i) => /^PK/.test(i.key) && i.data._session?.status === 'completed');
  const claims = all.filter((i) => i.key.startsWith('ref:'));
  assert.ok(sessions.length >= 5, 'completed payments: ' + sessions.length);
  const refs = sessions.map((i) => i.data._session.reference);
  for (const r of refs)
    assert.match(r, REFERENCE);
  assert.equal(new Set(refs).size, refs.length, 'no two payments share a reference: ' + refs.join(' '));
  assert.equal(claims.length, sessions.length, 'one claim per payment');
  for (const s of sessions) {
    const claim = claims.find((c) => c.key === 'ref:' + s.data._session.reference);
    assert.deepEqual(claim?.data, { reference: s.data._session.reference, paymentSid: s.key,
      connectorId: s.data.PaymentConfirmationCode || s.data.PaymentToken }, s.key);
  }
});
