// SPDX-License-Identifier: MIT
// guard_test.cpp: a fiber that overflows its stack hits the guard page, and
// the runtime reports which fiber it was before the process dies by SIGSEGV.
// The death test overflows on purpose (a child dies by SIGSEGV, which a
// core-dump handler such as systemd-coredump may record), so it runs only
// when ASYNC_TEST_GUARD_PAGES=1 is set: CI sets it (`ASYNC_TEST_GUARD_PAGES=1
// make tests`); plain `make tests` reports it skipped, saying so.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../src/arch/sanitizer.h"
#include "support/runtime_fixture.h"

namespace {

// Far deeper than any fiber stack; volatile so the compiler cannot see the
// recursion is unbounded in practice.
volatile int g_depth_limit = 1 << 30;

// The volatile buffer defeats tail calls and keeps each frame large enough
// to reach the guard quickly.
int overflow(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth >= g_depth_limit) return frame[0];
  return overflow(depth + 1) + frame[0];
}

}  // namespace

// The entry function the report names: exported (async_tests links with
// ENABLE_EXPORTS), so that dladdr finds it by name.
extern "C" __attribute__((visibility("default"), noinline)) void async_test_overflow_entry(void*) {
  overflow(0);
}

namespace {

// The id the report must print: the full handle id. The "threadsafe" death
// test re-executes the binary for this test alone, so this is the process's
// first runtime (serial 1) and its first fiber: 1 << 40 | 1.
constexpr unsigned long long expected_id = (1ull << 40) | 1;

void overflow_in_a_fiber() {
  async_runtime_t rt;
  async_config_t cfg{};
  cfg.fiber_stack_size = 32 * 1024;
  if (async_runtime_init(&rt, &cfg) != ASYNC_OK) std::_Exit(2);
  async_spawn_options_t opts{};
  opts.name = "deep-recursion";
  async_fiber_handle_t h = async_spawn_ex(&rt, async_test_overflow_entry, nullptr, &opts);
  if (h.status != ASYNC_OK) std::_Exit(4);
  if (h.id != expected_id) {
    std::fprintf(stderr, "the fiber's id is %llu, not %llu\n", static_cast<unsigned long long>(h.id), expected_id);
    std::_Exit(5);
  }
  async_runtime_run(&rt);
  std::_Exit(3);  // not reached: the overflow kills the process
}

TEST(StackGuardDeathTest, OverflowHitsTheGuardPageAndNamesTheFiber) {
  const char* enabled = std::getenv("ASYNC_TEST_GUARD_PAGES");
  if (enabled == nullptr || std::strcmp(enabled, "1") != 0) {
    GTEST_SKIP() << "overflows a fiber stack on purpose (a child dies by SIGSEGV): "
                    "run with ASYNC_TEST_GUARD_PAGES=1 (CI does)";
  }
#if ASYNC_ASAN || ASYNC_TSAN
  GTEST_SKIP() << "sanitized build: the sanitizer reports stack overflows itself";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(overflow_in_a_fiber(), ::testing::KilledBySignal(SIGSEGV),
              "async: fiber stack overflow: fiber 1099511627777 \"deep-recursion\" \\(entry function "
              "async_test_overflow_entry\\) ran past its 32768-byte stack");
}

// The handler must not swallow a SIGSEGV that was sent rather than caused
// by a fault: nothing repeats it, so it re-raises it.
TEST(StackGuardDeathTest, ASentSegvStillKillsTheProcess) {
#if ASYNC_ASAN || ASYNC_TSAN
  GTEST_SKIP() << "sanitized build: the sanitizer handles SIGSEGV itself";
#endif
  // The default ("fast", fork only) style: "threadsafe" re-executes the
  // binary, which qemu-user without binfmt cannot do.
  EXPECT_EXIT(
      {
        async_runtime_t rt;
        if (async_runtime_init(&rt, nullptr) != ASYNC_OK) std::_Exit(2);  // installs the handler
        raise(SIGSEGV);
        std::_Exit(3);
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

}  // namespace
