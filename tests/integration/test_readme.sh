#!/usr/bin/env bash
# The README's "Your first payment", run exactly as written: the bash block
# under that heading is taken from README.md and run with bash, in a folder
# laid out like a checkout after `make run` (.env, run/agent-password),
# against a test stack on free ports (NGINX_PORT / SIM_PORT, which the block
# honours).  Then what it printed and what the emulator and Sync hold are
# checked: the payment completed, and no card data was printed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/scripts/stack.sh"
B=${B:-build}

for tool in curl jq; do
  command -v $tool >/dev/null || { t_fail "$tool is installed (scripts/install-deps run)"; t_done; exit 1; }
done
tmp=$(mktemp -d /tmp/tp-readme-XXXXXX)
trap 'stack_stop; rm -rf "$tmp"' EXIT

# The block: from the heading to the end of its first ```bash fence.
awk '/^## Your first payment$/ {h=1; next} h && /^## / {exit}
     h && /^```bash$/ {b=1; next} b && /^```$/ {exit} b' "$top/README.md" >"$tmp/first-payment.sh"
steps=$(grep -c '^# [0-9]\.' "$tmp/first-payment.sh")
t_eq "README: the first payment's block has its six steps" 6 "$steps"

port=$(stack_free_port)
sim=$(stack_free_port)
while [[ $sim == "$port" ]]; do sim=$(stack_free_port); done
"$top/scripts/sandbox-env" "$port" "$sim" >"$tmp/.env"
stack_start "$top/$B" "$tmp/run" "$tmp/.env" "$port" "$sim"
if ! stack_wait_ready; then t_fail "stack starts"; t_done; exit 1; fi
t_ok "stack starts"

# Run as written; then (the test's own lines) step 6 again, verbatim,
# until the connector has answered, as the README tells a person to.
{
  cat "$tmp/first-payment.sh"
  echo 'for _ in $(seq 1 150); do'
  echo "  r=\$($(tail -n 1 "$tmp/first-payment.sh"))"
  echo '  echo "again: $r"; [[ $r == submitting* ]] || break; sleep 0.2'
  echo 'done'
} >"$tmp/run.sh"
out=$(cd "$tmp" && NGINX_PORT=$port SIM_PORT=$sim bash -e "$tmp/run.sh" 2>&1)
t_eq "README: the block runs without an error" 0 $?
printed=$(grep -v '^again: ' <<<"$out")
# Step 5 answers with the state it left or found: "completed" when the
# Result's callback won the race with its write.
t_match "README: step 5 prints submitting (or completed)" '^(submitting|completed)$' "$printed"
t_match "README: step 6 prints a state" '^(submitting|completed) ' "$printed"
t_match "README: the outcome, step 6 again" '^again: completed success ch_[0-9a-f]+$' "$(tail -n 1 <<<"$out")"
t_nomatch "README: no card number or security code printed" '4242424242424242|"123"' "$out"

# What the emulator holds: the call's payment ended with Result success.
calls=$(curl -s "http://127.0.0.1:$sim/sim/calls")
t_eq "emulator: the payment ended with success at Twilio" success \
  "$(jq -r '[.calls[].payments[]?] | last | .state' <<<"$calls" 2>/dev/null)"
t_done
