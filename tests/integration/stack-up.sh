# Sourced by an integration test after tests/lib.sh (with $top set): one
# sandbox stack (the emulator, every handler, nginx) for the test file.
#
#   it_need_sim  fails the suite when the emulator is not built;
#   it_env TAG   $run (a fresh folder), $port and $sim (two distinct free
#                ports) and the sandbox .env at $run/env, which the test
#                may still edit;
#   it_up        starts the stack (a failed start fails the suite) and
#                sets base, S (the emulator's URL), TWILIOPAY_ENV and AC,
#                TOK, IS (account, auth token, Sync service).  On exit it
#                runs the test's it_on_exit when there is one, stops any
#                EventSource readers and the stack, and removes $run
#                unless KEEP_RUN is set.
# shellcheck shell=bash
. "$top/scripts/stack.sh"
B=${B:-build}

# it_need_sim: ends the suite with a failure when the emulator is not built.
it_need_sim() {
  [[ -x $top/$B/sim/twilio-sim ]] && return 0
  t_fail "the emulator is built" "$top/$B/sim/twilio-sim is missing"
  t_done
  exit
}

# envv NAME: the value the test's .env gives NAME.
envv() { sed -n "s/^$1=//p" "$run/env" | tail -1; }

it_env() {
  run=$(mktemp -d "/tmp/tp-$1-XXXXXX")
  port=$(stack_free_port)
  sim=$(stack_free_port)
  while [[ $sim == "$port" ]]; do sim=$(stack_free_port); done
  "$top/scripts/sandbox-env" "$port" "$sim" >"$run/env"
}

it_exit() {
  declare -F it_on_exit >/dev/null && it_on_exit
  declare -F sse_stop_all >/dev/null && sse_stop_all
  stack_stop
  [[ -n ${KEEP_RUN:-} ]] || rm -rf "$run"
}

it_up() {
  trap it_exit EXIT
  stack_start "$top/$B" "$run/stack" "$run/env" "$port" "$sim"
  if ! stack_wait_ready; then t_fail "stack starts"; exit 1; fi
  t_ok "stack starts"
  base=http://127.0.0.1:$port
  S=http://127.0.0.1:$sim
  export TWILIOPAY_ENV=$run/env
  AC=$(envv ACCOUNT_SID)
  TOK=$(envv AUTH_TOKEN)
  IS=$(envv PAY_SYNC_SERVICE_SID)
}
