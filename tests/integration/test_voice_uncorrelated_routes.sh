#!/usr/bin/env bash
# The Node original's routes without call correlation, through nginx, the
# real handlers and the emulator (sim/), which places the calls with these
# voice URLs ("voiceUrl") and the parameters Twilio adds ("params"):
#   1. /pv/tollfreeCallToSIP and /pv/simpleCallToPSTN are routed by nginx,
#      signed requests answered with well-formed TwiML, unsigned ones 403;
#   2. a mobile caller on a toll-free number: the SIP leg carries its
#      TollFreeMobileOriginationLocation as User-to-User (04 + hex;
#      encoding=hex), no answered callback, nothing in uuiMap;
#   3. a landline caller: the SIP leg has no User-to-User;
#   4. the contact centre calls out through simpleCallToPSTN: the PSTN leg
#      is the E.164 number with From's caller ID, no callback, no uuiMap
#      entry for its x-inin-cnv; a premium-rate number is not dialled;
#   5. the emulator's control API refuses a voiceUrl outside the server and
#      params that would replace one Twilio sends.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
for tool in jq xmllint; do
  command -v "$tool" >/dev/null || { t_fail "$tool is installed (scripts/install-deps test)"; t_done; exit; }
done
it_env routes
it_up
SERVER=$(envv SERVER_URL)
domain=$(envv SIP_DOMAIN_URI)
map=$(envv SYNC_UUI_MAP_NAME)
post=("$top/$B/bin/twilio-post" -t "$TOK")
rand_hex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ctl() { curl -sS -X POST -H 'Content-Type: application/json' --data-binary "$2" "$S$1"; }
ctl_status() { curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$2" "$S$1"; }
item_status() {
  curl -sS -o /dev/null -w '%{http_code}' -u "$AC:$TOK" \
    "$S/v1/Services/$IS/Maps/$map/Items/$(jq -rn --arg k "$1" '$k|@uri')"
}
uui_hex() { printf '04%s;encoding=hex' "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"; }
# Webhooks the emulator sent for a call (its request log), by kind.
sent() { curl -sS "$S/sim/requests" | jq -c --arg c "$1" --arg k "$2" '[.requests[] | select(.dir=="out" and .call_sid==$c and .kind==$k)]'; }

# ---- 1. routes
CA=CA$(rand_hex)
body=$("${post[@]}" "$base/pv/tollfreeCallToSIP" CallSid="$CA" To=+18005550100 From=+14155550100 \
  TollFreeMobileOriginationLocation=MOLI-1)
t_match "tollfreeCallToSIP through nginx: TwiML dialling the SIP domain" "<Sip>sip:\+18005550100@$domain\?User-to-User=" "$body"
if xmllint --noout - <<<"$body" 2>/dev/null; then t_ok "tollfreeCallToSIP: well-formed XML"; else t_fail "tollfreeCallToSIP: well-formed XML" "$body"; fi
c=$("${post[@]}" --no-signature -i "$base/pv/tollfreeCallToSIP" CallSid="$CA" To=+18005550100 | head -1)
t_match "tollfreeCallToSIP unsigned: 403" ' 403' "$c"
body=$("${post[@]}" "$base/pv/simpleCallToPSTN" CallSid="$CA" To=sip:+61290001234@gp.sip.twilio.com \
  From=sip:+61400111222@10.0.0.5 SipHeader_x-inin-cnv=conv-x)
t_eq "simpleCallToPSTN through nginx: <Number> with callerId, no callback" \
  '<Response><Dial callerId="+61400111222"><Number>+61290001234</Number></Dial></Response>' "$(tail -1 <<<"$body")"
if xmllint --noout - <<<"$body" 2>/dev/null; then t_ok "simpleCallToPSTN: well-formed XML"; else t_fail "simpleCallToPSTN: well-formed XML" "$body"; fi
c=$("${post[@]}" --bad-signature -i "$base/pv/simpleCallToPSTN" CallSid="$CA" To=sip:+61290001234@gp.sip.twilio.com | head -1)
t_match "simpleCallToPSTN forged signature: 403" ' 403' "$c"
c=$("${post[@]}" -i -s "$SERVER/pv/callToPSTN" "$base/pv/simpleCallToPSTN" CallSid="$CA" To=sip:+61290001234@gp.sip.twilio.com | head -1)
t_match "simpleCallToPSTN: a signature made for /pv/callToPSTN is refused" ' 403' "$c"

# ---- 2. a mobile caller on the toll-free number
moli="MOLI $(rand_hex | head -c 8)"
call=$(ctl /sim/calls "$(jq -cn --arg u "$SERVER/pv/tollfreeCallToSIP" --arg m "$moli" \
  '{from:"+14155550123", voiceUrl:$u, params:{TollFreeMobileOriginationLocation:$m}}')")
pstn=$(jq -r '.call_sid // empty' <<<"$call")
if [[ $pstn =~ ^CA[0-9a-f]{32}$ ]]; then t_ok "mobile caller: call placed"; else t_fail "mobile caller: call placed" "$call"; fi
sipleg='[.legs[] | select(.side=="sip")][0]'
t_match "mobile caller: dialled at sip:<To>@<SIP_DOMAIN_URI>" "^sip:\+15005550006@$domain" "$(jq -r "$sipleg.to // empty" <<<"$call")"
t_eq "mobile caller: the SIP leg is answered" in-progress "$(jq -r "$sipleg.status // empty" <<<"$call")"
t_eq "mobile caller: User-to-User = 04 + hex(TollFreeMobileOriginationLocation);encoding=hex" \
  "$(uui_hex "$moli")" "$(jq -r "$sipleg.sip_headers[\"User-to-User\"] // empty" <<<"$call")"
t_eq "mobile caller: the emulator sent the location with the voice webhook" "$moli" \
  "$(sent "$pstn" voice | jq -r '.[0].request.TollFreeMobileOriginationLocation // empty')"
t_eq "mobile caller: no answered callback asked for" null "$(jq -c "$sipleg.status_callback" <<<"$call")"
t_eq "mobile caller: no callback sent" 0 "$(sent "$pstn" dial-status | jq length)"
t_eq "mobile caller: nothing in uuiMap under the CallSid" 404 "$(item_status "$pstn")"

# ---- 3. a landline caller
call=$(ctl /sim/calls "$(jq -cn --arg u "$SERVER/pv/tollfreeCallToSIP" '{from:"+14155550124", voiceUrl:$u}')")
pstn=$(jq -r '.call_sid // empty' <<<"$call")
t_eq "landline caller: the SIP leg is answered" in-progress "$(jq -r "$sipleg.status // empty" <<<"$call")"
t_eq "landline caller: no User-to-User on the SIP leg" "" "$(jq -r "$sipleg.sip_headers[\"User-to-User\"] // empty" <<<"$call")"
t_eq "landline caller: no callback sent" 0 "$(sent "$pstn" dial-status | jq length)"

# ---- 4. the contact centre calls out without correlation
cnv="cnv-$(rand_hex | head -c 12)"
call=$(ctl /sim/calls "$(jq -cn --arg u "$SERVER/pv/simpleCallToPSTN" --arg c "$cnv" \
  '{from:"sip:+61400111222@10.0.0.5", to:"sip:+61290001234@gp.sip.twilio.com", voiceUrl:$u, sipHeaders:{"x-inin-cnv":$c}}')")
sipcall=$(jq -r '.call_sid // empty' <<<"$call")
child='[.legs[] | select(.side=="pstn" and .parent_call_sid != null)][0]'
t_eq "simple SIP call: the PSTN leg is the E.164 number of To" +61290001234 "$(jq -r "$child.to // empty" <<<"$call")"
t_eq "simple SIP call: caller ID from From" +61400111222 "$(jq -r "$child.from // empty" <<<"$call")"
t_eq "simple SIP call: the PSTN leg is answered" in-progress "$(jq -r "$child.status // empty" <<<"$call")"
t_eq "simple SIP call: no answered callback asked for" null "$(jq -c "$child.status_callback" <<<"$call")"
t_eq "simple SIP call: no callback sent" 0 "$(sent "$sipcall" dial-status | jq length)"
t_eq "simple SIP call: nothing in uuiMap under its x-inin-cnv" 404 "$(item_status "$cnv")"

# Toll fraud: a premium-rate number asked for by the SIP side is not dialled.
call=$(ctl /sim/calls "$(jq -cn --arg u "$SERVER/pv/simpleCallToPSTN" \
  '{from:"sip:+61400111222@10.0.0.5", to:"sip:+449098790123@gp.sip.twilio.com", voiceUrl:$u}')")
t_eq "simple SIP call to a premium-rate number: no PSTN leg dialled" 0 \
  "$(jq '[.legs[] | select(.parent_call_sid != null)] | length' <<<"$call")"

# ---- 5. the control API's own checks
t_eq "control API: a voiceUrl outside the server is refused" 400 \
  "$(ctl_status /sim/calls '{"from":"+14155550100","voiceUrl":"https://evil.example/x"}')"
t_eq "control API: a voiceUrl that only starts like the server is refused" 400 \
  "$(ctl_status /sim/calls "$(jq -cn --arg u "${SERVER}evil.example/x" '{from:"+14155550100", voiceUrl:$u}')")"
t_eq "control API: params replacing From are refused" 400 \
  "$(ctl_status /sim/calls '{"from":"+14155550100","params":{"From":"+19005550100"}}')"
t_eq "control API: params with a SipHeader_ name are refused" 400 \
  "$(ctl_status /sim/calls '{"from":"sip:+61400111222@h","to":"sip:+61290001234@gp.sip.twilio.com","params":{"SipHeader_x-a":"b"}}')"
t_eq "control API: params that are not strings are refused" 400 \
  "$(ctl_status /sim/calls '{"from":"+14155550100","params":{"TollFreeMobileOriginationLocation":1}}')"
t_done
