// SPDX-License-Identifier: MIT
// blocking_pool_test.cpp: the pool's workers (core/blocking_pool.h), seen
// through its internal knobs: they start lazily up to the bound, later calls
// queue, one worker serves a stream of calls (no thread per call), idle
// workers exit, and ASYNC_BLOCKING_THREADS sets the bound. Waits are for
// conditions (polled, with a hang guard), never for time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "async.h"
#include "core/blocking_pool.h"
#include "support/seeded.h"
#include "support/leak_check.h"

namespace {

using async::detail::blocking_pool_configure;
using async::detail::blocking_pool_snapshot;

// Polls `cond` until it holds; fails the test after a minute (a hang guard,
// not a timing assertion).
template <class Cond>
bool eventually(Cond cond) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

struct gate_call {
  std::atomic<int>* started;
  std::atomic<bool>* open;
  std::atomic<int>* order;  // where this call's start falls among all calls
  int position = -1;
};

void wait_at_gate(void* p) {
  auto* c = static_cast<gate_call*>(p);
  c->position = c->order->fetch_add(1);
  c->started->fetch_add(1);
  while (!c->open->load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
}

struct gate_fiber {
  gate_call call;
  async_status_t st = ASYNC_EINVAL;
  static void run(void* p) {
    auto* f = static_cast<gate_fiber*>(p);
    f->st = async_run_blocking(wait_at_gate, &f->call);
  }
};

void empty_call(void*) {}

void many_calls(void* p) {
  auto* st = static_cast<async_status_t*>(p);
  for (int i = 0; i < 1000 && *st == ASYNC_OK; ++i) *st = async_run_blocking(empty_call, nullptr);
}

class BlockingPool : public async_test::LeakCheckedTest {};

TEST_F(BlockingPool, WorkersStartUpToTheBoundAndCallsQueueInOrder) {
  ASYNC_FIFO_ONLY();
  blocking_pool_configure(2, 3600ull * 1000000000ull);  // idle workers stay for the test
  const auto before = blocking_pool_snapshot();
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  std::atomic<int> started{0};
  std::atomic<bool> open{false};
  std::atomic<int> order{0};
  std::vector<gate_fiber> fibers(6);
  for (auto& f : fibers) {
    f.call = gate_call{&started, &open, &order};
    ASSERT_EQ(async_spawn_with(&rt, gate_fiber::run, &f).status, ASYNC_OK);
  }
  // A fiber of the same runtime looks while the six wait: two workers took
  // two calls, four wait in the queue.
  struct look {
    std::atomic<int>& started;
    std::atomic<bool>& open;
    async::detail::blocking_pool_stats before;
    static void run(void* p) {
      auto* l = static_cast<look*>(p);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
      while (!(l->started.load() == 2 && blocking_pool_snapshot().queued == 4) &&
             std::chrono::steady_clock::now() < give_up) {
        EXPECT_EQ(async_sleep_ms(1), ASYNC_OK);
      }
      const auto busy = blocking_pool_snapshot();
      EXPECT_EQ(busy.queued, 4u);
      EXPECT_LE(busy.threads, 2u);
      EXPECT_LE(busy.started - l->before.started, 2u);
      EXPECT_EQ(l->started.load(), 2);
      l->open = true;
    }
  } l{started, open, before};
  ASSERT_EQ(async_spawn_with(&rt, look::run, &l).status, ASYNC_OK);
  EXPECT_EQ(async_runtime_run(&rt), ASYNC_OK);
  // The first two calls started first; the queued ones after them. (Which
  // of two workers records its start first is a race, so no finer order.)
  for (std::size_t i = 0; i < fibers.size(); ++i) {
    EXPECT_EQ(fibers[i].st, ASYNC_OK);
    EXPECT_EQ(fibers[i].call.position < 2, i < 2) << "call " << i;
  }
  EXPECT_LE(blocking_pool_snapshot().started - before.started, 2u) << "the bound holds";

  // A stream of calls from one fiber: served by the idle workers, none started.
  const auto warm = blocking_pool_snapshot();
  async_status_t st = ASYNC_OK;
  ASSERT_EQ(async_await(async_spawn_with(&rt, many_calls, &st)), ASYNC_OK);
  EXPECT_EQ(st, ASYNC_OK);
  EXPECT_EQ(blocking_pool_snapshot().started, warm.started) << "no thread per call";

  // Idle workers exit once the limit is short.
  blocking_pool_configure(0, 1000000);  // 1 ms
  EXPECT_TRUE(eventually([] { return blocking_pool_snapshot().threads == 0; }));
  // ...and the next call starts one again.
  st = ASYNC_OK;
  ASSERT_EQ(async_await(async_spawn_with(&rt, many_calls, &st)), ASYNC_OK);
  EXPECT_EQ(st, ASYNC_OK);
  EXPECT_GT(blocking_pool_snapshot().started, warm.started);
  async_runtime_shutdown(&rt);
}

// The environment is read at the pool's first use: in a fresh process (the
// threadsafe death-test style re-runs this binary for the child).
TEST(BlockingPoolDeathTest, EnvironmentSetsTheBound) {
#if defined(ASYNC_TEST_CROSSCOMPILED)
  GTEST_SKIP() << "re-executing the test binary (threadsafe death test) needs binfmt_misc under qemu-user";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("ASYNC_BLOCKING_THREADS", "3", 1);
        std::exit(blocking_pool_snapshot().max_threads == 3 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        setenv("ASYNC_BLOCKING_THREADS", "0", 1);  // not a bound: the default
        std::exit(blocking_pool_snapshot().max_threads == 64 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        setenv("ASYNC_BLOCKING_THREADS", "12x", 1);
        std::exit(blocking_pool_snapshot().max_threads == 64 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
