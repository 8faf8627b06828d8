#!/usr/bin/env bash
# HTTP/2 towards clients side by side: turnout, nginx, HAProxy and h2o, one worker each
# pinned to CPU 0, proxying to an nginx origin over HTTP/1.1 (upstream keep-alive), h2load
# and the origin on CPU 1. For h2c (prior knowledge) and TLS (ALPN h2, ECDSA P-256), and for
# a small response, 16 KiB and 1 MiB: requests per second, the proxy's CPU per request and
# the p99 latency (h2load, -c 50 -m 10, from its per-request log); then the memory an idle
# HTTP/2 connection costs each (bench/hold_connections.py --h2). A benchmark, not a test.
# Usage: bench/h2_bench.sh [BUILD_DIR]   (DURATION=5 seconds per run, ROUNDS=3 runs per
# figure, the proxies taking turns; N=2000 idle connections)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
turnout=$build/runtime/turnout
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
n=${N:-2000}
origin_port=18500
declare -A plain=([turnout]=18501 [nginx]=18502 [haproxy]=18503 [h2o]=18504)
declare -A tls=([turnout]=18511 [nginx]=18512 [haproxy]=18513 [h2o]=18514)
declare -A pid
proxies=(turnout nginx haproxy h2o)
source "$root/bench/origin.sh"
ulimit -n "$(ulimit -Hn)"

start_origin $origin_port 10
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ec.key" \
  -out "$work/ec.pem" -days 2 -subj /CN=bench.test 2>/dev/null
cat "$work/ec.pem" "$work/ec.key" > "$work/ec.haproxy.pem"

cat > "$work/bare.route" <<POLICY
upstream origin { servers = ["127.0.0.1:$origin_port"] }
on request { route origin }
POLICY
require_loopback "$work/bare.route"
cat > "$work/turnout.yaml" <<CONF
listen:
  - "127.0.0.1:${plain[turnout]}"
  - address: "127.0.0.1:${tls[turnout]}"
    tls: { certificates: [{ cert: $work/ec.pem, key: $work/ec.key }] }
threads: 1
policy: $work/bare.route
limits: { max_connections: 100000, max_connections_per_client: 0 }
http2: { max_requests_per_connection: 100000000 }
CONF

nginx_conf nginx "master_process off;" "\
  upstream origin { server 127.0.0.1:$origin_port; keepalive 1024; }
  server {
    listen 127.0.0.1:${plain[nginx]} http2;
    listen 127.0.0.1:${tls[nginx]} ssl http2;
    ssl_certificate $work/ec.pem;
    ssl_certificate_key $work/ec.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
  }"

{ haproxy_head; cat <<CONF; } > "$work/haproxy.cfg"
  http-reuse always
frontend f
  bind 127.0.0.1:${plain[haproxy]} proto h2
  bind 127.0.0.1:${tls[haproxy]} ssl crt $work/ec.haproxy.pem alpn h2
  default_backend b
backend b
  server o 127.0.0.1:$origin_port
CONF

cat > "$work/h2o.conf" <<CONF
num-threads: 1
user: $(id -un)
access-log: /dev/null
http2-idle-timeout: 600
listen: { host: 127.0.0.1, port: ${plain[h2o]} }
listen:
  host: 127.0.0.1
  port: ${tls[h2o]}
  ssl: { certificate-file: $work/ec.pem, key-file: $work/ec.key }
hosts:
  default:
    paths:
      /: { proxy.reverse.url: "http://127.0.0.1:$origin_port/" }
CONF

start_proxy() {
  case $1 in
    turnout) taskset -c 0 "$turnout" --config "$work/turnout.yaml" 2>>"$work/turnout.log" & ;;
    nginx) taskset -c 0 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & ;;
    haproxy) taskset -c 0 haproxy -f "$work/haproxy.cfg" -db & ;;
    h2o) taskset -c 0 h2o -c "$work/h2o.conf" >/dev/null 2>&1 & ;;
  esac
  pid[$1]=$!
  pids+=("${pid[$1]}")
  wait_port "${plain[$1]}"
  wait_port "${tls[$1]}"
}
stop_proxy() {
  kill "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" 2>/dev/null || true
}


# run PROXY SCHEME PATH: one h2load run on CPU 1; prints "REQ/S US_CPU/REQ P99_MS".
run() {
  local proxy=$1 scheme=$2 path=$3 port before after out
  port=$([ "$scheme" = https ] && echo "${tls[$proxy]}" || echo "${plain[$proxy]}")
  before=$(cpu_ticks "${pid[$proxy]}")
  out=$(taskset -c 1 h2load -D "$duration" -c 50 -m 10 --log-file="$work/latency.log" \
    "$scheme://127.0.0.1:$port$path" 2>&1) || true
  after=$(cpu_ticks "${pid[$proxy]}")
  local done rps
  done=$(echo "$out" | awk '/^requests:/ {print $8}')
  rps=$(echo "$out" | awk '/^finished in/ {print $4}')
  local p99
  p99=$(awk '{print $3}' "$work/latency.log" | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", v[int(NR * 0.99)] / 1000; else print 0 }')
  awk -v r="$rps" -v d="$done" -v t=$((after - before)) -v hz="$hz" -v p="$p99" \
    'BEGIN { printf "%.0f %.2f %s\n", r, (d > 0 ? t / hz * 1e6 / d : 0), p }'
}

echo "h2_bench: $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); median of $rounds ${duration}s runs, proxies taking turns; one worker each on CPU 0"
declare -A rps cpu p99
for proxy in "${proxies[@]}"; do start_proxy "$proxy"; done
sleep 0.5
for scheme in http https; do
  for path in /small /16k /1m; do
    declare -A runs=()
    for round in $(seq "$rounds"); do
      for proxy in "${proxies[@]}"; do
        read -r r c p <<<"$(run "$proxy" $scheme $path)"
        runs[r,$proxy]+=" $r" runs[c,$proxy]+=" $c" runs[p,$proxy]+=" $p"
      done
    done
    for proxy in "${proxies[@]}"; do
      # shellcheck disable=SC2086 # the runs are words
      rps[$proxy,$scheme,$path]=$(median ${runs[r,$proxy]})
      # shellcheck disable=SC2086
      cpu[$proxy,$scheme,$path]=$(median ${runs[c,$proxy]})
      # shellcheck disable=SC2086
      p99[$proxy,$scheme,$path]=$(median ${runs[p,$proxy]})
    done
    unset runs
  done
done
printf '%-8s %-6s %-6s %10s %14s %9s\n' proxy scheme path "req/s" "us CPU/req" "p99 ms"
for scheme in http https; do
  for path in /small /16k /1m; do
    for proxy in "${proxies[@]}"; do
      printf '%-8s %-6s %-6s %10s %14s %9s\n' $proxy $([ $scheme = http ] && echo h2c || echo h2) $path \
        "${rps[$proxy,$scheme,$path]}" "${cpu[$proxy,$scheme,$path]}" "${p99[$proxy,$scheme,$path]}"
    done
    best=$(for proxy in nginx haproxy h2o; do echo "${cpu[$proxy,$scheme,$path]} $proxy"; done | sort -g | head -1)
    awk -v t="${cpu[turnout,$scheme,$path]}" -v b="${best% *}" -v who="${best#* }" -v s=$scheme -v p=$path \
      'BEGIN { printf "  %s %s: turnout CPU/request %.2fx the best peer'"'"'s (%s)\n", s, p, t / b, who }'
  done
done
for proxy in "${proxies[@]}"; do stop_proxy "$proxy"; done

echo "idle HTTP/2 connections: $n each (RSS of the serving process)"
for proxy in "${proxies[@]}"; do
  for scheme in h2c h2; do
    start_proxy "$proxy"
    port=$([ $scheme = h2 ] && echo "${tls[$proxy]}" || echo "${plain[$proxy]}")
    printf '  %-8s %-4s ' "$proxy" $scheme
    /usr/bin/python3 "$root/bench/hold_connections.py" "$port" "${pid[$proxy]}" "$n" --h2 \
      $([ $scheme = h2 ] && echo --tls)
    stop_proxy "$proxy"
  done
done
