// SPDX-License-Identifier: MIT
// park_test.cpp: async_park / async_unpark, the wake-up across threads. CI
// runs these under ThreadSanitizer.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "support/runtime_fixture.h"

namespace {

using ParkTest = async_test::RuntimeTest;

TEST_F(ParkTest, AnUnparkBeforeTheParkIsATokenKeptOnce) {
  spawn([&] {
    EXPECT_EQ(async_unpark(async_self()), ASYNC_OK);
    EXPECT_EQ(async_unpark(async_self()), ASYNC_OK);  // tokens do not add up
    EXPECT_EQ(async_park(), ASYNC_OK);                // at once
    trace.push_back("first park returned");
    EXPECT_EQ(async_park_until_ns(async_now_ns() + 2000000u), ASYNC_ETIMEDOUT);
    trace.push_back("second park timed out");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"first park returned", "second park timed out"}));
}

// A cancel from another thread that is still in the runtime's inbox when its
// fiber parks ends the park (the inbox is taken first, then the flag read).
TEST_F(ParkTest, ACancelWaitingInTheInboxEndsThePark) {
  spawn([&] {
    const async_fiber_handle_t me = async_self();
    std::thread([me] { EXPECT_EQ(async_cancel(me), ASYNC_OK); }).join();  // queued, not applied
    EXPECT_EQ(async_park(), ASYNC_ECANCELED);
    trace.push_back("park cancelled");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"park cancelled"}));
}

TEST_F(ParkTest, AFiberOfTheSameThreadUnparks) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t parked = spawn([&] {
    trace.push_back("parks");
    EXPECT_EQ(async_park(), ASYNC_OK);
    trace.push_back("unparked");
  });
  spawn([&] {
    trace.push_back("unparks");
    EXPECT_EQ(async_unpark(parked), ASYNC_OK);
    trace.push_back("goes on");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"parks", "unparks", "goes on", "unparked"}));
}

TEST_F(ParkTest, AnotherThreadUnparksAFiberThatWaits) {
  std::atomic<bool> parked{false};
  async_fiber_handle_t h = spawn([&] {
    parked.store(true);
    EXPECT_EQ(async_park(), ASYNC_OK);
    trace.push_back("woken");
  });
  std::thread waker([&] {
    while (!parked.load()) std::this_thread::yield();
    // Give the owner time to block in the poller (the wake must end a real
    // sleep, not only be seen before one).
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(async_unpark(h), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);  // blocks in the poller until the unpark
  waker.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"woken"}));
}

TEST_F(ParkTest, ManyThreadsManyUnparksNoneLost) {
  // Each round, a fiber parks until its counter reaches the target; threads
  // bump the counter and unpark. A lost wake would hang the test (ctest's
  // timeout fails it).
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::atomic<int> count{0};
  async_fiber_handle_t h = spawn([&] {
    while (count.load() < threads * per_thread) {
      const async_status_t st = async_park();
      EXPECT_EQ(st, ASYNC_OK);
    }
    trace.push_back("saw all");
  });
  std::vector<std::thread> wakers;
  for (int t = 0; t < threads; ++t) {
    wakers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        count.fetch_add(1);
        EXPECT_EQ(async_unpark(h), ASYNC_OK);
      }
    });
  }
  EXPECT_EQ(run(), ASYNC_OK);
  for (auto& w : wakers) w.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"saw all"}));
}

TEST_F(ParkTest, CancelEndsAPark) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t h = spawn([&] {
    EXPECT_EQ(async_park(), ASYNC_ECANCELED);
    EXPECT_EQ(async_park(), ASYNC_ECANCELED);  // without blocking
    trace.push_back("cancelled");
  });
  spawn([&] { EXPECT_EQ(async_cancel(h), ASYNC_OK); });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"cancelled"}));
}

TEST_F(ParkTest, UnparksOfEndedFibersAreDropped) {
  cfg_.task_capacity = 1;  // the next fiber reuses the ended one's record
  async_fiber_handle_t ended = spawn([] {});
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_unpark(ended), ASYNC_OK);
  // The record is reused by the next fiber: the stale unpark must not give
  // it a token.
  spawn([&] {
    EXPECT_EQ(async_park_until_ns(async_now_ns() + 1000000u), ASYNC_ETIMEDOUT);
    trace.push_back("no stray token");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"no stray token"}));
}

TEST_F(ParkTest, Misuse) {
  EXPECT_EQ(async_park(), ASYNC_ESTATE);
  EXPECT_EQ(async_park_until_ns(0), ASYNC_ESTATE);
  async_fiber_handle_t zeroed{};
  EXPECT_EQ(async_unpark(zeroed), ASYNC_EINVAL);
  async_fiber_handle_t no_id{};
  no_id.runtime = runtime();
  EXPECT_EQ(async_unpark(no_id), ASYNC_EINVAL);
}

TEST_F(ParkTest, ForgedAndStaleHandlesAreInvalid) {
  cfg_.task_capacity = 2;
  async_fiber_handle_t h = spawn([] { EXPECT_EQ(async_park(), ASYNC_OK); });
  async_fiber_handle_t forged = h;
  forged.slot = 2;  // past the table
  EXPECT_EQ(async_unpark(forged), ASYNC_EINVAL);
  forged.slot = UINT32_MAX;
  EXPECT_EQ(async_unpark(forged), ASYNC_EINVAL);
  forged = h;
  forged.id = 1;  // no runtime's fiber
  EXPECT_EQ(async_unpark(forged), ASYNC_EINVAL);
  EXPECT_EQ(async_unpark(h), ASYNC_OK);
  EXPECT_EQ(run(), ASYNC_OK);
  // A handle of the runtime this struct held before is stale for the next.
  async_runtime_t* rt = runtime();
  async_runtime_shutdown(rt);
  ASSERT_EQ(async_runtime_init(rt, &cfg_), ASYNC_OK);
  async_fiber_handle_t next = spawn([] { EXPECT_EQ(async_park(), ASYNC_OK); });
  ASSERT_EQ(next.slot, h.slot);
  EXPECT_EQ(async_unpark(h), ASYNC_EINVAL);
  EXPECT_EQ(async_unpark(next), ASYNC_OK);
  EXPECT_EQ(run(), ASYNC_OK);
}

TEST_F(ParkTest, AParkedFiberWithNobodyToWakeItKeepsRunWaitingUntilUnparked) {
  // Not a deadlock: another thread may unpark. A timed park ends by itself.
  spawn([&] {
    EXPECT_EQ(async_park_until_ns(async_now_ns() + 3000000u), ASYNC_ETIMEDOUT);
    trace.push_back("timed out");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"timed out"}));
}

}  // namespace
