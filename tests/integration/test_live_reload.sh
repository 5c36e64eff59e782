#!/usr/bin/env bash
# Live updates across nginx reloads: no subscriber request can make nchan
# fetch a message by id (its worker crash, "spool_fetch_msg: Assertion
# `spool->msg_status == MSG_INVALID' failed", lives there).
#
# 50 cycles of `nginx -s reload`, each followed by the reconnects a browser
# and an attacker can make: Last-Event-ID with an id from before the reload
# and with the newest id, ?last_event_id=, a made-up id, and the
# If-Modified-Since / If-None-Match pair nchan also reads as a message id
# (refused: no EventSource sends them).  Meanwhile the agent re-captures
# the card number now and then, so states keep being published.  Then: no nginx worker exited on a
# signal, every reconnect subscribed, and a subscriber that reconnected
# with an old Last-Event-ID ends on the state GET /aap/session gives.
# No timing is asserted: every wait is for a condition.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
it_env live
. "$top/tests/integration/capture-helpers.sh"
it_up
CYCLES=${LIVE_RELOAD_CYCLES:-50}
errlog=$run/stack/log/nginx-error.log
ngx() { nginx -p "$run/stack/nginx" -c "$run/stack/nginx/nginx.conf" -e "$errlog" "$@"; }
master=$(cat "$run/stack/nginx.pid")
workers() { pgrep -P "$master" | sort; }
nworkers=$(workers | wc -l)

cap_login
CALL=$(new_call)
start live "{\"callSid\":\"$CALL\",\"chargeAmount\":\"3.00\"}" || t_fail "startCapture" "$(cat "$run/live.start")"
wait_state live 's.capture === "payment-card-number" && s.partial' "a payment is capturing, its subscriber is live"
sim_digits "$CALL" 4
wait_state live 's.fields["payment-card-number"].state === "keying"' "a first state with an id"
OLD=$(node "$top/tests/integration/sse-states.mjs" "$run/live.sse" --ids | grep -v '^null$' | tail -1)
t_match "  ... the stream carries nchan's message ids" '^[0-9]+:[0-9]+$' "$OLD"
sse_stop live

# reload: nginx re-reads its configuration; returns once every worker of
# the new generation runs (old ones may still be shutting down).
reload() {
  local before after i new
  before=$(workers)
  ngx -s reload 2>>"$errlog" || return 1
  for i in $(seq 1 200); do
    after=$(workers)
    new=$(comm -13 <(echo "$before") <(echo "$after") | wc -l)
    (( new >= nworkers )) && return 0
    sleep 0.05
  done
  return 1
}
# recapture: the agent asks for the card number again, so a new state is
# published (whatever the emulator's input timeouts did meanwhile); its seq.
recapture() {
  cap_api POST /aap/changeCapture "{\"paymentSid\":\"$PK_live\",\"captureType\":\"payment-card-number\"}" \
    "$ST_live" | jget .state.seq
}
# A subscription URL: a new ticket each time (one connection each).
url() { events_url "$PK_live" "$ST_live"; }
declare -A got
fails=0; LATEST=$OLD
for c in $(seq 1 "$CYCLES"); do
  (( c % 10 == 1 )) && echo "# cycle $c (at ${SECONDS}s)"
  reload || { t_fail "cycle $c: nginx reloads"; fails=$((fails + 1)); continue; }
  (( c % 5 == 0 )) && recapture >/dev/null
  node "$top/tests/integration/reconnect.mjs" \
    "old=$(url)" "old:Last-Event-ID: $OLD" \
    "latest=$(url)" "latest:Last-Event-ID: $LATEST" \
    "arg=$(url)&last_event_id=$(jq -rn --arg v "$OLD" '$v|@uri')" \
    "madeup=$(url)" "madeup:Last-Event-ID: $(date +%s):7" \
    "etag=$(url)" "etag:If-Modified-Since: $(date -u -R)" "etag:If-None-Match: 0" >"$run/rc"
  while read -r n st; do got[$n]+="$st "; done <"$run/rc"
  # The browser's own stream, cut by the next reload.
  sse_stop browser
  curl -s -N --max-time 60 -H 'Accept: text/event-stream' -H "Last-Event-ID: $LATEST" "$(url)" \
    >"$run/browser.$c.sse" 2>/dev/null &
  SSE_PID[browser]=$!
  id=$(cat "$run"/browser.*.sse 2>/dev/null | sed -n 's/^id: *//p' | sort -t: -k1,1n -k2,2n | tail -1)
  [[ -n $id ]] && LATEST=$id
done
(( fails == 0 )) && t_ok "$CYCLES reloads"
declare -A label=([old]="Last-Event-ID from before the reloads" [latest]="Last-Event-ID of the newest message"
  [arg]="?last_event_id=" [madeup]="a made-up Last-Event-ID")
for n in old latest arg madeup; do
  t_eq "${label[$n]}: every reconnect subscribed (200)" "$(printf '200 %.0s' $(seq 1 "$CYCLES"))" "${got[$n]}"
done
t_eq "If-Modified-Since / If-None-Match (a message id nchan reads): refused, 400, every time" \
  "$(printf '400 %.0s' $(seq 1 "$CYCLES"))" "${got[etag]}"
sse_stop browser

# The end: a subscriber with the old Last-Event-ID, then a new state.
sse_start final "$(url)" -H "Last-Event-ID: $OLD" || t_fail "a subscriber with an id from before the reloads subscribes"
want=$(recapture)
wait_state final "s.seq >= $want" "after the reloads, its stream ends on the session's state (seq $want)"
t_eq "no nginx worker exited on a signal" "" "$(grep -E 'exited on signal|Assertion' "$errlog" | head -5)"
t_eq "  ... and nginx still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")"
sim_hangup "$CALL"
stack_stop
t_done
