// harness.mjs - what the browser tests share: the real stack on free
// ports (stack-run.sh around scripts/stack.sh), Debian's Chromium driven
// by playwright-core, the emulator's control API, and screenshots.
//
// Every test file starts its own stack (test files run one at a time,
// tests/run --test-concurrency=1) and every test its own browser with a
// fresh profile, so sessionStorage never leaks between tests.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const shotDir = path.join(top, 'test-output', 'browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Starts the stack.  `env`: NAME=VALUE overrides of the sandbox env file;
 * `render`: environment for scripts/render-nginx (FRAME_ANCESTORS).
 */
export async function startStack({ env = {}, render = {}, nodes = 1 } = {}) {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'genesyspay-browser-'));
  const child = spawn('bash', [path.join(top, 'tests/browser/stack-run.sh'), run,
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`)], {
    cwd: top,
    env: { ...process.env, ...render, B: process.env.B || 'build', STACK_NODES: String(nodes) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  lines.on('line', (l) => { const w = waiting.shift(); if (w) w(l); });
  const nextLine = () => new Promise((resolve, reject) => {
    waiting.push(resolve);
    exited.then((code) => reject(new Error(`stack-run exited (${code}): ${stderr.slice(-4000)}`)));
  });
  let first;
  try {
    first = await nextLine();
  } catch (e) {
    fs.rmSync(run, { recursive: true, force: true });
    throw e;
  }
  const m = /^ready (\d+) (\d+)$/.exec(first);
  if (!m) {
    child.kill('SIGTERM');
    fs.rmSync(run, { recursive: true, force: true });
    throw new Error('stack-run: ' + first + '\n' + stderr);
  }
  const envText = fs.readFileSync(path.join(run, 'env'), 'utf8');
  const envVars = Object.fromEntries(envText.split('\n').filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const pwFile = path.join(run, 'agent-password');
  const stack = {
    run,
    base: `http://127.0.0.1:${m[1]}`,
    sim: `http://127.0.0.1:${m[2]}`,
    env: envVars,
    agent: { username: 'agent', password: fs.existsSync(pwFile) ? fs.readFileSync(pwFile, 'utf8').trim() : '' },
    /** nginx-stop / nginx-start; with nodes: node-stop N, node-start N, redis-stop, redis-start */
    async command(cmd) {
      child.stdin.write(cmd + '\n');
      const answer = await nextLine();
      if (answer !== 'done ' + cmd)
        throw new Error(`stack-run ${cmd}: ${answer}`);
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin.end('quit\n');
        const t = setTimeout(() => child.kill('SIGTERM'), 10000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(run, { recursive: true, force: true });
    },
    log(name) {
      try { return fs.readFileSync(path.join(run, 'log', name), 'utf8'); } catch { return ''; }
    },
  };
  return stack;
}

/**
 * A fresh Chromium with its own profile; collects page errors and CSP
 * violations.  `thirdPartyCookies`: allow them, as an agent's Chrome does by
 * default (Debian's Chromium here blocks them, and with them all storage
 * of a cross-site iframe such as the console in a Genesys Cloud widget).
 * `locale`: the agent's language (navigator.language: how numbers are
 * written); `colorScheme`: light or dark.
 */
export async function openBrowser({ width = 1000, height = 900, thirdPartyCookies = false, locale = 'en-US', colorScheme = 'light' } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'genesyspay-chromium-'));
  if (thirdPartyCookies) {
    fs.mkdirSync(path.join(profile, 'Default'));
    fs.writeFileSync(path.join(profile, 'Default', 'Preferences'),
      JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
  }
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width, height },
    locale,
    colorScheme,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  // Records what the page says through its aria-live region, in order,
  // so a test can check every announcement (the region only holds the last).
  await ctx.addInitScript(() => {
    window.__announced = [];
    document.addEventListener('DOMContentLoaded', () => {
      const a = document.getElementById('announcer');
      if (a)
        new MutationObserver(() => { if (a.textContent) window.__announced.push(a.textContent); })
          .observe(a, { childList: true, characterData: true, subtree: true });
    });
  });
  const page = ctx.pages()[0] ?? await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text()))
      problems.push('CSP: ' + msg.text());
  });
  return {
    ctx,
    page,
    problems,
    async close() {
      await ctx.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as test-output/browser/NAME.png; returns the path. */
export async function screenshot(page, name) {
  fs.mkdirSync(shotDir, { recursive: true });
  const file = path.join(shotDir, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function json(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok)
    throw new Error(`${method} ${url}: ${r.status} ${text}`);
  return data;
}

/** A card expiry (MMYY) four years ahead, so the tests never go stale: "1230" in 2026. */
export const EXPIRY = '12' + String((new Date().getUTCFullYear() + 4) % 100).padStart(2, '0');
/** EXPIRY as the console shows it: "12/30". */
export const EXPIRY_SHOWN = EXPIRY.slice(0, 2) + '/' + EXPIRY.slice(2);

/** The emulator's control API (DESIGN.md "The emulator"). */
export function sim(stack) {
  return {
    /** An inbound PSTN call to the sandbox number: returns the call view. */
    inboundCall: (from = '+15005550100') => json('POST', `${stack.sim}/sim/calls`,
      { from, to: stack.env.SIM_PHONE_NUMBER || '+15005550006' }),
    /** A call from the contact centre's SIP side, carrying a Genesys conversation id. */
    outboundCall: (to, conversationId) => json('POST', `${stack.sim}/sim/calls`, {
      from: 'sip:+15005550199@' + (stack.env.SIP_DOMAIN_URI || 'sandbox.sip.twilio.com'),
      to: `sip:${to}@${stack.env.SIP_DOMAIN_URI || 'sandbox.sip.twilio.com'}`,
      sipHeaders: { 'x-inin-cnv': conversationId },
    }),
    digits: (sid, digits) => json('POST', `${stack.sim}/sim/calls/${sid}/digits`, { digits }),
    hangup: (sid) => json('POST', `${stack.sim}/sim/calls/${sid}/hangup`, {}),
    call: (sid) => json('GET', `${stack.sim}/sim/calls/${sid}`),
  };
}

/**
 * payMap as Twilio Sync holds it (the emulator's Sync REST, with the
 * account's credentials): item(key) -> its data or null; items() -> every
 * {key, data}.
 */
export function payMap(stack) {
  const e = stack.env;
  const base = `${stack.sim}/v1/Services/${e.PAY_SYNC_SERVICE_SID}/Maps/${e.SYNC_PAY_MAP_NAME || 'payMap'}/Items`;
  const auth = { Authorization: 'Basic ' + Buffer.from(e.ACCOUNT_SID + ':' + e.AUTH_TOKEN).toString('base64') };
  return {
    async item(key) {
      const r = await fetch(base + '/' + encodeURIComponent(key), { headers: auth });
      if (r.status === 404)
        return null;
      if (!r.ok)
        throw new Error(`payMap ${key}: ${r.status} ${await r.text()}`);
      return (await r.json()).data;
    },
    async items() {
      const out = [];
      for (let url = base + '?PageSize=100'; url;) {
        const r = await fetch(url, { headers: auth });
        if (!r.ok)
          throw new Error(`payMap list: ${r.status} ${await r.text()}`);
        const j = await r.json();
        out.push(...j.items.map((i) => ({ key: i.key, data: i.data })));
        url = j.meta?.next_page_url || null;
      }
      return out;
    },
  };
}

/* ---------------------------------------------------------------- console */

/** Opens the console (optionally with a query string) and signs in as the sandbox agent. */
export async function signIn(page, stack, query = '') {
  await page.goto(stack.base + '/' + query);
  await page.getByLabel('Agent name').fill(stack.agent.username);
  await page.getByLabel('Password').fill(stack.agent.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-attach:not([hidden]), #view-session:not([hidden])').waitFor();
}

/** Fills the attach form and starts the payment. */
export async function startPayment(page, { uui, callSid, amount = '9.99', currency = 'USD', ach = false, holder = 'Jane Q Public' } = {}) {
  if (uui || callSid) {
    await page.getByRole('radio', { name: callSid ? 'Call SID' : 'Conversation id or UUI' }).check();
    await page.getByRole('textbox', { name: callSid ? 'Call SID' : 'Conversation id or UUI' }).fill(callSid || uui);
  }
  await page.getByLabel('Amount').fill(amount);
  await page.getByLabel('Currency').selectOption(currency);
  if (ach) {
    await page.getByLabel('Bank account (ACH)').check();
    await page.getByLabel('Account holder’s name').fill(holder);
  }
  await page.locator('#start').click();
  await page.locator('#view-session:not([hidden])').waitFor();
}

/** A field row of the live view. */
export function field(page, name) {
  return page.locator(`#fields li[data-field="${name}"]`);
}

/** Waits until the field row shows `state` (waiting, keying, captured, invalid). */
export async function fieldState(page, name, state, timeout = 15000) {
  await page.locator(`#fields li[data-field="${name}"][data-state="${state}"]`).waitFor({ timeout });
}

/** Waits until Twilio (the emulator) is asking for `name`. */
export async function asking(page, name, timeout = 15000) {
  await page.locator(`#fields li[data-field="${name}"][data-current="true"]`).waitFor({ timeout });
}

/** Waits until the page has announced (aria-live) something matching `re`. */
export async function announced(page, re, timeout = 15000) {
  await page.waitForFunction((src) => window.__announced.some((s) => new RegExp(src).test(s)), re.source, { timeout });
}

/** The outcome's facts as {label: value}. */
export async function facts(page) {
  return page.locator('#outcome-facts').evaluate((dl) => {
    const o = {};
    for (const dt of dl.querySelectorAll('dt'))
      o[dt.textContent] = dt.nextElementSibling?.textContent ?? '';
    return o;
  });
}

/** Waits for the final outcome panel; returns its kind and title. */
export async function outcome(page, timeout = 20000) {
  const o = page.locator('#outcome:not([hidden])');
  await o.waitFor({ timeout });
  return { kind: await o.getAttribute('data-kind'), title: await page.locator('#outcome-title').textContent() };
}

/* ---------------------------------------------------------------- contrast */

/**
 * WCAG 2 contrast of every piece of visible text inside `selector`, from
 * computed styles: the text colour over the background actually behind it
 * (the backgrounds of the element and its ancestors, composited), each
 * faded by any opacity on the way (an element fading with opacity blends
 * its text and background into what lies behind it).  With `animations`,
 * every running animation is paused at 0, 1/8, ..., 7/8 of its duration
 * and measured there too, so a pulse cannot dip unseen.  Returns
 * [{ what, text, ratio, at }], lowest ratio first.
 */
export async function contrasts(page, selector, { animations = true } = {}) {
  return page.evaluate(({ selector, animations }) => {
    const parse = (c) => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m)
        return [0, 0, 0, 0];
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, under) => { // both [r,g,b,a]; under opaque
      const a = top[3];
      return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
    };
    const mix = (c, under, o) => [0, 1, 2].map((i) => c[i] * o + under[i] * (1 - o)).concat(1);
    const lum = (c) => {
      const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const measure = (el) => {
      const chain = [];
      for (let n = el; n; n = n.parentElement)
        chain.unshift(n);
      // The canvas: the root's background, else white.
      let bg = [255, 255, 255, 1];
      const under = [];
      for (const n of chain) {
        under.push(bg);
        bg = over(parse(getComputedStyle(n).backgroundColor), bg);
      }
      let text = over(parse(getComputedStyle(el).color), bg);
      for (let i = chain.length - 1; i >= 0; i--) {
        const o = Number(getComputedStyle(chain[i]).opacity);
        if (o < 1) {
          text = mix(text, under[i], o);
          bg = mix(bg, under[i], o);
        }
      }
      return ratio(text, bg);
    };
    const texts = () => [...document.querySelectorAll(selector + ', ' + selector + ' *')].filter((el) => {
      if (el.closest('[hidden], .sr-only') || el.getClientRects().length === 0)
        return false;
      if (el.matches('button:disabled'))
        return false; // WCAG 1.4.3: inactive controls are exempt
      return [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    });
    const describe = (el) => {
      const row = el.closest('[data-field]');
      return (row ? row.dataset.field + '[' + row.dataset.state + (row.dataset.current === 'true' ? ',current' : '') + '] ' : '') +
        el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '');
    };
    const out = [];
    const take = (at) => {
      for (const el of texts())
        out.push({ what: describe(el), text: el.textContent.trim().slice(0, 40), ratio: Math.round(measure(el) * 100) / 100, at });
    };
    take('now');
    if (animations) {
      for (const a of document.getAnimations()) {
        const d = Number(a.effect?.getComputedTiming().duration) || 0;
        a.pause();
        for (let k = 0; k < 8; k++) {
          a.currentTime = (d * k) / 8;
          take((a.animationName || 'animation') + '@' + k + '/8');
        }
        a.play();
      }
    }
    return out.sort((x, y) => x.ratio - y.ratio);
  }, { selector, animations });
}
