set -u
top=/work/wt/h17
. $top/tests/lib.sh
. $top/tests/multinode/mn-up.sh
MN_ENV=()
mn_up
. $top/tests/integration/capture-helpers.sh
cap_login
CALL=$(new_call)
out=$(cap_api POST /aap/startCapture "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\",\"currency\":\"USD\"}")
EV=$(jget o.eventsUrl <<<"$out")
curl -s -m 2 -i -H 'Accept: text/event-stream' "$base$EV" | head -1
curl -s -m 2 -i -H 'Accept: text/event-stream' -H 'X-Forwarded-For: 10.1.2.3' "$n1$EV" | head -1
grep -c "exited on signal" $run/stack/node*/log/nginx-error.log
