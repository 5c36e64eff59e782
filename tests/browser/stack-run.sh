#!/usr/bin/env bash
# stack-run.sh - the whole stack (handlers, emulator, nginx) on free ports
# for one browser test file, driven by tests/browser/harness.mjs.
#
#   tests/browser/stack-run.sh RUN_DIR [NAME=VALUE...]
#
# Writes a sandbox env file into RUN_DIR (NAME=VALUE pairs override it),
# starts the stack with scripts/stack.sh, then prints one line
#   ready NGINX_PORT SIM_PORT
# and reads commands from stdin, one a line, answering "done CMD" (or
# "fail CMD"):
#   nginx-stop / nginx-start    take nginx away and bring it back (the
#                               console must show the loss and recover)
#   node-stop N / node-start N  with STACK_NODES=2: node N (its nginx and
#                               handlers) away and back
#   redis-stop / redis-start    with STACK_NODES=2: Redis away and back
#   quit                        stop everything (so does EOF or SIGTERM)
# Environment: B (build folder, default build); STACK_NODES (2 or more:
# that many nodes behind a balancer, sharing Redis: scripts/stack.sh
# stack_multi_start; NGINX_PORT is then the balancer's).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
run=$1
shift
. "$top/scripts/stack.sh"

build=$top/${B:-build}
mkdir -p "$run"
port=$(stack_free_port) || exit 1
simport=$(stack_free_port) || exit 1
while [[ $simport == "$port" ]]; do simport=$(stack_free_port) || exit 1; done
env=$run/env
"$top/scripts/sandbox-env" "$port" "$simport" >"$env"
chmod 600 "$env"
for kv in "$@"; do
  stack_env_set "$env" "${kv%%=*}" "${kv#*=}"
done

cleanup() { stack_stop; }
trap cleanup EXIT
trap 'exit 0' TERM INT

nodes=${STACK_NODES:-1}
if (( nodes > 1 )); then
  start=(stack_multi_start "$build" "$run" "$env" "$port" "$simport" "$nodes")
else
  start=(stack_start "$build" "$run" "$env" "$port" "$simport")
fi
if ! "${start[@]}" || ! stack_wait_ready; then
  echo "stack-run: the stack did not start; logs in $run/log" >&2
  tail -n 20 "$run"/log/*.log >&2 2>/dev/null || true
  exit 1
fi
echo "ready $port $simport"

nginx_pid() {
  local p
  for p in "${STACK_PIDS[@]}"; do
    [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */nginx ]] && { echo "$p"; return 0; }
  done
  return 1
}

while read -r cmd; do
  case $cmd in
    nginx-stop)
      if p=$(nginx_pid); then
        kill -TERM "$p" && wait "$p" 2>/dev/null
        keep=()
        for q in "${STACK_PIDS[@]}"; do [[ $q == "$p" ]] || keep+=("$q"); done
        STACK_PIDS=("${keep[@]}")
        echo "done $cmd"
      else
        echo "fail $cmd"
      fi
      ;;
    nginx-start)
      nginx -p "$STACK_RUN/nginx" -c "$STACK_RUN/nginx/nginx.conf" -e "$STACK_RUN/log/nginx-error.log" \
        2>>"$STACK_RUN/log/nginx-error.log" &
      STACK_PIDS+=($!)
      if stack_wait_ready; then echo "done $cmd"; else echo "fail $cmd"; fi
      ;;
    node-stop\ [0-9]*)
      stack_node_stop "${cmd#node-stop }"; echo "done $cmd" ;;
    node-start\ [0-9]*)
      if stack_node_start "${cmd#node-start }"; then echo "done $cmd"; else echo "fail $cmd"; fi ;;
    redis-stop)
      stack_redis_stop; echo "done $cmd" ;;
    redis-start)
      if stack_redis_start; then echo "done $cmd"; else echo "fail $cmd"; fi ;;
    quit) break ;;
    *) echo "fail $cmd" ;;
  esac
done
exit 0
