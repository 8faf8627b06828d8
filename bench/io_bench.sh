#!/usr/bin/env bash
# turnout's two ways of reading and writing sockets, side by side: `--io uring` (a ring per
# worker, a turn's reads and writes in one system call) against `--io epoll` (a system call
# each), with HAProxy beside them as the yardstick. A benchmark, not a test.
#
# Method: as proxy_bench.sh (one worker pinned to CPU 0, the nginx origin and wrk on CPU
# 1), but many short runs, the three proxies taking turns, and medians of the CPU time per
# request and of the paired ratios: the two modes differ by a few percent, less than this
# VM drifts from one minute to the next.
#
# Usage: bench/io_bench.sh [BUILD_DIR]   (RUNS=15 DURATION=2 CONNECTIONS=200 to change them)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
turnout=$build/runtime/turnout
runs=${RUNS:-15}
duration=${DURATION:-2}
connections=${CONNECTIONS:-200}
origin_port=18280 uring_port=18281 epoll_port=18282 haproxy_port=18283
source "$root/bench/origin.sh"

start_origin $origin_port 10
printf 'upstream origin { servers = ["127.0.0.1:%s"] }\non request { route origin }\n' \
  $origin_port > "$work/bare.route"
require_loopback "$work/bare.route"
taskset -c 0 "$turnout" run "$work/bare.route" --listen 127.0.0.1:$uring_port --threads 1 --io uring \
  2>>"$work/turnout.log" & uring_pid=$!
pids+=($uring_pid)
taskset -c 0 "$turnout" run "$work/bare.route" --listen 127.0.0.1:$epoll_port --threads 1 --io epoll \
  2>>"$work/turnout.log" & epoll_pid=$!
pids+=($epoll_pid)
haproxy_conf $haproxy_port $origin_port
taskset -c 0 haproxy -f "$work/haproxy.cfg" & haproxy_pid=$!
pids+=($haproxy_pid)
for port in $uring_port $epoll_port $haproxy_port; do wait_port $port; done
if grep -q "io_uring refused" "$work/turnout.log"; then
  echo "io_bench: this kernel refuses io_uring ($(grep -o 'refused ([^)]*)' "$work/turnout.log" | head -1))" >&2
  exit 1
fi

# CPU microseconds the process `$2` spent per request over one wrk run against port `$1`.
cpu_per_request() {
  local before after requests
  before=$(awk '{print $14 + $15}' "/proc/$2/stat")
  requests=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" "http://127.0.0.1:$1/small" |
             awk '/requests in/ {print $1}')
  after=$(awk '{print $14 + $15}' "/proc/$2/stat")
  awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }'
}

echo "io_bench: $(date -u +%Y-%m-%d), $runs runs of ${duration}s, $connections connections, small body"
for _ in $(seq "$runs"); do
  echo "$(cpu_per_request $uring_port $uring_pid) $(cpu_per_request $epoll_port $epoll_pid)" \
       "$(cpu_per_request $haproxy_port $haproxy_pid)"
done > "$work/runs"
python3 - "$work/runs" <<'EOF'
import statistics, sys
runs = [list(map(float, line.split())) for line in open(sys.argv[1])]
uring, epoll, haproxy = zip(*runs)
print(f"CPU per request (median): uring {statistics.median(uring):.1f} us, "
      f"epoll {statistics.median(epoll):.1f} us, HAProxy {statistics.median(haproxy):.1f} us")
ratio = lambda a, b: statistics.median([x / y for x, y in zip(a, b)])
print(f"paired ratios (median): uring / epoll {ratio(uring, epoll):.3f}, "
      f"uring / HAProxy {ratio(uring, haproxy):.3f}, epoll / HAProxy {ratio(epoll, haproxy):.3f}")
EOF
