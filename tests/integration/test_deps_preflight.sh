#!/usr/bin/env bash
# The README's promise for a fresh machine: `make`, `make run` and
# `make test` check the Debian packages before anything compiles.  Run
# with fakes first on PATH, so nothing is installed and nothing is built:
#   dpkg-query  reports FAKE_MISSING as not installed (until apt-get ran)
#   apt-get     records its command line and "installs" them
#   id          answers FAKE_UID (root or not, whoever runs the test)
#   cc, npx     record that a compile or the console's tsc started, fail
# Not root: the run stops with the exact apt-get line and compiled
# nothing.  Root: apt-get runs, and only then the first compile.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

tmp=$(mktemp -d /tmp/tp-packages-XXXXXX)
# build-www takes a folder relative to the top: a throwaway one there.
rel=test-output/packages-$$
trap 'rm -rf "$tmp" "${top:?}/$rel"' EXIT
fake=$tmp/bin log=$tmp/log
mkdir -p "$fake"
cat >"$fake/dpkg-query" <<'SH'
#!/usr/bin/env bash
pkg=${*: -1}
if [[ " $FAKE_MISSING " == *" $pkg "* && ! -e $FAKE_LOG.installed ]]; then
  echo "dpkg-query: no packages found matching $pkg" >&2; exit 1
fi
printf 'install ok installed'
SH
cat >"$fake/apt-get" <<'SH'
#!/usr/bin/env bash
echo "apt-get $*" >>"$FAKE_LOG"
[[ $1 == install ]] && touch "$FAKE_LOG.installed"
exit 0
SH
cat >"$fake/id" <<'SH'
#!/usr/bin/env bash
echo "$FAKE_UID"
SH
printf '#!/usr/bin/env bash\necho "cc $*" >>"$FAKE_LOG"\nexit 1\n' >"$fake/cc"
printf '#!/usr/bin/env bash\necho "npx $*" >>"$FAKE_LOG"\nexit 1\n' >"$fake/npx"
chmod +x "$fake"/*

# One make run with the fakes; a make above this test (make test) must not
# lend it its job server or flags.
fake_make() {
  local uid=$1
  shift
  rm -f "$log" "$log.installed"
  env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PATH="$fake:$PATH" FAKE_LOG="$log" FAKE_UID="$uid" \
    FAKE_MISSING="libcjson-dev libfcgi-dev" NGINX_PORT=1 SIM_PORT=1 \
    timeout 120 make -C "$top" --no-print-directory -j2 B="$rel" CC=cc "$@" 2>&1
}

for goal in all run test; do
  out=$(fake_make 1000 "$goal")
  rc=$?
  t_eq "make $goal, not root, packages missing: fails" 1 $((rc != 0))
  t_match "make $goal, not root: prints the exact apt-get line" \
    'apt-get install -y --no-install-recommends libfcgi-dev libcjson-dev|apt-get install -y --no-install-recommends libcjson-dev libfcgi-dev' "$out"
  t_nomatch "make $goal, not root: no compiler error" 'fatal error|No such file' "$out"
  t_eq "make $goal, not root: compiled nothing, installed nothing" "" "$(cat "$log" 2>/dev/null)"

  out=$(fake_make 0 "$goal")
  first=$(head -n 1 "$log" 2>/dev/null)
  t_match "make $goal, root: apt-get installs the missing packages first" \
    '^apt-get install .*libfcgi-dev.*libcjson-dev|^apt-get install .*libcjson-dev.*libfcgi-dev' "$first"
  t_match "make $goal, root: then the first compile" '^(cc|npx) ' "$(sed -n 2p "$log" 2>/dev/null)"
  t_eq "make $goal, root: apt-get ran once" 1 "$(grep -c '^apt-get install' "$log" 2>/dev/null)"
done

# With everything installed the check is silent and compiles go ahead.
rm -f "$log"
out=$(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PATH="$fake:$PATH" FAKE_LOG="$log" FAKE_UID=1000 \
  FAKE_MISSING="" timeout 120 make -C "$top" --no-print-directory B="$rel" CC=cc lib 2>&1)
t_match "packages present: make goes straight to the compiler" '^cc ' "$(head -n 1 "$log" 2>/dev/null)"
t_nomatch "packages present: no install message" 'install-deps|apt-get' "$out"
t_done
