#!/usr/bin/env bash
# gRPC and WebSocket through the proxies side by side, one worker each pinned to CPU 0, the
# load and the origins on CPU 1. gRPC: unary calls (h2load, h2c, -c 50 -m 10, a 10-byte
# message) through turnout (protocol = h2c) and nginx (grpc_pass) to an nginx h2c origin
# that answers each call with a message and grpc-status in trailers. WebSocket: echo
# messages (bench/ws_echo.py: 50 connections, each a 32-byte message at a time) through
# turnout, nginx and HAProxy to an asyncio echo origin. Prints calls and messages per
# CPU-second of each proxy, and the ratios. A benchmark, not a test.
# Usage: bench/grpc_ws_bench.sh [BUILD_DIR]   (DURATION=5 seconds per run, ROUNDS=3;
# TURNOUT_IO=epoll for turnout's epoll path)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
turnout=$build/runtime/turnout
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
grpc_origin=18600
ws_origin=18601
declare -A grpc=([turnout]=18611 [nginx]=18612)
declare -A ws=([turnout]=18621 [nginx]=18622 [haproxy]=18623)
declare -A pid
source "$root/bench/origin.sh"
ulimit -n "$(ulimit -Hn)"

# The gRPC origin: nginx over h2c, any POST answered with one message and grpc-status 0.
mkdir -p "$work/grpc"
printf '\0\0\0\0\012echo:hello' > "$work/grpc/message"
printf '\0\0\0\0\005hello' > "$work/call.bin"
nginx_conf grpc-origin "worker_cpu_affinity 10;" "\
  server {
    listen 127.0.0.1:$grpc_origin http2;
    location / {
      default_type application/grpc;
      root $work/grpc;
      try_files /message =404;
      error_page 405 =200 \$uri; # a POST gets the file too
      add_trailer grpc-status 0 always;
    }
  }"
nginx -c "$work/grpc-origin/nginx.conf" -p "$work/grpc-origin" & pids+=($!)
taskset -c 1 /usr/bin/python3 "$root/bench/ws_echo.py" origin $ws_origin & pids+=($!)
wait_port $grpc_origin
wait_port $ws_origin

cat > "$work/bench.route" <<POLICY
upstream calls { servers = ["127.0.0.1:$grpc_origin"] protocol = h2c }
upstream ws { servers = ["127.0.0.1:$ws_origin"] }
on request {
    if req.upgrade == "websocket" { route ws }
    route calls
}
POLICY
require_loopback "$work/bench.route"
cat > "$work/turnout.yaml" <<CONF
listen: ["127.0.0.1:${grpc[turnout]}", "127.0.0.1:${ws[turnout]}"]
threads: 1
policy: $work/bench.route
limits: { max_connections: 100000, max_connections_per_client: 0 }
http2: { max_requests_per_connection: 100000000 }
${TURNOUT_IO:+io: $TURNOUT_IO}
CONF

nginx_conf nginx "master_process off;" "\
  upstream grpc { server 127.0.0.1:$grpc_origin; keepalive 1024; }
  server {
    listen 127.0.0.1:${grpc[nginx]} http2;
    location / { grpc_pass grpc://grpc; }
  }
  server {
    listen 127.0.0.1:${ws[nginx]};
    location / {
      proxy_pass http://127.0.0.1:$ws_origin;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection upgrade;
      proxy_read_timeout 300s;
    }
  }"

{ haproxy_head; cat <<CONF; } > "$work/haproxy.cfg"
  timeout tunnel 300s
frontend f
  bind 127.0.0.1:${ws[haproxy]}
  default_backend b
backend b
  server o 127.0.0.1:$ws_origin
CONF

start_proxy() {
  case $1 in
    turnout) taskset -c 0 "$turnout" --config "$work/turnout.yaml" 2>>"$work/turnout.log" & ;;
    nginx) taskset -c 0 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & ;;
    haproxy) taskset -c 0 haproxy -f "$work/haproxy.cfg" -db & ;;
  esac
  pid[$1]=$!
  pids+=("${pid[$1]}")
  if [ "$1" != haproxy ]; then wait_port "${grpc[$1]:-${ws[$1]}}"; fi
  wait_port "${ws[$1]}"
}

per_cpu_second() { awk -v n="$1" -v t="$2" -v hz="$hz" 'BEGIN { printf "%.0f", (t > 0 ? n / (t / hz) : 0) }'; }

# grpc_run PROXY: calls per CPU-second of the proxy, from one h2load run.
grpc_run() {
  local before after out calls
  before=$(cpu_ticks "${pid[$1]}")
  out=$(taskset -c 1 h2load -D "$duration" -c 50 -m 10 -d "$work/call.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:${grpc[$1]}/bench.Echo/Unary" 2>&1) || true
  after=$(cpu_ticks "${pid[$1]}")
  calls=$(echo "$out" | awk '/^status codes:/ {print $3}')
  per_cpu_second "${calls:-0}" $((after - before))
}

# ws_run PROXY: echoed messages per CPU-second of the proxy.
ws_run() {
  local before after messages
  before=$(cpu_ticks "${pid[$1]}")
  messages=$(taskset -c 1 /usr/bin/python3 "$root/bench/ws_echo.py" client "${ws[$1]}" 50 "$duration")
  after=$(cpu_ticks "${pid[$1]}")
  per_cpu_second "$messages" $((after - before))
}

echo "grpc_ws_bench: $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); median of $rounds ${duration}s runs, proxies taking turns; one worker each on CPU 0"
for proxy in turnout nginx haproxy; do start_proxy $proxy; done
sleep 0.5
declare -A runs=()
for round in $(seq "$rounds"); do
  for proxy in turnout nginx; do runs[grpc,$proxy]+=" $(grpc_run $proxy)"; done
  for proxy in turnout nginx haproxy; do runs[ws,$proxy]+=" $(ws_run $proxy)"; done
done
# shellcheck disable=SC2086 # the runs are words
for proxy in turnout nginx; do
  printf '  gRPC unary calls per CPU-second  %-8s %8s\n' $proxy "$(median ${runs[grpc,$proxy]})"
done
# shellcheck disable=SC2086
for proxy in turnout nginx haproxy; do
  printf '  WebSocket messages per CPU-second %-8s %8s\n' $proxy "$(median ${runs[ws,$proxy]})"
done
# shellcheck disable=SC2086
awk -v t="$(median ${runs[grpc,turnout]})" -v n="$(median ${runs[grpc,nginx]})" \
  'BEGIN { printf "  gRPC: turnout %.2fx nginx'"'"'s calls per CPU-second\n", t / n }'
# shellcheck disable=SC2086
awk -v t="$(median ${runs[ws,turnout]})" -v n="$(median ${runs[ws,nginx]})" -v h="$(median ${runs[ws,haproxy]})" \
  'BEGIN { printf "  WebSocket: turnout %.2fx nginx'"'"'s, %.2fx HAProxy'"'"'s messages per CPU-second\n", t / n, t / h }'
