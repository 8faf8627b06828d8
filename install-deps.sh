#!/usr/bin/env bash
# Installs the Debian packages that Turnout builds and tests with; with --bench, also the
# peers the benchmarks run (nginx, HAProxy, wrk), which tests never need: their packages
# start services on install, which a test machine can do without.
# Idempotent: does nothing when every package is already installed. `make` calls it.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make
  # the stack (STACK.md)
  antlr4 libantlr4-runtime-dev uuid-dev llvm-19-dev libzstd-dev libboost1.81-dev
  libssl-dev libnghttp2-dev node-llhttp libgtest-dev libbenchmark-dev
  # libraries
  libcli11-dev libfmt-dev nlohmann-json3-dev libre2-dev libyaml-cpp-dev libspdlog-dev
  # fuzzing (clang's libFuzzer)
  clang-19 libclang-rt-19-dev
  # tests: real clients and origins
  python3 curl openssl
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(hyperfine wrk nginx haproxy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
