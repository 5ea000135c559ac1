// SPDX-License-Identifier: MIT
// cpp_fiber_test.cpp: typed fibers (async/fiber.hpp): results by value and by
// reference, spawn order and yields, join inside and outside fibers and from
// other threads, exceptions carried across join, handles and ownership
// (move-only, detach, what is freed when), and detached fibers discarded at
// shutdown. Orders are asserted, never durations.
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

class CppFiberTest : public CppApiFixture {};
class CppDiscardTest : public CppApiFixture {};

// ----------------------------------------------------------- typed results

TEST_F(CppFiberTest, JoinReturnsTypedResults) {
  auto i = async::spawn(rt(), [] { return 42; });
  auto s = async::spawn(rt(), [] { return std::string(100, 'x'); });
  int side_effect = 0;
  auto v = async::spawn(rt(), [&] { side_effect = 7; });
  auto p = async::spawn(rt(), [] { return std::make_unique<int>(5); });
  static_assert(std::is_same_v<decltype(i), async::fiber<int>>);
  static_assert(std::is_same_v<decltype(s), async::fiber<std::string>>);
  static_assert(std::is_same_v<decltype(v), async::fiber<void>>);
  static_assert(std::is_same_v<decltype(p), async::fiber<std::unique_ptr<int>>>);
  EXPECT_EQ(i.join(), 42);
  EXPECT_EQ(s.join(), std::string(100, 'x'));
  v.join();
  EXPECT_EQ(side_effect, 7);
  std::unique_ptr<int> owned = p.join();
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(*owned, 5);
}

TEST_F(CppFiberTest, ReferenceResultsReferToWhatTheCallableReturned) {
  int target = 1;
  auto f = async::spawn(rt(), [&]() -> int& { return target; });
  static_assert(std::is_same_v<decltype(f), async::fiber<int&>>);
  int& r = f.join();
  EXPECT_EQ(&r, &target);
}

TEST_F(CppFiberTest, CallableIsInvokedAsAnRvalueAndDestroyedOnTheFiber) {
  ASYNC_FIFO_ONLY();
  struct rvalue_only {
    guard g;
    Trace* trace;
    int operator()() && {
      trace->push_back("body");
      return 3;
    }
  };
  int live = 0;
  auto f = async::spawn(rt(), rvalue_only{guard(trace, "callable"), &trace});
  auto checker = async::spawn(rt(), [&] {
    // f's fiber has ended: its callable is already gone, before any join.
    trace.push_back("f joinable: " + std::to_string(f.joinable()));
  });
  counted c(live);
  auto copied = async::spawn(rt(), [c] { return *c.live; });  // an lvalue copy
  EXPECT_EQ(live, 2);
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"body", "~callable", "f joinable: 1"}));
  EXPECT_EQ(f.join(), 3);
  checker.join();
  EXPECT_EQ(copied.join(), 2);
  EXPECT_EQ(live, 1);  // the copy died with its fiber; `c` remains
}

// ------------------------------------------------------ spawning and order

TEST_F(CppFiberTest, SpawnRunsNothingAndFibersStartInSpawnOrder) {
  ASYNC_FIFO_ONLY();
  auto a = async::spawn(rt(), [&] { trace.push_back("a"); });
  auto b = async::spawn(rt(), [&] { trace.push_back("b"); });
  auto c = async::spawn(rt(), [&] { trace.push_back(async::this_fiber::is_cancelled() ? "c cancelled" : "c"); });
  EXPECT_TRUE(trace.empty());
  EXPECT_EQ(rt().stats().fibers_live, 3u);
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"a", "b", "c"}));
  a.join();
  b.join();
  c.join();
}

TEST_F(CppFiberTest, YieldInterleavesFibersDeterministically) {
  ASYNC_FIFO_ONLY();
  auto worker = [&](std::string name, int steps) {
    return async::spawn(rt(), [&, name, steps] {
      for (int i = 0; i < steps; ++i) {
        trace.push_back(name + std::to_string(i));
        async::this_fiber::yield();
      }
      return name.size() * static_cast<std::size_t>(steps);
    });
  };
  auto a = worker("a", 3);
  auto b = worker("bb", 1);
  auto c = worker("ccc", 2);
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"a0", "bb0", "ccc0", "a1", "ccc1", "a2"}));
  EXPECT_EQ(a.join(), 3u);
  EXPECT_EQ(b.join(), 2u);
  EXPECT_EQ(c.join(), 6u);
}

TEST_F(CppFiberTest, JoinInsideAFiberSuspendsUntilTheFiberEnds) {
  ASYNC_FIFO_ONLY();
  auto parent = async::spawn(rt(), [&] {
    auto child = async::spawn([&] {  // spawns on the parent's runtime
      trace.push_back("child 0");
      async::this_fiber::yield();
      trace.push_back("child 1");
      return 5;
    });
    EXPECT_EQ(child.handle().native().runtime, rt().native());
    trace.push_back("parent joins");
    const int r = child.join();
    trace.push_back("parent got " + std::to_string(r));
    return r * 2;
  });
  auto other = async::spawn(rt(), [&] {
    for (int i = 0; i < 3; ++i) {
      trace.push_back("other " + std::to_string(i));
      async::this_fiber::yield();
    }
  });
  // Outside a fiber, join drives the runtime until parent ends, then returns.
  EXPECT_EQ(parent.join(), 10);
  EXPECT_EQ(trace, (Trace{"parent joins", "other 0", "child 0", "other 1", "child 1", "other 2", "parent got 5"}));
  other.join();
}

TEST_F(CppFiberTest, JoinOfAnEndedFiberReturnsAtOnce) {
  ASYNC_FIFO_ONLY();
  auto f = async::spawn(rt(), [] { return 1; });
  EXPECT_EQ(rt().run(), async::status::ok);
  auto g = async::spawn(rt(), [&] {
    trace.push_back("join " + std::to_string(f.join()));
    async::this_fiber::yield();
    trace.push_back("after yield");
  });
  auto h = async::spawn(rt(), [&] { trace.push_back("h"); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"join 1", "h", "after yield"}));  // the join did not switch
  g.join();
  h.join();
}

TEST_F(CppFiberTest, SpawnPastTaskCapacityThrowsEfullAndSpawnsNothing) {
  cfg_.task_capacity(2);
  int live = 0;
  auto a = async::spawn(rt(), [] {});
  auto b = async::spawn(rt(), [] {});
  try {
    counted c(live);
    (void)async::spawn(rt(), [c] {});
    FAIL() << "no exception";
  } catch (const async::error& e) {
    EXPECT_EQ(e.code(), async::status::efull);
    EXPECT_EQ(e.status_code(), async::status::efull);
    EXPECT_STREQ(e.what(), "async::spawn: a fixed capacity is exhausted");
  }
  EXPECT_EQ(live, 0);  // the callable was destroyed
  EXPECT_EQ(rt().stats().fibers_live, 2u);
  EXPECT_EQ(rt().run(), async::status::ok);
  a.join();
  b.join();
  // Capacity is back once fibers ended.
  async::spawn(rt(), [] {}).join();
}

TEST_F(CppFiberTest, SpawnFromAForeignThreadRunsWhenTheOwnerRuns) {
  async::runtime& r = rt();
  async::fiber<int> f;
  std::thread([&] { f = async::spawn(r, [] { return 7; }); }).join();
  EXPECT_EQ(f.join(), 7);
}

TEST_F(CppFiberTest, SpawnPassesOnWhatCopyingTheCallableThrows) {
  struct throws_on_copy {
    throws_on_copy() = default;
    throws_on_copy(const throws_on_copy&) { throw parse_error("copy failed", 0); }
    void operator()() const {}
  };
  const throws_on_copy callable;
  EXPECT_EQ(outcome_of([&] { (void)async::spawn(rt(), callable); }), "other: copy failed");
  EXPECT_EQ(rt().stats().fibers_live, 0u);
}

// ------------------------------------------------------ exceptions in join

TEST_F(CppFiberTest, JoinRethrowsTheCallablesExceptionAsThrown) {
  ASYNC_FIFO_ONLY();
  auto f = async::spawn(rt(), [&]() -> int {
    guard g(trace, "frame");
    trace.push_back("throwing");
    throw parse_error("bad token", 12);
  });
  auto after = async::spawn(rt(), [&] { trace.push_back("next fiber runs"); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"throwing", "~frame", "next fiber runs"}));
  try {
    (void)f.join();
    FAIL() << "no exception";
  } catch (const parse_error& e) {
    EXPECT_STREQ(e.what(), "bad token");
    EXPECT_EQ(e.line, 12);
  }
  EXPECT_FALSE(f.joinable());
  after.join();
}

TEST_F(CppFiberTest, ExceptionsOfDifferentFibersStayApart) {
  ASYNC_FIFO_ONLY();
  // Each fiber suspends inside its catch block; the exception being handled
  // is kept per fiber, so `throw;` rethrows its own.
  auto make = [&](std::string name) {
    return async::spawn(rt(), [&, name] {
      try {
        throw std::runtime_error(name);
      } catch (const std::exception&) {
        async::this_fiber::yield();
        try {
          throw;
        } catch (const std::exception& e) {
          trace.push_back(name + " caught " + e.what());
        }
      }
    });
  };
  auto a = make("a");
  auto b = make("b");
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"a caught a", "b caught b"}));
  EXPECT_EQ(std::current_exception(), nullptr);
  a.join();
  b.join();
}

TEST_F(CppFiberTest, JoinOfNothingOrOfItselfThrowsEinval) {
  async::fiber<int> empty;
  EXPECT_FALSE(empty.joinable());
  EXPECT_EQ(outcome_of([&] { (void)empty.join(); }), "error EINVAL");
  EXPECT_EQ(outcome_of([&] { empty.cancel(); }), "error EINVAL");
  EXPECT_EQ(outcome_of([&] { empty.detach(); }), "error EINVAL");
  async::fiber<void> self;
  self = async::spawn(rt(), [&] { trace.push_back("join self: " + outcome_of([&] { self.join(); })); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"join self: error EINVAL"}));
  EXPECT_TRUE(self.joinable());
  self.join();
}

TEST_F(CppFiberTest, JoinOfAnotherRuntimesFiberInsideAFiberThrowsEinval) {
  async::runtime other(async::config{}.fiber_stack_size(32 * 1024));
  auto foreign = async::spawn(other, [] { return 9; });
  auto f = async::spawn(rt(), [&] { trace.push_back(outcome_of([&] { (void)foreign.join(); })); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"error EINVAL"}));
  EXPECT_EQ(foreign.join(), 9);  // still joinable; main drives `other`
  f.join();
}

TEST_F(CppFiberTest, JoinFromMainOfAFiberThatCanNeverEndThrowsEdeadlk) {
  async::fiber<void> a;
  async::fiber<void> b;
  a = async::spawn(rt(), [&] { b.join(); });
  b = async::spawn(rt(), [&] { a.join(); });
  EXPECT_EQ(outcome_of([&] { a.join(); }), "error EDEADLK");
  EXPECT_TRUE(a.joinable());
  b.cancel();  // b's join throws cancelled and ends b; a's join of b rethrows it
  EXPECT_EQ(outcome_of([&] { a.join(); }), "cancelled");
  EXPECT_FALSE(b.joinable());  // a joined it
}

TEST_F(CppFiberTest, JoinFromAForeignThreadWaitsForTheOwnerToRunIt) {
  std::atomic<bool> joined{false};
  auto f = async::spawn(rt(), [] { return 1; });
  auto keeper = async::spawn(rt(), [&] {
    while (!joined.load()) async_park();
  });
  const async::fiber_handle k = keeper.handle();
  int value = 0;
  std::thread other([&] {
    value = f.join();
    joined = true;
    async_unpark(k.native());
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  other.join();
  EXPECT_EQ(value, 1);
  EXPECT_FALSE(f.joinable());
  keeper.join();
}

TEST_F(CppFiberTest, CancelFromAForeignThreadArrivesBeforeTheFirstDispatch) {
  auto f = async::spawn(rt(), [] {});
  std::string outcome;
  std::thread([&] { outcome = outcome_of([&] { f.cancel(); }); }).join();
  EXPECT_EQ(outcome, "ok");
  EXPECT_EQ(outcome_of([&] { f.join(); }), "cancelled");
}


// ---------------------------------------------------- handles and ownership

TEST_F(CppFiberTest, HandlesNameTheirFiber) {
  async::fiber<async::fiber_handle> f;
  f = async::spawn(rt(), [] { return async::this_fiber::self(); });
  const async::fiber_handle h = f.handle();
  EXPECT_TRUE(h);
  EXPECT_EQ(h.native().runtime, rt().native());
  EXPECT_FALSE(async::fiber_handle());
  EXPECT_EQ(outcome_of([] { async::fiber_handle().cancel(); }), "error EINVAL");
  EXPECT_EQ(f.join(), h);
  EXPECT_FALSE(f.handle());  // given up with the join
  auto g = async::spawn(rt(), [] {});
  EXPECT_FALSE(g.handle() == h);
  g.join();
}

TEST_F(CppFiberTest, FibersAreMoveOnly) {
  static_assert(!std::is_copy_constructible_v<async::fiber<int>>);
  static_assert(!std::is_copy_assignable_v<async::fiber<int>>);
  static_assert(std::is_nothrow_move_constructible_v<async::fiber<int>>);
  static_assert(std::is_nothrow_move_assignable_v<async::fiber<int>>);
  auto f = async::spawn(rt(), [] { return 6; });
  const async::fiber_handle h = f.handle();
  async::fiber<int> g(std::move(f));
  EXPECT_FALSE(f.joinable());  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(f.handle());
  EXPECT_TRUE(g.joinable());
  EXPECT_EQ(g.handle(), h);
  async::fiber<int> k;
  k = std::move(g);
  EXPECT_EQ(k.join(), 6);
}

TEST_F(CppFiberTest, DestroyingOrReassigningAJoinableFiberDetachesIt) {
  ASYNC_FIFO_ONLY();
  int live = 0;
  {
    auto f = async::spawn(rt(), [&, c = counted(live)] {
      trace.push_back("f 0");
      async::this_fiber::yield();
      trace.push_back("f 1");
    });
  }
  async::fiber<void> g = async::spawn(rt(), [&] { trace.push_back("g"); });
  g = async::spawn(rt(), [&] { trace.push_back("h"); });  // the fiber g owned is detached
  EXPECT_EQ(live, 1);
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"f 0", "g", "h", "f 1"}));
  EXPECT_EQ(live, 0);  // the detached fiber freed its state when it ended
  g.join();
}

TEST_F(CppFiberTest, DetachWhileSuspendedFreesTheStateWhenTheFiberEnds) {
  ASYNC_FIFO_ONLY();
  int live = 0;
  auto k = async::spawn(rt(), [&, c = counted(live)] {
    trace.push_back("k sleeps");
    async::this_fiber::sleep_for(0ms);
    trace.push_back("k woke");
    return std::string("unclaimed result");
  });
  auto d = async::spawn(rt(), [&] {
    trace.push_back("detach k");
    k.detach();
    trace.push_back("k joinable " + std::to_string(k.joinable()));
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"k sleeps", "detach k", "k joinable 0", "k woke"}));
  EXPECT_EQ(live, 0);
  EXPECT_EQ(outcome_of([&] { k.detach(); }), "error EINVAL");
  d.join();
}

TEST_F(CppFiberTest, DroppingAnEndedFiberFreesItsResultOrException) {
  int live = 0;
  auto value = async::spawn(rt(), [&] { return std::make_unique<counted>(live); });
  auto thrown = async::spawn(rt(), [&]() -> int { throw parse_error("never joined", 1); });
  auto cancelled = async::spawn(rt(), [&]() -> int { throw async::cancelled(); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(live, 1);  // the result waits for a join
  value.detach();
  EXPECT_EQ(live, 0);
  thrown.detach();  // dropped without terminating: it was not detached when thrown
  { async::fiber<int> gone = std::move(cancelled); }
  EXPECT_FALSE(cancelled.joinable());
}

TEST_F(CppFiberTest, ADetachedFiberEndingCancelledDoesNotTerminate) {
  ASYNC_FIFO_ONLY();
  auto f = async::spawn(rt(), [&] {
    guard g(trace, "frame");
    async::this_fiber::sleep_for(1h);
  });
  const async::fiber_handle h = f.handle();
  f.detach();
  auto c = async::spawn(rt(), [&] {
    trace.push_back("cancel");
    h.cancel();
  });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"cancel", "~frame"}));
  c.join();
}

using CppFiberDeathTest = CppFiberTest;

TEST_F(CppFiberDeathTest, AnExceptionEscapingADetachedFiberTerminates) {
  EXPECT_DEATH(
      {
        async::spawn(rt(), [] { throw parse_error("nobody joins me", 3); }).detach();
        (void)rt().run();
      },
      "nobody joins me");
}



// Counts its destructions (moved-from copies do not count).
struct destruction_probe {
  int* count;
  explicit destruction_probe(int* c) : count(c) {}
  destruction_probe(destruction_probe&& o) noexcept : count(o.count) { o.count = nullptr; }
  destruction_probe(const destruction_probe&) = delete;
  ~destruction_probe() {
    if (count != nullptr) ++*count;
  }
};


TEST_F(CppDiscardTest, DetachedFiberCancelledThroughARawHandleFreesItsState) {
  async::runtime rt;
  int destroyed = 0;
  int ran = 0;
  auto f = async::spawn(rt, [p = destruction_probe(&destroyed), &ran] { ++ran; });
  async::fiber_handle h = f.handle();
  f.detach();
  EXPECT_EQ(destroyed, 0);
  h.cancel();  // never started: its state (and the callable) goes now
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(rt.run(), async::status::ok);
  EXPECT_EQ(ran, 0);
}

TEST_F(CppDiscardTest, ADetachedFiberParkedAtShutdownFreesItsState) {
  ASYNC_FIFO_ONLY();
  int destroyed = 0;
  {
    async::runtime rt;
    async::spawn(rt, [p = destruction_probe(&destroyed)] {}).detach();
    async::spawn(rt, [] { async::this_fiber::sleep_for(std::chrono::hours(1)); }).detach();
    async::spawn(rt, [] {}).join();  // FIFO: the first has run, the sleeper has parked
    EXPECT_EQ(destroyed, 1);         // the first destroyed its callable on its fiber
  }
  // The sleeper's state was freed by the shutdown (LSan in CI would report
  // it otherwise); its callable captured nothing to count.
  EXPECT_EQ(destroyed, 1);
}

// A detached fiber's callable whose destructor cancels a sibling: the
// destructor runs inside the shutdown's discard of its own fiber, after the
// sibling's state was freed. The cancel must only mark (no second discard).
TEST_F(CppDiscardTest, ADestructorCancellingASiblingDuringShutdownIsHarmless) {
  int destroyed = 0;
  {
    async::runtime rt;
    auto sibling = async::spawn(rt, [p = destruction_probe(&destroyed)] {});
    async::fiber_handle sibling_handle = sibling.handle();
    sibling.detach();
    struct cancel_on_destroy {
      async::fiber_handle target;
      ~cancel_on_destroy() {
        if (target) target.cancel();
      }
    };
    auto guard = std::make_shared<cancel_on_destroy>(cancel_on_destroy{sibling_handle});
    async::spawn(rt, [guard] {}).detach();
    guard.reset();  // the fiber's callable holds the last reference
  }
  EXPECT_EQ(destroyed, 1);
}

TEST_F(CppDiscardTest, UnstartedDetachedFiberIsFreedAtShutdown) {
  int destroyed = 0;
  {
    async::runtime rt;
    async::spawn(rt, [p = destruction_probe(&destroyed)] {}).detach();
    EXPECT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, 1);
}

}  // namespace
