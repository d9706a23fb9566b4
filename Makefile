# Steward - top-level entry points. `make` builds build/steward; `make run`
# and `make test` are the two commands of the README; `make install` puts
# steward on the PATH.
BUILD      ?= build
ASAN_BUILD ?= build-asan
COV_BUILD  ?= build-coverage
FUZZ_BUILD ?= build-fuzz
# `make fuzz`: seconds per fuzzer, and which (all when empty), e.g.
# make fuzz FUZZ_SECONDS=3600 FUZZERS="inventory rules"
FUZZ_SECONDS ?= 600
FUZZERS    ?=
MAKEFLAGS  += --no-print-directory
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin

.PHONY: all deps build run test test-fast test-asan test-fuzz fuzz fuzz-build bench coverage install uninstall soak-crash soak-load clean

all: build

deps:
	@scripts/bootstrap.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Sets up (first time only) and starts the server on http://127.0.0.1:8080.
run: build
	@scripts/run.sh $(BUILD)/steward

# Every test: unit and integration, then the whole suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer, then each fuzzer for a
# few seconds (clang, libFuzzer). Warnings are fatal.
test: deps test-fast test-asan test-fuzz

test-fast:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEWARD_WERROR=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSTEWARD_WERROR=ON -DSTEWARD_SANITIZE=ON -DSTEWARD_BENCH=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

# Line and branch coverage of src/ by the whole suite, per module (not part
# of `make test`: an instrumented build of its own, then the suite).
coverage:
	@STEWARD_COVERAGE=1 scripts/bootstrap.sh
	@cmake -S . -B $(COV_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSTEWARD_COVERAGE=ON -DSTEWARD_BENCH=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(COV_BUILD) -j$(JOBS)
	@find $(COV_BUILD) -name '*.gcda' -delete
	@cd $(COV_BUILD) && ctest -j$(JOBS) || true
	@scripts/coverage.sh $(COV_BUILD)

# The fuzzers (tests/fuzz): built with clang, libFuzzer, ASan and UBSan.
fuzz-build:
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEWARD_WERROR=ON -DSTEWARD_FUZZ=ON -DSTEWARD_TESTS=OFF -DSTEWARD_BENCH=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) --target fuzzers -j$(JOBS)

# Each fuzzer for a few seconds from its seeds: one ctest test each.
test-fuzz: fuzz-build
	@cd $(FUZZ_BUILD) && ctest --output-on-failure -j$(JOBS)

# Each fuzzer for long, one after the other, growing its corpus in
# $(FUZZ_BUILD)/fuzz-work; prints the executions per parser.
fuzz: deps fuzz-build
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZERS)

bench: build
	@STEWARD_BENCH=1 scripts/bootstrap.sh
	@scripts/bench.sh $(BUILD)

# Puts `steward` on the PATH: $(DESTDIR)$(BINDIR)/steward, /usr/local/bin by
# default (through sudo when needed); PREFIX=$$HOME/.local for one person.
install: build
	@scripts/install.sh $(BUILD)/steward $(DESTDIR)$(BINDIR)/steward

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/steward

# The crash and load soaks (docs/benchmarks.md), outside `make test`:
# `make soak-crash ROUNDS=1000`, `make soak-load SOAK_SECONDS=600`.
ROUNDS       ?= 20
SOAK_SECONDS ?= 60
soak-crash: build
	@scripts/soak-crash.sh $(BUILD) $(ROUNDS)

soak-load: build
	@scripts/soak-load.sh $(BUILD) $(SOAK_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(COV_BUILD) $(FUZZ_BUILD)
