#!/usr/bin/env bash
# The one-time Sync setup against the emulator: scripts/setup-sync reports
# "created" then "exists" (with the service on the second page of the
# list), writes PAY_SYNC_SERVICE_SID only when asked, fails clearly when
# Sync fails; then the same through nginx as an admin would run it, from
# curl (JSON) and a browser (HTML).  Sync's state is checked over its REST
# API, independently of the setup's own report.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/scripts/stack.sh"
B=${B:-build}
sim_bin=$top/$B/sim/twilio-sim
if [[ ! -x $sim_bin ]]; then t_fail "the emulator is built ($B/sim/twilio-sim)"; exit 1; fi

run=$(mktemp -d /tmp/tp-setup-XXXXXX)
simpid=
trap '[[ -n $simpid ]] && kill "$simpid" 2>/dev/null; stack_stop; rm -rf "$run"' EXIT
json() { node -e "const j=JSON.parse(require('fs').readFileSync(0,'utf8')); $1"; }

# ---- the emulator alone, as scripts/stack.sh has it before nginx starts
simport=$(stack_free_port)
"$top/scripts/sandbox-env" "$(stack_free_port)" "$simport" >"$run/env"
chmod 600 "$run/env"
acct=$(sed -n 's/^ACCOUNT_SID=//p' "$run/env"); tok=$(sed -n 's/^AUTH_TOKEN=//p' "$run/env")
name=$(sed -n 's/^PAY_SYNC_SERVICE_NAME=//p' "$run/env")
sync=http://127.0.0.1:$simport
"$sim_bin" --listen "127.0.0.1:$simport" --env "$run/env" 2>>"$run/sim.log" &
simpid=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "$sync/sim/health" && break; sleep 0.1; done
t_eq "emulator up" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$sync/sim/health")"

# 120 other services first: the setup's service lands on the second page
# of a 100-per-page list, so finding it again needs every page.
args=()
for i in $(seq 1 120); do
  args+=(--next -fs -o /dev/null -u "$acct:$tok" --data-urlencode "FriendlyName=other-$i" "$sync/v1/Services")
done
curl "${args[@]:1}"
cp "$run/env" "$run/env.before"

out=$("$top/scripts/setup-sync" --env "$run/env" --build "$top/$B" 2>&1)
t_eq "first run exits 0" 0 "$?"
t_match "first run: service created" "^  service $name: created \(IS[0-9a-f]{32}\)\$" "$out"
t_match "first run: payMap created" '^  map payMap: created \(MP[0-9a-f]{32}\)$' "$out"
t_match "first run: uuiMap created" '^  map uuiMap: created \(MP[0-9a-f]{32}\)$' "$out"
t_match "first run names the SID to set" '^PAY_SYNC_SERVICE_SID=IS[0-9a-f]{32} ' "$out"
sid=$(grep -o "service $name: created (IS[0-9a-f]*)" <<<"$out" | grep -o 'IS[0-9a-f]*')
if cmp -s "$run/env" "$run/env.before"; then t_ok "without --write-env the file is untouched"; else t_fail "without --write-env the file is untouched"; fi

out=$("$top/scripts/setup-sync" --env "$run/env" --build "$top/$B" --write-env 2>&1)
t_eq "second run exits 0" 0 "$?"
t_match "second run: service exists, same SID" "^  service $name: exists \($sid\)\$" "$out"
t_match "second run: payMap exists" '^  map payMap: exists \(MP[0-9a-f]{32}\)$' "$out"
t_match "second run: uuiMap exists" '^  map uuiMap: exists \(MP[0-9a-f]{32}\)$' "$out"
t_nomatch "second run creates nothing" 'created' "$out"
t_match "--write-env says what it wrote" "^wrote PAY_SYNC_SERVICE_SID=$sid to $run/env\$" "$out"
t_eq "the env file has the SID once" "PAY_SYNC_SERVICE_SID=$sid" "$(grep '^PAY_SYNC_SERVICE_SID=' "$run/env")"
t_eq "the env file keeps its mode" 600 "$(stat -c %a "$run/env")"
t_eq "the rest of the env file is unchanged" "$(cat "$run/env.before")" "$(grep -v '^PAY_SYNC_SERVICE_SID=' "$run/env")"
"$top/scripts/setup-sync" --env "$run/env" --build "$top/$B" --write-env >/dev/null 2>&1
t_eq "a third run replaces the line, not adds one" 1 "$(grep -c '^PAY_SYNC_SERVICE_SID=' "$run/env")"

# Sync itself: one service of that name, both maps in it.
named=
for p in 0 1 2 3 4 5; do
  named+=$(curl -s -u "$acct:$tok" "$sync/v1/Services?PageSize=50&Page=$p" |
           json "j.services.filter(s => s.friendly_name === '$name').forEach(s => process.stdout.write(s.sid + ' '))")
done
t_eq "Sync holds one service of that name, the reported one" "$sid " "$named"
for m in payMap uuiMap; do
  t_eq "Sync has map $m" "$m" "$(curl -s -u "$acct:$tok" "$sync/v1/Services/$sid/Maps/$m" | json 'console.log(j.unique_name)')"
done

# Failures: Sync answering 503 until the retry budget is spent, wrong
# credentials, no admin token, no file.  The env file is never touched.
cp "$run/env" "$run/env.before"
curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"target":"sync","count":50,"status":503}' "$sync/sim/faults"
out=$(HTTP_TIMEOUT_MS=1000 "$top/scripts/setup-sync" --env "$run/env" --build "$top/$B" --write-env 2>&1)
t_eq "Sync down: exit 1" 1 "$?"
t_match "Sync down: the step and Sync's answer are named" \
  '^setup-sync: Sync setup failed \(HTTP 502\): could not list the Sync services: Sync answered HTTP 503' "$out"
curl -fs -o /dev/null -X DELETE "$sync/sim/faults"
sed 's/^AUTH_TOKEN=.*/AUTH_TOKEN=0123456789abcdef0123456789abcdef/' "$run/env" >"$run/env.bad"
out=$("$top/scripts/setup-sync" --env "$run/env.bad" --build "$top/$B" --write-env 2>&1)
t_eq "wrong AUTH_TOKEN: exit 1" 1 "$?"
t_match "wrong AUTH_TOKEN: says to check the credentials" 'Sync refused our credentials \(HTTP 401, code 20003.*check ACCOUNT_SID and AUTH_TOKEN' "$out"
grep -v '^ADMIN_TOKEN=' "$run/env" >"$run/env.noadmin"
out=$("$top/scripts/setup-sync" --env "$run/env.noadmin" --build "$top/$B" 2>&1)
t_eq "no ADMIN_TOKEN: exit 78" 78 "$?"
t_match "no ADMIN_TOKEN: named" 'ADMIN_TOKEN is not set in' "$out"
out=$("$top/scripts/setup-sync" --env "$run/nothing" --build "$top/$B" 2>&1)
t_eq "no env file: exit 78" 78 "$?"
out=$("$top/scripts/setup-sync" --env "$run/env" --build "$run" 2>&1)
t_eq "no binary: exit 2" 2 "$?"
t_match "no binary: named" 'setupSyncServices is not built' "$out"
if cmp -s "$run/env" "$run/env.before"; then t_ok "failures leave the env file alone"; else t_fail "failures leave the env file alone"; fi
kill "$simpid"; wait "$simpid" 2>/dev/null; simpid=

# ---- the whole stack: stack_start runs the setup once (fresh emulator)
port=$(stack_free_port); simport=$(stack_free_port)
"$top/scripts/sandbox-env" "$port" "$simport" >"$run/env2"
stack_start "$top/$B" "$run/stack" "$run/env2" "$port" "$simport"
if ! stack_wait_ready; then t_fail "stack starts"; exit 1; fi
base=http://127.0.0.1:$port
admin=$(sed -n 's/^ADMIN_TOKEN=//p' "$run/env2")
sid=$(sed -n 's/^PAY_SYNC_SERVICE_SID=//p' "$run/env2")
t_match "start-up setup created the service and wrote its SID" "service GenesysPaySandbox: created \($sid\)" "$(cat "$run/stack/log/setup.log")"

body=$(curl -s -X POST -H "Authorization: Bearer $admin" "$base/sync/setupSyncServices")
t_eq "curl: JSON, everything exists" "exists $sid exists exists PAY_SYNC_SERVICE_SID=$sid 0" \
  "$(json 'console.log(j.service.status, j.service.sid, j.maps[0].status, j.maps[1].status, j.env, j.warnings.length)' <<<"$body")"
t_eq "curl: the maps are the configured ones" "payMap uuiMap" "$(json 'console.log(j.maps.map(m => m.unique_name).join(" "))' <<<"$body")"
html=$(curl -s -D "$run/h" -H "Authorization: Bearer $admin" -H 'Accept: text/html,application/xhtml+xml;q=0.9' "$base/sync/setupSyncServices")
t_match "browser: HTML" '^Content-Type: text/html' "$(tr -d '\r' <"$run/h")"
t_match "browser: the SID is ready to copy" "<code class=\"copy\">PAY_SYNC_SERVICE_SID=$sid</code>" "$html"
t_match "browser: each resource says exists" '<td>map</td><td>uuiMap</td><td><code>MP[0-9a-f]{32}</code></td><td class="exists">exists</td>' "$html"
code=$(curl -s -o "$run/form" -w '%{http_code}' -H 'Accept: text/html' "$base/sync/setupSyncServices")
t_eq "browser without the token: 401" 401 "$code"
t_match "browser without the token: a form asks for it" '<input id="t" type="password"' "$(cat "$run/form")"
t_nomatch "browser without the token: the page has no inline script" '<script>|<script [^>]*>[^<]|\son[a-z]+=' "$(cat "$run/form")"
js=$(sed -n 's/.*<script type="module" src="\(\/[^"]*\)".*/\1/p' "$run/form")
t_eq "browser without the token: the page's script is served from www/" "200 text/javascript" \
  "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$base$js")"
t_match "browser without the token: its 401 challenges for the token" 'WWW-Authenticate: Bearer realm="twiliopay-admin"' \
  "$(curl -s -o /dev/null -D - -H 'Accept: text/html' "$base/sync/setupSyncServices" | tr -d '\r')"
t_eq "curl without the token: the handler's JSON 401" 'unauthorized' \
  "$(curl -s -H 'Accept: application/json' "$base/sync/setupSyncServices" | sed -n 's/.*"code":"\([a-z_]*\)".*/\1/p')"
t_eq "a wrong token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer ${admin}x" "$base/sync/setupSyncServices")"
stack_stop
t_nomatch "the admin token is in no log" "$admin" "$(cat "$run"/stack/log/*.log)"
t_done
