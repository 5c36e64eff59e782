# capture-helpers.sh - sourced by the payment-capture integration tests
# (test_agent_auth.sh, test_capture_agent_flow.sh) after tests/lib.sh and
# scripts/stack.sh and a started stack.  Needs: base (nginx URL), run (a
# scratch folder), top.
#
#   jget FILTER               JSON on stdin -> jq FILTER of it, raw ("" for null)
#   cap_login                 AGENT_TOKEN for the sandbox agent
#   cap_api METHOD PATH [JSON] [SESSION_TOKEN]
#                             body on stdout; HTTP status in $run/status
#   events_url PK SESSION_TOKEN
#                             a subscription URL with a new ticket (POST
#                             /aap/events-ticket): good for one connection
#   sse_start NAME URL [CURL-ARGS...]
#                             EventSource subscription saved to $run/NAME.sse;
#                             returns once it is subscribed (status 200)
#   sse_resync NAME PK SESSION_TOKEN
#                             what the console does once subscribed: the
#                             current state (GET /aap/session), kept in
#                             $run/NAME.sse.resync and read with the stream
#                             (a subscriber gets only what is published
#                             after it subscribed)
#   sse_wait NAME EXPR        wait (15 s at most) until a state s makes EXPR true
#   sse_last NAME EXPR        EXPR of the newest state
#   sse_stop NAME
#   sim_call / sim_digits CALL DIGITS / sim_hangup CALL     the emulator

jget() {
  jq -j "($1) | if . == null then \"\" elif type == \"object\" or type == \"array\" then tojson else tostring end"
}

cap_login() {
  AGENT_TOKEN=$(curl -s -H 'Content-Type: application/json' \
    -d "{\"username\":\"$STACK_AGENT_USER\",\"password\":\"$STACK_AGENT_PASSWORD\"}" \
    "$base/aap/login" | jget .token)
}

cap_api() {
  local method=$1 path=$2 body=${3:-} session=${4:-}
  local args=(-s -o "$run/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $AGENT_TOKEN")
  [[ -n $session ]] && args+=(-H "X-Session-Token: $session")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" "$base$path" >"$run/status"
  cat "$run/body"
}

events_url() {
  local u
  # sed, not jget: tests buy hundreds (cJSON escapes no '/').
  u=$(curl -s -H "Authorization: Bearer $AGENT_TOKEN" -H "X-Session-Token: $2" \
    -H 'Content-Type: application/json' -d "{\"paymentSid\":\"$1\"}" "$base/aap/events-ticket" |
    sed -n 's/.*"eventsUrl":"\([^"]*\)".*/\1/p')
  echo "$base$u"
}

declare -A SSE_PID
sse_start() {
  local i
  rm -f "$run/$1.hdr" "$run/$1.sse.resync"
  curl -s -N --max-time 900 -D "$run/$1.hdr" -H 'Accept: text/event-stream' "${@:3}" "$2" \
    >"$run/$1.sse" 2>/dev/null &
  SSE_PID[$1]=$!
  for i in $(seq 1 150); do
    # curl may be halfway through writing the status line.
    if [[ $(head -1 "$run/$1.hdr" 2>/dev/null) =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
      [[ ${BASH_REMATCH[1]} == 200 ]]
      return
    fi
    kill -0 "${SSE_PID[$1]}" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
sse_resync() {
  curl -s -H "Authorization: Bearer $AGENT_TOKEN" -H "X-Session-Token: $3" \
    "$base/aap/session?paymentSid=$2" | jq -j '.state // empty | "data: \(tojson)\n\n"' 2>/dev/null \
    >"$run/$1.sse.resync"
}
sse_wait() {
  local i
  for i in $(seq 1 150); do
    node "$top/tests/integration/sse-states.mjs" "$run/$1.sse" --has "$2" && return 0
    sleep 0.1
  done
  return 1
}
sse_last() { node "$top/tests/integration/sse-states.mjs" "$run/$1.sse" --last "$2"; }
sse_states() { node "$top/tests/integration/sse-states.mjs" "$run/$1.sse"; }
sse_stop() {
  [[ -n ${SSE_PID[$1]:-} ]] && kill "${SSE_PID[$1]}" 2>/dev/null && wait "${SSE_PID[$1]}" 2>/dev/null
  SSE_PID[$1]=
  return 0
}
sse_stop_all() { local n; for n in "${!SSE_PID[@]}"; do sse_stop "$n"; done; }

sim_call() {
  curl -s -H 'Content-Type: application/json' -d '{"from":"+14155550123"}' \
    "http://127.0.0.1:$STACK_SIM_PORT/sim/calls"
}
sim_digits() {
  curl -s -o /dev/null -H 'Content-Type: application/json' -d "{\"digits\":\"$2\"}" \
    "http://127.0.0.1:$STACK_SIM_PORT/sim/calls/$1/digits"
}
sim_hangup() {
  curl -s -o /dev/null -X POST "http://127.0.0.1:$STACK_SIM_PORT/sim/calls/$1/hangup"
}
# new_call: a new answered call at the emulator; its PSTN CallSid.
new_call() { sim_call | jget .pstn_call_sid; }
# item MAP KEY: the Sync item's JSON (empty, and failure, when absent).
item() { curl -sf -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/$1/Items/$2"; }
# start NAME JSON: startCapture; sets PK_NAME / ST_NAME and subscribes.
start() {
  local name=$1 out
  out=$(cap_api POST /aap/startCapture "$2")
  printf -v "PK_$name" '%s' "$(jget .paymentSid <<<"$out")"
  printf -v "ST_$name" '%s' "$(jget .sessionToken <<<"$out")"
  echo "$out" >"$run/$name.start"
  [[ $(cat "$run/status") == 201 ]] || return 1
  sse_start "$name" "$(events_url "$(jget .paymentSid <<<"$out")" "$(jget .sessionToken <<<"$out")")" ||
    return 1
  sse_resync "$name" "$(jget .paymentSid <<<"$out")" "$(jget .sessionToken <<<"$out")"
}
wait_state() {
  if sse_wait "$1" "$2"; then t_ok "$3"; else t_fail "$3" "no state with: $2" "$(sse_states "$1" | tail -3)"; fi
}
