#!/usr/bin/env bash
# Security: what the server trusts, through the real nginx, handlers and
# emulator (the attacks of issue 15 items 2, 4, 5 and 7, each replayed):
#  T. toll fraud: a SIP-side call to a premium-rate number, a REFER to a
#     SIP server of the attacker's and to a premium-rate tel: URI are
#     refused (<Reject>, nothing dialled, a log line); a malformed list
#     stops start-up.
#  J. JSON bodies escape the signature: a URL-only signature (a GET
#     webhook's) replayed as a POST with the JSON body {"To":"+19995550123"}
#     to callToSIP and uuiSyncUpdate is refused, nothing dialled or
#     written; Twilio's bodySHA256 scheme is taken.
#  R. re-split callbacks: a real progress callback of a running session,
#     re-cut as Partial= + Result=true... under the same signature, is
#     refused (400) and the session keeps capturing.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
for tool in jq curl; do
  command -v "$tool" >/dev/null || { t_fail "$tool is installed (scripts/install-deps test)"; t_done; exit; }
done
it_env trust
echo "ENABLE_REFER=true" >>"$run/env"
. "$top/tests/integration/capture-helpers.sh"
it_up
domain=$(envv SIP_DOMAIN_URI)
ctl() { # METHOD PATH [JSON]: the emulator's control API
  if [[ $# -ge 3 ]]; then
    curl -sS -X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$S$2"
  else
    curl -sS -X "$1" "$S$2"
  fi
}
legs_to() { jq -r --arg t "$2" '[.legs[]? | select(.to == $t or (.to | tostring | startswith($t)))] | length' <<<"$1"; }

# ================================================================ T. toll fraud
echo "# T. toll fraud (at ${SECONDS}s)"
# The SIP side calls out to a NANP 900 number.
call=$(ctl POST /sim/calls '{"from":"sip:+61400111222@10.0.0.5","to":"sip:+19005551234@gp.sip.twilio.com","sipHeaders":{"x-inin-cnv":"fraud-1"}}')
t_eq "callToPSTN: a call to +1 900 dials nothing" 0 "$(legs_to "$call" "+19005551234")"
t_eq "  ... and no leg at all besides the caller's" 1 "$(jq '.legs | length' <<<"$call")"
# A UK 09 number, the same.
call=$(ctl POST /sim/calls '{"from":"sip:+61400111222@10.0.0.5","to":"sip:+449098790123@gp.sip.twilio.com"}')
t_eq "callToPSTN: a call to +44 909 dials nothing" 0 "$(legs_to "$call" "+449098790123")"
# Control: an ordinary number is dialled.
call=$(ctl POST /sim/calls '{"from":"sip:+61400111222@10.0.0.5","to":"sip:+61290001234@gp.sip.twilio.com"}')
t_eq "callToPSTN: an ordinary number is dialled (control)" 1 "$(legs_to "$call" "+61290001234")"
sipcall=$(jq -r '.call_sid // empty' <<<"$call")

# REFERs on an inbound call (its <Dial> carries referUrl: ENABLE_REFER).
call=$(ctl POST /sim/calls '{"from":"+14155550100"}')
pstn=$(jq -r '.call_sid // empty' <<<"$call")
ref=$(ctl POST "/sim/calls/$pstn/refer" '{"target":"<sip:evil@attacker.example;transport=tls>"}')
t_eq "callTransfer: REFER to sip:evil@attacker.example: rejected" rejected "$(jq -r '.refer // empty' <<<"$ref")"
t_eq "  ... no leg to attacker.example" 0 "$(jq '[.legs[] | select(.to | tostring | test("attacker"))] | length' <<<"$ref")"
ref=$(ctl POST "/sim/calls/$pstn/refer" "{\"target\":\"<sip:x@$domain;maddr=attacker.example>\"}")
t_eq "callTransfer: REFER to our domain with maddr=attacker.example: rejected" rejected "$(jq -r '.refer // empty' <<<"$ref")"
ref=$(ctl POST "/sim/calls/$sipcall/refer" '{"target":"<tel:+19005551234>"}')
t_eq "callTransfer: REFER to tel:+19005551234: rejected" rejected "$(jq -r '.refer // empty' <<<"$ref")"
t_eq "  ... no leg to +19005551234" 0 "$(legs_to "$ref" "+19005551234")"
# Controls: the configured domain and an ordinary number are transferred.
ref=$(ctl POST "/sim/calls/$pstn/refer" "{\"target\":\"<sip:agent2@$domain;transport=udp>\"}")
t_eq "callTransfer: REFER to SIP_DOMAIN_URI is accepted (control)" accepted "$(jq -r '.refer // empty' <<<"$ref")"
ref=$(ctl POST "/sim/calls/$sipcall/refer" '{"target":"<tel:+61290009999>"}')
t_eq "callTransfer: REFER to an ordinary number is accepted (control)" accepted "$(jq -r '.refer // empty' <<<"$ref")"
logs=$(cat "$run"/stack/log/*.log)
t_match "a refused REFER is logged with its target and rule" \
  'fn=callTransfer .*dial refused: the SIP target is a SIP host outside SIP_DOMAIN_URI' "$logs"
t_match "a refused number is logged" 'fn=callToPSTN .*dial refused: the number is a premium-rate' "$logs"
# A malformed list is refused at start-up, naming the variable.
out=$(DIAL_ALLOWED_PREFIXES='+1,44' "$top/$B/cgi-bin/callToPSTN" --check-config 2>&1)
st=$?
t_eq "a malformed DIAL_ALLOWED_PREFIXES stops start-up (exit 78)" 78 "$st"
t_match "  ... naming the variable" 'DIAL_ALLOWED_PREFIXES must be a comma list of E.164 prefixes' "$out"

# ================================================================ J. JSON bodies
echo "# J. JSON bodies and the signature (at ${SECONDS}s)"
post=("$top/$B/bin/twilio-post" -t "$TOK")
rand_hex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
CA=CA$(rand_hex); CA2=CA$(rand_hex); UUI=json-$(rand_hex)
# jpost URL SIGNATURE JSON: status; body in $run/b.
jpost() {
  curl -s -o "$run/b" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "X-Twilio-Signature: $2" --data-binary "$3" "$1"
}
# callToSIP's voice URL configured as GET: Twilio signs the URL alone.
u="$base/pv/callToSIP?CallSid=$CA&From=%2B14155550100"
sig=$("${post[@]}" --print "$u")
t_eq "callToSIP: the URL-only signature is Twilio's for that GET (control)" 200 \
  "$(curl -s -o "$run/b" -w '%{http_code}' -H "X-Twilio-Signature: $sig" "$u")"
c=$(jpost "$u" "$sig" '{"To":"+19995550123"}')
t_eq "callToSIP: replayed as POST with JSON {\"To\":\"+19995550123\"}: 403 unsigned_body" \
  "403 unsigned_body" "$c $(jq -r .code "$run/b")"
t_nomatch "  ... nothing dialled: no TwiML naming +19995550123" '19995550123' "$(cat "$run/b")"
u2="$base/pv/callToSIP?CallSid=$CA&To=%2B61255550100&From=%2B14155550100"
sig2=$("${post[@]}" --print "$u2")
c=$(jpost "$u2" "$sig2" '{"To":"+19995550123"}')
t_eq "callToSIP: the same when the signed URL names To: 403 unsigned_body" \
  "403 unsigned_body" "$c $(jq -r .code "$run/b")"
# uuiSyncUpdate: the callback URL signed alone, a JSON body that maps the UUI.
u="$base/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=$UUI"
sig=$("${post[@]}" --print "$u")
c=$(jpost "$u" "$sig" "{\"To\":\"+19995550123\",\"CallSid\":\"$CA2\",\"ParentCallSid\":\"$CA\",\"CallStatus\":\"in-progress\"}")
t_eq "uuiSyncUpdate: URL-only signature replayed with a JSON body: 403 unsigned_body" \
  "403 unsigned_body" "$c $(jq -r .code "$run/b")"
t_eq "  ... nothing written to uuiMap" "" "$(item uuiMap "$UUI")"
# Twilio's documented scheme: bodySHA256 of the body in the signed URL.
json="{\"CallSid\":\"$CA2\",\"ParentCallSid\":\"$CA\",\"CallStatus\":\"in-progress\"}"
h=$(printf '%s' "$json" | sha256sum | cut -d' ' -f1)
u="$base/sync/uuiSyncUpdate?CallDirection=toSIP&UUI=$UUI&bodySHA256=$h"
sig=$("${post[@]}" --print "$u")
t_eq "uuiSyncUpdate: a JSON body with its bodySHA256 in the signed URL is taken" 200 "$(jpost "$u" "$sig" "$json")"
t_eq "  ... and written" "$CA" "$(item uuiMap "$UUI" | jq -r .data.pstnSid)"
t_eq "  ... the same URL and signature with another body: 403" 403 \
  "$(jpost "$u" "$sig" "{\"CallSid\":\"$CA2\",\"ParentCallSid\":\"CA$(rand_hex)\",\"CallStatus\":\"in-progress\"}")"

# ================================================================ R. re-split callbacks
echo "# R. re-split callbacks (at ${SECONDS}s)"
cap_login
CALL=$(new_call)
start R "{\"callSid\":\"$CALL\",\"chargeAmount\":\"5.00\"}" || t_fail "startCapture (R)" "$(cat "$run/R.start")"
wait_state R 's.status=="capturing" && s.capture=="payment-card-number"' "a session is capturing the card number"
conn=$(envv PAYMENT_CONNECTOR)
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
req="payment-card-number,security-code,expiration-date"
# The callback as Twilio sends it (the attacker captured it) ...
genuine=(AccountSid="$AC" CallSid="$CALL" Sid="$PK_R" DateUpdated="$now" PaymentConnector="$conn"
  PaymentMethod=credit-card Capture=payment-card-number PartialResult=true Required="$req"
  PaymentCardNumber=xxxx)
# ... and the same bytes cut differently: "PartialResult" "true" ...
# "Required" "<list>" becomes "Partial" "" and "Result" "truePayment...".
resplit=(AccountSid="$AC" CallSid="$CALL" Sid="$PK_R" DateUpdated="$now" Capture=payment-card-number
  Partial= "Result=truePaymentCardNumberxxxxPaymentConnector${conn}PaymentMethodcredit-cardRequired$req")
sig=$("${post[@]}" --print "$base/sync/paySyncUpdate" "${genuine[@]}")
t_eq "the re-split carries the very signature of the genuine callback" "$sig" \
  "$("${post[@]}" --print "$base/sync/paySyncUpdate" "${resplit[@]}")"
c=$("${post[@]}" -i "$base/sync/paySyncUpdate" "${genuine[@]}" | head -1)
t_match "the genuine callback is applied" ' 200' "$c"
"${post[@]}" -i --no-signature -H "X-Twilio-Signature: $sig" "$base/sync/paySyncUpdate" "${resplit[@]}" >"$run/raw"
t_match "the re-split callback, same signature: 400" '^HTTP/[0-9.]+ 400' "$(head -1 "$run/raw")"
t_eq "  ... invalid_callback naming Result" \
  "invalid_callback: Result is not a value Twilio sends in a Payments status callback; nothing was changed" \
  "$(tail -1 "$run/raw" | jq -r '.code + ": " + .error')"
st=$(cap_api GET "/aap/session?paymentSid=$PK_R" "" "$ST_R" | jget o.state.status)
t_eq "  ... the session is still capturing (it was failed by it before)" capturing "$st"
t_eq "  ... payMap holds no Result" "" "$(item payMap "$PK_R" | jq -r '.data.Result // empty')"
t_match "  ... and the refusal is logged" 'fn=paySyncUpdate .*status callback refused.* param=Result' "$(cat "$run"/stack/log/*.log)"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_R\",\"status\":\"cancel\"}" "$ST_R" >/dev/null
sse_stop R

stack_stop
t_done
