#!/usr/bin/env bash
# pci-scan.sh - the PCI check of a whole test run (tests/run suite "pci").
#
#   tests/tools/pci-scan.sh DIR
#
# DIR is the folder tests/run keeps for one run (STACK_KEEP_DIR): a copy of
# every test stack's run folder (scripts/stack.sh stack_keep: the logs of
# nginx, every handler and the emulator, nginx's temporary folders, the env
# file...) and fixtures/handlers.log (the handlers' log lines of the
# fixture suite).  Each of those is one file set; for each, one line:
#   ok - pci: <set> (<n> files)
#   not ok - pci: <set>    followed by where and what was found
#
# Looked for, in every text file: the sandbox and gateway test card numbers
# (docs/api.md "Sandbox test numbers"; the Twilio tutorial's and the
# common gateway test cards, twilio-contract.md 5), also grouped with
# spaces, dashes, dots or slashes; the sandbox's test bank account numbers; and, in a field
# context (a name like security code / CVV / CVC, account number, card
# number, then up to a few quotes, blanks, ':' or '='), any unmasked security
# code (3-4 digits), bank account number (4-17 digits) or card number.
# Masked values (xxx, xxxxxxxxxxxx1111, *******89) do not match.
set -uo pipefail

dir=${1:?usage: pci-scan.sh DIR}

cards=(4111111111111111 4242424242424242 5555555555554444 378282246310005 6011111111111117
       4000000000000002 4000000000009995 4000000000000069 4000000000000127 4000000000000119)
accounts=(000123456789 000111111116 000222222227 000333333335)

# A number, also written in groups: a space, dash, dot or slash may follow
# any digit.
spaced() { sed -E 's|([0-9])|\1[ ./-]?|g; s|\[ \./-\]\?$||' <<<"$1"; }
alts=()
for n in "${cards[@]}" "${accounts[@]}"; do alts+=("$(spaced "$n")"); done
numbers_re=$(IFS='|'; echo "${alts[*]}")
sep='["'"'"'[:space:]:=]{0,6}'
context_re="(security[-_ ]?code|cvv|cvc|csc)${sep}[0-9]{3,4}([^0-9]|$)"
context_re+="|(account[-_ ]?number)${sep}[0-9]{4,17}([^0-9]|$)"
context_re+="|(card[-_ ]?number|cardnumber)${sep}[0-9]{12,19}([^0-9]|$)"

scan_set() {
  local label=$1; shift
  local files=("$@") hits
  if (( ${#files[@]} == 0 )); then
    echo "ok - pci: $label (no files)"
    return
  fi
  # -I: binary files (a browser screenshot) are skipped; -o shows only
  # what matched, so a hit in a long line stays readable.
  hits=$( { grep -HnIoE -- "$numbers_re" "${files[@]}" | sed 's/$/  [test card or account number]/'
            grep -HnIoiE -- "$context_re" "${files[@]}" | sed 's/$/  [unmasked value in a card-data field]/'
          } 2>/dev/null | head -n 40)
  if [[ -z $hits ]]; then
    echo "ok - pci: $label (${#files[@]} files): no card number, security code or bank account number"
  else
    echo "not ok - pci: $label: card data found"
    sed "s|^$dir/||; s/^/    /" <<<"$hits"
  fi
}

# TAP: the plan first (one result per kept set), then the results.
if [[ ! -d $dir ]]; then
  echo "1..1"
  echo "not ok - pci: $dir does not exist"
  exit 0
fi
sets=()
for s in "$dir"/*/; do
  [[ -d $s ]] && sets+=("${s%/}")
done
if (( ${#sets[@]} == 0 )); then
  echo "1..1"
  echo "not ok - pci: nothing was kept in $dir to scan (run the suites that start stacks first)"
  exit 0
fi
echo "1..${#sets[@]}"
for s in "${sets[@]}"; do
  mapfile -d '' files < <(find "$s" -type f -print0 | sort -z)
  scan_set "$(basename "$s")" "${files[@]}"
done
