// SPDX-License-Identifier: MIT
// group_test.cpp: runtime groups and the calls that cross runtimes (spawn,
// await, cancel from other threads). Inside one runtime the order is still
// the FIFO order, asserted as whole traces; across threads the tests assert
// what no interleaving may break: nothing lost, nothing run twice, every
// status one the header allows, and no hang.
#include <sched.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "async.h"
#include "gtest/gtest.h"
#include "support/seeded.h"
#include "support/leak_check.h"

namespace {

// Under the sanitizers everything is 5-20x slower: fewer rounds.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int stress_scale = 10;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int stress_scale = 10;
#else
constexpr int stress_scale = 1;
#endif
#else
constexpr int stress_scale = 1;
#endif

struct group_guard {
  async_group_t g{};
  ~group_guard() { async_group_shutdown(&g); }
};

async_config_t capacity(size_t tasks) {
  async_config_t cfg{};
  cfg.task_capacity = tasks;
  return cfg;
}

// Spawns until the group takes it: a full runtime says ASYNC_EFULL at the call.
async_fiber_handle_t spawn_retrying(async_group_t* g, async_fn fn, void* user) {
  for (;;) {
    async_fiber_handle_t h = async_group_spawn(g, fn, user);
    if (h.status != ASYNC_EFULL) return h;
    std::this_thread::yield();
  }
}

class GroupTest : public async_test::LeakCheckedTest {};

TEST_F(GroupTest, InitGivesOneRuntimePerThread) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 3, nullptr), ASYNC_OK);
  EXPECT_EQ(async_group_size(&gg.g), 3u);
  for (size_t i = 0; i < 3; ++i) {
    async_runtime_t* rt = async_group_runtime(&gg.g, i);
    ASSERT_NE(rt, nullptr);
    EXPECT_NE(async_runtime_backend(rt), nullptr);  // made: its poller exists
    // Owned by the group's thread, not this one.
    EXPECT_EQ(async_runtime_run(rt), ASYNC_ESTATE);
  }
  EXPECT_EQ(async_group_runtime(&gg.g, 3), nullptr);
  EXPECT_EQ(async_group_wait(&gg.g), ASYNC_OK);  // nothing alive
}

TEST_F(GroupTest, ZeroThreadsMeansTheCpusTheProcessMayUse) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 0, nullptr), ASYNC_OK);
  EXPECT_EQ(async_group_size(&gg.g), static_cast<size_t>(CPU_COUNT(&set)));
}

TEST_F(GroupTest, PinnedThreadsRunOnTheirCpu) {
  async_config_t cfg{};
  cfg.flags = ASYNC_CONFIG_PIN_THREADS;
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, &cfg), ASYNC_OK);
  static std::atomic<int> allowed_cpus[2];
  for (int i = 0; i < 2; ++i) {
    allowed_cpus[i] = -1;
    async_fiber_handle_t h = async_spawn_with(
        async_group_runtime(&gg.g, i),
        [](void* p) {
          cpu_set_t s;
          CPU_ZERO(&s);
          sched_getaffinity(0, sizeof s, &s);
          static_cast<std::atomic<int>*>(p)->store(CPU_COUNT(&s));
        },
        &allowed_cpus[i]);
    ASSERT_EQ(h.status, ASYNC_OK);
  }
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
  EXPECT_EQ(allowed_cpus[0].load(), 1);
  EXPECT_EQ(allowed_cpus[1].load(), 1);
}

TEST_F(GroupTest, MisuseReturnsItsStatus) {
  async_group_t zeroed{};
  EXPECT_EQ(async_group_init(nullptr, 1, nullptr), ASYNC_EINVAL);
  EXPECT_EQ(async_group_size(nullptr), 0u);
  EXPECT_EQ(async_group_size(&zeroed), 0u);
  EXPECT_EQ(async_group_runtime(&zeroed, 0), nullptr);
  EXPECT_EQ(async_group_spawn(&zeroed, [](void*) {}, nullptr).status, ASYNC_EINVAL);
  EXPECT_EQ(async_group_wait(&zeroed), ASYNC_EINVAL);
  async_group_shutdown(&zeroed);  // harmless
  async_group_shutdown(nullptr);
  async_config_t bad{};
  bad.flags = 0x80000000u;
  async_group_t g{};
  EXPECT_EQ(async_group_init(&g, 2, &bad), ASYNC_EINVAL);
  EXPECT_EQ(g.impl, nullptr);
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 1, nullptr), ASYNC_OK);
  EXPECT_EQ(async_group_spawn(&gg.g, nullptr, nullptr).status, ASYNC_EINVAL);
}

TEST_F(GroupTest, WaitFromTheGroupsOwnThreadIsRefused) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  static async_status_t st;
  st = ASYNC_OK;
  ASSERT_EQ(async_group_spawn(&gg.g, [](void* g) { st = async_group_wait(static_cast<async_group_t*>(g)); },
                              &gg.g)
                .status,
            ASYNC_OK);
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
  EXPECT_EQ(st, ASYNC_ESTATE);
}

// The trace a small program leaves: a root fiber spawns three workers that
// yield, sleep 0 and await each other.
struct trace_program {
  static std::string* trace;
  static void worker(void* p) {
    const char id = static_cast<char>(reinterpret_cast<std::uintptr_t>(p));
    for (int i = 0; i < 3; ++i) {
      *trace += id;
      *trace += static_cast<char>('0' + i);
      *trace += ' ';
      if (i == 1) {
        async_sleep_ms(0);
      } else {
        async_yield();
      }
    }
  }
  static void root(void*) {
    async_fiber_handle_t hs[3];
    for (int i = 0; i < 3; ++i) hs[i] = async_spawn(worker, reinterpret_cast<void*>(std::uintptr_t('a' + i)));
    *trace += "spawned ";
    async_yield();
    for (auto& h : hs) async_await(h);
    *trace += "joined";
  }
};
std::string* trace_program::trace = nullptr;

TEST_F(GroupTest, AGroupOfOneRunsExactlyLikeAPlainRuntime) {
  ASYNC_FIFO_ONLY();
  std::string plain;
  trace_program::trace = &plain;
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  ASSERT_EQ(async_spawn_with(&rt, trace_program::root, nullptr).status, ASYNC_OK);
  ASSERT_EQ(async_runtime_run(&rt), ASYNC_OK);
  async_runtime_shutdown(&rt);

  std::string grouped;
  trace_program::trace = &grouped;
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 1, nullptr), ASYNC_OK);
  ASSERT_EQ(async_group_spawn(&gg.g, trace_program::root, nullptr).status, ASYNC_OK);
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);

  EXPECT_EQ(plain, "spawned a0 b0 c0 a1 b1 c1 a2 b2 c2 joined");
  EXPECT_EQ(grouped, plain);
}

TEST_F(GroupTest, SpawnsFromManyPlainThreadsAllRunOnce) {
  const async_config_t cfg = capacity(1024);
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, &cfg), ASYNC_OK);
  constexpr int threads = 4;
  const int per_thread = 20000 / stress_scale;
  static std::atomic<long> ran;
  ran = 0;
  std::vector<std::thread> spawners;
  for (int t = 0; t < threads; ++t) {
    spawners.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        async_fiber_handle_t h = spawn_retrying(&gg.g, [](void*) { ran.fetch_add(1); }, nullptr);
        ASSERT_EQ(h.status, ASYNC_OK);
      }
    });
  }
  for (auto& t : spawners) t.join();
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
  EXPECT_EQ(ran.load(), long{threads} * per_thread);
}

TEST_F(GroupTest, PlacementPrefersTheRuntimeWithFewerLiveFibers) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  // Runtime 0 gets a fiber that stays (parked); the next two group spawns
  // must both go to runtime 1 (0 live there, then 1 against 1: the tie goes
  // round-robin, which may pick either).
  async_fiber_handle_t parked = async_spawn_with(async_group_runtime(&gg.g, 0), [](void*) { async_park(); }, nullptr);
  ASSERT_EQ(parked.status, ASYNC_OK);
  async_fiber_handle_t h = async_group_spawn(&gg.g, [](void*) { async_park(); }, nullptr);
  ASSERT_EQ(h.status, ASYNC_OK);
  EXPECT_EQ(h.runtime, async_group_runtime(&gg.g, 1));
  EXPECT_EQ(async_unpark(parked), ASYNC_OK);
  EXPECT_EQ(async_unpark(h), ASYNC_OK);
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
}

TEST_F(GroupTest, AFiberAwaitsAFiberOfAnotherRuntime) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  struct ctx {
    async_group_t* g;
    async_fiber_handle_t target;
    async_status_t while_running = ASYNC_EINVAL;
    async_status_t after_end = ASYNC_EINVAL;
    async_status_t cancelled_target = ASYNC_EINVAL;
  } c{&gg.g, {}};
  c.target = async_spawn_with(async_group_runtime(&gg.g, 1), [](void*) { async_sleep_ms(2); }, nullptr);
  ASSERT_EQ(c.target.status, ASYNC_OK);
  ASSERT_EQ(async_spawn_with(
                async_group_runtime(&gg.g, 0),
                [](void* p) {
                  auto* c = static_cast<ctx*>(p);
                  c->while_running = async_await(c->target);
                  c->after_end = async_await(c->target);  // ended: answered from the record
                  async_fiber_handle_t doomed =
                      async_spawn_with(async_group_runtime(c->g, 1), [](void*) { async_park(); }, nullptr);
                  async_cancel(doomed);
                  c->cancelled_target = async_await(doomed);
                },
                &c)
                .status,
            ASYNC_OK);
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
  EXPECT_EQ(c.while_running, ASYNC_OK);
  EXPECT_EQ(c.after_end, ASYNC_OK);
  EXPECT_EQ(c.cancelled_target, ASYNC_ECANCELED);
}

TEST_F(GroupTest, AwaitingFromAThreadAndCancellingTheAwaiter) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  async_fiber_handle_t sleeper =
      async_spawn_with(async_group_runtime(&gg.g, 1), [](void*) { async_park(); }, nullptr);
  ASSERT_EQ(sleeper.status, ASYNC_OK);
  // A fiber on runtime 0 awaits it and is cancelled while waiting: its await
  // returns ECANCELED at once; the late answer is dropped.
  static async_fiber_handle_t target;
  static std::atomic<int> awaiter_status;
  static std::atomic<bool> awaiting;
  target = sleeper;
  awaiter_status = -1;
  awaiting = false;
  async_fiber_handle_t awaiter = async_spawn_with(
      async_group_runtime(&gg.g, 0),
      [](void*) {
        awaiting = true;  // nothing suspends between here and the await's park,
        awaiter_status = async_await(target);  // so the cancel finds it parked
      },
      nullptr);
  ASSERT_EQ(awaiter.status, ASYNC_OK);
  while (!awaiting) std::this_thread::yield();
  EXPECT_EQ(async_cancel(awaiter), ASYNC_OK);
  EXPECT_EQ(async_await(awaiter), ASYNC_ECANCELED);  // this thread blocks until it ends
  EXPECT_EQ(awaiter_status.load(), ASYNC_ECANCELED);
  EXPECT_EQ(async_unpark(sleeper), ASYNC_OK);
  EXPECT_EQ(async_await(sleeper), ASYNC_OK);
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
}

TEST_F(GroupTest, CancelRacingTheEndOfAFiber) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  const int rounds = 2000 / stress_scale;
  int ok = 0;
  int cancelled = 0;
  for (int i = 0; i < rounds; ++i) {
    async_fiber_handle_t h = spawn_retrying(
        &gg.g,
        [](void* p) {
          for (int k = 0; k < static_cast<int>(reinterpret_cast<std::uintptr_t>(p)); ++k) async_yield();
        },
        reinterpret_cast<void*>(std::uintptr_t(i % 4)));
    ASSERT_EQ(h.status, ASYNC_OK);
    EXPECT_EQ(async_cancel(h), ASYNC_OK);
    const async_status_t st = async_await(h);
    ASSERT_TRUE(st == ASYNC_OK || st == ASYNC_ECANCELED) << async_status_name(st);
    (st == ASYNC_OK ? ok : cancelled) += 1;
  }
  EXPECT_EQ(ok + cancelled, rounds);
  ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
}

TEST_F(GroupTest, AForeignSpawnKnowsAFullRuntimeAtTheCall) {
  async_runtime_t rt;
  const async_config_t cfg = capacity(4);  // too small for an owner's cache
  ASSERT_EQ(async_runtime_init(&rt, &cfg), ASYNC_OK);
  std::vector<async_status_t> statuses;
  std::thread([&] {
    for (int i = 0; i < 5; ++i) statuses.push_back(async_spawn_with(&rt, [](void*) {}, nullptr).status);
  }).join();
  EXPECT_EQ(statuses, (std::vector<async_status_t>{ASYNC_OK, ASYNC_OK, ASYNC_OK, ASYNC_OK, ASYNC_EFULL}));
  ASSERT_EQ(async_runtime_run(&rt), ASYNC_OK);
  async_runtime_stats_t s{};
  ASSERT_EQ(async_runtime_stats(&rt, &s), ASYNC_OK);
  EXPECT_EQ(s.fibers_live, 0u);
  async_runtime_shutdown(&rt);
}

TEST_F(GroupTest, SpawnsThatNeverArriveAreDiscardedAtShutdown) {
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  static int discarded;
  discarded = 0;
  async_spawn_options_t opts{};
  opts.on_discard = [](void*) { ++discarded; };
  std::thread([&] {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(async_spawn_ex(&rt, [](void*) {}, nullptr, &opts).status, ASYNC_OK);
  }).join();
  async_runtime_shutdown(&rt);  // never ran: the inbox still holds them
  EXPECT_EQ(discarded, 3);
}

TEST_F(GroupTest, AwaitOfAFiberWhoseRuntimeShutsDown) {
  // A runtime on its own thread, whose fiber never ends; this thread awaits
  // that fiber and the owner shuts the runtime down meanwhile.
  async_runtime_t rt;
  std::atomic<bool> ready{false};
  std::atomic<bool> awaiting{false};
  async_fiber_handle_t forever{};
  std::thread owner([&] {
    ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
    forever = async_spawn_with(&rt, [](void*) { async_park(); }, nullptr);
    ready = true;
    // Drive until the await has had time to arrive (only which of the two
    // allowed statuses comes depends on it), then shut down.
    async_spawn_with(&rt, [](void*) { async_sleep_ms(20); }, nullptr);
    async_fiber_handle_t waiter_seen = async_spawn_with(
        &rt,
        [](void* p) {
          while (!static_cast<std::atomic<bool>*>(p)->load()) async_sleep_ms(1);
          async_sleep_ms(20);
        },
        &awaiting);
    async_await(waiter_seen);
    async_runtime_shutdown(&rt);
  });
  while (!ready) std::this_thread::yield();
  awaiting = true;
  const async_status_t st = async_await(forever);
  owner.join();
  EXPECT_TRUE(st == ASYNC_ECANCELED || st == ASYNC_EINVAL) << async_status_name(st);
}

TEST_F(GroupTest, ShutdownDropsLiveFibersAndAnswersTheirAwaiters) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  static int discarded;
  discarded = 0;
  async_spawn_options_t opts{};
  opts.on_discard = [](void*) { ++discarded; };
  async_fiber_handle_t parked = async_spawn_ex(async_group_runtime(&gg.g, 0), [](void*) { async_park(); }, nullptr, &opts);
  ASSERT_EQ(parked.status, ASYNC_OK);
  // A fiber of runtime 1 awaits it, so the shutdown has a remote await to answer.
  static async_fiber_handle_t target;
  target = parked;
  ASSERT_EQ(async_spawn_with(async_group_runtime(&gg.g, 1), [](void*) { async_await(target); }, nullptr).status,
            ASYNC_OK);
  async_group_shutdown(&gg.g);
  EXPECT_EQ(gg.g.impl, nullptr);
  EXPECT_EQ(discarded, 1);
  // The handle's runtime is gone: a clear status, not a crash.
  EXPECT_EQ(async_await(parked), ASYNC_EINVAL);
  EXPECT_EQ(async_cancel(parked), ASYNC_EINVAL);
}

TEST_F(GroupTest, AnIdleGroupSleeps) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  // Once its threads reach their wait, an idle group uses (almost) no CPU;
  // two threads spinning instead would use about 600 ms in these 300 ms.
  // The bound is loose on purpose: it tells sleeping from spinning, not how
  // fast anything is, so a loaded or instrumented run cannot trip it.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  timespec a{};
  timespec b{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  const double used_ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
  EXPECT_LT(used_ms, 150.0) << "an idle group of 2 used " << used_ms << " ms of CPU in 300 ms";
}

}  // namespace
