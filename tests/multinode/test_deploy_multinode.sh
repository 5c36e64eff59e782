#!/usr/bin/env bash
# The production configuration of a node of several (docs/multinode.md):
# `make install NCHAN_REDIS_URL=... REAL_IP_FROM=...` renders nchan's Redis
# engine (upstream, nostore, the publisher and subscriber locations using
# it) and the realip trust for the balancers; the Redis URL (it may hold a
# password) is readable by root only; nginx accepts the result; a
# malformed URL or address stops the install.  Without them, the
# single-node files hold no Redis or realip directive.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
B=${B:-build}
tmp=$(mktemp -d /tmp/tp-mn-deploy-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Into a prefix of its own (not DESTDIR), so the paths inside the files are
# real and nginx -t can follow them.
inst() {
  mkdir -p "$tmp/$1-run" "$tmp/$1-log"
  make -s -C "$top" B="$B" SANITIZE="${SANITIZE:-}" install PREFIX="$tmp/$1" RUNDIR="$tmp/$1-run" \
    NGINX_LOG_DIR="$tmp/$1-log" "${@:2}" >"$tmp/$1.out" 2>&1
}
inst multi NCHAN_REDIS_URL='redis://:s3cret@10.0.0.5:6379/2' REAL_IP_FROM='10.0.0.2 10.0.0.3/32'
t_eq "make install with NCHAN_REDIS_URL and REAL_IP_FROM" 0 $?
C=$tmp/multi/share/twiliopay/nginx
t_match "the Redis upstream, nostore" 'nchan_redis_server redis://:s3cret@10\.0\.0\.5:6379/2;.*nchan_redis_storage_mode nostore;' \
  "$(tr '\n' ' ' <"$C/twiliopay-nchan-redis.conf")"
t_eq "  ... readable by root only (it holds Redis' password)" 600 "$(stat -c %a "$C/twiliopay-nchan-redis.conf")"
t_eq "the publisher and the subscriber use it" "nchan_redis_pass twiliopay_redis;" \
  "$(grep -v '^#' "$C/twiliopay-nchan-store.conf")"
t_eq "both locations include it" 2 "$(grep -c '^ *include .*twiliopay-nchan-store.conf;' "$C"/twiliopay-live.conf "$C"/twiliopay-routes.conf | awk -F: '{s+=$2} END {print s}')"
t_eq "realip trusts the balancers only" "set_real_ip_from 10.0.0.2; set_real_ip_from 10.0.0.3/32; real_ip_header X-Forwarded-For; real_ip_recursive on;" \
  "$(grep -v '^#' "$C/twiliopay-realip.conf" | tr '\n' ' ' | sed 's/ $//')"
# Only where the address counts: with realip on the live-update locations
# nchan 1.3.6 crashes (slact/nchan issue 680).
t_eq "  ... in the login location only" "location = /aap/login" \
  "$(awk '/^location/{loc=$0} /include .*twiliopay-realip.conf/{print loc}' "$C"/twiliopay-routes.conf "$C"/twiliopay-live.conf | sed 's/ {$//')"

# nginx accepts the installed files (nginx -t: no connection to Redis is made).
cat >"$tmp/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
  include $C/twiliopay-http.conf;
  server { listen 127.0.0.1:1; include $C/twiliopay.conf; }
}
CONF
out=$(nginx -t -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" 2>&1)
t_match "nginx -t accepts a node's configuration" 'test is successful' "$out"

inst single
t_eq "make install without them" 0 $?
C1=$tmp/single/share/twiliopay/nginx
t_eq "  ... no Redis and no realip directive" "" \
  "$(grep -hv '^#' "$C1/twiliopay-nchan-redis.conf" "$C1/twiliopay-nchan-store.conf" "$C1/twiliopay-realip.conf")"

inst bad1 NCHAN_REDIS_URL='redis://x;evil'
t_eq "a malformed NCHAN_REDIS_URL stops the install" 2 $?
t_match "  ... saying so" 'NCHAN_REDIS_URL must look like' "$(cat "$tmp/bad1.out")"
inst bad2 REAL_IP_FROM='10.0.0.1;evil'
t_eq "a malformed REAL_IP_FROM stops the install" 2 $?
t_done
