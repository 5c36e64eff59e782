// slow-flood.mjs - a slow-connection flood from one address, for
// test_flood.sh: COUNT sockets bound to FROM, each sending a request that
// never ends, one more header line (MODE header) or body byte (MODE body:
// the header is whole, Content-Length promises more) every 2 s.  Sockets
// are not reopened: they stay until the server closes them or this
// process is killed.
//
//   node slow-flood.mjs HOST PORT FROM COUNT MODE PATH STATUS_FILE
//
// STATUS_FILE is rewritten every 250 ms with one JSON object:
//   started    sockets asked for so far (all COUNT once "ready")
//   ready      every socket has connected or failed to
//   open       connected and not closed yet
//   failed     could not connect (refused, reset before connecting)
//   answered   {"<status>": n}: answered (429, 408, ...), then closed here
//   dropped    closed by the server without any answer
//   longestDroppedMs  how long the longest-lived of those was open
import net from 'node:net';
import { writeFileSync, renameSync } from 'node:fs';

const [host, portS, from, countS, mode, path, statusFile] = process.argv.slice(2);
const port = Number(portS), count = Number(countS);
const INTERVAL_MS = 2000, PARALLEL_CONNECTS = 256;
const st = { started: 0, ready: false, open: 0, failed: 0, answered: {}, dropped: 0, longestDroppedMs: 0 };
let connecting = 0;

function head() {
	const h = `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: slow-flood\r\n`;
	if (mode === 'body')
		return h + 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nCallSid=CA';
	return h;
}

function one() {
	st.started++;
	connecting++;
	const s = net.connect({ host, port, localAddress: from });
	let connected = false, answer = '', timer = null, since = 0;
	s.setNoDelay(true);
	// A server that no longer accepts leaves the SYN unanswered: give up
	// on it (counted as failed) rather than wait for the kernel's retries.
	const giveUp = setTimeout(() => s.destroy(), 10000);
	s.on('connect', () => {
		connected = true;
		since = Date.now();
		clearTimeout(giveUp);
		connecting--;
		st.open++;
		s.write(head());
		timer = setInterval(() => { s.write(mode === 'body' ? '0' : `X-Slow-${Date.now()}: 1\r\n`); }, INTERVAL_MS);
		next();
	});
	// An answer (429, 408...) ends the request: count it and hang up,
	// as a client would, rather than wait for nginx's lingering close.
	s.on('data', (d) => {
		if (answer.length < 64)
			answer += d.toString('latin1');
		if (/^HTTP\/1\.[01] \d{3}/.test(answer))
			s.destroy();
	});
	s.on('error', () => {});
	s.on('close', () => {
		clearTimeout(giveUp);
		if (timer)
			clearInterval(timer);
		if (!connected) {
			connecting--;
			st.failed++;
			next();
			return;
		}
		st.open--;
		const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
		if (m)
			st.answered[m[1]] = (st.answered[m[1]] ?? 0) + 1;
		else {
			st.dropped++;
			st.longestDroppedMs = Math.max(st.longestDroppedMs, Date.now() - since);
		}
	});
}

function next() {
	while (st.started < count && connecting < PARALLEL_CONNECTS)
		one();
	if (st.started >= count && connecting === 0)
		st.ready = true;
}

function report() {
	writeFileSync(statusFile + '.tmp', JSON.stringify(st) + '\n');
	renameSync(statusFile + '.tmp', statusFile);
}
setInterval(report, 250);
process.on('SIGTERM', () => { report(); process.exit(0); });
next();
report();
