#!/usr/bin/env bash
# routec's command-line contract: exit codes, output streams and formats.
# Usage: cli_test.sh PATH/TO/routec   (run from the repository root)
set -u
routec=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

check() { # check NAME EXPECTED-EXIT COMMAND...
  local name=$1 want=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $name: exit $got, want $want"; cat "$work/out" "$work/err"; failures=$((failures + 1))
  else
    passes=$((passes + 1))
  fi
}
contains() { # contains NAME FILE TEXT
  if grep -qF -- "$3" "$work/$2"; then passes=$((passes + 1)); else
    echo "FAIL $1: $2 lacks '$3'"; cat "$work/$2"; failures=$((failures + 1)); fi
}

cat >"$work/bad.route" <<'ROUTE'
upstream web { servers = ["127.0.0.1:8080"] }
on request {
    route wbe
}
ROUTE
cat >"$work/bad2.route" <<'ROUTE'
on respons { }
ROUTE
cat >"$work/warn.route" <<'ROUTE'
upstream web { servers = ["127.0.0.1:8080"] }
upstream spare { servers = ["127.0.0.1:8081"] }
on request { route web }
ROUTE

check version 0 "$routec" --version
contains version out "routec 0."
check help 0 "$routec" --help
contains help out "check"
check no-subcommand 2 "$routec"
check no-files 2 "$routec" check
check unknown-flag 2 "$routec" check --bogus examples/quickstart.route
check bad-format 2 "$routec" check --format xml examples/quickstart.route
check missing-file 2 "$routec" check "$work/missing.route"
contains missing-file err "cannot read"
check clean 0 "$routec" check examples/quickstart.route
[ -s "$work/out" ] || [ -s "$work/err" ] && { echo "FAIL clean: printed something"; failures=$((failures + 1)); }

check errors 1 "$routec" check "$work/bad.route"
contains errors err "bad.route:3:11: error: unknown upstream 'wbe' [unknown-upstream]"
contains errors err "          ^~~"
contains errors err "hint: did you mean 'web'?"
contains errors err "1 error, 0 warnings"

check two-files 1 "$routec" check "$work/bad.route" "$work/bad2.route"
contains two-files err "bad.route:3:11"
contains two-files err "bad2.route:1:4: error: unknown phase 'respons'"
contains two-files err "2 errors"

check warning 0 "$routec" check "$work/warn.route"
contains warning err "warning: upstream 'spare' is never used [unused]"
check werror 1 "$routec" check --werror "$work/warn.route"
contains werror err "error: upstream 'spare' is never used"

check json 1 "$routec" check --format json "$work/bad.route"
python3 - "$work/out" <<'PY' || failures=$((failures + 1))
import json, sys
d = json.load(open(sys.argv[1]))
(x,) = d["diagnostics"]
assert x["severity"] == "error" and x["code"] == "unknown-upstream", x
assert x["range"]["start"] == {"line": 3, "column": 11, "offset": 69}, x["range"]
assert x["range"]["end"]["column"] == 14, x["range"]
assert x["file"].endswith("bad.route") and d["errors"] == 1
PY

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
