#!/usr/bin/env bash
# Times `routec check` on generated policies of 1,000 and 10,000 host+path rules.
# A benchmark, not a test: it prints figures and never fails on them.
# Usage: bench/check_bench.sh [ROUTEC]   (from the repository root; `make bench` runs it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
routec=${1:-$root/build/release/compiler/routec}
out=$root/build/bench
mkdir -p "$out"

echo "routec check on generated policies ($(nproc) cores, $(date -u +%Y-%m-%d))"
printf '%-8s %-8s %-12s %-12s %s\n' rules lines mean stddev "rules/s"
for rules in 1000 10000; do
  policy=$out/policy_$rules.route
  "$root/bench/gen_policy.py" "$rules" > "$policy"
  "$routec" check "$policy" # must check clean before it is timed
  hyperfine --warmup 2 --runs 10 --style none --export-json "$out/check_$rules.json" \
    "$routec check $policy" > /dev/null
  python3 - "$out/check_$rules.json" "$rules" "$(wc -l < "$policy")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
rules, lines = int(sys.argv[2]), int(sys.argv[3])
print(f"{rules:<8} {lines:<8} {r['mean'] * 1000:8.1f} ms  {r['stddev'] * 1000:8.1f} ms  {rules / r['mean']:,.0f}")
PY
done
echo "goal: 10,000 rules checked in under 1 s"
