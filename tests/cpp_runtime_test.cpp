// SPDX-License-Identifier: MIT
// cpp_runtime_test.cpp: the C++ runtime (async/runtime.hpp): neither copyable nor
// movable, what its constructor throws, the C runtime it owns, run's
// refusals (inside a fiber, another thread) and deadlock, the global runtime.
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

class CppRuntimeTest : public CppApiFixture {};

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

TEST_F(CppRuntimeTest, RunInsideAFiberReturnsEstate) {
  auto f = async::spawn(rt(), [&] { return rt().run(); });
  EXPECT_EQ(rt().run(), async::status::ok);
  EXPECT_EQ(f.join(), async::status::estate);
}

TEST_F(CppRuntimeTest, RunFromAForeignThreadReturnsEstate) {
  auto f = async::spawn(rt(), [] {});
  async::status st = async::status::ok;
  std::thread([&] { st = rt().run(); }).join();
  EXPECT_EQ(st, async::status::estate);
  EXPECT_EQ(rt().run(), async::status::ok);
  f.join();
}

TEST_F(CppRuntimeTest, RunReportsDeadlockAndCancelReleasesTheFibers) {
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

}  // namespace
