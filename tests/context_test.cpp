// SPDX-License-Identifier: MIT
// context_test.cpp: what the context switch must preserve: alignment, the FP
// control state per fiber (ASYNC_FIBER_SAVE_X87), deep stacks, and C++
// exception state per fiber.
#include <cfenv>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include "../src/arch/sanitizer.h"
#include "support/runtime_fixture.h"
#include "support/register_mixer.h"

namespace {

using Trace = std::vector<std::string>;

class ContextTest : public async_test::RuntimeTest {};

TEST_F(ContextTest, FiberEntryIsSixteenByteAligned) {
  std::uintptr_t frame = 1;
  char printed[64] = {};
  spawn([&] {
    frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    // printf of a double uses aligned SSE spills on x86_64: it crashes on a
    // misaligned stack.
    std::snprintf(printed, sizeof printed, "%.3f", 3.14159);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(frame % 16, 0u);
  EXPECT_STREQ(printed, "3.142");
}

// Rounding mode of the calling thread/fiber, restored at scope exit.
struct rounding_guard {
  int saved = std::fegetround();
  ~rounding_guard() { std::fesetround(saved); }
};

// Whether the running code rounds as `fe` says. On x86_64 fegetround reads
// only the x87 control word, while float and double arithmetic rounds by
// MXCSR: both are checked, each kept per fiber by its own instruction in the
// switch (ldmxcsr, fldcw).
bool rounds(int fe) {
#if defined(__x86_64__)
  unsigned rc = 0;
  switch (fe) {
    case FE_DOWNWARD: rc = 0x2000; break;
    case FE_UPWARD: rc = 0x4000; break;
    case FE_TOWARDZERO: rc = 0x6000; break;
    default: break;
  }
  if ((_mm_getcsr() & 0x6000u) != rc) return false;
#endif
  return std::fegetround() == fe;
}

TEST_F(ContextTest, EachFiberKeepsItsOwnRoundingMode) {
  ASYNC_FIFO_ONLY();
#if defined(ASYNC_TEST_SAVE_X87_OFF)
  GTEST_SKIP() << "built with ASYNC_FIBER_SAVE_X87=0: the FP control state belongs to the thread";
#endif
  rounding_guard guard;
  ASSERT_TRUE(rounds(FE_TONEAREST));
  spawn([this] {
    std::fesetround(FE_UPWARD);
    async_yield();
    trace.push_back(rounds(FE_UPWARD) ? "a upward" : "a lost its mode");
    async_yield();
  });
  spawn([this] {
    trace.push_back(rounds(FE_TONEAREST) ? "b nearest" : "b inherited a's mode");
    std::fesetround(FE_DOWNWARD);
    async_yield();
    trace.push_back(rounds(FE_DOWNWARD) ? "b downward" : "b lost its mode");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"b nearest", "a upward", "b downward"}));
  EXPECT_TRUE(rounds(FE_TONEAREST)) << "a fiber's mode leaked into the thread";
}

TEST_F(ContextTest, NewFibersStartWithTheDrivingThreadsRoundingMode) {
  ASYNC_FIFO_ONLY();
#if defined(ASYNC_TEST_SAVE_X87_OFF)
  GTEST_SKIP() << "built with ASYNC_FIBER_SAVE_X87=0: the FP control state belongs to the thread";
#endif
  rounding_guard guard;
  std::fesetround(FE_TOWARDZERO);
  spawn([this] {
    trace.push_back(rounds(FE_TOWARDZERO) ? "driver's mode" : "other mode");
    std::fesetround(FE_UPWARD);
    // A child of a fiber that changed its own mode starts with the driver's.
    spawn([this] { trace.push_back(rounds(FE_TOWARDZERO) ? "child: driver's mode" : "child: other"); });
    async_yield();
    trace.push_back(rounds(FE_UPWARD) ? "parent kept upward" : "parent lost its mode");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"driver's mode", "child: driver's mode", "parent kept upward"}));
  EXPECT_TRUE(rounds(FE_TOWARDZERO)) << "the driver's own mode changed";
}

// Uses about `depth` KiB of stack.
int recurse(int depth) {
  volatile char pad[1000];
  pad[0] = static_cast<char>(depth);
  if (depth == 0) return pad[0];
  return recurse(depth - 1) + pad[0];
}

TEST_F(ContextTest, DeepRecursionJustShortOfTheGuardWorks) {
  // ASan's redzones make every frame several times larger.
  cfg_.fiber_stack_size = ASYNC_ASAN ? 512 * 1024 : 64 * 1024;
  int result = -1;
  spawn([&] {
    result = recurse(50);  // ~50 KiB of a 64 KiB stack
    async_yield();
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(result, 50 * 51 / 2);
}

TEST_F(ContextTest, ExceptionsThrownAndCaughtInsideAFiber) {
  spawn([this] {
    try {
      async_yield();
      throw std::runtime_error("inside");
    } catch (const std::runtime_error& e) {
      trace.push_back(e.what());
    }
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"inside"}));
}

// A fiber that parks inside a catch block keeps its own "current exception";
// without per-fiber exception globals, A sees B's exception or B rethrows A's.
TEST_F(ContextTest, AFiberParkedInACatchBlockKeepsItsOwnException) {
  ASYNC_FIFO_ONLY();
  spawn([this] {
    try {
      throw std::runtime_error("A");
    } catch (...) {
      async_yield();  // B throws and catches meanwhile
      try {
        throw;  // rethrows the exception being handled: must be A's
      } catch (const std::runtime_error& e) {
        trace.push_back(std::string("A rethrew ") + e.what());
      }
      trace.push_back(std::uncaught_exceptions() == 0 ? "A clean" : "A dirty");
    }
  });
  spawn([this] {
    try {
      throw std::logic_error("B");
    } catch (...) {
      async_yield();
      try {
        throw;
      } catch (const std::logic_error& e) {
        trace.push_back(std::string("B rethrew ") + e.what());
      }
    }
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"A rethrew A", "A clean", "B rethrew B"}));
  EXPECT_FALSE(std::current_exception()) << "a fiber's exception leaked into the thread";
}

TEST_F(ContextTest, MainsExceptionStateSurvivesRunningFibers) {
  try {
    throw std::runtime_error("main");
  } catch (...) {
    spawn([this] {
      trace.push_back(std::current_exception() ? "fiber sees main's exception" : "fiber clean");
    });
    ASSERT_EQ(run(), ASYNC_OK);
    try {
      throw;
    } catch (const std::runtime_error& e) {
      trace.push_back(e.what());
    }
  }
  EXPECT_EQ(trace, (Trace{"fiber clean", "main"}));
}

using async_test::mixer;

TEST_F(ContextTest, ManySwitchesKeepCalleeSavedValues) {
  ASYNC_FIFO_ONLY();
  constexpr int rounds = 10000;
  std::uint64_t sums[2] = {0, 0};
  for (int f = 0; f < 2; ++f) {
    spawn([&sums, f] {
      mixer m;
      for (int i = 0; i < rounds; ++i) {
        m.step();
        async_yield();
      }
      sums[f] = m.sum();
    });
  }
  ASSERT_EQ(run(), ASYNC_OK);
  mixer without_switches;
  for (int i = 0; i < rounds; ++i) without_switches.step();
  EXPECT_EQ(sums[0], without_switches.sum());
  EXPECT_EQ(sums[1], sums[0]);
  EXPECT_GE(stats().switches, 2u * rounds);
}

// The switches made without call and ret (docs/design.md, "Context switch"):
// into a fresh fiber, and out of an ended one. The spawner's context is saved
// by each kind of switch and resumed by each kind: an ending fiber's jump
// (after await of a fresh fiber, or of a started one) and a parking fiber's
// swap (the fresh fiber yields back to it first).
TEST_F(ContextTest, FreshAndEndingSwitchesKeepCalleeSavedValues) {
  ASYNC_FIFO_ONLY();
  constexpr int rounds = 2000;
  std::uint64_t sum = 0;
  spawn([&] {
    mixer m;
    for (int i = 0; i < rounds; ++i) {
      m.step();
      // Await of a fresh fiber that ends at once: saved into fresh, resumed
      // by the ending fiber's jump.
      async_fiber_handle_t h = async_spawn([](void*) {}, nullptr);
      if (h.status != ASYNC_OK || async_await(h) != ASYNC_OK) return;
      m.step();
      // A fresh fiber that yields back first: saved into fresh, resumed by a
      // swap; then await of the started fiber, resumed by its ending jump.
      h = async_spawn(
          [](void* t) {
            if (static_cast<Trace*>(t)->size() < 4) static_cast<Trace*>(t)->push_back("child runs");
            async_yield();
            if (static_cast<Trace*>(t)->size() < 4) static_cast<Trace*>(t)->push_back("child ends");
          },
          &trace);
      if (h.status != ASYNC_OK) return;
      async_yield();
      if (trace.size() < 4) trace.push_back("spawner back");
      m.step();
      if (async_await(h) != ASYNC_OK) return;
      if (trace.size() < 4) trace.push_back("spawner done");
      m.step();
    }
    sum = m.sum();
  });
  ASSERT_EQ(run(), ASYNC_OK);
  mixer without_switches;
  for (int i = 0; i < 4 * rounds; ++i) without_switches.step();
  EXPECT_EQ(sum, without_switches.sum());
  EXPECT_EQ(trace, (Trace{"child runs", "spawner back", "child ends", "spawner done"}));
}

}  // namespace
