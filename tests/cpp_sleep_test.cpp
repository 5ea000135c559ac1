// SPDX-License-Identifier: MIT
// cpp_sleep_test.cpp: chrono sleeps in the C++ API (async/fiber.hpp): wake order by
// deadline, zero, negative and past sleeps still suspend, sleep until the end
// of time, rounding and saturation of durations, the steady clock.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "async.hpp"
#include "support/cpp_api_fixture.h"
#include "support/seeded.h"

namespace {

using namespace std::chrono_literals;
using namespace async_test;

class CppSleepTest : public CppApiFixture {};

TEST_F(CppSleepTest, ShortSleepsEndWhileALongOneGoesOn) {
  // Any duration type works. Only orders that no scheduling delay short of
  // an hour could change are asserted.
  auto a = async::spawn(rt(), [] { async::this_fiber::sleep_for(std::chrono::microseconds(1000)); });
  auto b = async::spawn(rt(), [&] {
    trace.push_back("b sleeps an hour");
    trace.push_back("b: " + outcome_of([] { async::this_fiber::sleep_for(1h); }));
  });
  auto c = async::spawn(rt(), [] { async::this_fiber::sleep_for(std::chrono::duration<double, std::milli>(2.0)); });
  auto d = async::spawn(rt(), [] { async::this_fiber::sleep_until(std::chrono::steady_clock::now() + 3ms); });
  auto closer = async::spawn(rt(), [&] {
    a.join();
    trace.push_back("a woke");
    c.join();
    trace.push_back("c woke");
    d.join();
    trace.push_back("d woke");
    trace.push_back("cancel b");
    b.cancel();
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"b sleeps an hour", "a woke", "c woke", "d woke", "cancel b", "b: cancelled"}));
  b.join();
  closer.join();
}

TEST_F(CppSleepTest, SleepersUntilATimePointWakeInDeadlineOrder) {
  ASYNC_FIFO_ONLY();
  // Absolute deadlines: the order does not depend on when the fibers start.
  const auto base = std::chrono::steady_clock::now() + 2ms;
  auto sleeper = [&](std::string name, std::chrono::steady_clock::time_point until) {
    return async::spawn(rt(), [&, name, until] {
      async::this_fiber::sleep_until(until);
      trace.push_back(name);
    });
  };
  auto a = sleeper("a +3ms", base + 3ms);
  auto b = sleeper("b +1ms", base + 1ms);
  auto c = sleeper("c +2ms", base + 2ms);
  auto d = sleeper("d +1ms", base + 1ms);  // ties with b: began sleeping after b
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"b +1ms", "d +1ms", "c +2ms", "a +3ms"}));
  a.join();
  b.join();
  c.join();
  d.join();
}

TEST_F(CppSleepTest, ZeroNegativeAndPastSleepsStillSuspend) {
  ASYNC_FIFO_ONLY();
  auto a = async::spawn(rt(), [&] {
    trace.push_back("a sleeps 0");
    async::this_fiber::sleep_for(0s);
    trace.push_back("a sleeps -1s");
    async::this_fiber::sleep_for(-1s);
    trace.push_back("a sleeps until the past");
    async::this_fiber::sleep_until(std::chrono::steady_clock::now() - 1h);
    trace.push_back("a sleeps until the beginning of time");
    async::this_fiber::sleep_until(std::chrono::time_point<std::chrono::steady_clock, std::chrono::hours>::min());
    trace.push_back("a done");
  });
  auto b = async::spawn(rt(), [&] {
    for (int i = 0; i < 5; ++i) {
      trace.push_back("b " + std::to_string(i));
      async::this_fiber::yield();
    }
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  // Each sleep parks a until the next pass over the run queue collects its
  // (already due) timer, so b always runs in between. The first time, b's
  // yield ends the pass and queues b ahead of a, so b runs twice.
  EXPECT_EQ(trace, (Trace{"a sleeps 0", "b 0", "b 1", "a sleeps -1s", "b 2", "a sleeps until the past", "b 3",
                          "a sleeps until the beginning of time", "b 4", "a done"}));
  a.join();
  b.join();
}

TEST_F(CppSleepTest, SleepUntilTheEndOfTimeSleepsUntilCancelled) {
  ASYNC_FIFO_ONLY();
  auto f = async::spawn(rt(), [&] {
    trace.push_back(outcome_of([] { async::this_fiber::sleep_until(std::chrono::steady_clock::time_point::max()); }));
    trace.push_back(outcome_of([] {
      async::this_fiber::sleep_until(
          std::chrono::time_point<std::chrono::steady_clock, std::chrono::hours>::max());
    }));
  });
  auto c = async::spawn(rt(), [&] {
    trace.push_back("cancel");
    f.cancel();
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"cancel", "cancelled", "cancelled"}));
  f.join();
  c.join();
}


TEST_F(CppSleepTest, DurationsRoundUpToWholeNanosecondsAndSaturate) {
  using async::detail::to_ns;
  EXPECT_EQ(to_ns(0ns), 0u);
  EXPECT_EQ(to_ns(-5s), 0u);
  EXPECT_EQ(to_ns(1ns), 1u);
  EXPECT_EQ(to_ns(3ms), 3000000u);
  EXPECT_EQ(to_ns(std::chrono::duration<long long, std::pico>(1)), 1u);
  EXPECT_EQ(to_ns(std::chrono::duration<long long, std::pico>(1001)), 2u);
  EXPECT_EQ(to_ns(std::chrono::duration<double, std::nano>(1.5)), 2u);
  EXPECT_EQ(to_ns(std::chrono::hours(2562047)), 2562047ull * 3600u * 1000000000u);
  EXPECT_EQ(to_ns(std::chrono::hours(2562048)), UINT64_MAX);  // past INT64_MAX ns
  EXPECT_EQ(to_ns(std::chrono::hours::max()), UINT64_MAX);
  EXPECT_EQ(to_ns(std::chrono::duration<double>(1e300)), UINT64_MAX);
}

#if defined(__linux__)
TEST_F(CppSleepTest, SteadyClockIsTheRuntimesClockOnLinux) {
  const auto before = std::chrono::steady_clock::now();
  const std::uint64_t now = async_now_ns();
  const auto after = std::chrono::steady_clock::now();
  EXPECT_LE(static_cast<std::uint64_t>(before.time_since_epoch().count()), now);
  EXPECT_GE(static_cast<std::uint64_t>(after.time_since_epoch().count()), now);
  EXPECT_EQ(async::detail::deadline_ns(before), static_cast<std::uint64_t>(before.time_since_epoch().count()));
}
#endif

TEST_F(CppSleepTest, DeadlinesCarryOverFromSteadyClocksNow) {
  using async::detail::deadline_from;
  using std::chrono::steady_clock;
  const steady_clock::time_point now(1h);
  const std::uint64_t base = 5000;
  EXPECT_EQ(deadline_from(now + 1500ns, now, base), 6500u);
  EXPECT_EQ(deadline_from(now + std::chrono::duration<double, std::nano>(0.5), now, base), 5001u);
  EXPECT_EQ(deadline_from(now, now, base), 0u);  // past: sleeps as sleep_for(0)
  EXPECT_EQ(deadline_from(now - 1s, now, base), 0u);
  EXPECT_EQ(deadline_from(std::chrono::time_point<steady_clock, std::chrono::hours>::min(), now, base), 0u);
  EXPECT_EQ(deadline_from(steady_clock::time_point::max(), now, base), UINT64_MAX);
  EXPECT_EQ(deadline_from(std::chrono::time_point<steady_clock, std::chrono::hours>::max(), now, base), UINT64_MAX);
  EXPECT_EQ(deadline_from(now + 1s, now, UINT64_MAX - 10), UINT64_MAX);
}

TEST_F(CppSleepTest, SuspendingCallsOutsideAFiberThrowEstate) {
  EXPECT_EQ(outcome_of([] { async::this_fiber::yield(); }), "error ESTATE");
  EXPECT_EQ(outcome_of([] { async::this_fiber::sleep_for(1ms); }), "error ESTATE");
  EXPECT_EQ(outcome_of([] { async::this_fiber::sleep_until(std::chrono::steady_clock::now()); }), "error ESTATE");
  EXPECT_FALSE(async::this_fiber::is_cancelled());
  EXPECT_FALSE(async::this_fiber::self());
  try {
    async::this_fiber::yield();
  } catch (const async::error& e) {
    EXPECT_STREQ(e.what(), "async::this_fiber::yield: wrong state (e.g. not in a fiber, or run re-entered)");
  }
}

}  // namespace
