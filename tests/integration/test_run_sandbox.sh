#!/usr/bin/env bash
# `make run` (scripts/run-sandbox), in a folder of its own (SANDBOX_DIR):
#   1. a port in use: it stops at once, says which port and what to set,
#      and writes nothing (no .env, no run/; an existing .env untouched);
#   2. a sandbox .env from a run on other ports: updated for this run's
#      ports, said on the terminal, and the sandbox comes up there and
#      stops on Ctrl-C (SIGINT to its process group);
#   3. a failure while starting: the reason, from the end of the log that
#      holds it, is on the terminal.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/scripts/stack.sh"
B=${B:-build}

tmp=$(mktemp -d /tmp/tp-sandbox-XXXXXX)
sbpid= holder=
cleanup() {
  [[ -n $sbpid ]] && kill -INT -- "-$sbpid" 2>/dev/null && wait "$sbpid" 2>/dev/null
  [[ -n $holder ]] && kill "$holder" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
two_ports() {
  p1=$(stack_free_port)
  p2=$(stack_free_port)
  while [[ $p2 == "$p1" ]]; do p2=$(stack_free_port); done
}

# run_bg DIR NGINX_PORT SIM_PORT: starts the sandbox in the background
# as a terminal would run it: in its own process group (job control on)
# and with SIGINT not ignored (a script's background job, and whatever
# started this test in the background, may ignore it, and a signal
# ignored on entry cannot be trapped); sbpid, $tmp/out.
run_bg() {
  set -m
  SANDBOX_DIR=$1 NGINX_PORT=$2 SIM_PORT=$3 env --default-signal=INT,TERM \
    "$top/scripts/run-sandbox" "$top/$B" >"$tmp/out" 2>&1 </dev/null &
  sbpid=$!
  set +m
}
# Waits until the sandbox says it is up (0) or exits (1).
wait_up() {
  local i
  for i in $(seq 1 1200); do
    grep -q 'sandbox is up' "$tmp/out" && return 0
    kill -0 "$sbpid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_bg() {
  kill -INT -- "-$sbpid" 2>/dev/null
  wait "$sbpid" 2>/dev/null
  sbpid=
}

# ---- 1. a port in use
two_ports
node -e 'require("net").createServer().listen(+process.argv[1], "127.0.0.1")' "$p1" &
holder=$!
for _ in $(seq 1 100); do free "$p1" || break; sleep 0.1; done
out=$(SANDBOX_DIR=$tmp/new NGINX_PORT=$p1 SIM_PORT=$p2 "$top/scripts/run-sandbox" "$top/$B" 2>&1)
t_eq "port in use: make run fails" 1 $?
t_match "port in use: names the port and the variable" "port $p1, for nginx \(NGINX_PORT=$p1\), is already in use" "$out"
t_match "port in use: says what to run instead" "NGINX_PORT=[0-9]+ SIM_PORT=[0-9]+ make run" "$out"
t_eq "port in use: nothing written" "" "$(ls -A "$tmp/new" 2>/dev/null)"
mkdir -p "$tmp/old"
"$top/scripts/sandbox-env" 30001 30002 >"$tmp/old/.env"
sum=$(md5sum <"$tmp/old/.env")
out=$(SANDBOX_DIR=$tmp/old NGINX_PORT=$p2 SIM_PORT=$p1 "$top/scripts/run-sandbox" "$top/$B" 2>&1)
t_match "emulator port in use: names it" "port $p1, for the emulator \(SIM_PORT=$p1\), is already in use" "$out"
t_eq "port in use: an existing .env is left as it was" "$sum" "$(md5sum <"$tmp/old/.env")"
t_eq "port in use: no run/ folder" "" "$(ls -d "$tmp/old/run" 2>/dev/null)"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
holder=

# ---- 2. an existing sandbox .env from other ports
two_ports
run_bg "$tmp/old" "$p1" "$p2"
if wait_up; then t_ok "old .env: the sandbox comes up on this run's ports"; else
  t_fail "old .env: the sandbox comes up on this run's ports" "$(cat "$tmp/out")"; fi
t_match "old .env: the update is said on the terminal" \
  "named ports 30001 \(nginx\) and 30002 \(emulator\); updated for this run: $p1 and $p2" "$(cat "$tmp/out")"
t_eq "old .env: SERVER_URL" "http://127.0.0.1:$p1" "$(sed -n 's/^SERVER_URL=//p' "$tmp/old/.env")"
t_eq "old .env: the Twilio URLs" "http://127.0.0.1:$p2 http://127.0.0.1:$p2" \
  "$(sed -n 's/^TWILIO_API_URL=//p; s/^TWILIO_SYNC_URL=//p' "$tmp/old/.env" | tr '\n' ' ' | sed 's/ $//')"
t_eq "old .env: SIM_PORT" "$p2" "$(sed -n 's/^SIM_PORT=//p' "$tmp/old/.env")"
t_eq "old .env: /healthz answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p1/healthz")"
t_eq "old .env: the emulator answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p2/sim/health")"
stop_bg
for _ in $(seq 1 100); do free "$p1" && free "$p2" && break; sleep 0.1; done
free "$p1" && free "$p2" && t_ok "Ctrl-C stops everything" || t_fail "Ctrl-C stops everything" "a port is still open"
t_match "Ctrl-C: says so" "run-sandbox: stopping" "$(tail -n 20 "$tmp/out")"

# ---- 3. a failure while starting: the reason is on the terminal
sed -i '/^ADMIN_TOKEN=/d' "$tmp/old/.env"
two_ports
out=$(SANDBOX_DIR=$tmp/old NGINX_PORT=$p1 SIM_PORT=$p2 timeout 300 "$top/scripts/run-sandbox" "$top/$B" 2>&1)
t_eq "setup fails: make run fails" 1 $?
t_match "setup fails: names the log" "Sync setup in the emulator failed; $tmp/old/run/log/setup.log ends:" "$out"
t_match "setup fails: the reason from the log" "ADMIN_TOKEN is not set" "$out"
t_match "setup fails: the last word" "the sandbox did not start" "$out"
free "$p1" && free "$p2" && t_ok "setup fails: nothing left running" || t_fail "setup fails: nothing left running"
t_done
