#!/usr/bin/env bash
# Voice flows end to end through the emulator (sim/), nginx and the real
# handlers: the emulator places the call, fetches our TwiML, dials, answers
# and sends the signed answered callback; uuiSyncUpdate writes Sync in the
# emulator, and we read uuiMap back over the Sync REST API.
#   1. inbound PSTN call  -> uuiMap[<PSTN CallSid>].pstnSid == <PSTN CallSid>
#   2. SIP-side call with x-inin-cnv: <id> -> uuiMap[<id>].pstnSid == the PSTN child leg
#   3. REFER to a number on that call -> uuiMap[<id>] re-mapped to the new PSTN leg
#   4. REFER to a SIP address on the inbound call -> the existing item is updated
#      (the Node original's create-only write failed with 54208 here)
#   5. SIP-side call with only User-to-User (hex) -> keyed by the decoded id
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_need_sim
for tool in jq curl; do
  command -v $tool >/dev/null || { t_fail "$tool is installed" "run scripts/install-deps test"; exit 1; }
done

it_env flows
echo "ENABLE_REFER=true" >>"$run/env"
it_up
acct=$AC; tok=$TOK; svc=$IS
map=$(envv SYNC_UUI_MAP_NAME); domain=$(envv SIP_DOMAIN_URI)
simurl=$S

ctl() { # METHOD PATH [JSON]
  if [[ $# -ge 3 ]]; then
    curl -sS -X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$simurl$2"
  else
    curl -sS -X "$1" "$simurl$2"
  fi
}
# uuiMap item over the emulator's Sync REST API (HTTP Basic, as Twilio).
item() { curl -sS -u "$acct:$tok" "$simurl/v1/Services/$svc/Maps/$map/Items/$(jq -rn --arg k "$1" '$k|@uri')"; }
# Waits until uuiMap[$1].data.pstnSid is $2 (callbacks are asynchronous in
# the emulator); prints the item.
wait_item() {
  local i it=
  for i in $(seq 1 100); do
    it=$(item "$1")
    [[ $(jq -r '.data.pstnSid // empty' <<<"$it" 2>/dev/null) == "$2" ]] && break
    sleep 0.1
  done
  printf '%s' "$it"
}

# ---- 1. inbound PSTN call -> SIP
call=$(ctl POST /sim/calls '{"from":"+14155550100"}')
pstn=$(jq -r '.call_sid // empty' <<<"$call")
if [[ $pstn =~ ^CA[0-9a-f]{32}$ ]]; then t_ok "inbound call placed"; else t_fail "inbound call placed" "$call"; fi
t_eq "the SIP leg is a child of the PSTN call" "$pstn" \
  "$(jq -r '[.legs[] | select(.side=="sip")][0].parent_call_sid // empty' <<<"$call")"
sipleg=$(jq -r '[.legs[] | select(.side=="sip")][0].sid // empty' <<<"$call")
t_match "the SIP leg was dialled at sip:<To>@<SIP_DOMAIN_URI>" "^sip:\+15005550006@$domain" \
  "$(jq -r '[.legs[] | select(.side=="sip")][0].to // empty' <<<"$call")"
# What Genesys reads: protocol discriminator 04, then the CallSid in hex.
uui_hex() { printf '04%s;encoding=hex' "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"; }
t_eq "the SIP leg received User-to-User = 04 + hex(CallSid) with encoding=hex" "$(uui_hex "$pstn")" \
  "$(jq -r '[.legs[] | select(.side=="sip")][0].sip_headers["User-to-User"] // empty' <<<"$call")"
it=$(wait_item "$pstn" "$pstn")
t_eq "uuiMap[<PSTN CallSid>].pstnSid == <PSTN CallSid>" "$pstn" "$(jq -r '.data.pstnSid // empty' <<<"$it")"
t_eq "uuiMap item keeps the uui" "$pstn" "$(jq -r '.data.uui // empty' <<<"$it")"
ttl=$(( $(date -d "$(jq -r '.date_expires // "1970-01-01T00:00:00Z"' <<<"$it")" +%s) - $(date -d "$(jq -r '.date_created // "1970-01-01T00:00:00Z"' <<<"$it")" +%s) ))
t_eq "uuiMap item expires 12 h after it was written" 43200 "$ttl"
rev1=$(jq -r '.revision // empty' <<<"$it")

# ---- 2. SIP-side call with x-inin-cnv
cnv="cnv-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
call=$(ctl POST /sim/calls "{\"from\":\"sip:+61400111222@10.0.0.5\",\"to\":\"sip:+61290001234@gp.sip.twilio.com\",\"sipHeaders\":{\"x-inin-cnv\":\"$cnv\"}}")
sipcall=$(jq -r '.call_sid // empty' <<<"$call")
child=$(jq -r '[.legs[] | select(.side=="pstn" and .parent_call_sid != null)][0].sid // empty' <<<"$call")
if [[ $child =~ ^CA[0-9a-f]{32}$ ]]; then t_ok "SIP-side call dialled a PSTN leg"; else t_fail "SIP-side call dialled a PSTN leg" "$call"; fi
t_eq "the PSTN leg is the E.164 number of To" "+61290001234" \
  "$(jq -r '[.legs[] | select(.side=="pstn" and .parent_call_sid != null)][0].to // empty' <<<"$call")"
t_eq "the PSTN leg has the caller's number as caller ID" "+61400111222" \
  "$(jq -r '[.legs[] | select(.side=="pstn" and .parent_call_sid != null)][0].from // empty' <<<"$call")"
it=$(wait_item "$cnv" "$child")
t_eq "uuiMap[<x-inin-cnv>].pstnSid == the PSTN child leg" "$child" "$(jq -r '.data.pstnSid // empty' <<<"$it")"

# ---- 3. REFER to a number re-maps the UUI to the new PSTN leg
ref=$(ctl POST "/sim/calls/$sipcall/refer" '{"target":"<tel:+61290009999>"}')
t_match "REFER to a number accepted" '"refer": *"accepted"' "$(jq . <<<"$ref")"
child2=$(jq -r '[.legs[] | select(.side=="pstn" and .parent_call_sid != null and .to=="+61290009999")][0].sid // empty' <<<"$ref")
if [[ $child2 =~ ^CA[0-9a-f]{32}$ && $child2 != "$child" ]]; then t_ok "REFER dialled a new PSTN leg"; else t_fail "REFER dialled a new PSTN leg" "$ref"; fi
it=$(wait_item "$cnv" "$child2")
t_eq "REFER re-maps uuiMap[<x-inin-cnv>] to the new PSTN leg" "$child2" "$(jq -r '.data.pstnSid // empty' <<<"$it")"

# ---- 4. REFER to a SIP address on the inbound call: the item is updated
ref=$(ctl POST "/sim/calls/$pstn/refer" "{\"target\":\"<sip:agent2@$domain;transport=udp>\"}")
t_match "REFER to a SIP address accepted" '"refer": *"accepted"' "$(jq . <<<"$ref")"
t_eq "the new SIP leg carries the same UUI" "$(uui_hex "$pstn")" \
  "$(jq -r "[.legs[] | select(.side==\"sip\" and .sid != \"$sipleg\")][0].sip_headers[\"User-to-User\"] // empty" <<<"$ref")"
for i in $(seq 1 100); do
  it=$(item "$pstn"); [[ $(jq -r '.revision // empty' <<<"$it") != "$rev1" ]] && break; sleep 0.1
done
if [[ -n $rev1 && $(jq -r '.revision // empty' <<<"$it") != "$rev1" ]]; then
  t_ok "a second answer for the same UUI updates the item (upsert)"
else
  t_fail "a second answer for the same UUI updates the item (upsert)" "$it"
fi
t_eq "uuiMap[<PSTN CallSid>] still points at the PSTN call" "$pstn" "$(jq -r '.data.pstnSid // empty' <<<"$it")"

# ---- 5. SIP-side call with only a User-to-User header (hex, as Genesys
# sends it): the decoded id is the key
uid="uu-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
call=$(ctl POST /sim/calls "{\"from\":\"sip:+61400111222@10.0.0.5\",\"to\":\"sip:61290001235@gp.sip.twilio.com\",\"sipHeaders\":{\"User-to-User\":\"$(uui_hex "$uid")\"}}")
child=$(jq -r '[.legs[] | select(.side=="pstn" and .parent_call_sid != null)][0].sid // empty' <<<"$call")
t_eq "a To without '+' is dialled as E.164" "+61290001235" \
  "$(jq -r '[.legs[] | select(.side=="pstn" and .parent_call_sid != null)][0].to // empty' <<<"$call")"
it=$(wait_item "$uid" "$child")
t_eq "uuiMap[<decoded User-to-User>].pstnSid == the PSTN child leg" "$child" "$(jq -r '.data.pstnSid // empty' <<<"$it")"

stack_stop
logs=$(cat "$run"/stack/log/*.log)
t_nomatch "no uuiSyncUpdate failed" 'fn=uuiSyncUpdate .*msg=request .*status=(4|5)[0-9][0-9]' "$logs"
t_done
