#!/usr/bin/env bash
# Live-update tickets are single-use across the nodes: spent in the
# nodes' shared Redis (lib/ticket.c), not in each node's own list.  A
# ticket redeemed on node 1 is refused on node 2; two nodes redeeming one
# ticket at the same moment let one subscription through; with Redis down
# a ticket is refused (503 tickets_unavailable, never the per-node list
# instead) while the payment itself still reads (GET /aap/session), and
# tickets work again once Redis is back.
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
t_eq "startCapture: 201" 201 "$(cat "$run/status")"
PK=$(jget o.paymentSid <<<"$out")
ST=$(jget o.sessionToken <<<"$out")

# ticket_path: a new ticket's subscription path (bought on node 1).
ticket_path() { local u; u=$(on 1 events_url "$PK" "$ST"); echo "${u#"$n1"}"; }
# sub NODE_URL PATH: the status a subscription gets (an accepted one is
# held open; curl gives up after 2 s and still reports its 200).
sub() {
  curl -s -m 2 -o "$run/sub.body" -w '%{http_code}' -H 'Accept: text/event-stream' "$1$2"
}

p=$(ticket_path)
t_match "a ticket from POST /aap/events-ticket" '^/aap/events/PK[0-9a-f]{32}\?ticket=' "$p"
t_eq "the ticket subscribes on node 1" 200 "$(sub "$n1" "$p")"
t_eq "  ... and the same ticket is refused on node 2" 403 "$(sub "$n2" "$p")"
t_match "  ... as spent" 'used already' "$(cat "$run/sub.body")"
t_eq "  ... and on node 1 again" 403 "$(sub "$n1" "$p")"

# One ticket on both nodes at the same moment, ten times: one
# subscription each time.
ok=0
for _ in $(seq 1 10); do
  p=$(ticket_path)
  sub "$n1" "$p" >"$run/c1" & a=$!
  sub "$n2" "$p" >"$run/c2" & b=$!
  wait "$a" "$b"
  codes="$(cat "$run/c1") $(cat "$run/c2")"
  [[ $codes == "200 403" || $codes == "403 200" ]] && ok=$((ok + 1)) || echo "    # codes: $codes"
done
t_eq "one ticket redeemed on both nodes at once, 10 times: one subscription each time" 10 "$ok"

# ---- Redis down: refused, not redeemed per node
p=$(ticket_path)
stack_redis_stop
# (nchan needs the same Redis and answers 503 itself.)
t_eq "Redis stopped: a good ticket is refused on node 2 (503)" 503 "$(sub "$n2" "$p")"
t_eq "  ... and on node 1" 503 "$(sub "$n1" "$p")"
t_eq "  ... nothing was spent in a node's own list" "" \
  "$(cat "$run"/stack/node*/spent-tickets 2>/dev/null)"
on 2 cap_api GET "/aap/session?paymentSid=$PK" "" "$ST" >/dev/null
t_eq "  ... while GET /aap/session (the console's polling) still answers" 200 "$(cat "$run/status")"
stack_redis_start
# nchan reconnects to Redis on its own (reconnect delay at most 5 s):
# new tickets until one subscribes.
back() { local q; q=$(ticket_path); [[ $(sub "$n2" "$q") == 200 ]]; }
until_true 30 back && t_ok "Redis back: tickets subscribe again" ||
  t_fail "Redis back: tickets subscribe again" "$(cat "$run/sub.body")"
t_eq "  ... the ticket refused while Redis was down was not spent: it subscribes on node 2" 200 \
  "$(sub "$n2" "$p")"
t_eq "  ... once" 403 "$(sub "$n1" "$p")"

# ---- node 2's handlers cannot reach Redis (nchan's connection is fine):
# eventsAuth refuses the ticket itself, 503 tickets_unavailable, and
# does not fall back to the node's own list
dead=$(stack_free_port)
stack_env_set "$run/stack/node2/env" NCHAN_REDIS_URL "redis://127.0.0.1:$dead"
for q in ${STACK_NODE_PIDS[2]}; do
  [[ $(readlink "/proc/$q/exe" 2>/dev/null) == */cgi-bin/* ]] && kill -HUP "$q"
done
p=$(ticket_path)
refused() { [[ $(sub "$n2" "$p") == 503 ]]; }
until_true 20 refused && t_ok "Redis unreachable from node 2's handlers: a good ticket is refused there (503)" ||
  t_fail "Redis unreachable from node 2's handlers: a good ticket is refused there (503)" "$(cat "$run/sub.body")"
t_match "  ... saying why (tickets_unavailable)" 'tickets_unavailable' "$(cat "$run/sub.body")"
t_eq "  ... and not spent in node 2's own list" "" "$(cat "$run"/stack/node2/spent-tickets 2>/dev/null)"
t_eq "  ... so it still subscribes once, on node 1" 200 "$(sub "$n1" "$p")"
t_eq "no node's worker died" "0 0" \
  "$(grep -c 'exited on signal' "$run/stack/node1/log/nginx-error.log") $(grep -c 'exited on signal' "$run/stack/node2/log/nginx-error.log")"
t_done
