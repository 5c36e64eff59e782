#!/usr/bin/env bash
# Twenty payments at once, each on its own call, against an emulator that
# answers like Twilio from the same region: 150 ± 50 ms on every REST,
# Sync, webhook and connector request (SIM_LATENCY_MS), its callbacks
# delivered per call in order and across calls at once.  Each customer's
# call arrives, the agent starts the payment and watches its EventSource,
# the customer keys every field the server asks for (one in ten first
# keys a card number that fails the Luhn check), the agent submits when
# the session is ready: every payment must complete with the connector's
# success.  The load driver is bench/peak.mjs, the one `make bench` uses
# for the contact-centre peak.
#
# No timing is asserted and nothing waits a fixed time: a payment is done
# when its outcome arrives; the driver gives up only when nothing at all
# has happened for two minutes (a wedged stack), however long the whole
# run takes.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
it_env peak
stack_env_set "$run/env" SIM_LATENCY_MS 150,50
# The driver reads the emulator's webhook records as the run goes (only
# those: recording every Sync request costs the emulator CPU).
stack_env_set "$run/env" SIM_REQUESTS_KEPT 0,20000
. "$top/tests/integration/capture-helpers.sh"
it_up

t_eq "the emulator adds 150 ± 50 ms to every request" '150 50 150 50' \
  "$(curl -s "$S/sim/latency" | jget '"\(.api.mean_ms) \(.api.jitter_ms) \(.webhooks.mean_ms) \(.webhooks.jitter_ms)"')"

n=${PEAK_TEST_PAYMENTS:-20}
out=$(node "$top/bench/peak.mjs" --base "$base" --sim "$S" --user "$STACK_AGENT_USER" \
  --password-file "$run/stack/agent-password" --customers "$n" --ramp-s 0 --key-ms 0 \
  --deadline-s 0 --stall-s 120 --quiet)
echo "# $n payments at once: $(jget '"run \(.wallSeconds) s, webhooks \(.webhooks.n) (\(.webhooks.outcomes | tojson)), p99 \(.webhooks.p99) ms, max \(.webhooks.max) ms"' <<<"$out")"
t_eq "$n payments at once, 150 ms latency: every one completed" "$n 0" \
  "$(jget '"\(.completed) \(.failed)"' <<<"$out")"
if [[ $(jget '.failed' <<<"$out") != 0 ]]; then
  echo "    why: $(jget '.failedReasons | tojson' <<<"$out")"
fi
t_eq "  ... on $n calls at once (all were in progress together)" "$n" "$(jget '.maxActive' <<<"$out")"
t_eq "  ... every key's callback reached the agent's EventSource" 0 "$(jget '.keyUnmatched' <<<"$out")"
t_done
