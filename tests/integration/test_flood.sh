#!/usr/bin/env bash
# Connection floods from one address (127.0.0.2, loopback too) against the
# real nginx: 6000 sockets whose request header never ends (a line every
# 2 s) and 2000 whose body never ends (a byte every 2 s).  Meanwhile
# Twilio (127.0.0.1) sends a signed webhook and the load balancer asks
# /healthz: both are answered; the address holds no more requests than
# the per-address limit (the rest get 429 at once); the unfinished
# headers are cut by the header timeout; nginx never runs out of
# connections.  No timing is asserted: every wait is for a condition.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

N_HEADER=6000 N_BODY=2000
it_env flood
flood_pids=()
it_on_exit() { (( ${#flood_pids[@]} )) && kill "${flood_pids[@]}" 2>/dev/null; }
it_up
errlog=$run/stack/log/nginx-error.log
limit=$(sed -n 's/^limit_conn twiliopay_conn \([0-9]*\);/\1/p' "$run/stack/nginx/twiliopay.conf" | head -1)
conns=$(sed -n 's/^ *worker_connections \([0-9]*\);/\1/p' "$run/stack/nginx/nginx.conf")
t_match "a per-address limit is configured ($limit)" '^[0-9]+$' "$limit"
# The flood needs its sockets (and nginx room for them): say so plainly.
if (( $(ulimit -n) < N_HEADER + N_BODY + 500 )); then
  t_fail "the open-files limit allows the flood" "ulimit -n is $(ulimit -n); needs $((N_HEADER + N_BODY + 500))"
  t_done; exit
fi

flood() { # flood NAME COUNT MODE
  node "$top/tests/integration/slow-flood.mjs" 127.0.0.1 "$port" 127.0.0.2 "$2" "$3" /pv/callToSIP \
    "$run/flood.$1" 2>>"$run/flood.err" &
  flood_pids+=($!)
}
fstat() { jq -r "$2" "$run/flood.$1" 2>/dev/null; } # fstat NAME JQ-EXPR
flood header "$N_HEADER" header
flood body "$N_BODY" body
for i in $(seq 1 600); do
  [[ $(fstat header .ready) == true && $(fstat body .ready) == true ]] && break
  sleep 0.1
done
t_eq "the flood connected" "true true" "$(fstat header .ready) $(fstat body .ready)"
echo "# flood: header $(cat "$run/flood.header"); body $(cat "$run/flood.body")"

# While it holds its connections: Twilio's webhook and the health check.
for i in 1 2 3; do
  c=$("$top/$B/bin/twilio-post" -t "$TOK" -i "$base/pv/callToSIP" CallSid=CA0123456789abcdef0123456789abcdef \
    To=+61255550100 From=+14155550100 2>/dev/null | head -1 | tr -d '\r')
  t_match "during the flood, a signed webhook from another address is answered ($i)" '^HTTP/1.1 200' "$c"
  t_eq "during the flood, /healthz is answered ($i)" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 "$base/healthz")"
done
# Slow bodies are requests in progress: no more than the limit from one
# address, the others refused at once with 429.
t_eq "slow bodies from one address: $limit held, the other $((N_BODY - limit)) refused (429)" \
  "$limit $((N_BODY - limit))" "$(fstat body .open) $(fstat body '.answered["429"] // 0')"
# Unfinished headers: cut by the header timeout (nginx's default is 60 s;
# 30 s is the configured 10 s with room for a loaded machine).
for i in $(seq 1 900); do
  [[ $(fstat header .open) == 0 ]] && break
  sleep 0.1
done
t_eq "unfinished headers are all cut by the server" 0 "$(fstat header .open)"
t_eq "  ... each within 30 s of connecting" yes \
  "$( (( $(fstat header .longestDroppedMs) < 30000 )) && echo yes || echo "no: $(fstat header .longestDroppedMs) ms")"
t_eq "nginx never ran out of connections (worker_connections $conns)" "" \
  "$(grep -m3 'worker_connections are not enough' "$errlog")"
kill "${flood_pids[@]}" 2>/dev/null
wait "${flood_pids[@]}" 2>/dev/null
flood_pids=()
t_eq "after the flood, /healthz 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 "$base/healthz")"
t_eq "no nginx worker died" "" "$(grep -m3 'exited on signal' "$errlog")"
stack_stop
t_done
