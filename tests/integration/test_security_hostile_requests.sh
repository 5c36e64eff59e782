#!/usr/bin/env bash
# Security cases through the real nginx, handlers and emulator:
#  1. every signed endpoint (callToSIP, callToPSTN, tollfreeCallToSIP,
#     simpleCallToPSTN, callTransfer, uuiSyncUpdate, paySyncUpdate and the
#     ...withRefer aliases) takes a
#     request Twilio signed and refuses one unsigned, forged, signed with
#     another auth token, replayed to another URL or with its body changed;
#     a refused callback writes nothing to Sync;
#  2. agent calls: every /aap/* endpoint and /sync/getSyncToken without a
#     token, with a forged, expired or wrong-kind token, another agent's,
#     or another session's credential; the EventSource subscription the
#     same, with a one-use ticket only (never the session token);
#  3. a body over the limit is a 413 on every endpoint (nginx's 64 KiB for
#     all, the handlers' own smaller limits), with a length or chunked;
#  4. injection attempts (< > & " ' CRLF %00 invalid UTF-8, very long
#     values) in every field of every webhook, signed so the handler acts on
#     them: TwiML stays well-formed (xmllint), no markup or header is
#     reflected, JSON answers stay valid JSON (jq); JSON numbers no integer
#     holds (1e300) on every JSON endpoint are no crash;
#  5. no secret and no card number in the logs: a query escaped into the
#     path, a token in a segment, card numbers grouped by dots or slashes
#     (access log); the subscription's request line (error log); the card
#     filter of the handlers' lines; request ids that match across nginx's
#     and the handlers' logs and never look like card numbers.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
for tool in xmllint jq; do
  command -v "$tool" >/dev/null || { t_fail "$tool is installed (scripts/install-deps test)"; t_done; exit; }
done
it_env sec
. "$top/tests/integration/capture-helpers.sh"
it_up
SERVER=$(envv SERVER_URL)
post=("$top/$B/bin/twilio-post" -t "$TOK")
mint=("$top/$B/tests/mint-token")
rand_hex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ================================================================ 1. signatures
echo "# 1. signatures (at ${SECONDS}s)"
CA=CA$(rand_hex); CA2=CA$(rand_hex); PK=PK$(rand_hex); UUI=sec-$(rand_hex)
declare -A path params
path[callToSIP]=/pv/callToSIP
path[callToSIPwithRefer]=/pv/callToSIPwithRefer
path[callToPSTN]=/pv/callToPSTN
path[callToPSTNwithRefer]=/pv/callToPSTNwithRefer
path[callTransfer]=/pv/callTransfer
path[tollfreeCallToSIP]=/pv/tollfreeCallToSIP
path[simpleCallToPSTN]=/pv/simpleCallToPSTN
path[uuiSyncUpdate]="/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=$UUI"
path[paySyncUpdate]=/sync/paySyncUpdate
voice="AccountSid=$AC|CallSid=$CA|CallStatus=ringing|Direction=inbound|ApiVersion=2010-04-01"
params[callToSIP]="$voice|To=+61255550100|From=+14155550100"
params[callToSIPwithRefer]=${params[callToSIP]}
params[callToPSTN]="$voice|To=sip:+61290001234@customer.sip.twilio.com|From=sip:+61400111222@10.0.0.5|SipHeader_x-inin-cnv=conv-1|SipHeader_User-to-User=0443413031;encoding=hex|SipDomain=customer.sip.twilio.com"
params[callToPSTNwithRefer]=${params[callToPSTN]}
params[tollfreeCallToSIP]="$voice|To=+18005550100|From=+14155550100|TollFreeMobileOriginationLocation=MOLI-1"
params[simpleCallToPSTN]="$voice|To=sip:+61290001234@customer.sip.twilio.com|From=sip:+61400111222@10.0.0.5|SipHeader_x-inin-cnv=conv-3"
params[callTransfer]="$voice|ReferTransferTarget=<sip:+61290001234@customer.sip.twilio.com?X-Note=a>|From=+14155550100|SipHeader_x-inin-cnv=conv-2"
params[uuiSyncUpdate]="AccountSid=$AC|CallSid=$CA2|ParentCallSid=$CA|CallStatus=in-progress|Direction=outbound-dial|CallbackSource=call-progress-events|SequenceNumber=1"
params[paySyncUpdate]="AccountSid=$AC|CallSid=$CA|Sid=$PK|PaymentConnector=Default|PaymentMethod=credit-card|Capture=payment-card-number|PartialResult=true|Required=payment-card-number,security-code|PaymentCardNumber=xxxx|DateUpdated=2026-01-01T10:00:01.000Z"
endpoints=(callToSIP callToSIPwithRefer callToPSTN callToPSTNwithRefer tollfreeCallToSIP simpleCallToPSTN
  callTransfer uuiSyncUpdate paySyncUpdate)
# send NAME [twilio-post options...] [-- EXTRA=V...]: status in $run/st, body in $run/b,
# headers in $run/h.
send() {
  local name=$1 kv; shift
  local opts=() extra=()
  while (( $# )) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
  [[ ${1:-} == -- ]] && { shift; extra=("$@"); }
  IFS='|' read -ra kv <<<"${params[$name]}"
  "${post[@]}" -i "${opts[@]}" "$base${path[$name]}" "${kv[@]}" "${extra[@]}" >"$run/raw" 2>/dev/null
  tr -d '\r' <"$run/raw" | sed -n '1,/^$/p' >"$run/h"
  tr -d '\r' <"$run/raw" | sed '1,/^$/d' >"$run/b"
  sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$run/h" >"$run/st"
}
st() { cat "$run/st"; }
for e in "${endpoints[@]}"; do
  send "$e"
  t_match "$e: Twilio's signed request is taken ($(st))" '^(200|201)$' "$(st)"
  send "$e" --no-signature
  t_eq "$e: unsigned: 403" 403 "$(st)"
  send "$e" --bad-signature
  t_eq "$e: forged signature: 403" 403 "$(st)"
  send "$e" -t "$(rand_hex)"
  t_eq "$e: signed with another auth token: 403" 403 "$(st)"
  # Signed, then a parameter added (the signature covers the form).
  IFS='|' read -ra kv <<<"${params[$e]}"
  sig=$("${post[@]}" --print "$base${path[$e]}" "${kv[@]}")
  send "$e" --no-signature -H "X-Twilio-Signature: $sig" -- Tampered=yes
  t_eq "$e: a parameter added after signing: 403" 403 "$(st)"
  send "$e" --no-signature -H "X-Twilio-Signature: $sig"
  t_match "$e: ... while the signature alone is right ($(st))" '^(200|201)$' "$(st)"
  for other in "${endpoints[@]}"; do
    [[ $other == "$e" ]] && continue
    send "$e" -s "$SERVER${path[$other]}"
    [[ $(st) == 403 ]] || t_fail "$e: a signature made for ${path[$other]} is refused" "got $(st)"
  done
  t_ok "$e: signatures made for the ${#endpoints[@]} other URLs are refused"
done
# The query string is signed: a changed UUI or direction is refused.
IFS='|' read -ra kv <<<"${params[uuiSyncUpdate]}"
c=$("${post[@]}" -i -s "$SERVER${path[uuiSyncUpdate]}" "$base/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=sec-other" "${kv[@]}" | head -1)
t_match "uuiSyncUpdate: signed for one UUI, sent for another: 403" ' 403' "$c"
c=$("${post[@]}" -i -s "$SERVER${path[uuiSyncUpdate]}" "$base/sync/uuiSyncUpdate?CallDirection=toPSTN&UUI=$UUI" "${kv[@]}" | head -1)
t_match "uuiSyncUpdate: signed for toSIP, sent as toPSTN: 403" ' 403' "$c"
t_eq "refused callbacks wrote nothing: no uuiMap entry for sec-other" "" "$(item uuiMap sec-other)"
# A body changed after signing.
IFS='|' read -ra kv <<<"${params[paySyncUpdate]}"
PKX=PK$(rand_hex)
sig=$("${post[@]}" --print "$base/sync/paySyncUpdate" "${kv[@]}")
c=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $sig" \
  --data-urlencode "AccountSid=$AC" --data-urlencode "CallSid=$CA" --data-urlencode "Sid=$PKX" \
  --data-urlencode "Result=success" "$base/sync/paySyncUpdate")
t_eq "paySyncUpdate: a body changed after signing: 403" 403 "$c"
t_eq "  ... nothing written to payMap" "" "$(item payMap "$PKX")"
# GET with the signature of the POST.
c=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $sig" "$base/sync/paySyncUpdate?Sid=$PKX")
t_match "paySyncUpdate: the same signature on a GET: refused" '^40[35]$' "$c"

# ================================================================ 2. agent credentials
echo "# 2. agent credentials (at ${SECONDS}s)"
cap_login
[[ -n $AGENT_TOKEN ]] && t_ok "agent logs in" || t_fail "agent logs in"
MAIN_TOKEN=$AGENT_TOKEN
# A second agent, with a session of its own.
"$top/$B/bin/twiliopay-agent" -f "$(envv AGENTS_FILE)" set agent2 <<<"second-agent-password" 2>/dev/null
AGENT2=$(curl -s -H 'Content-Type: application/json' -d '{"username":"agent2","password":"second-agent-password"}' \
  "$base/aap/login" | jget .token)
[[ -n $AGENT2 ]] && t_ok "a second agent logs in" || t_fail "a second agent logs in"
CALL=$(sim_call | jget .pstn_call_sid)
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"3.00\"}")
t_eq "agent starts a payment" 201 "$(cat "$run/status")"
P1=$(jget .paymentSid <<<"$out"); S1=$(jget .sessionToken <<<"$out")
AGENT_TOKEN=$AGENT2
CALL2=$(sim_call | jget .pstn_call_sid)
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL2\",\"chargeAmount\":\"4.00\"}")
t_eq "agent2 starts a payment" 201 "$(cat "$run/status")"
P2=$(jget .paymentSid <<<"$out"); S2=$(jget .sessionToken <<<"$out")
AGENT_TOKEN=$MAIN_TOKEN
EXPIRED_AGENT=$("${mint[@]}" agent agent -600)
EXPIRED_SESSION=$("${mint[@]}" session agent "$P1" "$CALL" -600)
OTHER_SECRET_TOKEN=$(AGENT_SECRET=$(rand_hex) "${mint[@]}" agent agent 600)
OTHER_SECRET_SESSION=$(AGENT_SECRET=$(rand_hex) "${mint[@]}" session agent "$P1" "$CALL" 600)
# req METHOD PATH AGENT_TOKEN SESSION_TOKEN [JSON]: prints the status.
req() {
  local args=(-s -o "$run/b" -w '%{http_code}' -X "$1")
  [[ -n $3 ]] && args+=(-H "Authorization: Bearer $3")
  [[ -n $4 ]] && args+=(-H "X-Session-Token: $4")
  [[ -n ${5:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$5")
  curl "${args[@]}" "$base$2"
}
code() { jq -r .code "$run/b" 2>/dev/null; }
# Agent-token endpoints: the token alone decides.
declare -A abody=(
  [/aap/startCapture]="{\"callSid\":\"$CALL\",\"chargeAmount\":\"1.00\"}"
  [/aap/changeCapture]="{\"paymentSid\":\"$P1\",\"captureType\":\"security-code\"}"
  [/aap/changeStatus]="{\"paymentSid\":\"$P1\",\"status\":\"cancel\"}"
  [/sync/getSyncToken]="{}"
)
for p in /aap/startCapture /aap/changeCapture /aap/changeStatus /sync/getSyncToken "/aap/session?paymentSid=$P1"; do
  m=POST; b=${abody[$p]:-}; [[ $p == /aap/session* ]] && { m=GET; b=; }
  t_eq "$p: no token: 401 unauthorized" "401 unauthorized" "$(req $m "$p" "" "$S1" "$b") $(code)"
  t_eq "$p: garbage token: 401" "401 unauthorized" "$(req $m "$p" "not.a-token" "$S1" "$b") $(code)"
  t_eq "$p: token signed with another secret: 401" "401 unauthorized" "$(req $m "$p" "$OTHER_SECRET_TOKEN" "$S1" "$b") $(code)"
  t_eq "$p: expired token: 401 token_expired" "401 token_expired" "$(req $m "$p" "$EXPIRED_AGENT" "$S1" "$b") $(code)"
  t_eq "$p: a session token as the agent token: 401" "401 unauthorized" "$(req $m "$p" "$S1" "$S1" "$b") $(code)"
  t_eq "$p: Basic instead of Bearer: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -X $m -u agent:x "$base$p")"
done
# Session-scoped endpoints: this session's token, from this agent.
for p in /aap/changeCapture /aap/changeStatus "/aap/session?paymentSid=$P1"; do
  m=POST; b=${abody[$p]:-}; [[ $p == /aap/session* ]] && { m=GET; b=; }
  t_eq "$p: no session token: 401" "401 session_token_required" "$(req $m "$p" "$MAIN_TOKEN" "" "$b") $(code)"
  t_eq "$p: another session's token: 403" "403 session_forbidden" "$(req $m "$p" "$MAIN_TOKEN" "$S2" "$b") $(code)"
  t_eq "$p: an expired session token: 403" "403 session_forbidden" "$(req $m "$p" "$MAIN_TOKEN" "$EXPIRED_SESSION" "$b") $(code)"
  t_eq "$p: a forged session token: 403" "403 session_forbidden" "$(req $m "$p" "$MAIN_TOKEN" "$OTHER_SECRET_SESSION" "$b") $(code)"
  t_eq "$p: the agent token as session token: 403" "403 session_forbidden" "$(req $m "$p" "$MAIN_TOKEN" "$MAIN_TOKEN" "$b") $(code)"
  t_eq "$p: another agent with this session's token: 403" "403 session_forbidden" "$(req $m "$p" "$AGENT2" "$S1" "$b") $(code)"
done
t_eq "agent2's own session is not P1's: session for P2 with S1 refused" "403" \
  "$(req GET "/aap/session?paymentSid=$P2" "$AGENT2" "$S1")"
t_eq "the real credentials work (session 200)" 200 "$(req GET "/aap/session?paymentSid=$P1" "$MAIN_TOKEN" "$S1")"
# The EventSource subscription: a ticket in the URL (POST
# /aap/events-ticket with the agent and session tokens), never the
# session token; nchan asks eventsAuth.
ev() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Accept: text/event-stream' "$base/aap/events/$1${2:+?$2}"; }
enc() { jq -rn --arg v "$1" '$v|@uri'; }
# ticket AGENT_TOKEN SESSION_TOKEN PK: a ticket (URL-encoded), or the
# request's status when there is none.
ticket() {
  local c
  c=$(curl -s -o "$run/tk" -w '%{http_code}' -H "Authorization: Bearer $1" -H "X-Session-Token: $2" \
    -H 'Content-Type: application/json' -d "{\"paymentSid\":\"$3\"}" "$base/aap/events-ticket")
  [[ $c == 200 ]] && enc "$(jq -r .ticket "$run/tk")" || echo "$c"
}
t_eq "events-ticket: no agent token: 401" 401 "$(ticket "" "$S1" "$P1")"
t_eq "events-ticket: no session token: 401" 401 "$(ticket "$MAIN_TOKEN" "" "$P1")"
t_eq "events-ticket: another session's token: 403" 403 "$(ticket "$MAIN_TOKEN" "$S2" "$P1")"
t_eq "events-ticket: another agent with this session's token: 403" 403 "$(ticket "$AGENT2" "$S1" "$P1")"
t_eq "events-ticket: an expired session token: 403" 403 "$(ticket "$MAIN_TOKEN" "$EXPIRED_SESSION" "$P1")"
t_eq "events-ticket: only POST (a GET could be replayed from anywhere): 405" 405 \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $MAIN_TOKEN" -H "X-Session-Token: $S1" \
    "$base/aap/events-ticket?paymentSid=$P1")"
t_eq "events: no ticket: 401" 401 "$(ev "$P1")"
t_eq "events: the session token in the URL (the old ?token=): 401" 401 "$(ev "$P1" "token=$(enc "$S1")")"
t_eq "events: the session token as the ticket: 403" 403 "$(ev "$P1" "ticket=$(enc "$S1")")"
t_eq "events: another payment's ticket: 403" 403 "$(ev "$P1" "ticket=$(ticket "$AGENT2" "$S2" "$P2")")"
t_eq "events: an expired ticket: 403" 403 "$(ev "$P1" "ticket=$(enc "$("${mint[@]}" ticket agent "$P1" -30)")")"
t_eq "events: a forged ticket: 403" 403 \
  "$(ev "$P1" "ticket=$(enc "$(AGENT_SECRET=$(rand_hex) "${mint[@]}" ticket agent "$P1" 60)")")"
t_eq "events: the agent token: 403" 403 "$(ev "$P1" "ticket=$(enc "$MAIN_TOKEN")")"
t_eq "events: garbage: 403" 403 "$(ev "$P1" "ticket=x%3Cscript%3E")"
t_eq "events: two tickets, the wrong one first: 403" 403 \
  "$(ev "$P1" "ticket=$(ticket "$AGENT2" "$S2" "$P2")&ticket=$(ticket "$MAIN_TOKEN" "$S1" "$P1")")"
t_eq "events: another channel by path tricks: 403" 403 \
  "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --path-as-is \
    "$base/aap/events/$P1/../$P2?ticket=$(ticket "$MAIN_TOKEN" "$S1" "$P1")")"
T1=$(ticket "$MAIN_TOKEN" "$S1" "$P1")
t_eq "events: the right ticket subscribes (200)" 200 "$(ev "$P1" "ticket=$T1")"
t_eq "events: ... once: the same ticket again is refused (403)" 403 "$(ev "$P1" "ticket=$T1")"
# Single use holds across eventsAuth's workers: 8 subscriptions at once
# with one ticket, exactly one subscribes.
T2=$(ticket "$MAIN_TOKEN" "$S1" "$P1")
pids=()
for i in $(seq 1 8); do ev "$P1" "ticket=$T2" >"$run/once.$i" & pids+=($!); done
wait "${pids[@]}"
t_eq "events: one ticket, 8 subscriptions at once: exactly one 200" "1" \
  "$(for f in "$run"/once.*; do cat "$f"; echo; done | grep -c '^200$')"
# Deleting the agent revokes both of its tokens, and its tickets.
T3=$(ticket "$AGENT2" "$S2" "$P2")
"$top/$B/bin/twiliopay-agent" -f "$(envv AGENTS_FILE)" delete agent2 2>/dev/null
t_eq "agent2 deleted: its agent token is revoked" "401 token_revoked" "$(req GET "/aap/session?paymentSid=$P2" "$AGENT2" "$S2") $(code)"
t_eq "agent2 deleted: its ticket no longer subscribes" 403 "$(ev "$P2" "ticket=$T3")"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$P1\",\"status\":\"cancel\"}" "$S1" >/dev/null

# ================================================================ 3. oversize bodies
echo "# 3. oversize bodies (at ${SECONDS}s)"
big=$run/big; head -c 70000 /dev/zero | tr '\0' a >"$big"
all_paths=(/healthz /pv/callToSIP /pv/callToSIPwithRefer /pv/callToPSTN /pv/callToPSTNwithRefer
  /pv/tollfreeCallToSIP /pv/simpleCallToPSTN /pv/callTransfer /sync/uuiSyncUpdate /sync/paySyncUpdate /sync/setupSyncServices /sync/getSyncToken
  /aap/login /aap/session /aap/startCapture /aap/changeCapture /aap/changeStatus
  /connector/charge /connector/tokenize "/aap/events/$P1" /)
for p in "${all_paths[@]}"; do
  c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary @"$big" "$base$p")
  t_eq "$p: 70000-byte body: 413" 413 "$c"
  c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$big" "$base$p")
  case $p in
    /|/aap/events/*) # these never read a body: refused before it is read
      t_match "$p: 70000 bytes chunked: refused unread ($c)" '^4[0-9][0-9]$' "$c" ;;
    *) t_eq "$p: 70000 bytes chunked: 413" 413 "$c" ;;
  esac
done
# Below nginx's limit, above the handler's own.
# The handler answers before it has read the body: the answer must still
# arrive whole (ten tries each: it used to be lost now and then).
# post_10 URL: $run/mid posted ten times; "<status> <code>;" for each answer.
post_10() {
  local i c got=""
  for i in $(seq 1 10); do
    rm -f "$run/b"
    c=$(curl -s -o "$run/b" -w '%{http_code}' -H "Authorization: Bearer $MAIN_TOKEN" \
      -H 'Content-Type: application/json' --data-binary @"$run/mid" "$1")
    got+="$c $(code);"
  done
  echo "$got"
}
for p in /aap/startCapture:17000 /aap/changeCapture:9000 /aap/changeStatus:9000; do
  head -c "${p#*:}" "$big" >"$run/mid"
  got=$(post_10 "$base${p%:*}")
  t_eq "${p%:*}: ${p#*:} bytes (over its own limit): 413 payload_too_large, 10 of 10" \
    "$(printf '413 payload_too_large;%.0s' $(seq 1 10))" "$got"
done
# A POST with a body to a GET-only endpoint: 405, answered whole.
got=$(post_10 "$base/aap/session?paymentSid=$P1")
t_eq "/aap/session: POST with 9000 bytes: 405 method_not_allowed, 10 of 10" \
  "$(printf '405 method_not_allowed;%.0s' $(seq 1 10))" "$got"

# ================================================================ 4. injection
echo "# 4. injection (at ${SECONDS}s)"
payloads=(
  $'"><evil a=\'1\'>&amp;</evil><!--'
  $'x\r\nX-Injected: yes\r\n\r\n<evil/>'
  '%00<evil/>%0d%0a'
  $'\xff\xfe<evil/>\xc3\x28'
  ']]><![CDATA[<evil/>]]>&#x3C;evil&#x3E;'
  "$(head -c 6000 /dev/zero | tr '\0' '<')"
)
# Every field of every webhook, and one field Twilio never sends: one
# node process sends them all (tests/integration/inject.mjs), xmllint
# judges every TwiML answer.
{
  printf '{"base":"%s","signBase":"%s","authToken":"%s","payloads":[' "$base" "$SERVER" "$TOK"
  sep=; for v in "${payloads[@]}"; do printf '%s"%s"' "$sep" "$(printf '%s' "$v" | base64 -w0)"; sep=,; done
  printf '],"endpoints":['
  sep=
  for e in "${endpoints[@]}"; do
    IFS='|' read -ra kv <<<"${params[$e]}"
    printf '%s{"name":"%s","path":%s,"params":%s}' "$sep" "$e" "$(jq -n --arg p "${path[$e]}" '$p')" \
      "$(for p in "${kv[@]}"; do jq -n --arg n "${p%%=*}" --arg v "${p#*=}" '[$n,$v]'; done | jq -sc .)"
    sep=,
  done
  printf ']}'
} >"$run/cases.json"
mkdir -p "$run/xml"
node "$top/tests/integration/inject.mjs" "$run/cases.json" "$run/xml" >"$run/inject.out" 2>&1
for e in "${endpoints[@]}"; do
  bad=$(grep -P "^not ok\t$e " "$run/inject.out" | head -5)
  good=$(grep -cP "^ok\t$e " "$run/inject.out")
  IFS='|' read -ra kv <<<"${params[$e]}"
  want=$(( (${#kv[@]} + 1) * (${#payloads[@]} + 2) )) # inject.mjs adds 2
  if [[ -n $bad || $good != "$want" ]]; then
    t_fail "$e: every field x $(( ${#payloads[@]} + 2 )) payloads: clean answers ($good of $want)" "$bad" "$(grep -v '^ok' "$run/inject.out" | grep -v '^not ok' | head -3)"
  else
    t_ok "$e: every field x $(( ${#payloads[@]} + 2 )) payloads ($want requests): no 5xx, no header or markup reflected, valid JSON"
  fi
done
nxml=$(ls "$run/xml" | grep -c '\.xml$')
xmlbad=$(cd "$run/xml" && ls | grep '\.xml$' | xargs -r xmllint --noout 2>&1 | grep -oE '^[0-9]+\.xml' | sort -u |
  while read -r f; do cat "${f%.xml}.label"; echo; done)
t_eq "every TwiML answer ($nxml) is well-formed XML (xmllint)" "" "$xmlbad"
t_match "  ... and there were TwiML answers to check" '^[1-9][0-9]+$' "$nxml"
# check LABEL: the last answer is clean.
check() {
  local label=$1 ct
  ct=$(grep -i '^Content-Type:' "$run/h" | head -1 | tr -d '\r')
  if grep -qi '^X-Injected' "$run/h"; then t_fail "$label: a header was injected"; return; fi
  case $(st) in 5*) t_fail "$label: $(st)" "$(head -c 300 "$run/b")"; return ;; esac
  if [[ $ct == *xml* ]]; then
    if ! xmllint --noout "$run/b" 2>"$run/xmlerr"; then
      t_fail "$label: TwiML is not well-formed" "$(head -3 "$run/xmlerr")" "$(head -c 400 "$run/b")"; return
    fi
    if grep -q '<evil' "$run/b"; then t_fail "$label: markup reflected" "$(head -c 400 "$run/b")"; return; fi
  elif [[ $ct == *json* ]]; then
    if ! jq -e . "$run/b" >/dev/null 2>&1; then t_fail "$label: the JSON answer is not valid JSON" "$(head -c 400 "$run/b")"; return; fi
  else
    t_fail "$label: answered with '$ct'" "$(head -c 300 "$run/b")"; return
  fi
  ((nchecked++))
}
# In the query string of the callback URL too (UUI, CallDirection).
nchecked=0
IFS='|' read -ra kv <<<"${params[uuiSyncUpdate]}"
for v in "${payloads[@]:0:5}"; do
  for q in "CallDirection=toSIP&UUI=$(enc "$v")" "CallDirection=$(enc "$v")&UUI=$UUI"; do
    "${post[@]}" -i "$base/sync/uuiSyncUpdate?$q" "${kv[@]}" >"$run/raw" 2>/dev/null
    tr -d '\r' <"$run/raw" | sed -n '1,/^$/p' >"$run/h"
    sed '1,/^\r\{0,1\}$/d' "$run/raw" >"$run/b"
    sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$run/h" >"$run/st"
    check "uuiSyncUpdate ?$(printf '%q' "${q:0:30}")"
  done
done
t_eq "uuiSyncUpdate: injection in the signed query string: clean answers" 10 "$nchecked"
# %00 (an encoded NUL) in a form: 400 with JSON, before anything else.
for e in "${endpoints[@]}"; do
  c=$(curl -s -o "$run/b" -w '%{http_code}' -H 'X-Twilio-Signature: x' --data "CallSid=CA%00x" "$base${path[$e]}")
  t_eq "$e: an encoded NUL in the form: 400 bad_form (JSON)" "400 bad_form" "$c $(code)"
done
# JSON numbers no integer type holds, on every JSON endpoint: judged as data.
for p in /aap/login /aap/startCapture /aap/changeCapture /aap/changeStatus /sync/getSyncToken \
         /connector/charge /connector/tokenize /sync/setupSyncServices; do
  c=$(curl -s -o "$run/b" -w '%{http_code}' -H "Authorization: Bearer $MAIN_TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"n":1e300,"m":-1e300,"chargeAmount":1e300,"paymentSid":1e300,"amount":-1e300}' "$base$p")
  [[ $c == 5* ]] && t_fail "$p: JSON numbers beyond any integer: $c" "$(head -c 300 "$run/b")" ||
    t_ok "$p: JSON numbers beyond any integer: $c, $(jq -e . "$run/b" >/dev/null 2>&1 && echo valid JSON || echo NOT JSON)"
done

# ================================================================ 5. secrets and card data in URLs and logs
echo "# 5. secrets and card data in URLs and logs (at ${SECONDS}s)"
logs=$run/stack/log
# The access log writes the decoded path: a query escaped into it, or a
# credential or a card number in a segment, must not come out whole.
# The channel id of these paths is fixed: none of them reaches a channel
# (each is a 404), and a PaymentSid's 32 random hex digits hold a run of
# 12 or more decimal digits about one time in 35 (P1 once did:
# PKfc455827574809d2...), which the card rule withholds with the whole
# path, so the route part would not be logged.
PL=PK0a1b2c3d4e5f60718293a4b5c6d7e8f9
before=$(wc -l <"$logs/nginx-access.log")
for u in "/aap/events/$PL%3Ftoken=$(enc "$S1")" "/aap/events/$PL%3Fticket%3D$(enc "$S1")" "/aap/events/$PL/$S1" \
         "/x/4111.1111.1111.1111" "/x/4111/1111/1111/1111" "/x/4111%201111%201111%201111"; do
  curl -s -o /dev/null --max-time 3 -H 'Accept: text/event-stream' "$base$u"
done
s1_head=${S1:0:40}
# nginx writes a line when a request ends: under load a subscription may
# still be on its check after curl gave up, and lines of earlier streams
# keep coming.  Wait (at most a minute) for this loop's two events lines,
# the route with its query cut (the /x/ paths are not logged at all).
for _ in $(seq 1 600); do
  new=$(tail -n "+$((before + 1))" "$logs/nginx-access.log" | sed -n 's/^[^"]*"[A-Z]* \([^ ]*\) HTTP.*/\1/p')
  (( $(grep -c "^/aap/events/$PL\[\.\.\.\]$" <<<"$new") >= 2 )) && break
  sleep 0.1
done
# The logged paths alone (a request id may hold "4111" by chance).
paths=$(sed -n 's/^[^"]*"[A-Z]* \([^ ]*\) HTTP.*/\1/p' "$logs/nginx-access.log")
t_nomatch "access log: no session token from a path (%3Ftoken=, a segment)" "${s1_head//./\\.}" \
  "$(cat "$logs/nginx-access.log")"
t_nomatch "access log: no card number grouped by dots, slashes or spaces in a path" '4111' "$paths"
t_match "  ... the route part of such a path is still logged" "^/aap/events/$PL\\[\\.\\.\\.\\]$" "$paths"
# nginx's error lines quote the request line, query included.  Make the
# subscription fail before eventsAuth has seen the credential (eventsAuth
# stopped), once with a ticket and once with the old ?token=.
ea_pid=
for p in "${STACK_PIDS[@]}"; do
  [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$STACK_BUILD/cgi-bin/eventsAuth" ]] && ea_pid=$p
done
kill -TERM "$ea_pid" 2>/dev/null && wait "$ea_pid" 2>/dev/null
T4=$(ticket "$MAIN_TOKEN" "$S1" "$P1")
t_match "eventsAuth stopped: a subscription with a ticket fails (5xx)" '^5' "$(ev "$P1" "ticket=$T4")"
t_match "  ... and one with the session token in the URL (5xx)" '^5' "$(ev "$P1" "token=$(enc "$S1")")"
"$STACK_BUILD/cgi-bin/eventsAuth" --listen "$STACK_RUN/sock/eventsAuth.sock" --workers 2 2>>"$logs/eventsAuth.log" &
STACK_PIDS+=($!)
for i in $(seq 1 100); do [[ $(ev "$P1" "ticket=x") == 403 ]] && break; sleep 0.1; done
t_eq "eventsAuth back: a new ticket subscribes" 200 "$(ev "$P1" "ticket=$(ticket "$MAIN_TOKEN" "$S1" "$P1")")"
t_nomatch "error log: no ticket and no session token in a quoted request line" \
  "ticket=|token=|${s1_head//./\\.}" "$(cat "$logs/nginx-error.log")"
t_nomatch "no log of any process holds the session or agent tokens" \
  "${s1_head//./\\.}|${MAIN_TOKEN:0:40}" "$(cat "$logs/"*.log)"
# The card filter of every log line: a card number grouped by dots or
# slashes, in a field a handler logs (callToSIP logs a To it refuses).
IFS='|' read -ra kv <<<"${params[callToSIP]}"
for to in 4111.1111.1111.1111 4111/1111/1111/1111; do
  "${post[@]}" "$base/pv/callToSIP" "${kv[@]/#To=*/To=$to}" >/dev/null 2>&1
done
t_nomatch "handler logs: no card number grouped by dots or slashes" '4111[./]1111' "$(cat "$logs/callToSIP.log")"
t_match "  ... it is there as [card]" 'to=\[card\]' "$(cat "$logs/callToSIP.log")"
# Request ids: the same id in the access log and the handler's line, and
# never a digit run the card filter would take for a card number.
for i in $(seq 1 300); do curl -s -o /dev/null "$base/healthz"; done
acc_rids=$(grep '"GET /healthz ' "$logs/nginx-access.log" | grep -o 'rid=[^ ]*' | sort)
hz_rids=$(grep -o 'rid=[^ ]*' "$logs/healthz.log" | sort)
t_match "request ids: the 300 /healthz requests are in the access log" '^([3-9][0-9]{2}|[0-9]{4,})$' \
  "$(grep -c . <<<"$acc_rids")"
t_eq "  ... none holds 12 or more digits in a row" "" "$(grep -E '[0-9]{12}' <<<"$acc_rids" | head -3)"
t_eq "  ... every handler line's id is an access log line's (none redacted)" "" \
  "$(comm -13 <(echo "$acc_rids") <(echo "$hz_rids") | head -3)"
t_eq "  ... and every access log id is in the handler's log" "" \
  "$(comm -23 <(echo "$acc_rids") <(echo "$hz_rids") | head -3)"

t_eq "no worker died during the attacks" "" "$(grep -l 'killed by signal\|exited with' "$run/stack/log/"*.log | tr '\n' ' ')"
stack_stop
t_done
