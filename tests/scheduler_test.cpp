// SPDX-License-Identifier: MIT
// scheduler_test.cpp: the deterministic FIFO rules (docs/design.md, "The
// order rules"),
// asserted as whole traces.
#include "support/runtime_fixture.h"

namespace {

using Trace = std::vector<std::string>;

class SchedulerTest : public async_test::RuntimeTest {
 protected:
  // A fiber that records name+i and yields, `rounds` times.
  void spawn_yielder(const std::string& name, int rounds) {
    spawn([this, name, rounds] {
      for (int i = 0; i < rounds; ++i) {
        trace.push_back(name + std::to_string(i));
        EXPECT_EQ(async_yield(), ASYNC_OK);
      }
    });
  }
};

TEST_F(SchedulerTest, YieldRunsFibersInSpawnOrder) {
  ASYNC_FIFO_ONLY();
  spawn_yielder("a", 3);
  spawn_yielder("b", 3);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST_F(SchedulerTest, SpawnQueuesWithoutRunning) {
  spawn([this] { trace.push_back("ran"); });
  EXPECT_TRUE(trace.empty());
  EXPECT_EQ(stats().fibers_runnable, 1u);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"ran"}));
}

TEST_F(SchedulerTest, FiberSpawnedByAFiberGoesToTheTail) {
  ASYNC_FIFO_ONLY();
  spawn([this] {
    trace.push_back("parent");
    spawn([this] { trace.push_back("child"); });
    EXPECT_EQ(async_yield(), ASYNC_OK);
    trace.push_back("parent again");
  });
  spawn([this] { trace.push_back("sibling"); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"parent", "sibling", "child", "parent again"}));
}

TEST_F(SchedulerTest, AsyncSpawnInsideAFiberUsesThatFibersRuntime) {
  spawn([this] {
    async_fiber_handle_t h = async_spawn([](void* t) { static_cast<Trace*>(t)->push_back("inner"); }, &trace);
    EXPECT_EQ(h.status, ASYNC_OK);
    EXPECT_EQ(h.runtime, runtime());
    EXPECT_EQ(async_await(h), ASYNC_OK);
    trace.push_back("after");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"inner", "after"}));
}

TEST_F(SchedulerTest, AwaitersWakeInTheOrderTheyBeganWaiting) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t target = spawn([this] {
    trace.push_back("target");
    EXPECT_EQ(async_yield(), ASYNC_OK);
    trace.push_back("target ends");
  });
  for (const char* name : {"w1", "w2", "w3"}) {
    spawn([this, name, target] {
      EXPECT_EQ(async_await(target), ASYNC_OK);
      trace.push_back(name);
    });
  }
  spawn_yielder("y", 3);
  ASSERT_EQ(run(), ASYNC_OK);
  // Pass 1: target yields, w1..w3 park, y0. Pass 2: target ends (waking
  // w1, w2, w3 at the tail), y1; then w1 w2 w3, y2.
  EXPECT_EQ(trace, (Trace{"target", "y0", "target ends", "y1", "w1", "w2", "w3", "y2"}));
}

TEST_F(SchedulerTest, TimersArePolledOncePerPass) {
  ASYNC_FIFO_ONLY();
  spawn([this] {
    trace.push_back("s sleeps");
    EXPECT_EQ(async_sleep_ms(0), ASYNC_OK);
    trace.push_back("s woke");
  });
  spawn_yielder("a", 3);
  spawn_yielder("b", 3);
  ASSERT_EQ(run(), ASYNC_OK);
  // The expired timer is collected at the start of pass 2 and appended after
  // the fibers that were runnable then.
  EXPECT_EQ(trace, (Trace{"s sleeps", "a0", "b0", "a1", "b1", "s woke", "a2", "b2"}));
}

TEST_F(SchedulerTest, CancellingAnUnstartedFiberShortensTheCurrentPass) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t b{};
  spawn([&] {
    trace.push_back("A");
    spawn([this] {
      trace.push_back("D0");
      async_yield();
      trace.push_back("D1");
    });
    async_cancel(b);  // B was in this pass: the pass ends one dispatch sooner
    async_sleep_ms(0);
    trace.push_back("A woke");
  });
  b = spawn([this] { trace.push_back("B"); });
  spawn([this] { trace.push_back("C"); });
  ASSERT_EQ(run(), ASYNC_OK);
  // Pass 1: A, (B cancelled), C. Pass 2 begins by collecting A's timer, so A
  // runs after D, which was already queued, and before D's second turn.
  EXPECT_EQ(trace, (Trace{"A", "C", "D0", "A woke", "D1"}));
}

TEST_F(SchedulerTest, SleepersWakeInDeadlineOrderThenInTheOrderSet) {
  ASYNC_FIFO_ONLY();
  // Absolute deadlines: the order cannot depend on how long spawning takes.
  const uint64_t base = async_now_ns() + 2000000;
  const std::pair<const char*, uint64_t> sleepers[] = {
      {"c30", 30}, {"a10", 10}, {"b20", 20}, {"d10", 10}, {"e20", 20}};
  for (auto [name, ms] : sleepers) {
    spawn([this, name = std::string(name), deadline = base + ms * 1000000] {
      EXPECT_EQ(async_sleep_until_ns(deadline), ASYNC_OK);
      trace.push_back(name);
    });
  }
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"a10", "d10", "b20", "e20", "c30"}));
}

TEST_F(SchedulerTest, ADeadlineInThePastSleepsUntilTheNextPass) {
  spawn([this] {
    EXPECT_EQ(async_sleep_until_ns(0), ASYNC_OK);
    trace.push_back("sleeper");
  });
  spawn([this] { trace.push_back("other"); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"other", "sleeper"}));
}

TEST_F(SchedulerTest, SameProgramRunsTheSameInterleavingTwice) {
  ASYNC_FIFO_ONLY();
  auto program = [](async_runtime_t* rt, Trace& out) {
    struct ctx {
      Trace* out;
      int id;
    };
    static ctx ctxs[4];
    for (int i = 0; i < 4; ++i) {
      ctxs[i] = {&out, i};
      async_spawn_with(
          rt,
          [](void* p) {
            auto* c = static_cast<ctx*>(p);
            for (int r = 0; r < c->id + 1; ++r) {
              c->out->push_back(std::to_string(c->id) + ":" + std::to_string(r));
              if (r % 2 == 0) {
                async_yield();
              } else {
                async_sleep_ms(0);
              }
            }
          },
          &ctxs[i]);
    }
    EXPECT_EQ(async_runtime_run(rt), ASYNC_OK);
  };
  Trace first;
  Trace second;
  program(runtime(), first);
  program(runtime(), second);
  // Fiber i records i+1 rounds, yielding after even rounds and sleeping 0
  // (back at the next pass) after odd ones.
  EXPECT_EQ(first, (Trace{"0:0", "1:0", "2:0", "3:0", "1:1", "2:1", "3:1", "2:2", "3:2", "3:3"}));
  EXPECT_EQ(second, first);
}

TEST_F(SchedulerTest, RunWithNothingToDoReturnsOk) { EXPECT_EQ(run(), ASYNC_OK); }

TEST_F(SchedulerTest, BlockedForeverReturnsDeadlockAndShutdownReleases) {
  ASYNC_FIFO_ONLY();
  async_fiber_handle_t a{};
  async_fiber_handle_t b{};
  a = spawn([&] {
    trace.push_back("a waits");
    async_await(b);  // never returns: shutdown drops the fiber here
    trace.push_back("a woke");
  });
  b = spawn([&] {
    trace.push_back("b waits");
    async_await(a);
    trace.push_back("b woke");
  });
  EXPECT_EQ(run(), ASYNC_EDEADLK);
  EXPECT_EQ(trace, (Trace{"a waits", "b waits"}));
  async_runtime_stats_t s = stats();
  EXPECT_EQ(s.fibers_live, 2u);
  EXPECT_EQ(s.stacks_in_use, 2u);
  // Running again finds the same state.
  EXPECT_EQ(run(), ASYNC_EDEADLK);
  expect_live_fibers_at_end_ = true;  // TearDown's shutdown releases them
}

TEST_F(SchedulerTest, DeadlockedFibersCanBeCancelledAndRunToTheEnd) {
  async_fiber_handle_t a{};
  async_fiber_handle_t g{};
  a = spawn([&] { trace.push_back(std::string("a: ") + async_status_name(async_await(g))); });
  g = spawn([&] { trace.push_back(std::string("g: ") + async_status_name(async_await(a))); });
  EXPECT_EQ(run(), ASYNC_EDEADLK);
  EXPECT_TRUE(trace.empty());
  EXPECT_EQ(async_cancel(a), ASYNC_OK);
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"a: ECANCELED", "g: ECANCELED"}));
}

}  // namespace
