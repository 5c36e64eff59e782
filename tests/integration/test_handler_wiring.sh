#!/usr/bin/env bash
# What a handler needs besides its file (docs/handlers.md, "Adding a
# handler"), for every cgi-bin/*.c, so that the guide stays true and no
# handler is half wired: its line in scripts/handler-bounds (its bounds,
# and nginx's upstream twiliopay_<name>), a location that passes to that
# upstream in the nginx templates, and fixtures that run it.  And the
# other way round: no bounds line, and no route, for a handler that does
# not exist.  No stack: the files only.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

bounds=$top/scripts/handler-bounds
routes=$(cat "$top/nginx/twiliopay.conf.in" "$top/nginx/twiliopay-live.conf.in")
handlers=()
for f in "$top"/cgi-bin/*.c; do handlers+=("$(basename "$f" .c)"); done
t_match "there are handlers" '[a-z]' "${handlers[*]}"

no_bounds="" no_route="" no_fixture=""
for n in "${handlers[@]}"; do
  awk -v n="$n" '$1 == n { f = 1 } END { exit !f }' "$bounds" || no_bounds+=" $n"
  grep -q "fastcgi_pass twiliopay_$n;" <<<"$routes" || no_route+=" $n"
  # A fixture whose "--- handler" section names it.
    compgen -G "$top/tests/fixtures/$n/*.txt" >/dev/null &&
    awk -v n="$n" 'p { if ($0 == n) f = 1; p = 0 } /^--- handler$/ { p = 1 } END { exit !f }' \
      "$top"/tests/fixtures/"$n"/*.txt || no_fixture+=" $n"
done
t_eq "every handler has its line in scripts/handler-bounds" "" "$no_bounds"
t_eq "every handler has a location passing to its upstream (fastcgi_pass twiliopay_<name>)" "" "$no_route"
t_eq "every handler has fixtures in tests/fixtures/<name>/ that run it" "" "$no_fixture"

# Every route goes through an upstream (keepalive, bounds): none straight
# to a socket.
t_eq "no location passes straight to a socket" "" \
  "$(grep -n 'fastcgi_pass unix:' <<<"$routes")"

stale_bounds="" stale_route=""
while read -r n _; do
  [[ -z $n || $n == \#* ]] && continue
  [[ -f $top/cgi-bin/$n.c ]] || stale_bounds+=" $n"
done <"$bounds"
for u in $(grep -o 'fastcgi_pass twiliopay_[A-Za-z0-9_]*' <<<"$routes" | sed 's/.*twiliopay_//' | sort -u); do
  [[ -f $top/cgi-bin/$u.c ]] || stale_route+=" $u"
done
t_eq "every line of scripts/handler-bounds names a handler" "" "$stale_bounds"
t_eq "every route names a handler" "" "$stale_route"
t_done
