// The console as a Genesys Cloud interaction widget: an outbound call
// placed from the contact centre (SIP -> PSTN, the conversation id in
// x-inin-cnv), the console opened at an interaction widget's width with
// ?conversationId= in its URL, and a stack configured to ask for the
// postal code (INCLUDE_POSTAL_CODE=true) - the field appears only then.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asking, fieldState, openBrowser, outcome, screenshot, signIn, sim, startStack } from './harness.mjs';

let stack;
let phone;
before(async () => {
  stack = await startStack({ env: { INCLUDE_POSTAL_CODE: 'true' } });
  phone = sim(stack);
});
after(async () => { await stack?.stop(); });

test('console widget: ?conversationId= attaches to the outbound call; postal code asked when configured', async () => {
  const conversationId = 'e2e' + Date.now().toString(16) + '-4b1d-9c3a';
  const c = await phone.outboundCall('+15005550123', conversationId);
  assert.ok(c.pstn_call_sid, 'the emulator dialled the PSTN leg');
  const pstn = c.pstn_call_sid;

  const b = await openBrowser({ width: 320, height: 900 });
  const { page } = b;
  try {
    await signIn(page, stack, `?conversationId=${conversationId}&amount=12.50&currency=USD`);
    assert.equal(await page.locator('#attach-fixed').textContent(), 'For conversation ' + conversationId);
    assert.equal(await page.getByLabel('Amount').inputValue(), '12.50', 'prefilled, not started');
    assert.equal(await page.locator('#view-attach').isHidden(), false);
    await page.locator('#start').click();
    await page.locator('#view-session:not([hidden])').waitFor();

    const rows = await page.locator('#fields li').evaluateAll((ls) => ls.map((l) => l.dataset.field));
    assert.ok(rows.includes('postal-code'), 'postal code row: ' + rows.join(','));
    for (const [name, keys] of [['payment-card-number', '4111111111111111'], ['security-code', '123'],
      ['expiration-date', '1230'], ['postal-code', '94109']]) {
      await asking(page, name);
      await phone.digits(pstn, keys + '#');
      await fieldState(page, name, 'captured');
    }
    assert.equal(((await page.locator('#fields li[data-field="postal-code"] .value-shown').textContent()) || '').trim(), '94109');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at 320 px (overflow ${overflow}px)`);
    await page.locator('#submit:not([disabled])').waitFor();
    // Keyboard: focus Submit and press Enter.
    await page.locator('#submit').focus();
    await page.keyboard.press('Enter');
    const o = await outcome(page);
    assert.deepEqual(o, { kind: 'success', title: 'Payment successful' });
    assert.deepEqual(b.problems, []);
    await screenshot(page, 'widget-postal-code-success');

    // The widget of the same interaction reopened: the finished payment is shown, not a new form.
    await page.reload();
    await page.locator('#outcome:not([hidden])').waitFor();
    assert.equal(await page.locator('#outcome-title').textContent(), 'Payment successful');
  } finally {
    await b.close();
  }
});
