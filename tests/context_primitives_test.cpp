// SPDX-License-Identifier: MIT
// context_primitives_test.cpp: the context switch primitives (src/arch/context.h)
// driven by hand, without a runtime.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../src/arch/context.h"
#include "../src/arch/fp_control.h"
#include "../src/arch/sanitizer.h"
#include "support/register_mixer.h"

namespace {

using async_test::mixer;

// The switches made without call and ret (docs/design.md, "Context switch")
// on the primitives themselves, outside any runtime, so that the path taken
// is known (context_test.cpp drives the same switches through a runtime): a context made by ctx_make is fresh (on
// x86_64 without shadow stacks, ASYNC_CTX_FRESH_UNCALLED), one that has run
// and parked is not; ctx_swap_into_fresh enters it, async_impl_ctx_swap
// parks and resumes it, and ctx_jump_from_end leaves it for good.
struct raw_switches {
  void* main_sp = nullptr;
  void* fiber_sp = nullptr;
  std::vector<std::string> steps;
  std::uint64_t fiber_sum = 0;
  async::detail::fp_control fiber_fp_first{};  // what the fiber ran with, at each resume
  async::detail::fp_control fiber_fp_resumed{};
};

[[noreturn]] void raw_fiber(void* arg) {
  auto* r = static_cast<raw_switches*>(arg);
  mixer m;
  m.step();
  r->fiber_fp_first = async::detail::fp_control_capture();
  r->steps.push_back("fiber entered");
  async_impl_ctx_swap(&r->fiber_sp, r->main_sp);
  m.step();
  r->fiber_fp_resumed = async::detail::fp_control_capture();
  r->steps.push_back("fiber resumed");
  r->fiber_sum = m.sum();
  async::detail::ctx_jump_from_end(r->main_sp);
}

TEST(ContextPrimitives, FreshSwapAndEndingJumpKeepCalleeSavedValues) {
  using namespace async::detail;
  // Bare contexts are not announced to the sanitizers, and get no shadow stack.
  if (ASYNC_ASAN || ASYNC_TSAN || ASYNC_CTX_SHSTK) GTEST_SKIP() << "needs a build without sanitizers and shadow stacks";
  std::vector<char> stack(64 * 1024);
  raw_switches r;
  const fp_control main_fp = fp_control_capture();
  // The fiber rounds upward in both control words, so that every switch
  // must load them (the swap skips fldcw only for an equal x87 word).
  fp_control fiber_fp = main_fp;
#if ASYNC_FIBER_SAVE_X87 && defined(__x86_64__)
  fiber_fp.mxcsr = (fiber_fp.mxcsr & ~0x6000u) | 0x4000u;
  fiber_fp.x87cw = static_cast<std::uint16_t>((fiber_fp.x87cw & ~0x0c00u) | 0x0800u);
#endif
  r.fiber_sp = ctx_make(stack.data() + stack.size(), raw_fiber, &r, fiber_fp);
  EXPECT_EQ(ctx_is_fresh(r.fiber_sp), ASYNC_CTX_FRESH_UNCALLED != 0);
  mixer m;
  m.step();
  ctx_swap_into_fresh(&r.main_sp, r.fiber_sp);
  r.steps.push_back("main back");
  EXPECT_FALSE(ctx_is_fresh(r.fiber_sp));
  m.step();
  async_impl_ctx_swap(&r.main_sp, r.fiber_sp);
  r.steps.push_back("main after the end");
  m.step();
  mixer without_switches;
  for (int i = 0; i < 3; ++i) without_switches.step();
  EXPECT_EQ(m.sum(), without_switches.sum());
  mixer two;
  two.step();
  two.step();
  EXPECT_EQ(r.fiber_sum, two.sum());
  EXPECT_EQ(r.steps, (std::vector<std::string>{"fiber entered", "main back", "fiber resumed", "main after the end"}));
#if ASYNC_FIBER_SAVE_X87 && defined(__x86_64__)
  const fp_control after = fp_control_capture();
  EXPECT_EQ(r.fiber_fp_first.mxcsr & 0x6000u, 0x4000u) << "the fresh fiber did not get its MXCSR";
  EXPECT_EQ(r.fiber_fp_first.x87cw & 0x0c00u, 0x0800u) << "the fresh fiber did not get its x87 word";
  EXPECT_EQ(r.fiber_fp_resumed.mxcsr & 0x6000u, 0x4000u) << "the resumed fiber did not get its MXCSR back";
  EXPECT_EQ(r.fiber_fp_resumed.x87cw & 0x0c00u, 0x0800u) << "the resumed fiber did not get its x87 word back";
  EXPECT_EQ(after.mxcsr & 0x6000u, main_fp.mxcsr & 0x6000u) << "main did not get its MXCSR back";
  EXPECT_EQ(after.x87cw & 0x0c00u, main_fp.x87cw & 0x0c00u) << "main did not get its x87 word back";
#endif
}

}  // namespace
