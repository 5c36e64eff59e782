// live-latency: how long a Twilio status callback takes to reach the
// agents watching the session.  Starts a capture on a call, opens N
// EventSource streams on its channel, then posts K signed progress
// callbacks to /sync/paySyncUpdate one at a time, timing each from just
// before the POST to its arrival at every subscriber.
//
//   node bench/live-latency.mjs --base URL --token AGENT_TOKEN --call CA...
//        --auth-token T --account AC... --subscribers N --messages K
// Prints: messages=K p50=.. p95=.. max=.. delivered=got/expected (ms)
import http from 'node:http';
import crypto from 'node:crypto';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const base = arg('base');
const agentToken = arg('token');
const call = arg('call');
const authToken = arg('auth-token');
const account = arg('account');
const nsub = Number(arg('subscribers', '1'));
const nmsg = Number(arg('messages', '40'));

function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const r = http.request(base + path, { method, headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    r.on('error', reject);
    if (body) r.write(body);
    r.end();
  });
}

// Twilio's X-Twilio-Signature (twilio-contract.md section 9).
function sign(url, params) {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  return crypto.createHmac('sha1', authToken).update(data).digest('base64');
}

function subscribe(url, onMessage) {
  return new Promise((resolve, reject) => {
    const r = http.get(base + url, { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`subscribe: HTTP ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const now = performance.now();
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          // Only seq is needed: a regex instead of JSON.parse keeps the
          // client's own work (1,000 subscribers on one event loop) out of
          // the figure as far as possible.
          const m = /"seq":\s*(\d+)/.exec(data);
          if (m) onMessage({ seq: Number(m[1]) }, now);
        }
      });
      resolve(r);
    });
    r.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const start = await request('POST', '/aap/startCapture',
  { 'Content-Type': 'application/json', Authorization: `Bearer ${agentToken}` },
  JSON.stringify({ callSid: call, chargeAmount: '9.99', currency: 'USD' }));
if (start.status !== 201) {
  console.log(`error=startCapture-${start.status} ${start.body}`);
  process.exit(1);
}
const s = JSON.parse(start.body);
await sleep(1000); // the emulator's own capture-start callbacks settle

// arrivals[k][subscriber] = time the first message with seq >= k arrived
const lastSeq = new Array(nsub).fill(0);
const waiters = [];
const conns = [];
// Each subscription takes its own ticket (docs/api.md "Credentials": one use each).
async function ticketUrl() {
  const t = await request('POST', '/aap/events-ticket',
    { 'Content-Type': 'application/json', Authorization: `Bearer ${agentToken}`, 'X-Session-Token': s.sessionToken },
    JSON.stringify({ paymentSid: s.paymentSid }));
  if (t.status !== 200) {
    console.log(`error=events-ticket-${t.status} ${t.body}`);
    process.exit(1);
  }
  return JSON.parse(t.body).eventsUrl;
}
for (let j = 0; j < nsub; j++) {
  conns.push(await subscribe(await ticketUrl(), (state, now) => {
    if (state.seq > lastSeq[j]) lastSeq[j] = state.seq;
    for (const w of waiters) w(j, state.seq, now);
  }));
}
await sleep(Math.min(5000, 500 + nsub * 2)); // every subscription settled (nothing is replayed)

const url = `${base}/sync/paySyncUpdate`;
const lat = [];
let delivered = 0;
for (let k = 1; k <= nmsg; k++) {
  const floor = Math.max(...lastSeq);
  const params = {
    AccountSid: account, CallSid: call, Sid: s.paymentSid, PaymentMethod: 'credit-card',
    Capture: 'payment-card-number', PartialResult: 'true',
    PaymentCardNumber: 'x'.repeat((k % 15) + 1),
    Required: 'payment-card-number,security-code,expiration-date',
    DateUpdated: new Date(Date.now() + k).toISOString(),
  };
  const body = new URLSearchParams(params).toString();
  const got = new Set();
  const done = new Promise((resolve) => {
    const t = setTimeout(resolve, 5000);
    waiters.push((j, seq, now) => {
      if (seq > floor && !got.has(j)) {
        got.add(j);
        lat.push(now - t0);
        if (got.size === nsub) { clearTimeout(t); resolve(); }
      }
    });
  });
  const t0 = performance.now();
  const r = await request('POST', '/sync/paySyncUpdate', {
    'Content-Type': 'application/x-www-form-urlencoded',
    'X-Twilio-Signature': sign(url, params),
  }, body);
  if (r.status !== 200) console.error(`callback ${k}: HTTP ${r.status} ${r.body}`);
  await done;
  waiters.length = 0;
  delivered += got.size;
}

for (const c of conns) c.destroy();
await request('POST', '/aap/changeStatus', {
  'Content-Type': 'application/json', Authorization: `Bearer ${agentToken}`, 'X-Session-Token': s.sessionToken,
}, JSON.stringify({ paymentSid: s.paymentSid, status: 'cancel' }));

lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : NaN);
console.log(`messages=${nmsg} p50=${pct(50).toFixed(2)} p95=${pct(95).toFixed(2)} max=${(lat.at(-1) ?? NaN).toFixed(2)} delivered=${delivered}/${nmsg * nsub}`);
process.exit(0);
