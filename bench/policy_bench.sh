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
for rules in 10 100 1000 10000; do
  "$root/bench/gen_policy.py" "$rules" > "$out/policy_$rules.route"
  args+=(--table "$out/policy_$rules.route")
done
echo "policy_bench on $(nproc) cores, $(date -u +%Y-%m-%d)"
"$build/bench/policy_bench" "${args[@]}" --benchmark_min_time=0.2s --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true | grep -E "^(request|compile).*_median|^-|^Benchmark"
