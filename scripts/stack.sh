# stack.sh - start and stop the whole local stack (handlers, emulator,
# nginx).  Sourced by scripts/run-sandbox and by the integration tests.
#
#   stack_start BUILD_DIR RUN_DIR ENV_FILE NGINX_PORT SIM_PORT
#   stack_wait_ready            waits for /healthz through nginx
#   stack_stop                  stops everything stack_start started
#
# Every process's stderr goes to RUN_DIR/log/<name>.log.

STACK_PIDS=()
STACK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

stack_free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

stack_start() {
  local build=$1 run=$2 env=$3 port=$4 simport=$5 b name
  STACK_BUILD=$(cd "$build" && pwd)
  mkdir -p "$run"
  STACK_RUN=$(cd "$run" && pwd)
  STACK_PORT=$port
  STACK_SIM_PORT=$simport
  export TWILIOPAY_ENV
  TWILIOPAY_ENV=$(cd "$(dirname "$env")" && pwd)/$(basename "$env")
  mkdir -p "$STACK_RUN/log" "$STACK_RUN/sock"
  "$STACK_TOP/scripts/render-nginx" "$STACK_RUN" "127.0.0.1:$port" "$STACK_BUILD/www"

  if [[ -x $STACK_BUILD/sim/twilio-sim ]]; then
    "$STACK_BUILD/sim/twilio-sim" --listen "127.0.0.1:$simport" --env "$TWILIOPAY_ENV" \
      --server-url "http://127.0.0.1:$port" 2>>"$STACK_RUN/log/sim.log" &
    STACK_PIDS+=($!)
  fi
  for b in "$STACK_BUILD"/cgi-bin/*; do
    [[ -x $b ]] || continue
    name=$(basename "$b")
    "$b" --listen "$STACK_RUN/sock/$name.sock" --workers "${STACK_WORKERS:-2}" \
      2>>"$STACK_RUN/log/$name.log" &
    STACK_PIDS+=($!)
  done
  nginx -p "$STACK_RUN/nginx" -c "$STACK_RUN/nginx/nginx.conf" -e "$STACK_RUN/log/nginx-error.log" \
    2>>"$STACK_RUN/log/nginx-error.log" &
  STACK_PIDS+=($!)
}

stack_wait_ready() {
  local i
  for i in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$STACK_PORT/healthz" 2>/dev/null; then
      if [[ ! -x $STACK_BUILD/sim/twilio-sim ]] ||
         curl -fsS -o /dev/null "http://127.0.0.1:$STACK_SIM_PORT/sim/health" 2>/dev/null; then
        return 0
      fi
    fi
    sleep 0.1
  done
  echo "stack: not ready after 10 s; logs in $STACK_RUN/log" >&2
  tail -n 5 "$STACK_RUN"/log/*.log >&2 || true
  return 1
}

stack_stop() {
  local p
  for p in "${STACK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${STACK_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  STACK_PIDS=()
}
