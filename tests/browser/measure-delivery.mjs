// measure-delivery.mjs - how the agent console reaches a browser: requests,
// bytes on the wire and time until the sign-in form is usable, in
// Chromium over a simulated slow link (CDP network emulation), for a first
// visit (empty cache) and a second one (the same browser opens the console
// again).
//
//   node tests/browser/measure-delivery.mjs [--rtt MS] [--runs N]
//
// A measurement, not a test: it asserts nothing (performance targets live
// in `make bench`, never in tests).  Starts its own stack on free ports
// (B=build folder, default build).  Prints one line per visit kind with
// the median over the runs.
import { openBrowser, startStack } from './harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RTT_MS = arg('--rtt', 150);
const RUNS = arg('--runs', 5);

async function visit(page, cdp) {
  const reqs = new Map();
  const cached = new Set();
  const onResp = (e) => {
    reqs.set(e.requestId, { url: e.response.url, status: e.response.status, bytes: 0 });
    if (e.response.fromDiskCache)
      cached.add(e.requestId);
  };
  const onCache = (e) => cached.add(e.requestId);
  const sent = new Map();
  let docStart = null;
  let jsDone = 0;
  const onSent = (e) => {
    sent.set(e.requestId, e.request.url);
    if (e.type === 'Document' && docStart === null)
      docStart = e.timestamp;
  };
  const onDone = (e) => {
    const r = reqs.get(e.requestId);
    if (r)
      r.bytes = e.encodedDataLength;
    if (/\.js$/.test(sent.get(e.requestId) || ''))
      jsDone = Math.max(jsDone, e.timestamp);
  };
  cdp.on('Network.requestWillBeSent', onSent);
  cdp.on('Network.responseReceived', onResp);
  cdp.on('Network.requestServedFromCache', onCache);
  cdp.on('Network.loadingFinished', onDone);
  const t0 = Date.now();
  await page.goto(process.env.MEASURE_URL, { waitUntil: 'commit' });
  // Usable: the script ran and showed the sign-in form.
  await page.locator('#view-login:not([hidden])').waitFor({ timeout: 60000 });
  const ms = Date.now() - t0;
  await page.waitForLoadState('networkidle');
  cdp.off('Network.responseReceived', onResp);
  cdp.off('Network.requestServedFromCache', onCache);
  cdp.off('Network.loadingFinished', onDone);
  cdp.off('Network.requestWillBeSent', onSent);
  /* What went over the network: not the console's API, not the cache. */
  const list = [...reqs.entries()].filter(([id, r]) => !r.url.includes('/aap/') && !cached.has(id))
    .map(([, r]) => r);
  return {
    ms,
    /* network only: from the page's request to the last module received */
    modulesMs: Math.round((jsDone - docStart) * 1000),
    requests: list.length,
    bytes: list.reduce((s, r) => s + r.bytes, 0),
    statuses: list.map((r) => r.status + ' ' + new URL(r.url).pathname).sort(),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const stack = await startStack();
try {
  process.env.MEASURE_URL = stack.base + '/';
  const cold = [];
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    const b = await openBrowser();
    try {
      const cdp = await b.ctx.newCDPSession(b.page);
      await cdp.send('Network.enable');
      // Half the round trip each way; a generous bandwidth (the point is
      // round trips, not throughput): 10 Mbit/s down, 2 up.
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: RTT_MS, downloadThroughput: 10e6 / 8, uploadThroughput: 2e6 / 8,
      });
      cold.push(await visit(b.page, cdp));
      warm.push(await visit(b.page, cdp));
    } finally {
      await b.close();
    }
  }
  for (const [name, runs] of [['first visit', cold], ['second visit', warm]]) {
    console.log(`${name}: ${median(runs.map((r) => r.requests))} requests, ` +
      `${median(runs.map((r) => r.bytes))} bytes transferred, sign-in form after ` +
      `${median(runs.map((r) => r.ms))} ms, every module in hand after ${median(runs.map((r) => r.modulesMs))} ms ` +
      `(median of ${RUNS}, RTT ${RTT_MS} ms)`);
    console.log('  ' + runs[0].statuses.join(', '));
  }
} finally {
  await stack.stop();
}
