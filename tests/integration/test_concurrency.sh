#!/usr/bin/env bash
# The handlers' process and thread model (README "How a handler runs";
# lib/fcgi.c) against a slow Twilio (the emulator's /sim/faults delay):
#   0. the bounds and nginx's keepalive pools agree (scripts/handler-bounds);
#   1. 64 requests in flight on one handler at once, every one answered;
#   2. past the bound: 503 with Retry-After, a log line, a metric;
#   3. SIGTERM drains: the requests in flight are answered, then it exits;
#   4. SIGHUP under load: the generations change, no request fails;
#   5. a thread crashes: its process dies, the supervisor restarts it;
#   6. a deeply nested JSON body on a pool thread's stack;
#   7. GET /metrics: Prometheus text, and the counters move with a payment.
# No timing assertions: every wait is for a condition.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
it_env conc
# The bursts below come from one address (127.0.0.1), as a busy account's
# webhooks may come from one Twilio address; nginx's per-address limit
# (CONN_PER_ADDRESS, 256 by default) is raised past the largest burst so
# that it is the handlers' own bound these tests reach.
export CONN_PER_ADDRESS=1024
. "$top/tests/integration/capture-helpers.sh"
it_up
post=("$top/$B/bin/twilio-post")
logs=$run/stack/log

arm() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$1" "$S/sim/faults"; }
faults_clear() { curl -s -o /dev/null -X DELETE "$S/sim/faults"; }
# metric NAME{LABELS}: its value in GET /metrics ("" when absent).
metric() { curl -s "$base/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
# The supervisor of handler NAME among the stack's processes.
supervisor() {
  local p
  for p in "${STACK_PIDS[@]}"; do
    [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */cgi-bin/$1 ]] && { echo "$p"; return; }
  done
}
workers_of() { pgrep -P "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
# Restarts handler NAME with the given arguments in place of the stack's.
restart_handler() {
  local name=$1 old i
  shift
  old=$(supervisor "$name")
  if [[ -n $old ]]; then kill -TERM "$old"; wait "$old" 2>/dev/null; fi
  "$top/$B/cgi-bin/$name" --listen "$run/stack/sock/$name.sock" "$@" 2>>"$logs/$name.log" &
  STACK_PIDS+=($!)
  for i in $(seq 1 100); do
    [[ $(wc -w <<<"$(workers_of "$!")") -ge 1 && -S $run/stack/sock/$name.sock ]] && return 0
    sleep 0.1
  done
  return 1
}
# uui NAME: a signed uuiSyncUpdate callback (one Sync upsert) in the
# background; status line, headers and body in $run/u.NAME.
uui() {
  "${post[@]}" -i "$base/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=$1" \
    CallSid=CA1123456789abcdef0123456789abcdef ParentCallSid=CA0123456789abcdef0123456789abcdef \
    AccountSid="$AC" CallStatus=in-progress Direction=outbound-dial >"$run/u.$1" 2>&1 &
  UUI_PIDS+=($!)
}
statuses() { local f; for f in "$@"; do head -1 "$f" | awk '{print $2}'; done | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}' | sed 's/ $//'; }
# wait_for CMD...: until CMD succeeds, 30 s at most.
wait_for() { local i; for i in $(seq 1 300); do "$@" && return 0; sleep 0.1; done; return 1; }
in_flight_at_least() { local v; v=$(metric "twiliopay_requests_in_flight{handler=\"$1\"}"); (( ${v:-0} >= $2 )); }

# ================================================================ 0. bounds
bounds=$top/scripts/handler-bounds
missing=""
for b in "$top/$B"/cgi-bin/*; do
  n=$(basename "$b")
  awk -v n="$n" '$1 == n { f = 1 } END { exit !f }' "$bounds" || missing+=" $n"
done
t_eq "every handler has a line in scripts/handler-bounds" "" "$missing"
nginx_workers=$(nproc) # worker_processes auto
over=""
while read -r name workers threads keepalive _; do
  [[ -z $name || $name == \#* ]] && continue
  (( keepalive * nginx_workers <= workers * threads )) || over+=" $name"
done <"$bounds"
t_eq "nginx's keepalive pools x $nginx_workers workers stay within what each handler serves at once" "" "$over"
routes=$(cat "$run/stack/nginx/twiliopay.conf" "$run/stack/nginx/twiliopay-live.conf")
ups=$(cat "$run/stack/nginx/twiliopay-upstreams.conf")
nomatch=""
for u in $(grep -o 'fastcgi_pass twiliopay_[A-Za-z0-9_]*' <<<"$routes" | sed 's/.* //' | sort -u); do
  grep -q "^upstream $u {" <<<"$ups" || nomatch+=" $u"
done
t_eq "every route's upstream exists, with keepalive" "" "$nomatch"
t_match "  ... and nginx keeps the connections open" 'fastcgi_keep_conn on;' "$(cat "$top/nginx/fastcgi.conf")"

# ================================================================ 1. 64 in flight
echo "# 1. 64 requests in flight (at ${SECONDS}s)"
# Each callback makes one Sync request; the emulator holds each 5 s.
# Two workers of 2 threads each would take 64 x 5 / 2 s: nginx gives up
# after 20 s.
arm '{"target":"sync","delay_ms":5000,"count":1000}'
UUI_PIDS=()
for i in $(seq 1 64); do uui "load$i"; done
wait_for in_flight_at_least uuiSyncUpdate 32
peak=$(metric 'twiliopay_requests_in_flight{handler="uuiSyncUpdate"}')
threads=$(metric 'twiliopay_threads{handler="uuiSyncUpdate"}')
wait "${UUI_PIDS[@]}"
faults_clear
t_eq "64 concurrent callbacks against a slow Sync: all answered 200" "200:64" \
  "$(statuses "$run"/u.load*)"
t_match "  ... served side by side (in flight seen: $peak, threads: $threads)" '^([3-9][0-9]|[1-9][0-9]{2,})$' "${peak:-0}"
t_eq "  ... and written to Sync" 64 "$(for i in $(seq 1 64); do item uuiMap "load$i" >/dev/null && echo x; done | wc -l)"

# ---- a burst: 300 status callbacks at once, each on a new connection
# (more than nginx keeps open), against a slow Sync.  The handler takes
# them off its listening socket's backlog in batches while its pool
# grows; nothing is refused.
echo "#   a burst of 300 callbacks (at ${SECONDS}s)"
cfg=$run/burst.cfg
: >"$cfg"
for i in $(seq 1 300); do
  pk=$(printf 'PK%032x' "$i")
  form=(AccountSid="$AC" CallSid=CA0123456789abcdef0123456789abcdef Sid="$pk"
        Capture=payment-card-number PartialResult=true Required=payment-card-number)
  [[ $i -gt 1 ]] && echo next >>"$cfg"
  printf 'url = "%s"\nheader = "X-Twilio-Signature: %s"\ndata = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
    "$base/sync/paySyncUpdate" "$("${post[@]}" --print "$base/sync/paySyncUpdate" "${form[@]}")" \
    "$(printf '%s&' "${form[@]}" | sed 's/&$//')" >>"$cfg"
done
arm '{"target":"sync","delay_ms":1000,"count":1000}'
curl -s -Z --parallel-max 300 -K "$cfg" >"$run/burst.codes" 2>/dev/null
faults_clear
t_eq "300 callbacks at once on new connections: every one answered 200" "200:300" \
  "$(sort "$run/burst.codes" | uniq -c | awk '{printf "%s:%s ", $2, $1}' | sed 's/ $//')"

# ================================================================ 2. the bound
echo "# 2. the bound (at ${SECONDS}s)"
restart_handler uuiSyncUpdate --workers 1 --threads 4 && t_ok "uuiSyncUpdate restarted with 1 worker x 4" ||
  t_fail "uuiSyncUpdate restarted with 1 worker x 4"
arm '{"target":"sync","delay_ms":3000,"count":1000}'
UUI_PIDS=()
for i in $(seq 1 12); do uui "bound$i"; done
wait "${UUI_PIDS[@]}"
faults_clear
st=$(statuses "$run"/u.bound*)
t_match "12 at once against a bound of 4: the rest refused with 503 ($st)" '^200:([4-9]|1[01]) 503:([1-8])$' "$st"
bad=""
for f in "$run"/u.bound*; do
  head -1 "$f" | grep -q ' 503' || continue
  grep -qi '^Retry-After: 1' "$f" && grep -q '"code":"busy"' "$f" || bad+=" $(basename "$f")"
done
t_eq "  ... each 503 says Retry-After: 1 and code busy" "" "$bad"
t_match "  ... and is logged" 'status=503 .*refused=bound' "$(cat "$logs/uuiSyncUpdate.log")"
t_match "  ... and counted" '^[1-9]' "$(metric 'twiliopay_requests_rejected_total{handler="uuiSyncUpdate"}')"
t_eq "  ... bound in /metrics: 1 x 4" 4 "$(metric 'twiliopay_requests_bound{handler="uuiSyncUpdate"}')"

# ================================================================ 3. SIGTERM drains
echo "# 3. SIGTERM drains (at ${SECONDS}s)"
# shellcheck disable=SC2046
restart_handler uuiSyncUpdate $(stack_bounds uuiSyncUpdate)
sup=$(supervisor uuiSyncUpdate)
arm '{"target":"sync","delay_ms":3000,"count":1000}'
UUI_PIDS=()
for i in $(seq 1 10); do uui "drain$i"; done
wait_for in_flight_at_least uuiSyncUpdate 10
kill -TERM "$sup"
wait "${UUI_PIDS[@]}"
faults_clear
t_eq "SIGTERM with 10 requests in flight: every one answered 200" "200:10" "$(statuses "$run"/u.drain*)"
gone() { ! kill -0 "$sup" 2>/dev/null; }
wait_for gone && t_ok "  ... then the handler exits" || t_fail "  ... then the handler exits"
wait "$sup" 2>/dev/null
t_match "  ... saying so" 'fn=uuiSyncUpdate .*msg=stopped' "$(cat "$logs/uuiSyncUpdate.log")"
# shellcheck disable=SC2046
restart_handler uuiSyncUpdate $(stack_bounds uuiSyncUpdate)

# ================================================================ 4. SIGHUP under load
echo "# 4. SIGHUP under load (at ${SECONDS}s)"
sig=$("${post[@]}" --print "$base/pv/callToSIP" CallSid=CA0123456789abcdef0123456789abcdef \
  To=+61255550100 From=+14155550100)
load() { # curl in a loop until told to stop; one status per line
  while [[ ! -e $run/load.stop ]]; do
    curl -s -o /dev/null -w '%{http_code}\n' -H "X-Twilio-Signature: $sig" \
      --data-urlencode CallSid=CA0123456789abcdef0123456789abcdef --data-urlencode To=+61255550100 \
      --data-urlencode From=+14155550100 "$base/pv/callToSIP" >>"$run/load.$1"
  done
}
answers() { cat "$run"/load.[0-9] 2>/dev/null | wc -l; }
more_than() { (( $(answers) > $1 )); }
rm -f "$run"/load.*
load_pids=()
for w in 1 2 3 4; do load "$w" & load_pids+=($!); done
sup=$(supervisor callToSIP)
before=$(workers_of "$sup")
wait_for more_than 100
kill -HUP "$sup"
replaced() { local now; now=$(workers_of "$sup"); [[ -n $now && " $now " != *" ${before%% *} "* && " $now " != *" ${before##* } "* ]]; }
wait_for replaced && t_ok "SIGHUP: a new generation of workers, the old ones gone" ||
  t_fail "SIGHUP: a new generation of workers, the old ones gone" "before: $before" "now: $(workers_of "$sup")"
mark=$(answers)
wait_for more_than $((mark + 100))
touch "$run/load.stop"
wait "${load_pids[@]}"
t_eq "  ... and no request failed meanwhile ($(answers) answers)" "200" "$(cat "$run"/load.[0-9] | sort -u | tr '\n' ' ' | sed 's/ $//')"

# ================================================================ 5. a thread crashes
echo "# 5. a thread crashes (at ${SECONDS}s)"
sup=$(supervisor uuiSyncUpdate)
restarts=$(metric 'twiliopay_worker_restarts_total{handler="uuiSyncUpdate"}')
arm '{"target":"sync","delay_ms":3000,"count":1000}'
UUI_PIDS=()
for i in $(seq 1 20); do uui "crash$i"; done
wait_for in_flight_at_least uuiSyncUpdate 10
before=$(workers_of "$sup")
victim=${before%% *}
# A thread of the victim other than its main thread, as if it faulted.
tid=$(ls "/proc/$victim/task" | grep -vx "$victim" | head -1)
kill -SEGV "${tid:-$victim}"
wait "${UUI_PIDS[@]}"
faults_clear
t_match "a thread of worker $victim faults: every request answered, 200 or 502 for the lost ones ($(statuses "$run"/u.crash*))" \
  '^(200:[0-9]+)?( ?502:[0-9]+)?$' "$(statuses "$run"/u.crash*)"
restarted() { local now; now=$(workers_of "$sup"); [[ $(wc -w <<<"$now") -eq 2 && " $now " != *" $victim "* ]]; }
wait_for restarted && t_ok "  ... the supervisor replaced the process" ||
  t_fail "  ... the supervisor replaced the process" "workers: $(workers_of "$sup")"
# (A sanitizer catches the signal, reports, and exits with its own code.)
t_match "  ... and said why" "worker $victim (killed by signal 11|exited with [0-9]+); restarting" \
  "$(cat "$logs/uuiSyncUpdate.log")"
t_eq "  ... counted in /metrics" $((${restarts:-0} + 1)) "$(metric 'twiliopay_worker_restarts_total{handler="uuiSyncUpdate"}')"
UUI_PIDS=()
uui after-crash
wait "${UUI_PIDS[@]}"
t_eq "  ... and the handler serves on" "200:1" "$(statuses "$run/u.after-crash")"

# ---- paySyncUpdate: the Capture request runs beside the write; a
# refused one marks the session stalled afterwards.
echo "#   a refused Capture request, beside the write (at ${SECONDS}s)"
cap_login
CALL=$(new_call)
start stall "{\"callSid\":\"$CALL\",\"chargeAmount\":\"3.00\"}" || t_fail "startCapture for the stall payment"
wait_state stall 's.capture === "payment-card-number" && s.partial' "a payment asks for the card number"
# The next Capture request (security code) is refused: not retried.
arm '{"target":"api","method":"POST","match":"/Payments/","status":400,"count":1}'
sim_digits "$CALL" 4111111111111111#
wait_state stall 's.stalled === "capture-request-failed" && s.capture === "security-code"' \
  "  ... Twilio refuses the security code's Capture: stalled capture-request-failed"
faults_clear
order=$(sse_states stall | node -e '
let t="";process.stdin.on("data",d=>t+=d).on("end",()=>{const s=t.trim().split("\n").map(JSON.parse);
  const moved=s.findIndex(x=>x.capture==="security-code"&&x.stalled===null);
  const stalled=s.findIndex(x=>x.stalled==="capture-request-failed");
  console.log(moved>=0&&stalled>moved?"moved, then stalled":"moved "+moved+" stalled "+stalled)})')
t_eq "  ... the agent saw the move as soon as it was written, the stall after" "moved, then stalled" "$order"
cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_stall\",\"captureType\":\"security-code\"}" "$ST_stall" >/dev/null
t_eq "  ... the agent asks again: 202" 202 "$(cat "$run/status")"
wait_state stall 's.capture === "security-code" && s.stalled === null && s.partial' "  ... and Twilio captures it"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_stall\",\"status\":\"cancel\"}" "$ST_stall" >/dev/null
sse_stop stall

# ================================================================ 6. deep JSON
echo "# 6. a deeply nested body (at ${SECONDS}s)"
deep=$(printf '{"a":%s%s}' "$(printf '[%.0s' $(seq 1 999))" "$(printf ']%.0s' $(seq 1 999))")
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$deep" "$base/aap/login")
t_eq "999 levels of JSON parsed on a pool thread's stack: a 400 (no username), not a crash" 400 "$code"

# ================================================================ 7. /metrics
echo "# 7. /metrics (at ${SECONDS}s)"
hdr=$(curl -s -D - -o "$run/metrics.txt" "$base/metrics")
t_match "GET /metrics from this host: 200, Prometheus text" \
  '^Content-Type: text/plain; version=0\.0\.4' "$(grep -i '^Content-Type' <<<"$hdr" | tr -d '\r')"
m=$(cat "$run/metrics.txt")
for fam in "twiliopay_requests_total counter" "twiliopay_requests_in_flight gauge" \
  "twiliopay_requests_bound gauge" "twiliopay_twilio_request_duration_seconds histogram" \
  "twiliopay_callbacks_total counter" "twiliopay_payments_total counter" \
  "twiliopay_live_publishes_total counter" "twiliopay_live_publish_failures_total counter"; do
  t_match "  ... # TYPE $fam" "^# TYPE $fam\$" "$m"
done
t_eq "  ... every handler's scoreboard is there" \
  "$(cd "$top/$B/cgi-bin" && ls | sort | tr '\n' ' ')" \
  "$(sed -n 's/^twiliopay_up{handler="\([^"]*\)"} 1$/\1/p' <<<"$m" | sort | tr '\n' ' ')"
t_match "  ... the latency histogram ends with +Inf" 'twiliopay_twilio_request_duration_seconds_bucket\{kind="sync",le="\+Inf"\} [0-9]+' "$m"
t_match "  ... paySyncUpdate's bound: 2 x 320" '^twiliopay_requests_bound\{handler="paySyncUpdate"\} 640$' "$m"
t_nomatch "  ... with no card number or secret in it" "[0-9]{12}|$TOK" "$m"
t_eq "  ... a wrong admin token from this host: 401" 401 \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer not-the-token' "$base/metrics")"
t_eq "  ... the admin token: 200" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(envv ADMIN_TOKEN)" "$base/metrics")"

h0=$(metric 'twiliopay_requests_total{handler="healthz",status="200"}')
for i in 1 2 3 4 5; do curl -s -o /dev/null "$base/healthz"; done
t_eq "requests_total counts each request" $((${h0:-0} + 5)) "$(metric 'twiliopay_requests_total{handler="healthz",status="200"}')"

applied0=$(metric 'twiliopay_callbacks_total{outcome="applied"}')
completed0=$(metric 'twiliopay_payments_total{result="completed"}')
pub0=$(metric 'twiliopay_live_publishes_total')
rest0=$(metric 'twiliopay_twilio_request_duration_seconds_count{kind="rest"}')
cap_login
CALL=$(new_call)
start pay "{\"callSid\":\"$CALL\",\"chargeAmount\":\"12.00\"}" || t_fail "startCapture for the metrics payment"
wait_state pay 's.capture === "payment-card-number"' "a payment starts"
sim_digits "$CALL" 4111111111111111#
sim_digits "$CALL" 333#
sim_digits "$CALL" 1230#
wait_state pay 's.status === "ready"' "  ... the customer keys it all in"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_pay\",\"status\":\"complete\"}" "$ST_pay" >/dev/null
wait_state pay 's.status === "completed"' "  ... and it completes"
sse_stop pay
grew() { local v; v=$(metric "$1"); (( ${v:-0} > $2 )); }
t_match "callbacks_total{outcome=applied} grew" yes "$(grew 'twiliopay_callbacks_total{outcome="applied"}' "${applied0:-0}" && echo yes)"
t_eq "payments_total{result=completed} grew by one" $((${completed0:-0} + 1)) \
  "$(metric 'twiliopay_payments_total{result="completed"}')"
t_match "live_publishes_total grew" yes "$(grew twiliopay_live_publishes_total "${pub0:-0}" && echo yes)"
t_match "the REST latency histogram counted the Payments requests" yes \
  "$(grew 'twiliopay_twilio_request_duration_seconds_count{kind="rest"}' "${rest0:-0}" && echo yes)"
t_eq "nothing in flight once it is all over" 0 \
  "$(curl -s "$base/metrics" | awk '/^twiliopay_requests_in_flight/ && $1 !~ /metrics/ { s += $2 } END { print s + 0 }')"

t_done
