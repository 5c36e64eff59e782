#!/usr/bin/env bash
# nchan on Redis never fetches a message by id: nchan's long-standing
# worker crash (spool_fetch_msg assertion, slact/nchan 534/561/573/676/720)
# lives in that fetch, and with the Redis engine too.  On a node of the
# two-node sandbox: 20 cycles of an nginx restart (how a node in Redis
# mode takes a configuration change, docs/multinode.md) followed by
# subscriptions that ask for a message by id in every way nchan reads one
# (Last-Event-ID, ?last_event_id=, If-Modified-Since + If-None-Match),
# with an id from before the restarts; no worker may die, and the
# subscriber still ends on the right state (a state published after all
# of it arrives).  Not reloads: with the Redis engine, nchan 1.3.6 leaves
# a reloaded nginx unable to keep a worker alive once a channel was
# published to, whatever the subscribers ask (an upstream defect, not a
# fetch by id; tests/multinode/repro-nchan-redis-reload.sh shows it), so
# the product says restart.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/multinode/mn-up.sh"
MN_ENV=()
mn_up
. "$top/tests/integration/capture-helpers.sh"

on 1 cap_login
CALL=$(new_call)
out=$(on 1 cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\",\"currency\":\"USD\"}")
PK=$(jget o.paymentSid <<<"$out")
ST=$(jget o.sessionToken <<<"$out")
# Every subscription below carries a ticket of its own (one-use): a
# subscription without one is refused before nchan looks for a message.
# Tickets are bought on node 2 (valid on every node), so that a node 1
# whose workers die cannot hang the test.
n1_url() { local u; u=$(on 2 events_url "$PK" "$ST"); echo "$n1${u#"$n2"}"; }
sse_start first "$(n1_url)"
until_true 10 test -s "$run/first.sse"
sim_digits "$CALL" '4111'
sse_wait first 's.fields["payment-card-number"].state === "keying"'
id=$(node "$top/tests/integration/sse-states.mjs" "$run/first.sse" --ids | grep -v '^null$' | tail -1)
# The card number finished before the restarts, which take longer than
# the emulator's wait for a key: the security code is asked next, and a
# prompt that times out meanwhile is asked again, whole.
sim_digits "$CALL" '111111111111#'
sse_wait first 's.capture === "security-code"'
sse_stop first
t_match "an event id from the stream (before the restarts)" '^[0-9]+:' "${id:-none}"

ask() {  # ask HOW: one subscription on node 1 asking for $id that way
  local h=(-H 'Accept: text/event-stream') u
  u=$(n1_url)
  case $1 in
    header) h+=(-H "Last-Event-ID: $id") ;;
    query) u+="&last_event_id=$(printf %s "$id" | jq -sRr @uri)" ;;
    etag) h+=(-H 'If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT' -H "If-None-Match: ${id#*:}") ;;
  esac
  curl -s -m 1 -o /dev/null "${h[@]}" "$u"
}
restarted=0
for i in $(seq 1 20); do
  stack_node_nginx_restart 1 >/dev/null 2>&1 && restarted=$((restarted + 1))
  pp=()
  for how in header query etag; do ask "$how" & pp+=($!); done
  wait "${pp[@]}"
done
crashes=$(grep -c 'exited on signal' "$run/stack/node1/log/nginx-error.log")
t_eq "20 nginx restarts, each answering /healthz again" 20 "$restarted"
t_eq "  ... with subscriptions asking for a message by id after each: no worker died" 0 "$crashes"
[[ $crashes == 0 ]] || grep -m2 'spool\|exited on signal' "$run/stack/node1/log/nginx-error.log" | sed 's/^/    /'

# The subscriber still ends on the right state.
sse_start after "$(n1_url)"
until_true 10 test -s "$run/after.sse"
sim_digits "$CALL" '123#'
wait_state after 's.fields["security-code"].state === "captured"' "  ... and a subscriber on that node sees the next states"
last=$(on 2 cap_api GET "/aap/session?paymentSid=$PK" "" "$ST" | jget o.state.seq)
until_true 10 bash -c "[[ \$(node '$top/tests/integration/sse-states.mjs' '$run/after.sse' --last s.seq) == '$last' ]]"
t_eq "  ... ending on the state Sync holds (seq $last)" "$last" "$(sse_last after s.seq)"
t_done
