#!/usr/bin/env bash
# Security: what the server trusts, through the real nginx, handlers and
# emulator (each attack below replayed):
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
#  S. Sync: setup leaves the service with access control on (and turns it
#     on for one found without); a Sync token is always for the signed-in
#     agent and may read payMap but write nothing (the emulator enforces
#     the ACL and Map Permissions for Access Tokens); a _session rewritten
#     in Sync to name another agent is not trusted: attach hands the
#     payment to nobody.
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
echo "ENABLE_SYNC_TOKENS=true" >>"$run/env"
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
st=$(cap_api GET "/aap/session?paymentSid=$PK_R" "" "$ST_R" | jget .state.status)
t_eq "  ... the session is still capturing (it was failed by it before)" capturing "$st"
t_eq "  ... payMap holds no Result" "" "$(item payMap "$PK_R" | jq -r '.data.Result // empty')"
t_match "  ... and the refusal is logged" 'fn=paySyncUpdate .*status callback refused.* param=Result' "$(cat "$run"/stack/log/*.log)"
cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_R\",\"status\":\"cancel\"}" "$ST_R" >/dev/null
sse_stop R

# ================================================================ S. Sync
echo "# S. Sync tokens, access control, the session's MAC (at ${SECONDS}s)"
svc() { curl -s -u "$AC:$TOK" "$S/v1/Services/$IS"; }
t_eq "the stack's setup created the Sync service with access control on" true "$(svc | jq .acl_enabled)"
# A service found without it (made by the Node original, or by hand).
curl -s -o /dev/null -u "$AC:$TOK" --data-urlencode AclEnabled=false "$S/v1/Services/$IS"
t_eq "  (turned off behind its back)" false "$(svc | jq .acl_enabled)"
admin=(-H "Authorization: Bearer $(envv ADMIN_TOKEN)" -H 'Accept: application/json')
out=$(curl -s "${admin[@]}" -X POST "$base/sync/setupSyncServices")
t_eq "setupSyncServices run again turns it on and says so" "exists turned-on" \
  "$(jq -r '.service.status + " " + .service.acl' <<<"$out")"
t_eq "  ... Sync has acl_enabled true" true "$(svc | jq .acl_enabled)"
out=$(curl -s "${admin[@]}" -X POST "$base/sync/setupSyncServices")
t_eq "  ... and the next run finds it on" "exists on" "$(jq -r '.service.status + " " + .service.acl' <<<"$out")"
# Two agents; agent2 will try to take agent's payment.
"$top/$B/bin/twiliopay-agent" -f "$(envv AGENTS_FILE)" set agent2 <<<"second-agent-password" 2>/dev/null
A2=$(curl -s -H 'Content-Type: application/json' -d '{"username":"agent2","password":"second-agent-password"}' \
  "$base/aap/login" | jget .token)
cap_login
A1=$AGENT_TOKEN
CALL=$(new_call)
start S "{\"callSid\":\"$CALL\",\"chargeAmount\":\"6.00\"}" || t_fail "startCapture (S)" "$(cat "$run/S.start")"
wait_state S 's.status=="capturing"' "agent's payment is running"
# The token: always the signed-in agent's.
cap_api GET "/sync/getSyncToken?identity=agent2" >"$run/b"
t_eq "getSyncToken?identity=agent2 (by agent): 400 identity_not_allowed" "400 identity_not_allowed" \
  "$(cat "$run/status") $(jq -r .code "$run/b")"
out=$(cap_api GET /sync/getSyncToken)
t_eq "getSyncToken: 200 for the agent itself" "200 agent" "$(cat "$run/status") $(jget .identity <<<"$out")"
jwt=$(jget .token <<<"$out")
t_eq "  ... the JWT's identity is the agent" agent \
  "$(jq -rR 'split(".")[1] | gsub("-"; "+") | gsub("_"; "/") | . + ["", "===", "==", "="][length % 4]
             | @base64d | fromjson | .grants.identity' <<<"$jwt" 2>&1)"
perm=$(curl -s -u "$AC:$TOK" "$S/v1/Services/$IS/Maps/payMap/Permissions/agent")
t_eq "  ... its identity may read payMap, not write or manage it" "true false false" \
  "$(jq -r '"\(.read) \(.write) \(.manage)"' <<<"$perm")"
# What the token can do at Sync (X-Twilio-Token: the emulator's stand-in
# for the SDK's connection).
tk=(-H "X-Twilio-Token: $jwt")
items=$S/v1/Services/$IS/Maps/payMap/Items
t_eq "with the token: reading agent's payMap item works" 200 \
  "$(curl -s -o "$run/item" -w '%{http_code}' "${tk[@]}" "$items/$PK_S")"
forged=$(jq -c '.data | ._session.agent = "agent2"' "$run/item")
c=$(curl -s -o "$run/b" -w '%{http_code}' "${tk[@]}" --data-urlencode "Data=$forged" "$items/$PK_S")
t_eq "with the token: rewriting _session.agent is refused (403 54007)" "403 54007" "$c $(jq -r .code "$run/b")"
c=$(curl -s -o "$run/b" -w '%{http_code}' "${tk[@]}" --data-urlencode Key=PKforged --data-urlencode 'Data={}' "$items")
t_eq "with the token: creating a payMap item is refused" "403 54007" "$c $(jq -r .code "$run/b")"
t_eq "with the token: deleting one is refused" 403 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${tk[@]}" "$items/$PK_S")"
t_eq "with the token: uuiMap is not readable" 403 \
  "$(curl -s -o /dev/null -w '%{http_code}' "${tk[@]}" "$S/v1/Services/$IS/Maps/uuiMap/Items")"
t_eq "with the token: no grant of its own (Permissions are the backend's)" 403 \
  "$(curl -s -o /dev/null -w '%{http_code}' "${tk[@]}" -d Read=true -d Write=true -d Manage=true "$S/v1/Services/$IS/Maps/payMap/Permissions/agent")"
t_eq "with the token: the ACL cannot be turned off" 403 \
  "$(curl -s -o /dev/null -w '%{http_code}' "${tk[@]}" -d AclEnabled=false "$S/v1/Services/$IS")"
t_eq "  ... the session is untouched" agent "$(item payMap "$PK_S" | jq -r .data._session.agent)"
# Control: it is the ACL that stops the token (with it off, as the Node
# original's service was, the same token writes payMap).
curl -s -o /dev/null -u "$AC:$TOK" --data-urlencode AclEnabled=false "$S/v1/Services/$IS"
c=$(curl -s -o /dev/null -w '%{http_code}' "${tk[@]}" --data-urlencode Key=PKaclcontrol --data-urlencode 'Data={}' "$items")
t_eq "control: with the ACL off the same token may create a payMap item (201)" 201 "$c"
curl -s -o /dev/null -u "$AC:$TOK" -X DELETE "$items/PKaclcontrol"
curl -s -o /dev/null "${admin[@]}" -X POST "$base/sync/setupSyncServices"
t_eq "  ... setup turns the ACL back on" true "$(svc | jq .acl_enabled)"
# Anyone who can write Sync directly (REST credentials) rewrites the
# session to name agent2: the server no longer trusts it.
forged=$(item payMap "$PK_S" | jq -c '.data | ._session.agent = "agent2"')
curl -s -o /dev/null -u "$AC:$TOK" --data-urlencode "Data=$forged" "$items/$PK_S"
t_eq "(Sync now says the payment is agent2's)" agent2 "$(item payMap "$PK_S" | jq -r .data._session.agent)"
AGENT_TOKEN=$A2
out=$(cap_api POST /aap/attach "{\"callSid\":\"$CALL\"}")
t_eq "agent2: POST /aap/attach does not hand over the payment (409 session_untrusted)" \
  "409 session_untrusted" "$(cat "$run/status") $(jget .code <<<"$out")"
t_eq "  ... no session token in the answer" "" "$(jget .sessionToken <<<"$out")"
AGENT_TOKEN=$A1
out=$(cap_api GET "/aap/session?paymentSid=$PK_S" "" "$ST_S")
t_eq "agent: the tampered session is refused to its own agent too (409)" "409 session_untrusted" \
  "$(cat "$run/status") $(jget .code <<<"$out")"
out=$(cap_api POST /aap/changeStatus "{\"paymentSid\":\"$PK_S\",\"status\":\"complete\"}" "$ST_S")
t_eq "agent: changeStatus on it: 409 session_untrusted" "409 session_untrusted" \
  "$(cat "$run/status") $(jget .code <<<"$out")"
t_match "the refusal is logged" 'level=error fn=attach .*payMap session is not ours' "$(cat "$run"/stack/log/*.log)"
sse_stop S

stack_stop
t_done
