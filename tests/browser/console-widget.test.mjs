// The console as a Genesys Cloud interaction widget: embedded in an
// iframe by another site (a stand-in for apps.mypurecloud.com: a small
// page served by the test on http://localhost:PORT, another site than the
// console's http://127.0.0.1:PORT), at a widget's width, with
// ?conversationId= in its URL.  The stack lets that site frame the console
// (FRAME_ANCESTORS, rendered into the Content-Security-Policy) and asks
// for the postal code (INCLUDE_POSTAL_CODE=true), a field that appears
// only then.  The call is outbound: placed from the contact centre's SIP
// side with the conversation id in x-inin-cnv.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EXPIRY, asking, fieldState, openBrowser, outcome, screenshot, sim, startStack } from './harness.mjs';

/** An "agent desktop": GET /?src=URL answers a page framing URL, 320 px wide. */
async function desktop() {
  const srv = http.createServer((req, res) => {
    const src = new URL(req.url, 'http://localhost').searchParams.get('src') || 'about:blank';
    const esc = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Agent desktop</title><body style="margin:0">
<iframe id="widget" title="GenesysPay" src="${esc}" width="320" height="1000" style="border:0"></iframe>`);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { origin: `http://localhost:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

let stack;
let phone;
let genesys;   // allowed to frame the console
let elsewhere; // not allowed
before(async () => {
  genesys = await desktop();
  elsewhere = await desktop();
  stack = await startStack({
    env: { INCLUDE_POSTAL_CODE: 'true' },
    render: { FRAME_ANCESTORS: `'self' ${genesys.origin}` },
  });
  phone = sim(stack);
});
after(async () => {
  await stack?.stop();
  await genesys?.close();
  await elsewhere?.close();
});

/** Opens the desktop page of `site`, framing the console at `query`. */
async function host(page, site, query) {
  await page.goto(site.origin + '/?src=' + encodeURIComponent(stack.base + '/' + query));
}

test('console widget: a site not in FRAME_ANCESTORS cannot frame the console', async () => {
  const b = await openBrowser();
  try {
    const refused = b.page.waitForEvent('console', (m) => /frame-ancestors/.test(m.text()));
    await host(b.page, elsewhere, '?conversationId=nope');
    assert.match((await refused).text(), /violates the following Content Security Policy directive: "frame-ancestors 'self' http:\/\/localhost:\d+"/);
    const frame = b.page.frames().find((f) => f !== b.page.mainFrame());
    assert.ok(frame, 'the iframe exists');
    assert.equal(frame.url().startsWith(stack.base), false, 'the console did not load: ' + frame.url());
  } finally {
    await b.close();
  }
});

test('console widget: framed by Genesys Cloud, ?conversationId= attaches to the outbound call; postal code when configured', async () => {
  const r = await fetch(stack.base + '/');
  assert.match(r.headers.get('content-security-policy') || '', new RegExp(`frame-ancestors 'self' ${genesys.origin}(;|$)`));

  const conversationId = 'e2e' + Date.now().toString(16) + '-4b1d-9c3a';
  const c = await phone.outboundCall('+15005550123', conversationId);
  assert.ok(c.pstn_call_sid, 'the emulator dialled the PSTN leg');
  const pstn = c.pstn_call_sid;

  const b = await openBrowser({ width: 360, height: 1000, thirdPartyCookies: true });
  const { page } = b;
  try {
    await host(page, genesys, `?conversationId=${conversationId}&amount=12.50&currency=USD`);
    const w = page.frameLocator('#widget');
    const frame = () => page.frames().find((f) => f.url().startsWith(stack.base));

    await w.getByLabel('Agent name').fill(stack.agent.username);
    await w.getByLabel('Password').fill(stack.agent.password);
    await w.getByRole('button', { name: 'Sign in' }).click();
    await w.locator('#view-attach:not([hidden])').waitFor();
    assert.equal(await w.locator('#storage-notice').isHidden(), true, 'storage works here');
    assert.equal(await frame().evaluate(() => document.body.classList.contains('widget')), true, 'compact layout');
    assert.equal(await w.locator('#attach-fixed').textContent(), 'For conversation ' + conversationId);
    assert.equal(await w.getByLabel('Amount').inputValue(), '12.50', 'prefilled from the URL, not started');
    await w.locator('#start').click();
    await w.locator('#view-session:not([hidden])').waitFor();

    const rows = await w.locator('#fields li').evaluateAll((ls) => ls.map((l) => l.dataset.field));
    assert.deepEqual(rows, ['payment-card-number', 'security-code', 'expiration-date', 'postal-code']);
    for (const [name, keys] of [['payment-card-number', '4111111111111111'], ['security-code', '123'],
      ['expiration-date', EXPIRY], ['postal-code', '94109']]) {
      await asking(w, name);
      await phone.digits(pstn, keys + '#');
      await fieldState(w, name, 'captured');
    }
    assert.equal(((await w.locator('#fields li[data-field="postal-code"] .value-shown').textContent()) || '').trim(), '94109');
    const overflow = await frame().evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at 320 px (overflow ${overflow}px)`);
    // Keyboard: focus Submit and press Enter.
    await w.locator('#submit:not([disabled])').waitFor();
    await w.locator('#submit').focus();
    await page.keyboard.press('Enter');
    const o = await outcome(w);
    assert.deepEqual(o, { kind: 'success', title: 'Payment successful' });
    assert.deepEqual(b.problems, []);
    await screenshot(page, 'widget-postal-code-success');

    // The agent desktop reloads the widget of the same interaction: the
    // finished payment is shown again, not a new form.
    await frame().goto(`${stack.base}/?conversationId=${conversationId}&amount=12.50&currency=USD`);
    await w.locator('#outcome:not([hidden])').waitFor();
    assert.equal(await w.locator('#outcome-title').textContent(), 'Payment successful');
  } finally {
    await b.close();
  }
});

test('console widget: where the browser refuses storage to the frame, the console still works and says what a reload costs', async () => {
  const b = await openBrowser({ width: 360, height: 800 }); // this Chromium blocks third-party cookies
  const { page } = b;
  try {
    await host(page, genesys, '?conversationId=no-storage-1');
    const w = page.frameLocator('#widget');
    const notice = w.locator('#storage-notice[role="note"]:not([hidden])');
    await notice.waitFor();
    assert.match(await notice.textContent(), /reloading it signs you out[\s\S]*finds a payment that is running[\s\S]*allow third-party cookies for 127\.0\.0\.1:\d+/);
    await w.getByLabel('Agent name').fill(stack.agent.username);
    await w.getByLabel('Password').fill(stack.agent.password);
    await w.getByRole('button', { name: 'Sign in' }).click();
    await w.locator('#view-attach:not([hidden])').waitFor();
    assert.equal(await w.locator('#who-name').textContent(), stack.agent.username, 'signed in, kept in memory');
    assert.deepEqual(b.problems, []);
    await screenshot(page, 'widget-storage-blocked');
    // A reload forgets the sign-in, as the notice said.
    const frame = page.frames().find((f) => f.url().startsWith(stack.base));
    await frame.goto(stack.base + '/?conversationId=no-storage-1');
    await w.locator('#view-login:not([hidden])').waitFor();
    await notice.waitFor();
  } finally {
    await b.close();
  }
});

test('console widget: where storage is refused, signing in again after a reload finds the running payment', async () => {
  const conversationId = 'nostore' + Date.now().toString(16) + '-77aa';
  const c = await phone.outboundCall('+15005550124', conversationId);
  const pstn = c.pstn_call_sid;
  const b = await openBrowser({ width: 360, height: 1000 }); // this Chromium refuses the frame storage
  const { page } = b;
  const signInFrame = async (w) => {
    await w.getByLabel('Agent name').fill(stack.agent.username);
    await w.getByLabel('Password').fill(stack.agent.password);
    await w.getByRole('button', { name: 'Sign in' }).click();
  };
  try {
    const query = `?conversationId=${conversationId}&amount=3.00`;
    await host(page, genesys, query);
    const w = page.frameLocator('#widget');
    await w.locator('#storage-notice:not([hidden])').waitFor();
    await signInFrame(w);
    await w.locator('#view-attach:not([hidden])').waitFor();
    await w.locator('#start').click();
    await w.locator('#view-session:not([hidden])').waitFor();
    await asking(w, 'payment-card-number');
    await phone.digits(pstn, '4111111111111111#');
    await fieldState(w, 'payment-card-number', 'captured');
    await asking(w, 'security-code');

    // The agent desktop reloads the widget: nothing was kept, so sign in
    // again; the console asks the server and shows the same payment.
    const frame = page.frames().find((f) => f.url().startsWith(stack.base));
    await frame.goto(stack.base + '/' + query);
    await w.locator('#view-login:not([hidden])').waitFor();
    await signInFrame(w);
    await w.locator('#view-session:not([hidden])').waitFor();
    await fieldState(w, 'payment-card-number', 'captured');
    await asking(w, 'security-code');
    assert.equal(await w.locator('#attach-error').isHidden(), true);
    await w.locator('#link[data-link="live"]').waitFor();
    for (const [name, keys] of [['security-code', '123'], ['expiration-date', EXPIRY], ['postal-code', '94109']]) {
      await asking(w, name);
      await phone.digits(pstn, keys + '#');
      await fieldState(w, name, 'captured');
    }
    await w.locator('#submit:not([disabled])').click();
    assert.deepEqual(await outcome(w), { kind: 'success', title: 'Payment successful' });
    assert.deepEqual(b.problems, []);
    await screenshot(page, 'widget-storage-blocked-reattached');
  } finally {
    await b.close();
  }
});

