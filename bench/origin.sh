# What the proxy benchmarks share (sourced, not run): a scratch folder that goes on exit
# with every process started in `pids`, a wait for a port, the nginx origin they all
# proxy to, nginx's and HAProxy's configurations as the peer proxies, the design sketch's
# policy, CPU time and medians, and the check that a policy turnout serves sends traffic
# to loopback alone. Sets `work` and `pids`; needs `root` and `build`.
work=$(mktemp -d /tmp/turnout-bench.XXXXXX)
chmod 755 "$work" # nginx's workers run as nobody
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT

# require_loopback POLICY...: exits naming any peer off loopback (tests/runtime/harness.py
# asks routec for the peers). A benchmark connects to this machine alone.
require_loopback() {
  python3 "$root/tests/runtime/harness.py" require-loopback "$build/compiler/routec" "$@" || exit 1
}

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  exit 1
}

# A process's CPU time in clock ticks (user + system; hz a second), and the median of the
# numbers given.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# nginx_conf NAME MAIN HTTP: $work/NAME/nginx.conf, one worker in the foreground, with the
# main-context directives MAIN and the http-block contents HTTP.
nginx_conf() {
  mkdir -p "$work/$1"
  cat > "$work/$1/nginx.conf" <<CONF
worker_processes 1;
$2
daemon off;
error_log $work/$1/error.log;
pid $work/$1/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
$3
}
CONF
}

# start_origin PORT [CPUS]: nginx, one worker (pinned to the CPU mask CPUS, nginx's
# worker_cpu_affinity, when given), serving /small (22 bytes), /16k and /1m.
start_origin() {
  local port=$1 affinity=${2:-}
  mkdir -p "$work/www"
  printf 'hello from the origin\n' > "$work/www/small"
  head -c 16384 /dev/zero | tr '\0' 'x' > "$work/www/16k"
  head -c 1048576 /dev/zero | tr '\0' 'y' > "$work/www/1m"
  nginx_conf origin "${affinity:+worker_cpu_affinity $affinity;}" \
    "  server { listen 127.0.0.1:$port; root $work/www; }"
  nginx -c "$work/origin/nginx.conf" -p "$work/origin" & pids+=($!)
  wait_port "$port"
}

# nginx_proxy_conf LISTEN_PORT ORIGIN_PORT [DIRECTIVE...]: $work/nginx/nginx.conf, nginx as
# a proxy the way turnout runs (one worker, upstream keep-alive), with the main-context
# DIRECTIVEs given (worker_cpu_affinity 01; master_process off; ...).
nginx_proxy_conf() {
  local listen=$1 origin=$2
  shift 2
  nginx_conf nginx "$(printf '%s\n' "$@")" "\
  upstream origin { server 127.0.0.1:$origin; keepalive 1024; } # as turnout's default
  server {
    listen 127.0.0.1:$listen;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }"
}

# haproxy_head: the global and defaults sections every benchmark runs HAProxy with (one
# thread on CPU 0); what follows it is still in `defaults`.
haproxy_head() {
  cat <<CONF
global
  nbthread 1
  cpu-map 1/1 0
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
CONF
}

# haproxy_conf LISTEN_PORT ORIGIN_PORT: $work/haproxy.cfg, HAProxy as a proxy the way turnout
# runs (one thread on CPU 0, upstream connections reused).
haproxy_conf() {
  { haproxy_head; cat <<CONF; } > "$work/haproxy.cfg"
  http-reuse always
frontend f
  bind 127.0.0.1:$1
  default_backend b
backend b
  server o 127.0.0.1:$2
CONF
}

# sketch_policy FILE ORIGIN_PORT: DESIGN.md's sketch policy (an ACL, a regex redirect, a
# host match, weighted round robin, a Host rewrite, a cookie removal, a response header),
# its peers the origin on ORIGIN_PORT: what programmability costs over a bare `route`.
sketch_policy() {
  cat > "$1" <<POLICY
upstream web {
    servers = ["127.0.0.1:$2" weight 3, "127.0.0.1:$2"]
    balance = round_robin
    retries = 2
}
acl internal { 10.0.0.0/8, 192.168.0.0/16, ::1/128 }
on request {
    if req.path starts_with "/admin" and not (client.ip in internal) {
        respond 403 "forbidden\n"
    }
    if req.path ~ r"^/old/(?P<rest>.*)$" {
        redirect 301 "https://example.com/new/" + match.rest
    }
    if req.host == "one.one.one.one" { route web }
    route web
}
on upstream_request {
    upstream.req.header["Host"] = "one.one.one.one"
    delete upstream.req.header["cookie"]
}
on response {
    resp.header["x-served-by"] = "turnout"
}
POLICY
}
