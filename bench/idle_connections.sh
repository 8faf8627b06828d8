#!/usr/bin/env bash
# Memory per held client connection, turnout against nginx and HAProxy, one worker each:
# N (default 10,000) kept-alive connections waiting for their next request, then N
# connections holding a partial request head (a slowloris's), then what the process keeps
# once they have closed. A front proxy holds 100,000 idle connections; what each costs is
# its RSS growth over N (bench/hold_connections.py).
#
# Then the same over TLS (an ECDSA P-256 certificate; TLS_N connections, default N/5: each
# is a handshake from Python): the memory an idle TLS connection adds.
#
# Usage: bench/idle_connections.sh [BUILD_DIR]   (N=5000, TLS_N=1000 to change the counts)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
n=${N:-10000}
tls_n=${TLS_N:-$((n / 5))}
origin_port=18280 proxy_port=18281
source "$root/bench/origin.sh"
# Each process holds the N connections and a few more descriptors.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((n + 512)) ]; then
  echo "N=$n needs an open-file limit of $((n + 512)); this shell's hard limit is $(ulimit -Hn)" >&2
  exit 1
fi

start_origin $origin_port

printf 'upstream origin { servers = ["127.0.0.1:%s"] }\non request { route origin }\n' \
  $origin_port > "$work/bare.route"
require_loopback "$work/bare.route"
# turnout_conf FILE COUNT LISTEN: turnout's configuration for COUNT held connections on one
# listener, LISTEN (a YAML listen entry).
turnout_conf() {
  cat > "$1" <<CONF
listen:
  - $3
threads: 1
policy: $work/bare.route
limits:
  max_connections: $(($2 + 100))
  max_connections_per_client: 0
CONF
}
turnout_conf "$work/turnout.yaml" "$n" "\"127.0.0.1:$proxy_port\""

# held NAME SIGNAL COUNT TLS COMMAND...: starts the proxy COMMAND, prints NAME and what COUNT
# held connections cost it (TLS: "--tls" or ""), then stops it with SIGNAL.
held() {
  local name=$1 signal=$2 count=$3 tls=$4 pid
  shift 4
  "$@" 2>/dev/null & pid=$!
  pids+=($pid)
  wait_port $proxy_port
  printf '  %-8s ' "$name"
  python3 "$root/bench/hold_connections.py" $proxy_port $pid "$count" $tls
  kill -"$signal" $pid; wait $pid || true
}

echo "held client connections: $n (RSS of the serving process)"
held turnout TERM "$n" "" "$build/runtime/turnout" --config "$work/turnout.yaml"

nginx_proxy_conf $proxy_port $origin_port "master_process off;" "worker_rlimit_nofile $(ulimit -n);"
sed -i "s/worker_connections 4096;/worker_connections $((n + 100));/" "$work/nginx/nginx.conf"
held nginx QUIT "$n" "" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"

# HAProxy reserves two descriptors per connection it accepts (one for its server side):
# its count is the most the open-file limit lets it take.
limit=$(ulimit -n)
haproxy_n=$n
if [ "$limit" != unlimited ] && [ $((2 * n + 300)) -gt "$limit" ]; then
  haproxy_n=$(((limit - 300) / 2))
fi
haproxy_conf $proxy_port $origin_port
sed -i "s/maxconn 4096/maxconn $((haproxy_n + 10))/" "$work/haproxy.cfg"
[ "$haproxy_n" = "$n" ] || echo "  (HAProxy: $haproxy_n connections, all that the open-file limit lets it take)"
held HAProxy TERM "$haproxy_n" "" haproxy -f "$work/haproxy.cfg" -db

echo "held TLS client connections: $tls_n (RSS of the serving process)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" \
  -out "$work/tls.pem" -days 2 -subj /CN=bench.test 2>/dev/null
turnout_conf "$work/turnout-tls.yaml" "$tls_n" \
  "{address: \"127.0.0.1:$proxy_port\", tls: {certificates: [{cert: $work/tls.pem, key: $work/tls.key}]}}"
held turnout TERM "$tls_n" --tls "$build/runtime/turnout" --config "$work/turnout-tls.yaml"

nginx_proxy_conf $proxy_port $origin_port "master_process off;" "worker_rlimit_nofile $(ulimit -n);"
sed -i "s/worker_connections 4096;/worker_connections $((tls_n + 100));/; \
  s|listen 127.0.0.1:$proxy_port;|listen 127.0.0.1:$proxy_port ssl; ssl_certificate $work/tls.pem; ssl_certificate_key $work/tls.key; ssl_protocols TLSv1.2 TLSv1.3;|" \
  "$work/nginx/nginx.conf"
held nginx QUIT "$tls_n" --tls nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"

cat "$work/tls.pem" "$work/tls.key" > "$work/tls.haproxy.pem"
haproxy_conf $proxy_port $origin_port
sed -i "s/maxconn 4096/maxconn $((tls_n + 10))/; s|bind 127.0.0.1:$proxy_port|& ssl crt $work/tls.haproxy.pem|" \
  "$work/haproxy.cfg"
held HAProxy TERM "$tls_n" --tls haproxy -f "$work/haproxy.cfg" -db
