// SPDX-License-Identifier: MIT
// cpp_cancel_test.cpp: cancellation in the C++ API (async/fiber.hpp): an exception
// that unwinds the fiber's stack, thrown by every suspending call; cancels
// before the first dispatch, of sleepers, joiners and ended fibers.
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

class CppCancelTest : public CppApiFixture {};

TEST_F(CppCancelTest, CancellationUnwindsTheFiberStack) {
  ASYNC_FIFO_ONLY();
  auto worker = async::spawn(rt(), [&]() -> int {
    guard outer(trace, "outer");
    trace.push_back("worker sleeps");
    {
      guard inner(trace, "inner");
      async::this_fiber::sleep_for(1h);
      trace.push_back("never");
    }
    return 1;
  });
  auto canceller = async::spawn(rt(), [&] {
    trace.push_back("cancel worker");
    worker.cancel();
    trace.push_back("cancel returned");
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"worker sleeps", "cancel worker", "cancel returned", "~inner", "~outer"}));
  EXPECT_EQ(outcome_of([&] { (void)worker.join(); }), "cancelled");
  canceller.join();
}

TEST_F(CppCancelTest, EverySuspendingCallThrowsOnceCancelled) {
  async::fiber<void> f;
  f = async::spawn(rt(), [&] {
    f.cancel();  // a fiber may cancel itself; it takes effect at the next suspension
    trace.push_back("is_cancelled " + std::to_string(async::this_fiber::is_cancelled()));
    trace.push_back("yield: " + outcome_of([] { async::this_fiber::yield(); }));
    trace.push_back("sleep_for: " + outcome_of([] { async::this_fiber::sleep_for(0ms); }));
    trace.push_back("sleep_until: " +
                    outcome_of([] { async::this_fiber::sleep_until(std::chrono::steady_clock::now() + 1h); }));
    auto child = async::spawn([&] { trace.push_back("child runs"); });
    trace.push_back("join: " + outcome_of([&] { child.join(); }));
    trace.push_back("child joinable " + std::to_string(child.joinable()));
    async::this_fiber::yield();  // let it escape: the fiber ends cancelled
    trace.push_back("never");
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"is_cancelled 1", "yield: cancelled", "sleep_for: cancelled", "sleep_until: cancelled",
                          "join: cancelled", "child joinable 1", "child runs"}));
  EXPECT_EQ(outcome_of([&] { f.join(); }), "cancelled");
}

TEST_F(CppCancelTest, CancelBeforeStartMeansTheFiberNeverRuns) {
  int live = 0;
  auto f = async::spawn(rt(), [&, c = counted(live)] {
    trace.push_back("ran");
    return 1;
  });
  EXPECT_EQ(live, 1);
  f.cancel();
  EXPECT_TRUE(f.joinable());
  EXPECT_EQ(rt().stats().fibers_live, 0u);  // ended at once, without running
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(outcome_of([&] { (void)f.join(); }), "cancelled");
  EXPECT_TRUE(trace.empty());
  EXPECT_EQ(live, 0);
}

TEST_F(CppCancelTest, CancelBeforeStartThroughTheHandleAlsoEndsItCancelled) {
  auto f = async::spawn(rt(), [&] { trace.push_back("ran"); });
  async::fiber_handle h = f.handle();
  h.cancel();
  EXPECT_EQ(outcome_of([&] { f.join(); }), "cancelled");
  EXPECT_TRUE(trace.empty());
}

TEST_F(CppCancelTest, CancelOfAFiberWaitingForAStackMeansItNeverRuns) {
  ASYNC_FIFO_ONLY();
  cfg_.fiber_capacity(1);
  async::fiber<void> b;
  auto a = async::spawn(rt(), [&] {
    trace.push_back("a");
    async::this_fiber::yield();
    trace.push_back("waiting " + std::to_string(rt().stats().fibers_waiting_stack));
    trace.push_back("a cancels b");
    b.cancel();
  });
  b = async::spawn(rt(), [&] { trace.push_back("b"); });
  auto c = async::spawn(rt(), [&] { trace.push_back("c"); });
  EXPECT_EQ(rt().run(), async::status::ok);
  // a held the only stack; b and c waited for it, in spawn order, and a
  // cancelled b while it waited: b never ran and c got the stack.
  EXPECT_EQ(trace, (Trace{"a", "waiting 2", "a cancels b", "c"}));
  EXPECT_EQ(outcome_of([&] { b.join(); }), "cancelled");
  a.join();
  c.join();
}

TEST_F(CppCancelTest, ANeverRunFiberStaysCancelledAfterItsRecordIsRecycled) {
  cfg_.task_capacity(3);
  auto f = async::spawn(rt(), [&] { trace.push_back("f ran"); });
  auto g = async::spawn(rt(), [&] { trace.push_back("g ran"); });
  auto k = async::spawn(rt(), [&] { trace.push_back("k ran"); });
  for (auto* h : {&f, &g, &k}) async_cancel(h->handle().native());  // behind the C++ API's back
  // Three more fibers end: they take the records f, g and k had, whose
  // handles go stale (async_await on them now returns EINVAL).
  for (int i = 0; i < 3; ++i) async::spawn(rt(), [] {}).join();
  ASSERT_EQ(async_await(f.handle().native()), ASYNC_EINVAL);
  f.cancel();  // it has ended: a no-op
  EXPECT_EQ(outcome_of([&] { f.join(); }), "cancelled");
  EXPECT_EQ(outcome_of([&] { k.join(); }), "cancelled");  // from main
  auto joiner = async::spawn(rt(), [&] { trace.push_back("joiner: " + outcome_of([&] { g.join(); })); });
  joiner.join();
  EXPECT_EQ(trace, (Trace{"joiner: cancelled"}));
}

TEST_F(CppCancelTest, JoinOfACancelledSleeperThrowsCancelled) {
  auto sleeper = async::spawn(rt(), [&]() -> std::string {
    async::this_fiber::sleep_for(std::chrono::hours::max());  // forever, until cancelled
    return "woke";
  });
  auto joiner = async::spawn(rt(), [&] {
    trace.push_back("joiner: " + outcome_of([&] { (void)sleeper.join(); }));
  });
  auto canceller = async::spawn(rt(), [&] {
    trace.push_back("cancel");
    sleeper.cancel();
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"cancel", "joiner: cancelled"}));
  EXPECT_FALSE(sleeper.joinable());  // the joiner joined it
  joiner.join();
  canceller.join();
}

TEST_F(CppCancelTest, ACancelledFiberThatCatchesAndReturnsGivesItsResult) {
  ASYNC_FIFO_ONLY();
  auto f = async::spawn(rt(), [&] {
    try {
      async::this_fiber::sleep_for(1h);
      return std::string("slept");
    } catch (const async::cancelled& e) {
      trace.push_back(std::string("caught ") + e.what());
      trace.push_back("yield again: " + outcome_of([] { async::this_fiber::yield(); }));
      return std::string("cleaned up");
    }
  });
  auto c = async::spawn(rt(), [&] { f.cancel(); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(f.join(), "cleaned up");
  EXPECT_EQ(trace, (Trace{"caught canceled", "yield again: cancelled"}));
  c.join();
}

TEST_F(CppCancelTest, ThrowingCancelledEndsTheFiberCancelled) {
  auto f = async::spawn(rt(), [&]() -> int {
    guard g(trace, "frame");
    throw async::cancelled();  // without being cancelled
  });
  EXPECT_EQ(outcome_of([&] { (void)f.join(); }), "cancelled");
  EXPECT_EQ(trace, (Trace{"~frame"}));
}

TEST_F(CppCancelTest, AJoinerCancelledWhileJoiningLeavesTheChildRunning) {
  ASYNC_FIFO_ONLY();
  async::fiber<int> child;
  auto parent = async::spawn(rt(), [&] {
    guard g(trace, "parent frame");
    child = async::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        trace.push_back("child " + std::to_string(i));
        async::this_fiber::yield();
      }
      return 3;
    });
    (void)child.join();
    trace.push_back("never");
  });
  auto canceller = async::spawn(rt(), [&] {
    trace.push_back("cancel parent");
    parent.cancel();
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  // The cancel wakes the parent at the tail of the run queue, behind the child.
  EXPECT_EQ(trace, (Trace{"cancel parent", "child 0", "~parent frame", "child 1", "child 2"}));
  EXPECT_EQ(outcome_of([&] { parent.join(); }), "cancelled");
  EXPECT_EQ(child.join(), 3);  // still joinable
  canceller.join();
}

TEST_F(CppCancelTest, JoinInACancelledFiberOfAnEndedFiberStillJoins) {
  auto done = async::spawn(rt(), [] { return 4; });
  EXPECT_EQ(rt().run(), async::status::ok);
  auto f = async::spawn(rt(), [&] {
    async::this_fiber::self().cancel();
    trace.push_back("joined " + std::to_string(done.join()));  // no need to wait: no throw
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"joined 4"}));
  EXPECT_EQ(outcome_of([&] { f.join(); }), "ok");  // it caught nothing and returned
}

TEST_F(CppCancelTest, CancelOfAnEndedFiberIsANoOp) {
  auto f = async::spawn(rt(), [] { return 8; });
  EXPECT_EQ(rt().run(), async::status::ok);
  f.cancel();
  f.handle().cancel();
  EXPECT_EQ(f.join(), 8);
}

}  // namespace
