# multinode-conf.sh - the nginx parts that differ when several nodes run
# behind a load balancer (docs/multinode.md); sourced by
# scripts/render-nginx (sandbox) and scripts/render-deploy (production).
#
#   nchan_store_render DIR       writes DIR/twiliopay-nchan-redis.conf (http
#                                level) and DIR/twiliopay-nchan-store.conf
#                                (inside the publisher and subscriber
#                                locations) from NCHAN_REDIS_URL
#   realip_render DIR            writes DIR/twiliopay-realip.conf (the
#                                login location) from REAL_IP_FROM
#
# NCHAN_REDIS_URL unset or empty: one node, nchan's shared memory (both
# files hold only a comment).  Set (redis://[[user]:password@]host[:port][/db];
# not rediss://: the handlers spend live-update tickets in the same Redis,
# lib/redis.c, which speaks no TLS): nchan's Redis engine, so that a state published on
# one node reaches a browser subscribed on any other (docs/multinode.md).
#
# Storage mode "nostore": Redis only carries each message to the nodes
# whose browsers watch that channel; nothing is kept there.  Nothing
# needs a stored message: a state is a full snapshot with its seq, and a
# console reads GET /aap/session after every (re)connection, so no
# subscriber ever asks for a message by id or for old ones (which is also
# where nchan's long-standing fetch-by-id worker crash lives).  Rejected:
# "distributed" (the default) keeps every channel's buffer in Redis - an
# hour of ~1.5 KB snapshots per payment, Redis memory that buys nothing
# here; "backup" is for one node only.
#
# Timeouts: nchan's defaults (connect 10 s, commands 5 s) would hold a
# handler's publish (2 s timeout) and a subscriber for longer than a
# missed live update is worth; Redis answers within milliseconds when it
# is up.  When it is down, publishing fails at once, the handlers log it
# and carry on, and consoles fall back to polling GET /aap/session.
# shellcheck shell=bash

nchan_store_render() {
  local dir=$1 url=${NCHAN_REDIS_URL:-} ns=${NCHAN_REDIS_NAMESPACE:-twiliopay}
  local up=$dir/twiliopay-nchan-redis.conf store=$dir/twiliopay-nchan-store.conf
  if [[ -z $url ]]; then
    printf '%s\n' "# NCHAN_REDIS_URL is not set: one node, channels in nchan's shared memory." >"$up"
    printf '%s\n' "# NCHAN_REDIS_URL is not set: nchan's shared memory (memory engine)." >"$store"
    return 0
  fi
  if [[ $url == rediss://* ]]; then
    echo "multinode-conf: NCHAN_REDIS_URL: rediss:// (TLS) is not supported: the handlers' ticket check (lib/redis.c) speaks plain RESP; reach Redis over a private network" >&2
    return 1
  fi
  # What nchan's parse_redis_url accepts, minus anything that could end
  # the nginx directive or start another (quotes, ;, {}, blanks).
  if ! [[ $url =~ ^redis://([A-Za-z0-9._~%+-]*:[A-Za-z0-9._~%+!*,=-]+@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[0-9]{1,2})?$ ]]; then
    echo "multinode-conf: NCHAN_REDIS_URL must look like redis://[:password@]host[:port][/db] (got something else)" >&2
    return 1
  fi
  if ! [[ $ns =~ ^[A-Za-z0-9_.-]{1,64}$ ]]; then
    echo "multinode-conf: NCHAN_REDIS_NAMESPACE must be letters, digits, '.', '_' or '-' (got '$ns')" >&2
    return 1
  fi
  # The URL may hold Redis' password: only nginx's master (root) reads it.
  (umask 077; cat >"$up" <<CONF
# nchan's Redis engine (NCHAN_REDIS_URL): every node of this deployment
# points at the same Redis.  Rendered; see scripts/multinode-conf.sh.
upstream twiliopay_redis {
    nchan_redis_server $url;
    nchan_redis_namespace $ns;
    nchan_redis_storage_mode nostore;
    nchan_redis_connect_timeout 2s;
    nchan_redis_command_timeout 2s;
    nchan_redis_reconnect_delay_max 5s;
}
CONF
  )
  cat >"$store" <<CONF
# Channels go through Redis (NCHAN_REDIS_URL), upstream in twiliopay-nchan-redis.conf.
nchan_redis_pass twiliopay_redis;
CONF
}

# Behind a load balancer every request comes from the balancer's address:
# the login throttle (limit_req, keyed on $binary_remote_addr) would put
# every agent into one bucket, and the logs would name the balancer.
# REAL_IP_FROM lists the balancers' addresses (CIDR, blank-separated);
# nginx's realip module then takes the client's address from the
# X-Forwarded-For they add - from them only, so nobody else can choose
# the address a throttle counts.  Empty: no balancer, nothing changes.
# Used in the login location only (nginx/twiliopay.conf.in says why).
realip_render() {
  local dir=$1 from=${REAL_IP_FROM:-} a out=$1/twiliopay-realip.conf
  if [[ -z $from ]]; then
    printf '%s\n' "# REAL_IP_FROM is not set: clients connect to this nginx directly." >"$out"
    return 0
  fi
  {
    echo "# Clients' addresses from the load balancers' X-Forwarded-For (REAL_IP_FROM)."
    for a in $from; do
      if ! [[ $a =~ ^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$ || $a == unix: ]]; then
        echo "multinode-conf: REAL_IP_FROM: not an address or CIDR: $a" >&2
        return 1
      fi
      echo "set_real_ip_from $a;"
    done
    echo "real_ip_header X-Forwarded-For;"
    echo "real_ip_recursive on;"
  } >"$out.tmp" && mv "$out.tmp" "$out"
}
