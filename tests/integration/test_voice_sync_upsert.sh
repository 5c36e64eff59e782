#!/usr/bin/env bash
# uuiSyncUpdate against a scripted Sync server: the requests it makes
# (path, Basic auth, Key, Data, Ttl), the upsert (create, 54208, update -
# the Node original only created), retries of a 429, and the status it
# answers when Sync refuses.  The handler runs as a real binary in --cgi
# mode with a signed request; Sync is a few lines of Node (Node is already
# a build dependency), so these cases need no emulator.  The full flows
# through the emulator are in test_voice_call_correlation.sh.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/scripts/stack.sh"
B=${B:-build}

command -v node >/dev/null || { t_fail "node is installed" "run scripts/install-deps test"; exit 1; }
command -v jq >/dev/null || { t_fail "jq is installed" "run scripts/install-deps test"; exit 1; }

run=$(mktemp -d /tmp/tp-vsync-XXXXXX)
srv_pid=
trap '[[ -n $srv_pid ]] && kill "$srv_pid" 2>/dev/null; rm -rf "$run"' EXIT

cat >"$run/sync-stub.js" <<'JS'
// Answers each request with the next scripted {status, body}; logs every
// request as one JSON line.
const http = require('http');
const fs = require('fs');
const [port, script, log] = process.argv.slice(2);
const steps = JSON.parse(fs.readFileSync(script, 'utf8'));
let i = 0;
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    fs.appendFileSync(log, JSON.stringify({
      method: req.method, url: req.url, auth: req.headers.authorization || '', body,
    }) + '\n');
    const s = steps[Math.min(i++, steps.length - 1)];
    res.writeHead(s.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(s.body));
  });
}).listen(Number(port), '127.0.0.1', () => fs.writeFileSync(log + '.ready', ''));
JS

acct=AC00000000000000000000000000000001
tok=voice0sync0token0000000000000000
svc=IS00000000000000000000000000000009
server=https://pay.example.com
kid=CA11111111111111111111111111111111
parent=CA22222222222222222222222222222222

# stub SCRIPT_JSON: starts the Sync stub with that script.
stub() {
  [[ -n $srv_pid ]] && { kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; }
  srv_port=$(stack_free_port)
  printf '%s' "$1" >"$run/script.json"
  : >"$run/log"; rm -f "$run/log.ready"
  node "$run/sync-stub.js" "$srv_port" "$run/script.json" "$run/log" &
  srv_pid=$!
  for _ in $(seq 1 100); do [[ -e $run/log.ready ]] && return 0; sleep 0.05; done
  t_fail "sync stub starts"; exit 1
}

# callback QUERY FORM: runs uuiSyncUpdate once, signed as Twilio signs the
# callback URL (query included) and the form; prints the CGI response.
callback() {
  local query=$1 form=$2 sig args=()
  IFS='&' read -ra args <<<"$form"
  # detect_leaks=0: twilio-post --print returns without freeing, and in a
  # sanitized build LeakSanitizer would then drop its unflushed output.
  sig=$(ASAN_OPTIONS=detect_leaks=0 "$top/$B/bin/twilio-post" -t "$tok" --print \
    "$server/sync/uuiSyncUpdate?$query" "${args[@]}")
  env -i PATH="$PATH" TWILIOPAY_ENV=/dev/null LOG_LEVEL=error \
    ACCOUNT_SID=$acct AUTH_TOKEN=$tok SERVER_URL=$server PAY_SYNC_SERVICE_SID=$svc \
    TWILIO_API_URL=http://127.0.0.1:$srv_port TWILIO_SYNC_URL=http://127.0.0.1:$srv_port \
    REQUEST_METHOD=POST REQUEST_URI="/sync/uuiSyncUpdate?$query" DOCUMENT_URI=/sync/uuiSyncUpdate \
    QUERY_STRING="$query" CONTENT_TYPE=application/x-www-form-urlencoded \
    CONTENT_LENGTH=${#form} REMOTE_ADDR=127.0.0.1 HTTP_X_TWILIO_SIGNATURE="$sig" \
    "$top/$B/cgi-bin/uuiSyncUpdate" --cgi <<<"$form" 2>>"$run/cgi.log" | tr -d '\r'
}
req() { sed -n "${1}p" "$run/log" | jq -r ".$2"; }
nreq() { wc -l <"$run/log" | tr -d ' '; }
basic="Basic $(printf '%s' "$acct:$tok" | base64 -w0)"
item_path=/v1/Services/$svc/Maps/uuiMap/Items

# ---- toPSTN, new key: one create
stub '[{"status":201,"body":{"key":"conv-1","revision":"0","data":{}}}]'
out=$(callback "CallDirection=toPSTN&UUI=conv-1" "CallSid=$kid&ParentCallSid=$parent&CallStatus=in-progress")
t_match "toPSTN answered: 200" '^Status: 200' "$out"
t_match "toPSTN answered: mapped to CallSid" "\{\"status\":\"mapped\",\"uui\":\"conv-1\",\"pstnSid\":\"$kid\"\}" "$out"
t_eq "one Sync request" 1 "$(nreq)"
t_eq "create: POST to the uuiMap items" "POST $item_path" "$(req 1 method) $(req 1 url)"
t_eq "create: Basic ACCOUNT_SID:AUTH_TOKEN" "$basic" "$(req 1 auth)"
body=$(req 1 body)
t_match "create: Key is the plain UUI" '(^|&)Key=conv-1(&|$)' "$body"
t_match "create: Data is {uui, pstnSid}" \
  "(^|&)Data=%7B%22uui%22%3A%22conv-1%22%2C%22pstnSid%22%3A%22$kid%22%7D(&|$)" "$body"
t_match "create: Ttl is 12 h" '(^|&)Ttl=43200(&|$)' "$body"

# ---- toSIP, existing key: create -> 54208 -> update (the upsert)
stub '[{"status":409,"body":{"code":54208,"message":"Map Item already exists","status":409}},
       {"status":200,"body":{"key":"x","revision":"1","data":{}}}]'
out=$(callback "CallDirection=toSIP&UUI=$parent" "CallSid=$kid&ParentCallSid=$parent&CallStatus=in-progress")
t_match "toSIP re-map answered: 200" '^Status: 200' "$out"
t_match "toSIP maps to ParentCallSid" "\"pstnSid\":\"$parent\"" "$out"
t_eq "create, then update" 2 "$(nreq)"
t_eq "update: POST to the item" "POST $item_path/$parent" "$(req 2 method) $(req 2 url)"
t_match "update: Data and Ttl" \
  "^Data=%7B%22uui%22%3A%22$parent%22%2C%22pstnSid%22%3A%22$parent%22%7D&Ttl=43200$" "$(req 2 body)"

# ---- a UUI with URL metacharacters: percent-encoded in the item path
stub '[{"status":409,"body":{"code":54208,"message":"exists","status":409}},{"status":200,"body":{}}]'
out=$(callback "CallDirection=toPSTN&UUI=a%26b%2Fc%3F%22" "CallSid=$kid&CallStatus=answered")
t_match "hostile UUI answered: 200" '^Status: 200' "$out"
t_match "hostile UUI escaped in the JSON answer" '"uui":"a&b/c\?\\""' "$out"
t_eq "hostile UUI: key percent-encoded in the item URL" "$item_path/a%26b%2Fc%3F%22" "$(req 2 url)"
t_match "hostile UUI: Key form-encoded" '(^|&)Key=a%26b%2Fc%3F%22(&|$)' "$(req 1 body)"

# ---- 429 is retried
stub '[{"status":429,"body":{"code":20429,"message":"Too Many Requests","status":429}},
       {"status":201,"body":{}}]'
out=$(callback "CallDirection=toPSTN&UUI=conv-4" "CallSid=$kid&CallStatus=in-progress")
t_match "429 then 201: 200" '^Status: 200' "$out"
t_eq "429 was retried" 2 "$(nreq)"

# ---- Sync refuses (the map is missing): 502, not retried
stub '[{"status":404,"body":{"code":20404,"message":"The requested resource was not found","status":404}}]'
out=$(callback "CallDirection=toPSTN&UUI=conv-5" "CallSid=$kid&CallStatus=in-progress")
t_match "missing map: 502" '^Status: 502' "$out"
t_match "missing map: JSON error naming the item" '"error":"could not write uuiMap\[conv-5\] after 1 attempt\(s\): The requested resource was not found","code":"sync_failed"' "$out"
t_eq "a 404 is not retried" 1 "$(nreq)"

# ---- a ringing callback touches nothing
stub '[{"status":500,"body":{}}]'
out=$(callback "CallDirection=toPSTN&UUI=conv-6" "CallSid=$kid&CallStatus=ringing")
t_match "ringing: 200 ignored" '"status":"ignored"' "$out"
t_eq "ringing: no Sync request" 0 "$(nreq)"
t_done
