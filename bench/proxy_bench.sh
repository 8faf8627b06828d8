#!/usr/bin/env bash
# turnout, nginx and HAProxy side by side, proxying to the same nginx origin on loopback.
# A benchmark, not a test: it prints figures and asserts nothing.
#
# Method: each proxy runs one worker pinned to CPU 0; the origin and wrk share CPU 1.
# Every case runs REPEAT times, the proxies taking turns, and the median is reported:
# req/s, p50/p99 latency, the proxy's own CPU time per request (utime+stime of its worker
# over requests served, the steadiest figure on a shared 2-core machine) and its peak RSS
# under load (sampled while wrk runs), and beside it what CPU 1 (origin and wrk) spent per
# request, which shows a proxy that looks cheap by making its neighbours work. Then
# turnout's ratio to each peer, and what DESIGN.md's sketch policy costs over a bare
# `route`.
#
# Usage: bench/proxy_bench.sh [BUILD_DIR]   (DURATION=5 REPEAT=3 to change the runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
turnout=$build/runtime/turnout
duration=${DURATION:-5}
repeat=${REPEAT:-3}
origin_port=18080 turnout_port=18081 nginx_port=18082 haproxy_port=18083 sketch_port=18084
source "$root/bench/origin.sh"

# The origin: one worker on CPU 1.
start_origin $origin_port 10

# The proxies, one worker each on CPU 0.
cat > "$work/bare.route" <<EOF
upstream origin { servers = ["127.0.0.1:$origin_port"] }
on request { route origin }
EOF
sketch_policy "$work/sketch.route" $origin_port
nginx_proxy_conf $nginx_port $origin_port "worker_cpu_affinity 01;"
haproxy_conf $haproxy_port $origin_port

# start_turnout POLICY PORT: sets started_pid.
start_turnout() {
  require_loopback "$1"
  taskset -c 0 "$turnout" run "$1" --listen 127.0.0.1:$2 --threads 1 2>>"$work/turnout.log" &
  started_pid=$!
  pids+=($started_pid)
  wait_port $2
}
start_turnout "$work/bare.route" $turnout_port
turnout_pid=$started_pid
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)
wait_port $nginx_port
nginx_worker=$(pgrep -P "$(cat "$work/nginx/nginx.pid")" | head -1)
taskset -c 0 haproxy -f "$work/haproxy.cfg" & haproxy_pid=$!
pids+=($haproxy_pid)
wait_port $haproxy_port

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Busy ticks of CPU 1 (the origin and wrk): a proxy could look cheap by moving work there.
cpu1_ticks() { awk '$1 == "cpu1" {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# RSS under load: sampled every 0.2 s while wrk runs, into FILE (the sampler runs beside wrk).
sample_rss() {
  local end=$((SECONDS + duration))
  while ((SECONDS < end)); do rss_kb "$1" >> "$2"; sleep 0.2; done
}
peak_rss() { sort -n "$work/rss.$1" | tail -1; }

# One wrk run against a proxy: prints "req/s p50_ms p99_ms cpu_us_per_request peak_rss_mb
# cpu1_us_per_request".
measure() {
  local port=$1 pid=$2 connections=$3 path=$4
  local before after before1 after1 out requests sampler peak samples=$work/samples.$pid
  : > "$samples"
  before=$(cpu_ticks "$pid")
  before1=$(cpu1_ticks)
  sample_rss "$pid" "$samples" & sampler=$!
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "http://127.0.0.1:$port/$path")
  after=$(cpu_ticks "$pid")
  after1=$(cpu1_ticks)
  wait $sampler
  peak=$(sort -n "$samples" | tail -1)
  echo "$peak" >> "$work/rss.$pid"
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  if echo "$out" | grep -q "Non-2xx"; then
    echo "warning: $port/$path: $(echo "$out" | grep Non-2xx)" >&2
  fi
  echo "$out" | awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    -v rss="$peak" -v ticks1=$((after1 - before1)) '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    END { printf "%.0f %.3f %.3f %.2f %.1f %.2f\n", rps, p50, p99, ticks / hz * 1e6 / n, rss / 1024, ticks1 / hz * 1e6 / n }'
}

# The median of the runs in FILE (one per line, as measure prints them), by CPU per request.
median() {
  sort -k4 -n "$1" | awk -v r="$repeat" 'NR == int((r + 1) / 2)'
}

echo "proxy_bench: $(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)),"
echo "  ${duration}s x $repeat runs per case (median), proxies pinned to CPU 0, origin and wrk on CPU 1"
printf '\n%-8s %-6s %-5s %10s %9s %9s %12s %8s %14s\n' proxy body conns "req/s" "p50 ms" "p99 ms" "CPU us/req" "RSS MB" "CPU1 us/req"
declare -A cpu rps mem
for path in small 16k 1m; do
  for connections in 50 200; do
    # The proxies take turns, run by run: the machine's drift falls on all three alike.
    for _ in $(seq "$repeat"); do
      measure $turnout_port $turnout_pid $connections $path >> "$work/runs.turnout"
      measure $nginx_port $nginx_worker $connections $path >> "$work/runs.nginx"
      measure $haproxy_port $haproxy_pid $connections $path >> "$work/runs.haproxy"
    done
    for proxy in turnout nginx haproxy; do
      read -r r p50 p99 c m c1 <<<"$(median "$work/runs.$proxy")"
      rm "$work/runs.$proxy"
      cpu[$proxy,$path,$connections]=$c
      rps[$proxy,$path,$connections]=$r
      mem[$proxy,$path,$connections]=$m
      printf '%-8s %-6s %-5s %10s %9s %9s %12s %8s %14s\n' $proxy $path $connections "$r" "$p50" "$p99" "$c" "$m" "$c1"
    done
  done
done

printf '\npeak RSS under load (KiB): turnout %s, nginx worker %s, haproxy %s\n' \
  "$(peak_rss $turnout_pid)" "$(peak_rss $nginx_worker)" "$(peak_rss $haproxy_pid)"

printf '\nturnout / peer (CPU per request and RSS: lower is better; req/s: higher is better)\n'
for path in small 16k 1m; do
  for connections in 50 200; do
    awk -v t="${cpu[turnout,$path,$connections]}" -v n="${cpu[nginx,$path,$connections]}" \
        -v h="${cpu[haproxy,$path,$connections]}" -v tr="${rps[turnout,$path,$connections]}" \
        -v nr="${rps[nginx,$path,$connections]}" -v hr="${rps[haproxy,$path,$connections]}" \
        -v tm="${mem[turnout,$path,$connections]}" -v nm="${mem[nginx,$path,$connections]}" \
        -v hm="${mem[haproxy,$path,$connections]}" -v p=$path -v c=$connections \
        'BEGIN { printf "%-6s %-5s CPU/req vs nginx %.2fx, vs haproxy %.2fx; req/s vs nginx %.2fx, vs haproxy %.2fx; RSS vs nginx %.2fx, vs haproxy %.2fx\n", p, c, t / n, t / h, tr / nr, tr / hr, tm / nm, tm / hm }'
  done
done

# Programmability: the sketch's policy against a bare route, small body, 200 connections,
# a second turnout taking turns with the first.
start_turnout "$work/sketch.route" $sketch_port
sketch_pid=$started_pid
for _ in $(seq "$repeat"); do
  measure $turnout_port $turnout_pid 200 small >> "$work/runs.bare"
  measure $sketch_port $sketch_pid 200 small >> "$work/runs.sketch"
done
bare=$(median "$work/runs.bare" | awk '{print $4}')
sketch=$(median "$work/runs.sketch" | awk '{print $4}')
awk -v b="$bare" -v s="$sketch" 'BEGIN { printf "\nsketch policy: %.2f us CPU per request, bare route %.2f us: %+.2f us\n", s, b, s - b }'
