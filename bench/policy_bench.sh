#!/usr/bin/env bash
# The policy engine's figures: the request phase per request on the JIT, the interpreter
# and hand-written C++, and source-to-callable time, for DESIGN.md's sketch, the examples
# and generated policies of 10, 100, 1,000 and 10,000 host+path rules.
# A benchmark, not a test. Usage: bench/policy_bench.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
out=$root/build/bench
mkdir -p "$out"
args=(--sketch "$root/bench/sketch.route")
for example in "$root"/examples/*.route; do
  args+=(--example "$example")
done
# 50 regex redirects on the path, the request hitting the last: one RE2::Set pass in the
# JIT against 50 regex searches in the interpreter.
python3 - > "$out/regex_redirects.route" <<'EOF2'
print('upstream u { servers = ["127.0.0.1:8080"] }\non request {')
for i in range(50):
    print(f'    if req.path ~ r"^/old{i}/(?P<rest>.*)$" {{ redirect 301 "https://example.com/new{i}/" + match.rest }}')
print('    route u\n}\ntest "the last redirect" {\n    request GET "http://example.com/old49/x"\n    expect status 301\n}')
EOF2
args+=(--example "$out/regex_redirects.route")
for rules in 10 100 1000 10000; do
  "$root/bench/gen_policy.py" "$rules" > "$out/policy_$rules.route"
  args+=(--table "$out/policy_$rules.route")
done
echo "policy_bench on $(nproc) cores, $(date -u +%Y-%m-%d)"
"$build/bench/policy_bench" "${args[@]}" --benchmark_min_time=0.2s --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true | grep -E "^(request|compile).*_median|^-|^Benchmark"
