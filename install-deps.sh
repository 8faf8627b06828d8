#!/usr/bin/env bash
# Installs the Debian packages that Turnout builds and tests with; with --bench, also the
# peers the benchmarks run (nginx, HAProxy, wrk), which tests never need: their packages
# start services on install, which a test machine can do without. Then the VS Code
# extension's npm packages (editor-support/vscode, from the npm registry), which its
# grammar tests and its .vsix need.
# Idempotent: does nothing when everything is already installed. `make` calls it.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make
  # the stack (STACK.md)
  antlr4 libantlr4-runtime-dev uuid-dev llvm-19-dev libzstd-dev libboost1.81-dev
  libssl-dev libnghttp2-dev node-llhttp libgtest-dev libbenchmark-dev
  # libraries
  libcli11-dev libfmt-dev nlohmann-json3-dev libre2-dev libyaml-cpp-dev libspdlog-dev liburing-dev
  # fuzzing (clang's libFuzzer), and the formatting every C++ file is checked against
  clang-19 libclang-rt-19-dev clang-format-19
  # tests: real clients and origins
  python3 curl openssl nghttp2-client python3-h2 python3-grpcio python3-websockets
  # tests: what reads turnout's metrics (promtool ships in Debian's prometheus package)
  prometheus python3-prometheus-client
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(hyperfine wrk nginx haproxy h2o)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (it does on this project's machines): only
# when there is no npm at all is Debian's taken.
command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

vscode=editor-support/vscode
if [ ! -f "$vscode/node_modules/.package-lock.json" ] ||
   [ "$vscode/package-lock.json" -nt "$vscode/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm packages of $vscode"
  npm ci --prefix "$vscode" --no-audit --no-fund --loglevel=error
fi
