// The console page itself, served by the real nginx: same-origin assets
// under the Content-Security-Policy, no script errors, sign-in labelled
// and keyboard operable, widget mode compact at an interaction widget's
// width, and the payment form offering what the server allows (GET
// /aap/config; this stack allows EUR, USD and JPY only).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import { openBrowser, screenshot, signIn, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ env: { ALLOWED_CURRENCIES: 'EUR,USD,JPY' } }); });
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

/** One GET as sent (no automatic decompression): status, headers, raw body. */
function raw(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
}

test('console: delivered precompressed, hashed, cached a year, modules preloaded, no comments', async () => {
  const page = await raw(stack.base + '/', { 'Accept-Encoding': 'gzip' });
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-encoding'], 'gzip', 'the HTML precompressed (gzip_static)');
  assert.equal(page.headers['cache-control'], 'no-cache', 'the HTML is revalidated on every load');
  assert.match(page.headers.vary || '', /Accept-Encoding/);
  const html = zlib.gunzipSync(page.body).toString('utf8');
  const plain = await raw(stack.base + '/');
  assert.equal(plain.headers['content-encoding'], undefined, 'a client without gzip gets the plain file');
  assert.equal(plain.body.toString('utf8'), html, 'the .gz holds the same page');
  assert.doesNotMatch(html, /<!--/, 'no HTML comment shipped');

  const refs = [...html.matchAll(/\b(?:src|href)="([^"#:]+)"/g)].map((m) => m[1]);
  const main = /<script type="module" src="([^"]+)">/.exec(html)?.[1];
  const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
  assert.ok(main, 'one module script');
  assert.ok(refs.length >= 4, 'stylesheet, icon, module, preloads: ' + refs.join(' '));
  const imported = new Set();
  for (const ref of refs) {
    const gz = await raw(stack.base + '/' + ref, { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.status, 200, ref);
    assert.equal(gz.headers['cache-control'], 'public, max-age=31536000, immutable', ref + ': cached a year');
    assert.equal(gz.headers['content-encoding'], 'gzip', ref + ': precompressed');
    const body = zlib.gunzipSync(gz.body);
    // The name is the content's hash: a changed file gets a new name.
    const hash = /\.([0-9a-f]{12})\.(?:js|css|svg)$/.exec(ref)?.[1];
    assert.equal(hash, crypto.createHash('sha256').update(body).digest('hex').slice(0, 12), ref + ': named by its hash');
    assert.ok(gz.headers['content-security-policy'], ref + ': the CSP on every file');
    const text = body.toString('utf8');
    if (ref.endsWith('.js')) {
      assert.match(gz.headers['content-type'] || '', /javascript/, 'modules need a JavaScript type (nosniff)');
      assert.doesNotMatch(text, /\/\*|^\s*\/\//m, ref + ': comments stripped');
      for (const m of text.matchAll(/\bfrom '\.\/([^']+)'/g))
        imported.add('js/' + m[1]);
    }
    if (ref.endsWith('.css'))
      assert.doesNotMatch(text, /\/\*/, ref + ': comments stripped');
  }
  // Every module main imports, directly or not, is preloaded with the page.
  assert.deepEqual([...imported].sort(), [...preloads].sort());
  // An old name is not served forever by a fallback: a missing file is a 404.
  assert.equal((await raw(stack.base + '/js/main.000000000000.js')).status, 404);

  // In Chromium: every module arrives from the page's own HTML (preloaded),
  // none discovered late by an import.
  const b = await openBrowser();
  try {
    const initiators = [];
    const cdp = await b.ctx.newCDPSession(b.page);
    await cdp.send('Network.enable');
    cdp.on('Network.requestWillBeSent', (e) => {
      if (/\.js$/.test(e.request.url))
        initiators.push([new URL(e.request.url).pathname, e.initiator.type, e.initiator.url || '']);
    });
    await b.page.goto(stack.base + '/');
    await b.page.locator('#view-login:not([hidden])').waitFor();
    assert.equal(initiators.length, 1 + preloads.length, JSON.stringify(initiators));
    for (const [p, , from] of initiators)
      assert.ok(from === '' || from === stack.base + '/', p + ' requested by the page, not by another module: ' + from);
    assert.deepEqual(b.problems, []);
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

test('console: the form offers what the server allows (GET /aap/config) and checks amounts by its rules', async () => {
  const b = await openBrowser();
  try {
    const { page } = b;
    await signIn(page, stack);
    const opts = await page.locator('#currency option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(opts, ['EUR', 'USD', 'JPY'], 'ALLOWED_CURRENCIES, in order');
    assert.equal(await page.locator('#currency').inputValue(), 'EUR', 'its first is the default');
    const preview = page.locator('#fields-preview');
    assert.equal(await preview.textContent(), 'The customer will key: card number, security code and expiry date.');
    await page.getByLabel('Bank account (ACH)').check();
    assert.equal(await preview.textContent(), 'The customer will key: routing number and account number.');
    assert.equal(await page.locator('#amount-hint').textContent(), '0 saves the bank account without charging it.');
    await page.locator('input[name="method"][value="credit-card"]').check();

    // JPY has no decimals: said before anything is sent.
    await page.getByRole('radio', { name: 'Call SID' }).check();
    await page.getByRole('textbox', { name: 'Call SID' }).fill('CA' + '0'.repeat(32));
    await page.getByLabel('Currency').selectOption('JPY');
    await page.getByLabel('Amount').fill('12.50');
    let sent = 0;
    page.on('request', (r) => { if (r.url().includes('/aap/startCapture')) sent++; });
    await page.locator('#start').click();
    const err = page.locator('#attach-error[role="alert"]:not([hidden])');
    await err.waitFor();
    assert.equal(await err.textContent(), '“12.50” has decimals, and JPY has none: type a whole amount, such as 1500.');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'amount');
    assert.equal(await page.locator('#amount').getAttribute('aria-invalid'), 'true');
    assert.equal(sent, 0, 'nothing sent');
    await screenshot(page, 'config-jpy-whole-amount');
    // Correcting the amount takes the error away.
    await page.getByLabel('Amount').fill('1250');
    assert.equal(await page.locator('#attach-error').isHidden(), true);
    assert.equal(await page.locator('#amount').getAttribute('aria-invalid'), null);
    // So does choosing a currency in which the amount is fine.
    await page.getByLabel('Amount').fill('12.5');
    await page.locator('#start').click();
    await err.waitFor();
    await page.getByLabel('Currency').selectOption('USD');
    assert.equal(await page.locator('#attach-error').isHidden(), true);
    assert.equal(await page.locator('#amount').getAttribute('aria-invalid'), null);
    assert.equal(sent, 0);
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});

/** Types an amount and presses Start; returns what the page said and what it sent. */
async function tryAmount(page, amount, currency) {
  const sent = [];
  const onReq = (r) => { if (r.url().endsWith('/aap/startCapture')) sent.push(JSON.parse(r.postData() || '{}')); };
  page.on('request', onReq);
  try {
    await page.getByLabel('Currency').selectOption(currency);
    await page.getByLabel('Amount').fill(amount);
    const preview = await page.locator('#amount-preview').evaluate((e) => (e.hidden ? null : e.textContent));
    const button = await page.locator('#start').textContent();
    await page.locator('#start').click();
    const err = page.locator('#attach-error[role="alert"]:not([hidden])');
    await err.waitFor();
    return { preview, button, error: await err.textContent(), sent, focus: await page.evaluate(() => document.activeElement?.id) };
  } finally {
    page.off('request', onReq);
  }
}

for (const [locale, comma, grouped] of [
  // An American agent: a comma separates thousands, so "12,34" is not
  // an amount and "1,000.00" is one thousand.
  ['en-US', { read: null, meant: '12.34' }, { read: '1000.00' }],
  // A German agent: the comma marks the decimals, the point groups.
  ['de-DE', { read: '12.34' }, { read: null, meant: '1000,00' }],
]) {
  test(`console: amounts in ${locale} - 12,34 and 1,000.00 in EUR and USD, read as the agent writes numbers, shown before the start`, async () => {
    const b = await openBrowser({ locale });
    try {
      const { page } = b;
      assert.equal(await page.evaluate(() => navigator.language), locale);
      await signIn(page, stack);
      await page.getByRole('radio', { name: 'Call SID' }).check();
      // No such call: the server answers 404 after reading the amount.
      await page.getByRole('textbox', { name: 'Call SID' }).fill('CA' + '0'.repeat(32));
      for (const currency of ['EUR', 'USD']) {
        for (const [typed, want] of [['12,34', comma], ['1,000.00', grouped]]) {
          const r = await tryAmount(page, typed, currency);
          const what = `${typed} ${currency} in ${locale}`;
          if (want.read) {
            assert.equal(r.preview, `The customer will be charged ${currency} ${want.read}.`, what);
            assert.equal(r.button, `Start payment of ${currency} ${want.read}`, what);
            assert.deepEqual(r.sent.map((x) => [x.chargeAmount, x.currency]), [[want.read, currency]], what + ': sent as shown');
            assert.equal(r.error, 'There is no call with that Call SID. Check it.', what);
          } else {
            assert.equal(r.preview, null, what + ': no amount shown for what cannot be read');
            assert.equal(r.button, 'Start payment', what);
            assert.deepEqual(r.sent, [], what + ': nothing sent');
            // Says how it was read and what to type for what was probably meant.
            assert.match(r.error, new RegExp('^“' + typed.replace(/\./g, '\\.') + '” is not clear: in your number format'), what);
            assert.ok(r.error.endsWith(`If you mean ${currency} ${want.meant.replace(',', '.')}, type ${want.meant}.`), what + ': ' + r.error);
            assert.equal(r.focus, 'amount', what);
            assert.equal(await page.locator('#amount').getAttribute('aria-invalid'), 'true');
          }
        }
      }
      await page.getByLabel('Currency').selectOption('EUR');
      await page.getByLabel('Amount').fill(locale === 'en-US' ? '1,000.00' : '12,34');
      await page.locator('#amount-preview:not([hidden])').waitFor();
      await screenshot(page, `amount-understood-${locale}`);
      await page.getByLabel('Amount').fill(locale === 'en-US' ? '12,34' : '1,000.00');
      await page.locator('#start').click();
      await page.locator('#attach-error[role="alert"]:not([hidden])').waitFor();
      await screenshot(page, `amount-refused-${locale}`);
      assert.deepEqual(b.problems, []);
    } finally {
      await b.close();
    }
  });
}

test('console: without GET /aap/config the form still works, with a short list of its own', async () => {
  const b = await openBrowser();
  try {
    const { page } = b;
    await page.route('**/aap/config', (r) => r.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"down"}' }));
    await signIn(page, stack);
    const opts = await page.locator('#currency option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(opts, ['USD', 'EUR', 'GBP', 'AUD', 'CAD', 'NZD']);
    assert.equal(await page.locator('#start').isEnabled(), true);
    assert.equal(await page.locator('#fields-preview').textContent(),
      'The customer will key: card number, security code and expiry date.');
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});

test('console: a call that cannot be found is said in the agent\'s words', async () => {
  const b = await openBrowser();
  try {
    const { page } = b;
    await signIn(page, stack);
    await page.getByRole('textbox', { name: 'Conversation id or UUI' }).fill('no-such-conversation');
    await page.getByLabel('Amount').fill('5');
    await page.locator('#start').click();
    const err = page.locator('#attach-error[role="alert"]:not([hidden])');
    await err.waitFor();
    assert.match(await err.textContent(), /^No call was found for that conversation id or UUI\. Check it/);
    assert.doesNotMatch(await err.textContent(), /uuiMap/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'attach-id');
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});

