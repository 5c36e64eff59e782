#!/usr/bin/env bash
# Production deployment, as an operator gets it from `make install`:
#   1. install into a DESTDIR: the tree, rpaths, nothing outside DESTDIR,
#      no DESTDIR path inside a file, uninstall removes it all;
#   2. install into a real prefix: the units pass `systemd-analyze verify`
#      and `systemd-analyze security --offline`;
#   3. handlers started exactly as their unit starts them (its ExecStart,
#      Environment, socket path, SocketGroup/SocketMode) with systemd's own
#      socket activation (systemd-socket-activate: LISTEN_FDS=1, fd 3),
#      behind a test nginx whose server block is only the installed
#      include: /healthz, a signed TwiML answer when the public URL differs
#      from the one nginx sees, the console's CSP, the body cap, the
#      PCI-safe access log, and `systemctl reload` (the unit's ExecReload)
#      re-reading the file without a failed request.
# There is no systemd as PID 1 here; everything a unit would do is done
# from the installed unit files themselves, not from copies in this test.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/scripts/stack.sh"
B=${B:-build}

tmp=$(mktemp -d /tmp/tp-deploy-XXXXXX)
chmod 0755 "$tmp" # nginx's workers (www-data) walk through it
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# ------------------------------------------------------------ 1. DESTDIR
dest=$tmp/dest
out=$(make -s -C "$top" B="$B" SANITIZE="${SANITIZE:-}" install DESTDIR="$dest" 2>&1)
t_eq "make install DESTDIR=... succeeds" 0 $?
P=$dest/usr/local
missing=""
for f in lib/twiliopay/lib/libtwiliopay.so lib/twiliopay/bin/twiliopay-check \
  lib/twiliopay/bin/twilio-post share/twiliopay/www/index.html share/twiliopay/env.example \
  share/twiliopay/docs/migrating.md lib/twiliopay/bin/twiliopay-migrate \
  share/twiliopay/nginx/twiliopay.conf share/twiliopay/nginx/twiliopay-routes.conf \
  share/twiliopay/nginx/twiliopay-http.conf share/twiliopay/nginx/console-headers.conf \
  share/twiliopay/nginx/fastcgi.conf share/twiliopay/nginx/twiliopay-upstreams.conf \
  lib/systemd/system/twiliopay@paySyncUpdate.service.d/bounds.conf lib/systemd/system/twiliopay@.socket \
  lib/systemd/system/twiliopay@.service lib/systemd/system/twiliopay.target \
  lib/sysusers.d/twiliopay.conf lib/tmpfiles.d/twiliopay.conf; do
  [[ -f $P/$f ]] || missing+=" $f"
done
t_eq "installed tree has every file" "" "$missing"
t_eq "nothing written outside DESTDIR/PREFIX" "$dest/usr/local" "$(find "$dest" -mindepth 2 -maxdepth 2)"
built=$(cd "$top/$B/cgi-bin" && ls | sort | tr '\n' ' ')
t_eq "every built handler is installed" "$built" "$(cd "$P/lib/twiliopay/cgi-bin" && ls | sort | tr '\n' ' ')"
wants=$(sed -n 's/^Wants=//p' "$P/lib/systemd/system/twiliopay.target" | tr ' ' '\n' |
  sed 's/^twiliopay@//; s/\.socket$//' | sort | tr '\n' ' ')
t_eq "twiliopay.target wants every handler's socket" "$built" "$wants"
t_eq "no DESTDIR path inside an installed file" "" "$(grep -rIl -- "$dest" "$dest" 2>/dev/null)"
t_match "handlers keep the \$ORIGIN/../lib rpath" 'RUNPATH.*\[\$ORIGIN/\.\./lib\]' \
  "$(readelf -d "$P/lib/twiliopay/cgi-bin/healthz")"
t_eq "the installed handler loads the installed library" "$P/lib/twiliopay/lib/libtwiliopay.so" \
  "$(ldd "$P/lib/twiliopay/cgi-bin/healthz" | sed -n 's/^[[:space:]]*libtwiliopay\.so => \(.*\) (0x.*/\1/p' |
     xargs realpath 2>/dev/null)"
t_match "sbin/twiliopay-check (a symlink) finds its library" '^usage: twiliopay-check' \
  "$("$P/sbin/twiliopay-check" --help 2>&1)"
t_match "sbin/twiliopay-migrate (a symlink) finds its library" '^usage: twiliopay-migrate' \
  "$("$P/sbin/twiliopay-migrate" --help 2>&1)"
t_match "units use the production paths" 'ExecStart=/usr/local/lib/twiliopay/cgi-bin/%i ' \
  "$(cat "$P/lib/systemd/system/twiliopay@.service")"
t_match "units read /etc/twiliopay/env" '^Environment=TWILIOPAY_ENV=/etc/twiliopay/env$' \
  "$(cat "$P/lib/systemd/system/twiliopay@.service")"
t_match "sockets in /run/twiliopay" '^ListenStream=/run/twiliopay/%i\.sock$' \
  "$(cat "$P/lib/systemd/system/twiliopay@.socket")"
t_match "nginx include passes to the handler's upstream" 'fastcgi_pass twiliopay_callToSIP;' \
  "$(cat "$P/share/twiliopay/nginx/twiliopay-routes.conf")"
t_match "  ... whose socket is in /run/twiliopay, kept open" \
  'upstream twiliopay_callToSIP \{ server unix:/run/twiliopay/callToSIP\.sock; keepalive [0-9]+;' \
  "$(tr '\n' ' ' <"$P/share/twiliopay/nginx/twiliopay-upstreams.conf" | tr -s ' ')"
t_eq "the handler's bounds come from scripts/handler-bounds as a drop-in" \
  "[Service] Environment=TWILIOPAY_WORKERS=2 Environment=TWILIOPAY_THREADS=320" \
  "$(grep -v '^#' "$P/lib/systemd/system/twiliopay@paySyncUpdate.service.d/bounds.conf" | tr '\n' ' ' | sed 's/ $//')"
t_match "nginx include serves the installed console" 'root /usr/local/share/twiliopay/www;' \
  "$(cat "$P/share/twiliopay/nginx/twiliopay-routes.conf")"
t_match "tmpfiles.d makes the config root:twiliopay 0640" '^z /etc/twiliopay/env 0640 root twiliopay -$' \
  "$(cat "$P/lib/tmpfiles.d/twiliopay.conf")"
out=$(make -s -C "$top" B="$B" SANITIZE="${SANITIZE:-}" uninstall DESTDIR="$dest" 2>&1)
t_eq "make uninstall removes every file" "" "$(find "$dest" ! -type d)"
out=$(make -s -C "$top" B="$B" SANITIZE="${SANITIZE:-}" install DESTDIR="$tmp/bad" FRAME_ANCESTORS="'self'; script-src *" 2>&1)
t_match "a FRAME_ANCESTORS that would inject a CSP directive is refused" 'FRAME_ANCESTORS must be' "$out"
out=$(make -s -C "$top" B="$B" SANITIZE="${SANITIZE:-}" install DESTDIR="$tmp/bad2" CONN_PER_ADDRESS="256; allow all" 2>&1)
t_match "a CONN_PER_ADDRESS that is not a number is refused" 'CONN_PER_ADDRESS must be' "$out"

# ------------------------------------------------------------ 2. real prefix
pre=$tmp/prefix run=$tmp/run log=$tmp/log
mkdir -p "$log"
out=$(make -s -C "$top" B="$B" SANITIZE="${SANITIZE:-}" install PREFIX="$pre" RUNDIR="$run" NGINX_LOG_DIR="$log" \
  FRAME_ANCESTORS="'self' https://apps.mypurecloud.com" CONN_PER_ADDRESS=1000 2>&1)
t_eq "make install PREFIX=... succeeds" 0 $?
t_match "CONN_PER_ADDRESS sets the per-address limit" '^limit_conn twiliopay_conn 1000;' \
  "$(cat "$pre/share/twiliopay/nginx/twiliopay-routes.conf")"
U=$pre/lib/systemd/system
v=$(cd "$tmp" && systemd-analyze verify "$U/twiliopay@healthz.socket" "$U/twiliopay@healthz.service" \
  "$U/twiliopay@callToSIP.socket" "$U/twiliopay@callToSIP.service" "$U/twiliopay.target" 2>&1)
t_eq "installed units pass systemd-analyze verify (status:output)" "0:" "$?:$v"
# The same check must reject a broken unit, or the line above proves nothing.
mkdir -p "$tmp/broken"
sed 's/^ExecStart=/ExecStrat=/' "$U/twiliopay@.service" >"$tmp/broken/twiliopay@.service"
cp "$U/twiliopay@.socket" "$tmp/broken/"
v=$(cd "$tmp" && systemd-analyze verify "$tmp/broken/twiliopay@healthz.service" 2>&1)
t_match "systemd-analyze verify catches a broken unit" "Unknown key name 'ExecStrat'|Unknown key 'ExecStrat'|has no ExecStart" "$v"
v=$(cd "$tmp" && systemd-analyze security --offline=true --threshold=20 "$U/twiliopay@healthz.service" 2>&1)
t_eq "sandboxing: systemd-analyze security exposure within 2.0" 0 $?
t_match "sandboxing: exposure is reported OK" 'Overall exposure level for twiliopay@healthz.service: [0-9.]+ OK' "$v"

# ------------------------------------------------------------ 3. socket activation
port=$(stack_free_port)
env=$tmp/env
"$top/scripts/sandbox-env" "$port" "$(stack_free_port)" >"$env"
# The public URL Twilio was given, not what nginx sees (127.0.0.1:port).
stack_env_set "$env" SERVER_URL https://pay.example.test
stack_env_set "$env" PAY_SYNC_SERVICE_SID IS0123456789abcdef0123456789abcdef
chmod 0600 "$env"

# unit_value FILE KEY: the value of KEY= in a unit file (last one wins).
unit_value() { sed -n "s/^$2=//p" "$1" | tail -1; }
# unit_command INSTANCE LINE: a unit's command line with %i and the unit's
# Environment= variables expanded as systemd expands them: the instance's
# drop-ins (twiliopay@INSTANCE.service.d/*.conf) after the unit, the last
# value of a variable winning.
unit_command() {
  local inst=$1 cmd=$2 kv
  declare -A val=()
  cmd=${cmd//%i/$inst}
  while read -r kv; do
    val[${kv%%=*}]=${kv#*=}
  done < <(sed -n 's/^Environment=//p' "$U/twiliopay@.service" "$U/twiliopay@$inst.service.d"/*.conf 2>/dev/null)
  for kv in "${!val[@]}"; do
    cmd=${cmd//\$\{$kv\}/${val[$kv]}}
  done
  echo "$cmd"
}
# unit_env INSTANCE: -E NAME=VALUE for each Environment= of the unit,
# %t (systemd's /run) standing for $rt.
rt=$tmp/rt
mkdir -p "$rt" # systemd's /run
unit_env() {
  sed -n "s/^Environment=/-E /; s|%t|$rt|g; s|%i|$1|g; /^-E /p" \
    "$U/twiliopay@.service" "$U/twiliopay@$1.service.d"/*.conf 2>/dev/null
}
exec_start=$(unit_value "$U/twiliopay@.service" ExecStart)
sock_group=$(unit_value "$U/twiliopay@.socket" SocketGroup)
sock_mode=$(unit_value "$U/twiliopay@.socket" SocketMode)
realistic=0
[[ $(id -u) == 0 ]] && getent group "$sock_group" >/dev/null && getent passwd "$sock_group" >/dev/null && realistic=1

declare -A MAINPID
start_handler() {
  local fn=$1 listen i
  listen=$(unit_value "$U/twiliopay@.socket" ListenStream)
  listen=${listen//%i/$fn}
  mkdir -p "$(dirname "$listen")"
  # The unit's Environment= (METRICS_DIR among them), with the test's
  # configuration file.
  # shellcheck disable=SC2046
  systemd-socket-activate -l "$listen" $(unit_env "$fn") -E TWILIOPAY_ENV="$env" \
    $(unit_command "$fn" "$exec_start") 2>>"$log/$fn.log" &
  MAINPID[$fn]=$!
  PIDS+=($!)
  for i in $(seq 1 50); do [[ -S $listen ]] && break; sleep 0.1; done
  # What SocketGroup=/SocketMode= make of it: nginx's workers reach it
  # through the group only.
  if (( realistic )); then chgrp "$sock_group" "$listen"; chmod "$sock_mode" "$listen"; fi
}
start_handler healthz
start_handler callToSIP
start_handler metrics

nchan=""
[[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ]] && nchan="load_module /usr/lib/nginx/modules/ngx_nchan_module.so;"
user=""
if (( realistic )); then user="user $sock_group $sock_group;"; elif [[ $(id -u) == 0 ]]; then user="user root root;"; fi
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
$nchan
$user
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $log/nginx-error.log warn;
events { worker_connections 64; }
http {
    default_type application/octet-stream;
    client_body_temp_path $tmp/nginx/body;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    proxy_temp_path $tmp/nginx/proxy;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    include $pre/share/twiliopay/nginx/twiliopay-http.conf;
    server {
        listen 127.0.0.1:$port;
        server_name pay.example.test;
        include $pre/share/twiliopay/nginx/twiliopay.conf;
    }
}
CONF
v=$(nginx -t -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$log/nginx-error.log" 2>&1)
t_eq "nginx accepts the installed include" 0 $?
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$log/nginx-error.log" 2>>"$log/nginx-error.log" &
PIDS+=($!)
base=http://127.0.0.1:$port
for i in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

export TWILIOPAY_ENV=$env
post=("$top/$B/bin/twilio-post")
form=(CallSid=CA0123456789abcdef0123456789abcdef To=+61255550100 From=+14155550100)

t_eq "/healthz through nginx and a socket-activated handler: 200" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")"
t_match "the handler got its socket from systemd (fd 3), not --listen, and its bounds from the drop-in" \
  "cgi-bin/healthz --workers 2 --threads 64\$" \
  "$(tr '\0' ' ' <"/proc/${MAINPID[healthz]}/cmdline" | sed 's/ $//')"
t_match "the supervisor holds the listening socket on fd 3" '^socket:' "$(readlink "/proc/${MAINPID[healthz]}/fd/3")"
body=$("${post[@]}" -s https://pay.example.test/pv/callToSIP "$base/pv/callToSIP" "${form[@]}")
t_match "signed for the public URL: TwiML answer" '<Dial><Sip [^>]*>sip:\+61255550100@sandbox\.sip\.twilio\.com\?User-to-User=' "$body"
t_match "callbacks use the public URL" 'statusCallback="https://pay\.example\.test/sync/uuiSyncUpdate\?' "$body"
code=$("${post[@]}" -i "$base/pv/callToSIP" "${form[@]}" | head -1)
t_match "signed for the URL nginx sees instead: 403" '^HTTP/1.1 403' "$code"
code=$("${post[@]}" -i -s https://evil.example/pv/callToSIP -H 'X-Forwarded-Host: evil.example' \
  -H 'X-Forwarded-Proto: https' -H 'Forwarded: host=evil.example;proto=https' \
  "$base/pv/callToSIP" "${form[@]}" | head -1)
t_match "forwarded headers do not move the signed URL: 403" '^HTTP/1.1 403' "$code"
# Socket activation: each handler starts (and makes its scoreboard) on
# its first request; healthz and callToSIP have had theirs.
m=$(curl -s "$base/metrics")
t_match "GET /metrics reads each handler's scoreboard in the unit's METRICS_DIR" \
  'twiliopay_up\{handler="callToSIP"\} 1.*twiliopay_up\{handler="healthz"\} 1' "$(tr '\n' ' ' <<<"$m")"
t_match "  ... which counted the /healthz request" 'twiliopay_requests_total\{handler="healthz",status="200"\} [1-9]' "$m"
t_eq "  ... in %t/twiliopay/<handler>/scoreboard, inside the unit's RuntimeDirectory" \
  "RuntimeDirectory=twiliopay/%i $rt/twiliopay/healthz/scoreboard" \
  "$(grep '^RuntimeDirectory=' "$U/twiliopay@.service") $(ls "$rt/twiliopay/healthz/scoreboard")"

# From here on callToSIP runs under strace (requests, both reloads, the
# shutdown): the unit's SystemCallFilter= and RestrictAddressFamilies=
# must allow every call it makes (checked at the end).  A filtered call
# would fail with EPERM in production only, where no test runs.
strace_pid=""
if command -v strace >/dev/null; then
  tpids="${MAINPID[callToSIP]} $(pgrep -P "${MAINPID[callToSIP]}" | tr '\n' ' ')"
  # shellcheck disable=SC2046
  strace -f -qq -o "$tmp/strace-handler.log" $(printf -- '-p %s ' $tpids) &
  strace_pid=$!
  for p in $tpids; do
    for i in $(seq 1 50); do
      [[ $(sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$p/status") != 0 ]] && break
      sleep 0.1
    done
  done
fi

hdrs=$(curl -s -D - -o /dev/null "$base/")
t_match "console: CSP script-src 'self'" "Content-Security-Policy: .*script-src 'self';" "$hdrs"
t_match "console: frame-ancestors from FRAME_ANCESTORS" "frame-ancestors 'self' https://apps\.mypurecloud\.com" "$hdrs"
# Delivered as in the sandbox: precompressed, the page revalidated, the
# hashed files it names kept a year, with a JavaScript type.
hdrs=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$base/")
t_match "console: the page precompressed (gzip_static)" $'Content-Encoding: gzip\r' "$hdrs"
t_match "console: the page revalidated" $'Cache-Control: no-cache\r' "$hdrs"
mod=$(grep -o 'src="js/main\.[0-9a-f]\{12\}\.js"' "$pre/share/twiliopay/www/index.html" | cut -d'"' -f2)
t_match "console: the installed page names a hashed module" '^js/main\.[0-9a-f]{12}\.js$' "$mod"
hdrs=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$base/$mod")
t_match "console: a hashed module kept a year" $'Cache-Control: public, max-age=31536000, immutable\r' "$hdrs"
t_match "console: a hashed module precompressed" $'Content-Encoding: gzip\r' "$hdrs"
t_match "console: a hashed module is JavaScript" $'Content-Type: text/javascript\r' "$hdrs"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
t_eq "body over 64k: 413 from nginx" 413 "$(curl -s -o /dev/null -w '%{http_code}' \
  -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "x=$big" "$base/pv/callToSIP")"

# systemctl reload = the unit's ExecReload lines, in order, as the service
# user would run them; they must succeed and drop no request meanwhile.
reload() {
  local fn=$1 line cmd
  while read -r line; do
    cmd=$(unit_command "$fn" "$line")
    cmd=${cmd//\$MAINPID/${MAINPID[$fn]}}
    # shellcheck disable=SC2086
    $cmd >>"$log/reload.log" 2>&1 || return 1
  done < <(sed -n 's/^ExecReload=//p' "$U/twiliopay@.service")
}
stack_env_set "$env" SERVER_URL https://pay.example.test/pay
if reload callToSIP; then t_ok "reload (ExecReload) succeeds"; else t_fail "reload (ExecReload) succeeds" "$(cat "$log/reload.log")"; fi
fails=0 new=""
for i in $(seq 1 40); do
  c=$("${post[@]}" -s https://pay.example.test/pay/pv/callToSIP -i "$base/pv/callToSIP" "${form[@]}" | head -1)
  case $c in
    *" 200"*) new=yes ;;
    *" 403"*) ;; # an old-generation worker, still on the previous SERVER_URL
    *) fails=$((fails + 1)) ;;
  esac
  [[ $new == yes && $i -ge 10 ]] && break
  sleep 0.1
done
t_eq "no request failed during the reload" 0 "$fails"
t_eq "after reload the new SERVER_URL (with a path prefix) is used" yes "$new"
stack_env_set "$env" SERVER_URL ftp://broken
if reload callToSIP; then t_fail "a broken configuration makes reload fail"; else t_ok "a broken configuration makes reload fail"; fi
t_match "the reload names the problem" 'SERVER_URL must be an absolute http' "$(cat "$log/reload.log")"
sleep 0.5
t_match "the handler keeps serving the previous configuration" '^HTTP/1.1 200' \
  "$("${post[@]}" -s https://pay.example.test/pay/pv/callToSIP -i "$base/pv/callToSIP" "${form[@]}" | head -1)"

# PCI: neither a query string nor a card-number-like path reaches the log.
curl -s -o /dev/null "$base/healthz?card=4111111111111111&cvv=123"
curl -s -o /dev/null "$base/4111111111111111"
curl -s -o /dev/null "$base/card/4111-1111-1111-1111"
kill -QUIT "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null
for i in $(seq 1 50); do [[ -f $tmp/nginx/nginx.pid ]] || break; sleep 0.1; done
alog=$(cat "$log/twiliopay-access.log" 2>/dev/null)
t_match "access log has a line per request" '"GET /healthz HTTP/1.1" 200' "$alog"
t_nomatch "access log holds no card number" '4111' "$alog"
t_nomatch "access log holds no query string" '\?' "$alog"
t_match "a card-like path is withheld" '"GET \[path withheld\] HTTP/1.1" 404' "$alog"

# ------------------------------------------------------------ 4. system calls
# expand_set NAME...: syscall names, @groups expanded as systemd does.
expand_set() {
  local s x
  for s; do
    if [[ $s == @* ]]; then
      systemd-analyze syscall-filter "$s" | sed '1d; s/#.*//; s/^[[:space:]]*//' | grep -v '^$' |
        while read -r x; do expand_set "$x"; done
    else
      echo "$s"
    fi
  done
}
# What the installed unit allows: its SystemCallFilter= allow list minus
# its ~deny lines.
allowed_syscalls() {
  local line allow=() deny=()
  while read -r line; do
    # shellcheck disable=SC2206
    if [[ $line == "~"* ]]; then deny+=(${line#\~}); else allow+=($line); fi
  done < <(sed -n 's/^SystemCallFilter=//p' "$U/twiliopay@.service")
  comm -23 <(expand_set "${allow[@]}" | sort -u) <(expand_set "${deny[@]}" | sort -u)
}
used_syscalls() { grep -ohE '^[0-9]+ +[a-z0-9_]+\(' "$@" | sed 's/.* //; s/($//' | sort -u; }
used_families() { grep -ohE 'socket\((AF|PF)_[A-Z0-9]+' "$@" | sed 's/^socket(//; s/^PF_/AF_/' | sort -u; }
if [[ -n $strace_pid ]]; then
  kill -TERM "${MAINPID[callToSIP]}"
  wait "${MAINPID[callToSIP]}" 2>/dev/null
  wait "$strace_pid" 2>/dev/null
  # The library's HTTP client (libcurl, name resolution, connect) as the
  # handlers that call Twilio use it, run through the installed
  # twiliopay-check (which also runs every handler's --check-config).
  cenv=$tmp/client.env
  cp "$env" "$cenv"
  stack_env_set "$cenv" TWILIO_API_URL "http://localhost:$port"
  stack_env_set "$cenv" TWILIO_SYNC_URL "http://localhost:$port"
  strace -f -qq -o "$tmp/strace-client.log" "$pre/lib/twiliopay/bin/twiliopay-check" --env "$cenv" \
    >/dev/null 2>&1
  allowed=$(allowed_syscalls)
  t_match "the allow list was read from the unit" '^(read|write)$' "$allowed"
  used=$(used_syscalls "$tmp/strace-handler.log")
  t_match "the handler's calls were traced" '^(accept4?|epoll_wait)$' "$used"
  t_eq "handler: every system call is allowed by SystemCallFilter=" "" \
    "$(comm -23 <(echo "$used") <(echo "$allowed") | tr '\n' ' ')"
  used=$(used_syscalls "$tmp/strace-client.log")
  t_match "the HTTP client's calls were traced" '^connect$' "$used"
  t_eq "HTTP client: every system call is allowed by SystemCallFilter=" "" \
    "$(comm -23 <(echo "$used") <(echo "$allowed") | tr '\n' ' ')"
  families=$(sed -n 's/^RestrictAddressFamilies=//p' "$U/twiliopay@.service" | tr ' ' '\n' | sort -u)
  t_eq "every socket family is allowed by RestrictAddressFamilies=" "" \
    "$(comm -23 <(used_families "$tmp"/strace-*.log) <(echo "$families") | tr '\n' ' ')"
else
  echo "# test_deploy: strace not installed; system call filter not checked"
fi
t_done
