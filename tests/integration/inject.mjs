// inject.mjs - the injection cases of test_security_hostile_requests.sh in one process:
// every field of every webhook (and one field Twilio never sends) set to
// each attack payload, the request signed as Twilio signs it (so the
// handler acts on it), sent through nginx.
//
//   node inject.mjs CASES.json OUTDIR
//
// CASES.json: {"base", "signBase", "authToken", "payloads": [base64...],
//              "endpoints": [{"name", "path", "params": [[name, value]...]}]}
// Prints one line per request:  ok|not ok <TAB> label <TAB> why
// and writes each XML answer to OUTDIR/<n>.xml for xmllint (the caller
// checks those: well-formedness is xmllint's to judge).  Checked here:
// no 5xx, no injected header, an XML or JSON content type, valid JSON,
// no raw "<evil" markup in XML.
//
// The signature is computed here from Twilio's published algorithm
// (twilio-contract.md 9) over the raw bytes, independently of twilio-post.
import { readFileSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import http from 'node:http';

const [casesFile, outDir] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
// The caller's payloads, plus two a shell argument cannot carry: a raw NUL
// byte (sent as %00) and a value of 30000 bytes.
const payloads = cases.payloads.map((b) => Buffer.from(b, 'base64')).concat([
  Buffer.from('A\0<evil/>'),
  Buffer.concat([Buffer.alloc(30000, 'x'), Buffer.from('<evil/>')]),
]);

// application/x-www-form-urlencoded over bytes.
function enc(buf) {
  let s = '';
  for (const b of buf) {
    const c = String.fromCharCode(b);
    s += /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

function sign(url, pairs) {
  const sorted = [...pairs].sort((a, b) => Buffer.compare(a[0], b[0]) || Buffer.compare(a[1], b[1]));
  const h = createHmac('sha1', cases.authToken);
  h.update(Buffer.from(url));
  for (const [n, v] of sorted) { h.update(n); h.update(v); }
  return h.digest('base64');
}

function send(path, pairs) {
  const body = pairs.map(([n, v]) => enc(n) + '=' + enc(v)).join('&');
  const sig = sign(cases.signBase + path, pairs);
  return new Promise((resolve, reject) => {
    const rq = http.request(cases.base + path, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': Buffer.byteLength(body),
        'X-Twilio-Signature': sig,
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    rq.on('error', reject);
    rq.end(body);
  });
}

let n = 0;
for (const e of cases.endpoints) {
  const base = e.params.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]);
  const names = [...base.map(([k]) => k), Buffer.from('Injected')];
  for (const name of names) {
    for (const [pi, p] of payloads.entries()) {
      const pairs = base.filter(([k]) => !k.equals(name)).concat([[name, p]]);
      const label = `${e.name} ${name}=payload${pi}`;
      let why = '';
      try {
        const r = await send(e.path, pairs);
        const ct = r.headers['content-type'] || '';
        if (r.status >= 500) why = `answered ${r.status}`;
        else if (Object.keys(r.headers).some((h) => h.startsWith('x-injected'))) why = 'a header was injected';
        else if (/xml/.test(ct)) {
          if (r.body.includes('<evil')) why = 'markup reflected: ' + r.body.toString('latin1').slice(0, 300);
          writeFileSync(`${outDir}/${++n}.xml`, r.body);
          writeFileSync(`${outDir}/${n}.label`, label);
        } else if (/json/.test(ct)) {
          try { JSON.parse(r.body.toString('utf8')); } catch { why = 'invalid JSON: ' + r.body.toString('latin1').slice(0, 300); }
        } else {
          why = `answered with content type "${ct}"`;
        }
      } catch (err) {
        why = 'request failed: ' + err.message;
      }
      console.log(`${why ? 'not ok' : 'ok'}\t${label}\t${why}`);
    }
  }
}
