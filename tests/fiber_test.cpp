// SPDX-License-Identifier: MIT
// fiber_test.cpp: await, cancel, self and their error paths (include/async.h, "fibers").
#include <atomic>
#include <thread>

#include "support/runtime_fixture.h"

namespace {

using Trace = std::vector<std::string>;

class FiberTest : public async_test::RuntimeTest {};

std::string name_of(async_status_t st) { return async_status_name(st); }

TEST_F(FiberTest, AwaitFromMainDrivesUntilTheFiberEndsOnly) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t short_one = spawn([this] {
    trace.push_back("s0");
    async_yield();
    trace.push_back("s1");
  });
  spawn([this] {
    for (int i = 0; i < 4; ++i) {
      trace.push_back("l" + std::to_string(i));
      async_yield();
    }
  });
  ASSERT_EQ(async_await(short_one), ASYNC_OK);
  // The root was woken when s ended and queued behind l: it returns after l1.
  EXPECT_EQ(trace, (Trace{"s0", "l0", "s1", "l1"}));
  EXPECT_EQ(stats().fibers_live, 1u);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"s0", "l0", "s1", "l1", "l2", "l3"}));
}

TEST_F(FiberTest, AwaitOfAnEndedFiberReturnsAtOnce) {
  async_fiber_handle_t h = spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_await(h), ASYNC_OK);
  spawn([&] { EXPECT_EQ(async_await(h), ASYNC_OK); });
  ASSERT_EQ(run(), ASYNC_OK);
}

TEST_F(FiberTest, AwaitFromMainOfABlockedFiberReturnsDeadlock) {
  async_fiber_handle_t a{};
  async_fiber_handle_t b{};
  a = spawn([&] { trace.push_back("a: " + name_of(async_await(b))); });
  b = spawn([&] { trace.push_back("b: " + name_of(async_await(a))); });
  EXPECT_EQ(async_await(a), ASYNC_EDEADLK);
  EXPECT_TRUE(trace.empty());
  EXPECT_EQ(async_cancel(a), ASYNC_OK);
  EXPECT_EQ(async_await(b), ASYNC_OK);  // b saw its awaitee cancelled; b itself ended normally
  EXPECT_EQ(async_await(a), ASYNC_ECANCELED);
  EXPECT_EQ(trace, (Trace{"a: ECANCELED", "b: ECANCELED"}));
}

TEST_F(FiberTest, AwaitingYourselfIsInvalidNotAHang) {
  spawn([this] { trace.push_back(name_of(async_await(async_self()))); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"EINVAL"}));
}

TEST_F(FiberTest, AwaitOfZeroedOrStaleHandlesIsInvalid) {
  EXPECT_EQ(async_await(async_fiber_handle_t{}), ASYNC_EINVAL);
  async_fiber_handle_t h = spawn([] {});
  async_fiber_handle_t forged = h;
  forged.id += 12345;
  EXPECT_EQ(async_await(forged), ASYNC_EINVAL);
  forged = h;
  forged.slot = 1u << 30;
  EXPECT_EQ(async_await(forged), ASYNC_EINVAL);
  EXPECT_EQ(async_cancel(forged), ASYNC_EINVAL);
  ASSERT_EQ(async_await(h), ASYNC_OK);
}

TEST_F(FiberTest, HandleGoesStaleOnlyWhenItsRecordIsReused) {
  cfg_.task_capacity = 4;
  async_fiber_handle_t first = spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  for (int i = 0; i < 3; ++i) spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_await(first), ASYNC_OK);  // free records are reused oldest-freed first: not first's yet
  spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_await(first), ASYNC_EINVAL);  // its record now names another fiber
  EXPECT_EQ(async_cancel(first), ASYNC_EINVAL);
}

TEST_F(FiberTest, AwaitInsideAFiberOfAHandleFromAnotherRuntimeIsInvalid) {
  async_runtime_t other;
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  async_fiber_handle_t foreign = async_spawn_with(&other, [](void*) {}, nullptr);
  ASSERT_EQ(foreign.status, ASYNC_OK);
  spawn([&] { trace.push_back(name_of(async_await(foreign))); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"EINVAL"}));
  EXPECT_EQ(async_await(foreign), ASYNC_OK);  // from outside, await drives `other`
  async_runtime_shutdown(&other);
}

TEST_F(FiberTest, CancelBeforeStartMeansItNeverRuns) {
  async_fiber_handle_t victim = spawn([this] { trace.push_back("victim ran"); });
  spawn([&] { trace.push_back("awaiter: " + name_of(async_await(victim))); });
  ASSERT_EQ(async_cancel(victim), ASYNC_OK);
  EXPECT_EQ(stats().fibers_live, 1u);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"awaiter: ECANCELED"}));
  EXPECT_EQ(async_await(victim), ASYNC_ECANCELED);
}

TEST_F(FiberTest, CancelWakesAParkedAwaiterAtOnce) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t sleeper = spawn([this] {
    trace.push_back("sleeper: " + name_of(async_sleep_ms(60000)));
  });
  async_fiber_handle_t waiter = spawn([&] {
    trace.push_back("waiter: " + name_of(async_await(sleeper)));
    trace.push_back("waiter again: " + name_of(async_yield()));
    trace.push_back("waiter sleep: " + name_of(async_sleep_ms(0)));
    trace.push_back(async_is_cancelled() ? "cancelled" : "not cancelled");
  });
  spawn([&] {
    EXPECT_EQ(async_cancel(waiter), ASYNC_OK);
    EXPECT_EQ(async_cancel(sleeper), ASYNC_OK);
    trace.push_back("canceller done");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"canceller done", "waiter: ECANCELED", "waiter again: ECANCELED",
                          "waiter sleep: ECANCELED", "cancelled", "sleeper: ECANCELED"}));
}

TEST_F(FiberTest, AwaitersOfACancelledFiberSeeCanceledEvenIfItReturnsNormally) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t target = spawn([this] {
    trace.push_back("target: " + name_of(async_sleep_ms(60000)));
  });
  spawn([&] { trace.push_back("awaiter: " + name_of(async_await(target))); });
  spawn([&] { async_cancel(target); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"target: ECANCELED", "awaiter: ECANCELED"}));
}

TEST_F(FiberTest, AFiberMayCancelItself) {
  spawn([this] {
    EXPECT_EQ(async_cancel(async_self()), ASYNC_OK);
    EXPECT_EQ(async_is_cancelled(), 1);
    trace.push_back(name_of(async_yield()));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"ECANCELED"}));
}

TEST_F(FiberTest, CancellingAnEndedFiberIsANoOp) {
  async_fiber_handle_t h = spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_cancel(h), ASYNC_OK);
  EXPECT_EQ(async_await(h), ASYNC_OK);
}

TEST_F(FiberTest, CancelOfAFiberQueuedInYieldMakesThatYieldReturnCanceled) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t worker = spawn([this] {
    trace.push_back("w0: " + name_of(async_yield()));
    trace.push_back("w1: " + name_of(async_yield()));
  });
  spawn([&] {
    async_cancel(worker);  // worker is runnable (it yielded), not parked
    trace.push_back("cancelled");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  // The yield it was queued in is the blocking call the cancel reaches.
  EXPECT_EQ(trace, (Trace{"cancelled", "w0: ECANCELED", "w1: ECANCELED"}));
  EXPECT_EQ(async_await(worker), ASYNC_ECANCELED);
}

TEST_F(FiberTest, SelfOutsideAFiberNamesNothing) {
  async_fiber_handle_t h = async_self();
  EXPECT_EQ(h.status, ASYNC_ESTATE);
  EXPECT_EQ(h.id, 0u);
  EXPECT_EQ(async_is_cancelled(), 0);
  async_fiber_handle_t inside{};
  async_fiber_handle_t spawned = spawn([&] { inside = async_self(); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(inside.status, ASYNC_OK);
  EXPECT_EQ(inside.id, spawned.id);
  EXPECT_EQ(inside.slot, spawned.slot);
  EXPECT_EQ(inside.runtime, runtime());
}

TEST_F(FiberTest, BlockingCallsOutsideAFiberReturnWrongState) {
  EXPECT_EQ(async_yield(), ASYNC_ESTATE);
  EXPECT_EQ(async_sleep_ms(1), ASYNC_ESTATE);
  EXPECT_EQ(async_sleep_ns(1), ASYNC_ESTATE);
  EXPECT_EQ(async_sleep_until_ns(0), ASYNC_ESTATE);
}

TEST_F(FiberTest, RunInsideAFiberIsWrongState) {
  async_runtime_t other;
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  spawn([&] {
    trace.push_back(name_of(async_runtime_run(runtime())));
    trace.push_back(name_of(async_runtime_run(&other)));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"ESTATE", "ESTATE"}));
  async_runtime_shutdown(&other);
}

TEST_F(FiberTest, AnotherThreadSpawnsAndCancelsButNeitherRunsNorInspects) {
  static int ran = 0;
  ran = 0;
  async_fiber_handle_t h = spawn([] { ++ran; });
  async_status_t run_st = ASYNC_OK;
  async_status_t cancel_st = ASYNC_EINVAL;
  async_fiber_handle_t spawned{};
  async_status_t stats_st = ASYNC_OK;
  std::thread other([&] {
    async_runtime_stats_t s{};
    stats_st = async_runtime_stats(runtime(), &s);
    run_st = async_runtime_run(runtime());
    cancel_st = async_cancel(h);
    spawned = async_spawn_with(runtime(), [](void*) { ran += 10; }, nullptr);
  });
  other.join();
  EXPECT_EQ(run_st, ASYNC_ESTATE);
  EXPECT_EQ(stats_st, ASYNC_ESTATE);
  EXPECT_EQ(cancel_st, ASYNC_OK);
  ASSERT_EQ(spawned.status, ASYNC_OK);
  EXPECT_EQ(stats().fibers_live, 1u);  // the spawn and the cancel wait in the inbox
  ASSERT_EQ(run(), ASYNC_OK);          // both arrive before the first dispatch
  EXPECT_EQ(async_await(h), ASYNC_ECANCELED);
  EXPECT_EQ(async_await(spawned), ASYNC_OK);
  EXPECT_EQ(ran, 10);
}

TEST_F(FiberTest, AThreadThatDrivesNoRuntimeAwaitsAFiber) {
  static std::atomic<bool> answered{false};
  answered = false;
  async_fiber_handle_t ends = spawn([] {});
  // Keeps the runtime driven until the other thread has its answer.
  async_fiber_handle_t keeper = spawn([] {
    while (!answered.load()) async_park();
  });
  async_status_t st = ASYNC_EINVAL;
  std::thread other([&] {
    st = async_await(ends);
    answered = true;
    async_unpark(keeper);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  other.join();
  EXPECT_EQ(st, ASYNC_OK);
}

// Inside a fiber, spawn and await of its own runtime take a shorter path
// (src/api/fiber_api.cpp): the same refusals hold there, the handle names
// the fiber's runtime, and nothing is spawned.
TEST_F(FiberTest, ArgumentErrorsInsideAFiberOfTheSameRuntime) {
  spawn([this] {
    async_runtime_t* own = async_self().runtime;
    async_fiber_handle_t h = async_spawn(nullptr, nullptr);
    trace.push_back(name_of(h.status) + (h.runtime == own ? " own" : " other"));
    h = async_spawn_with(own, nullptr, nullptr);
    trace.push_back(name_of(h.status) + (h.runtime == own ? " own" : " other"));
    async_spawn_options_t bad{};
    bad.stack_size = 65536;  // size without a stack
    trace.push_back(name_of(async_spawn_ex(nullptr, [](void*) {}, nullptr, &bad).status));
    trace.push_back(name_of(async_spawn_ex(own, [](void*) {}, nullptr, &bad).status));
    async_fiber_handle_t forged = async_self();
    forged.id += 12345;
    trace.push_back(name_of(async_await(forged)));
    forged = async_self();
    forged.slot = 1u << 30;
    trace.push_back(name_of(async_await(forged)));
    forged = async_self();
    forged.id = 0;
    trace.push_back(name_of(async_await(forged)));
    trace.push_back(name_of(async_await(async_self())));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"EINVAL own", "EINVAL own", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL"}));
  EXPECT_EQ(stats().fibers_live, 0u);
}

TEST_F(FiberTest, SpawnArgumentErrorsChangeNothing) {
  EXPECT_EQ(async_spawn_with(runtime(), nullptr, nullptr).status, ASYNC_EINVAL);
  EXPECT_EQ(async_spawn_with(nullptr, [](void*) {}, nullptr).status, ASYNC_EINVAL);
  async_runtime_t zeroed{};
  EXPECT_EQ(async_spawn_with(&zeroed, [](void*) {}, nullptr).status, ASYNC_EINVAL);
  async_spawn_options_t bad{};
  bad.stack_size = 65536;  // size without a stack
  EXPECT_EQ(async_spawn_ex(runtime(), [](void*) {}, nullptr, &bad).status, ASYNC_EINVAL);
  static char small[1024];
  bad.stack = small;
  bad.stack_size = sizeof small;  // below ASYNC_MIN_STACK_SIZE
  EXPECT_EQ(async_spawn_ex(runtime(), [](void*) {}, nullptr, &bad).status, ASYNC_EINVAL);
  async_runtime_stats_t s = stats();
  EXPECT_EQ(s.fibers_live, 0u);
  EXPECT_EQ(s.stacks_allocated, 0u);
}

TEST_F(FiberTest, SpawnPastTaskCapacityIsFullAndChangesNothing) {
  cfg_.task_capacity = 3;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(spawn([this] { trace.push_back("ran"); }).status, ASYNC_OK);
  async_runtime_stats_t before = stats();
  async_fiber_handle_t h = spawn([this] { trace.push_back("must not run"); });
  EXPECT_EQ(h.status, ASYNC_EFULL);
  EXPECT_EQ(h.id, 0u);
  async_runtime_stats_t after = stats();
  EXPECT_EQ(after.fibers_live, before.fibers_live);
  EXPECT_EQ(after.fibers_runnable, before.fibers_runnable);
  EXPECT_EQ(after.stacks_allocated, before.stacks_allocated);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"ran", "ran", "ran"}));
  EXPECT_EQ(spawn([] {}).status, ASYNC_OK);  // slots come back
  ASSERT_EQ(run(), ASYNC_OK);
}

TEST_F(FiberTest, ShutdownReleasesParkedAndUnstartedFibers) {
  ASYNC_FIFO_ONLY();
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  auto noop = [](void*) {};
  auto sleep_forever = [](void*) { async_sleep_ms(UINT64_MAX); };
  async_fiber_handle_t sleeper = async_spawn_with(&rt, sleep_forever, nullptr);
  async_spawn_with(&rt, [](void* h) { async_await(*static_cast<async_fiber_handle_t*>(h)); }, &sleeper);
  async_fiber_handle_t quick = async_spawn_with(&rt, noop, nullptr);
  ASSERT_EQ(async_await(quick), ASYNC_OK);  // the other two have parked by now
  async_spawn_with(&rt, noop, nullptr);     // and this one never starts
  async_runtime_stats_t s{};
  ASSERT_EQ(async_runtime_stats(&rt, &s), ASYNC_OK);
  EXPECT_EQ(s.fibers_live, 3u);
  EXPECT_EQ(s.stacks_in_use, 2u);
  EXPECT_EQ(s.timers_pending, 1u);
  async_runtime_shutdown(&rt);
  EXPECT_EQ(rt.impl, nullptr);
  EXPECT_EQ(async_await(sleeper), ASYNC_EINVAL);  // its runtime is gone
  async_runtime_shutdown(&rt);                    // twice: nothing happens
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);  // and it can be used again
  ASSERT_EQ(async_await(async_spawn_with(&rt, noop, nullptr)), ASYNC_OK);
  async_runtime_shutdown(&rt);
}

}  // namespace
