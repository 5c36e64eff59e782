#!/usr/bin/env bash
# Voice routing through the real nginx and the real binaries on free
# ports: callToSIP (and its withRefer alias), callToPSTN, callTransfer and
# uuiSyncUpdate's checks, signed as Twilio signs.  Every TwiML answer must
# be well-formed XML, including those built from hostile values.  Full
# call flows through the emulator are in test_voice_call_correlation.sh.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"

it_env voice
# The REFER target below is a partner PBX: allowed by name (lib/dial.c).
echo "DIAL_ALLOWED_SIP_DOMAINS=cc.example.com" >>"$run/env"
# Without the emulator nothing creates the Sync service; uuiSyncUpdate
# still needs a service SID to start (its Sync writes are not reached
# by the cases below).
[[ -x $top/$B/sim/twilio-sim ]] || echo "PAY_SYNC_SERVICE_SID=IS$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >>"$run/env"
it_up
post=("$top/$B/bin/twilio-post")
sid=CA0123456789abcdef0123456789abcdef
sid_hex=0443413031323334353637383961626364656630313233343536373839616263646566

well_formed() { # NAME XML
  if ! command -v xmllint >/dev/null; then t_fail "$1: well-formed TwiML" "xmllint missing: scripts/install-deps test"; return; fi
  if xmllint --noout - <<<"$2" 2>/dev/null; then t_ok "$1: well-formed TwiML"; else t_fail "$1: well-formed TwiML" "$2"; fi
}

# ---- callToSIP
body=$("${post[@]}" "$base/pv/callToSIP" CallSid=$sid To=+61255550100 From=+14155550100)
t_match "callToSIP dials sip: with a hex UUI" \
  "<Sip [^>]*>sip:\+61255550100@sandbox\.sip\.twilio\.com\?User-to-User=$sid_hex%3Bencoding%3Dhex</Sip>" "$body"
t_match "callToSIP callback carries the plain CallSid" \
  "statusCallback=\"http://127\.0\.0\.1:$port/sync/uuiSyncUpdate\?CallDirection=toSIP&amp;UUI=$sid\"" "$body"
t_nomatch "callToSIP without ENABLE_REFER has no referUrl" 'referUrl' "$body"
well_formed "callToSIP" "$body"
body=$("${post[@]}" "$base/pv/callToSIPwithRefer" CallSid=$sid To=+61255550100 From=+14155550100)
t_match "callToSIPwithRefer adds answerOnBridge and referUrl" \
  "<Dial answerOnBridge=\"true\" referUrl=\"http://127\.0\.0\.1:$port/pv/callTransfer\" referMethod=\"POST\">" "$body"
body=$("${post[@]}" -X GET "$base/pv/callToSIP" CallSid=$sid To=+61255550100)
t_match "callToSIP as a GET webhook" '<Sip ' "$body"
body=$("${post[@]}" "$base/pv/callToSIP" CallSid=$sid 'To=+6125"><Hangup/>' From=+14155550100)
t_match "callToSIP rejects a To that is not E.164" '<Reject reason="rejected"/>' "$body"
t_nomatch "callToSIP: no injected markup" '<Hangup/>' "$body"
code=$("${post[@]}" --no-signature -i "$base/pv/callToSIPwithRefer" CallSid=$sid To=+61255550100 | head -1)
t_match "callToSIPwithRefer unsigned 403" '^HTTP/1.1 403' "$code"

# ---- callToPSTN
body=$("${post[@]}" "$base/pv/callToPSTN" CallSid=$sid To=sip:61290001234@gp.sip.twilio.com:5060\;user=phone \
  From=sip:+61400111222@10.0.0.5 SipHeader_x-inin-cnv=conv-42)
t_match "callToPSTN dials the E.164 number" '<Dial callerId="\+61400111222"><Number [^>]*>\+61290001234</Number>' "$body"
t_match "callToPSTN callback carries x-inin-cnv" 'CallDirection=toPSTN&amp;UUI=conv-42"' "$body"
well_formed "callToPSTN" "$body"
body=$("${post[@]}" "$base/pv/callToPSTN" CallSid=$sid To=+61290001234@x From=sip:+61400111222@h)
t_match "callToPSTN: no sip: To is rejected" '<Reject reason="rejected"/>' "$body"
out=$("${post[@]}" -i "$base/pv/callToPSTN" CallSid=$sid To=sip:alice@gp.sip.twilio.com From=sip:+61400111222@h)
t_match "callToPSTN regex miss is 200 TwiML, never 500" '^HTTP/1.1 200' "$out"
t_match "callToPSTN regex miss rejects" '<Reject reason="rejected"/>' "$out"
body=$("${post[@]}" "$base/pv/callToPSTN" CallSid=$sid To=sip:+61290001234@h From=sip:+61400111222@h \
  'SipHeader_x-inin-cnv=a&b<c"d>')
t_match "callToPSTN: hostile UUI percent-encoded" 'UUI=a%26b%3Cc%22d%3E"' "$body"
well_formed "callToPSTN with a hostile UUI" "$body"
body=$("${post[@]}" "$base/pv/callToPSTNwithRefer" CallSid=$sid To=sip:+61290001234@h From=sip:+61400111222@h)
t_match "callToPSTNwithRefer adds referUrl" 'callerId="\+61400111222" answerOnBridge="true" referUrl=' "$body"
t_match "callToPSTN without x-inin-cnv uses the CallSid" "UUI=$sid\"" "$body"

# ---- callTransfer
body=$("${post[@]}" "$base/pv/callTransfer" CallSid=$sid From=+61400111222 SipHeader_x-inin-cnv=conv-7 \
  'ReferTransferTarget=<sip:agent@cc.example.com;transport=udp?X-Skill=pay>')
t_match "callTransfer dials a SIP target with the UUI" \
  '>sip:agent@cc\.example\.com;transport=udp\?X-Skill=pay&amp;User-to-User=04636F6E762D37%3Bencoding%3Dhex</Sip>' "$body"
well_formed "callTransfer SIP" "$body"
body=$("${post[@]}" "$base/pv/callTransfer" CallSid=$sid From=+61400111222 ReferTransferTarget=61290001234)
t_match "callTransfer dials a bare number as E.164" '<Dial callerId="\+61400111222" [^>]*><Number [^>]*>\+61290001234</Number>' "$body"
body=$("${post[@]}" "$base/pv/callTransfer" CallSid=$sid From=+61400111222 ReferTransferTarget=0290001234)
t_match "callTransfer rejects a number that is not E.164" '<Reject reason="busy"/>' "$body"
body=$("${post[@]}" "$base/pv/callTransfer" CallSid=$sid From=+61400111222)
t_match "callTransfer without a target rejects" '<Reject reason="busy"/>' "$body"

# ---- uuiSyncUpdate: checks made before Sync is touched
cb="$base/sync/uuiSyncUpdate"
out=$("${post[@]}" -i "$cb?CallDirection=toSIP" CallSid=$sid ParentCallSid=$sid CallStatus=in-progress)
t_match "uuiSyncUpdate without UUI 400" '^HTTP/1.1 400' "$out"
t_match "uuiSyncUpdate 400 names UUI" '"error":"UUI is required' "$out"
out=$("${post[@]}" -i "$cb?UUI=abc" CallSid=$sid CallStatus=in-progress)
t_match "uuiSyncUpdate without CallDirection 400" '^HTTP/1.1 400' "$out"
out=$("${post[@]}" -i "$cb?CallDirection=toSIP&UUI=abc" CallSid=$sid CallStatus=in-progress)
t_match "uuiSyncUpdate toSIP without ParentCallSid 400" '"error":"ParentCallSid is required"' "$out"
out=$("${post[@]}" -i "$cb?CallDirection=toPSTN&UUI=abc" CallSid=$sid CallStatus=ringing)
t_match "uuiSyncUpdate ignores ringing with 200" '^HTTP/1.1 200' "$out"
t_match "uuiSyncUpdate says ignored" '"status":"ignored"' "$out"
out=$("${post[@]}" --no-signature -i "$cb?CallDirection=toPSTN&UUI=abc" CallSid=$sid CallStatus=in-progress)
t_match "uuiSyncUpdate unsigned 403" '^HTTP/1.1 403' "$out"
out=$("${post[@]}" -s "$cb?CallDirection=toPSTN&UUI=other" -i "$cb?CallDirection=toPSTN&UUI=abc" \
  CallSid=$sid CallStatus=in-progress)
t_match "uuiSyncUpdate: the signature covers the query" '^HTTP/1.1 403' "$out"

stack_stop
logs=$(cat "$run"/stack/log/*.log)
t_match "rejections are logged with a reason" 'fn=callToPSTN .*msg="call rejected" reason=rejected why="To holds no dialable E.164 number"' "$logs"
t_match "request lines carry the UUI source" 'fn=callToPSTN .*msg=request .*uui=conv-42 uui_source=x-inin-cnv' "$logs"
t_done
