# stack.sh - start and stop the whole local stack (handlers, emulator,
# nginx).  Sourced by scripts/run-sandbox and by the integration tests.
#
#   stack_start BUILD_DIR RUN_DIR ENV_FILE NGINX_PORT SIM_PORT
#   stack_wait_ready            waits for /healthz through nginx
#   stack_stop                  stops everything stack_start started
#                               (and keeps a copy of RUN_DIR when
#                               STACK_KEEP_DIR is set: stack_keep below)
#
# Every process's stderr goes to RUN_DIR/log/<name>.log.

STACK_PIDS=()
STACK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A port nobody listens on, chosen below the kernel's ephemeral range so
# an outgoing connection cannot grab it between this check and the bind.
stack_free_port() {
  local p lo=32768
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  (( lo > 12000 )) || lo=32768
  for _ in $(seq 1 200); do
    p=$(( 10000 + RANDOM % (lo - 10000) ))
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
  # Live updates: handlers publish to nginx's internal nchan socket.
  stack_env_set "$TWILIOPAY_ENV" NCHAN_PUBLISH_SOCKET "$STACK_RUN/sock/nchan-pub.sock"
  stack_agent_setup "$TWILIOPAY_ENV" || return 1

  if [[ -x $STACK_BUILD/sim/twilio-sim ]]; then
    "$STACK_BUILD/sim/twilio-sim" --listen "127.0.0.1:$simport" --env "$TWILIOPAY_ENV" \
      --server-url "http://127.0.0.1:$port" 2>>"$STACK_RUN/log/sim.log" &
    STACK_PIDS+=($!)
    stack_wait_sim || return 1
    # Handlers need PAY_SYNC_SERVICE_SID at start-up: create the Sync
    # service and maps in the emulator first.
    stack_sync_bootstrap "$TWILIOPAY_ENV" || return 1
  fi
  # A busy handler holds a descriptor per connection (nginx's, Twilio's):
  # as production's unit does (LimitNOFILE), lift the soft limit.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  # Each handler's counters, for GET /metrics: RUN_DIR/metrics/<name>/.
  mkdir -p "$STACK_RUN/metrics"
  stack_env_set "$TWILIOPAY_ENV" METRICS_DIR "$STACK_RUN/metrics"
  for b in "$STACK_BUILD"/cgi-bin/*; do
    [[ -x $b ]] || continue
    name=$(basename "$b")
    # shellcheck disable=SC2046
    "$b" --listen "$STACK_RUN/sock/$name.sock" $(stack_bounds "$name") \
      2>>"$STACK_RUN/log/$name.log" &
    STACK_PIDS+=($!)
  done
  nginx -p "$STACK_RUN/nginx" -c "$STACK_RUN/nginx/nginx.conf" -e "$STACK_RUN/log/nginx-error.log" \
    2>>"$STACK_RUN/log/nginx-error.log" &
  STACK_PIDS+=($!)
}

# The command-line bounds of a handler (scripts/handler-bounds):
# "--workers N --threads N".  STACK_WORKERS / STACK_THREADS override them
# for every handler (make bench's BENCH_WORKERS, tests that need a
# handler small).
stack_bounds() {
  local line workers=2 threads=32
  line=$(awk -v n="$1" '$1 == n { print $2, $3; exit }' "$STACK_TOP/scripts/handler-bounds")
  [[ -n $line ]] && read -r workers threads <<<"$line"
  echo "--workers ${STACK_WORKERS:-$workers} --threads ${STACK_THREADS:-$threads}"
}

stack_wait_sim() {
  local i
  for i in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$STACK_SIM_PORT/sim/health" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "stack: the emulator did not start; see $STACK_RUN/log/sim.log" >&2
  return 1
}

# Sets NAME=VALUE in an env file (replacing a previous line).
stack_env_set() {
  local file=$1 name=$2 value=$3
  if grep -q "^$name=" "$file"; then
    sed -i "s|^$name=.*|$name=$value|" "$file"
  else
    echo "$name=$value" >>"$file"
  fi
}

# Creates the Sync service and both maps in the emulator, as
# /sync/setupSyncServices does, and records PAY_SYNC_SERVICE_SID.  Uses
# scripts/setup-sync (the product's own setup, run without nginx) when it
# is built, plain REST otherwise.
stack_sync_bootstrap() {
  local env=$1 acct tok name sid api m
  if [[ -x $STACK_TOP/scripts/setup-sync && -x $STACK_BUILD/cgi-bin/setupSyncServices ]]; then
    TWILIOPAY_ENV=$env "$STACK_TOP/scripts/setup-sync" --build "$STACK_BUILD" --write-env >>"$STACK_RUN/log/setup.log" 2>&1
    return
  fi
  acct=$(sed -n 's/^ACCOUNT_SID=//p' "$env"); tok=$(sed -n 's/^AUTH_TOKEN=//p' "$env")
  name=$(sed -n 's/^PAY_SYNC_SERVICE_NAME=//p' "$env")
  api=http://127.0.0.1:$STACK_SIM_PORT/v1/Services
  sid=$(curl -fsS -u "$acct:$tok" --data-urlencode "FriendlyName=${name:-GenesysPay}" "$api" |
        grep -o '"sid": *"IS[0-9a-f]*"' | grep -o 'IS[0-9a-f]*') || return 1
  for m in "$(sed -n 's/^SYNC_PAY_MAP_NAME=//p' "$env")" "$(sed -n 's/^SYNC_UUI_MAP_NAME=//p' "$env")"; do
    curl -fsS -o /dev/null -u "$acct:$tok" --data-urlencode "UniqueName=$m" "$api/$sid/Maps" || return 1
  done
  stack_env_set "$env" PAY_SYNC_SERVICE_SID "$sid"
}

# The sandbox agent "agent": AGENTS_FILE (default RUN_DIR/agents, written
# into the env file) gets it with a random password, kept in
# RUN_DIR/agent-password (0600) and exported as STACK_AGENT_USER /
# STACK_AGENT_PASSWORD for tests.  A password that no longer matches the
# file is replaced.
stack_agent_setup() {
  local env=$1 agents pwfile=$STACK_RUN/agent-password tool=$STACK_BUILD/bin/twiliopay-agent
  agents=$(sed -n 's/^AGENTS_FILE=//p' "$env" | tail -1)
  if [[ -z $agents ]]; then
    agents=$STACK_RUN/agents
    stack_env_set "$env" AGENTS_FILE "$agents"
  fi
  if [[ ! -s $pwfile ]] || ! "$tool" -f "$agents" check agent <"$pwfile" >/dev/null 2>&1; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$pwfile")
    "$tool" -f "$agents" set agent <"$pwfile" 2>>"$STACK_RUN/log/setup.log" || {
      echo "stack: could not create the sandbox agent in $agents" >&2; return 1; }
  fi
  chmod 600 "$pwfile"
  STACK_AGENT_USER=agent
  STACK_AGENT_PASSWORD=$(cat "$pwfile")
  export STACK_AGENT_USER STACK_AGENT_PASSWORD
}

# SIGHUP every handler supervisor: workers re-read the configuration.
stack_reload() {
  local p
  for p in "${STACK_PIDS[@]}"; do
    if [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$STACK_BUILD"/cgi-bin/* ]]; then kill -HUP "$p"; fi
  done
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
  stack_keep
}

# ---- kept run folders (the PCI scan, tests/run suite "pci")
# With STACK_KEEP_DIR set (tests/run sets it), stack_stop copies the
# stack's run folder - logs, nginx's temporary folders, the env file,
# everything but sockets - into a new folder below STACK_KEEP_DIR named
# after the test (T_SUITE, else the script), before the test removes it.
# The copy's ORIGIN file names the folder it came from.
stack_keep() {
  local dest name
  [[ -n ${STACK_KEEP_DIR:-} && -n ${STACK_RUN:-} && -d $STACK_RUN ]] || return 0
  name=${T_SUITE:-$(basename "$0" .sh)}
  mkdir -p "$STACK_KEEP_DIR" && chmod 700 "$STACK_KEEP_DIR" || return 0
  dest=$(mktemp -d "$STACK_KEEP_DIR/${name//[^A-Za-z0-9_.-]/_}-XXXXXX") || return 0
  tar -C "$STACK_RUN" -cf - . 2>/dev/null | tar -C "$dest" -xf - 2>/dev/null
  echo "$STACK_RUN" >"$dest/ORIGIN"
  STACK_RUN=
}
