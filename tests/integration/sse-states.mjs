// sse-states.mjs - reads what `curl -N` saved from an EventSource
// subscription (/aap/events/...) and answers questions about the session
// states in it, for the shell integration tests.
//
//   node sse-states.mjs FILE                 one state per line (JSON), by seq
//   node sse-states.mjs FILE --has 'EXPR'    exit 0 when some state s makes EXPR true
//   node sse-states.mjs FILE --last 'EXPR'   prints EXPR of the state with the highest seq
//   node sse-states.mjs FILE --ids           the event ids, one per line (null: the resync)
import { readFileSync } from 'node:fs';

const [file, op, expr] = process.argv.slice(2);
// FILE.resync, when there, holds the state read once subscribed (GET
// /aap/session, as the console does): a subscriber gets only what is
// published after it subscribed.  It has no id.
let text = '';
try { text = readFileSync(file, 'utf8'); } catch { /* not yet written */ }
try { text = readFileSync(file + '.resync', 'utf8') + '\n\n' + text; } catch { /* none */ }
const events = [];
for (const block of text.split(/\r?\n\r?\n/)) {
  let id = null, data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('id:')) id = line.slice(3).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (!data.length) continue;
  try { events.push({ id, state: JSON.parse(data.join('\n')) }); } catch { /* partial read */ }
}
const states = events.map((e) => e.state).sort((a, b) => a.seq - b.seq);
const f = (e) => new Function('s', `return (${e});`);
if (op === '--has') process.exit(states.some((s) => { try { return f(expr)(s); } catch { return false; } }) ? 0 : 1);
if (op === '--last') { const s = states[states.length - 1]; console.log(s ? JSON.stringify(f(expr)(s)) : ''); process.exit(0); }
if (op === '--ids') { for (const e of events) console.log(e.id); process.exit(0); }
for (const s of states) console.log(JSON.stringify(s));
