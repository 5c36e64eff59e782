#!/usr/bin/env bash
# Rules of the source tree that no compiler checks (README.md,
# "Architecture"; docs/handlers.md):
#   1. lib/twiliopay.h declares only what the handlers (cgi-bin/), the
#      tools (scripts/src/, tests/tools/) and the emulator (sim/) call, or
#      what its own macros expand to; the library's private functions are
#      declared in lib/internal.h;
#   2. no comment or text in the tree points at our own tracker ("issue
#      12"): a reader has the code, not the tracker.  An upstream project's
#      issue (nchan's, curl's) is a source and names its project.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
cd "$top" || exit 1

# ------------------------------------------------------------ 1. public header
# Function declarations: a line that starts a declaration (not a comment,
# a preprocessor line or a typedef) and names tp_...( .
decls=$(grep -E '^[a-z].*\btp_[a-z0-9_]+\(' lib/twiliopay.h | grep -vE '^(typedef|#)' |
  grep -oE '\btp_[a-z0-9_]+\(' | tr -d '(' | sort -u)
n=$(wc -w <<<"$decls")
# What the header's macros expand to counts as called by their users.
macros=$(grep -E '^#define|\\$' lib/twiliopay.h)
private=""
for f in $decls; do
  grep -qw -- "$f" <<<"$macros" && continue
  grep -rqw --include='*.c' --include='*.h' -- "$f" cgi-bin sim scripts/src tests/tools && continue
  private+="$f "
done
t_match "lib/twiliopay.h declares functions ($n found)" '^[1-9][0-9]{1,}$' "$n"
t_eq "every function lib/twiliopay.h declares is called by a handler, a tool or the emulator" \
  "" "${private% }"

# The other side: a handler, a tool or the emulator never reaches inside.
t_eq "no handler, tool or emulator file includes lib/internal.h" "" \
  "$(grep -rlE '#include.*internal\.h' cgi-bin sim scripts/src tests/tools | paste -sd ' ')"

# ------------------------------------------------------------ 2. no tracker numbers
# Every text file of the tree (the tracked ones in a git checkout); a
# line naming an issue number is an upstream source when it or the line
# before names the project.
# The word issue and a number, or issues and a #number (not a sentence
# such as "Visa issues" and a list of digit counts).
ref='(^|[^A-Za-z])([Ii]ssue #?[0-9]+|[Ii]ssues #[0-9]+)'
files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then git ls-files -z
  else find . -path ./build -prune -o -name node_modules -prune -o -type f -print0; fi
}
# grep picks the text files that name one; awk reads each with its lines.
hits=$(files | xargs -0 grep -lIE -- "$ref" 2>/dev/null |
  xargs -r -d '\n' awk -v ref="$ref" \
    -v project='nchan|curl|libfcgi|cJSON|libmicrohttpd|playwright|github\\.com' '
      FNR == 1 { prev = "" }
      $0 ~ ref && (prev " " $0) !~ project { print FILENAME ":" FNR ": " $0 }
      { prev = $0 }' | head -10)
t_eq "no text in the tree points at our tracker's issue numbers" "" "$hits"

t_done
