// reconnect.mjs - EventSource reconnects, all at once, for the shell
// integration tests: each request is sent, its answer's status line read,
// and the connection dropped (as a browser does when it goes away).
//
//   node reconnect.mjs NAME=URL [NAME:Header: value ...] ...
//
// Arguments: "NAME=URL" starts a request; the "NAME:Header: value"
// arguments after it add headers to it.  Prints "NAME STATUS" per request,
// in argument order; STATUS is 000 when no answer came within 15 s.
import http from 'node:http';

const reqs = [];
for (const a of process.argv.slice(2)) {
	const eq = a.indexOf('='), colon = a.indexOf(':');
	if (eq > 0 && (colon < 0 || eq < colon)) {
		reqs.push({ name: a.slice(0, eq), url: a.slice(eq + 1), headers: { Accept: 'text/event-stream' } });
	} else if (colon > 0 && reqs.length) {
		const h = a.slice(colon + 1), c = h.indexOf(':');
		reqs[reqs.length - 1].headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
	}
}
const status = (r) => new Promise((resolve) => {
	const req = http.get(r.url, { headers: r.headers, agent: false });
	const timer = setTimeout(() => { req.destroy(); resolve('000'); }, 15000);
	req.on('response', (res) => { clearTimeout(timer); req.destroy(); resolve(String(res.statusCode)); });
	req.on('error', () => { clearTimeout(timer); resolve('000'); });
});
const got = await Promise.all(reqs.map(status));
reqs.forEach((r, i) => console.log(r.name + ' ' + got[i]));
