# stack.sh - start and stop the whole local stack (handlers, emulator,
# nginx).  Sourced by scripts/run-sandbox and by the integration tests.
#
#   stack_start BUILD_DIR RUN_DIR ENV_FILE NGINX_PORT SIM_PORT
#                               SIM_PORT empty: no emulator, the handlers
#                               talk to the Twilio ENV_FILE names (make
#                               run-live), and an AGENTS_FILE it names is
#                               never written
#   stack_wait_ready            waits for /healthz through nginx
#   stack_stop                  stops everything stack_start started
#                               (and keeps a copy of RUN_DIR when
#                               STACK_KEEP_DIR is set: stack_keep below)
#
# Every process's stderr goes to RUN_DIR/log/<name>.log.

STACK_PIDS=()
declare -gA STACK_LOG_OF=() # pid -> its log, for what stack_start started
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

# stack_sim_start SIM_PORT PORT: the emulator on SIM_PORT, its webhooks
# to PORT, then the Sync service and maps created in it (handlers need
# PAY_SYNC_SERVICE_SID at start-up).
stack_sim_start() {
  "$STACK_BUILD/sim/twilio-sim" --listen "127.0.0.1:$1" --env "$TWILIOPAY_ENV" \
    --server-url "http://127.0.0.1:$2" 2>>"$STACK_RUN/log/sim.log" &
  STACK_PIDS+=($!)
  STACK_LOG_OF[$!]=$STACK_RUN/log/sim.log
  stack_wait_sim || return 1
  if ! stack_sync_bootstrap "$TWILIOPAY_ENV"; then
    echo "stack: the Sync setup in the emulator failed; $STACK_RUN/log/setup.log ends:" >&2
    stack_log_tail "$STACK_RUN/log/setup.log"
    return 1
  fi
}

stack_start() {
  local build=$1 run=$2 env=$3 port=$4 simport=${5:-} b name
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
  # Spent live-update tickets (lib/ticket.c): in the run folder, not in
  # the handlers' working directory (the default).
  stack_env_set "$TWILIOPAY_ENV" TICKETS_FILE "$STACK_RUN/spent-tickets"
  STACK_AGENT_USER= STACK_AGENT_PASSWORD=
  if [[ -n $simport ]] || ! grep -q '^AGENTS_FILE=.' "$TWILIOPAY_ENV"; then
    stack_agent_setup "$TWILIOPAY_ENV" || return 1
  fi

  if [[ -n $simport && -x $STACK_BUILD/sim/twilio-sim ]]; then
    stack_sim_start "$simport" "$port" || return 1
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
    STACK_LOG_OF[$!]=$STACK_RUN/log/$name.log
  done
  nginx -p "$STACK_RUN/nginx" -c "$STACK_RUN/nginx/nginx.conf" -e "$STACK_RUN/log/nginx-error.log" \
    2>>"$STACK_RUN/log/nginx-error.log" &
  STACK_PIDS+=($!)
  STACK_LOG_OF[$!]=$STACK_RUN/log/nginx-error.log
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

# The end of a log, indented, on stderr: the reason for a failure.
stack_log_tail() {
  if [[ -s $1 ]]; then
    tail -n "${2:-12}" "$1" | sed 's/^/    /' >&2
  else
    echo "    ($1 is empty)" >&2
  fi
}

# Fails (after saying which, with the end of its log) when a process
# stack_start started, still in STACK_PIDS, has exited.  For the start-up
# waits: a test that stops a process on purpose removes it from
# STACK_PIDS before it waits again.
stack_check_alive() {
  local p log dead=0
  for p in "${STACK_PIDS[@]}"; do
    log=${STACK_LOG_OF[$p]:-}
    [[ -n $log ]] || continue
    if ! kill -0 "$p" 2>/dev/null; then
      echo "stack: $(basename "$log" .log) exited; $log ends:" >&2
      stack_log_tail "$log"
      dead=1
    fi
  done
  return $dead
}

# Waits for the emulator to answer (a minute at most: a loaded machine),
# giving up at once when it has exited.
stack_wait_sim() {
  local i
  for i in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$STACK_SIM_PORT/sim/health" 2>/dev/null && return 0
    stack_check_alive || return 1
    sleep 0.1
  done
  echo "stack: the emulator did not answer on :$STACK_SIM_PORT; $STACK_RUN/log/sim.log ends:" >&2
  stack_log_tail "$STACK_RUN/log/sim.log"
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

# The sandbox agent "agent": in the agent store - AGENTS_SYNC_MAP when
# the env file sets it (several nodes), else AGENTS_FILE (default
# RUN_DIR/agents, written into the env file) - with a random password,
# kept in RUN_DIR/agent-password (0600) and exported as STACK_AGENT_USER /
# STACK_AGENT_PASSWORD for tests.  In the stack's own store a password
# that no longer matches is replaced; an operator's file (a migrated
# .env's) that already has an "agent" is left as it is (its password is
# theirs), and then STACK_AGENT_USER / STACK_AGENT_PASSWORD are empty.
stack_agent_setup() {
  local env=$1 agents syncmap pwfile=$STACK_RUN/agent-password tool=$STACK_BUILD/bin/twiliopay-agent
  local where=()
  agents=$(sed -n 's/^AGENTS_FILE=//p' "$env" | tail -1)
  syncmap=$(sed -n 's/^AGENTS_SYNC_MAP=//p' "$env" | tail -1)
  if [[ -z $agents && -z $syncmap ]]; then
    agents=$STACK_RUN/agents
    stack_env_set "$env" AGENTS_FILE "$agents"
  fi
  [[ -n $agents ]] && where=(-f "$agents")
  STACK_AGENT_USER= STACK_AGENT_PASSWORD=
  if [[ ! -s $pwfile ]] ||
     ! TWILIOPAY_ENV=$env "$tool" "${where[@]}" check agent <"$pwfile" >/dev/null 2>&1; then
    if [[ -n $agents && $agents != "$STACK_RUN/agents" ]] &&
       "$tool" -f "$agents" list 2>/dev/null | grep -qx agent; then
      echo "stack: $agents already has an agent named agent; its password is left as it is" \
        >>"$STACK_RUN/log/setup.log"
      export STACK_AGENT_USER STACK_AGENT_PASSWORD
      return 0
    fi
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$pwfile")
    TWILIOPAY_ENV=$env "$tool" "${where[@]}" set agent <"$pwfile" 2>>"$STACK_RUN/log/setup.log" || {
      echo "stack: could not create the sandbox agent in ${agents:-the Sync map $syncmap}; $STACK_RUN/log/setup.log ends:" >&2
      stack_log_tail "$STACK_RUN/log/setup.log"
      return 1; }
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

# Waits for /healthz through nginx and the emulator (a minute at most:
# a loaded machine), giving up at once when something has exited.
stack_wait_ready() {
  local i
  for i in $(seq 1 600); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$STACK_PORT/healthz" 2>/dev/null; then
      if [[ -z $STACK_SIM_PORT || ! -x $STACK_BUILD/sim/twilio-sim ]] ||
         curl -fsS -o /dev/null "http://127.0.0.1:$STACK_SIM_PORT/sim/health" 2>/dev/null; then
        return 0
      fi
    fi
    stack_check_alive || return 1
    sleep 0.1
  done
  echo "stack: /healthz on :$STACK_PORT not ready after a minute; the ends of the logs:" >&2
  for i in "$STACK_RUN"/log/*.log; do
    [[ -s $i ]] || continue
    echo "  $i:" >&2
    stack_log_tail "$i" 5
  done
  return 1
}

stack_stop() {
  local p
  stack_multi_stop
  for p in "${STACK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${STACK_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  STACK_PIDS=()
  STACK_LOG_OF=()
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

# ---- several nodes (docs/multinode.md)
#   stack_multi_start BUILD RUN ENV LB_PORT SIM_PORT NODES
#       one redis-server (RUN/redis), the emulator (its webhooks go to
#       the balancer), NODES full nodes - each RUN/node<i> with its own
#       env file (a copy of ENV plus its own publisher socket), nginx and
#       every handler - and a stock balancer (nginx upstream round-robin,
#       RUN/lb) on LB_PORT in front of them.  ENV gets NCHAN_REDIS_URL,
#       SERVER_URL (the balancer) and the shared agent store.
#       STACK_PORT is the balancer's port, STACK_NODE_PORT[i] a node's.
#   stack_node_stop I / stack_node_start I     one node away and back
#   stack_redis_stop / stack_redis_start       Redis away and back
# Every node shares only what a production node shares: the emulator
# (Twilio and Sync) and Redis.
declare -A STACK_NODE_PORT=() STACK_NODE_PIDS=()
STACK_NODE_COUNT=0
STACK_REDIS_PID=
STACK_LB_PID=

stack_multi_start() {
  local build=$1 run=$2 env=$3 port=$4 simport=$5 nodes=$6 i
  STACK_BUILD=$(cd "$build" && pwd)
  mkdir -p "$run"
  STACK_RUN=$(cd "$run" && pwd)
  STACK_PORT=$port
  STACK_SIM_PORT=$simport
  STACK_NODE_COUNT=$nodes
  export TWILIOPAY_ENV
  TWILIOPAY_ENV=$(cd "$(dirname "$env")" && pwd)/$(basename "$env")
  mkdir -p "$STACK_RUN/log"
  STACK_REDIS_PORT=$(stack_free_port) || return 1
  stack_redis_start || return 1
  stack_env_set "$TWILIOPAY_ENV" NCHAN_REDIS_URL "redis://127.0.0.1:$STACK_REDIS_PORT"
  stack_env_set "$TWILIOPAY_ENV" SERVER_URL "http://127.0.0.1:$port"
  # Agents in Sync, where every node reads them (lib/agentstore.c); the
  # Sync setup below creates the map.
  if ! grep -q '^AGENTS_FILE=' "$TWILIOPAY_ENV"; then
    grep -q '^AGENTS_SYNC_MAP=' "$TWILIOPAY_ENV" || stack_env_set "$TWILIOPAY_ENV" AGENTS_SYNC_MAP agentMap
  fi
  for ((i = 1; i <= nodes; i++)); do
    STACK_NODE_PORT[$i]=$(stack_free_port) || return 1
    while [[ ${STACK_NODE_PORT[$i]} == "$port" || ${STACK_NODE_PORT[$i]} == "$simport" ||
             ${STACK_NODE_PORT[$i]} == "$STACK_REDIS_PORT" ]]; do
      STACK_NODE_PORT[$i]=$(stack_free_port) || return 1
    done
  done
  if [[ -x $STACK_BUILD/sim/twilio-sim ]]; then
    stack_sim_start "$simport" "$port" || return 1
  fi
  stack_agent_setup "$TWILIOPAY_ENV" || return 1
  for ((i = 1; i <= nodes; i++)); do
    mkdir -p "$STACK_RUN/node$i/log" "$STACK_RUN/node$i/sock"
    cp "$TWILIOPAY_ENV" "$STACK_RUN/node$i/env"
    chmod 600 "$STACK_RUN/node$i/env"
    stack_env_set "$STACK_RUN/node$i/env" NCHAN_PUBLISH_SOCKET "$STACK_RUN/node$i/sock/nchan-pub.sock"
    # Its own run folder, as a real node has (its RuntimeDirectory): the
    # handlers' working directory is shared here, so a relative default
    # would make the nodes share what two machines never do.
    stack_env_set "$STACK_RUN/node$i/env" TICKETS_FILE "$STACK_RUN/node$i/spent-tickets"
    NCHAN_REDIS_URL=redis://127.0.0.1:$STACK_REDIS_PORT REAL_IP_FROM=${STACK_REAL_IP_FROM-127.0.0.1} \
      "$STACK_TOP/scripts/render-nginx" "$STACK_RUN/node$i" "127.0.0.1:${STACK_NODE_PORT[$i]}" \
      "$STACK_BUILD/www" || return 1
    stack_node_start "$i" || return 1
  done
  stack_lb_start
}

# stack_node_nginx_start I: node I's nginx, in the background; its pid in
# STACK_NGINX_PID.
stack_node_nginx_start() {
  local dir=$STACK_RUN/node$1
  nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/log/nginx-error.log" \
    2>>"$dir/log/nginx-error.log" &
  STACK_NGINX_PID=$!
}

# stack_node_start I: node I's handlers and nginx (its run folder and env
# file made by stack_multi_start).
stack_node_start() {
  local i=$1 dir=$STACK_RUN/node$1 b name pids=""
  for b in "$STACK_BUILD"/cgi-bin/*; do
    [[ -x $b ]] || continue
    name=$(basename "$b")
    TWILIOPAY_ENV=$dir/env "$b" --listen "$dir/sock/$name.sock" --workers "${STACK_WORKERS:-2}" \
      2>>"$dir/log/$name.log" &
    pids+=" $!"
  done
  stack_node_nginx_start "$i"
  pids+=" $STACK_NGINX_PID"
  STACK_NODE_PIDS[$i]=$pids
  stack_node_wait "$i"
}

# stack_node_wait I: node I answers /healthz itself (a minute at most: a
# loaded machine; at once when its nginx has exited).
stack_node_wait() {
  local _ ngx=${STACK_NODE_PIDS[$1]##* }
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:${STACK_NODE_PORT[$1]}/healthz" 2>/dev/null && return 0
    kill -0 "$ngx" 2>/dev/null || break
    sleep 0.1
  done
  echo "stack: node $1 does not answer /healthz; $STACK_RUN/node$1/log/nginx-error.log ends:" >&2
  stack_log_tail "$STACK_RUN/node$1/log/nginx-error.log"
  return 1
}

# stack_node_nginx_restart I: node I's nginx stopped gracefully (QUIT:
# requests in progress finish) and started again on the same files, as
# `systemctl restart nginx` does; its handlers stay up.
stack_node_nginx_restart() {
  local i=$1 ngx=${STACK_NODE_PIDS[$1]##* }
  kill -QUIT "$ngx" 2>/dev/null || true
  wait "$ngx" 2>/dev/null || true
  stack_node_nginx_start "$i"
  STACK_NODE_PIDS[$i]="${STACK_NODE_PIDS[$i]% *} $STACK_NGINX_PID"
  stack_node_wait "$i"
}

# stack_node_stop I: every process of node I, and waits for them.
stack_node_stop() {
  local p
  for p in ${STACK_NODE_PIDS[$1]:-}; do kill -TERM "$p" 2>/dev/null || true; done
  for p in ${STACK_NODE_PIDS[$1]:-}; do wait "$p" 2>/dev/null || true; done
  STACK_NODE_PIDS[$1]=
}

stack_redis_start() {
  if [[ -n $STACK_REDIS_PID ]] && kill -0 "$STACK_REDIS_PID" 2>/dev/null; then return 0; fi
  mkdir -p "$STACK_RUN/redis"
  # Nothing to keep: live updates are not stored (scripts/multinode-conf.sh).
  redis-server --bind 127.0.0.1 --port "$STACK_REDIS_PORT" --dir "$STACK_RUN/redis" \
    --save '' --appendonly no --daemonize no --logfile "$STACK_RUN/log/redis.log" &
  STACK_REDIS_PID=$!
  local _
  for _ in $(seq 1 600); do
    [[ $(redis-cli -p "$STACK_REDIS_PORT" ping 2>/dev/null) == PONG ]] && return 0
    kill -0 "$STACK_REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "stack: redis-server does not answer on :$STACK_REDIS_PORT; $STACK_RUN/log/redis.log ends:" >&2
  stack_log_tail "$STACK_RUN/log/redis.log"
  return 1
}

stack_redis_stop() {
  [[ -n $STACK_REDIS_PID ]] || return 0
  kill -TERM "$STACK_REDIS_PID" 2>/dev/null || true
  wait "$STACK_REDIS_PID" 2>/dev/null || true
  STACK_REDIS_PID=
}

# The balancer: stock nginx, round-robin over the nodes
# (nginx/balancer.conf.in, scripts/render-balancer).
stack_lb_start() {
  local i servers=()
  for ((i = 1; i <= STACK_NODE_COUNT; i++)); do servers+=("127.0.0.1:${STACK_NODE_PORT[$i]}"); done
  "$STACK_TOP/scripts/render-balancer" "$STACK_RUN/lb" "127.0.0.1:$STACK_PORT" "${servers[@]}" || return 1
  nginx -p "$STACK_RUN/lb" -c "$STACK_RUN/lb/nginx.conf" -e "$STACK_RUN/log/lb-error.log" \
    2>>"$STACK_RUN/log/lb-error.log" &
  STACK_LB_PID=$!
}

stack_multi_stop() {
  local i
  if [[ -n $STACK_LB_PID ]]; then
    kill -TERM "$STACK_LB_PID" 2>/dev/null || true
    wait "$STACK_LB_PID" 2>/dev/null || true
    STACK_LB_PID=
  fi
  for ((i = 1; i <= STACK_NODE_COUNT; i++)); do stack_node_stop "$i"; done
  stack_redis_stop
  STACK_NODE_COUNT=0
}
