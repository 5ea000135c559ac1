// SPDX-License-Identifier: MIT
// idle_spin_test.cpp: how long an idle runtime that waits for other threads
// spins for its inbox before it sleeps (core/remote.h, adapted_spin): the
// whole sequence of limits for the cases that move it, and its bounds; and
// the bounded spin itself (core/spin_wait.h).
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/remote.h"
#include "core/spin_wait.h"
#include "gtest/gtest.h"

namespace {

using async::detail::adapted_spin;
using async::detail::inbox_spin_max_ns;
using async::detail::inbox_spin_min_ns;

constexpr std::uint64_t us = 1000;

// The limits after each of `sleeps` (slept ns, answered), from `start`.
std::vector<std::uint64_t> limits(std::uint64_t start, const std::vector<std::pair<std::uint64_t, bool>>& sleeps) {
  std::vector<std::uint64_t> out;
  std::uint64_t spin = start;
  for (const auto& [slept, replied] : sleeps) {
    spin = adapted_spin(spin, slept, replied);
    out.push_back(spin);
  }
  return out;
}

TEST(IdleSpinTest, BoundsAreTwoAndFiftyMicroseconds) {
  EXPECT_EQ(inbox_spin_min_ns, 2 * us);
  EXPECT_EQ(inbox_spin_max_ns, 50 * us);
}

// Answers that came soon after each sleep: the limit doubles up to the
// maximum and stays there.
TEST(IdleSpinTest, AnswersSoonAfterSleepingDoubleTheSpinUpToItsMaximum) {
  EXPECT_EQ(limits(5 * us, {{10 * us, true}, {8 * us, true}, {30 * us, true}, {1 * us, true}, {49 * us, true}}),
            (std::vector<std::uint64_t>{10 * us, 20 * us, 40 * us, 50 * us, 50 * us}));
}

// Long sleeps: the thread was idle; the limit halves down to the minimum,
// answered or not.
TEST(IdleSpinTest, LongSleepsHalveTheSpinDownToItsMinimum) {
  EXPECT_EQ(limits(50 * us, {{50 * us, true}, {1000 * us, false}, {60 * us, true}, {1000000 * us, false},
                             {51 * us, false}, {50 * us, false}}),
            (std::vector<std::uint64_t>{25 * us, 12500, 6250, 3125, 2 * us, 2 * us}));
}

// A short sleep that nothing answered (a spawn from a plain thread, a timer,
// an fd) keeps the limit: only answers to waits grow it.
TEST(IdleSpinTest, ShortSleepsWithoutAnAnswerKeepTheSpin) {
  EXPECT_EQ(limits(5 * us, {{10 * us, false}, {1 * us, false}, {49 * us, false}}),
            (std::vector<std::uint64_t>{5 * us, 5 * us, 5 * us}));
}

// From the minimum, answers bring the spin back up; a mix settles where the
// answers' pace puts it.
TEST(IdleSpinTest, TheSpinFollowsThePaceOfAnswers) {
  EXPECT_EQ(limits(2 * us, {{3 * us, true}, {3 * us, true}, {200 * us, false}, {3 * us, true}, {3 * us, false}}),
            (std::vector<std::uint64_t>{4 * us, 8 * us, 4 * us, 8 * us, 8 * us}));
}

// spin_until: true as soon as the condition holds (asked once, already
// true: no clock read needed), false once the limit passes, and true when
// another thread makes it hold while it spins (a limit far beyond the test).
TEST(SpinUntilTest, EndsWhenTheConditionHoldsOrTheLimitPasses) {
  int asked = 0;
  EXPECT_TRUE(async::detail::spin_until([&asked] { return ++asked > 0; }, 0, 0));
  EXPECT_EQ(asked, 1);

  asked = 0;
  EXPECT_FALSE(async::detail::spin_until([&asked] { return ++asked < 0; }, 1 * us, 0));
  EXPECT_GE(asked, 16);  // the clock is read every 16 tries

  std::atomic<bool> set{false};
  std::thread setter([&set] { set.store(true, std::memory_order_release); });
  EXPECT_TRUE(async::detail::spin_until([&set] { return set.load(std::memory_order_acquire); },
                                        600'000'000'000ull, 2 * us));
  setter.join();
}

}  // namespace
