#!/usr/bin/env bash
# tests/run cannot lose a test: runners that die, stop early, exit
# non-zero without saying why or print no plan are failures, tests that
# never reported count as failed, and the fixture runner goes on after a
# handler that exits without reading its body, and a fixture number used
# twice in one folder is refused.  tests/run is run on
# made-up suites (UNIT_TESTS, INTEGRATION_TESTS, FIXTURES) and its output
# and summary line are checked.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
B=${B:-build}

tmp=$(mktemp -d /tmp/tp-runner-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
inner() { env -u MAKEFLAGS STACK_KEEP_DIR="$tmp/keep" B="$B" "$top/tests/run" "$@" 2>&1; }

# ---- fixtures: a handler that exits at once (no env: configuration
# refused) with a 66 KB body still unread, between two good fixtures.
sed '/^--- env$/,/^--- request$/{/^--- request$/!d}' \
  "$top/tests/fixtures/setupSyncServices/0011-oversize.txt" >"$tmp/0011-no-env.txt"
grep -q '^--- env' "$tmp/0011-no-env.txt" && t_fail "test setup: env section removed"
good1=tests/fixtures/healthz/$(ls "$top/tests/fixtures/healthz" | head -n 1)
good2=tests/fixtures/setupSyncServices/0011-oversize.txt
out=$(FIXTURES="$good1 $tmp/0011-no-env.txt $good2" inner fixtures)
rc=$?
t_match "fixtures: the handler that read nothing fails its fixture" \
  "^not ok - $tmp/0011-no-env.txt" "$out"
t_match "fixtures: ... and says why" "exited with status 78" "$out"
t_match "fixtures: the fixture after it still runs" "^ok - $good2" "$out"
t_match "fixtures: every file reported" "^# planned 3: 3 reported, 0 never ran" "$out"
t_eq "fixtures: summary" "2 passed, 1 failed" "$(tail -n 1 <<<"$out")"
t_eq "fixtures: tests/run fails" 1 "$rc"

# ---- fixtures: a number used twice in one folder refuses both files,
# even when only one of them is named; the other numbers still run.
mkdir -p "$tmp/dup"
for n in 0007-a 0007-b 0008-c; do cp "$top/$good1" "$tmp/dup/$n.txt"; done
out=$(FIXTURES="$tmp/dup/0007-a.txt $tmp/dup/0008-c.txt" inner fixtures)
rc=$?
t_match "fixtures: a duplicate number is refused" "^not ok - $tmp/dup/0007-a.txt" "$out"
t_match "fixtures: ... naming the other file" "number 0007 is also used by $tmp/dup/0007-b.txt" "$out"
t_match "fixtures: a unique number runs" "^ok - $tmp/dup/0008-c.txt" "$out"
t_eq "fixtures: duplicates summary" "1 passed, 1 failed" "$(tail -n 1 <<<"$out")"
t_eq "fixtures: duplicates fail tests/run" 1 "$rc"
rm "$tmp/dup/0007-b.txt"
t_eq "fixtures: renumbered, the folder passes" "2 passed, 0 failed" \
  "$(FIXTURES="$tmp/dup/0007-a.txt $tmp/dup/0008-c.txt" inner fixtures | tail -n 1)"

# ---- runners that lose tests
mkdir -p "$tmp/unit"
cat >"$tmp/unit/test_crash" <<'SH'
#!/usr/bin/env bash
echo 1..3; echo "ok 1 - first"; kill -SEGV $$
SH
cat >"$tmp/unit/test_silent" <<'SH'
#!/usr/bin/env bash
echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"; exit 3
SH
cat >"$tmp/unit/test_short" <<'SH'
#!/usr/bin/env bash
echo 1..4; echo "ok 1 - a"; echo "not ok 2 - b"; exit 1
SH
cat >"$tmp/unit/test_good" <<'SH'
#!/usr/bin/env bash
echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"
SH
chmod +x "$tmp/unit"/test_*
out=$(UNIT_TESTS="$tmp/unit/test_crash $tmp/unit/test_silent $tmp/unit/test_short $tmp/unit/test_good" inner unit)
rc=$?
t_match "unit: a crash is a failure" \
  "^not ok - unit: test_crash: killed by signal 11; reported 1 of 3 planned results; 2 never ran" "$out"
t_match "unit: all ok but exit status 3 is a failure" "^not ok - unit: test_silent: exited with status 3$" "$out"
t_match "unit: fewer results than planned" "^not ok - unit: test_short: reported 2 of 4 planned results; 2 never ran" "$out"
t_nomatch "unit: a good runner gets no extra line" "^not ok - unit: test_good" "$out"
# passed 1+2+1+2; failed: 2 lost, 1 runner, 1 + 2 lost
t_match "unit: the planned total" "^# planned 11: 7 reported, 4 never ran, 1 runners failed without a failing test$" "$out"
t_eq "unit: summary counts the lost tests as failed" "6 passed, 6 failed" "$(tail -n 1 <<<"$out")"
t_eq "unit: tests/run fails" 1 "$rc"

# ---- an integration script that dies half-way (set -u), and one that
# never reaches t_done
cat >"$tmp/test_dies.sh" <<'SH'
set -uo pipefail
. "$top/tests/lib.sh"
t_ok "first"
echo "$undefined_variable"
t_ok "second"
t_done
SH
cat >"$tmp/test_exit0.sh" <<'SH'
. "$top/tests/lib.sh"
t_ok "first"
exit 0
SH
out=$(top=$top INTEGRATION_TESTS="$tmp/test_dies.sh $tmp/test_exit0.sh" inner integration)
rc=$?
t_match "integration: a script that dies is a failure" \
  "^not ok - integration: test_dies: exited with status 1; no plan" "$out"
t_match "integration: a script that stops early with status 0 is a failure" \
  "^not ok - integration: test_exit0: no plan" "$out"
t_eq "integration: summary" "2 passed, 2 failed" "$(tail -n 1 <<<"$out")"
t_eq "integration: tests/run fails" 1 "$rc"

# ---- all good: exit 0
out=$(UNIT_TESTS="$tmp/unit/test_good" inner unit)
t_eq "a clean run: tests/run succeeds" 0 $?
t_eq "a clean run: summary" "2 passed, 0 failed" "$(tail -n 1 <<<"$out")"
t_done
