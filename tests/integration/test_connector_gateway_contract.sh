#!/usr/bin/env bash
# The Pay Connector end to end through the real nginx and binaries on free
# ports: both URLs, both operations, ids that are the keyed hash of the
# transaction (checked with openssl, independently of the C code) and the
# same from every worker, the sandbox declines, credentials, and PCI: no
# card or bank number in any log of the stack or of the connector fixtures.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_env conn
it_up
user=$(envv CONNECTOR_USERNAME); pass=$(envv CONNECTOR_PASSWORD)
year=$(( $(date -u +%Y) + 3 ))

# post PATH JSON [curl options...]: prints the body, then the status on
# its own line.
post() {
  local path=$1 body=$2; shift 2
  curl -s -u "$user:$pass" -H 'Content-Type: application/json' --data-binary "$body" \
    -w '\n%{http_code}' "$@" "$base$path"
}
card() { # card TX METHOD PAN [EXTRA]
  printf '{"transaction_id":"%s","method":"%s","cardnumber":"%s","cvv":"333","expiry_month":"12","expiry_year":"%s","postal_code":"94105","amount":"10.00","currency_code":"USD"%s}' \
    "$1" "$2" "$3" "$year" "${4:-}"
}
# The id the sandbox must give: prefix + HMAC-SHA256(CONNECTOR_PASSWORD,
# "twiliopay-sandbox-v1|method|tx"), 32 hex digits.
want_id() {
  local h
  h=$(printf '%s' "twiliopay-sandbox-v1|$2|$3" | openssl dgst -sha256 -hmac "$pass" | awk '{print $NF}')
  echo "$1_${h:0:32}"
}

tx=$(cat /proc/sys/kernel/random/uuid)
ch=$(want_id ch charge "$tx")
out=$(post /connector/charge "$(card "$tx" charge 4111111111111111)")
t_eq "charge approved with the keyed id" "{\"charge_id\":\"$ch\",\"error_code\":null,\"error_message\":null}
200" "$out"

# Idempotent whichever worker answers: 8 retries, one id.
ids=$(for _ in 1 2 3 4 5 6 7 8; do post /connector/charge "$(card "$tx" charge 4111111111111111)" | head -1; done | sort -u)
t_eq "a retried transaction gets the same id from every worker" "{\"charge_id\":\"$ch\",\"error_code\":null,\"error_message\":null}" "$ids"
# ... and from a separate process that shares nothing with the workers
# but the configuration (another node): nothing is stored.
body=$(card "$tx" charge 4111111111111111)
out=$(env -i PATH="$PATH" TWILIOPAY_ENV="$run/env" REQUEST_METHOD=POST DOCUMENT_URI=/connector/charge \
  CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
  HTTP_AUTHORIZATION="Basic $(printf '%s:%s' "$user" "$pass" | base64 -w0)" \
  "$top/$B/cgi-bin/charge" --cgi <<<"$body" 2>/dev/null | tail -1)
t_eq "another process gives the same id" "{\"charge_id\":\"$ch\",\"error_code\":null,\"error_message\":null}" "$out"

tx2=$(cat /proc/sys/kernel/random/uuid)
out=$(post /connector/charge "$(card "$tx2" charge 4111111111111111)" | head -1)
t_match "another transaction, another id" "\"charge_id\":\"$(want_id ch charge "$tx2")\"" "$out"
t_nomatch "ids are not reused" "$ch" "$out"

# One Endpoint URL (Twilio's current connector) or the older two paths:
# "method" decides, the path is the default.
out=$(post /connector/tokenize "$(card "$tx" tokenize 4111111111111111 ',"token_type":"reusable"')")
t_eq "tokenize at /connector/tokenize" "{\"token_id\":\"$(want_id tok tokenize "$tx")\",\"error_code\":null,\"error_message\":null}
200" "$out"
out=$(post /connector/charge "$(card "$tx" tokenize 4111111111111111)" | head -1)
t_match "tokenize at /connector/charge" "\"token_id\":\"$(want_id tok tokenize "$tx")\"" "$out"
out=$(post /connector/tokenize "$(card "$tx" charge 4111111111111111)" | head -1)
t_match "charge at /connector/tokenize" "\"charge_id\":\"$ch\"" "$out"
nomethod=$(card "$tx" x 4111111111111111 | sed 's/"method":"x",//')
t_match "no method at /connector/charge is a charge" "\"charge_id\":\"$ch\"" "$(post /connector/charge "$nomethod")"
t_match "no method at /connector/tokenize is a tokenize" "\"token_id\":\"$(want_id tok tokenize "$tx")\"" "$(post /connector/tokenize "$nomethod")"

# The documented sandbox declines, for charge and tokenize.
for row in 4000000000000002:card_declined 4000000000009995:insufficient_funds 4000000000000069:expired_card \
           4000000000000127:incorrect_cvc 4000000000000119:processing_error; do
  pan=${row%%:*} code=${row#*:}
  out=$(post /connector/charge "$(card "$(cat /proc/sys/kernel/random/uuid)" charge "$pan")")
  t_match "charge with $code test card declined" "^\{\"charge_id\":null,\"error_code\":\"$code\",\"error_message\":\"[^\"]+\"\}" "$out"
  out=$(post /connector/tokenize "$(card "$(cat /proc/sys/kernel/random/uuid)" tokenize "$pan")")
  t_match "tokenize with $code test card declined" "^\{\"token_id\":null,\"error_code\":\"$code\"" "$out"
done
ach='{"transaction_id":"ach-1","method":"charge","bank_routing_number":"110000000","bank_account_number":"000222222227","amount":"25.00"}'
t_match "ACH test account declined" '"error_code":"insufficient_funds"' "$(post /connector/charge "$ach")"
ach=${ach/000222222227/000123456789}
t_match "ACH debit approved" "\"charge_id\":\"$(want_id ch charge ach-1)\"" "$(post /connector/charge "$ach")"

# Validation reaches Twilio as an answer it can relay (200), never echoed.
out=$(post /connector/charge "$(card "$tx" charge 4111111111111112)")
t_eq "Luhn failure answered in the contract's shape" '{"charge_id":null,"error_code":"invalid_number","error_message":"the card number fails the Luhn check digit"}
200' "$out"

# Credentials.
t_eq "no credentials 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "$(card "$tx" charge 4111111111111111)" "$base/connector/charge")"
t_eq "wrong password 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u "$user:${pass}x" -H 'Content-Type: application/json' \
  --data-binary "$(card "$tx" charge 4111111111111111)" "$base/connector/tokenize")"
t_eq "GET 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -u "$user:$pass" "$base/connector/charge")"
t_eq "setup without the admin token 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/sync/setupSyncServices")"
t_eq "setup with the connector's credentials 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u "$user:$pass" -X POST "$base/sync/setupSyncServices")"

# The gateway is chosen at start-up: against real Twilio the sandbox must
# be asked for by name.
msg=$(env -i PATH="$PATH" TWILIOPAY_ENV="$run/env" TWILIO_API_URL=https://api.twilio.com \
  "$top/$B/cgi-bin/charge" --cgi </dev/null 2>&1)
t_match "sandbox gateway refused against real Twilio" 'PAYMENT_GATEWAY is not set and TWILIO_API_URL is Twilio' "$msg"
# ... and asked for by name it is taken, from the file or the environment.
cp "$run/env" "$run/env-gw"
echo "PAYMENT_GATEWAY=sandbox" >>"$run/env-gw"
msg=$(env -i PATH="$PATH" TWILIOPAY_ENV="$run/env-gw" TWILIO_API_URL=https://api.twilio.com \
  "$top/$B/cgi-bin/charge" --check-config 2>&1)
t_match "PAYMENT_GATEWAY=sandbox in the file: accepted against real Twilio" '^charge: configuration OK' "$msg"
msg=$(env -i PATH="$PATH" TWILIOPAY_ENV="$run/env" TWILIO_API_URL=https://api.twilio.com PAYMENT_GATEWAY=sandbox \
  "$top/$B/cgi-bin/tokenize" --check-config 2>&1)
t_match "PAYMENT_GATEWAY=sandbox in the environment: accepted against real Twilio" '^tokenize: configuration OK' "$msg"
msg=$(env -i PATH="$PATH" TWILIOPAY_ENV="$run/env" PAYMENT_GATEWAY=acme \
  "$top/$B/cgi-bin/charge" --check-config 2>&1)
t_match "a gateway this build does not have: refused" 'PAYMENT_GATEWAY names no gateway this build has' "$msg"

stack_stop
# PCI: every test card and bank number, in every log of the stack and of
# the connector fixtures (run again here with their logs kept).
numbers='4111[ -]?1111[ -]?1111[ -]?1111|4111111111111112|4000000000000002|4000000000009995|4000000000000069|4000000000000127|4000000000000119|378282246310005|1111111111111117|41111111111111113|5555555555554444|000123456789|000111111116|000222222227|000333333335|00012345678X|110000000|110000001'
logs=$(cat "$run"/stack/log/*.log)
t_match "the connector logged its requests" 'fn=charge .*msg=request .*brand=visa last4=1111 .*result=approved' "$logs"
t_match "declines are logged by code" 'fn=tokenize .*result=declined error_code=insufficient_funds' "$logs"
t_nomatch "no card or bank number in any stack log" "$numbers" "$logs"
fixlogs=$(FIXTURE_SHOW_LOGS=1 "$top/$B/tests/fixture-runner" "$top/$B" "$top"/tests/fixtures/{charge,tokenize}/*.txt 2>&1 >/dev/null)
t_match "the connector fixtures logged their requests" 'fn=charge .*msg=request .*result=invalid error_code=invalid_number' "$fixlogs"
t_nomatch "no card or bank number in any connector fixture log" "$numbers" "$fixlogs"
t_done
