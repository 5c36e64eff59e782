#!/usr/bin/env bash
# Two nodes behind a round-robin balancer, sharing only the emulator
# (Twilio, Sync) and one redis-server (nchan's Redis engine): a login on
# one node works on the other; the status callbacks of one payment
# alternate between the nodes, and the agent's EventSource on the other
# node than the one that started the payment sees every state, including
# those published by the first.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/multinode/mn-up.sh"
MN_ENV=()
mn_up
. "$top/tests/integration/capture-helpers.sh"

# ---- the balancer spreads requests over both nodes
for _ in 1 2 3 4; do curl -s -o /dev/null "$base/healthz"; done
t_eq "the balancer sends requests to both nodes" 2 \
  "$(grep -o 'node=[0-9.:]*' "$run/stack/log/lb-access.log" | sort -u | wc -l)"

# ---- a login on one node works on the other
on 1 cap_login
t_match "an agent logs in on node 1" '^eyJ' "$AGENT_TOKEN"
on 2 cap_api GET /aap/config >/dev/null
t_eq "  ... and its token works on node 2" 200 "$(cat "$run/status")"

# ---- one payment: started on node 1, watched on node 2
CALL=$(new_call)
t_match "a customer calls (through the balancer)" '^CA[0-9a-f]{32}$' "$CALL"
out=$(on 1 cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\",\"currency\":\"USD\"}")
t_eq "startCapture on node 1: 201" 201 "$(cat "$run/status")"
PK=$(jget o.paymentSid <<<"$out")
ST=$(jget o.sessionToken <<<"$out")
# (a ticket of its own, bought on node 2: POST /aap/events-ticket)
sse_start pay "$(on 2 events_url "$PK" "$ST")"
# The subscription is live once nchan has sent the stream's first bytes.
until_true 10 test -s "$run/pay.sse" && t_ok "the agent subscribes on node 2" || t_fail "the agent subscribes on node 2"
sim_digits "$CALL" '4111111111111111#'
wait_state pay 's.fields["payment-card-number"].state === "captured"' "node 2's subscriber sees the card number captured"
sim_digits "$CALL" '123#'
sim_digits "$CALL" '1230#'
wait_state pay 's.status === "ready"' "  ... and the session ready"
on 2 cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK\",\"status\":\"complete\"}" "$ST" >/dev/null
t_eq "the agent submits through node 2: 202" 202 "$(cat "$run/status")"
wait_state pay 's.status === "completed" && s.result === "success"' "  ... and sees the payment completed"

# Which node handled which callback: each node's paySyncUpdate log.
c1=$(handled 1 paySyncUpdate "$PK" | wc -l)
c2=$(handled 2 paySyncUpdate "$PK" | wc -l)
if (( c1 > 0 && c2 > 0 )); then t_ok "the callbacks alternate between the nodes ($c1 on node 1, $c2 on node 2)"
else t_fail "the callbacks alternate between the nodes" "node 1: $c1, node 2: $c2"; fi
# Every state node 1 published once node 2's subscription was live
# reached the subscriber on node 2 (a memory-only nchan would show node 2
# only its own).
got=" $(sse_states pay | jget_lines o.seq | tr '\n' ' ')"
first=$(awk '{print $1}' <<<"$got")
seqs1=$(handled 1 paySyncUpdate "$PK" | grep -o ' seq=[0-9]*' | cut -d= -f2 | sort -n |
        awk -v f="${first:-0}" '$1 > f' | tr '\n' ' ')
missing=""
for s in $seqs1; do [[ "$got " == *" $s "* ]] || missing+=" $s"; done
if [[ -n $seqs1 && -z $missing ]]; then t_ok "node 2's subscriber got every state node 1 published (seq $seqs1)"
else t_fail "node 2's subscriber got every state node 1 published" "node 1 published: $seqs1" "node 2 got:$got"; fi
sse_stop pay

# ---- the agent's subscription through the balancer (the nodes trust its
# X-Forwarded-For for the login throttle, REAL_IP_FROM): no worker dies
# (nchan 1.3.6 and realip on a live-update location crash it)
sse_start lb "$(events_url "$PK" "$ST")"
until_true 10 test -s "$run/lb.sse" && t_ok "a subscription through the balancer is served" ||
  t_fail "a subscription through the balancer is served" "$(tail -n 2 "$run"/stack/log/lb-error.log)"
sse_stop lb

# ---- the login throttle counts the agent's address, not the balancer's:
# one address past both nodes' limits (10 a minute, burst 20, each) is
# refused, another one is not
login_status() {
  curl -s -o /dev/null -w '%{http_code}\n' -H "X-Forwarded-For: $1" -H 'Content-Type: application/json' \
    -d '{"username":"agent","password":"not-the-password"}' "$base/aap/login"
}
codes=$(for _ in $(seq 1 50); do login_status 192.0.2.10; done | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
t_match "50 failed logins from one address through the balancer: some throttled ($codes)" ' 429' "$codes"
t_eq "  ... another address is not throttled" 401 "$(login_status 192.0.2.11)"
t_eq "no node's worker died" "0 0" \
  "$(grep -c 'exited on signal' "$run/stack/node1/log/nginx-error.log") $(grep -c 'exited on signal' "$run/stack/node2/log/nginx-error.log")"

t_done
