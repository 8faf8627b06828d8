# The two commands of the README, and the rest of the developer loop.
#   make run    installs what is missing, builds, and runs the quick start
#   make test   installs what is missing, builds, and runs every test
.PHONY: all deps build run test asan fuzz bench vsix clean

BUILD := build/release
JOBS  ?= $(shell nproc)

all: build

deps:
	@./install-deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || cmake --preset release
	@cmake --build --preset release -j $(JOBS)

# The quick start: two local origins and turnout on examples/quickstart.route, 127.0.0.1:6188.
run: build
	@examples/quickstart.sh $(BUILD)/runtime/turnout

test: build
	@ctest --preset release -j $(JOBS)

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	@[ -f build/asan/build.ninja ] || cmake --preset asan
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

# libFuzzer, each target for FUZZ_SECONDS (FUZZ_TARGETS to choose): parse+check, the HTTP/1
# request and response parsers, the artifact reader. Built with clang; what a run finds
# new stays in build/fuzz/corpus/TARGET, its seeds in tests/fuzz.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= check http1_request http1_response proxy_header artifact grpc_web
fuzz: deps
	@[ -f build/fuzz/build.ninja ] || cmake --preset fuzz
	@cmake --build --preset fuzz -j $(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))
	@for target in $(FUZZ_TARGETS); do \
	  case $$target in \
	    check) seeds=tests/fuzz/corpus; len=8192;; \
	    http1_request) seeds=tests/fuzz/http1/request_corpus; len=4096;; \
	    http1_response) seeds=tests/fuzz/http1/response_corpus; len=4096;; \
	    proxy_header) seeds=tests/fuzz/listener/proxy_corpus; len=4096;; \
	    artifact) seeds=tests/fuzz/artifact/corpus; len=65536;; \
	    grpc_web) seeds=tests/fuzz/proxy/grpc_web_corpus; len=4096;; \
	  esac; \
	  mkdir -p build/fuzz/corpus/$$target; \
	  echo "fuzz_$$target for $(FUZZ_SECONDS) s"; \
	  build/fuzz/tests/fuzz/fuzz_$$target -max_total_time=$(FUZZ_SECONDS) -max_len=$$len \
	    -timeout=10 -rss_limit_mb=2048 build/fuzz/corpus/$$target $$seeds || exit 1; \
	done

bench: build
	@./install-deps.sh --bench
	@bench/check_bench.sh
	@bench/load_bench.sh
	@bench/tls_bench.sh
	@bench/h2_bench.sh
	@bench/grpc_ws_bench.sh
	@bench/observability_bench.sh
	@bench/policy_bench.sh
	@bench/proxy_bench.sh
	@bench/proxy_instructions.sh
	@bench/idle_connections.sh
	@bench/io_bench.sh
	@bench/reload_bench.py

# The VS Code extension as a .vsix (npm packages only): editor-support/vscode/route-language.vsix.
vsix: deps
	@cd editor-support/vscode && npm run --silent package

clean:
	rm -rf build
