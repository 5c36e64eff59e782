#!/usr/bin/env bash
# twiliopay-migrate on the example .env of the Node original's README
# (../shared/original-README.md, Server setup step 5):
#   1. as printed there (placeholders, a prose line, an inline comment):
#      written, values kept, the prose line kept as a comment, every
#      placeholder named as still to do; files 0600; nothing overwritten
#      without --force; --group gives 0640;
#   2. as a user fills it in (the README's ngrok SERVER_URL, the commented
#      lines it says to uncomment, the Sync SID setupSyncServices gave, and
#      API_KEY/API_SECRET, which the original's getSyncToken read - DESIGN's
#      list of the original's names), against a test double of their
#      account (the emulator, holding their Sync service): the migrated file
#      passes twiliopay-check, the first agent signs in with the password
#      printed once, and the sandbox starts with it and routes a call.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/integration/stack-up.sh"
it_need_sim
command -v jq >/dev/null || { t_fail "jq is installed (scripts/install-deps test)"; t_done; exit; }
migrate=$top/$B/bin/twiliopay-migrate
envread=$top/$B/tests/env-read
tmp=$(mktemp -d /tmp/tp-migrate-XXXXXX)
SIMPID=
cleanup() {
  [[ -n $SIMPID ]] && { kill -TERM "$SIMPID" 2>/dev/null; wait "$SIMPID" 2>/dev/null; }
  stack_stop
  [[ -n ${KEEP_RUN:-} ]] || rm -rf "$tmp"
}
trap cleanup EXIT
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
me=$(id -un)

# ---- 1. the example exactly as the README prints it
mkdir -p "$tmp/literal"
cat >"$tmp/literal/.env.node" <<'EOF'
# Required Twilio credentials
ACCOUNT_SID=your_twilio_account_sid
AUTH_TOKEN=your_twilio_auth_token

# Server configuration
SERVER_URL=htpps://your_server_url. If this is ngrok, then use the prefix style, e.g., https://server-SOMENAME.ngrok.io

# Payment configuration
PAYMENT_CONNECTOR=your_payment_connector
INCLUDE_CVC=true
INCLUDE_POSTAL_CODE=false

# Sync service configuration
PAY_SYNC_SERVICE_NAME name of the Sync service
PAY_SYNC_SERVICE_SID=your_sync_service_sid  # Set after running setupSyncServices

# SIP configuration (required for call routing)
# SIP_DOMAIN_URI=your_sip_domain  # Format: customer.sip.example.com (no sip: prefix or port)
# Used by /pv/callToSIP to route inbound PSTN calls to customer's SIP Domain

# One-time setup variables (only needed for initial sync service setup)
# PAY_SYNC_SERVICE_NAME=your_sync_service_name  # Used by setupSyncServices.js

# Sync map names (default values, only change if needed)
# SYNC_PAY_MAP_NAME=payMap  # Stores payment session data
# SYNC_UUI_MAP_NAME=uuiMap  # Stores UUI to CallSid mappings
EOF
out=$(cd "$tmp/literal" && "$migrate" .env.node 2>&1)
t_eq "the README's example: written (exit 0)" 0 $?
t_match "it says what it kept and added" 'wrote .*/literal/\.env \(mode 0600\) from \.env\.node: 7 settings kept as they were, 0 rewritten, 6 added' "$out"
got=$("$envread" "$tmp/literal/.env")
t_eq "every value kept" 'your_twilio_account_sid|your_twilio_auth_token|your_payment_connector|true|false' \
  "$(jq -r '[.ACCOUNT_SID, .AUTH_TOKEN, .PAYMENT_CONNECTOR, .INCLUDE_CVC, .INCLUDE_POSTAL_CODE] | join("|")' <<<"$got")"
t_eq "  ... the SERVER_URL prose too" 'htpps://your_server_url. If this is ngrok, then use the prefix style, e.g., https://server-SOMENAME.ngrok.io' \
  "$(jq -r .SERVER_URL <<<"$got")"
t_eq "the inline comment is not part of PAY_SYNC_SERVICE_SID" your_sync_service_sid "$(jq -r .PAY_SYNC_SERVICE_SID <<<"$got")"
t_match "  ... and that is said" "PAY_SYNC_SERVICE_SID \(line 15\): the '#' text after the value is a comment now" "$out"
t_match "the prose line is kept as a comment" '^# \(not read by the Node original\) PAY_SYNC_SERVICE_NAME name of the Sync service$' \
  "$(cat "$tmp/literal/.env")"
t_eq "the commented lines stay comments" null "$(jq -c .SIP_DOMAIN_URI <<<"$got")"
for v in ACCOUNT_SID SERVER_URL PAY_SYNC_SERVICE_SID PAY_SYNC_SERVICE_NAME SIP_DOMAIN_URI API_KEY PAYMENT_GATEWAY; do
  t_match "still to do names $v" "^  - $v" "$(sed -n '/^Still to do/,/^$/p' <<<"$out")"
done
t_eq "the .env is 0600" 600 "$(stat -c %a "$tmp/literal/.env")"
t_eq "the agents file is 0600" 600 "$(stat -c %a "$tmp/literal/agents")"
pw=$(sed -n 's/^  agent \/ //p' <<<"$out")
t_match "the first agent's password is printed once" '^[A-Za-z0-9_-]{24}$' "$pw"
t_eq "  ... and is the agent's password in the agents file" ok \
  "$("$top/$B/bin/twiliopay-agent" -f "$tmp/literal/agents" check agent <<<"$pw" 2>&1)"
t_nomatch "  ... which holds no password in clear" "$pw" "$(cat "$tmp/literal/agents" "$tmp/literal/.env")"
sum=$(sha256sum "$tmp/literal/.env" "$tmp/literal/agents")
out=$(cd "$tmp/literal" && "$migrate" .env.node 2>&1)
t_eq "again without --force: refused (exit 1)" 1 $?
t_match "  ... saying why" 'literal/\.env exists; --force replaces it' "$out"
t_eq "  ... and nothing changed" "$sum" "$(sha256sum "$tmp/literal/.env" "$tmp/literal/agents")"
rm "$tmp/literal/.env"
out=$(cd "$tmp/literal" && "$migrate" .env.node 2>&1)
t_eq "the agents file alone exists: refused too (exit 1)" 1 $?
t_eq "  ... no .env written" "" "$(ls "$tmp/literal/.env" 2>/dev/null)"
out=$(cd "$tmp/literal" && "$migrate" --force --group "$(id -gn)" .env.node 2>&1)
t_eq "--force --group: written" 0 $?
t_eq "  ... the .env 0640 with that group" "640 $(id -gn)" "$(stat -c '%a %G' "$tmp/literal/.env")"
t_eq "  ... the agents file keeps its mode" 600 "$(stat -c %a "$tmp/literal/agents")"
out=$("$migrate" --output "$tmp/literal/x.env" "$tmp/literal/missing.env" 2>&1)
t_eq "a missing Node .env: exit 1" 1 $?
t_match "  ... nothing written" 'nothing written' "$out"
"$migrate" >/dev/null 2>&1
t_eq "no argument: usage (exit 2)" 2 $?

# ---- 2. filled in, against a test double of the user's account
ac=AC$(hex 16) tok=$(hex 16) sk=SK$(hex 16) sec=$(hex 16)
simport=$(stack_free_port)
mkdir -p "$tmp/account"
printf 'ACCOUNT_SID=%s\nAUTH_TOKEN=%s\nAPI_KEY=%s\nAPI_SECRET=%s\n' "$ac" "$tok" "$sk" "$sec" >"$tmp/account/env"
"$top/$B/sim/twilio-sim" --listen "127.0.0.1:$simport" --env "$tmp/account/env" \
  --server-url https://server.ngrok.dev 2>>"$tmp/account/sim.log" &
SIMPID=$!
for i in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$simport/sim/health" 2>/dev/null && break; sleep 0.1; done
# The Sync service the user created with the original's setupSyncServices.
svc=$(curl -fsS -u "$ac:$tok" --data-urlencode FriendlyName=GenesysPayProd "http://127.0.0.1:$simport/v1/Services" | jq -r .sid)
for m in payMap uuiMap; do
  curl -fsS -o /dev/null -u "$ac:$tok" --data-urlencode "UniqueName=$m" "http://127.0.0.1:$simport/v1/Services/$svc/Maps"
done
t_match "the test double holds the user's Sync service" '^IS[0-9a-f]{32}$' "$svc"
mkdir -p "$tmp/filled"
cat >"$tmp/filled/.env.node" <<EOF
# Required Twilio credentials
ACCOUNT_SID=$ac
AUTH_TOKEN=$tok

# Server configuration
SERVER_URL=https://server.ngrok.dev

# Payment configuration
PAYMENT_CONNECTOR=GenericPay_in_Functions
INCLUDE_CVC=true
INCLUDE_POSTAL_CODE=false

# Sync service configuration
PAY_SYNC_SERVICE_NAME name of the Sync service
PAY_SYNC_SERVICE_SID=$svc  # Set after running setupSyncServices

# SIP configuration (required for call routing)
SIP_DOMAIN_URI=customer.sip.example.com
# Used by /pv/callToSIP to route inbound PSTN calls to customer's SIP Domain

# One-time setup variables (only needed for initial sync service setup)
PAY_SYNC_SERVICE_NAME=GenesysPayProd

# Sync map names (default values, only change if needed)
# SYNC_PAY_MAP_NAME=payMap  # Stores payment session data
# SYNC_UUI_MAP_NAME=uuiMap  # Stores UUI to CallSid mappings

API_KEY=$sk
API_SECRET=$sec
EOF
out=$(cd "$tmp/filled" && "$migrate" .env.node 2>&1)
t_eq "filled in: written (exit 0)" 0 $?
got=$("$envread" "$tmp/filled/.env")
t_eq "every value kept" "$ac|$tok|https://server.ngrok.dev|GenericPay_in_Functions|$svc|customer.sip.example.com|GenesysPayProd|$sk|$sec" \
  "$(jq -r '[.ACCOUNT_SID, .AUTH_TOKEN, .SERVER_URL, .PAYMENT_CONNECTOR, .PAY_SYNC_SERVICE_SID, .SIP_DOMAIN_URI, .PAY_SYNC_SERVICE_NAME, .API_KEY, .API_SECRET] | join("|")' <<<"$got")"
t_match "secrets generated" '^[0-9a-f]{48}\|[0-9a-f]{64}\|[0-9a-f]{48}\|connector-[0-9a-f]{8}$' \
  "$(jq -r '[.ADMIN_TOKEN, .AGENT_SECRET, .CONNECTOR_PASSWORD, .CONNECTOR_USERNAME] | join("|")' <<<"$got")"
t_eq "AGENTS_FILE beside the .env" "$tmp/filled/agents" "$(jq -r .AGENTS_FILE <<<"$got")"
t_match "Console: the phone number's webhook" 'A call comes in +Webhook +https://server\.ngrok\.dev/pv/callToSIP +HTTP POST' "$out"
t_match "Console: the SIP domain's request URL" 'Request URL +https://server\.ngrok\.dev/pv/callToPSTN +HTTP POST' "$out"
t_match "Console: the Pay Connector's endpoint" 'Endpoint URL +https://server\.ngrok\.dev/connector/charge' "$out"
t_match "Console: its new username" "Username +$(jq -r .CONNECTOR_USERNAME <<<"$got")\$" "$out"
t_match "Console: its new password" "Password +$(jq -r .CONNECTOR_PASSWORD <<<"$got")\$" "$out"
t_match "Genesys: the User-to-User change is pointed at" 'migrating\.md \(docs/ in the source' "$out"
t_nomatch "no other secret printed" "$tok|$sec|$(jq -r .ADMIN_TOKEN <<<"$got")|$(jq -r .AGENT_SECRET <<<"$got")" "$out"
todo=$(sed -n '/^Still to do/,/^$/p' <<<"$out")
t_match "still to do: PAYMENT_GATEWAY (real Twilio)" '^  - PAYMENT_GATEWAY' "$todo"
t_match "still to do: Sync access control for the original's service" "^  - Sync access control: the Node original created $svc without it" "$todo"
t_eq "  ... no variable refused" 0 "$(grep -c '^  - .* is missing\|^  - [A-Z_]* must' <<<"$todo")"
pw=$(sed -n 's/^  agent \/ //p' <<<"$out")

# The test double stands in for Twilio: its URLs, as TWILIO_API_URL /
# TWILIO_SYNC_URL do for the sandbox.
stack_env_set "$tmp/filled/.env" TWILIO_API_URL "http://127.0.0.1:$simport"
stack_env_set "$tmp/filled/.env" TWILIO_SYNC_URL "http://127.0.0.1:$simport"
# As the list says: access control on for the original's service.
setup=$("$top/scripts/setup-sync" --env "$tmp/filled/.env" --build "$top/$B" 2>&1)
t_match "setup-sync turns access control on for the original's service" 'access control \(AclEnabled\): turned on now' "$setup"
t_match "  ... and finds that service, not a new one" "^PAY_SYNC_SERVICE_SID=$svc " "$setup"
check=$("$top/$B/bin/twiliopay-check" --env "$tmp/filled/.env" --service-user "$me" 2>&1)
t_eq "twiliopay-check passes the migrated .env (exit 0)" 0 $?
t_match "  ... all passed" '^[0-9]+ checks, all passed$' "$check"
t_match "  ... the user's Sync service found" "^ok    Sync service $svc exists" "$check"
t_match "  ... every handler accepts it" '^ok    handler tollfreeCallToSIP accepts the configuration' "$check"
[[ $check == *"all passed"* ]] || echo "$check" | sed 's/^/    /'
kill -TERM "$SIMPID"; wait "$SIMPID" 2>/dev/null; SIMPID=

# ---- the sandbox with it: its own emulator, reached locally.
port=$(stack_free_port) sim=$(stack_free_port)
while [[ $sim == "$port" ]]; do sim=$(stack_free_port); done
cp "$tmp/filled/.env" "$tmp/sandbox.env"
for kv in "SERVER_URL=http://127.0.0.1:$port" "TWILIO_API_URL=http://127.0.0.1:$sim" "TWILIO_SYNC_URL=http://127.0.0.1:$sim"; do
  stack_env_set "$tmp/sandbox.env" "${kv%%=*}" "${kv#*=}"
done
stack_start "$top/$B" "$tmp/stack" "$tmp/sandbox.env" "$port" "$sim"
if stack_wait_ready; then t_ok "the sandbox starts with the migrated .env"; else t_fail "the sandbox starts with the migrated .env"; fi
t_eq "no handler refused the configuration" "" "$(grep -l 'configuration error' "$tmp/stack/log/"*.log 2>/dev/null | tr '\n' ' ')"
t_eq "every handler is listening" "$(ls "$top/$B/cgi-bin" | sort | tr '\n' ' ')" \
  "$(for b in "$top/$B"/cgi-bin/*; do n=$(basename "$b"); [[ -S $tmp/stack/sock/$n.sock ]] && echo "$n"; done | sort | tr '\n' ' ')"
login=$(curl -s -H 'Content-Type: application/json' -d "{\"username\":\"agent\",\"password\":\"$pw\"}" "http://127.0.0.1:$port/aap/login")
t_match "the migrated first agent signs in with the printed password" '"token":"[^"]+' "$login"
call=$(curl -s -H 'Content-Type: application/json' -d '{"from":"+14155550100"}' "http://127.0.0.1:$sim/sim/calls")
t_eq "a call is routed to the migrated SIP_DOMAIN_URI" "customer.sip.example.com" \
  "$(jq -r '[.legs[] | select(.side=="sip")][0].to // "" | sub("^sip:[^@]*@"; "") | sub("\\?.*"; "")' <<<"$call")"
t_done
