#!/usr/bin/env bash
# Payment capture end to end: nginx (nchan) + every handler + the Twilio
# emulator.  A customer calls, the agent attaches by UUI and starts a
# session; the customer keys digits at the emulator; the agent's
# EventSource sees each masked state, the error, the automatic moves,
# "ready", then complete and the connector's result.  After startCapture
# the test asks for no step: the server drives the session.  Then ACH,
# the postal code, cancel and hang-up mid-way, duplicate / out-of-order /
# late callbacks, and concurrent callbacks (no lost update).  Also the
# console's support: GET /aap/config (ALLOWED_CURRENCIES) and POST
# /aap/attach (finding the running payment again), and the state keeping
# an ErrorType through the automatic re-ask.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
it_env cap
. "$top/tests/integration/capture-helpers.sh"
it_up
post=("$top/$B/bin/twilio-post")
sse=(node "$top/tests/integration/sse-states.mjs")
cap_login
[[ -n $AGENT_TOKEN ]] && t_ok "agent logs in" || t_fail "agent logs in"
cfg=$(cap_api GET /aap/config)
t_eq "GET /aap/config: what the console may offer" \
  '200 USD true false ["payment-card-number","security-code","expiration-date"] 2' \
  "$(cat "$run/status") $(jget '"\(.defaultCurrency) \(.includeCvc) \(.includePostalCode) \(.captureOrder["credit-card"] | tojson) \(.currencyRules.EUR.places)"' <<<"$cfg")"
t_eq "  ... without an agent token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$base/aap/config")"

# The emulator's record of the Capture requests made for a payment.
captures() {
  curl -s "$S/sim/requests" | jq -r --arg pk "$1" '.requests[]
    | select(.dir == "in" and .method == "POST" and (.url | contains("/Payments/" + $pk)) and .request.Capture?)
    | "\(.request.Capture)@\(.request.IdempotencyKey)"'
}
# A new inbound call; prints the PSTN leg's CallSid.
# uuiMap[uui] exists (voice routing writes it when the call is answered;
# without that handler built, the test writes what it would).
uui_ready() {
  local uui=$1 i
  if [[ ! -x $top/$B/cgi-bin/uuiSyncUpdate ]]; then
    curl -s -o /dev/null -u "$AC:$TOK" --data-urlencode "Key=$uui" \
      --data-urlencode "Data={\"uui\":\"$uui\",\"pstnSid\":\"$uui\"}" --data-urlencode "Ttl=43200" \
      "$S/v1/Services/$IS/Maps/uuiMap/Items"
  fi
  for i in $(seq 1 50); do
    curl -sf -o /dev/null -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/uuiMap/Items/$uui" && return 0
    sleep 0.1
  done
  return 1
}
# No run of 7+ digits in what the browser got, once the SIDs, times,
# sequence numbers, connector ids and the routing number (clear text in
# Twilio's callbacks: it is not secret) are taken out.
no_pan() {
  t_nomatch "$1: no card or account number in any message" '[0-9]{7,}' \
    "$(grep '^data:' "$run/$2.sse" | sed -E 's/"(PK|CA)[0-9a-f]*"//g; s/"seq":[0-9]*//g;
      s/[0-9]*-[0-9]*-[0-9]*T[0-9:.]*Z//g; s/"(ch|tok)_[0-9a-f]*"//g;
      s/("bank-routing-number":\{"state":"[a-z]+","value":)"[0-9]+"/\1/g')"
}

# ================================================================ card, by UUI
CALL=$(new_call)
t_match "a customer calls" '^CA[0-9a-f]{32}$' "$CALL"
uui_ready "$CALL" && t_ok "uuiMap knows the call" || t_fail "uuiMap knows the call"
start card "{\"uui\":\"$CALL\",\"chargeAmount\":\"9.99\",\"currency\":\"USD\",\"description\":\"Order 42\"}"
t_eq "startCapture by UUI: 201" 201 "$(cat "$run/status")"
t_eq "  ... on the PSTN leg" "$CALL" "$(jget .callSid <"$run/card.start")"
t_match "  ... with a session token" '^eyJ' "$ST_card"
wait_state card 's.capture === "payment-card-number" && s.partial' "the server asked for the card number"
t_eq "  ... asked, nothing keyed yet: waiting, not keying (Twilio says PartialResult=true at once)" waiting \
  "$(sse_states card | jq -rs 'map(select(.capture == "payment-card-number" and .partial)) | first
    | if . then .fields["payment-card-number"].state else "none" end')"
sim_digits "$CALL" 4111
wait_state card 's.fields["payment-card-number"].state === "keying" && s.fields["payment-card-number"].value === "xxxx"' \
  "the first keys: keying"
sim_digits "$CALL" 111111111112#
wait_state card 's.errorType === "invalid-card-number" && s.errorField === "payment-card-number" && s.fields["payment-card-number"].state === "invalid"' \
  "an invalid card number is shown as invalid with Twilio's ErrorType"
wait_state card 's.attempt === 2 && s.partial && s.fields["payment-card-number"].value === null' \
  "the server asked for the card number again by itself"
t_eq "  ... and the error stays through the re-ask, until new digits" \
  "invalid-card-number payment-card-number invalid" \
  "$(sse_last card 's.errorType+" "+s.errorField+" "+s.fields["payment-card-number"].state' | tr -d '"')"
sim_digits "$CALL" 4
wait_state card 's.attempt === 2 && s.errorType === null && s.errorField === null && s.fields["payment-card-number"].state === "keying"' \
  "the customer keys again: the error clears, keying"
sim_digits "$CALL" 111111111111111#
wait_state card 's.capture === "security-code" && s.fields["payment-card-number"].value === "xxxxxxxxxxxx1111" && s.cardType === "visa"' \
  "the masked card number is captured and the server moved on to the security code"
wait_state card 's.capture === "security-code" && s.partial' "Twilio is capturing the security code"

# ---- attach: the running payment found again (a reload without storage, a second tab)
att=$(cap_api POST /aap/attach "{\"uui\":\"$CALL\"}")
t_eq "attach by UUI to the running payment: 200, the same payment" "200 $PK_card security-code" \
  "$(cat "$run/status") $(jget '"\(.paymentSid) \(.state.capture)"' <<<"$att")"
ST_att=$(jget .sessionToken <<<"$att")
t_match "  ... with a new session token" '^eyJ' "$ST_att"
[[ $ST_att != "$ST_card" ]] && t_ok "  ... not the first one" || t_fail "  ... not the first one"
out=$(cap_api GET "/aap/session?paymentSid=$PK_card" "" "$ST_att")
t_eq "  ... which reads the session" "200 $PK_card" "$(cat "$run/status") $(jget .state.paymentSid <<<"$out")"
sse_start card2 "$(events_url "$PK_card" "$ST_att")" && sse_resync card2 "$PK_card" "$ST_att"
wait_state card2 's.capture === "security-code"' "  ... and subscribes to its live updates"
out=$(cap_api POST /aap/attach "{\"callSid\":\"$CALL\"}")
t_eq "attach by callSid: the same payment" "200 $PK_card" "$(cat "$run/status") $(jget .paymentSid <<<"$out")"
rec=$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Items/$CALL")
t_eq "payMap[CallSid] records the call's payment and agent" "$PK_card $CALL agent" \
  "$(jget '"\(.data.paymentSid) \(.data.callSid) \(.data.agent)"' <<<"$rec")"
t_match "  ... with a TTL" '"date_expires": *"20' "$rec"
echo "bob-password-0123" | "$top/$B/bin/twiliopay-agent" -f "$run/stack/agents" set bob 2>/dev/null
BOB_TOKEN=$(curl -s -H 'Content-Type: application/json' -d '{"username":"bob","password":"bob-password-0123"}' \
  "$base/aap/login" | jget .token)
out=$(AGENT_TOKEN=$BOB_TOKEN cap_api POST /aap/attach "{\"uui\":\"$CALL\"}")
t_eq "another agent cannot attach to it: 403" "403 session_other_agent" "$(cat "$run/status") $(jget .code <<<"$out")"
t_nomatch "  ... and gets no session token" 'sessionToken|eyJ' "$out"
OTHER=$(new_call)
out=$(cap_api POST /aap/attach "{\"callSid\":\"$OTHER\"}")
t_eq "a call without a payment: 404 no_running_payment" "404 no_running_payment" "$(cat "$run/status") $(jget .code <<<"$out")"
out=$(cap_api POST /aap/attach '{"conversationId":"no-such-conversation"}')
t_eq "an unknown conversation id: 404 uui_not_found" "404 uui_not_found" "$(cat "$run/status") $(jget .code <<<"$out")"
sim_hangup "$OTHER"
sim_digits "$CALL" 333#
wait_state card 's.capture === "expiration-date" && s.fields["security-code"].value === "xxx"' \
  "security code captured (fully masked), expiry date next"
wait_state card 's.capture === "expiration-date" && s.partial' "Twilio is capturing the expiry date"
sim_digits "$CALL" 1230#
wait_state card 's.status === "ready" && s.required.length === 0 && s.fields["expiration-date"].value === "1230"' \
  "ready to submit"
t_eq "nothing was submitted without the agent" ready "$(sse_last card s.status | tr -d '"')"
out=$(cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_card\",\"status\":\"complete\"}" "$ST_card")
t_eq "the agent submits: 202" 202 "$(cat "$run/status")"
wait_state card 's.status === "completed" && s.result === "success" && /^ch_[0-9a-f]+$/.test(s.confirmationCode)' \
  "the final Result with the connector's confirmation"
wait_state card2 's.status === "completed"' "the attached subscriber saw the end too"
sse_stop card
sse_stop card2
out=$(cap_api POST /aap/attach "{\"uui\":\"$CALL\"}")
t_eq "attach after the end: 404, the last payment completed" "404 no_running_payment" \
  "$(cat "$run/status") $(jget .code <<<"$out")"
t_match "  ... saying so" 'the last one completed' "$(jget .error <<<"$out")"
# A seq names one state: the same state may come twice (a writer that met
# another in Sync publishes what it read, docs/api.md "Live updates"), two
# different states with one seq never.
order=$("${sse[@]}" "$run/card.sse" | jq -rs '
  def at(f): (map(f) | index(true)) // -1;
  [at(.errorType == "invalid-card-number"), at(.capture == "security-code"),
   at(.capture == "expiration-date"), at(.status == "ready"), at(.status == "completed")] as $m
  | (if all($m[]; . >= 0) and all(range(1; $m | length); $m[.] > $m[. - 1]) then "in order" else ($m | tojson) end)
    + " " + (if all(group_by(.seq)[]; map(tojson) | unique | length == 1)
             then "one-state-per-seq" else "two-states-one-seq" end)')
t_eq "the subscriber saw error, moves, ready, completed, in order; one state per seq" "in order one-state-per-seq" "$order"
no_pan "card" card
caps=$(captures "$PK_card")
t_eq "the server made exactly 4 Capture requests (card, card again, security code, expiry)" \
  "payment-card-number payment-card-number security-code expiration-date" "$(cut -d@ -f1 <<<"$caps" | paste -sd' ')"
t_eq "  ... each with its own idempotency key" 4 "$(cut -d@ -f2 <<<"$caps" | sort -u | grep -c "^$PK_card-s")"
t_nomatch "the test client asked for no step" 'changeCapture' "$(cat "$run/stack/log/nginx-access.log")"
state=$(cap_api GET "/aap/session?paymentSid=$PK_card" "" "$ST_card")
t_eq "GET /aap/session: the same final state in one request" "completed success" \
  "$(jget '"\(.state.status) \(.state.result)"' <<<"$state")"
item=$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Items/$PK_card")
t_eq "payMap keeps Twilio's fields at top level and our state under _session" "success completed 4111" \
  "$(jget '"\(.data.Result) \(.data._session.status) \(if (.data.PaymentCardNumber | endswith("1111")) then "4111" else "?" end)"' <<<"$item")"
t_match "payMap item has a TTL" '"date_expires": *"20' "$item"
# A late or duplicate progress callback never reopens a final session.
late=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
out=$("${post[@]}" "$base/sync/paySyncUpdate" AccountSid="$AC" CallSid="$CALL" Sid="$PK_card" \
  Capture=payment-card-number PartialResult=true Required=payment-card-number DateUpdated="$late")
t_eq "a progress callback after the Result changes nothing" final "$(jget .outcome <<<"$out")"
t_eq "  ... the session is still completed" completed \
  "$(cap_api GET "/aap/session?paymentSid=$PK_card" "" "$ST_card" | jget .state.status)"
out=$(cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_card\",\"captureType\":\"security-code\"}" "$ST_card")
t_eq "re-capturing after the end: 409" 409 "$(cat "$run/status")"

# Wrong-session requests and subscriptions on a real session.
other=$("$top/$B/tests/mint-token" session agent PKfedcba9876543210fedcba9876543210 "$CALL")
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_card\",\"status\":\"cancel\"}" "$other" >/dev/null
t_eq "another payment's session token on this one: 403" 403 "$(cat "$run/status")"
t_eq "  ... buys no ticket for it: 403" 403 "$(curl -s -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $AGENT_TOKEN" -H "X-Session-Token: $other" -H 'Content-Type: application/json' \
  -d "{\"paymentSid\":\"$PK_card\"}" "$base/aap/events-ticket")"
t_eq "subscribing with it in the URL: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
  -H 'Accept: text/event-stream' "$base/aap/events/$PK_card?token=$other")"
t_eq "subscribing with no ticket: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
  -H 'Accept: text/event-stream' "$base/aap/events/$PK_card")"

# ================================================================ ACH
CALL=$(new_call)
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"25.00\",\"paymentMethod\":\"ach-debit\"}")
t_eq "ACH without the connector parameters Twilio requires: 400" "400 rejected_by_twilio 64015" \
  "$(cat "$run/status") $(jget '"\(.code) \(.twilioCode)"' <<<"$out")"
start ach "{\"callSid\":\"$CALL\",\"chargeAmount\":\"25.00\",\"paymentMethod\":\"ach-debit\",\"bankAccountType\":\"consumer-savings\",\"parameters\":{\"AVSName\":\"Jane Doe\"}}"
t_eq "ACH startCapture: 201" 201 "$(cat "$run/status")"
t_eq "  ... the bank fields, in order" '["bank-routing-number","bank-account-number"]' "$(jget .state.order <"$run/ach.start")"
wait_state ach 's.capture === "bank-routing-number" && s.partial' "the server asked for the routing number"
sim_digits "$CALL" 121181976#
wait_state ach 's.capture === "bank-account-number" && s.fields["bank-routing-number"].value === "121181976"' \
  "routing number captured, account number next"
wait_state ach 's.capture === "bank-account-number" && s.partial' "Twilio is capturing the account number"
sim_digits "$CALL" 123456789#
wait_state ach 's.status === "ready" && /^\*+89$/.test(s.fields["bank-account-number"].value)' \
  "ready, the account number masked but its last 2 digits"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_ach\",\"status\":\"complete\"}" "$ST_ach" >/dev/null
wait_state ach 's.status === "completed" && s.result === "success"' "ACH submitted and completed"
sse_stop ach
no_pan "ACH" ach

# ================================================================ cancel mid-way
CALL=$(new_call)
start cancel "{\"callSid\":\"$CALL\",\"chargeAmount\":\"0\",\"tokenType\":\"one-time\"}"
t_eq "tokenizing startCapture: 201" 201 "$(cat "$run/status")"
wait_state cancel 's.capture === "payment-card-number" && s.partial' "card number asked for"
sim_digits "$CALL" 4242424242424242#
wait_state cancel 's.capture === "security-code" && s.partial' "security code asked for"
out=$(cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_cancel\",\"captureType\":\"postal-code\"}" "$ST_cancel")
t_eq "re-capturing a field the session does not have: 400" 400 "$(cat "$run/status")"
out=$(cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_cancel\",\"status\":\"complete\"}" "$ST_cancel")
t_eq "complete before everything is captured: 409" 409 "$(cat "$run/status")"
t_match "  ... naming what is missing" 'still required: security-code,expiration-date' "$(jget .error <<<"$out")"
out=$(cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_cancel\",\"status\":\"cancel\"}" "$ST_cancel")
t_eq "cancel mid-way: 202" 202 "$(cat "$run/status")"
wait_state cancel 's.status === "cancelled" && s.capture === null' "the subscriber sees the session cancelled"
sim_digits "$CALL" 123#
cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_cancel\",\"captureType\":\"security-code\"}" "$ST_cancel" >/dev/null
t_eq "nothing can be captured after cancel: 409" 409 "$(cat "$run/status")"
t_eq "  ... and it stays cancelled" cancelled \
  "$(cap_api GET "/aap/session?paymentSid=$PK_cancel" "" "$ST_cancel" | jget .state.status)"
sse_stop cancel

# ================================================================ hang-up mid-way
CALL=$(new_call)
start hangup "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5\"}"
wait_state hangup 's.capture === "payment-card-number" && s.partial' "card number asked for"
sim_digits "$CALL" 4111111111111111#
wait_state hangup 's.capture === "security-code"' "security code next"
sim_hangup "$CALL"
wait_state hangup 's.status === "failed" && s.result === "caller-hung-up"' "the customer hangs up: failed, caller-hung-up"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_hangup\",\"status\":\"complete\"}" "$ST_hangup" >/dev/null
t_eq "complete after the hang-up: 409" 409 "$(cat "$run/status")"
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5\"}")
t_eq "startCapture on the ended call: 409" 409 "$(cat "$run/status")"
t_eq "  ... call_not_in_progress" call_not_in_progress "$(jget .code <<<"$out")"
sse_stop hangup

# ================================================================ duplicate, out-of-order, concurrent
CALL=$(new_call)
start dup "{\"callSid\":\"$CALL\",\"chargeAmount\":\"12.34\"}"
wait_state dup 's.capture === "payment-card-number" && s.partial' "card number asked for"
sim_digits "$CALL" 4111111111111111
wait_state dup 's.fields["payment-card-number"].value === "xxxxxxxxxxxxxxxx"' "16 digits keyed"
# The next webhook (the callback that ends the card number) arrives twice.
curl -s -o /dev/null -H 'Content-Type: application/json' \
  -d '{"target":"webhooks","count":1,"duplicate":true,"match":"/sync/paySyncUpdate"}' "$S/sim/faults"
sim_digits "$CALL" '#'
wait_state dup 's.capture === "security-code" && s.partial' "the card number completes, the server moves on"
sleep 0.5
t_match "the duplicate delivery was recognised" "outcome=duplicate" \
  "$(grep "payment=$PK_dup" "$run/stack/log/paySyncUpdate.log")"
t_eq "  ... and did not double-step: one Capture of the security code" 1 \
  "$(captures "$PK_dup" | grep -c '^security-code@')"
seq_now() { cap_api GET "/aap/session?paymentSid=$PK_dup" "" "$ST_dup" | jget .state.seq; }
before=$(seq_now)
old=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
out=$("${post[@]}" "$base/sync/paySyncUpdate" AccountSid="$AC" CallSid="$CALL" Sid="$PK_dup" \
  Capture=payment-card-number PartialResult=true Required=payment-card-number,security-code,expiration-date \
  DateUpdated="$old")
t_eq "an out-of-order (older) callback: stale" stale "$(jget .outcome <<<"$out")"
t_eq "  ... changes nothing" "$before security-code" \
  "$(cap_api GET "/aap/session?paymentSid=$PK_dup" "" "$ST_dup" | jget '"\(.state.seq) \(.state.capture)"')"
# The same signed callback twice by hand: the second is a duplicate.
args=(AccountSid="$AC" CallSid="$CALL" Sid="$PK_dup" Capture=security-code PartialResult=true
  Required=security-code,expiration-date DateUpdated="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")
a=$("${post[@]}" "$base/sync/paySyncUpdate" "${args[@]}" | jget .outcome)
b=$("${post[@]}" "$base/sync/paySyncUpdate" "${args[@]}" | jget .outcome)
t_eq "a replayed callback: applied once, then duplicate" "applied duplicate" "$a $b"
t_eq "an unsigned one is refused" 1 "$("${post[@]}" --no-signature "$base/sync/paySyncUpdate" "${args[@]}" >/dev/null; echo $?)"
# Eight callbacks at once, handled by two workers: each applied one is
# written exactly once (If-Match, retried on 412), none lost.
before=$(seq_now)
pids=()
for i in 1 2 3 4 5 6 7 8; do
  "${post[@]}" "$base/sync/paySyncUpdate" AccountSid="$AC" CallSid="$CALL" Sid="$PK_dup" \
    Capture=security-code PartialResult=true Required=security-code,expiration-date SecurityCode=x \
    DateUpdated="$(date -u -d "+$i min" +%Y-%m-%dT%H:%M:%S.000Z)" >"$run/conc.$i" &
  pids+=($!)
done
wait "${pids[@]}"
applied=$(cat "$run"/conc.* | grep -o '"outcome":"applied"' | wc -l)
answered=$(cat "$run"/conc.* | grep -o '"outcome":"\(applied\|stale\)"' | wc -l)
t_eq "concurrent callbacks all answered (applied or stale)" 8 "$answered"
t_eq "every applied one was written once: seq grew by $applied" "$((before + applied))" "$(seq_now)"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_dup\",\"status\":\"cancel\"}" "$ST_dup" >/dev/null
t_eq "and the session still cancels: 202" 202 "$(cat "$run/status")"
sse_stop dup
no_pan "duplicate session" dup

# ================================================================ the short reference
# The card payment above completed: its reference is in the state, in
# payMap with the connector's id, and claimed as payMap["ref:<it>"].
REF_RE='^[2-9ACDEFGHJKMNPQRTVWXY]{4}-[2-9ACDEFGHJKMNPQRTVWXY]{4}$'
item=$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Items/$PK_card")
ref=$(jget .data._session.reference <<<"$item")
t_match "a completed payment has a short reference" "$REF_RE" "$ref"
t_eq "  ... kept with the connector's id" "$(jget .data.PaymentConfirmationCode <<<"$item")" \
  "$(jget .data._session.connectorId <<<"$item")"
t_eq "  ... in the state the console reads" "$ref" \
  "$(cap_api GET "/aap/session?paymentSid=$PK_card" "" "$ST_card" | jget .state.reference)"
t_eq "  ... claimed in payMap for this payment" "$PK_card $(jget .data.PaymentConfirmationCode <<<"$item")" \
  "$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Items/ref:$ref" | jget '"\(.data.paymentSid) \(.data.connectorId)"')"
t_eq "  ... for a year" true "$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Items/ref:$ref" |
  jget '(.date_expires | fromdateiso8601) - now > 364 * 86400')"
# A collision: the first candidate for a connector id is already held by
# another payment, so the payment gets the second; a replayed callback
# keeps it.  The candidates are computed here as lib/reference.c does.
candidate() {
  node -e 'const c=require("crypto");const [k,id,n]=process.argv.slice(1);
    const m=c.createHmac("sha256",k).update(Buffer.concat([Buffer.from("twiliopay-reference-v1\0"+id+"\0"+n)])).digest();
    let v=m.readBigUInt64BE(0);const A="23456789ACDEFGHJKMNPQRTVWXY";let s="";
    for(let i=0;i<8;i++){s=A[Number(v%27n)]+s;v/=27n}console.log(s.slice(0,4)+"-"+s.slice(4))' "$(envv AGENT_SECRET)" "$1" "$2"
}
CALL=$(new_call)
start refc "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}"
wait_state refc 's.capture === "payment-card-number" && s.partial' "card number asked for"
conn=ch_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
first=$(candidate "$conn" 0) second=$(candidate "$conn" 1)
curl -s -o /dev/null -u "$AC:$TOK" --data-urlencode "Key=ref:$first" --data-urlencode "Ttl=600" \
  --data-urlencode "Data={\"reference\":\"$first\",\"paymentSid\":\"PK$(printf '0%.0s' {1..32})\",\"connectorId\":\"ch_another\"}" \
  "$S/v1/Services/$IS/Maps/payMap/Items"
args=(AccountSid="$AC" CallSid="$CALL" Sid="$PK_refc" Result=success PaymentConfirmationCode="$conn"
  PaymentToken= PaymentCardNumber=xxxxxxxxxxxx1111 DateUpdated="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")
t_eq "the success callback is applied" applied "$("${post[@]}" "$base/sync/paySyncUpdate" "${args[@]}" | jget .outcome)"
t_eq "the first candidate is another payment's: the second is given" "$second" \
  "$(cap_api GET "/aap/session?paymentSid=$PK_refc" "" "$ST_refc" | jget .state.reference)"
t_eq "  ... claimed for this payment" "$PK_refc $conn" \
  "$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Items/ref:$second" | jget '"\(.data.paymentSid) \(.data.connectorId)"')"
t_eq "  ... the other payment's claim untouched" ch_another \
  "$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Items/ref:$first" | jget .data.connectorId)"
t_eq "the same callback again: a duplicate, the same reference" "duplicate $second" \
  "$("${post[@]}" "$base/sync/paySyncUpdate" "${args[@]}" | jget .outcome) $(cap_api GET "/aap/session?paymentSid=$PK_refc" "" "$ST_refc" | jget .state.reference)"
t_eq "  ... and no third candidate claimed" 404 "$(curl -s -o /dev/null -w '%{http_code}' -u "$AC:$TOK" \
  "$S/v1/Services/$IS/Maps/payMap/Items/ref:$(candidate "$conn" 2)")"
sse_stop refc

# ================================================================ postal code on
stack_env_set "$run/env" INCLUDE_POSTAL_CODE true
stack_env_set "$run/env" ALLOWED_CURRENCIES "eur,USD"
stack_reload
sleep 1.5
cfg=$(cap_api GET /aap/config)
t_eq "GET /aap/config follows the configuration: ALLOWED_CURRENCIES, the postal code" \
  '["EUR","USD"] EUR ["payment-card-number","security-code","expiration-date","postal-code"]' \
  "$(jget '"\(.currencies | tojson) \(.defaultCurrency) \(.captureOrder["credit-card"] | tojson)"' <<<"$cfg")"
CALL=$(new_call)
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"1.00\",\"currency\":\"GBP\"}")
t_eq "a currency outside ALLOWED_CURRENCIES: 400" "400 currency_not_allowed" "$(cat "$run/status") $(jget .code <<<"$out")"
start postal "{\"callSid\":\"$CALL\",\"chargeAmount\":\"1.00\"}"
t_eq "without a currency, the first of ALLOWED_CURRENCIES" EUR "$(jget .state.currency <"$run/postal.start")"
t_eq "with INCLUDE_POSTAL_CODE the order ends with the postal code" \
  '["payment-card-number","security-code","expiration-date","postal-code"]' "$(jget .state.order <"$run/postal.start")"
wait_state postal 's.capture === "payment-card-number" && s.partial' "card number asked for"
sim_digits "$CALL" 5555555555554444#
wait_state postal 's.capture === "security-code" && s.partial' "security code asked for"
sim_digits "$CALL" 123#
wait_state postal 's.capture === "expiration-date" && s.partial' "expiry asked for"
sim_digits "$CALL" 1231#
wait_state postal 's.capture === "postal-code" && s.partial' "then the postal code, by itself"
sim_digits "$CALL" 94105#
wait_state postal 's.status === "ready" && s.fields["postal-code"].value === "94105" && s.cardType === "mastercard"' \
  "ready with the postal code"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_postal\",\"status\":\"complete\"}" "$ST_postal" >/dev/null
wait_state postal 's.status === "completed" && s.result === "success"' "submitted and completed"
sse_stop postal
no_pan "postal" postal

# PCI: no card data in any log.
t_nomatch "no card number in any log" '4111111111111111|5555555555554444|4242424242424242|123456789#' \
  "$(cat "$run/stack/log/"*.log)"

stack_stop
t_done
