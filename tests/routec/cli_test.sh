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

# routec run: the decision, the upstream request, the response and the rules that fired.
check run-respond 0 "$routec" run examples/quickstart.route --request 'GET http://127.0.0.1:6188/healthz'
contains run-respond out "decision: respond 200"
contains run-respond out 'body: "ok\n"'
contains run-respond out "examples/quickstart.route:15:9  respond 200"
check run-route 0 "$routec" run examples/load_balancer.route --request 'GET http://localhost:6188/x?y=1' -H 'Cookie: a=b'
contains run-route out "decision: route one"
contains run-route out "upstream request: GET /x?y=1"
contains run-route out "Host: one.one.one.one"
cat >"$work/tls.route" <<'ROUTE'
on request {
    if tls.client.verified { respond 200 "client " + tls.client.subject + " via " + tls.sni }
    if tls.resumed { respond 200 "resumed " + tls.version }
    respond 200 "tls '" + tls.version + "'"
}
ROUTE
check run-tls 0 "$routec" run "$work/tls.route" --request 'GET https://a.test/' --tls-sni a.test --tls-client-subject CN=c
contains run-tls out 'body: "client CN=c via a.test"'
check run-tls-resumed 0 "$routec" run "$work/tls.route" --request 'GET https://a.test/' --tls-version TLSv1.3 --tls-resumed
contains run-tls-resumed out 'body: "resumed TLSv1.3"'
check run-https-defaults 0 "$routec" run "$work/tls.route" --request 'GET https://a.test/'
contains run-https-defaults out "body: \"tls 'TLSv1.3'\""
check run-no-tls 0 "$routec" run "$work/tls.route" --request 'GET http://a.test/'
contains run-no-tls out "body: \"tls ''\""
check run-tls-on-http 2 "$routec" run "$work/tls.route" --request 'GET http://a.test/' --tls-sni a.test
contains run-tls-on-http err "describe an https:// request"
check run-error 0 "$routec" run examples/maintenance.route --request 'GET http://www.example.com/' --from 203.0.113.9 --error connect_failed
contains run-error out "origin failed: connect_failed (502)"
contains run-error out "response: 503"
check run-error-timeout 0 "$routec" run examples/maintenance.route --request 'GET http://www.example.com/' --from 203.0.113.9 --error read_timeout
contains run-error-timeout out "origin failed: read_timeout (504)"
check run-error-unknown 2 "$routec" run examples/maintenance.route --request 'GET http://www.example.com/' --error refused
contains run-error-unknown err "--error is one of connect_failed, connect_timeout, read_timeout"
check run-json 0 "$routec" run examples/redirects.route --request 'GET http://www.example.com/jobs' --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["decision"].startswith("redirect 308"), d; assert d["response"]["status"] == 308' "$work/out" || failures=$((failures + 1))
cat >"$work/split.route" <<'ROUTE'
on request {
    redirect 302 req.arg["next"]
}
ROUTE
# A value that cannot go on the wire: the rule's place, the 500, as turnout logs and answers.
check run-fault 0 "$routec" run "$work/split.route" --request 'GET http://a/?next=http://b/%0d%0aSet-Cookie:%20x=1'
contains run-fault out "decision: none: a run-time error (500)"
contains run-fault out "split.route:2:5: run-time error in the request phase: redirect to \"http://b/\x0d\x0aSet-Cookie: x=1\""
contains run-fault out "response: 500"
check run-bad-request 2 "$routec" run examples/quickstart.route --request 'nonsense'
check run-bad-from 2 "$routec" run examples/quickstart.route --request 'GET http://h/' --from not-an-ip
check run-bad-policy 1 "$routec" run "$work/bad.route" --request 'GET http://h/'

# routec dump --ast: the checked tree with types and what names resolved to.
check dump-ast 0 "$routec" dump --ast examples/maintenance.route
contains dump-ast out "variable client.ip : ip"
contains dump-ast out "name allowed [acl] : acl"
contains dump-ast out "server 192.168.10.20:8080 weight 1"
check dump-ir 0 "$routec" dump --ir examples/maintenance.route
contains dump-ir out "define void @route_phase_request(ptr"
check dump-asm 0 "$routec" dump --asm examples/maintenance.route
contains dump-asm out "route_phase_request:"
check dump-needs-a-view 2 "$routec" dump examples/maintenance.route
check dump-one-view 2 "$routec" dump --ast --ir examples/maintenance.route
check dump-bad-policy 1 "$routec" dump --ast "$work/bad.route"
# routec dump --upstreams: every peer the proxy would connect to (the tests' loopback guard
# reads it), from a source or from an artifact's sources.
check dump-upstreams 0 "$routec" dump --upstreams examples/api_gateway.route
contains dump-upstreams out "users 10.0.1.10:8080 weight 1"
contains dump-upstreams out "legacy 10.0.9.5:80 weight 1"
check dump-upstreams-json 0 "$routec" dump --upstreams --json examples/canary.route
contains dump-upstreams-json out '"address": "10.0.0.1:8080"'
contains dump-upstreams-json out '"weight": 3'
check dump-json-alone 2 "$routec" dump --ast --json examples/canary.route
check dump-upstreams-build 0 "$routec" build examples/maintenance.route -o "$work/maintenance.art"
check dump-upstreams-artifact 0 "$routec" dump --upstreams "$work/maintenance.art"
contains dump-upstreams-artifact out "site 192.168.10.21:8080 weight 1"

# routec test: one line per failure with its location, then the plain closing count.
check test-pass 0 "$routec" test examples/redirects.route examples/canary.route
contains test-pass out "6 passed, 0 failed"
cat >"$work/failing.route" <<'ROUTE'
upstream web { servers = ["127.0.0.1:8080"] }
on request {
    if req.path == "/private" { respond 403 }
    route web
}
test "private is forbidden" {
    request GET "http://example.com/private"
    expect status 404
}
test "the rest is served" {
    request GET "http://example.com/"
    expect route web
}
ROUTE
cat >"$work/consts.route" <<'ROUTE'
upstream web { servers = ["127.0.0.1:8080"] }
const site = "http://" + "example.com"
const office = 203.0.113.9
const forbidden = 400 + 3
on request {
    if client.ip == office { respond forbidden }
    route web
}
test "test steps take consts" {
    request GET site + "/x" from office
    expect status forbidden
}
ROUTE
check test-consts 0 "$routec" test "$work/consts.route"
contains test-consts out "1 passed, 0 failed"

check test-fail 1 "$routec" test "$work/failing.route"
contains test-fail out 'failing.route:8:5: test "private is forbidden": expected status 404, got 403 (respond 403)'
contains test-fail out "1 passed, 1 failed"
check test-bad-policy 1 "$routec" test "$work/bad.route"
contains test-bad-policy out "0 passed, 1 failed"

# fmt: rewrites in place, --check changes nothing and names the file, - is a filter.
printf 'upstream web{servers=["127.0.0.1:8080"]}\non request { route web }\n' >"$work/messy.route"
cp "$work/messy.route" "$work/messy.orig"
check fmt-check-unformatted 1 "$routec" fmt --check "$work/messy.route"
contains fmt-check-unformatted err "messy.route: not formatted (first difference on line 1)"
cmp -s "$work/messy.route" "$work/messy.orig" && passes=$((passes + 1)) ||
  { echo "FAIL fmt-check changed the file"; failures=$((failures + 1)); }
check fmt-stdout 0 "$routec" fmt --stdout "$work/messy.route"
contains fmt-stdout out "    servers = [\"127.0.0.1:8080\"]"
check fmt-rewrite 0 "$routec" fmt "$work/messy.route"
check fmt-check-formatted 0 "$routec" fmt --check "$work/messy.route"
check fmt-filter 0 sh -c "'$routec' fmt - <'$work/messy.orig'"
cmp -s "$work/out" "$work/messy.route" && passes=$((passes + 1)) ||
  { echo "FAIL fmt - differs from fmt FILE"; failures=$((failures + 1)); }
printf 'on request {\n    route\n' >"$work/broken.route"
cp "$work/broken.route" "$work/broken.orig"
check fmt-syntax-error 1 "$routec" fmt "$work/broken.route"
contains fmt-syntax-error err "broken.route:3:1: error"
cmp -s "$work/broken.route" "$work/broken.orig" && passes=$((passes + 1)) ||
  { echo "FAIL fmt rewrote a file with syntax errors"; failures=$((failures + 1)); }
check fmt-missing 2 "$routec" fmt "$work/missing.route"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
