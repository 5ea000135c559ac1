// SPDX-License-Identifier: MIT
// blocking_test.cpp: the blocking pool across threads (async/blocking.h):
// fibers of a group's runtimes sharing the pool while a plain thread cancels
// some of them, groups shut down while calls are in flight, and 10,000
// concurrent name resolutions while a ticker keeps running. For TSan and
// ASan: every call's record lives on its fiber's stack, so a worker that
// touched one too late would be caught. Order and counts are asserted,
// never time. (Single-runtime traces: c_blocking_test.c.)
#include <gtest/gtest.h>
#include <netdb.h>
#include <sched.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>
#include <vector>

#include "async.h"
#include "support/seeded.h"
#include "support/leak_check.h"

namespace {

struct counters {
  std::atomic<long> runs{0};            // fn bodies that ran
  std::atomic<long> inflight{0};        // fn bodies running now
  std::atomic<long> returned_ran{0};    // calls that returned after their fn
  std::atomic<long> returned_early{0};  // ECANCELED with fn not run
  std::atomic<long> wrong{0};           // any other outcome
};

struct one_call {
  counters* c;
  bool ran = false;
};

void counted_fn(void* p) {
  auto* call = static_cast<one_call*>(p);
  call->c->inflight.fetch_add(1);
  for (int i = 0; i < 3; ++i) sched_yield();  // hold the worker a little
  call->ran = true;
  call->c->runs.fetch_add(1);
  call->c->inflight.fetch_sub(1);
}

// Up to `calls` pool calls, stopping at the first ECANCELED.
struct caller {
  counters* c;
  int calls;
  int made = 0;  // calls that returned ASYNC_OK
  static void run(void* p) {
    auto* self = static_cast<caller*>(p);
    for (int i = 0; i < self->calls; ++i) {
      one_call call{self->c};
      const async_status_t st = async_run_blocking(counted_fn, &call);
      if (st == ASYNC_OK) ++self->made;
      if ((st == ASYNC_OK || st == ASYNC_ECANCELED) && call.ran) {
        self->c->returned_ran.fetch_add(1);
      } else if (st == ASYNC_ECANCELED) {
        self->c->returned_early.fetch_add(1);
      } else {
        self->c->wrong.fetch_add(1);
      }
      if (st != ASYNC_OK) return;
    }
  }
};

class BlockingThreads : public async_test::LeakCheckedTest {};

TEST_F(BlockingThreads, FibersOfAGroupShareThePoolWhileAThreadCancels) {
  ASYNC_FIFO_ONLY();
  for (int round = 0; round < 3; ++round) {
    async_group_t g;
    ASSERT_EQ(async_group_init(&g, 2, nullptr), ASYNC_OK);
    counters c;
    std::vector<caller> callers(96, caller{&c, 20});
    std::vector<async_fiber_handle_t> handles;
    for (auto& k : callers) {
      handles.push_back(async_group_spawn(&g, caller::run, &k));
      ASSERT_EQ(handles.back().status, ASYNC_OK);
    }
    std::thread canceller([&] {
      for (std::size_t i = 0; i < handles.size(); i += 5) EXPECT_EQ(async_cancel(handles[i]), ASYNC_OK);
    });
    canceller.join();
    EXPECT_EQ(async_group_wait(&g), ASYNC_OK);
    for (std::size_t i = 0; i < handles.size(); ++i) {
      const async_status_t st = async_await(handles[i]);
      if (i % 5 == 0 && st == ASYNC_OK) {
        // The cancel came after the fiber had made all its calls and ended
        // (the first fibers spawned can, before the canceller thread runs).
        EXPECT_EQ(callers[i].made, callers[i].calls) << i;
      } else {
        EXPECT_EQ(st, i % 5 == 0 ? ASYNC_ECANCELED : ASYNC_OK) << i;
      }
    }
    async_group_shutdown(&g);
    EXPECT_EQ(c.wrong.load(), 0);
    EXPECT_EQ(c.runs.load(), c.returned_ran.load()) << "every call returned after its fn, and only then";
    EXPECT_GE(c.returned_ran.load(), (96 - (96 / 5 + 1)) * 20) << "uncancelled fibers made all their calls";
    EXPECT_EQ(c.inflight.load(), 0);
  }
}

// Fibers that call the pool forever; the group is shut down under them.
struct forever {
  counters* c;
  static void run(void* p) {
    auto* self = static_cast<forever*>(p);
    for (;;) {
      one_call call{self->c};
      if (async_run_blocking(counted_fn, &call) != ASYNC_OK) return;
    }
  }
};

TEST_F(BlockingThreads, AGroupShutDownWhileItsFibersWaitInThePool) {
  for (int round = 0; round < 20; ++round) {
    async_group_t g;
    ASSERT_EQ(async_group_init(&g, 2, nullptr), ASYNC_OK);
    counters c;
    std::vector<forever> fibers(16, forever{&c});
    for (auto& f : fibers) ASSERT_EQ(async_group_spawn(&g, forever::run, &f).status, ASYNC_OK);
    while (c.runs.load() < 50 + round * 10) std::this_thread::yield();
    async_group_shutdown(&g);  // waits for every call in flight
    EXPECT_EQ(c.inflight.load(), 0) << "a worker still ran a call of a runtime that was shut down";
    const long after = c.runs.load();
    for (int i = 0; i < 100; ++i) std::this_thread::yield();
    EXPECT_EQ(c.runs.load(), after) << "nothing of the dropped fibers runs after the shutdown";
  }
}

// --- 10,000 resolutions at once -------------------------------------------

struct resolutions {
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  int total = 0;
  int ticks = 0;
};

void resolve_localhost(void* p) {
  auto* r = static_cast<resolutions*>(p);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = 0;
  if (async_getaddrinfo("localhost", "80", &hints, &res, &gai) != ASYNC_OK || res == nullptr) {
    r->failed.fetch_add(1);
  } else {
    freeaddrinfo(res);
  }
  r->done.fetch_add(1);
}

void ticker(void* p) {
  auto* r = static_cast<resolutions*>(p);
  while (r->done.load() < r->total) {
    EXPECT_EQ(async_sleep_ms(1), ASYNC_OK);
    ++r->ticks;
  }
}

TEST_F(BlockingThreads, TenThousandResolutionsWhileATickerRuns) {
  async_config_t cfg{};
  cfg.task_capacity = 10240;
  cfg.fiber_capacity = 10240;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  cfg.fiber_stack_size = 64 * 1024;
#else
  cfg.fiber_stack_size = 16 * 1024;
#endif
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, &cfg), ASYNC_OK);
  resolutions r;
  r.total = 10000;
  ASSERT_EQ(async_spawn_with(&rt, ticker, &r).status, ASYNC_OK);
  for (int i = 0; i < r.total; ++i) ASSERT_EQ(async_spawn_with(&rt, resolve_localhost, &r).status, ASYNC_OK);
  EXPECT_EQ(async_runtime_run(&rt), ASYNC_OK);
  EXPECT_EQ(r.done.load(), r.total);
  EXPECT_EQ(r.failed.load(), 0);
  EXPECT_GE(r.ticks, 1) << "the ticker ran";
  async_runtime_shutdown(&rt);
}

}  // namespace
