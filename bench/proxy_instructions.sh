#!/usr/bin/env bash
# User-space instructions per proxied request, turnout against nginx, counted by callgrind:
# the one proxy figure that does not drift with the machine (wall-clock figures on this
# shared VM move by 2x from one minute to the next; instruction counts repeat).
#
# Each proxy runs one worker under callgrind in front of the same nginx origin; wrk sends
# small requests over 10 kept-alive connections for DURATION seconds; the worker's
# instruction count (turnout: its worker thread; nginx: its worker process) over the
# requests served is the figure. Startup is inside the count, so longer runs read lower.
# Turnout runs three policies: a bare `route` (the proxy's own cost), the design sketch's
# (as bench/proxy_bench.sh's: an ACL, a regex redirect, a host match, weighted round robin,
# a Host rewrite, a cookie removal, a response header), and the bare one balanced by
# hash(client.ip) (what a hashed upstream adds: its key, through its native function).
#
# Usage: bench/proxy_instructions.sh [BUILD_DIR]   (DURATION=10 to change the run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
duration=${DURATION:-10}
origin_port=18180 proxy_port=18181
source "$root/bench/origin.sh"

# Proxies under valgrind take seconds to answer: wait for a response, not a listener.
wait_http() {
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$1/small" && return 0
    sleep 0.1
  done
  echo "nothing answers on $1" >&2
  exit 1
}

start_origin $origin_port

# Runs wrk against the proxy, stops it with `$2`, and prints instructions per request from
# the callgrind file `$1`.
count() {
  local file=$1 stop=$2 requests instructions
  requests=$(wrk -t1 -c10 -d"${duration}s" "http://127.0.0.1:$proxy_port/small" |
             awk '/requests in/ {print $1}')
  eval "$stop"
  sleep 2
  instructions=$(awk '/^(summary|totals):/ {print $2; exit}' "$file")
  echo $((instructions / requests))
}

printf 'upstream origin { servers = ["127.0.0.1:%s"] }\non request { route origin }\n' \
  $origin_port > "$work/bare.route"
printf 'upstream origin { servers = ["127.0.0.1:%s"]\n balance = hash(client.ip) }\non request { route origin }\n' \
  $origin_port > "$work/hash.route"
sketch_policy "$work/sketch.route" $origin_port
require_loopback "$work/bare.route" "$work/hash.route" "$work/sketch.route"

# count_turnout POLICY: instructions per request of turnout's worker serving POLICY.
count_turnout() {
  local name
  name=$(basename "$1" .route)
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/$name.cg" \
    "$build/runtime/turnout" run "$1" --listen 127.0.0.1:$proxy_port --threads 1 \
    2>/dev/null & turnout_pid=$!
  pids+=($turnout_pid)
  wait_http $proxy_port
  # Thread 1 is main, thread 2 the worker.
  count "$work/$name.cg-02" "kill -TERM $turnout_pid; wait $turnout_pid || true"
}
turnout=$(count_turnout "$work/bare.route")
sketch=$(count_turnout "$work/sketch.route")
hashed=$(count_turnout "$work/hash.route")

nginx_proxy_conf $proxy_port $origin_port "master_process off;"
valgrind --tool=callgrind --callgrind-out-file="$work/nginx.cg" \
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>/dev/null & nginx_pid=$!
pids+=($nginx_pid)
wait_http $proxy_port
nginx=$(count "$work/nginx.cg" "kill -QUIT $nginx_pid; wait $nginx_pid || true")

printf 'instructions per proxied small request (callgrind, one worker, %ss of wrk -c10)\n' "$duration"
printf '  turnout  %6d\n  nginx    %6d\n  turnout/nginx  %s\n' "$turnout" "$nginx" \
  "$(awk -v a="$turnout" -v b="$nginx" 'BEGIN {printf "%.2f", a / b}')"
printf '  turnout, the sketch policy        %6d (%+d over a bare route)\n' "$sketch" $((sketch - turnout))
printf '  turnout, hash(client.ip) balance  %6d (%+d over round robin)\n' "$hashed" $((hashed - turnout))
