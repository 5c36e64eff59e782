#!/usr/bin/env bash
# Agents on two nodes: the agent store is the Sync map AGENTS_SYNC_MAP
# (lib/agentstore.c), not a file of either node.  A login on one node
# works on the other; a record written to Sync without AGENT_SECRET is no
# agent; a password change or a deletion made through one node's
# configuration refuses the old password at once and the agent's tokens on
# both nodes within AGENTS_CACHE_S seconds (3 here, 30 by default), while
# a login with the new password works on both at once.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/multinode/mn-up.sh"
MN_ENV=(AGENTS_CACHE_S=3)
mn_up
. "$top/tests/integration/capture-helpers.sh"
tool=$top/$B/bin/twiliopay-agent

login_as() {  # login_as NODE_URL NAME PASSWORD -> token, status in $run/status
  curl -s -o "$run/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$3\"}" "$1/aap/login" >"$run/status"
  jget o.token <"$run/body"
}
status_with() {  # status_with NODE_URL TOKEN -> HTTP status of GET /aap/config
  curl -s -o "$run/body" -w '%{http_code}' -H "Authorization: Bearer $2" "$1/aap/config"
}
# code_with NODE_URL TOKEN -> "STATUS CODE" of GET /aap/config (the raw body when not JSON)
code_with() {
  local st
  st=$(status_with "$1" "$2")
  echo "$st $(jget o.code <"$run/body" 2>/dev/null || head -c 200 "$run/body")"
}
# Every worker of a node keeps its own copy (up to AGENTS_CACHE_S old):
# a token counts as refused by the nodes when several requests to each,
# spread over their workers, are all refused.
refused_on_both() {
  local _ n
  for n in "$n1" "$n2"; do
    for _ in 1 2 3 4 5 6; do [[ $(status_with "$n" "$1") == 401 ]] || return 1; done
  done
}

t_eq "no node has an agents file" "" "$(grep -h '^AGENTS_FILE=' "$run"/stack/node*/env)"
t_eq "the agent store is the Sync map agentMap on both nodes" "agentMap agentMap" \
  "$(sed -n 's/^AGENTS_SYNC_MAP=//p' "$run"/stack/node{1,2}/env | tr '\n' ' ' | sed 's/ $//')"
rec=$(item agentMap agent)
t_match "the sandbox agent's record in Sync: a yescrypt hash and its MAC" \
  '"hash": ?"\$y\$[^"]+", ?"mac": ?"[0-9a-f]{64}"' "$(jget o.data <<<"$rec")"

T1=$(login_as "$n1" agent "$STACK_AGENT_PASSWORD")
t_eq "login on node 1" 200 "$(cat "$run/status")"
t_eq "  ... its token works on node 2" 200 "$(status_with "$n2" "$T1")"
t_eq "  ... and on node 1" 200 "$(status_with "$n1" "$T1")"
t_eq "a wrong password is refused on node 2" 401 "$(login_as "$n2" agent wrong-password-123 >/dev/null; cat "$run/status")"

# A record someone wrote to Sync without AGENT_SECRET (a leaked Sync
# token, a Console user): a real yescrypt hash of a known password, but
# no valid MAC.
pw_m=mallory-password-1
hash_m=$(printf '%s\n' "$pw_m" | "$tool" -f "$run/m.agents" set mallory 2>/dev/null && sed -n 's/^mallory://p' "$run/m.agents")
curl -s -o /dev/null -u "$AC:$TOK" --data-urlencode "Key=mallory" \
  --data-urlencode "Data={\"hash\":\"$hash_m\",\"mac\":\"$(printf '0%.0s' {1..64})\"}" \
  "$S/v1/Services/$IS/Maps/agentMap/Items"
t_match "a forged record is in Sync" '"key": ?"mallory"' "$(item agentMap mallory)"
login_as "$n1" mallory "$pw_m" >/dev/null
t_eq "  ... and is no agent on node 1" 401 "$(cat "$run/status")"
login_as "$n2" mallory "$pw_m" >/dev/null
t_eq "  ... nor on node 2" 401 "$(cat "$run/status")"
t_match "  ... which says why in its log" 'fails its MAC' "$(cat "$run"/stack/node*/log/login.log)"

# ---- a password change made with node 1's configuration
NEWPW=new-password-for-agent-42
printf '%s\n' "$NEWPW" | TWILIOPAY_ENV=$run/stack/node1/env "$tool" set agent 2>/dev/null
t_eq "the password changes (twiliopay-agent with node 1's configuration)" 0 "$?"
changed=$SECONDS
login_as "$n2" agent "$STACK_AGENT_PASSWORD" >/dev/null
t_eq "  ... the old password is refused on node 2 at once" 401 "$(cat "$run/status")"
login_as "$n1" agent "$STACK_AGENT_PASSWORD" >/dev/null
t_eq "  ... and on node 1" 401 "$(cat "$run/status")"
T2=$(login_as "$n2" agent "$NEWPW")
t_eq "  ... the new password works on node 2" 200 "$(cat "$run/status")"
t_eq "  ... and its token on node 1 at once (an older cached copy is re-read)" 200 "$(status_with "$n1" "$T2")"
if until_true 15 refused_on_both "$T1"; then
  t_ok "  ... the old token is refused on both nodes, after $((SECONDS - changed)) s (AGENTS_CACHE_S=3)"
  # Each handler process keeps its own copy, and the requests above may
  # have met only the ones that re-read Sync: every copy read before the
  # change is gone once AGENTS_CACHE_S has passed since it (the promise),
  # and from then on no process may accept the token.
  cache_passed() { (( SECONDS - changed > 3 + 1 )); }
  until_true 15 cache_passed
  refused_on_both "$T1" && refused_on_both "$T1" && refused_on_both "$T1" && t_ok "  ... and stays refused" ||
    t_fail "  ... and stays refused" "node 1: $(code_with "$n1" "$T1"), node 2: $(code_with "$n2" "$T1")"
else
  t_fail "  ... the old token is refused on both nodes within AGENTS_CACHE_S" "node 1: $(status_with "$n1" "$T1"), node 2: $(status_with "$n2" "$T1")"
fi
t_eq "  ... as revoked" "401 token_revoked, 401 token_revoked" "$(code_with "$n1" "$T1"), $(code_with "$n2" "$T1")"
t_eq "  ... while the new token still works on both" "200 200" "$(status_with "$n1" "$T2") $(status_with "$n2" "$T2")"

# ---- the agent deleted with node 2's configuration
TWILIOPAY_ENV=$run/stack/node2/env "$tool" delete agent 2>/dev/null
t_eq "the agent is deleted (node 2's configuration)" 0 "$?"
t_eq "  ... gone from Sync" "" "$(item agentMap agent)"
login_as "$n1" agent "$NEWPW" >/dev/null
t_eq "  ... its login is refused on node 1 at once" 401 "$(cat "$run/status")"
if until_true 15 refused_on_both "$T2"; then t_ok "  ... and its token on both nodes"
else t_fail "  ... and its token on both nodes" "node 1: $(status_with "$n1" "$T2"), node 2: $(status_with "$n2" "$T2")"; fi
t_eq "twiliopay-agent list (Sync)" "mallory" "$(TWILIOPAY_ENV=$run/env "$tool" list 2>&1 | tr '\n' ' ' | sed 's/ $//')"

t_done
