#!/usr/bin/env bash
# twiliopay-check, the production configuration checker: against a fake
# Twilio (a few fixed answers served by nginx: credentials, an active and a
# suspended account, one Sync service with its two maps) for every rule,
# then against the emulator (sim/) with the sandbox configuration when the
# emulator is built.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/scripts/stack.sh"
B=${B:-build}
check=$top/$B/bin/twiliopay-check

tmp=$(mktemp -d /tmp/tp-check-XXXXXX)
PIDS=()
cleanup() {
  local p
  stack_stop 2>/dev/null
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
me=$(id -un)

# ------------------------------------------------------------ fake Twilio
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ac=AC$(hex 16) tok=$(hex 16) sk=SK$(hex 16) sec=$(hex 16) is=IS$(hex 16) is_open=IS$(hex 16)
ac2=AC$(hex 16) tok2=$(hex 16) ac3=AC$(hex 16) tok3=$(hex 16)
b64() { printf '%s' "$1" | base64 -w0; }
fport=$(stack_free_port)
mkdir -p "$tmp/fake"
err401='{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}'
err404='{"code":20404,"message":"The requested resource was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}'
cat >"$tmp/fake/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/fake/nginx.pid;
error_log $tmp/fake/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    default_type application/json;
    map_hash_bucket_size 256;
    client_body_temp_path $tmp/fake/body;
    fastcgi_temp_path $tmp/fake/fastcgi;
    proxy_temp_path $tmp/fake/proxy;
    uwsgi_temp_path $tmp/fake/uwsgi;
    scgi_temp_path $tmp/fake/scgi;
    map \$http_authorization \$fake_who {
        "Basic $(b64 "$ac:$tok")"   account;
        "Basic $(b64 "$sk:$sec")"   key;
        "Basic $(b64 "$ac2:$tok2")" account2;
        "Basic $(b64 "$ac3:$tok3")" account3;
        default "";
    }
    server {
        listen 127.0.0.1:$fport;
        if (\$fake_who = "") { return 401 '$err401'; }
        # Twilio's Account resource carries the auth token: the checker
        # must never print a body.
        location = /2010-04-01/Accounts/$ac.json {
            return 200 '{"sid":"$ac","friendly_name":"Fake account","status":"active","type":"Full","auth_token":"$tok"}';
        }
        location = /2010-04-01/Accounts/$ac2.json {
            return 200 '{"sid":"$ac2","friendly_name":"Suspended account","status":"suspended","auth_token":"$tok2"}';
        }
        location = /v1/Services/$is { return 200 '{"sid":"$is","account_sid":"$ac","acl_enabled":true}'; }
        # A service made without access control (the Node original's).
        location = /v1/Services/$is_open { return 200 '{"sid":"$is_open","account_sid":"$ac","acl_enabled":false}'; }
        location = /v1/Services/$is/Maps/payMap { return 200 '{"sid":"MP$(hex 16)","unique_name":"payMap"}'; }
        location = /v1/Services/$is/Maps/uuiMap { return 200 '{"sid":"MP$(hex 16)","unique_name":"uuiMap"}'; }
        # Not Twilio: a plain 404 page (a wrong TWILIO_API_URL).
        location /elsewhere/ { default_type text/html; return 404 '<h1>Not Found</h1>'; }
        location / { return 404 '$err404'; }
    }
}
CONF
nginx -p "$tmp/fake" -c "$tmp/fake/nginx.conf" -e "$tmp/fake/error.log" 2>>"$tmp/fake/error.log" &
PIDS+=($!)
for i in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$fport") 2>/dev/null && break; sleep 0.1; done
if ! curl -fsS -o /dev/null -u "$ac:$tok" "http://127.0.0.1:$fport/2010-04-01/Accounts/$ac.json"; then
  t_fail "fake Twilio starts" "$(cat "$tmp/fake/error.log")"
  t_done
  exit
fi

good=$tmp/good.env
"$top/scripts/sandbox-env" 1 "$fport" >"$good"
for kv in "ACCOUNT_SID=$ac" "AUTH_TOKEN=$tok" "API_KEY=$sk" "API_SECRET=$sec" \
  "PAY_SYNC_SERVICE_SID=$is" "SERVER_URL=https://pay.example.test" "AGENTS_FILE=$tmp/agents"; do
  stack_env_set "$good" "${kv%%=*}" "${kv#*=}"
done
chmod 0600 "$good"
secrets=$(sed -n 's/^\(AUTH_TOKEN\|API_SECRET\|CONNECTOR_PASSWORD\|ADMIN_TOKEN\|AGENT_SECRET\)=//p' "$good" | paste -sd'|')

# variant NAME KEY=VALUE...: a copy of the good file with changes
# (KEY= with nothing removes the line).
variant() {
  local f=$tmp/$1.env kv
  shift
  cp "$good" "$f"
  for kv in "$@"; do
    if [[ -z ${kv#*=} ]]; then sed -i "/^${kv%%=*}=/d" "$f"; else stack_env_set "$f" "${kv%%=*}" "${kv#*=}"; fi
  done
  chmod 0600 "$f"
  echo "$f"
}
run_check() { "$check" --service-user "$me" "$@" 2>&1; }

out=$(run_check --env "$good")
t_eq "good configuration: exit 0" 0 $?
t_match "good configuration: all passed" '^[0-9]+ checks, all passed$' "$out"
t_nomatch "good configuration: no FAIL line" '^FAIL' "$out"
t_match "credentials checked against Twilio" '^ok    Twilio accepts ACCOUNT_SID/AUTH_TOKEN \(account "Fake account", active\)' "$out"
t_match "API key checked" '^ok    Twilio accepts API_KEY/API_SECRET$' "$out"
t_match "Sync service checked" "^ok    Sync service $is exists" "$out"
t_match "its access control checked" "^ok    Sync service $is has access control on" "$out"
t_match "payMap checked" '^ok    Sync map payMap exists' "$out"
t_match "uuiMap checked" '^ok    Sync map uuiMap exists' "$out"
t_match "every handler's --check-config run" '^ok    handler healthz accepts the configuration' "$out"
t_match "connector credentials checked" '^ok    Pay Connector sandbox_connector: credentials set' "$out"
t_nomatch "no secret printed (nor the token in Twilio's answer)" "$secrets" "$out"

out=$(run_check --env "$(variant wrongtoken AUTH_TOKEN="$(hex 16)")")
t_eq "wrong AUTH_TOKEN: exit 1" 1 $?
t_match "wrong AUTH_TOKEN named" '^FAIL  Twilio rejects ACCOUNT_SID/AUTH_TOKEN \(HTTP 401, Twilio error 20003: Authenticate\)' "$out"
t_match "wrong AUTH_TOKEN: the Sync check says why too" '^FAIL  Sync service IS[0-9a-f]+, GET .*HTTP 401' "$out"

out=$(run_check --env "$(variant wrongkey API_SECRET="$(hex 16)")")
t_match "wrong API_SECRET named" '^FAIL  Twilio rejects API_KEY/API_SECRET \(HTTP 401\)' "$out"

out=$(run_check --env "$(variant nomap SYNC_UUI_MAP_NAME=callMap)")
t_eq "missing map: exit 1" 1 $?
t_match "missing map named" "^FAIL  Sync map callMap not found in service $is \(HTTP 404, Twilio error 20404" "$out"
t_match "the other map still checked" '^ok    Sync map payMap exists' "$out"

out=$(run_check --env "$(variant openservice PAY_SYNC_SERVICE_SID=$is_open)")
t_eq "a Sync service without access control: exit 1" 1 $?
t_match "  ... named, with the fix" "^FAIL  Sync service $is_open has access control off: .*setupSyncServices turns it on" "$out"

out=$(run_check --env "$(variant noservice PAY_SYNC_SERVICE_SID=IS$(hex 16))")
t_match "missing Sync service named" '^FAIL  Sync service IS[0-9a-f]+ not found .*setupSyncServices' "$out"
t_match "maps skipped without a service" '^skip  Sync map payMap exists: no Sync service' "$out"

out=$(run_check --env "$(variant http SERVER_URL=http://pay.example.test)")
t_eq "http SERVER_URL: exit 1" 1 $?
t_match "http SERVER_URL named" '^FAIL  SERVER_URL must be https:// \(got http://pay\.example\.test\)' "$out"
out=$(run_check --env "$(variant loop SERVER_URL=https://127.0.0.1:8443)")
t_match "loopback SERVER_URL named" '^FAIL  SERVER_URL https://127\.0\.0\.1:8443 is a loopback address' "$out"
# --tunnel (make run-live): exactly the URL the operator named passes.
out=$(run_check --env "$tmp/http.env" --tunnel http://pay.example.test/)
t_eq "http SERVER_URL named with --tunnel: exit 0" 0 $?
t_match "  ... said to be the named tunnel" '^ok    SERVER_URL is the tunnel you named \(http://pay\.example\.test; development only\)' "$out"
out=$(run_check --env "$tmp/http.env" --tunnel http://other.example.test)
t_match "--tunnel naming another URL: still refused" '^FAIL  SERVER_URL must be https://' "$out"
out=$(run_check --env "$tmp/loop.env" --tunnel https://127.0.0.1:8443)
t_match "a loopback SERVER_URL named with --tunnel passes" '^ok    SERVER_URL is the tunnel you named' "$out"

out=$(run_check --env "$(variant suspended ACCOUNT_SID="$ac2" AUTH_TOKEN="$tok2")")
t_match "suspended account named" "^FAIL  Twilio account $ac2 is suspended, not active" "$out"

# An authenticated Twilio 20404 (the emulator serves no Account
# resource) proves the credentials; any other server's 404 proves nothing.
out=$(run_check --env "$(variant noaccount ACCOUNT_SID="$ac3" AUTH_TOKEN="$tok3")")
t_match "Twilio's 20404 after authentication: credentials accepted" \
  '^ok    Twilio accepts ACCOUNT_SID/AUTH_TOKEN \(.* does not serve the Account resource' "$out"
out=$(run_check --env "$(variant elsewhere TWILIO_API_URL="http://127.0.0.1:$fport/elsewhere")")
t_match "a 404 that is not Twilio's: credentials not accepted" \
  '^FAIL  Twilio account check, GET http://127\.0\.0\.1:[0-9]+/elsewhere/2010-04-01/Accounts/AC[0-9a-f]+\.json: HTTP 404' "$out"
t_match "the same for the API key" '^FAIL  Twilio API key check, GET .*: HTTP 404' "$out"

out=$(run_check --env "$(variant missing AGENT_SECRET= CONNECTOR_PASSWORD=short)")
t_match "missing variable named" '^FAIL  AGENT_SECRET is missing' "$out"
t_match "malformed variable named" '^FAIL  CONNECTOR_PASSWORD is too short' "$out"
t_match "connector check fails with it" '^FAIL  Pay Connector: ' "$out"

out=$(run_check --env "$(variant nosip SIP_DOMAIN_URI=)")
t_match "a handler's own requirement is reported by the handler" \
  '^FAIL  handler callToSIP refuses the configuration: SIP_DOMAIN_URI is missing' "$out"

out=$(run_check --env "$(variant colon CONNECTOR_USERNAME=a:b)")
t_match "a ':' in CONNECTOR_USERNAME is refused" "^FAIL  Pay Connector: CONNECTOR_USERNAME must not contain ':'" "$out"

f=$(variant open)
chmod 0644 "$f"
out=$(run_check --env "$f")
t_match "a world-readable file is refused" '^FAIL  configuration file .* is open to every user \(mode 0644\)' "$out"
out=$("$check" --env "$good" --service-user no-such-user-tp 2>&1)
t_match "a missing service user is named" '^FAIL  service user no-such-user-tp does not exist' "$out"

# The services see only the file: this shell's variables are ignored
# unless asked for.
out=$(AUTH_TOKEN=$(hex 16) run_check --env "$good")
t_eq "shell variables ignored by default: exit 0" 0 $?
t_match "the ignored variables are named" '^note  ignoring AUTH_TOKEN from this shell' "$out"
out=$(AUTH_TOKEN=$(hex 16) run_check --env "$good" --environment)
t_match "--environment takes them" '^FAIL  Twilio rejects ACCOUNT_SID/AUTH_TOKEN' "$out"
out=$(TWILIOPAY_ENV=$good run_check)
t_match "TWILIOPAY_ENV names the file by default" "^Checking $good\$" "$out"

out=$("$check" --env "$good" --print-console-urls 2>&1)
t_eq "--print-console-urls: exit 0" 0 $?
t_match "phone number voice URL" 'A call comes in +Webhook +https://pay\.example\.test/pv/callToSIP +HTTP POST' "$out"
t_match "SIP domain request URL" 'Request URL +https://pay\.example\.test/pv/callToPSTN +HTTP POST' "$out"
t_match "toll-free number voice URL" 'Toll-free number +Webhook +https://pay\.example\.test/pv/tollfreeCallToSIP +HTTP POST' "$out"
t_match "SIP domain without correlation" 'Request URL +https://pay\.example\.test/pv/simpleCallToPSTN +HTTP POST' "$out"
t_match "Pay Connector endpoint" 'Endpoint URL +https://pay\.example\.test/connector/charge' "$out"
t_match "Pay Connector username" 'Username +connector$' "$out"
t_nomatch "no secret without --show-connector-password" "$secrets" "$out"
pw=$(sed -n 's/^CONNECTOR_PASSWORD=//p' "$good")
out=$("$check" --env "$good" --print-console-urls --show-connector-password 2>&1)
t_match "--show-connector-password prints it" "Password +$pw\$" "$out"
t_nomatch "and no other secret" "$(sed -n 's/^\(AUTH_TOKEN\|API_SECRET\|ADMIN_TOKEN\|AGENT_SECRET\)=//p' "$good" | paste -sd'|')" "$out"
"$check" --show-connector-password >/dev/null 2>&1
t_eq "--show-connector-password alone is a usage error" 2 $?

# ------------------------------------------------------------ the emulator
if [[ ! -x $top/$B/sim/twilio-sim ]]; then
  echo "# test_deploy_config_check: emulator not built; its part is not run"
  t_done
  exit
fi
port=$(stack_free_port) sim=$(stack_free_port)
senv=$tmp/sandbox.env
"$top/scripts/sandbox-env" "$port" "$sim" >"$senv"
chmod 0600 "$senv"
# Starts the emulator and creates the Sync service and both maps, as
# `make run` does; PAY_SYNC_SERVICE_SID lands in the file.
stack_start "$top/$B" "$tmp/stack" "$senv" "$port" "$sim"
if ! stack_wait_ready; then t_fail "sandbox stack starts"; t_done; exit; fi
# The sandbox's SERVER_URL is nginx on 127.0.0.1 (http); a production
# file has the public https URL.
sandbox_https=$tmp/sandbox-https.env
cp "$senv" "$sandbox_https"
stack_env_set "$sandbox_https" SERVER_URL https://pay.example.test
out=$(run_check --env "$sandbox_https")
t_eq "emulator, sandbox configuration: exit 0" 0 $?
t_match "emulator, sandbox configuration: all passed" '^[0-9]+ checks, all passed$' "$out"
t_match "emulator: credentials checked" '^ok    Twilio accepts ACCOUNT_SID/AUTH_TOKEN' "$out"
t_match "emulator: API key checked" '^ok    Twilio accepts API_KEY/API_SECRET' "$out"
t_match "emulator: both maps checked" 'ok    Sync map payMap exists.*ok    Sync map uuiMap exists' "$(tr '\n' ' ' <<<"$out")"
t_match "emulator: the service made by the setup has access control on" '^ok    Sync service IS[0-9a-f]+ has access control on' "$out"
[[ $out == *"all passed"* ]] || echo "$out" | sed 's/^/    /'

out=$(run_check --env "$senv")
t_match "emulator: the sandbox's http SERVER_URL named" '^FAIL  SERVER_URL must be https://' "$out"
cp "$sandbox_https" "$tmp/sim-wrong.env"
stack_env_set "$tmp/sim-wrong.env" AUTH_TOKEN "$(hex 16)"
out=$(run_check --env "$tmp/sim-wrong.env")
t_match "emulator: wrong AUTH_TOKEN named" '^FAIL  Twilio rejects ACCOUNT_SID/AUTH_TOKEN \(HTTP 401' "$out"
cp "$sandbox_https" "$tmp/sim-wrongkey.env"
stack_env_set "$tmp/sim-wrongkey.env" API_SECRET "$(hex 16)"
out=$(run_check --env "$tmp/sim-wrongkey.env")
t_match "emulator: wrong API_SECRET named" '^FAIL  Twilio rejects API_KEY/API_SECRET \(HTTP 401' "$out"
# API_KEY/API_SECRET only sign Sync tokens: not needed while they are off.
sed '/^API_KEY=/d; /^API_SECRET=/d; /^ENABLE_SYNC_TOKENS=/d' "$sandbox_https" >"$tmp/sim-nokey.env"
chmod 0600 "$tmp/sim-nokey.env"
out=$(run_check --env "$tmp/sim-nokey.env")
t_match "emulator: no API key while Sync tokens are off: all passed" '^[0-9]+ checks, all passed$' "$out"
t_match "emulator: no API key needed, said" '^ok    API_KEY/API_SECRET not needed: Sync tokens are off' "$out"
echo ENABLE_SYNC_TOKENS=true >>"$tmp/sim-nokey.env"
out=$(run_check --env "$tmp/sim-nokey.env")
t_match "emulator: Sync tokens on without an API key named" '^FAIL  ENABLE_SYNC_TOKENS=true needs API_KEY and API_SECRET' "$out"
acct=$(sed -n 's/^ACCOUNT_SID=//p' "$senv") atok=$(sed -n 's/^AUTH_TOKEN=//p' "$senv")
svc=$(sed -n 's/^PAY_SYNC_SERVICE_SID=//p' "$senv")
curl -fsS -o /dev/null -u "$acct:$atok" -X DELETE "http://127.0.0.1:$sim/v1/Services/$svc/Maps/uuiMap"
out=$(run_check --env "$sandbox_https")
t_match "emulator: deleted map named" "^FAIL  Sync map uuiMap not found in service $svc" "$out"
t_done
