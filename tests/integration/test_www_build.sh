#!/usr/bin/env bash
# The build, as a developer runs it while a console is open:
#   1. `make` right after a build does nothing at all (the C tree, the
#      tests and the console);
#   2. the console's TypeScript compiler runs only when www/src (or its
#      configuration) changed: a changed stylesheet is only re-assembled;
#   3. publishing a new console never removes a file the current page
#      names, and a reader fetching index.html and then what it names while
#      new builds are published, again and again, never misses a file
#      (scripts/build-www, www/assemble.mjs: beside, then rename).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
B=${B:-build}

# make as a developer runs it, even when this runs under `make test` (no
# inherited MAKELEVEL, jobserver or flags).
mk() { env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -C "$top" --no-print-directory "$@"; }

tmp=$(mktemp -d /tmp/tp-www-XXXXXX)
reader=""
cleanup() {
  [[ -n $reader ]] && kill "$reader" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# ------------------------------------------------------------ 1. no-op
out=$(mk -n B="$B" SANITIZE="${SANITIZE:-}" all tests 2>&1)
t_eq "make all tests after a build: nothing to do" \
  "make: Nothing to be done for 'all'.|make: Nothing to be done for 'tests'." \
  "$(paste -sd '|' <<<"$out")"

# ------------------------------------------------------------ 2. tsc only for www/src
# A build folder of its own for the console alone.
wb=$tmp/b
out=$(mk -s B="$wb" www 2>&1)
t_eq "make www into a fresh folder (status:output)" "0:" "$?:$out"
t_eq "a second make www: nothing to do" "make: Nothing to be done for 'www'." \
  "$(mk B="$wb" www 2>&1)"
# -W FILE: as if FILE had just changed (nothing is edited).
plan=$(mk -n -W www/public/console.css B="$wb" www 2>&1)
t_match "a changed stylesheet re-assembles" 'build-www assemble' "$plan"
t_nomatch "a changed stylesheet does not run tsc" 'build-www compile' "$plan"
plan=$(mk -n -W www/src/model.ts B="$wb" www 2>&1)
t_match "a changed module runs tsc, then assembles" 'build-www compile [^ ]+\|build-www assemble' \
  "$(grep -o 'build-www [a-z]* [^ ]*' <<<"$plan" | paste -sd '|')"

# ------------------------------------------------------------ 3. publishing beside a running console
# Two generations that differ (a different stylesheet, so every name
# that depends on it changes), staged from copies of www/public.
for g in 1 2; do
  mkdir -p "$tmp/pub$g" "$tmp/stage$g"
  cp -R "$top/www/public/." "$tmp/pub$g/"
  printf '\n.generation-%s { color: inherit; }\n' "$g" >>"$tmp/pub$g/console.css"
  node "$top/www/assemble.mjs" stage "$wb/.www/js" "$tmp/pub$g" "$tmp/stage$g" ||
    t_fail "assemble stage $g"
done
served=$tmp/served
node "$top/www/assemble.mjs" publish "$tmp/stage1" "$served"
# What the pages name (index.html and setup.html, whose names are absolute).
names() { cat "$1"/*.html | grep -o '\(src\|href\)="[^"]*"' | cut -d'"' -f2 | sed 's|^/||' | sort -u; }
gen1=$(names "$served")
node "$top/www/assemble.mjs" publish "$tmp/stage2" "$served"
gen2=$(names "$served")
t_nomatch "the two generations name different files" "^$(head -1 <<<"$gen1")\$" "$gen2"
missing=""
for f in $gen1 $gen2; do [[ -f $served/$f ]] || missing+=" $f"; done
t_eq "after a publish, the files of the page it replaced are still there" "" "$missing"
node "$top/www/assemble.mjs" publish "$tmp/stage1" "$served"
node "$top/www/assemble.mjs" publish "$tmp/stage2" "$served"
left=$(cd "$served" && find . -type f | sed 's|^\./||' | sort)
want=$( (names "$served"; names "$tmp/stage1"; cd "$served" && ls ./*.html | sed 's|^\./||') | sort -u)
t_eq "older generations are removed; the last two stay" \
  "$(for f in $want; do echo "$f"; [[ -f $served/$f.gz ]] && echo "$f.gz"; done | sort | paste -sd ' ')" \
  "$(paste -sd ' ' <<<"$left")"

# A reader that does what a browser does: read index.html, then every
# file it names; any file missing at that moment is a broken console.
# (The two generations alternate, so nothing is pruned here: what this
# shows is that replacing a console never takes its files away first, as
# a build that empties the folder and compiles into it again would.)
(
  misses=0
  while [[ ! -e $tmp/stop ]]; do
    page=$(cat "$served/index.html" 2>/dev/null) || { misses=$((misses + 1)); continue; }
    for f in $(grep -o '\(src\|href\)="[^"]*"' <<<"$page" | cut -d'"' -f2); do
      [[ -r $served/$f ]] || { misses=$((misses + 1)); echo "missing $f" >>"$tmp/misses"; }
    done
    echo x >>"$tmp/reads"
  done
  echo "$misses" >"$tmp/reader-done"
) &
reader=$!
for i in $(seq 1 20); do
  node "$top/www/assemble.mjs" publish "$tmp/stage$(( i % 2 + 1 ))" "$served"
done
touch "$tmp/stop"
wait "$reader"
reader=""
t_eq "a reader during 20 publishes never misses a file ($(wc -l <"$tmp/reads") page loads)" 0 \
  "$(cat "$tmp/reader-done")"
[[ -s $tmp/misses ]] && sort -u "$tmp/misses" | head -5 | sed 's/^/    /'

t_done
