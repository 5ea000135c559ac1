// SPDX-License-Identifier: MIT
// guard_test.cpp: a fiber that overflows its stack hits the guard page, and
// the runtime reports which fiber it was before the process dies by SIGSEGV.
// The death test overflows on purpose (a child dies by SIGSEGV, which a
// core-dump handler such as systemd-coredump may record), so it runs only
// when ASYNC_TEST_GUARD_PAGES=1 is set: CI sets it (`ASYNC_TEST_GUARD_PAGES=1
// make tests`); plain `make tests` reports it skipped, saying so.
#include <csignal>
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

void overflow_fiber(void*) { overflow(0); }

void overflow_in_a_fiber() {
  async_runtime_t rt;
  async_config_t cfg{};
  cfg.fiber_stack_size = 32 * 1024;
  if (async_runtime_init(&rt, &cfg) != ASYNC_OK) std::_Exit(2);
  async_spawn_options_t opts{};
  opts.name = "deep-recursion";
  async_spawn_ex(&rt, overflow_fiber, nullptr, &opts);  // fiber 1 of this runtime
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
              "async: fiber stack overflow: fiber 1 \"deep-recursion\" \\(entry function "
              "0x[0-9a-f]+\\) ran past its 32768-byte stack");
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
