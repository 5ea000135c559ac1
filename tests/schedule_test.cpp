// SPDX-License-Identifier: MIT
// schedule_test.cpp: seeded schedules (async.h, "Seeded schedules"): seed 0
// is FIFO, a seed replays its interleaving byte for byte, different seeds
// explore, fibers woken together run in a seeded order, PCT, groups, and
// ASYNC_SCHEDULE_SEED from the environment.
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "async.h"
#include "support/seeded.h"
#include "support/leak_check.h"

namespace {

using Trace = std::vector<std::string>;

// One runtime made from a config, lambdas as its fibers, and a trace.
class Session {
 public:
  explicit Session(const async_config_t& cfg) { EXPECT_EQ(async_runtime_init(&rt_, &cfg), ASYNC_OK); }
  ~Session() { async_runtime_shutdown(&rt_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  async_runtime_t* rt() { return &rt_; }
  async_fiber_handle_t spawn(std::function<void()> f) {
    bodies_.push_back(std::make_unique<std::function<void()>>(std::move(f)));
    return async_spawn_with(&rt_, &invoke, bodies_.back().get());
  }
  async_status_t run() { return async_runtime_run(&rt_); }

  Trace trace;

 private:
  static void invoke(void* f) { (*static_cast<std::function<void()>*>(f))(); }
  async_runtime_t rt_{};
  std::vector<std::unique_ptr<std::function<void()>>> bodies_;
};

async_config_t seeded(std::uint64_t seed, std::uint32_t pct_depth = 0) {
  async_config_t c{};
  c.schedule_seed = seed;
  c.schedule_pct_depth = pct_depth;
  return c;
}

// Four fibers, three rounds each: a and d record and yield; b sends on an
// unbuffered channel and c receives, so that picks differ at every turn.
Trace four_fibers(const async_config_t& cfg) {
  Session s(cfg);
  async_channel_t ch;
  EXPECT_EQ(async_channel_init(&ch, s.rt(), 0, 0), ASYNC_OK);
  auto yielder = [&s](const std::string& name) {
    return [&s, name] {
      for (int i = 0; i < 3; ++i) {
        s.trace.push_back(name + std::to_string(i));
        EXPECT_EQ(async_yield(), ASYNC_OK);
      }
    };
  };
  s.spawn(yielder("a"));
  s.spawn([&] {
    for (int i = 0; i < 3; ++i) {
      s.trace.push_back("b" + std::to_string(i));
      EXPECT_EQ(async_channel_send(&ch, nullptr), ASYNC_OK);
    }
  });
  s.spawn([&] {
    for (int i = 0; i < 3; ++i) {
      void* m;
      EXPECT_EQ(async_channel_recv(&ch, &m), ASYNC_OK);
      s.trace.push_back("c" + std::to_string(i));
    }
  });
  s.spawn(yielder("d"));
  EXPECT_EQ(s.run(), ASYNC_OK);
  async_channel_shutdown(&ch);
  return s.trace;
}

std::string joined(const Trace& t) {
  std::string out;
  for (const auto& e : t) out += (out.empty() ? "" : " ") + e;
  return out;
}

class ScheduleTest : public async_test::LeakCheckedTest {};

TEST_F(ScheduleTest, SeedZeroIsFifo) {
  ASYNC_FIFO_ONLY();
  EXPECT_EQ(joined(four_fibers(seeded(0))), "a0 b0 c0 d0 a1 b1 b2 d1 a2 c1 c2 d2");
}

// The generator and the pick rule are what a recorded seed relies on: these
// traces change only if splitmix64 or the rule does.
TEST_F(ScheduleTest, ASeedGivesItsOwnInterleaving) {
  EXPECT_EQ(joined(four_fibers(seeded(1))), "b0 c0 a0 a1 d0 d1 b1 b2 a2 d2 c1 c2");
  EXPECT_EQ(joined(four_fibers(seeded(2))), "d0 a0 b0 b1 a1 d1 d2 a2 c0 c1 b2 c2");
}

TEST_F(ScheduleTest, TheSameSeedReplaysByteForByte) {
  for (std::uint64_t seed : {1u, 2u, 17u, 12345u}) {
    const Trace first = four_fibers(seeded(seed));
    EXPECT_EQ(four_fibers(seeded(seed)), first) << "seed " << seed;
    EXPECT_EQ(first.size(), 12u);
  }
}

TEST_F(ScheduleTest, FiftySeedsGiveManyInterleavings) {
  std::set<Trace> distinct;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) distinct.insert(four_fibers(seeded(seed)));
  EXPECT_GE(distinct.size(), 40u);
}

// Fibers woken by one event (here: four awaiting one fiber's end) run in an
// order the seed chooses; under FIFO, in the order they began to wait.
Trace awaiters_of_one_end(const async_config_t& cfg) {
  Session s(cfg);
  async_fiber_handle_t target{};
  target = s.spawn([] { EXPECT_EQ(async_yield(), ASYNC_OK); });
  for (const char* name : {"w", "x", "y", "z"}) {
    s.spawn([&s, &target, name] {
      EXPECT_EQ(async_await(target), ASYNC_OK);
      s.trace.push_back(name);
    });
  }
  EXPECT_EQ(s.run(), ASYNC_OK);
  return s.trace;
}

// Four timers due at one deadline: expired together, run in a seeded order.
Trace timers_due_together(const async_config_t& cfg) {
  Session s(cfg);
  const std::uint64_t deadline = async_now_ns() + 2000000;  // 2 ms: all four arm first
  for (const char* name : {"w", "x", "y", "z"}) {
    s.spawn([&s, deadline, name] {
      EXPECT_EQ(async_sleep_until_ns(deadline), ASYNC_OK);
      s.trace.push_back(name);
    });
  }
  EXPECT_EQ(s.run(), ASYNC_OK);
  return s.trace;
}

// Four readers of one pipe, woken by one readiness edge: each takes one
// byte; who gets which byte follows the order they run in.
Trace readers_of_one_pipe(const async_config_t& cfg) {
  Session s(cfg);
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  async_io_t in{}, out{};
  EXPECT_EQ(async_io_register_with(s.rt(), &in, fds[0]), ASYNC_OK);
  EXPECT_EQ(async_io_register_with(s.rt(), &out, fds[1]), ASYNC_OK);
  for (const char* name : {"w", "x", "y", "z"}) {
    s.spawn([&s, &in, name] {
      char c = 0;
      size_t n = 0;
      EXPECT_EQ(async_read(&in, &c, 1, &n), ASYNC_OK);
      s.trace.push_back(std::string(name) + c);
    });
  }
  s.spawn([&out] {
    // Every reader is parked once the writer has yielded twice.
    EXPECT_EQ(async_yield(), ASYNC_OK);
    EXPECT_EQ(async_yield(), ASYNC_OK);
    size_t n = 0;
    EXPECT_EQ(async_write(&out, "1234", 4, &n), ASYNC_OK);
    EXPECT_EQ(n, 4u);
  });
  EXPECT_EQ(s.run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&in), ASYNC_OK);  // closes the fds
  EXPECT_EQ(async_io_close(&out), ASYNC_OK);
  return s.trace;
}

TEST_F(ScheduleTest, FifoWakesRunInTheOrderTheyWaited) {
  ASYNC_FIFO_ONLY();
  EXPECT_EQ(joined(awaiters_of_one_end(seeded(0))), "w x y z");
  EXPECT_EQ(joined(timers_due_together(seeded(0))), "w x y z");
}

// Each shape: every seed replays, and 50 seeds give at least 12 of the 24
// orders of four fibers.
void expect_seeded_orders(Trace (*shape)(const async_config_t&), const char* what) {
  std::set<Trace> distinct;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const Trace t = shape(seeded(seed));
    EXPECT_EQ(t.size(), 4u) << what;
    if (seed <= 5) {
      EXPECT_EQ(shape(seeded(seed)), t) << what << ", seed " << seed;
    }
    distinct.insert(t);
  }
  EXPECT_GE(distinct.size(), 12u) << what;
}

TEST_F(ScheduleTest, FibersWokenByOneEndRunInASeededOrder) {
  expect_seeded_orders(awaiters_of_one_end, "awaiters");
}

TEST_F(ScheduleTest, TimersExpiringTogetherRunInASeededOrder) {
  expect_seeded_orders(timers_due_together, "timers");
}

TEST_F(ScheduleTest, ReadersWokenByOneReadinessRunInASeededOrder) {
  expect_seeded_orders(readers_of_one_pipe, "pipe readers");
}

// --- PCT ---------------------------------------------------------------------

TEST_F(ScheduleTest, PctReplaysAndExplores) {
  EXPECT_EQ(joined(four_fibers(seeded(1, 3))), "a0 d0 b0 c0 b1 b2 c1 c2 a1 d1 a2 d2");
  std::set<Trace> distinct;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const Trace t = four_fibers(seeded(seed, 3));
    if (seed <= 5) {
      EXPECT_EQ(four_fibers(seeded(seed, 3)), t) << "seed " << seed;
    }
    distinct.insert(t);
  }
  EXPECT_GE(distinct.size(), 10u);
}

// The highest priority runs until it suspends: with depth 1 (no change
// points) the first of three fibers to record is the one PCT ranked first,
// and every fiber comes first under some seed.
TEST_F(ScheduleTest, PctRunsTheHighestPriorityFirst) {
  std::set<std::string> firsts;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    Session s(seeded(seed, 1));
    for (const char* name : {"p", "q", "r"}) s.spawn([&s, name] { s.trace.push_back(name); });
    EXPECT_EQ(s.run(), ASYNC_OK);
    ASSERT_EQ(s.trace.size(), 3u);
    firsts.insert(s.trace[0]);
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"p", "q", "r"}));
}

// A yield drops the yielding fiber below the others: a fiber that yields
// until another sets a flag lets that one run, whatever the priorities.
TEST_F(ScheduleTest, PctYieldLoopsMakeProgress) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Session s(seeded(seed, 2));
    bool flag = false;
    int spins = 0;
    s.spawn([&] {
      while (!flag) {
        ++spins;
        EXPECT_EQ(async_yield(), ASYNC_OK);
      }
    });
    s.spawn([&] { flag = true; });
    EXPECT_EQ(s.run(), ASYNC_OK);
    EXPECT_LE(spins, 1) << "seed " << seed;
  }
}

TEST_F(ScheduleTest, PctDepthAboveTheLimitIsRefused) {
  async_config_t c = seeded(1, ASYNC_SCHEDULE_PCT_MAX_DEPTH + 1);
  async_runtime_t rt;
  EXPECT_EQ(async_runtime_init(&rt, &c), ASYNC_EINVAL);
  c.schedule_pct_depth = ASYNC_SCHEDULE_PCT_MAX_DEPTH;
  c.schedule_pct_steps = 1;  // every change point at the first pick
  ASSERT_EQ(async_runtime_init(&rt, &c), ASYNC_OK);
  async_runtime_shutdown(&rt);
}

// --- the environment ------------------------------------------------------------

TEST_F(ScheduleTest, TheEnvironmentSeedsARuntimeWhoseConfigSaysZero) {
  const Trace want = four_fibers(seeded(17));
  {
    async_test::scoped_env env("ASYNC_SCHEDULE_SEED", "17");
    EXPECT_EQ(four_fibers(seeded(0)), want);
  }
  {
    async_test::scoped_env env("ASYNC_SCHEDULE_SEED", "0x11");
    EXPECT_EQ(four_fibers(seeded(0)), want);
  }
  {
    // The config's own seed wins over the environment's.
    async_test::scoped_env env("ASYNC_SCHEDULE_SEED", "99");
    EXPECT_EQ(four_fibers(seeded(17)), want);
  }
}

TEST_F(ScheduleTest, ZeroOrEmptyInTheEnvironmentIsFifo) {
  for (const char* v : {"0", "", "0x0"}) {
    async_test::scoped_env env("ASYNC_SCHEDULE_SEED", v);
    EXPECT_EQ(joined(four_fibers(seeded(0))), "a0 b0 c0 d0 a1 b1 b2 d1 a2 c1 c2 d2") << "'" << v << "'";
  }
}

TEST_F(ScheduleTest, ABadEnvironmentSeedFailsInit) {
  for (const char* v : {"abc", "-1", "+1", "12x", " 1", "0x", "0xg", "1.5", "18446744073709551616",
                        "0x10000000000000000"}) {
    async_test::scoped_env env("ASYNC_SCHEDULE_SEED", v);
    async_runtime_t rt;
    EXPECT_EQ(async_runtime_init(&rt, nullptr), ASYNC_EINVAL) << "'" << v << "'";
    EXPECT_EQ(rt.impl, nullptr);
    async_group_t g;
    EXPECT_EQ(async_group_init(&g, 2, nullptr), ASYNC_EINVAL) << "'" << v << "'";
  }
  // The largest value that fits is a seed like any other.
  async_test::scoped_env env("ASYNC_SCHEDULE_SEED", "18446744073709551615");
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  async_runtime_shutdown(&rt);
}

// The calling thread's global runtime is made from the environment too (a
// fresh thread gets a fresh one).
TEST_F(ScheduleTest, TheEnvironmentSeedsTheGlobalRuntime) {
  auto program = [](async_runtime_t* rt) {
    Trace trace;
    std::function<void()> bodies[3];
    for (int k = 0; k < 3; ++k) {
      bodies[k] = [&trace, k] {
        for (int i = 0; i < 3; ++i) {
          trace.push_back(std::string(1, static_cast<char>('a' + k)) + std::to_string(i));
          EXPECT_EQ(async_yield(), ASYNC_OK);
        }
      };
      async_spawn_with(rt, [](void* f) { (*static_cast<std::function<void()>*>(f))(); }, &bodies[k]);
    }
    EXPECT_EQ(async_runtime_run(rt), ASYNC_OK);
    return trace;
  };
  async_runtime_t own;
  const async_config_t cfg = seeded(23);
  ASSERT_EQ(async_runtime_init(&own, &cfg), ASYNC_OK);
  const Trace want = program(&own);
  async_runtime_shutdown(&own);
  async_test::scoped_env env("ASYNC_SCHEDULE_SEED", "23");
  Trace got;
  std::thread([&] {
    got = program(async_global());
    async_global_shutdown();
  }).join();
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.size(), 9u);
}

// --- groups ---------------------------------------------------------------------

// Runtime i of a seeded group runs the same four-fiber program (spawned by
// one fiber sent there) with its own derived seed: the same per runtime on
// every run of the group, different between runtimes.
std::vector<Trace> group_traces(std::uint64_t seed) {
  async_config_t cfg = seeded(seed);
  async_group_t g;
  EXPECT_EQ(async_group_init(&g, 2, &cfg), ASYNC_OK);
  struct job {
    Trace trace;
    std::function<void()> children[4];
    std::function<void()> main;
  };
  std::vector<job> jobs(2);
  for (auto& j : jobs) {
    for (int k = 0; k < 4; ++k) {
      j.children[k] = [&j, k] {
        for (int i = 0; i < 4; ++i) {
          j.trace.push_back(std::string(1, static_cast<char>('a' + k)) + std::to_string(i));
          EXPECT_EQ(async_yield(), ASYNC_OK);
        }
      };
    }
    j.main = [&j] {
      async_fiber_handle_t h[4];
      for (int k = 0; k < 4; ++k) {
        h[k] = async_spawn([](void* f) { (*static_cast<std::function<void()>*>(f))(); }, &j.children[k]);
      }
      for (auto& x : h) EXPECT_EQ(async_await(x), ASYNC_OK);
    };
  }
  for (std::size_t i = 0; i < 2; ++i) {
    async_fiber_handle_t h = async_spawn_with(async_group_runtime(&g, i),
                                              [](void* f) { (*static_cast<std::function<void()>*>(f))(); },
                                              &jobs[i].main);
    EXPECT_EQ(h.status, ASYNC_OK);
  }
  EXPECT_EQ(async_group_wait(&g), ASYNC_OK);
  async_group_shutdown(&g);
  return {jobs[0].trace, jobs[1].trace};
}

TEST_F(ScheduleTest, EachRuntimeOfAGroupReplaysItsOwnSeed) {
  for (std::uint64_t seed : {3u, 4u}) {
    const std::vector<Trace> first = group_traces(seed);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].size(), 16u);
    EXPECT_NE(first[0], first[1]) << "seed " << seed;
    EXPECT_EQ(group_traces(seed), first) << "seed " << seed;
  }
}

}  // namespace
