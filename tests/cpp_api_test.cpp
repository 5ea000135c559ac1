// SPDX-License-Identifier: MIT
// cpp_api_test.cpp: the C++ API (async.hpp): status codes as std::error_code,
// config, the runtime, typed fibers, exceptions across join, cancellation as
// an exception, and chrono sleeps. Orders are asserted, never durations.
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
#include "support/cpp_runtime_fixture.h"
#include "support/seeded.h"

namespace {

using namespace std::chrono_literals;
using Trace = std::vector<std::string>;

// What a call ended with: "ok", "cancelled", "error EINVAL" (an async::error
// and its status), or "other: <what>".
template <class Fn>
std::string outcome_of(Fn&& fn) {
  try {
    fn();
    return "ok";
  } catch (const async::cancelled&) {
    return "cancelled";
  } catch (const async::error& e) {
    return std::string("error ") + async_status_name(static_cast<async_status_t>(e.status_code()));
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
}

// Logs its destruction, unless moved from.
struct guard {
  Trace* trace;
  std::string name;
  guard(Trace& t, std::string n) : trace(&t), name(std::move(n)) {}
  guard(guard&& o) noexcept : trace(std::exchange(o.trace, nullptr)), name(std::move(o.name)) {}
  guard& operator=(guard&&) = delete;
  ~guard() {
    if (trace != nullptr) trace->push_back("~" + name);
  }
};

// Counts live copies, to prove callables are destroyed.
struct counted {
  int* live;
  explicit counted(int& l) : live(&l) { ++*live; }
  counted(const counted& o) : live(o.live) { ++*live; }
  counted(counted&& o) noexcept : live(o.live) { ++*live; }
  counted& operator=(const counted&) = delete;
  ~counted() { --*live; }
};

// A custom exception type, to check that join rethrows it as it was thrown.
struct parse_error : std::runtime_error {
  int line;
  parse_error(const std::string& what, int l) : std::runtime_error(what), line(l) {}
};

// A private runtime per test; LeakCheckedTest's TearDown proves a clean end.
class CppApiTest : public async_test::CppRuntimeFixture {
 protected:
  CppApiTest() { cfg_ = async::config{}.fiber_stack_size(32 * 1024); }

  Trace trace;
};

// ------------------------------------------------------------------ status

TEST(CppStatusTest, EveryCodeHasTheCValueAndTheCMessage) {
  std::vector<int> seen;
#define CHECK_CODE(code_name, code_value, code_text)                          \
  {                                                                           \
    const std::error_code ec = static_cast<async::status>(ASYNC_##code_name); \
    EXPECT_EQ(ec.value(), code_value);                                        \
    EXPECT_EQ(&ec.category(), &async::category());                            \
    EXPECT_EQ(ec.message(), async_strerror(ASYNC_##code_name));               \
    EXPECT_EQ(ec.message(), code_text);                                       \
    seen.push_back(code_value);                                               \
  }
  ASYNC_STATUS_MAP(CHECK_CODE)
#undef CHECK_CODE
  EXPECT_EQ(seen.size(), 11u);
  EXPECT_STREQ(async::category().name(), "async");
  EXPECT_EQ(async::category().message(12345), "unknown status");
  EXPECT_EQ(async::category().message(12345), async_strerror(static_cast<async_status_t>(-11)));
  EXPECT_EQ(static_cast<int>(async::status::ecanceled), ASYNC_ECANCELED);
  EXPECT_EQ(static_cast<int>(async::status::edeadlk), ASYNC_EDEADLK);
}

TEST(CppStatusTest, StatusesAreErrorCodesComparableWithStdErrc) {
  static_assert(std::is_error_code_enum_v<async::status>);
  std::error_code ec = async::status::etimedout;
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec, async::status::etimedout);
  EXPECT_NE(ec, async::status::eagain);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_NE(ec, std::errc::invalid_argument);
  EXPECT_FALSE(std::error_code(async::status::ok));
  EXPECT_EQ(make_error_code(async::status::einval), std::errc::invalid_argument);
  EXPECT_EQ(make_error_code(async::status::enomem), std::errc::not_enough_memory);
  EXPECT_EQ(make_error_code(async::status::ecanceled), std::errc::operation_canceled);
  EXPECT_EQ(make_error_code(async::status::eagain), std::errc::resource_unavailable_try_again);
  EXPECT_EQ(make_error_code(async::status::eio), std::errc::io_error);
  EXPECT_EQ(make_error_code(async::status::edeadlk), std::errc::resource_deadlock_would_occur);
  // Codes without a portable meaning stay in their own category.
  for (async::status s : {async::status::efull, async::status::eclosed, async::status::estate}) {
    const std::error_condition cond = make_error_code(s).default_error_condition();
    EXPECT_EQ(&cond.category(), &async::category());
    EXPECT_EQ(cond.value(), static_cast<int>(s));
  }
}

TEST(CppStatusTest, ErrorAndCancelledCarryTheirStatus) {
  const async::error e(async::status::efull, "async::spawn");
  EXPECT_EQ(e.code(), async::status::efull);
  EXPECT_EQ(e.status_code(), async::status::efull);
  EXPECT_STREQ(e.what(), "async::spawn: a fixed capacity is exhausted");
  const async::cancelled c;
  EXPECT_EQ(c.code(), async::status::ecanceled);
  EXPECT_EQ(c.code(), std::errc::operation_canceled);
  EXPECT_STREQ(c.what(), "canceled");
  static_assert(std::is_base_of_v<std::system_error, async::error>);
  static_assert(std::is_base_of_v<async::error, async::cancelled>);
}

// ------------------------------------------------------------------ config

TEST(CppConfigTest, DefaultsAreTheCDefaults) {
  constexpr async::config cfg;
  static_assert(cfg.task_capacity() == ASYNC_DEFAULT_TASK_CAPACITY);
  EXPECT_EQ(cfg.fiber_capacity(), ASYNC_DEFAULT_FIBER_CAPACITY);
  EXPECT_EQ(cfg.fiber_stack_size(), ASYNC_DEFAULT_FIBER_STACK_SIZE);
  EXPECT_EQ(cfg.max_events(), ASYNC_DEFAULT_MAX_EVENTS);
  EXPECT_TRUE(cfg.guard_pages());
  const async_config_t c = cfg;
  EXPECT_EQ(c.task_capacity, 256u);
  EXPECT_EQ(c.fiber_capacity, 64u);
  EXPECT_EQ(c.fiber_stack_size, 64u * 1024u);
  EXPECT_EQ(c.max_events, 64u);
  EXPECT_EQ(c.flags, 0u);
  EXPECT_EQ(c.backend, ASYNC_BACKEND_DEFAULT);
}

TEST(CppConfigTest, SettersChainAndConvertToTheCConfig) {
  const auto cfg =
      async::config{}.task_capacity(8).fiber_capacity(3).fiber_stack_size(48 * 1024).max_events(7).guard_pages(false);
  EXPECT_EQ(cfg.task_capacity(), 8u);
  EXPECT_EQ(cfg.fiber_capacity(), 3u);
  EXPECT_EQ(cfg.fiber_stack_size(), 48u * 1024u);
  EXPECT_EQ(cfg.max_events(), 7u);
  EXPECT_FALSE(cfg.guard_pages());
  const async_config_t c = cfg.native();
  EXPECT_EQ(c.task_capacity, 8u);
  EXPECT_EQ(c.fiber_capacity, 3u);
  EXPECT_EQ(c.fiber_stack_size, 48u * 1024u);
  EXPECT_EQ(c.max_events, 7u);
  EXPECT_EQ(c.flags, ASYNC_CONFIG_NO_GUARD_PAGES);
  EXPECT_EQ(c.backend, ASYNC_BACKEND_DEFAULT);
}

TEST(CppConfigTest, TheRuntimeUsesTheConfig) {
  async::runtime rt(async::config{}.fiber_stack_size(48 * 1024).guard_pages(false).task_capacity(1));
  auto f = async::spawn(rt, [] { return 1; });
  EXPECT_EQ(outcome_of([&] { (void)async::spawn(rt, [] {}); }), "error EFULL");
  EXPECT_EQ(f.join(), 1);
  const async::runtime_stats s = rt.stats();
  EXPECT_EQ(s.stack_bytes, 48u * 1024u);
  EXPECT_EQ(s.guard_bytes, 0u);
}

TEST(CppConfigTest, ZeroSizesMeanTheCDefaults) {
  async::runtime rt(async::config{}.task_capacity(0).fiber_capacity(0).fiber_stack_size(0).max_events(0));
  EXPECT_EQ(rt.stats().stack_bytes, ASYNC_DEFAULT_FIBER_STACK_SIZE);
  std::vector<async::fiber<void>> fibers;
  for (unsigned i = 0; i < ASYNC_DEFAULT_TASK_CAPACITY; ++i) fibers.push_back(async::spawn(rt, [] {}));
  EXPECT_EQ(outcome_of([&] { (void)async::spawn(rt, [] {}); }), "error EFULL");
  EXPECT_EQ(rt.run(), async::status::ok);
  for (auto& f : fibers) f.join();
}

// ----------------------------------------------------------------- runtime

class CppRuntimeTest : public async_test::LeakCheckedTest {};

TEST_F(CppRuntimeTest, IsNeitherCopyableNorMovable) {
  static_assert(!std::is_copy_constructible_v<async::runtime>);
  static_assert(!std::is_move_constructible_v<async::runtime>);
  static_assert(!std::is_copy_assignable_v<async::runtime>);
  static_assert(!std::is_move_assignable_v<async::runtime>);
}

TEST_F(CppRuntimeTest, ConstructorThrowsWhatInitReturned) {
  try {
    async::runtime rt(async::config{}.fiber_stack_size(ASYNC_MIN_STACK_SIZE - 1));
    FAIL() << "no exception";
  } catch (const async::error& e) {
    EXPECT_EQ(e.code(), async::status::einval);
    EXPECT_STREQ(e.what(), "async::runtime: invalid argument or misuse");
  }
}

TEST_F(CppRuntimeTest, OwnsAnInitialisedCRuntime) {
  async::runtime rt;
  async_runtime_t* native = rt.native();
  ASSERT_NE(native->impl, nullptr);
  async_runtime_stats_t s{};
  EXPECT_EQ(async_runtime_stats(native, &s), ASYNC_OK);  // a live C runtime
  EXPECT_EQ(rt.stats().fibers_live, 0u);
  EXPECT_EQ(rt.run(), async::status::ok);  // idle: nothing to run
  // C calls on native() act on the same runtime.
  int ran = 0;
  async_spawn_with(native, [](void* p) { ++*static_cast<int*>(p); }, &ran);
  EXPECT_EQ(rt.stats().fibers_live, 1u);
  EXPECT_EQ(rt.run(), async::status::ok);
  EXPECT_EQ(ran, 1);
  // The destructor shuts it down: the ASan/LSan run proves nothing leaks.
}

TEST_F(CppApiTest, RunInsideAFiberReturnsEstate) {
  auto f = async::spawn(rt(), [&] { return rt().run(); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(f.join(), async::status::estate);
}

TEST_F(CppApiTest, RunFromAForeignThreadReturnsEstate) {
  auto f = async::spawn(rt(), [] {});
  async::status st = async::status::ok;
  std::thread([&] { st = rt().run(); }).join();
  EXPECT_EQ(st, async::status::estate);
  EXPECT_EQ(rt().run(), async::status::ok);
  f.join();
}

TEST_F(CppApiTest, RunReportsDeadlockAndCancelReleasesTheFibers) {
  async::fiber<void> a;
  async::fiber<void> b;
  a = async::spawn(rt(), [&] {
    trace.push_back("a joins b: " + outcome_of([&] { b.join(); }));
    throw async::cancelled();
  });
  b = async::spawn(rt(), [&] { trace.push_back("b joins a: " + outcome_of([&] { a.join(); })); });
  EXPECT_EQ(rt().run(), async::status::edeadlk);
  EXPECT_TRUE(trace.empty());
  a.cancel();  // a's join throws; a ends cancelled; b's join of a then throws too
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"a joins b: cancelled", "b joins a: cancelled"}));
  EXPECT_FALSE(a.joinable());  // b joined it
  EXPECT_TRUE(b.joinable());   // a's join of b failed: b stayed joinable
  b.join();
}

TEST_F(CppRuntimeTest, GlobalRuntimeSpawnJoinAndRun) {
  auto f = async::spawn([] {
    // Inside a fiber, spawn goes to the fiber's own runtime.
    auto inner = async::spawn([] { return 20; });
    EXPECT_EQ(inner.handle().native().runtime, async_global());
    return inner.join() + 1;
  });
  EXPECT_EQ(f.handle().native().runtime, async_global());
  EXPECT_EQ(f.join(), 21);  // outside a fiber, join drives the global runtime
  int ran = 0;
  async::spawn([&] { ++ran; }).detach();
  EXPECT_EQ(async::run(), async::status::ok);
  EXPECT_EQ(ran, 1);
  async_global_shutdown();
}

// ----------------------------------------------------------- typed results

TEST_F(CppApiTest, JoinReturnsTypedResults) {
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

TEST_F(CppApiTest, ReferenceResultsReferToWhatTheCallableReturned) {
  int target = 1;
  auto f = async::spawn(rt(), [&]() -> int& { return target; });
  static_assert(std::is_same_v<decltype(f), async::fiber<int&>>);
  int& r = f.join();
  EXPECT_EQ(&r, &target);
}

TEST_F(CppApiTest, CallableIsInvokedAsAnRvalueAndDestroyedOnTheFiber) {
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

TEST_F(CppApiTest, SpawnRunsNothingAndFibersStartInSpawnOrder) {
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

TEST_F(CppApiTest, YieldInterleavesFibersDeterministically) {
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

TEST_F(CppApiTest, JoinInsideAFiberSuspendsUntilTheFiberEnds) {
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

TEST_F(CppApiTest, JoinOfAnEndedFiberReturnsAtOnce) {
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

TEST_F(CppApiTest, SpawnPastTaskCapacityThrowsEfullAndSpawnsNothing) {
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

TEST_F(CppApiTest, SpawnFromAForeignThreadRunsWhenTheOwnerRuns) {
  async::runtime& r = rt();
  async::fiber<int> f;
  std::thread([&] { f = async::spawn(r, [] { return 7; }); }).join();
  EXPECT_EQ(f.join(), 7);
}

TEST_F(CppApiTest, SpawnPassesOnWhatCopyingTheCallableThrows) {
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

TEST_F(CppApiTest, JoinRethrowsTheCallablesExceptionAsThrown) {
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

TEST_F(CppApiTest, ExceptionsOfDifferentFibersStayApart) {
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

TEST_F(CppApiTest, JoinOfNothingOrOfItselfThrowsEinval) {
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

TEST_F(CppApiTest, JoinOfAnotherRuntimesFiberInsideAFiberThrowsEinval) {
  async::runtime other(async::config{}.fiber_stack_size(32 * 1024));
  auto foreign = async::spawn(other, [] { return 9; });
  auto f = async::spawn(rt(), [&] { trace.push_back(outcome_of([&] { (void)foreign.join(); })); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(trace, (Trace{"error EINVAL"}));
  EXPECT_EQ(foreign.join(), 9);  // still joinable; main drives `other`
  f.join();
}

TEST_F(CppApiTest, JoinFromMainOfAFiberThatCanNeverEndThrowsEdeadlk) {
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

TEST_F(CppApiTest, JoinFromAForeignThreadWaitsForTheOwnerToRunIt) {
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

TEST_F(CppApiTest, CancelFromAForeignThreadArrivesBeforeTheFirstDispatch) {
  auto f = async::spawn(rt(), [] {});
  std::string outcome;
  std::thread([&] { outcome = outcome_of([&] { f.cancel(); }); }).join();
  EXPECT_EQ(outcome, "ok");
  EXPECT_EQ(outcome_of([&] { f.join(); }), "cancelled");
}

// ----------------------------------------------------------- cancellation

TEST_F(CppApiTest, CancellationUnwindsTheFiberStack) {
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

TEST_F(CppApiTest, EverySuspendingCallThrowsOnceCancelled) {
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

TEST_F(CppApiTest, CancelBeforeStartMeansTheFiberNeverRuns) {
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

TEST_F(CppApiTest, CancelBeforeStartThroughTheHandleAlsoEndsItCancelled) {
  auto f = async::spawn(rt(), [&] { trace.push_back("ran"); });
  async::fiber_handle h = f.handle();
  h.cancel();
  EXPECT_EQ(outcome_of([&] { f.join(); }), "cancelled");
  EXPECT_TRUE(trace.empty());
}

TEST_F(CppApiTest, CancelOfAFiberWaitingForAStackMeansItNeverRuns) {
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

TEST_F(CppApiTest, ANeverRunFiberStaysCancelledAfterItsRecordIsRecycled) {
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

TEST_F(CppApiTest, JoinOfACancelledSleeperThrowsCancelled) {
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

TEST_F(CppApiTest, ACancelledFiberThatCatchesAndReturnsGivesItsResult) {
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

TEST_F(CppApiTest, ThrowingCancelledEndsTheFiberCancelled) {
  auto f = async::spawn(rt(), [&]() -> int {
    guard g(trace, "frame");
    throw async::cancelled();  // without being cancelled
  });
  EXPECT_EQ(outcome_of([&] { (void)f.join(); }), "cancelled");
  EXPECT_EQ(trace, (Trace{"~frame"}));
}

TEST_F(CppApiTest, AJoinerCancelledWhileJoiningLeavesTheChildRunning) {
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

TEST_F(CppApiTest, JoinInACancelledFiberOfAnEndedFiberStillJoins) {
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

TEST_F(CppApiTest, CancelOfAnEndedFiberIsANoOp) {
  auto f = async::spawn(rt(), [] { return 8; });
  EXPECT_EQ(rt().run(), async::status::ok);
  f.cancel();
  f.handle().cancel();
  EXPECT_EQ(f.join(), 8);
}

// ------------------------------------------------------------------ sleep

TEST_F(CppApiTest, ShortSleepsEndWhileALongOneGoesOn) {
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

TEST_F(CppApiTest, SleepersUntilATimePointWakeInDeadlineOrder) {
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

TEST_F(CppApiTest, ZeroNegativeAndPastSleepsStillSuspend) {
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

TEST_F(CppApiTest, SleepUntilTheEndOfTimeSleepsUntilCancelled) {
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

class CppSleepTest : public async_test::LeakCheckedTest {};

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

// ---------------------------------------------------- handles and ownership

TEST_F(CppApiTest, HandlesNameTheirFiber) {
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

TEST_F(CppApiTest, FibersAreMoveOnly) {
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

TEST_F(CppApiTest, DestroyingOrReassigningAJoinableFiberDetachesIt) {
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

TEST_F(CppApiTest, DetachWhileSuspendedFreesTheStateWhenTheFiberEnds) {
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

TEST_F(CppApiTest, DroppingAnEndedFiberFreesItsResultOrException) {
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

TEST_F(CppApiTest, ADetachedFiberEndingCancelledDoesNotTerminate) {
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

using CppApiDeathTest = CppApiTest;

TEST_F(CppApiDeathTest, AnExceptionEscapingADetachedFiberTerminates) {
  EXPECT_DEATH(
      {
        async::spawn(rt(), [] { throw parse_error("nobody joins me", 3); }).detach();
        (void)rt().run();
      },
      "nobody joins me");
}

}  // namespace

namespace {

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

class CppDiscardTest : public async_test::LeakCheckedTest {};

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
