#!/usr/bin/env bash
# Agent authentication and the live-update channels, through the real
# nginx (nchan) and handlers: login, agent and session tokens on every
# agent endpoint, revocation, Sync Access Tokens, subscriptions (401/403,
# path tricks, no replay by Last-Event-ID), the publisher's reach, the login
# throttle, and no token in any log.  Needs no emulator.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_env auth
echo "ENABLE_SYNC_TOKENS=true" >>"$run/env"
# Without the emulator nothing creates the Sync service; handlers only
# need the SID to start.
grep -q '^PAY_SYNC_SERVICE_SID=' "$run/env" || echo "PAY_SYNC_SERVICE_SID=IS00000000000000000000000000000001" >>"$run/env"
. "$top/tests/integration/capture-helpers.sh"
it_up
mint=("$top/$B/tests/mint-token")
PK1=PK0123456789abcdef0123456789abcdef
PK2=PKfedcba9876543210fedcba9876543210
CA=CA0123456789abcdef0123456789abcdef
pub=$run/stack/sock/nchan-pub.sock

# ---- login
out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"username\":\"agent\",\"password\":\"$STACK_AGENT_PASSWORD\"}" "$base/aap/login")
t_eq "login 200" 200 "${out##*$'\n'}"
AGENT_TOKEN=$(jget .token <<<"${out%$'\n'*}")
t_eq "login names the agent" agent "$(jget .agent <<<"${out%$'\n'*}")"
out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
  -d '{"username":"agent","password":"not the password"}' "$base/aap/login")
t_eq "wrong password 401" 401 "${out##*$'\n'}"
t_eq "wrong password body" '{"error":"wrong username or password","code":"login_failed"}' "${out%$'\n'*}"
out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
  -d '{"username":"mallory","password":"x"}' "$base/aap/login")
t_eq "unknown agent: the same 401" '{"error":"wrong username or password","code":"login_failed"}' "${out%$'\n'*}"
t_match "failed login logged with the name, not the password" 'login_failed=mallory' "$(cat "$run/stack/log/login.log")"
t_nomatch "the password is in no log" "not the password|$STACK_AGENT_PASSWORD" "$(cat "$run/stack/log/"*.log)"

# ---- agent token on the agent endpoints
for p in /aap/startCapture /aap/changeCapture /aap/changeStatus; do
  c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$base$p")
  t_eq "$p without a token: 401" 401 "$c"
  c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer forged.token' \
    -H 'Content-Type: application/json' -d '{}' "$base$p")
  t_eq "$p with a forged token: 401" 401 "$c"
done
t_eq "session without a token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$base/aap/session?paymentSid=$PK1")"
t_eq "getSyncToken without a token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$base/sync/getSyncToken")"
expired=$("${mint[@]}" agent agent -600)
c=$(curl -s -w '%{http_code}' -o "$run/b" -H "Authorization: Bearer $expired" "$base/sync/getSyncToken")
t_eq "expired agent token: 401" 401 "$c"
t_eq "expired agent token: says so" token_expired "$(jget .code <"$run/b")"

# ---- session token
s1=$("${mint[@]}" session agent "$PK1" "$CA")
s2=$("${mint[@]}" session agent "$PK2" "$CA")
cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK1\",\"captureType\":\"security-code\"}" >/dev/null
t_eq "changeCapture without a session token: 401" 401 "$(cat "$run/status")"
cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK1\",\"captureType\":\"security-code\"}" "$s2" >/dev/null
t_eq "changeCapture with another payment's session token: 403" 403 "$(cat "$run/status")"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK1\",\"status\":\"cancel\"}" "$s2" >/dev/null
t_eq "changeStatus with another payment's session token: 403" 403 "$(cat "$run/status")"
cap_api GET "/aap/session?paymentSid=$PK1" "" "$s2" >/dev/null
t_eq "session state with another payment's session token: 403" 403 "$(cat "$run/status")"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK1\",\"status\":\"cancel\",\"sessionToken\":\"$AGENT_TOKEN\"}" >/dev/null
t_eq "an agent token is no session token: 403" 403 "$(cat "$run/status")"

# ---- Sync Access Token (twilio-contract.md 10), checked independently
body=$(cap_api GET "/sync/getSyncToken")
t_eq "getSyncToken 200" 200 "$(cat "$run/status")"
jwt=$(jget .token <<<"$body")
check=$(node -e '
const [jwt, secret, sk, ac, is] = process.argv.slice(1);
const crypto = require("crypto");
const [h, p, s] = jwt.split(".");
const want = crypto.createHmac("sha256", secret).update(h + "." + p).digest("base64url");
const H = JSON.parse(Buffer.from(h, "base64url")), P = JSON.parse(Buffer.from(p, "base64url"));
const ok = s === want && H.alg === "HS256" && H.typ === "JWT" && H.cty === "twilio-fpa;v=1" &&
  P.iss === sk && P.sub === ac && P.jti === sk + "-" + P.iat && P.exp - P.iat === 3600 &&
  P.grants.identity === "agent" && P.grants.data_sync.service_sid === is &&
  Math.abs(P.iat - Date.now() / 1000) < 120;
console.log(ok ? "valid" : JSON.stringify({H, P, sigOk: s === want}));
' "$jwt" "$(sed -n 's/^API_SECRET=//p' "$run/env")" "$(sed -n 's/^API_KEY=//p' "$run/env")" \
  "$(sed -n 's/^ACCOUNT_SID=//p' "$run/env")" "$(sed -n 's/^PAY_SYNC_SERVICE_SID=//p' "$run/env" | tail -1)")
t_eq "Access Token: header, grants, iss/sub/jti, 1 h, HS256 with API_SECRET" valid "$check"

# ---- live-update subscriptions
sub() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Accept: text/event-stream' "$@"; }
t_eq "subscribe without a ticket: 401" 401 "$(sub "$base/aap/events/$PK1")"
t_eq "subscribe with another payment's ticket: 403" 403 \
  "$(sub "$(events_url "$PK2" "$s2" | sed "s|/$PK2?|/$PK1?|")")"
t_eq "subscribe with the session token in the URL: 401" 401 "$(sub "$base/aap/events/$PK1?token=$s1")"
t_eq "subscribe with an agent token as the ticket: 403" 403 "$(sub "$base/aap/events/$PK1?ticket=$AGENT_TOKEN")"
t_eq "a ../ path cannot borrow another channel's ticket: 403" 403 \
  "$(sub --path-as-is "$(events_url "$PK2" "$s2" | sed "s|/$PK2?|/$PK2/../$PK1?|")")"
t_eq "not EventSource: refused" 403 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$(events_url "$PK1" "$s1")")"

sse_start live "$(events_url "$PK1" "$s1")" || t_fail "a ticket bought with the session's token subscribes"
# A handler's publish: X-Twiliopay-Publish = time.HMAC(AGENT_SECRET, ...)
# (lib/agent.c tp_publish_token), computed here independently.
ptoken() {
  node -e 'const [s,pk]=process.argv.slice(1);const t=Math.floor(Date.now()/1000);
    console.log(t+"."+require("crypto").createHmac("sha256",s).update("nchan-publish|"+t+"|"+pk).digest("hex"))' \
    "$(sed -n 's/^AGENT_SECRET=//p' "$run/env")" "$1"
}
publish() {
  curl -s -o /dev/null -w '%{http_code}' --unix-socket "$pub" -H 'Content-Type: application/json' \
    -H "X-Twiliopay-Publish: ${3-$(ptoken "$1")}" --data-binary "$2" "http://localhost/pub/$1"
}
c1=$(publish "$PK1" '{"seq":1,"status":"capturing"}')
c2=$(publish "$PK1" '{"seq":2,"status":"ready"}')
publish "$PK2" '{"seq":1,"status":"other"}' >/dev/null
t_match "the publisher takes messages" '^20[12] 20[12]$' "$c1 $c2"
t_eq "publishing without a handler's token: 403" 403 "$(publish "$PK1" '{"seq":7,"status":"forged"}' '')"
t_eq "publishing with another channel's token: 403" 403 \
  "$(publish "$PK1" '{"seq":8,"status":"forged"}' "$(ptoken "$PK2")")"
if sse_wait live 's.seq === 2'; then t_ok "the subscriber gets them"; else t_fail "the subscriber gets them" "$(cat "$run/live.sse")"; fi
sse_stop live
t_nomatch "and nothing of another channel, nothing forged" 'other|forged' "$(cat "$run/live.sse")"
# No replay (nginx/twiliopay.conf.in): a reconnect with Last-Event-ID and
# a new subscriber both get only what is published after they subscribed.
first=$(node "$top/tests/integration/sse-states.mjs" "$run/live.sse" --ids | head -1)
sse_start resume "$(events_url "$PK1" "$s1")" -H "Last-Event-ID: $first" ||
  t_fail "reconnecting with Last-Event-ID subscribes"
sse_start fresh "$(events_url "$PK1" "$s1")" || t_fail "a new subscriber subscribes"
publish "$PK1" '{"seq":3,"status":"capturing"}' >/dev/null
sse_wait resume 's.seq === 3' && sse_wait fresh 's.seq === 3'
sse_stop resume; sse_stop fresh
t_eq "reconnecting with Last-Event-ID: nothing replayed, only the new message" 3 \
  "$(node "$top/tests/integration/sse-states.mjs" "$run/resume.sse" | jget '.seq')"
t_eq "a new subscriber: nothing replayed, only the new message" 3 \
  "$(node "$top/tests/integration/sse-states.mjs" "$run/fresh.sse" | jget '.seq')"

# Nobody outside publishes: not on the public port, not on the subscriber path.
t_eq "no publisher on the public port" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' -d '{}' "$base/pub/$PK1")"
c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -d '{"seq":9}' "$(events_url "$PK1" "$s1")")
t_match "no publishing on the subscriber path" '^4' "$c"
t_match "the publish socket is inside the run folder" "^$run/stack/sock/" "$(sed -n 's/^NCHAN_PUBLISH_SOCKET=//p' "$run/env")"

# ---- revocation: a new password ends the old tokens (and tickets)
url=$(events_url "$PK1" "$s1")
echo "a-brand-new-password-1" | "$top/$B/bin/twiliopay-agent" -f "$run/stack/agents" set agent 2>/dev/null
c=$(curl -s -o "$run/b" -w '%{http_code}' -H "Authorization: Bearer $AGENT_TOKEN" "$base/sync/getSyncToken")
t_eq "old agent token after a password change: 401" 401 "$c"
t_eq "  ... token_revoked" token_revoked "$(jget .code <"$run/b")"
t_eq "a ticket bought before a password change: 403" 403 "$(sub "$url")"
"$top/$B/bin/twiliopay-agent" -f "$run/stack/agents" set agent <"$run/stack/agent-password" 2>/dev/null

# ---- no token in any log (nginx logs the path; handlers redact)
t_nomatch "no token, ticket or query string in the access log" 'token=|ticket=|eyJ' "$(cat "$run/stack/log/nginx-access.log")"
t_nomatch "no token in the handlers' logs" "$s1|$AGENT_TOKEN" "$(cat "$run/stack/log/"*.log)"

# ---- login throttle (last: it blocks this address for a while)
codes=$(for i in $(seq 1 40); do
  curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
    -d '{"username":"agent","password":"guess"}' "$base/aap/login"
done | sort | uniq -c | tr -s ' ' | paste -sd, -)
t_match "repeated failed logins are throttled (429)" ' 429' "$codes"

stack_stop
t_done
