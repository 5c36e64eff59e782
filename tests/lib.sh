# tests/lib.sh - helpers for shell test suites (sourced).
#   t_ok NAME / t_fail NAME WHY       record a result (TAP line)
#   t_eq NAME EXPECTED GOT            compare strings
#   t_match NAME REGEX TEXT           grep -E
#   t_done                            prints the plan (TAP "1..N", at the
#                                     end: the script got there); exit
#                                     status 1 if anything failed
# tests/run counts a script without a plan, or whose plan disagrees with
# its results, as failed: a script that dies half-way cannot look green.
T_FAILED=0
T_COUNT=0
T_SUITE=${T_SUITE:-$(basename "$0")}
t_ok()   { echo "ok - $T_SUITE: $1"; T_COUNT=$((T_COUNT + 1)); }
# Every line of the details is indented, so that text quoted from another
# test's output ("ok - ...") is never counted as a result.
t_fail() {
  echo "not ok - $T_SUITE: $1"
  (( $# > 1 )) && printf '%s\n' "${@:2}" | sed 's/^/    /'
  T_FAILED=$((T_FAILED + 1)); T_COUNT=$((T_COUNT + 1))
}
t_eq()   { if [[ "$2" == "$3" ]]; then t_ok "$1"; else t_fail "$1" "expected: $2" "got:      $3"; fi; }
t_match() { if grep -Eq -- "$2" <<<"$3"; then t_ok "$1"; else t_fail "$1" "expected to match: $2" "got: ${3:0:2000}"; fi; }
t_nomatch() { if grep -Eq -- "$2" <<<"$3"; then t_fail "$1" "must not match: $2" "got: ${3:0:2000}"; else t_ok "$1"; fi; }
t_done() { echo "1..$T_COUNT"; (( T_FAILED == 0 )); }
