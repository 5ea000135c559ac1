// SPDX-License-Identifier: MIT
// timer_heap_test.cpp: the timer heap on its own (internal): timers that
// expire together come out in deadline order, then in the order they were
// set, whatever order they were armed and disarmed in.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
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
      EXPECT_EQ(tasks[i].timer_index, async::detail::timer_unarmed);
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

}  // namespace
