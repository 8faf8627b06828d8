#!/usr/bin/env bash
# What observability costs turnout: small requests through one worker with everything an
# operator turns on (a JSON access log of every field, /metrics scraped every second,
# trace context) against everything off (no access log, no scrape, `tracing.enabled:
# false`); and, within the "off" run, the share of turnout's CPU that the counting which
# is never off takes (per-worker metrics, rule hits: perf, when it can sample). Then the
# time a scrape of a 10,000-rule policy's counters takes. A benchmark, not a test: it
# prints figures and asserts nothing.
#
# Method: turnout runs one worker pinned to CPU 0; the nginx origin and wrk share CPU 1.
# The two configurations take turns REPEAT times; the median CPU time per request
# (utime+stime over requests served) is compared.
#
# Usage: bench/observability_bench.sh [BUILD_DIR]   (DURATION=5 REPEAT=3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
turnout=$build/runtime/turnout
duration=${DURATION:-5}
repeat=${REPEAT:-3}
origin_port=18180 off_port=18181 on_port=18182 metrics_port=18183 big_port=18184 big_metrics=18185
source "$root/bench/origin.sh"

start_origin $origin_port 10
# A policy with a few rules that fire on every request, as a real one has.
cat > "$work/policy.route" <<EOF
upstream origin { servers = ["127.0.0.1:$origin_port"] }
on request {
    if req.path == "/healthz" { respond 200 "ok\n" }
    req.header["x-forwarded-host"] = req.host
    route origin
}
on response { resp.header["x-served-by"] = "turnout" }
EOF
require_loopback "$work/policy.route"
cat > "$work/off.yaml" <<EOF
listen: ['127.0.0.1:$off_port']
threads: 1
policy: $work/policy.route
tracing: {enabled: false}
EOF
cat > "$work/on.yaml" <<EOF
listen: ['127.0.0.1:$on_port']
threads: 1
policy: $work/policy.route
metrics: {listen: '127.0.0.1:$metrics_port'}
log: {access: $work/access.log, access_format: json}
EOF
taskset -c 0 "$turnout" --config "$work/off.yaml" 2>>"$work/turnout.log" & off_pid=$!
pids+=($off_pid)
taskset -c 0 "$turnout" --config "$work/on.yaml" 2>>"$work/turnout.log" & on_pid=$!
pids+=($on_pid)
wait_port $off_port
wait_port $on_port

# measure PORT PID: CPU microseconds per request of one wrk run.
measure() {
  local before after out requests
  before=$(cpu_ticks "$2")
  out=$(taskset -c 1 wrk -t1 -c50 -d"${duration}s" "http://127.0.0.1:$1/small")
  after=$(cpu_ticks "$2")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }'
}
scraper() { # every second while wrk runs, as a Prometheus scraping at 1 s would
  while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$metrics_port/metrics" || true; done
}

off=() on=()
for _ in $(seq "$repeat"); do
  off+=("$(measure $off_port $off_pid)")
  scraper & scraper_pid=$!
  on+=("$(measure $on_port $on_pid)")
  kill $scraper_pid 2>/dev/null; wait $scraper_pid 2>/dev/null || true
done
off_median=$(median "${off[@]}") on_median=$(median "${on[@]}")
echo "CPU per small request, 50 connections, median of $repeat x ${duration}s:"
echo "  all off (no access log, no scrape, no tracing)       ${off_median} us   (${off[*]})"
echo "  all on (JSON access log, 1 s scrapes, trace context) ${on_median} us   (${on[*]})"
awk -v a="$off_median" -v b="$on_median" 'BEGIN { printf "  on / off: %.3fx (%+.1f%%)\n", b / a, (b / a - 1) * 100 }'
echo "  access log lines: $(wc -l < "$work/access.log")"

# The counting that is never off, as a share of the "off" run's CPU samples.
if command -v perf >/dev/null && perf record -q -o "$work/probe.data" -p $off_pid -- sleep 0.1 2>/dev/null; then
  perf record -q -o "$work/perf.data" -p $off_pid -- sleep "$duration" 2>/dev/null &
  recorder=$!
  taskset -c 1 wrk -t1 -c50 -d"${duration}s" "http://127.0.0.1:$off_port/small" >/dev/null
  wait $recorder || true
  share=$(perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
    awk '/route_rule_hit|WorkerMetrics|metrics::local|requestEnded|Histogram::observe/ { gsub("%", "", $1); s += $1 } END { printf "%.2f", s }')
  echo "  always-on counting (metrics, rule hits) in the off run: ${share}% of turnout's CPU samples"
fi

# A scrape of a 10,000-rule policy's counters.
python3 "$root/bench/gen_policy.py" 10000 > "$work/big.route"
require_loopback "$work/big.route"
"$turnout" run "$work/big.route" --listen 127.0.0.1:$big_port --threads 2 \
  --metrics 127.0.0.1:$big_metrics 2>>"$work/turnout.log" & pids+=($!)
wait_port $big_metrics
rules=$(curl -s "http://127.0.0.1:$big_metrics/metrics" | grep -c '^turnout_rule_hits_total{')
times=()
for _ in $(seq 10); do
  times+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$big_metrics/metrics")")
done
echo "A scrape of a 10,000-rule policy ($rules rule series): median $(median "${times[@]}") s of 10 (${times[*]})"
