# mn-up.sh - sourced by a multinode test after tests/lib.sh (with $top
# set): the two-node sandbox (scripts/stack.sh stack_multi_start): one
# redis-server, the emulator, two full nodes and a round-robin balancer,
# for the test file.
#
#   mn_up        starts it (a failed start fails the suite) and sets run,
#                base (the balancer's URL), n1 / n2 (each node's own URL),
#                S (the emulator), TWILIOPAY_ENV, AC, TOK, IS; on exit it
#                stops everything and removes $run unless KEEP_RUN is set.
#   MN_ENV       NAME=VALUE lines added to the env file before the start
# The capture helpers (tests/integration/capture-helpers.sh) work against
# $base; `on N cmd...` runs one of them against node N instead.
# shellcheck shell=bash
. "$top/scripts/stack.sh"
B=${B:-build}

envv() { sed -n "s/^$1=//p" "$run/env" | tail -1; }

mn_exit() {
  declare -F sse_stop_all >/dev/null && sse_stop_all
  stack_stop
  [[ -n ${KEEP_RUN:-} ]] || rm -rf "$run"
}

mn_up() {
  local port sim kv
  if [[ ! -x $top/$B/sim/twilio-sim ]] || ! command -v redis-server >/dev/null; then
    t_fail "the emulator and redis-server are there" "$top/$B/sim/twilio-sim, $(command -v redis-server || echo 'no redis-server: scripts/install-deps test')"
    t_done
    exit
  fi
  run=$(mktemp -d "/tmp/tp-multinode-XXXXXX")
  port=$(stack_free_port)
  sim=$(stack_free_port)
  while [[ $sim == "$port" ]]; do sim=$(stack_free_port); done
  "$top/scripts/sandbox-env" "$port" "$sim" >"$run/env"
  chmod 600 "$run/env"
  for kv in "${MN_ENV[@]}"; do stack_env_set "$run/env" "${kv%%=*}" "${kv#*=}"; done
  trap mn_exit EXIT
  if ! stack_multi_start "$top/$B" "$run/stack" "$run/env" "$port" "$sim" 2 || ! stack_wait_ready; then
    t_fail "two nodes, redis and the balancer start" "logs in $run/stack/log and $run/stack/node*/log"
    tail -n 5 "$run"/stack/log/*.log "$run"/stack/node*/log/*.log 2>/dev/null | sed 's/^/    /'
    exit 1
  fi
  t_ok "two nodes, redis and the balancer start"
  base=http://127.0.0.1:$port
  n1=http://127.0.0.1:${STACK_NODE_PORT[1]}
  n2=http://127.0.0.1:${STACK_NODE_PORT[2]}
  S=http://127.0.0.1:$sim
  export TWILIOPAY_ENV=$run/env
  AC=$(envv ACCOUNT_SID)
  TOK=$(envv AUTH_TOKEN)
  IS=$(envv PAY_SYNC_SERVICE_SID)
}

# on N CMD...: CMD with base pointing at node N (1 or 2) directly.
on() {
  local keep=$base rc
  case $1 in 1) base=$n1 ;; 2) base=$n2 ;; *) return 2 ;; esac
  shift
  "$@"
  rc=$?
  base=$keep
  return $rc
}

# until_true SECONDS CMD...: CMD until it succeeds, at most SECONDS.
until_true() {
  local end=$((SECONDS + $1))
  shift
  while ! "$@"; do
    (( SECONDS < end )) || return 1
    sleep 0.1
  done
}

# handled N PATH PK: lines of node N's handler log for PATH's handler
# about payment PK (paySyncUpdate logs payment=, outcome=, seq=).
handled() { grep -h "payment=$3" "$run/stack/node$1/log/$2.log" 2>/dev/null; }

# jget_lines EXPR: EXPR of each JSON line on stdin, one a line.
jget_lines() {
  node -e 'let t="";process.stdin.on("data",d=>t+=d).on("end",()=>{const f=new Function("o","return ("+process.argv[1]+")");
    for(const l of t.split("\n"))if(l.trim())console.log(f(JSON.parse(l)))})' "$1"
}
