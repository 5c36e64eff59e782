#!/usr/bin/env bash
# repro-nchan-redis-reload.sh - the open nchan defect behind "restart, do
# not reload" in docs/multinode.md.  Not part of make test (it documents
# an upstream defect we route around; tests/multinode/test_nofetch.sh
# checks the restart we rely on).
#
#   tests/multinode/repro-nchan-redis-reload.sh   exit 1 while the defect is there
#
# On the two-node sandbox (nchan's Redis engine, nostore): one payment's
# a payment's channel is published to, then node 1's nginx is reloaded
# (SIGHUP) 30 times in quick succession, each followed by a subscription
# to that channel; with nchan 1.3.6 new workers then die (signal 11),
# over and over.  Reloads a few seconds apart, or with no subscription
# between them, did not show it here.  Prints the crash count after each step.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/multinode/mn-up.sh"
MN_ENV=()
mn_up >/dev/null
. "$top/tests/integration/capture-helpers.sh"
crashes() { grep -c 'exited on signal' "$run/stack/node1/log/nginx-error.log"; }
npid=$(cat "$run/stack/node1/nginx.pid")
on 1 cap_login
CALL=$(new_call)
out=$(on 1 cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\",\"currency\":\"USD\"}")
PK=$(jget o.paymentSid <<<"$out")
sim_digits "$CALL" '4111'
until_true 10 bash -c "grep -q 'payment=$PK' '$run/stack/node1/log/paySyncUpdate.log' '$run/stack/node2/log/paySyncUpdate.log' 2>/dev/null"
echo "published to a channel; worker crashes so far: $(crashes)"
# Reloads in quick succession, each followed by a subscription to the
# channel on that node (its own ticket, bought on node 2), asking for no
# message (ASK_ID=1: with a Last-Event-ID from before, which changes
# nothing here).
ST=$(jget o.sessionToken <<<"$out")
for n in $(seq 1 30); do
  kill -HUP "$npid"
  u=$(on 2 events_url "$PK" "$ST")
  h=(-H 'Accept: text/event-stream')
  [[ -n ${ASK_ID:-} ]] && h+=(-H 'Last-Event-ID: 1765000000:0')
  curl -s -m 1 -o /dev/null "${h[@]}" "$n1${u#"$n2"}"
done
until_true 10 bash -c "grep -q 'exited on signal' '$run/stack/node1/log/nginx-error.log'"
echo "after 30 reloads with subscriptions: worker crashes $(crashes)"
(( $(crashes) == 0 ))
