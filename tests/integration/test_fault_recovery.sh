#!/usr/bin/env bash
# Faults, injected through the emulator's /sim/faults into the
# real stack (nginx, nchan, every handler, the emulator):
#  1. Sync answers 429 / 500 / 503, times out without acting, acts but the
#     answer is lost, or acts late, on a share of the uuiMap and payMap
#     writes: every write lands (read back through Sync REST) and every
#     state reaches the agent's live view;
#  2. the payment connector down or slow: the session ends in a clear
#     failed state with Twilio's words;
#  3. Twilio refusing or failing startCapture / changeCapture: a JSON error
#     that says what failed, and nothing half-written (no session in payMap,
#     no payment left running at Twilio, no step taken);
#  4. webhooks delivered twice, retried, or lost and retried: nothing
#     changes twice, the session carries on;
#  5. a handler worker killed (SIGKILL) under load: the stack keeps
#     serving, the supervisor replaces the worker, and no worker of any
#     handler died otherwise ("killed by signal" only where we killed).
# No timing is asserted: every wait is for a state, with a generous limit.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
it_env faults
# One try waits at most a second, so a "timeout" fault needs 1.5 s, not 11;
# a call that keeps failing gives up after 3 s of tries, not 12.
stack_env_set "$run/env" HTTP_TIMEOUT_MS 1000
stack_env_set "$run/env" API_RETRY_BUDGET_MS 3000
. "$top/tests/integration/capture-helpers.sh"
load_pids=()
it_on_exit() { kill "${load_pids[@]}" 2>/dev/null; }
it_up
logs=$run/stack/log
cap_login
[[ -n $AGENT_TOKEN ]] && t_ok "agent logs in" || t_fail "agent logs in"

# ---------------------------------------------------------------- helpers
# arm JSON: one fault (201 expected).
arm() {
  local c
  c=$(curl -s -o "$run/fault" -w '%{http_code}' -H 'Content-Type: application/json' -d "$1" "$S/sim/faults")
  [[ $c == 201 ]] || t_fail "arm fault $1" "status $c: $(cat "$run/fault")"
}
faults_left() { curl -s "$S/sim/faults" | jget '.faults | length'; }
faults_clear() { curl -s -o /dev/null -X DELETE "$S/sim/faults"; }
# item MAP KEY: the Sync item's JSON (empty when absent).
items() { curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/$1/Items?PageSize=100"; }
call_payments() { curl -s "$S/sim/calls/$1" | jget "$2"; }
# pay_to_ready NAME: a call, a card session, the customer keys everything.
pay_to_ready() {
  local name=$1 call
  call=$(new_call)
  printf -v "CALL_$name" '%s' "$call"
  start "$name" "{\"callSid\":\"$call\",\"chargeAmount\":\"12.50\",\"currency\":\"USD\"}" ||
    { t_fail "$name: startCapture" "$(cat "$run/$name.start")"; return 1; }
  sse_wait "$name" 's.capture === "payment-card-number" && s.partial' || return 1
  sim_digits "$call" 4111111111111111#
  sse_wait "$name" 's.capture === "security-code" && s.partial' || return 1
  sim_digits "$call" 333#
  sse_wait "$name" 's.capture === "expiration-date" && s.partial' || return 1
  sim_digits "$call" 1230#
  sse_wait "$name" 's.status === "ready"'
}
# The seq of every state the agent's EventSource got, sorted, unique.
seqs() { sse_states "$1" | jq -r .seq | sort -n | uniq | tr '\n' ' ' | sed 's/ $//'; }
# The count of log lines of handler H matching REGEX.
nlog() { grep -cE -- "$2" "$logs/$1.log" 2>/dev/null || true; }

# ================================================================ 1. Sync faults
echo "# 1. Sync faults (at ${SECONDS}s)"
# ---- uuiMap: a fault of each kind on the writes of six answered calls
echo "#   uuiMap: a fault of each kind on the writes of six answered c (at ${SECONDS}s)"
# (one call, one fault: many on one write would outlast its retry budget,
# and that must end in a 503 to Twilio - covered by the fixtures).
faults_clear
U='"target":"sync","method":"POST","match":"/Maps/uuiMap/Items"'
retries_before=$(nlog uuiSyncUpdate 'retrying Twilio request')
calls=()
for f in '"status":429' '"status":500' '"status":503' \
         '"delay_ms":1500,"drop":true' '"lose_answer":true' '"delay_ms":1500'; do
  # timed out, never acted on / acted on, answer lost / timed out, acted on later
  arm "{$U,$f,\"count\":1}"
  calls+=("$(new_call)")
done
t_eq "uuiMap: every injected Sync fault was met" 0 "$(faults_left)"
n=0
for c in "${calls[@]}"; do
  [[ $(item uuiMap "$c" | jget .data.pstnSid) == "$c" ]] && n=$((n + 1))
done
t_eq "uuiMap: all 6 mappings are in Sync (read back through Sync REST)" 6 "$n"
t_match "uuiMap: the handler retried" '^[1-9]' "$(( $(nlog uuiSyncUpdate 'retrying Twilio request') - retries_before ))"
t_eq "uuiMap: no callback was answered with an error" 0 "$(nlog uuiSyncUpdate 'path=/sync/uuiSyncUpdate status=5')"

# ---- payMap: every kind of fault on the writes of a whole payment.
echo "#   payMap: every kind of fault on the writes of a whole payment (at ${SECONDS}s)"
CALL=$(new_call)
start sync "{\"callSid\":\"$CALL\",\"chargeAmount\":\"9.99\",\"currency\":\"USD\"}" ||
  t_fail "payMap: startCapture" "$(cat "$run/sync.start")"
wait_state sync 's.capture === "payment-card-number" && s.partial' "payMap: the session runs"
# Each key the customer presses makes one callback, one payMap write: a
# fault of the next kind on each, in turn.
P='"target":"sync","method":"POST","match":"/Maps/payMap/Items"'
kinds=('"status":429' '"lose_answer":true' '"status":500' '"delay_ms":1500,"drop":true'
       '"status":503' '"delay_ms":1500' '"status":429,"count":2')
nfault=0
press() { # press KEYS: one key at a time, each write faulted
  local k i
  for ((i = 0; i < ${#1}; i++)); do
    k=${1:i:1}
    arm "{$P,${kinds[nfault % ${#kinds[@]}]}}"
    nfault=$((nfault + 1))
    sim_digits "$CALL" "$k"
    for _ in $(seq 1 100); do [[ $(faults_left) == 0 ]] && break; sleep 0.1; done
    [[ $(faults_left) == 0 ]] || { t_fail "payMap: the fault for key $((i + 1)) of $1 was met"; faults_clear; }
  done
}
press 4111111111111111#
wait_state sync 's.capture === "security-code" && s.partial' "payMap: card captured under Sync faults, security code next"
sim_digits "$CALL" 333#
wait_state sync 's.capture === "expiration-date" && s.partial' "payMap: security code captured, expiry next"
sim_digits "$CALL" 1230
# The write that makes the session ready is acted on, its answer lost:
# the agent must still be shown "ready" (nothing comes after it).
arm "{$P,\"lose_answer\":true}"
nfault=$((nfault + 1))
sim_digits "$CALL" '#'
wait_state sync 's.status === "ready"' "payMap: ready to submit (its write's answer was lost)"
t_match "payMap: $nfault writes met a fault" '^1[0-9]$' "$nfault"
out=$(cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_sync\",\"status\":\"complete\"}" "$ST_sync")
t_eq "payMap: the agent submits (202)" 202 "$(cat "$run/status")"
wait_state sync 's.status === "completed" && s.result === "success"' "payMap: completed"
t_eq "payMap: every injected Sync fault was met" 0 "$(faults_left)"
faults_clear
stored=$(item payMap "$PK_sync")
final_seq=$(jget .data._session.seq <<<"$stored")
t_eq "payMap: Sync holds the final state" "completed success" \
  "$(jget '"\(.data._session.status) \(.data._session.result)"' <<<"$stored")"
t_eq "payMap: Sync holds the masked card number" xxxxxxxxxxxx1111 "$(jget .data.PaymentCardNumber <<<"$stored")"
sleep 0.5 # the last publish may still be on its way to nchan
t_eq "payMap: the agent's newest state is Sync's (seq $final_seq)" "$final_seq" "$(seqs sync | tr ' ' '\n' | tail -1)"
t_eq "payMap: the fields were asked for once each, in order" \
  "payment-card-number security-code expiration-date" \
  "$(sse_states sync | jq -r .capture | grep -v '^null$' | uniq | tr '\n' ' ' | sed 's/ $//')"
sse_stop sync

# ================================================================ 2. the connector
echo "# 2. the connector (at ${SECONDS}s)"
# Down: Twilio cannot reach it.
faults_clear
pay_to_ready down || t_fail "connector down: the payment gets ready"
arm '{"target":"connector","drop":true,"count":1}'
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_down\",\"status\":\"complete\"}" "$ST_down" >/dev/null
t_eq "connector down: submit accepted (202)" 202 "$(cat "$run/status")"
wait_state down 's.status === "failed" && s.result === "payment-connector-error" && s.payErrorCode === "64008" && /Could not reach the Payment Provider/.test(s.paymentError)' \
  "connector down: the session fails with Twilio's reason (64008, could not reach the provider)"
t_eq "connector down: Sync holds the failure" "failed" "$(item payMap "$PK_down" | jget .data._session.status)"
sse_stop down
# Slow, then gone (Twilio gives up on it).
pay_to_ready slow || t_fail "connector slow: the payment gets ready"
# Long enough (Twilio waits 15 s) for the two requests below to meet the
# session while it is being submitted.
arm '{"target":"connector","delay_ms":5000,"status":504,"count":1}'
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_slow\",\"status\":\"complete\"}" "$ST_slow" >/dev/null
wait_state slow 's.status === "submitting"' "connector slow: the agent sees the payment being submitted"
# While it is submitted, completing again and capturing a field again get
# one and the same answer.
again=$(cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_slow\",\"status\":\"complete\"}" "$ST_slow")
t_eq "connector slow: complete again while submitting (409)" 409 "$(cat "$run/status")"
recap=$(cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_slow\",\"captureType\":\"security-code\"}" "$ST_slow")
t_eq "connector slow: a field again while submitting (409)" 409 "$(cat "$run/status")"
t_eq "connector slow: complete again says submitting" \
  '{"error":"the payment is being submitted; wait for its result","code":"submitting"}' "$again"
t_eq "connector slow: a field again says the same, in the same words" "$again" "$recap"
wait_state slow 's.status === "failed" && s.result === "payment-connector-error" && /answered 504/.test(s.paymentError)' \
  "connector slow: then a clear failure (the provider answered 504)"
sse_stop slow
# Slow but answering: the payment completes.
pay_to_ready slowok || t_fail "connector slow but answering: ready"
arm '{"target":"connector","delay_ms":2000,"count":1}'
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_slowok\",\"status\":\"complete\"}" "$ST_slowok" >/dev/null
wait_state slowok 's.status === "completed" && /^ch_/.test(s.confirmationCode)' "connector slow but answering: completed"
sse_stop slowok
# Our connector process itself down: nginx answers 502 for it.
pay_to_ready procdown || t_fail "connector process down: ready"
charge_pid=
for p in "${STACK_PIDS[@]}"; do
  [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */cgi-bin/charge ]] && charge_pid=$p
done
kill -TERM "$charge_pid" 2>/dev/null; wait "$charge_pid" 2>/dev/null
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_procdown\",\"status\":\"complete\"}" "$ST_procdown" >/dev/null
wait_state procdown 's.status === "failed" && s.result === "payment-connector-error" && /answered 502/.test(s.paymentError)' \
  "connector process down: a clear failure (502 from nginx)"
sse_stop procdown
"$STACK_BUILD/cgi-bin/charge" --listen "$STACK_RUN/sock/charge.sock" --workers 2 2>>"$logs/charge.log" &
STACK_PIDS+=($!)

# ================================================================ 3. Twilio errors to the agent
echo "# 3. Twilio errors to the agent (at ${SECONDS}s)"
faults_clear
pay_count() { call_payments "$1" '.payments | length'; }
session_items() { items payMap | jget '[.items[] | select(.data and .data._session)] | length'; }
sessions_before=$(session_items)
# ---- startCapture: Payments create fails, every retry too.
echo "#   startCapture: Payments create fails, every retry too. (at ${SECONDS}s)"
CALL=$(new_call)
arm '{"target":"api","method":"POST","match":"/Payments.json","status":500,"count":50}'
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}")
t_eq "startCapture, Twilio 500 on create: 502" 502 "$(cat "$run/status")"
t_match "  ... a JSON error that names the step" '"error":"creating the payment: Twilio answered 500' "$out"
t_eq "  ... code twilio_error" twilio_error "$(jget .code <<<"$out")"
t_eq "  ... no payment at Twilio" 0 "$(pay_count "$CALL")"
faults_clear
# ---- 429 for as long as we try: "try again".
echo "#   429 for as long as we try: try again. (at ${SECONDS}s)"
arm '{"target":"api","method":"POST","match":"/Payments.json","status":429,"count":50}'
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}")
t_eq "startCapture, Twilio 429 throughout: 503" 503 "$(cat "$run/status")"
t_eq "  ... code twilio_busy" twilio_busy "$(jget .code <<<"$out")"
t_eq "  ... no payment at Twilio" 0 "$(pay_count "$CALL")"
faults_clear
# ---- a 400 is not retried and is said as Twilio said it.
echo "#   a 400 is not retried and is said as Twilio said it. (at ${SECONDS}s)"
arm '{"target":"api","method":"POST","match":"/Payments.json","status":400,"count":1}'
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}")
t_eq "startCapture, Twilio 400: 502 with Twilio's code" "502 20400" "$(cat "$run/status") $(jget .twilioCode <<<"$out")"
t_eq "  ... no payment at Twilio" 0 "$(pay_count "$CALL")"
# ---- the call cannot be read.
echo "#   the call cannot be read. (at ${SECONDS}s)"
arm '{"target":"api","method":"GET","match":"/Calls/","status":503,"count":50}'
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}")
t_eq "startCapture, Twilio 503 on the call: 502 fetching the call" "502 fetching the call" \
  "$(cat "$run/status") $(jget '.error | split(":")[0]' <<<"$out")"
faults_clear
t_eq "startCapture failures: no session written to payMap" "$sessions_before" "$(session_items)"
# ---- payMap cannot be written: the payment is cancelled at Twilio.
echo "#   payMap cannot be written: the payment is cancelled at Twilio (at ${SECONDS}s)"
arm '{"target":"sync","method":"POST","match":"/Maps/payMap/Items","status":500,"count":50}'
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}")
t_eq "startCapture, Sync down: 502 sync_error" "502 sync_error" "$(cat "$run/status") $(jget .code <<<"$out")"
t_match "  ... saying the payment was cancelled" 'payment was cancelled' "$(jget .error <<<"$out")"
faults_clear
t_eq "  ... and it was: nothing runs at Twilio" "cancelled" "$(call_payments "$CALL" '[.payments[].state] | join(",")')"
t_eq "  ... no session in payMap" "$sessions_before" "$(session_items)"
# ---- the first Capture request fails: the session says so.
echo "#   the first Capture request fails: the session says so. (at ${SECONDS}s)"
CALL=$(new_call)
arm '{"target":"api","method":"POST","match":"/Payments/PK","status":500,"count":50}'
start capfail "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}"
t_eq "startCapture, the first Capture fails: 201 with a warning" "201 yes" \
  "$(cat "$run/status") $([[ -n $(jget .warning <"$run/capfail.start") ]] && echo yes)"
t_eq "  ... the state says capture-request-failed" capture-request-failed "$(jget .state.stalled <"$run/capfail.start")"
t_eq "  ... and so does Sync" capture-request-failed "$(item payMap "$PK_capfail" | jget .data._session.stalled)"
# ---- changeCapture while Twilio fails: a clear error, no step taken.
echo "#   changeCapture while Twilio fails: a clear error, no step tak (at ${SECONDS}s)"
rev=$(item payMap "$PK_capfail" | jget .revision)
out=$(cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_capfail\",\"captureType\":\"payment-card-number\"}" "$ST_capfail")
t_eq "changeCapture, Twilio 500: 502" 502 "$(cat "$run/status")"
t_match "  ... a JSON error that names the step" '^asking Twilio to capture the field: Twilio answered 500' "$(jget .error <<<"$out")"
t_eq "  ... payMap untouched" "$rev" "$(item payMap "$PK_capfail" | jget .revision)"
faults_clear
arm '{"target":"api","method":"GET","match":"/Calls/","status":500,"count":50}'
out=$(cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_capfail\",\"captureType\":\"payment-card-number\"}" "$ST_capfail")
t_eq "changeCapture, the call cannot be read: 502 fetching the call" "502 fetching the call" \
  "$(cat "$run/status") $(jget '.error | split(":")[0]' <<<"$out")"
t_eq "  ... payMap untouched" "$rev" "$(item payMap "$PK_capfail" | jget .revision)"
faults_clear
# ---- Twilio back: the agent resets the field and the session goes on.
echo "#   Twilio back: the agent resets the field and the session goes (at ${SECONDS}s)"
out=$(cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_capfail\",\"captureType\":\"payment-card-number\"}" "$ST_capfail")
t_eq "changeCapture once Twilio answers: 202" 202 "$(cat "$run/status")"
wait_state capfail 's.capture === "payment-card-number" && s.partial && s.stalled === null' "  ... Twilio captures the card number"
# ---- its write to payMap is acted on but the answer is lost: one step, one Capture.
echo "#   its write to payMap is acted on but the answer is lost: one  (at ${SECONDS}s)"
captures() {
  curl -s "$S/sim/requests" | jq --arg pk "$1" '[.requests[]
    | select(.dir == "in" and .method == "POST" and (.url | contains("/Payments/" + $pk))
             and .request.Capture? and .status == 202)] | length'
}
before=$(captures "$PK_capfail")
step=$(item payMap "$PK_capfail" | jget .data._session.step)
arm '{"target":"sync","method":"POST","match":"/Maps/payMap/Items/PK","lose_answer":true,"count":1}'
out=$(cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_capfail\",\"captureType\":\"payment-card-number\"}" "$ST_capfail")
t_eq "changeCapture, Sync's answer lost: 202" 202 "$(cat "$run/status")"
t_eq "  ... the fault was met" 0 "$(faults_left)"
t_eq "  ... one new Capture request at Twilio" $((before + 1)) "$(captures "$PK_capfail")"
t_eq "  ... one step taken" $((step + 1)) "$(item payMap "$PK_capfail" | jget .data._session.step)"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_capfail\",\"status\":\"cancel\"}" "$ST_capfail" >/dev/null
sse_stop capfail
# ---- startCapture: Sync acts on the first write but the answer is lost.
echo "#   startCapture: Sync acts on the first write but the answer is (at ${SECONDS}s)"
CALL=$(new_call)
arm '{"target":"sync","method":"POST","match":"/Maps/payMap/Items","lose_answer":true,"count":1}'
start lost "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}"
t_eq "startCapture, Sync's answer lost: still 201" 201 "$(cat "$run/status")"
t_eq "  ... the fault was met" 0 "$(faults_left)"
wait_state lost 's.capture === "payment-card-number" && s.partial' "  ... and the session runs"
t_eq "  ... the payment is active at Twilio" active "$(call_payments "$CALL" '.payments[0].state')"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_lost\",\"status\":\"cancel\"}" "$ST_lost" >/dev/null
sse_stop lost
faults_clear

# ================================================================ 4. webhooks
echo "# 4. webhooks (at ${SECONDS}s)"
# ---- every status callback delivered twice.
echo "#   every status callback delivered twice. (at ${SECONDS}s)"
arm '{"target":"webhooks","match":"/sync/paySyncUpdate","duplicate":true,"count":200}'
arm '{"target":"webhooks","match":"/sync/uuiSyncUpdate","duplicate":true,"count":10}'
pay_to_ready dup || t_fail "duplicates: the payment gets ready"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_dup\",\"status\":\"complete\"}" "$ST_dup" >/dev/null
wait_state dup 's.status === "completed"' "duplicates: the payment completes"
faults_clear
# Accounting per callback, from the emulator's record of each callback it
# sent (N of them, each delivered twice; the record holds the answer to
# the second delivery) and the handler's log line for every delivery.  A
# callback either found the session on its first delivery (applied, then
# duplicate), or came before startCapture had written the session (the
# create-time one, when the handlers are slow): then its first delivery is
# recorded, and its second is recorded again or, the session written in
# between, applied - its first application to the session.
# So: duplicates = applied - (second deliveries applied), and recorded =
# 2 x (second deliveries recorded) + (second deliveries applied).
# The emulator records a callback after both deliveries were answered,
# and the handler logs just after answering: wait until the Result is
# recorded (the last callback) and every delivery has its log line.
dup_answers() {
  curl -s "$S/sim/requests" | jq -r --arg pk "$PK_dup" '
    [.requests[] | select(.dir == "out" and (.url | endswith("/sync/paySyncUpdate")) and .request.Sid? == $pk)] as $r
    | [$r[] | select(.response.outcome? == "applied")] as $applied
    | [$r[] | select(.response.outcome? == "recorded")] as $recorded
    | "\($r | length) \($applied | length) \($recorded | length) \(if any($r[]; .request.Result) then 1 else 0 end)"'
}
deadline=$((SECONDS + 60))
while :; do
  read -r sent second_applied second_recorded result < <(dup_answers)
  applied=$(nlog paySyncUpdate "payment=$PK_dup .*outcome=applied")
  recorded=$(nlog paySyncUpdate "payment=$PK_dup .*outcome=recorded")
  answered=$(nlog paySyncUpdate "payment=$PK_dup .*outcome=")
  [[ -n $result ]] || { sent=0 second_applied=0 second_recorded=0 result=0; }
  (( result && answered == 2 * sent )) && break
  (( SECONDS < deadline )) || break
  sleep 0.1
done
t_eq "duplicates: every delivery of the $sent callbacks answered" "$((2 * sent))" "$answered"
dups=$(nlog paySyncUpdate "payment=$PK_dup .*outcome=duplicate")
t_eq "duplicates: every callback applied once, its second delivery recognised" \
  "$((applied - second_applied))" "$dups"
t_eq "duplicates: a callback before the session: recorded, then recorded or applied" \
  "$((2 * second_recorded + second_applied))" "$recorded"
stored=$(item payMap "$PK_dup")
t_eq "duplicates: one write per callback (seq = start + $applied callbacks + submit)" "$((applied + 2))" \
  "$(jget .data._session.seq <<<"$stored")"
t_eq "duplicates: one Capture request per field" "3" "$(captures "$PK_dup")"
t_eq "duplicates: the uuiMap entry is right" "$CALL_dup" "$(item uuiMap "$CALL_dup" | jget .data.pstnSid)"
sse_stop dup
# ---- Twilio retries a callback (the same signed request, again): nothing changes.
echo "#   Twilio retries a callback (the same signed request, again):  (at ${SECONDS}s)"
last_cb=$(curl -s "$S/sim/requests" | jq -r --arg pk "$PK_dup" '
  [.requests[] | select(.dir == "out" and (.url | endswith("/sync/paySyncUpdate")) and .request.Sid? == $pk)] as $r
  | ([$r[] | select(.request.Capture == "security-code" and .request.PartialResult == "false")] | last),
    ([$r[] | select(.request.Result)] | last)
  | .request | to_entries | map("\(.key)=\(.value)") | join("\u0001")')
rev=$(item payMap "$PK_dup" | jget .revision)
while IFS= read -r line; do
  IFS=$'\x01' read -ra kv <<<"$line"
  out=$("$top/$B/bin/twilio-post" -t "$TOK" "$base/sync/paySyncUpdate" "${kv[@]}")
  t_match "retried callback ($(tr '\001' '\n' <<<"$line" | grep -E '^(Capture|Result)=' | head -1)): answered, changes nothing" \
    '"outcome":"(duplicate|final)"' "$out"
done <<<"$last_cb"
t_eq "retried callbacks: payMap untouched" "$rev" "$(item payMap "$PK_dup" | jget .revision)"
# ---- a callback lost, then retried: the session carries on.
echo "#   a callback lost, then retried: the session carries on. (at ${SECONDS}s)"
CALL=$(new_call)
start lostcb "{\"callSid\":\"$CALL\",\"chargeAmount\":\"7.00\"}"
wait_state lostcb 's.capture === "payment-card-number" && s.partial' "lost callback: the session runs"
curl -s -o /dev/null -X DELETE "$S/sim/requests"
arm '{"target":"webhooks","match":"/sync/paySyncUpdate","drop":true,"count":1}'
sim_digits "$CALL" 4111111111111111#
t_eq "lost callback: the fault was met" 0 "$(faults_left)"
lost=$(curl -s "$S/sim/requests" | jq -r '
  [.requests[] | select(.dir == "out" and .fault and (.fault | tostring | test("drop")))] | last
  | select(.) | .request | to_entries | map("\(.key)=\(.value)") | join("\u0001")')
IFS=$'\x01' read -ra kv <<<"$lost"
"$top/$B/bin/twilio-post" -t "$TOK" "$base/sync/paySyncUpdate" "${kv[@]}" >/dev/null
wait_state lostcb 's.capture === "security-code" && s.partial' "lost callback, retried: the session moved on to the security code"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_lostcb\",\"status\":\"cancel\"}" "$ST_lostcb" >/dev/null
sse_stop lostcb

# ================================================================ 5. a worker killed under load
echo "# 5. a worker killed under load (at ${SECONDS}s)"
faults_clear
sig=$("$top/$B/bin/twilio-post" -t "$TOK" --print "$base/pv/callToSIP" \
  CallSid=CA0123456789abcdef0123456789abcdef To=+61255550100 From=+14155550100)
load() { # curl in a loop until told to stop; counts answers by status
  local f=$run/load.$1 i=0
  while [[ ! -e $run/load.stop ]]; do
    curl -s -o /dev/null -w '%{http_code}\n' -H "X-Twilio-Signature: $sig" \
      --data-urlencode CallSid=CA0123456789abcdef0123456789abcdef --data-urlencode To=+61255550100 \
      --data-urlencode From=+14155550100 "$base/pv/callToSIP" >>"$f"
    curl -s -o /dev/null -w '%{http_code}\n' "$base/healthz" >>"$f"
    i=$((i + 1))
  done
}
rm -f "$run"/load.*
for w in 1 2 3 4; do load "$w" & load_pids+=($!); done
sup=
for p in "${STACK_PIDS[@]}"; do
  [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */cgi-bin/callToSIP ]] && sup=$p
done
# Wait for some answers, then kill one worker (a child of the supervisor).
for i in $(seq 1 100); do (( $(cat "$run"/load.[0-9] 2>/dev/null | wc -l) > 40 )) && break; sleep 0.1; done
workers=$(pgrep -P "$sup" | tr '\n' ' ')
victim=${workers%% *}
kill -KILL "$victim"
t_match "a callToSIP worker is killed under load (pid $victim)" '^[0-9]+$' "$victim"
# The supervisor starts a replacement: two workers again, the victim gone.
for i in $(seq 1 100); do
  now=$(pgrep -P "$sup" | tr '\n' ' ')
  [[ " $now " != *" $victim "* && $(wc -w <<<"$now") -eq 2 ]] && break
  sleep 0.1
done
t_eq "the supervisor replaced it (2 workers, the killed one gone)" "2 no" \
  "$(wc -w <<<"$now") $([[ " $now " == *" $victim "* ]] && echo yes || echo no)"
mark=$(cat "$run"/load.[0-9] | wc -l)
for i in $(seq 1 150); do (( $(cat "$run"/load.[0-9] | wc -l) > mark + 100 )) && break; sleep 0.1; done
touch "$run/load.stop"
wait "${load_pids[@]}" 2>/dev/null
load_pids=()
after=$(cat "$run"/load.[0-9] | tail -n +"$((mark + 1))")
t_match "the stack kept serving after the kill (100+ more answers)" '^[0-9]{3,}$' "$(wc -l <<<"$after")"
# The request the killed worker was holding fails (nginx answers 502);
# its answer may come in before or after the replacement is seen, so the
# whole run is counted: every answer 200 but that one.
t_match "  ... every answer 200, but for the request the worker was holding (at most one failure)" \
  '^[01]$' "$(cat "$run"/load.[0-9] | grep -vc '^200$')"
t_eq "the kill is logged by callToSIP's supervisor" 1 "$(nlog callToSIP "worker $victim killed by signal 9")"
t_eq "no other worker of any handler died" "" \
  "$(grep -l 'killed by signal\|exited with' "$logs"/*.log | grep -v '/callToSIP.log$' | tr '\n' ' ')"
t_eq "  ... nor another callToSIP worker" 1 "$(nlog callToSIP 'killed by signal|exited with')"

t_eq "no handler answered with an internal error" "" \
  "$(grep -lE 'msg=request .*status=500 ' "$logs"/*.log | grep -v '/sim.log$' | tr '\n' ' ')"
stack_stop
t_done
