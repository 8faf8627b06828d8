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

# libFuzzer over parse+check, built with clang; FUZZ_SECONDS bounds the run.
FUZZ_SECONDS ?= 600
fuzz: deps
	@[ -f build/fuzz/build.ninja ] || cmake --preset fuzz
	@cmake --build --preset fuzz -j $(JOBS) --target fuzz_check
	@mkdir -p build/fuzz/corpus
	@build/fuzz/tests/fuzz/fuzz_check -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  -timeout=10 -rss_limit_mb=2048 build/fuzz/corpus tests/fuzz/corpus

bench: build
	@./install-deps.sh --bench
	@bench/check_bench.sh
	@bench/policy_bench.sh
	@bench/proxy_bench.sh
	@bench/proxy_instructions.sh
	@bench/io_bench.sh
	@bench/reload_bench.py

# The VS Code extension as a .vsix (npm packages only): editor-support/vscode/route-language.vsix.
vsix: deps
	@cd editor-support/vscode && npm run --silent package

clean:
	rm -rf build
