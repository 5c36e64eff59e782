#!/usr/bin/env bash
# Payments end to end through the emulator, nginx and the connector: a call
# arrives, a payment session is started and driven over the emulator's
# REST API, the customer keys a sandbox test card on the phone, the agent
# completes, the emulator (as Twilio does) sends the card to
# /connector/charge, and the final status callback must carry the
# connector's answer: the decline (Result=payment-connector-error with the
# gateway's message and code) or the approval (PaymentConfirmationCode =
# the sandbox's keyed charge id).  The agent console reads exactly that
# callback (via paySyncUpdate and payMap when they are built).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"
if [[ ! -x $top/$B/sim/twilio-sim ]]; then t_fail "the emulator is built ($B/sim/twilio-sim)"; exit 1; fi

it_env flow
it_up
sim=$S
acct=$AC; tok=$TOK; service=$IS
connector=$(envv PAYMENT_CONNECTOR); pass=$(envv CONNECTOR_PASSWORD)
expiry=12$(( $(date -u +%y) + 3 ))
callback=$base/sync/paySyncUpdate

# pay PAN [CREATE-PARAM...]: one payment session on a fresh call, driven to
# Status=complete; sets $pk and $call.
pay() {
  local pan=$1 api step=0; shift
  call=$(curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"from":"+14155550100","to":"+15005550006"}' "$sim/sim/calls" | jq -r .pstn_call_sid)
  api=$sim/2010-04-01/Accounts/$acct/Calls/$call/Payments
  pk=$(curl -s -u "$acct:$tok" -d "IdempotencyKey=$call-0" --data-urlencode "StatusCallback=$callback" \
    -d "PaymentConnector=$connector" -d SecurityCode=true -d PostalCode=false "$@" "$api.json" | jq -r .sid)
  for f in "payment-card-number:$pan" "security-code:333" "expiration-date:$expiry"; do
    step=$((step + 1))
    curl -s -o /dev/null -u "$acct:$tok" -d "IdempotencyKey=$pk-$step" --data-urlencode "StatusCallback=$callback" \
      -d "Capture=${f%%:*}" "$api/$pk.json"
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"digits\":\"${f#*:}#\"}" "$sim/sim/calls/$call/digits"
  done
  curl -s -o /dev/null -u "$acct:$tok" -d "IdempotencyKey=$pk-done" --data-urlencode "StatusCallback=$callback" \
    -d Status=complete "$api/$pk.json"
}

# The final status callback of $pk as the emulator recorded it (it holds
# the form Twilio posts), as "Name=value" lines; waits for it to be sent.
final_callback() {
  local i out
  for i in $(seq 1 50); do
    out=$(curl -s "$sim/sim/requests" | jq -r --arg pk "$pk" '
      [.requests[] | select(.kind == "payment-status" and .request.Sid? == $pk and .request.Result)] | last
      | select(.) | .request | to_entries[] | "\(.key)=\(.value)"')
    [[ -n $out ]] && { echo "$out"; return; }
    sleep 0.1
  done
}
# The connector request the emulator sent for $call, as JSON.
connector_call() {
  curl -s "$sim/sim/requests" | jq -c --arg call "$call" '
    [.requests[] | select(.kind == "connector" and .call_sid == $call)] | last // {}'
}

# ---- a charge with the insufficient-funds test card is declined
pay 4000000000009995 -d ChargeAmount=9.99
cb=$(final_callback)
t_match "decline: Result=payment-connector-error" '^Result=payment-connector-error$' "$cb"
t_match "decline: the gateway's message reaches the agent" '^PaymentError=The card has insufficient funds\.$' "$cb"
t_match "decline: the gateway's code" '^ConnectorError=insufficient_funds$' "$cb"
t_match "decline: Twilio's charge-rejected code" '^PayErrorCode=64008$' "$cb"
t_match "decline: no confirmation code" '^PaymentConfirmationCode=$' "$cb"
t_match "decline: only the masked card" '^PaymentCardNumber=xxxxxxxxxxxx9995$' "$cb"
conn=$(connector_call)
t_eq "decline: the connector answered in the contract's shape" \
  '200 {"charge_id":null,"error_code":"insufficient_funds","error_message":"The card has insufficient funds."}' \
  "$(jq -r '"\(.status) \(.response | tojson)"' <<<"$conn")"
t_eq "decline: the connector got a charge of 9.99 USD" "charge 9.99 USD" \
  "$(jq -r '"\(.request.method) \(.request.amount) \(.request.currency_code)"' <<<"$conn")"
if [[ -x $top/$B/cgi-bin/paySyncUpdate ]]; then
  item=$(curl -s -u "$acct:$tok" "$sim/v1/Services/$service/Maps/payMap/Items/$pk")
  t_eq "decline: payMap holds the result for the agent" "payment-connector-error The card has insufficient funds." \
    "$(jq -r '"\(.data.Result) \(.data.PaymentError)"' <<<"$item")"
fi

# ---- the same with an ordinary test card is approved
pay 4111111111111111 -d ChargeAmount=25.00
cb=$(final_callback)
tx=$(connector_call | jq -r .request.transaction_id)
want=ch_$(printf '%s' "twiliopay-sandbox-v1|charge|$tx" | openssl dgst -sha256 -hmac "$pass" | awk '{print substr($NF, 1, 32)}')
t_match "approval: Result=success" '^Result=success$' "$cb"
t_match "approval: the confirmation code is the sandbox's keyed charge id" "^PaymentConfirmationCode=$want\$" "$cb"

# ---- a tokenize with the generic decline card
pay 4000000000000002 -d TokenType=reusable
cb=$(final_callback)
t_match "tokenize decline: Result=payment-connector-error" '^Result=payment-connector-error$' "$cb"
t_match "tokenize decline: card_declined" '^ConnectorError=card_declined$' "$cb"
t_match "tokenize decline: Twilio's tokenize-rejected code" '^PayErrorCode=64010$' "$cb"
t_eq "tokenize decline: the connector got a tokenize" tokenize "$(connector_call | jq -r .request.method)"

stack_stop
logs=$(cat "$run"/stack/log/*.log)
t_match "the connector logged the decline by brand and last four" \
  'fn=charge .*brand=visa last4=9995 amount=9.99 currency=USD result=declined error_code=insufficient_funds' "$logs"
t_nomatch "no card number in any log" '4000000000009995|4111111111111111|4000000000000002' "$logs"
t_done
