// The console page itself, served by the real nginx: same-origin assets
// under the Content-Security-Policy, no script errors, sign-in labelled
// and keyboard operable, widget mode compact at an interaction widget's
// width.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, screenshot, signIn, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('console: served by nginx with a strict Content-Security-Policy, every asset same-origin', async () => {
  const r = await fetch(stack.base + '/');
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy') || '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline or remote script');
  assert.match(csp, /style-src 'self'(;|$)/, 'no inline or remote style');
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors /);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  const js = await fetch(stack.base + '/js/main.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') || '', /javascript/, 'modules need a JavaScript type (nosniff)');
  assert.equal(js.headers.get('cache-control'), 'no-cache', 'modules revalidated after an upgrade');

  const b = await openBrowser();
  try {
    const origins = new Set();
    b.page.on('request', (req) => origins.add(new URL(req.url()).origin));
    await b.page.goto(stack.base + '/');
    await b.page.locator('#view-login:not([hidden])').waitFor();
    assert.deepEqual([...origins], [stack.base], 'nothing fetched from another origin');
    assert.deepEqual(b.problems, [], 'no script error, no CSP violation');
    const inline = await b.page.evaluate(() => ({
      scripts: [...document.scripts].filter((s) => !s.src).length,
      styles: document.querySelectorAll('style, [style]').length,
    }));
    assert.deepEqual(inline, { scripts: 0, styles: 0 });
  } finally {
    await b.close();
  }
});

test('console: sign-in is labelled and keyboard operable; a wrong password is announced', async () => {
  const b = await openBrowser();
  try {
    const { page } = b;
    await page.goto(stack.base + '/');
    await page.locator('#view-login:not([hidden])').waitFor();
    // Every control has an accessible name.
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, select, button')]
      .filter((e) => !e.closest('[hidden]'))
      .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim())))
      .map((e) => e.id));
    assert.deepEqual(unnamed, []);
    // Keyboard only: Tab to the name, type, Tab to the password, Enter.
    await page.locator('body').focus();
    let guard = 0;
    while (await page.evaluate(() => document.activeElement?.id) !== 'login-user' && guard++ < 10)
      await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'login-user');
    await page.keyboard.type(stack.agent.username);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'login-pass');
    await page.keyboard.type('not-the-password');
    await page.keyboard.press('Enter');
    const err = page.locator('#login-error[role="alert"]:not([hidden])');
    await err.waitFor();
    assert.equal(await err.textContent(), 'Wrong agent name or password.');
    assert.equal(await page.locator('#view-login').isHidden(), false);
    await screenshot(page, 'sign-in-wrong-password');

    // The right password signs in and lands on the attach form.
    await page.locator('#login-pass').fill(stack.agent.password);
    await page.keyboard.press('Enter');
    await page.locator('#view-attach:not([hidden])').waitFor();
    assert.equal(await page.locator('#who-name').textContent(), stack.agent.username);
    // The agent token lives in sessionStorage only: no cookie.
    assert.deepEqual(await b.ctx.cookies(), []);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});

test('console: widget mode (?conversationId=) is compact and fits 300 px', async () => {
  const b = await openBrowser({ width: 300, height: 700 });
  try {
    const { page } = b;
    await signIn(page, stack, '?conversationId=c0ffee-1234');
    assert.equal(await page.evaluate(() => document.body.classList.contains('widget')), true);
    assert.equal(await page.locator('#attach-call').isHidden(), true, 'the call comes from the URL');
    assert.equal(await page.locator('#attach-fixed').textContent(), 'For conversation c0ffee-1234');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    // Tokenize-only: the amount 0 shows the token type choice.
    assert.equal(await page.locator('#token-type').isHidden(), true);
    await page.getByLabel('Amount').fill('0');
    assert.equal(await page.locator('#token-type').isHidden(), false);
    assert.equal(await page.locator('#start').textContent(), 'Start saving the card');
    await screenshot(page, 'widget-attach-300px');
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});
