// SPDX-License-Identifier: MIT
// timer_heap_test.cpp: the timer heap on its own (internal): timers that
// expire together come out in deadline order, then in the order they were
// set, whatever order they were armed and disarmed in; a disarmed timer never
// comes out, though its entry stays until it reaches the top or is compacted
// away.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "core/timer_heap.h"

namespace {

using async::detail::task;
using async::detail::timer_heap;

TEST(TimerHeapTest, EqualDeadlinesFireInTheOrderSet) {
  timer_heap heap;
  ASSERT_TRUE(heap.init(8));
  task t[5];
  const std::uint64_t deadlines[5] = {20, 10, 20, 10, 5};
  for (int i = 0; i < 5; ++i) heap.arm(&t[i], deadlines[i]);
  std::vector<int> order;
  while (!heap.empty()) order.push_back(static_cast<int>(heap.pop() - t));
  EXPECT_EQ(order, (std::vector<int>{4, 1, 3, 0, 2}));
  heap.destroy();
}

TEST(TimerHeapTest, DisarmKeepsTheOrderOfTheRest) {
  std::mt19937 rng(12345);  // fixed seed: the test is deterministic
  for (int round = 0; round < 50; ++round) {
    timer_heap heap;
    const int n = 64;
    ASSERT_TRUE(heap.init(n));
    std::vector<task> tasks(n);
    std::vector<std::pair<std::uint64_t, int>> expected;  // (deadline, arm order)
    for (int i = 0; i < n; ++i) {
      std::uint64_t d = rng() % 16;
      heap.arm(&tasks[i], d);
      expected.emplace_back(d, i);
    }
    for (int i = 0; i < n; i += 3) {
      heap.disarm(&tasks[i]);
      EXPECT_FALSE(tasks[i].timer_armed);
      expected.erase(std::find(expected.begin(), expected.end(),
                               std::make_pair(tasks[i].deadline_ns, i)));
    }
    std::sort(expected.begin(), expected.end());
    std::vector<int> got;
    while (!heap.empty()) got.push_back(static_cast<int>(heap.pop() - tasks.data()));
    std::vector<int> want;
    for (auto& e : expected) want.push_back(e.second);
    EXPECT_EQ(got, want) << "round " << round;
    heap.destroy();
  }
}

TEST(TimerHeapTest, ARearmedTimerFiresOnceAtItsNewDeadline) {
  timer_heap heap;
  ASSERT_TRUE(heap.init(2));
  task a, b;
  heap.arm(&a, 5);
  heap.arm(&b, 7);
  heap.disarm(&a);  // its entry (deadline 5) stays on top, stale
  EXPECT_EQ(heap.size(), 1u);
  heap.arm(&a, 9);
  EXPECT_EQ(heap.size(), 2u);
  EXPECT_EQ(heap.top(), &b);
  EXPECT_EQ(heap.top()->deadline_ns, 7u);
  EXPECT_EQ(heap.pop(), &b);
  EXPECT_FALSE(b.timer_armed);
  EXPECT_EQ(heap.pop(), &a);
  EXPECT_EQ(a.deadline_ns, 9u);
  EXPECT_TRUE(heap.empty());
  heap.destroy();
}

TEST(TimerHeapTest, DisarmingTheLastTimerEmptiesTheHeap) {
  timer_heap heap;
  ASSERT_TRUE(heap.init(4));
  task t[3];
  for (int i = 0; i < 3; ++i) heap.arm(&t[i], 10 + i);
  for (int i = 0; i < 3; ++i) heap.disarm(&t[i]);
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(heap.size(), 0u);
  heap.arm(&t[1], 1);
  EXPECT_EQ(heap.top(), &t[1]);
  EXPECT_EQ(heap.pop(), &t[1]);
  EXPECT_TRUE(heap.empty());
  heap.destroy();
}

// A server's read timeouts, and worse: a few tasks re-arming, disarming and
// expiring at random against a model, for long enough that stale entries
// pile up and are compacted many times. Every pop must be the model's
// earliest (deadline, arm order); the heap must never outgrow the room
// init() gave it for this many tasks and the root (n + 1 timers).
TEST(TimerHeapTest, RandomArmsDisarmsAndPopsMatchAModel) {
  std::mt19937 rng(2026);  // fixed seed: the test is deterministic
  for (const int tasks_in_table : {1, 2, 8, 64}) {
    const int n = tasks_in_table + 1;  // and the root
    timer_heap heap;
    ASSERT_TRUE(heap.init(static_cast<std::size_t>(tasks_in_table)));
    std::size_t most_stale = 0;
    std::vector<task> tasks(static_cast<std::size_t>(n));
    std::set<std::tuple<std::uint64_t, std::uint64_t, int>> model;  // (deadline, seq, task)
    std::vector<std::uint64_t> seq_of(static_cast<std::size_t>(n));
    std::uint64_t seq = 0, now = 0;
    for (int op = 0; op < 20000; ++op) {
      const int i = static_cast<int>(rng() % static_cast<unsigned>(n));
      task& t = tasks[static_cast<std::size_t>(i)];
      switch (rng() % 4) {
        case 0:
        case 1:  // re-arm: a timeout pushed later, as a server does per request
          if (t.timer_armed) {
            model.erase({t.deadline_ns, seq_of[static_cast<std::size_t>(i)], i});
            heap.disarm(&t);
          }
          heap.arm(&t, now + rng() % 32);
          seq_of[static_cast<std::size_t>(i)] = seq;
          model.insert({t.deadline_ns, seq++, i});
          break;
        case 2:  // the awaited thing came first
          if (t.timer_armed) model.erase({t.deadline_ns, seq_of[static_cast<std::size_t>(i)], i});
          heap.disarm(&t);
          break;
        case 3:  // time passes: whatever is due fires
          now += rng() % 8;
          while (!heap.empty() && heap.top()->deadline_ns <= now) {
            ASSERT_FALSE(model.empty());
            const int want = std::get<2>(*model.begin());
            model.erase(model.begin());
            ASSERT_EQ(heap.pop(), &tasks[static_cast<std::size_t>(want)]) << "n " << n << " op " << op;
          }
          break;
      }
      ASSERT_EQ(heap.size(), model.size()) << "n " << n << " op " << op;
      ASSERT_LE(heap.entries(), heap.room()) << "n " << n << " op " << op;
      most_stale = std::max(most_stale, heap.entries() - heap.size());
    }
    // Stale entries did pile up (so compaction and dropping them at the top
    // were both exercised).
    EXPECT_GE(most_stale, 1u) << "n " << n;
    while (!heap.empty()) {
      const int want = std::get<2>(*model.begin());
      model.erase(model.begin());
      ASSERT_EQ(heap.pop(), &tasks[static_cast<std::size_t>(want)]);
    }
    EXPECT_TRUE(model.empty());
    heap.destroy();
  }
}

}  // namespace
