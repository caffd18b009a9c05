# SPDX-License-Identifier: MIT
# Thin driver over CMake, setup.py and the test runners.  `make demo` and
# `make test` do all the set-up on a fresh Debian machine (see README.md).
#
# Each front end lives in mk/<front end>.mk: it adds its CMake option to
# BINDINGS and defines `<front end>` (install and build only what it
# needs) and `test-<front end>` (that front end's suites alone).  BINDINGS
# collects the front ends' options; the ASan build takes them without the
# benchmark and the fuzzer.

PYTHON ?= python3
BUILD  ?= build
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
BINDINGS =
ALL_FRONT_ENDS = -DQSEM_BUILD_BENCH=ON -DQSEM_BUILD_RELIABILITY=ON $(BINDINGS)

# configure_front_end(dir, cmake options): a build of the core plus one front end.
configure_front_end = cmake -S . -B $(1) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQSEM_BUILD_TESTS=OFF $(2) $(CMAKE_FLAGS) && cmake --build $(1) -j $(JOBS)

.PHONY: all deps build demo test test-c test-sanitizers test-pthread bench clean

all: build

include $(sort $(wildcard mk/*.mk))

deps:
	sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(ALL_FRONT_ENDS) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build python
	./$(BUILD)/examples/qsem_demo
	$(PY_VENV)/bin/python examples/python_demo.py
	LUA_CPATH_5_4="$(BUILD)/bindings/lua/?.so;;" lua5.4 examples/lua_demo.lua

# Every suite: the full build (C and every front end, install tests,
# benchmark smoke tests, fuzzing for a minute, model checking), then the C
# suite and every front end's handle-lifetime and race tests (label `asan`)
# under AddressSanitizer, the C suite under ThreadSanitizer, and on the
# portable pthread back end.  Ends with the time each part took.
TIMES = $(BUILD)/suite-times.txt
test:
	@mkdir -p $(BUILD) && rm -f $(TIMES)
	sh scripts/timed.sh $(TIMES) "set-up and build" $(MAKE) build python
	sh scripts/timed.sh $(TIMES) "every suite (ctest, main build)" \
	    ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	sh scripts/timed.sh $(TIMES) "sanitizers (TSan; ASan+UBSan)" $(MAKE) test-sanitizers
	sh scripts/timed.sh $(TIMES) "pthread back end" $(MAKE) test-pthread
	@echo "== time per suite"; cat $(TIMES)

test-c:
	sh scripts/install-deps.sh core
	cmake -S . -B $(BUILD)-c -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD)-c -j $(JOBS)
	ctest --test-dir $(BUILD)-c --output-on-failure -j $(JOBS)

test-sanitizers: deps
	cmake -S . -B $(BUILD)-tsan -G Ninja -DQSEM_SANITIZE=thread
	cmake --build $(BUILD)-tsan -j $(JOBS)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
	    ctest --test-dir $(BUILD)-tsan --output-on-failure -j $(JOBS)
	cmake -S . -B $(BUILD)-asan -G Ninja -DQSEM_SANITIZE=address $(BINDINGS)
	cmake --build $(BUILD)-asan -j $(JOBS)
	ASAN_OPTIONS="detect_leaks=1 abort_on_error=1" UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" \
	    ctest --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS) -L '^(c|asan)$$'

test-pthread: deps
	cmake -S . -B $(BUILD)-pthread -G Ninja -DQSEM_FORCE_PTHREAD=ON
	cmake --build $(BUILD)-pthread -j $(JOBS)
	ctest --test-dir $(BUILD)-pthread --output-on-failure -j $(JOBS)

# Every front end's benchmark against its peers, in one run on the one
# build of every front end (BINDINGS: the Lua modules, the Python
# extension, the Node.js addon and its npm peers, the Java classes, ...);
# writes docs/performance.md and docs/img/.  A benchmark whose front end
# could not be built is listed there as not measured.  BENCH_FLAGS goes to
# bench/report.py (for example --repeats 5, or --quick for a smoke run).
BENCH_FLAGS ?=
bench: build
	$(PYTHON) bench/report.py --build $(BUILD) $(BENCH_FLAGS)

clean:
	rm -rf $(BUILD) $(BUILD)-*
