# async_backtrace.hpp - build, examples and tests.
# `make example` runs the main demo; `make test` runs everything below.

GXX      ?= g++
CLANGXX  ?= clang++
STD      := -std=c++20
WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast -Werror
DEBUG    := -g -O1
ASAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# clang 14's -fsanitize=function miscompiles coroutines (LLVM issue 49689).
CLANG_ASAN := $(ASAN) -fno-sanitize=function
TSAN     := -fsanitize=thread
# Waiting dumps give up after this long in the tests (the library default is 1000 ms).
TEST_DEFS := -DABT_DUMP_WAIT_MS=300
BUILD    := build

HEADER       := async_backtrace.hpp
ASIO_HEADER  := async_backtrace_asio.hpp async_backtrace_boost_asio.hpp
TEST_KIT     := tests/coro.hpp tests/helpers.hpp tests/child_process.hpp tests/asio_clients.hpp tests/asio_flavour.hpp tests/json.hpp tests/deep_chain.hpp
TEST_SOURCES := tests/main.cpp tests/test_core.cpp tests/other_tu.cpp tests/test_coroutines.cpp tests/test_framed_promise.cpp tests/test_bare_await.cpp \
                tests/test_callbacks.cpp tests/test_dump.cpp tests/test_stress.cpp tests/test_misuse.cpp \
                tests/test_libuv.cpp tests/test_diagnostics.cpp tests/test_spawn.cpp tests/test_deep.cpp
# asio's headers are heavy: its tests get their own binaries, in three configurations with
# standalone asio and two with Boost.Asio (-DABT_TEST_BOOST_ASIO: the same sources; see tests/asio_flavour.hpp).
ASIO_TEST_SOURCES := tests/main.cpp tests/test_asio.cpp tests/test_asio_coro.cpp tests/test_asio_join.cpp \
                     tests/test_asio_spawn.cpp
# Frameworks the integration tests use (the header itself needs none).
TEST_LIBS    := -luv
TEST_DEPS    := $(HEADER) $(TEST_KIT) $(TEST_SOURCES)
ASIO_TEST_DEPS := $(HEADER) $(ASIO_HEADER) $(TEST_KIT) $(ASIO_TEST_SOURCES)

# One test binary per compiler x configuration.
TEST_BINARIES := $(BUILD)/test-gcc $(BUILD)/test-clang-O2 $(BUILD)/test-gcc-asan $(BUILD)/test-clang-asan \
                 $(BUILD)/test-clang-tsan $(BUILD)/test-gcc-tsan $(BUILD)/test-gcc-disabled $(BUILD)/test-clang-disabled \
                 $(BUILD)/test-gcc-cxx17 $(BUILD)/test-clang-cxx17 \
                 $(BUILD)/test-gcc-plain-asan $(BUILD)/test-clang-plain-tsan \
                 $(BUILD)/test-asio-gcc-asan $(BUILD)/test-asio-clang-tsan $(BUILD)/test-asio-gcc-disabled \
                 $(BUILD)/test-boost-asio-clang-tsan $(BUILD)/test-boost-asio-gcc-disabled
# The suite again with -fno-exceptions (without its exception tests), g++ and clang++.
TEST_BINARIES += $(BUILD)/test-gcc-noexc $(BUILD)/test-clang-noexc
# The suite in the separate mode (ABT_SEPARATE_IMPLEMENTATION, one implementation file).
TEST_BINARIES += $(BUILD)/test-gcc-separate

DEB_PACKAGES := doctest-dev g++ clang libclang-rt-14-dev libbenchmark-dev libuv1-dev libasio-dev libboost1.81-dev \
                gdb graphviz wrk curl python3-clang-14 catch2

.PHONY: all example examples test check check-lint test-binaries deps check-include check-abi check-tu check-so check-e2e bench \
        bench-deep bench-smoke check-catch2 hotpath compile-cost compile-cost-smoke clean help

all: examples $(TEST_BINARIES)

help:
	@echo "make example   build and run examples/taskdump.cpp: prints a task tree to stderr"
	@echo "make examples  build every example"
	@echo "make test      build and run the tests: g++ and clang++, ASan+UBSan, TSan,"
	@echo "               ABT_ENABLED=0, -fno-exceptions, C++17 sync-only, include-only and ABI-mismatch checks"
	@echo "make check     the core tests in one configuration (clang++ -O0), in about a minute"
	@echo "make check-lint run tools/abt-lint on its corpus (tests/lint/), tests/ and examples/ (part of make test)"
	@echo "make check-e2e run examples/echo_server (200 connections) and examples/http_server (wrk, curl)"
	@echo "               on 127.0.0.1 (part of make test)"
	@echo "make bench     run the benchmark suite (Google Benchmark) and print the summary table"
	@echo "make bench-deep  every dump of one task LEVELS frames deep (default 200000), timed"
	@echo "make hotpath   instructions per operation of the hot paths (callgrind) and case 1's assembly"
	@echo "make compile-cost  what the header costs a translation unit (g++, clang++, -O0, -O2; both modes)"
	@echo "make deps      install missing Debian packages ($(DEB_PACKAGES))"
	@echo "make clean     remove $(BUILD)/"

# ---- dependencies -------------------------------------------------------------
# Installs what is missing when it can (root), otherwise says what to run.
deps:
	@missing=""; \
	[ -f /usr/include/doctest/doctest.h ] || missing="$$missing doctest-dev"; \
	command -v $(GXX) >/dev/null 2>&1 || missing="$$missing g++"; \
	command -v $(CLANGXX) >/dev/null 2>&1 || missing="$$missing clang"; \
	ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.tsan-x86_64.a >/dev/null 2>&1 || missing="$$missing libclang-rt-14-dev"; \
	[ -f /usr/include/benchmark/benchmark.h ] || missing="$$missing libbenchmark-dev"; \
	[ -f /usr/include/uv.h ] || missing="$$missing libuv1-dev"; \
	[ -f /usr/include/asio.hpp ] || missing="$$missing libasio-dev"; \
	[ -f /usr/include/boost/asio.hpp ] || missing="$$missing libboost1.81-dev"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	command -v gdb >/dev/null 2>&1 || missing="$$missing gdb"; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	[ -f /usr/lib/python3/dist-packages/clang/cindex.py ] || missing="$$missing python3-clang-14"; \
	[ -f /usr/include/catch2/catch.hpp ] || missing="$$missing catch2"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq $$missing)) || exit 1; \
	  else \
	    echo "missing:$$missing"; echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD):
	@mkdir -p $(BUILD)

# ---- examples -----------------------------------------------------------------
$(BUILD)/taskdump: examples/taskdump.cpp $(HEADER) tests/coro.hpp | $(BUILD)
	$(GXX) $(STD) $(WARNINGS) -g -O1 $< -o $@

$(BUILD)/callbacks: examples/callbacks.cpp $(HEADER) | $(BUILD)
	$(GXX) $(STD) $(WARNINGS) -g -O1 $< -o $@

$(BUILD)/echo_server: examples/echo_server.cpp $(HEADER) $(ASIO_HEADER) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $< -o $@ -pthread

# The same server under ThreadSanitizer, for the end-to-end test.
$(BUILD)/echo_server-tsan: examples/echo_server.cpp $(HEADER) $(ASIO_HEADER) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $< -o $@ -pthread

# A small HTTP server on asio coroutines: a framed accept loop that spawns sessions.
$(BUILD)/http_server: examples/http_server.cpp $(HEADER) $(ASIO_HEADER) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $< -o $@ -pthread

# The same server under ThreadSanitizer, for the end-to-end test.
$(BUILD)/http_server-tsan: examples/http_server.cpp $(HEADER) $(ASIO_HEADER) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $< -o $@ -pthread

$(BUILD)/diagnostics: examples/diagnostics.cpp $(HEADER) tests/coro.hpp | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $< -o $@ -pthread

examples: $(BUILD)/taskdump $(BUILD)/callbacks $(BUILD)/echo_server $(BUILD)/http_server $(BUILD)/diagnostics

example: $(BUILD)/taskdump
	./$(BUILD)/taskdump

# ---- tests --------------------------------------------------------------------
$(BUILD)/test-gcc: $(TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-clang-O2: $(TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) -O2 $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-gcc-asan: $(TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(ASAN) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-clang-asan: $(TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(CLANG_ASAN) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-clang-tsan: $(TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

# g++'s ThreadSanitizer too, with -Werror: g++ refuses fences under it (-Wtsan), so
# the header orders its sequence locks in a form TSan sees (see set_wait). Its one
# failure (issue 12) was the watchdog naming a frame that awaited a child not yet
# past the limit, a window TSan's slowdown widened; watchdog::state::stalls fixes it.
$(BUILD)/test-gcc-tsan: $(TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

# The same tests with every ABT_AWAIT(x) written as a plain co_await x, the
# test kit's promises being abt::framed_promise (tests/helpers.hpp, coro.hpp).
PLAIN := -DABT_TEST_PLAIN_AWAIT

$(BUILD)/test-gcc-plain-asan: $(TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(ASAN) $(PLAIN) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-clang-plain-tsan: $(TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $(PLAIN) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-gcc-disabled: $(TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) -DABT_ENABLED=0 $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-clang-disabled: $(TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) -DABT_ENABLED=0 $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

# -fno-exceptions (g++; clang++ with ASan+UBSan): the tests that throw are left out
# (#if __cpp_exceptions). doctest cannot throw out of a failed REQUIRE then;
# tests/main.cpp ends the run there instead.
NOEXC := -fno-exceptions -DDOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS

$(BUILD)/test-gcc-noexc: $(TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(NOEXC) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-clang-noexc: $(TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(CLANG_ASAN) $(NOEXC) $(TEST_DEFS) $(TEST_SOURCES) -o $@ -pthread $(TEST_LIBS)

# The separate mode (README: Compile cost): each test file is compiled with
# -DABT_SEPARATE_IMPLEMENTATION (and ABT_FULL_API, as they dump), except
# other_tu.cpp, which uses only the light part (ABT_FRAMED, task_count);
# tests/abt_implementation.cpp holds the definitions. g++, ASan+UBSan.
SEPARATE := -DABT_SEPARATE_IMPLEMENTATION

$(BUILD)/test-gcc-separate: $(TEST_DEPS) tests/abt_implementation.cpp | $(BUILD) deps
	@mkdir -p $(BUILD)/separate
	@set -e; for f in $(filter-out tests/other_tu.cpp,$(TEST_SOURCES)); do \
	  echo "$(GXX) ... $(SEPARATE) -DABT_FULL_API -c $$f"; \
	  $(GXX) $(STD) $(WARNINGS) $(DEBUG) $(ASAN) $(TEST_DEFS) $(SEPARATE) -DABT_FULL_API -c $$f \
	    -o $(BUILD)/separate/$$(basename $$f .cpp).o; done
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(ASAN) $(TEST_DEFS) $(SEPARATE) -c tests/other_tu.cpp -o $(BUILD)/separate/other_tu.o
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(ASAN) $(TEST_DEFS) -c tests/abt_implementation.cpp \
	  -o $(BUILD)/separate/abt_implementation.o
	$(GXX) $(ASAN) $(patsubst tests/%.cpp,$(BUILD)/separate/%.o,$(TEST_SOURCES)) $(BUILD)/separate/abt_implementation.o \
	  -o $@ -pthread $(TEST_LIBS)

$(BUILD)/test-gcc-cxx17: tests/test_cxx17.cpp $(HEADER) | $(BUILD) deps
	$(GXX) -std=c++17 $(WARNINGS) $(DEBUG) $(ASAN) $< -o $@ -pthread

$(BUILD)/test-clang-cxx17: tests/test_cxx17.cpp $(HEADER) | $(BUILD) deps
	$(CLANGXX) -std=c++17 $(WARNINGS) $(DEBUG) $(CLANG_ASAN) $< -o $@ -pthread

$(BUILD)/test-asio-gcc-asan: $(ASIO_TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $(ASAN) $(TEST_DEFS) $(ASIO_TEST_SOURCES) -o $@ -pthread

$(BUILD)/test-asio-clang-tsan: $(ASIO_TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $(TEST_DEFS) $(ASIO_TEST_SOURCES) -o $@ -pthread

$(BUILD)/test-asio-gcc-disabled: $(ASIO_TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) -DABT_ENABLED=0 $(ASIO_TEST_SOURCES) -o $@ -pthread

$(BUILD)/test-boost-asio-clang-tsan: $(ASIO_TEST_DEPS) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $(TEST_DEFS) -DABT_TEST_BOOST_ASIO $(ASIO_TEST_SOURCES) -o $@ -pthread

$(BUILD)/test-boost-asio-gcc-disabled: $(ASIO_TEST_DEPS) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) -DABT_ENABLED=0 -DABT_TEST_BOOST_ASIO $(ASIO_TEST_SOURCES) -o $@ -pthread

# The header compiles alone, as C++17 and C++20, with both compilers; also
# after Qt's keyword macros (slots, signals, emit, foreach) and windows.h's
# min and max, with -fno-exceptions, enabled and disabled, and in the
# separate mode (light, ABT_FULL_API, ABT_IMPLEMENTATION; enabled and disabled).
check-include: | $(BUILD) deps
	$(GXX) -std=c++17 $(WARNINGS) -fsyntax-only tests/include_only.cpp
	$(GXX) $(STD) $(WARNINGS) -fsyntax-only tests/include_only.cpp
	$(CLANGXX) -std=c++17 $(WARNINGS) -fsyntax-only tests/include_only.cpp
	$(CLANGXX) $(STD) $(WARNINGS) -fsyntax-only tests/include_only.cpp
	$(GXX) $(STD) $(WARNINGS) -fsyntax-only tests/qt_keywords.cpp
	$(CLANGXX) -std=c++17 $(WARNINGS) -fsyntax-only tests/qt_keywords.cpp
	$(GXX) $(STD) $(WARNINGS) -fno-exceptions -fsyntax-only tests/include_only.cpp
	$(CLANGXX) -std=c++17 $(WARNINGS) -fno-exceptions -fsyntax-only tests/include_only.cpp
	$(GXX) -std=c++17 $(WARNINGS) -fno-exceptions -DABT_ENABLED=0 -fsyntax-only tests/include_only.cpp
	$(CLANGXX) $(STD) $(WARNINGS) -fno-exceptions -DABT_ENABLED=0 -fsyntax-only tests/include_only.cpp
	$(GXX) $(STD) $(WARNINGS) -fsyntax-only -x c++ $(ASIO_HEADER)
	$(CLANGXX) $(STD) $(WARNINGS) -fsyntax-only -x c++ $(ASIO_HEADER)
	$(GXX) -std=c++17 $(WARNINGS) $(SEPARATE) -fsyntax-only tests/include_only.cpp
	$(CLANGXX) $(STD) $(WARNINGS) $(SEPARATE) -fsyntax-only tests/include_only.cpp
	$(GXX) $(STD) $(WARNINGS) $(SEPARATE) -DABT_FULL_API -fsyntax-only tests/include_only.cpp
	$(CLANGXX) -std=c++17 $(WARNINGS) -DABT_IMPLEMENTATION -fsyntax-only tests/include_only.cpp
	$(GXX) $(STD) $(WARNINGS) -DABT_IMPLEMENTATION -fno-exceptions -fsyntax-only tests/include_only.cpp
	$(CLANGXX) $(STD) $(WARNINGS) $(SEPARATE) -DABT_ENABLED=0 -fsyntax-only tests/include_only.cpp
	$(GXX) -std=c++17 $(WARNINGS) -DABT_IMPLEMENTATION -DABT_ENABLED=0 -fsyntax-only tests/include_only.cpp
	$(GXX) $(STD) $(WARNINGS) $(SEPARATE) -fsyntax-only -x c++ $(ASIO_HEADER)
	@for cxx in $(GXX) $(CLANGXX); do \
	  if $$cxx $(STD) -fsyntax-only tests/two_frames_one_block.cpp >$(BUILD)/two-frames.txt 2>&1; then \
	    echo "FAIL: two ABT_FRAMED in one block compiled ($$cxx)"; exit 1; fi; \
	  grep -q one_ABT_FRAMED_per_block_open_braces_for_the_next $(BUILD)/two-frames.txt || \
	    { echo "FAIL: $$cxx's error for two ABT_FRAMED in one block does not name the fix:"; \
	      cat $(BUILD)/two-frames.txt; exit 1; }; done; \
	  echo "ok: two ABT_FRAMED in one block is an error that names the fix, with g++ and clang++"
	@for order in "asio boost_asio" "boost_asio asio"; do set -- $$order; \
	  if printf '#include "async_backtrace_%s.hpp"\n#include "async_backtrace_%s.hpp"\n' $$1 $$2 | \
	     $(GXX) $(STD) -fsyntax-only -x c++ -I. - >/dev/null 2>&1; then \
	    echo "FAIL: both asio flavours compiled in one translation unit"; exit 1; fi; done; \
	  echo "ok: both asio flavours in one translation unit is an error"

# Mixing ABT_ENABLED=1 and 0 across translation units must fail to link;
# mixing the header-only and the separate mode links and shares one registry.
check-abi: | $(BUILD) deps
	@if $(GXX) $(STD) tests/abi_enabled.cpp tests/abi_disabled.cpp -o $(BUILD)/abi-mix >/dev/null 2>&1; then \
	  echo "FAIL: translation units with different ABT_ENABLED linked together"; exit 1; \
	else echo "ok: mixing ABT_ENABLED values fails at link time"; fi
	$(GXX) $(STD) $(WARNINGS) -O1 -c tests/mixed_modes_main.cpp -o $(BUILD)/mixed_modes_main.o
	$(GXX) $(STD) $(WARNINGS) -O1 $(SEPARATE) -c tests/mixed_modes_light.cpp -o $(BUILD)/mixed_modes_light.o
	$(GXX) $(STD) $(WARNINGS) -O1 -c tests/abt_implementation.cpp -o $(BUILD)/mixed_modes_implementation.o
	$(GXX) $(BUILD)/mixed_modes_main.o $(BUILD)/mixed_modes_light.o $(BUILD)/mixed_modes_implementation.o \
	  -o $(BUILD)/mixed-modes -pthread
	./$(BUILD)/mixed-modes

# ---- make check: the core tests, one configuration, in about a minute ---------
# clang++ -O0, one object per file (built in parallel, rebuilt when they or
# the header change): the coroutine, framed_promise, dump, callback and
# misuse cases. make test runs them all, in every configuration.
CHECK_SOURCES := tests/main.cpp tests/test_core.cpp tests/other_tu.cpp tests/test_coroutines.cpp \
                 tests/test_framed_promise.cpp tests/test_dump.cpp tests/test_callbacks.cpp tests/test_misuse.cpp
CHECK_OBJECTS := $(patsubst tests/%.cpp,$(BUILD)/check/%.o,$(CHECK_SOURCES))

$(BUILD)/check/%.o: tests/%.cpp $(HEADER) $(TEST_KIT) | $(BUILD) deps
	@mkdir -p $(@D)
	$(CLANGXX) $(STD) $(WARNINGS) -O0 $(TEST_DEFS) -c $< -o $@

$(BUILD)/test-check: $(CHECK_OBJECTS)
	$(CLANGXX) $^ -o $@ -pthread

check: deps
	@$(MAKE) --no-print-directory -j$$(nproc) $(BUILD)/test-check
	./$(BUILD)/test-check --no-version

# The builds run in parallel (one per core); the tests one after another.
test-binaries: $(TEST_BINARIES) examples $(BUILD)/catch2-leaks $(BUILD)/bench $(BUILD)/e2e_echo $(BUILD)/echo_server-tsan \
              $(BUILD)/e2e_signal $(BUILD)/e2e_signal-tsan $(BUILD)/http_server-tsan $(GDB_TARGETS) $(BUILD)/gdb-deep

# One inline framed coroutine, two translation units, -O0 and -O2: each may
# hold its own __PRETTY_FUNCTION__ copy while the site record is merged.
$(BUILD)/tu-inline: tests/tu_inline_main.cpp tests/tu_inline_other.cpp tests/tu_inline.hpp $(HEADER) tests/coro.hpp | $(BUILD)
	$(GXX) $(STD) $(WARNINGS) -O2 -c tests/tu_inline_main.cpp -o $(BUILD)/tu_inline_main.o
	$(GXX) $(STD) $(WARNINGS) -O0 -c tests/tu_inline_other.cpp -o $(BUILD)/tu_inline_other.o
	$(GXX) $(BUILD)/tu_inline_main.o $(BUILD)/tu_inline_other.o -o $@ -pthread

# ABT_CHECK_NO_LEAKED_TASKS under Catch2 (the suite itself uses doctest).
$(BUILD)/catch2-leaks: tests/catch2_leaks.cpp $(HEADER) tests/coro.hpp | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $< -o $@ -pthread

# (One test must fail, [!shouldfail]: its report goes to a log, shown only if the run fails.)
check-catch2: $(BUILD)/catch2-leaks
	@./$(BUILD)/catch2-leaks > $(BUILD)/catch2-leaks.log 2>&1 || { cat $(BUILD)/catch2-leaks.log; exit 1; }
	@echo "ok: ABT_CHECK_NO_LEAKED_TASKS under Catch2: passes without leaks, fails the test with the leaked tree"

check-tu: $(BUILD)/tu-inline
	./$(BUILD)/tu-inline

# A shared library built with -fvisibility=hidden shares the program's registry.
$(BUILD)/so-main: tests/so_main.cpp tests/so_lib.cpp $(HEADER) tests/coro.hpp | $(BUILD)
	$(GXX) $(STD) $(WARNINGS) -O1 -fPIC -shared -fvisibility=hidden tests/so_lib.cpp -o $(BUILD)/libabt_so_test.so
	$(GXX) $(STD) $(WARNINGS) -O1 tests/so_main.cpp -L$(BUILD) -labt_so_test -Wl,-rpath,'$$ORIGIN' -o $@ -pthread

check-so: $(BUILD)/so-main
	./$(BUILD)/so-main

# ---- end to end: the echo server with 200 connections on 127.0.0.1 ------------
$(BUILD)/e2e_echo: tests/e2e_echo.cpp tests/helpers.hpp $(HEADER) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $< -o $@ -pthread

# ---- gdb: tools/abt_gdb.py reads the tree from a live process and a core file ----
# Five builds: -O0 and -O2 with g++, -O2 with clang++, one whose frame
# fields sit elsewhere (the tool must read the offsets the header exports),
# and one in the separate mode.
GDB_TARGETS := $(BUILD)/gdb-target-O0 $(BUILD)/gdb-target-O2 $(BUILD)/gdb-target-clang $(BUILD)/gdb-target-moved \
               $(BUILD)/gdb-target-separate
GDB_TARGET_DEPS := tests/gdb_target.cpp tests/coro.hpp $(HEADER) | $(BUILD) deps

$(BUILD)/gdb-target-O0: $(GDB_TARGET_DEPS)
	$(GXX) $(STD) $(WARNINGS) -g -O0 $< -o $@ -pthread
$(BUILD)/gdb-target-O2: $(GDB_TARGET_DEPS)
	$(GXX) $(STD) $(WARNINGS) -g -O2 $< -o $@ -pthread
$(BUILD)/gdb-target-clang: $(GDB_TARGET_DEPS)
	$(CLANGXX) $(STD) $(WARNINGS) -g -O2 $< -o $@ -pthread
$(BUILD)/gdb-target-moved: $(GDB_TARGET_DEPS)
	$(GXX) $(STD) $(WARNINGS) -g -O1 -DABT_DETAIL_TEST_MOVED_FIELDS $< -o $@ -pthread
# The separate mode: abt_debug_layout comes from the implementation file.
$(BUILD)/gdb-target-separate: $(GDB_TARGET_DEPS) tests/abt_implementation.cpp
	$(GXX) $(STD) $(WARNINGS) -g -O1 $(SEPARATE) -DABT_FULL_API $< tests/abt_implementation.cpp -o $@ -pthread

# One task 200,002 frames deep (a recursive async walk): the tool reads it without recursion.
$(BUILD)/gdb-deep: tests/gdb_deep.cpp tests/deep_chain.hpp tests/coro.hpp $(HEADER) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) -g -O2 $< -o $@ -pthread

check-gdb: $(GDB_TARGETS) $(BUILD)/gdb-deep
	@for t in $(GDB_TARGETS); do sh tests/check_gdb.sh $$t || exit 1; done
	@sh tests/check_gdb.sh --deep 200000 $(BUILD)/gdb-deep

# tools/abt-lint: every planted miss found at its line, none in correct code,
# in the project's tests or in its examples.
check-lint: | deps
	sh tests/check_lint.sh

# tools/abt-diff on two real dumps of examples/diagnostics, abt-view on another.
check-tools: $(BUILD)/diagnostics
	@sh tests/check_tools.sh ./$(BUILD)/diagnostics

# ---- end to end: a dump on SIGUSR1 from a program whose threads are all blocked --
$(BUILD)/e2e_signal: tests/e2e_signal.cpp tests/helpers.hpp tests/coro.hpp $(HEADER) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(DEBUG) $< -o $@ -pthread

$(BUILD)/e2e_signal-tsan: tests/e2e_signal.cpp tests/helpers.hpp tests/coro.hpp $(HEADER) | $(BUILD) deps
	$(CLANGXX) $(STD) $(WARNINGS) $(DEBUG) $(TSAN) $< -o $@ -pthread

check-e2e: $(BUILD)/e2e_echo $(BUILD)/echo_server $(BUILD)/echo_server-tsan $(BUILD)/e2e_signal $(BUILD)/e2e_signal-tsan \
           $(BUILD)/http_server $(BUILD)/http_server-tsan
	./$(BUILD)/e2e_echo ./$(BUILD)/echo_server
	TSAN_OPTIONS=halt_on_error=1 ./$(BUILD)/e2e_echo ./$(BUILD)/echo_server-tsan
	sh tests/e2e_http.sh ./$(BUILD)/http_server gcc
	TSAN_OPTIONS=halt_on_error=1 sh tests/e2e_http.sh ./$(BUILD)/http_server-tsan tsan
	./$(BUILD)/e2e_signal
	TSAN_OPTIONS=halt_on_error=1 ./$(BUILD)/e2e_signal-tsan

# ---- benchmarks -----------------------------------------------------------------
BENCH_FLAGS := -O2 -DNDEBUG

$(BUILD)/bench: tools/bench/bench.cpp tools/bench/cases.hpp $(HEADER) tests/coro.hpp tests/deep_chain.hpp | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(BENCH_FLAGS) $< -o $@ -lbenchmark -pthread

$(BUILD)/bench-asio: tools/bench/bench_asio.cpp tools/bench/asio_cases.hpp $(HEADER) $(ASIO_HEADER) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(BENCH_FLAGS) $< -o $@ -lbenchmark -pthread

bench: $(BUILD)/bench $(BUILD)/bench-asio
	./$(BUILD)/bench --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
	  --benchmark_out=$(BUILD)/bench.json --benchmark_out_format=json
	./$(BUILD)/bench-asio --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
	  --benchmark_out=$(BUILD)/bench-asio.json --benchmark_out_format=json
	python3 tools/bench/table.py $(BUILD)/bench.json $(BUILD)/bench-asio.json

$(BUILD)/bench-deep: tools/bench/deep.cpp tests/deep_chain.hpp $(HEADER) tests/coro.hpp | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(BENCH_FLAGS) $< -o $@ -pthread

# Every dump of one task LEVELS frames deep, timed once (README: Deep tasks).
LEVELS ?= 200000
bench-deep: $(BUILD)/bench-deep
	./$(BUILD)/bench-deep $(LEVELS)

$(BUILD)/hotpath: tools/bench/hotpath.cpp tools/bench/cases.hpp $(HEADER) tests/coro.hpp | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(BENCH_FLAGS) $< -o $@ -pthread

$(BUILD)/hotpath-asio: tools/bench/hotpath_asio.cpp tools/bench/asio_cases.hpp $(HEADER) $(ASIO_HEADER) | $(BUILD) deps
	$(GXX) $(STD) $(WARNINGS) $(BENCH_FLAGS) $< -o $@ -pthread

hotpath: $(BUILD)/hotpath $(BUILD)/hotpath-asio
	@command -v valgrind >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq valgrind >/dev/null; } || \
	  { echo "missing: valgrind (run: sudo apt-get install -y valgrind)"; exit 1; }
	sh tools/bench/hotpath.sh ./$(BUILD)/hotpath ./$(BUILD)/hotpath-asio

# ---- compile cost: what the header costs a translation unit ----------------------
# tools/compile_cost/tu.cpp against its bare twin, g++ and clang++, -O0 and -O2,
# header-only and separate mode; medians of 7 runs (README: Compile cost).
compile-cost:
	python3 tools/compile_cost/measure.py --runs 7

# Each configuration compiled once, no timing: part of make test.
compile-cost-smoke:
	@python3 tools/compile_cost/measure.py --smoke

# Every case once, tiny: part of make test (not a measurement).
bench-smoke: $(BUILD)/bench
	ABT_BENCH_SMOKE=1 ./$(BUILD)/bench --benchmark_min_time=0.001 >/dev/null 2>&1

test: deps
	@$(MAKE) --no-print-directory -j$$(nproc) test-binaries
	@$(MAKE) --no-print-directory check-include check-abi check-tu check-so check-catch2 bench-smoke compile-cost-smoke check-lint check-e2e \
	  check-gdb check-tools
	@set -e; for t in $(TEST_BINARIES); do \
	  echo "== $$t"; \
	  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ./$$t --no-version; \
	done
	@echo "== examples"; ./$(BUILD)/taskdump 2>/dev/null && ./$(BUILD)/callbacks 2>/dev/null && \
	  ./$(BUILD)/diagnostics 2>/dev/null && ./$(BUILD)/diagnostics json >/dev/null && ./$(BUILD)/diagnostics folded >/dev/null
	@echo "all tests passed"

clean:
	rm -rf $(BUILD)
