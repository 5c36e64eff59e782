#!/usr/bin/env bash
# Foundation, end to end through the real nginx and the real binaries on
# free ports: health, a signed webhook, signature failures, the body cap,
# supervisor restarts under load, PCI redaction of the logs, clean stop.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_env int
it_up
post=("$top/$B/bin/twilio-post")

t_eq "healthz 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")"

body=$("${post[@]}" "$base/pv/callToSIP" CallSid=CA0123456789abcdef0123456789abcdef \
  To=+61255550100 From=+14155550100)
t_match "signed callToSIP returns TwiML" '^<\?xml version="1.0" encoding="UTF-8"\?>' "$body"
t_match "TwiML dials the SIP domain" '<Sip [^>]*>sip:\+61255550100@sandbox\.sip\.twilio\.com\?User-to-User=' "$body"
# Well-formed XML, if xmllint is around.
if command -v xmllint >/dev/null; then
  if xmllint --noout - <<<"$body" 2>/dev/null; then t_ok "TwiML is well-formed"; else t_fail "TwiML is well-formed" "$body"; fi
fi

code=$("${post[@]}" --no-signature -i "$base/pv/callToSIP" CallSid=CA0123456789abcdef0123456789abcdef \
  To=+61255550100 From=+14155550100 | head -1)
t_match "unsigned callToSIP 403" '^HTTP/1.1 403' "$code"
code=$("${post[@]}" --bad-signature -i "$base/pv/callToSIP" CallSid=CA0123456789abcdef0123456789abcdef \
  To=+61255550100 From=+14155550100 | head -1)
t_match "wrong signature 403" '^HTTP/1.1 403' "$code"
code=$("${post[@]}" -s "$base/pv/callToPSTN" -i "$base/pv/callToSIP" CallSid=CA0123456789abcdef0123456789abcdef \
  To=+61255550100 | head -1)
t_match "signature for another URL 403" '^HTTP/1.1 403' "$code"

big=$(head -c 70000 /dev/zero | tr '\0' 'a')
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
  --data-binary "x=$big" "$base/pv/callToSIP")
t_eq "oversize body 413" 413 "$code"

# A card number in a request must not reach any log line.
"${post[@]}" "$base/pv/callToSIP" CallSid=CA0123456789abcdef0123456789abcdef \
  To=4111111111111111 From=4111111111111111 >/dev/null
curl -s -o /dev/null "$base/pv/callToSIP?card=4111111111111111" || true

# Supervisor: SIGKILL a worker while a client loops; requests keep working.
sup=$(pgrep -f "cgi-bin/healthz --listen $run/stack/sock" | head -1)
worker=$(pgrep -P "$sup" | head -1)
fails=0
for i in $(seq 1 60); do
  [[ $i == 10 ]] && kill -KILL "$worker"
  c=$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")
  [[ $c == 200 ]] || fails=$((fails + 1))
done
sleep 1.5
new=$(pgrep -P "$sup" | tr '\n' ' ')
if [[ " $new " != *" $worker "* && $(wc -w <<<"$new") -eq 2 ]]; then
  t_ok "supervisor restarted the killed worker"
else
  t_fail "supervisor restarted the killed worker" "old $worker, now: $new"
fi
t_eq "requests after the kill succeed" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")"
# The request in flight on the killed worker may fail; no more than that.
if (( fails <= 1 )); then t_ok "at most one request lost to SIGKILL ($fails)"; else t_fail "at most one request lost" "$fails failed"; fi
t_match "restart is logged" 'killed by signal 9; restarting' "$(cat "$run/stack/log/healthz.log")"

# Configuration errors are reported by name and stop start-up.
msg=$(SERVER_URL=ftp://x TWILIOPAY_ENV=$run/env "$top/$B/cgi-bin/callToSIP" --check-config 2>&1)
t_match "bad SERVER_URL named" 'SERVER_URL must be an absolute http' "$msg"
msg=$(env -i PATH="$PATH" TWILIOPAY_ENV=/dev/null "$top/$B/cgi-bin/callToSIP" --check-config 2>&1)
t_match "missing SIP_DOMAIN_URI named" 'SIP_DOMAIN_URI is missing' "$msg"

stack_stop
logs=$(cat "$run"/stack/log/*.log)
t_nomatch "no card number in any log" '4111111111111111|4111 1111' "$logs"
t_match "one structured line per request" 'level=info fn=callToSIP .*msg=request method=POST path=/pv/callToSIP status=200' "$logs"
t_match "workers stop on SIGTERM" 'fn=healthz .*msg=stopped' "$logs"
t_done
