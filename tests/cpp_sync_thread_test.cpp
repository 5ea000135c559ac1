// SPDX-License-Identifier: MIT
// cpp_sync_thread_test.cpp: the classes of async/sync.hpp between fibers of
// two runtimes on two threads (async::group). The data they guard is plain,
// not atomic, on purpose: under ThreadSanitizer these tests prove that each
// class orders the accesses it protects. The interleaving across threads is
// not deterministic, so only totals and invariants are checked; counts are
// small enough for a TSan build.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "async.hpp"
#include "support/leak_check.h"

namespace {

constexpr int kFibers = 8;  // spread over both runtimes

class CppSyncThreadTest : public async_test::LeakCheckedTest {};

TEST_F(CppSyncThreadTest, MutexSerialisesFibersOfTwoThreads) {
  async::group g(2);
  async::mutex m;
  long counter = 0;  // guarded by m
  std::vector<async::fiber<void>> fibers;
  for (int i = 0; i < kFibers; ++i) {
    fibers.push_back(async::spawn(g, i % 2, [&] {
      for (int k = 0; k < 500; ++k) {
        std::lock_guard lk(m);
        const long seen = counter;
        if (k % 16 == 0) async::this_fiber::yield();  // hold it across a suspension now and then
        counter = seen + 1;
      }
    }));
  }
  for (auto& f : fibers) f.join();
  EXPECT_EQ(counter, kFibers * 500L);
}

TEST_F(CppSyncThreadTest, ConditionVariableBoundedQueueBetweenThreads) {
  async::group g(2);
  async::mutex m;
  async::condition_variable not_empty;
  async::condition_variable not_full;
  std::deque<int> queue;  // guarded by m, at most 4 items
  bool closed = false;
  constexpr int kItems = 1000;
  async::wait_group producing;
  producing.add(2);
  std::vector<async::fiber<void>> producers;
  for (int p = 0; p < 2; ++p) {
    producers.push_back(async::spawn(g, 0, [&] {
      for (int i = 1; i <= kItems; ++i) {
        std::unique_lock lk(m);
        not_full.wait(lk, [&] { return queue.size() < 4; });
        queue.push_back(i);
        not_empty.notify_one();
      }
      producing.done();
    }));
  }
  auto closer = async::spawn(g, 0, [&] {
    producing.wait();
    std::lock_guard lk(m);
    closed = true;
    not_empty.notify_all();
  });
  std::vector<async::fiber<long>> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.push_back(async::spawn(g, 1, [&] {
      long sum = 0;
      std::unique_lock lk(m);
      for (;;) {
        not_empty.wait(lk, [&] { return !queue.empty() || closed; });
        if (queue.empty()) return sum;
        sum += queue.front();
        queue.pop_front();
        not_full.notify_one();
      }
    }));
  }
  for (auto& f : producers) f.join();
  closer.join();
  long total = 0;
  for (auto& f : consumers) total += f.join();
  EXPECT_EQ(total, 2L * kItems * (kItems + 1) / 2);
}

TEST_F(CppSyncThreadTest, SemaphoreBoundsHowManyFibersAreInside) {
  async::group g(2);
  async::counting_semaphore<3> slots(3);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  long work = 0;  // guarded by `guard`
  async::mutex guard;
  std::vector<async::fiber<void>> fibers;
  for (int i = 0; i < kFibers; ++i) {
    fibers.push_back(async::spawn(g, i % 2, [&] {
      for (int k = 0; k < 100; ++k) {
        slots.acquire();
        const int now = inside.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        async::this_fiber::yield();
        {
          std::lock_guard lk(guard);
          ++work;
        }
        inside.fetch_sub(1);
        slots.release();
      }
    }));
  }
  for (auto& f : fibers) f.join();
  EXPECT_EQ(work, kFibers * 100L);
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
  EXPECT_TRUE(slots.try_acquire());  // every unit came back
  EXPECT_TRUE(slots.try_acquire());
  EXPECT_TRUE(slots.try_acquire());
  EXPECT_FALSE(slots.try_acquire());
}

TEST_F(CppSyncThreadTest, WaitGroupWaitersOnBothThreadsSeeEveryWorkersWrite) {
  async::group g(2);
  async::wait_group wg;
  std::vector<int> results(kFibers, 0);  // each slot written by one worker before its done()
  wg.add(kFibers);
  std::vector<async::fiber<long>> waiters;
  for (int w = 0; w < 4; ++w) {
    waiters.push_back(async::spawn(g, w % 2, [&] {
      wg.wait();
      long sum = 0;
      for (int r : results) sum += r;
      return sum;
    }));
  }
  for (int i = 0; i < kFibers; ++i) {
    async::spawn(g, (i + 1) % 2, [&, i] {
      async::this_fiber::yield();
      results[static_cast<std::size_t>(i)] = i + 1;
      wg.done();
    }).detach();
  }
  for (auto& f : waiters) EXPECT_EQ(f.join(), kFibers * (kFibers + 1) / 2);
  g.wait();
}

TEST_F(CppSyncThreadTest, SharedMutexReadersNeverSeeAHalfWrite) {
  async::group g(2);
  async::shared_mutex rw;
  long a = 0;  // guarded by rw: writers keep a == b
  long b = 0;
  std::vector<async::fiber<int>> fibers;
  for (int i = 0; i < kFibers; ++i) {
    const bool writer = i % 4 == 0;
    fibers.push_back(async::spawn(g, i % 2, [&, writer] {
      int torn = 0;
      for (int k = 0; k < 200; ++k) {
        if (writer) {
          std::unique_lock lk(rw);
          ++a;
          if (k % 8 == 0) async::this_fiber::yield();
          ++b;
        } else {
          std::shared_lock lk(rw);
          const long seen = a;
          if (k % 8 == 0) async::this_fiber::yield();
          if (seen != b) ++torn;
        }
      }
      return torn;
    }));
  }
  int torn = 0;
  for (auto& f : fibers) torn += f.join();
  EXPECT_EQ(torn, 0);
  EXPECT_EQ(a, 2L * 200);  // two writers (i = 0 and 4)
  EXPECT_EQ(b, a);
}

TEST_F(CppSyncThreadTest, CallOnceRunsOnceAcrossThreads) {
  async::group g(2);
  async::once_flag flag;
  int runs = 0;       // written by f only
  int published = 0;  // written by f, read by every caller after call_once
  std::vector<async::fiber<int>> fibers;
  for (int i = 0; i < 16; ++i) {
    fibers.push_back(async::spawn(g, i % 2, [&] {
      async::call_once(flag, [&] {
        ++runs;
        async::this_fiber::yield();  // others arrive meanwhile, on both threads
        published = 42;
      });
      return published;
    }));
  }
  for (auto& f : fibers) EXPECT_EQ(f.join(), 42);
  EXPECT_EQ(runs, 1);
}

TEST_F(CppSyncThreadTest, FiberLocalValuesOnBothThreadsAreTheirOwnAndAllDestroyed) {
  std::atomic<int> destroyed{0};
  struct counter {
    int n = 0;
    std::atomic<int>* destroyed = nullptr;
    ~counter() {
      if (destroyed != nullptr) destroyed->fetch_add(1);
    }
  };
  {
    async::group g(2);
    async::fiber_local<counter> local;
    std::vector<async::fiber<int>> fibers;
    for (int i = 0; i < 16; ++i) {
      fibers.push_back(async::spawn(g, i % 2, [&] {
        local->destroyed = &destroyed;
        for (int k = 0; k < 50; ++k) {
          ++local->n;
          async::this_fiber::yield();
        }
        return local->n;
      }));
    }
    for (auto& f : fibers) EXPECT_EQ(f.join(), 50);
    g.wait();
  }
  EXPECT_EQ(destroyed.load(), 16);
}

}  // namespace
