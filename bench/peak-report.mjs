// peak-report.mjs - writes a bench/peak.mjs summary into bench/RESULTS.md:
// the "Contact-centre peak" section (the latest run, replaced) and one row
// appended to the "recorded runs" table below it, which every run keeps,
// so a before and an after sit side by side.  Everything from the
// "<!-- peak -->" line to the end of the file is this script's; what is
// above it is scripts/bench's.
//
//   node bench/peak-report.mjs SUMMARY.json RESULTS.md --label TEXT
//        --commit HASH --workers N --latency MEAN,JITTER --key-ms MIN,MAX
import fs from 'node:fs';

const [summaryFile, resultsFile, ...rest] = process.argv.slice(2);
const opt = (name, def = '') => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : def;
};
const s = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
const old = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '# Benchmark results\n';
const mark = '<!-- peak -->';
const head = old.includes(mark) ? old.slice(0, old.indexOf(mark)) : old.replace(/\n*$/, '\n\n');
const histStart = '<!-- peak-runs -->', histEnd = '<!-- /peak-runs -->';
const oldRows = old.includes(histStart)
  ? old.slice(old.indexOf(histStart) + histStart.length, old.indexOf(histEnd)).split('\n').filter((l) => /^\| \d{4}-/.test(l))
  : [];

const v = (x, unit = '') => (x === null || x === undefined ? '-' : `${x}${unit}`);
const mib = (kib) => (kib ? (kib / 1024).toFixed(1) : '-');
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const w = s.webhooks, k = s.keyToAgent, kp = s.keyPressToAgent, p = s.peak, c = s.cpu;
const reasons = Object.entries(s.failedReasons).sort((a, b) => b[1] - a[1])
  .map(([r, n]) => `${n} × ${r}`).join('; ');
const outcomes = Object.entries(w.outcomes).map(([o, n]) => `${o} ${n}`).join(', ');

const section = `${mark}
## Contact-centre peak

Written by \`scripts/bench peak\` (also the last part of \`make bench\`) on ${date}, commit ${opt('commit')}: ${opt('label')}.
${s.customers} customers, each on its own call, started over ${opt('ramp', '5')} s; a key every ${opt('key-ms')} ms
(one customer in ten first keys a card number that fails the Luhn check); the emulator adds
${opt('latency')} ms (mean,jitter) to every REST, Sync, webhook and connector request; ${opt('workers')} workers per handler.
Driver: \`bench/peak.mjs\` (node, keep-alive connections, one EventSource stream per agent).

| figure | value | goal |
|---|---|---|
| payments completed / failed | **${s.completed} / ${s.failed}**${s.failed ? ` (${reasons})` : ''} | all completed |
| payment duration, call placed → outcome, p50 / p95 / max | ${v(s.payment.p50, ' s')} / ${v(s.payment.p95, ' s')} / ${v(s.payment.max, ' s')} | |
| startCapture (agent's request → answer) p50 / p95 / max | ${v(s.startCapture.p50, ' ms')} / ${v(s.startCapture.p95, ' ms')} / ${v(s.startCapture.max, ' ms')} | |
| webhook answer time p50 / p99 / max (${w.n} webhooks) | ${v(w.p50, ' ms')} / ${v(w.p99, ' ms')} / ${v(w.max, ' ms')} | max < 15 s |
| webhooks not answered within 15 s | **${w.over15s}** (${outcomes}) | 0 |
| key → agent (emulator sends the key's callback → EventSource message) p50 / p95 / p99 (${k.n} keys) | ${v(k.p50, ' ms')} / **${v(k.p95, ' ms')}** / ${v(k.p99, ' ms')} | p95 ≤ 400 ms |
| key pressed → agent sees it (adds the webhook's latency and the call's queue) p50 / p95 / p99 | ${v(kp.p50, ' ms')} / ${v(kp.p95, ' ms')} / ${v(kp.p99, ' ms')} | |
| handler processes / threads at the peak; busy (not waiting for a connection) | ${p.handlerProcs} / ${p.handlerThreads}; ${p.handlerBusy} busy${p.inFlight !== null && p.inFlight !== undefined ? `; ${p.inFlight} requests in flight (/metrics)` : ''} | |
| stack RSS / PSS at the peak (nginx + handlers of this run only) | ${mib(p.stackRssKiB)} / **${mib(p.stackPssKiB)} MiB** (handlers ${mib(p.handlersPssKiB)}, nginx ${mib(p.nginxPssKiB)} MiB PSS) | PSS ≤ 256 MB |
| the same, idle before the run | ${mib(s.idle.stackRssKiB)} / ${mib(s.idle.stackPssKiB)} MiB${s.idle.nginxPssKiB !== undefined ? ` (handlers ${mib(s.idle.handlersPssKiB)}, nginx ${mib(s.idle.nginxPssKiB)} MiB PSS; ${s.idle.handlerProcs} handler processes, ${s.idle.handlerThreads} threads)` : ''} | |
| most payments in progress at once | ${s.maxActive} | ${s.customers} |
| CPU (% of one core, over the run): handlers / nginx / emulator / driver (of which /proc sampling); machine busy, every user's | ${c.handlersPct} / ${c.nginxPct} / ${c.simPct} / ${c.driverPct} (${c.driverSamplingPct}) %; ${c.machineBusyPct} % of ${opt('cores', '2')} cores | |
| CPU ms per webhook: stack (nginx + handlers) / emulator / driver (without sampling) | ${c.perWebhookMs ? `${c.perWebhookMs.stack} / ${c.perWebhookMs.sim} / ${c.perWebhookMs.driver}` : '-'} | |
| run time | ${s.wallSeconds} s | |

CPU per webhook is each part's CPU over the run divided by the webhooks delivered: an upper bound
(at low throughput every process's fixed costs weigh in; the driver's node HTTP client alone costs
about 0.12 ms a request when busy).  The machine's busy share counts every user of it.
Webhook answer time is the emulator's own record (\`GET /sim/requests?dir=out\`: sent → answered);
its queue wait before sending (latency included) was p50 ${v(w.emulatorWait.p50, ' ms')}, p99 ${v(w.emulatorWait.p99, ' ms')}.
${s.keyUnmatched ? `${s.keyUnmatched} key callbacks had no matching EventSource message (a lost or late callback).\n` : ''}${w.recordsTruncated ? 'Some emulator records were dropped before the driver read them (raise SIM_REQUESTS_KEPT).\n' : ''}${s.retries503 ? `${s.retries503} agent requests were refused with 503 and retried after Retry-After.\n` : ''}Memory and threads are sampled every second from /proc for the processes this run started
(the handler supervisors, nginx, and their children); the emulator (Twilio's side) is not the stack:
its peak was ${mib(p.simRssKiB)} MiB RSS, ${p.simThreads} threads.

### Recorded runs

Each \`scripts/bench peak\` run adds a row; rows are kept.

${histStart}
| date | commit | run | customers | completed / failed | webhook p50 / p99 / max ms | over 15 s | key → agent p50 / p95 / p99 ms | handler procs / threads / busy | stack PSS / RSS MiB at peak | run s |
|---|---|---|---:|---|---|---:|---|---|---|---:|
${[...oldRows, `| ${date} | ${opt('commit')} | ${opt('label')} | ${s.customers} | ${s.completed} / ${s.failed} | ${v(w.p50)} / ${v(w.p99)} / ${v(w.max)} | ${w.over15s} | ${v(k.p50)} / ${v(k.p95)} / ${v(k.p99)} | ${p.handlerProcs} / ${p.handlerThreads} / ${p.handlerBusy} | ${mib(p.stackPssKiB)} / ${mib(p.stackRssKiB)} | ${s.wallSeconds} |`].join('\n')}
${histEnd}
`;
fs.writeFileSync(resultsFile, head + section);
