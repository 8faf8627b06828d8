#!/usr/bin/env bash
# TLS termination side by side: turnout, nginx and HAProxy, one worker each pinned to CPU 0,
# each answering a small response itself (no origin: the TLS work alone), with an ECDSA
# P-256 and an RSA 2048 certificate. For each: full handshakes per CPU-second of the proxy
# (`openssl s_time -new`, a new connection per request), resumed handshakes per CPU-second
# (`s_time -reuse`, TLS 1.2 session resumption), and CPU per request over kept-alive HTTPS
# (wrk, 50 connections). Clients run on CPU 1. A benchmark, not a test.
# Usage: bench/tls_bench.sh [BUILD_DIR]   (DURATION=5 seconds per run, ROUNDS=3 runs per figure,
# WORKERS=1 worker per proxy)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
turnout=$build/runtime/turnout
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
# WORKERS=2: two workers (threads, or nginx's processes) each, on CPUs 0 and 1, beside the
# clients: OpenSSL 3's locks under more than one thread (HAProxy's report on SSL stacks).
workers=${WORKERS:-1}
cpus=$([ "$workers" = 1 ] && echo 0 || echo "0-$((workers - 1))")
turnout_port=18443 nginx_port=18444 haproxy_port=18445
source "$root/bench/origin.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ecdsa.key" \
  -out "$work/ecdsa.pem" -days 2 -subj /CN=bench.test 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/rsa.key" -out "$work/rsa.pem" -days 2 \
  -subj /CN=bench.test 2>/dev/null
printf 'on request { respond 200 "hello over tls\\n" }\n' > "$work/tls.route"

# The CPU ticks of a process and of its children (nginx's workers, with WORKERS > 1).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo $total
}
hz=$(getconf CLK_TCK)

# start KIND: the three proxies on KIND's certificate; sets their pids.
start() {
  local kind=$1
  taskset -c "$cpus" "$turnout" run "$work/tls.route" --listen-tls 127.0.0.1:$turnout_port \
    --cert "$work/$kind.pem" --key "$work/$kind.key" --threads "$workers" 2>>"$work/turnout.log" &
  turnout_pid=$!
  pids+=($turnout_pid)
  nginx_conf nginx-$kind "$([ "$workers" = 1 ] && echo "master_process off;")" "\
  ssl_session_cache shared:SSL:10m;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/$kind.pem;
    ssl_certificate_key $work/$kind.key;
    ssl_protocols TLSv1.2 TLSv1.3; # as turnout and HAProxy: nginx 1.22 leaves 1.3 out
    location / { return 200 \"hello over tls\\n\"; }
  }"
  sed -i "s/^worker_processes 1;/worker_processes $workers;/" "$work/nginx-$kind/nginx.conf"
  taskset -c "$cpus" nginx -c "$work/nginx-$kind/nginx.conf" -p "$work/nginx-$kind" & nginx_pid=$!
  pids+=($nginx_pid)
  cat "$work/$kind.pem" "$work/$kind.key" > "$work/$kind.haproxy.pem"
  { haproxy_head | sed "s/nbthread 1/nbthread $workers/; s|cpu-map 1/1 0|cpu-map 1/all $cpus|"
    cat <<CONF; } > "$work/haproxy-$kind.cfg"
frontend f
  bind 127.0.0.1:$haproxy_port ssl crt $work/$kind.haproxy.pem
  http-request return status 200 content-type text/plain string "hello over tls\n"
CONF
  taskset -c "$cpus" haproxy -f "$work/haproxy-$kind.cfg" & haproxy_pid=$!
  pids+=($haproxy_pid)
  wait_port $turnout_port
  wait_port $nginx_port
  wait_port $haproxy_port
  sleep 0.3
}

stop() {
  kill "$turnout_pid" "$haproxy_pid" "$nginx_pid" 2>/dev/null || true
  sleep 0.5
}

# measure PID COMMAND...: runs COMMAND on CPU 1 and prints "COUNT CPU_SECONDS": what the
# command counted (connections or requests) and the CPU the process PID spent meanwhile.
measure() {
  local pid=$1
  shift
  local before after out count
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 "$@" 2>&1 </dev/null) || true
  after=$(cpu_ticks "$pid")
  case $1 in
    openssl) count=$(echo "$out" | awk '/connections in [0-9.]+s/ {print $1; exit}') ;;
    wrk) count=$(echo "$out" | awk '/requests in/ {print $1}') ;;
  esac
  echo "$count $(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { print t / hz }')"
}

echo "tls_bench: $(date -u +%Y-%m-%d), $(nproc) cores, median of $rounds ${duration}s runs taking turns, $workers worker(s) each on CPU $cpus"
printf '%-8s %-6s %18s %18s %22s\n' proxy cert "full hs/CPU-s" "resumed hs/CPU-s" "keep-alive us CPU/req"
declare -A full resumed perreq

# median VALUES...: the middle one (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Each figure is the median of ROUNDS runs in which the three proxies take turns: the
# machine's speed drifts over minutes, and a proxy measured in a slow spell alone would
# look slow.
for kind in ecdsa rsa; do
  start $kind
  declare -A runs=()
  for round in $(seq "$rounds"); do
    for proxy in turnout nginx haproxy; do
      port_var=${proxy}_port pid_var=${proxy}_pid
      port=${!port_var} pid=${!pid_var}
      read -r n s <<<"$(measure "$pid" openssl s_time -connect 127.0.0.1:$port -new -time "$duration")"
      runs[full,$proxy]+=" $(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')"
      read -r n s <<<"$(measure "$pid" openssl s_time -connect 127.0.0.1:$port -reuse -tls1_2 -time "$duration")"
      runs[resumed,$proxy]+=" $(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')"
      read -r n s <<<"$(measure "$pid" wrk -t1 -c50 -d"${duration}s" "https://127.0.0.1:$port/")"
      runs[perreq,$proxy]+=" $(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.2f", (n > 0 ? s * 1e6 / n : 0) }')"
    done
  done
  for proxy in turnout nginx haproxy; do
    # shellcheck disable=SC2086 # the runs are words
    full[$proxy,$kind]=$(median ${runs[full,$proxy]})
    # shellcheck disable=SC2086
    resumed[$proxy,$kind]=$(median ${runs[resumed,$proxy]})
    # shellcheck disable=SC2086
    perreq[$proxy,$kind]=$(median ${runs[perreq,$proxy]})
    printf '%-8s %-6s %18s %18s %22s\n' $proxy $kind "${full[$proxy,$kind]}" "${resumed[$proxy,$kind]}" \
      "${perreq[$proxy,$kind]}"
  done
  unset runs
  stop $kind
done
for kind in ecdsa rsa; do
  for peer in nginx haproxy; do
    awk -v k=$kind -v p=$peer -v f="${full[turnout,$kind]}" -v fp="${full[$peer,$kind]}" \
      -v r="${resumed[turnout,$kind]}" -v rp="${resumed[$peer,$kind]}" \
      -v c="${perreq[turnout,$kind]}" -v cp="${perreq[$peer,$kind]}" \
      'BEGIN { printf "%-6s turnout / %-8s full %.2fx, resumed %.2fx (higher is better); keep-alive CPU/req %.2fx (lower is better)\n", k, p, f / fp, r / rp, c / cp }'
  done
done
