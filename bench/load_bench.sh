#!/usr/bin/env bash
# What loading a 1,000-rule policy costs the proxy, from its source and from its artifact
# (routec build), and what a kept version of each holds: bench/policy_load.cpp's figures.
# A benchmark, not a test: it prints figures and never fails on them.
# Usage: bench/load_bench.sh [BUILD_DIR]   (from the repository root; `make bench` runs it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
out=$root/build/bench
mkdir -p "$out"
policy=$out/load_1000.route
"$root/bench/gen_policy.py" 1000 > "$policy"
"$build/compiler/routec" build "$policy" -o "$out/load_1000.art" > /dev/null
echo "policy loads in turnout ($(nproc) cores, $(date -u +%Y-%m-%d)): median of 10, and per kept version"
"$build/bench/policy_load_bench" "$policy" "$out/load_1000.art" | tee "$out/load.txt"
python3 - "$out/load.txt" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1]).read().splitlines()[1:]]
source, artifact = float(rows[0][2]), float(rows[1][2])
print(f"artifact load / source load: {artifact / source:.2f}x ({artifact:.1f} ms against {source:.1f} ms)")
PY
