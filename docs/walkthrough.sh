#!/usr/bin/env bash
# Runs the README's walkthrough: every ```sh block of its "Walkthrough, role by role"
# section, exactly as written, in order, in DIR (which should be new or empty).
# tests/evote/test_walkthrough.py runs this script on every CI run.
#
#   docs/walkthrough.sh DIR        (with the virtualenv's bin/ on PATH)
#
# The README uses fixed ports (8765 for the server, 8080 for the kiosk); the test runs
# the script in a private network namespace so they are always free. On a failure it
# names the command that failed and shows the error lines and the end of every log.
set -uo pipefail
W=${1:?usage: walkthrough.sh DIR}
README=$(cd "$(dirname "$0")/.." && pwd)/README.md
mkdir -p "$W" && cd "$W"

awk '
  /^## Walkthrough/ { section = 1; next }
  /^## / { section = 0 }
  section && /^```sh$/ { code = 1; blocks += 1; first = 1; next }
  section && code && /^```$/ { code = 0; next }
  section && code {
    if (first) { line = $0; gsub(/\047/, "\047\\\047\047", line); print "echo \047$ " line "\047"; first = 0 }
    print
  }
' "$README" > walkthrough-commands.sh
if ! grep -q . walkthrough-commands.sh; then
  echo "walkthrough: no sh blocks found under '## Walkthrough' in $README" >&2; exit 1
fi

explain_failure() {  # STATUS COMMAND: what failed, and the logs' own words for why
  echo "walkthrough failed (exit $1) at: $2" >&2
  for log in *.log; do
    [ -s "$log" ] || continue
    if grep -n -i -E 'error|traceback|refused|denied|in use' "$log" > /dev/null; then
      echo "--- cause, as $log says it:" >&2
      grep -n -i -E 'error|traceback|refused|denied|in use' "$log" | tail -n 5 >&2
    fi
    echo "--- last lines of $log:" >&2
    tail -n 8 "$log" >&2
  done
}
trap 'status=$?; explain_failure "$status" "$BASH_COMMAND"; exit "$status"' ERR
trap 'jobs -p | xargs -r kill 2>/dev/null; wait 2>/dev/null' EXIT
set -eE
# shellcheck source=/dev/null
. ./walkthrough-commands.sh
echo "walkthrough completed"
