// SPDX-License-Identifier: MIT
// cpp_vtime_test.cpp: the std::chrono timed calls of async.hpp and
// async/sync.hpp on a runtime with virtual time (config::virtual_time):
// _for forms move the clock by exactly their duration, steady_clock _until
// forms by their distance from now, and the config flag round-trips. The C
// rules (wake order, every C timed wait, I/O before a jump) are in
// c_vtime_test.c. Nothing here depends on wall time.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "async.hpp"
#include "async/sync.hpp"
#include "support/cpp_runtime_fixture.h"
#include "support/seeded.h"

namespace {

using namespace std::chrono_literals;
using Trace = std::vector<std::string>;

constexpr std::uint64_t minute_ns = 60'000'000'000ull;
constexpr std::uint64_t hour_ns = 60 * minute_ns;

class CppVtimeTest : public async_test::CppRuntimeFixture {
 protected:
  CppVtimeTest() { cfg_ = async::config{}.virtual_time(true); }

  std::uint64_t t0_ = 0;
  Trace trace_;

  // "<what>@<virtual minutes since t0>", exact to the nanosecond or flagged.
  void at(const std::string& what) {
    const std::uint64_t since = async_now_ns() - t0_;
    trace_.push_back(what + "@" + std::to_string(since / minute_ns) + (since % minute_ns != 0 ? "+" : ""));
  }

  void start() {
    async::spawn(rt(), [this] { t0_ = async_now_ns(); });
  }
};

TEST_F(CppVtimeTest, ConfigCarriesTheFlag) {
  EXPECT_FALSE(async::config{}.virtual_time());
  EXPECT_TRUE(async::config{}.virtual_time(true).virtual_time());
  EXPECT_EQ(async::config{}.virtual_time(true).native().flags, ASYNC_CONFIG_VIRTUAL_TIME);
  EXPECT_EQ(async::config{}.virtual_time(true).guard_pages(false).native().flags,
            ASYNC_CONFIG_VIRTUAL_TIME | ASYNC_CONFIG_NO_GUARD_PAGES);
}

TEST_F(CppVtimeTest, ForFormsMoveTheClockByExactlyTheirDuration) {
  ASYNC_FIFO_ONLY();  // the holder must lock before try_lock_for runs
  async::channel<int> ch(rt(), 0);
  async::mutex m;
  async::counting_semaphore<> sem(0);
  start();
  async::spawn(rt(), [&] {
    async::this_fiber::sleep_for(1h);
    at("slept");
    EXPECT_FALSE(ch.recv_for(10min).has_value());
    at("recv_for");
    EXPECT_EQ(ch.send_for(1, 5min), async::status::etimedout);
    at("send_for");
    std::optional<int> got;
    EXPECT_TRUE(async::select_for(2min, async::recv_case(ch, got)).timed_out());
    at("select_for");
    EXPECT_FALSE(sem.try_acquire_for(3min));
    at("try_acquire_for");
  });
  async::spawn(rt(), [&] {
    std::lock_guard<async::mutex> hold(m);
    async::this_fiber::sleep_for(2h);
  });
  async::spawn(rt(), [&] {
    EXPECT_FALSE(m.try_lock_for(7min));
    at("try_lock_for");
  });
  ASSERT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace_, (Trace{"try_lock_for@7", "slept@60", "recv_for@70", "send_for@75", "select_for@77",
                           "try_acquire_for@80"}));
}

TEST_F(CppVtimeTest, ConditionVariableWaitForTimesOutHoldingTheLock) {
  async::mutex m;
  async::condition_variable cv;
  start();
  async::spawn(rt(), [&] {
    std::unique_lock<async::mutex> lk(m);
    EXPECT_EQ(cv.wait_for(lk, 10min), std::cv_status::timeout);
    EXPECT_TRUE(lk.owns_lock());
    at("cv");
  });
  ASSERT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace_, (Trace{"cv@10"}));
}

// A steady_clock time point is a real-clock time: it is kept as a distance
// from now, so it lands within the nanoseconds between two clock reads of
// the virtual deadline, never after it.
TEST_F(CppVtimeTest, SteadyClockUntilFormsKeepTheirDistanceFromNow) {
  async::channel<int> ch(rt(), 0);
  std::uint64_t slept = 0, waited = 0;
  async::spawn(rt(), [&] {
    const std::uint64_t n0 = async_now_ns();
    async::this_fiber::sleep_until(std::chrono::steady_clock::now() + 1h);
    slept = async_now_ns() - n0;
    const std::uint64_t n1 = async_now_ns();
    EXPECT_FALSE(ch.recv_until(std::chrono::steady_clock::now() + 10min).has_value());
    waited = async_now_ns() - n1;
  });
  ASSERT_EQ(rt().run(), async::status::ok);
  EXPECT_LE(slept, hour_ns);
  EXPECT_GT(slept, hour_ns - minute_ns);
  EXPECT_LE(waited, 10 * minute_ns);
  EXPECT_GT(waited, 9 * minute_ns);
}

// A time point already past on steady_clock is past on the virtual clock too.
TEST_F(CppVtimeTest, SteadyClockPastDeadlineTimesOutAtOnce) {
  async::channel<int> ch(rt(), 0);
  start();
  async::spawn(rt(), [&] {
    EXPECT_FALSE(ch.recv_until(std::chrono::steady_clock::now() - 1s).has_value());
    at("past");
  });
  ASSERT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace_, (Trace{"past@0"}));
}

}  // namespace
