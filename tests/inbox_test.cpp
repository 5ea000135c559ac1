// SPDX-License-Identifier: MIT
// inbox_test.cpp: the lock-free inbox (core/inbox.h) under producers racing
// its consumer: every node comes out exactly once, in each producer's order,
// and maybe_nonempty() never says "empty" while a node is still in it (the
// owner would then sleep on a message: a lost wake).
#include "core/inbox.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace {

using async::detail::inbox;
using async::detail::inbox_node;

struct message {
  inbox_node node;  // first: a node leads to its message
  int producer = 0;
  int seq = 0;
};

TEST(InboxTest, EmptyAndOneNode) {
  inbox in;
  EXPECT_FALSE(in.maybe_nonempty());
  EXPECT_EQ(in.pop(), nullptr);
  message m;
  in.push(&m.node);
  EXPECT_TRUE(in.maybe_nonempty());
  EXPECT_EQ(in.pop(), &m.node);
  EXPECT_FALSE(in.maybe_nonempty());
  EXPECT_EQ(in.pop(), nullptr);
  in.push(&m.node);  // a node may be pushed again once popped
  EXPECT_EQ(in.pop(), &m.node);
  EXPECT_FALSE(in.maybe_nonempty());
}

TEST(InboxTest, ProducersRacingTheConsumerLoseNothing) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int per_producer = 20000;
#else
  constexpr int per_producer = 200000;
#endif
  constexpr int producers = 3;
  std::vector<std::unique_ptr<message[]>> msgs;
  for (int p = 0; p < producers; ++p) msgs.push_back(std::make_unique<message[]>(per_producer));
  inbox in;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        msgs[p][i].producer = p;
        msgs[p][i].seq = i;
        in.push(&msgs[p][i].node);
      }
      done.fetch_add(1);
    });
  }
  std::vector<int> next(producers, 0);
  long received = 0;
  for (;;) {
    const bool all_pushed = done.load() == producers;
    while (inbox_node* n = in.pop()) {
      const message* m = reinterpret_cast<const message*>(n);
      ASSERT_EQ(m->seq, next[m->producer]) << "out of order or duplicated";
      ++next[m->producer];
      ++received;
    }
    // The owner's rule before sleeping: nothing popped and nothing reported.
    if (!in.maybe_nonempty()) {
      if (all_pushed) break;  // everything was pushed before this check
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(received, long{producers} * per_producer);
}

// The owner's sleep protocol (core/remote.cpp, wait_for_work) against
// producers that push one node at a time: the consumer says it sleeps, looks
// at maybe_nonempty() once more, and then waits for a producer's notify. A
// maybe_nonempty() that says "empty" while a push is half done would leave it
// waiting although a node came: the wait times out and the test fails.
TEST(InboxTest, TheSleepProtocolLosesNoWake) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int per_producer = 5000;
#else
  constexpr int per_producer = 50000;
#endif
  constexpr int producers = 2;
  std::vector<std::unique_ptr<message[]>> msgs;
  for (int p = 0; p < producers; ++p) msgs.push_back(std::make_unique<message[]>(per_producer));
  inbox in;
  std::atomic<bool> sleeping{false};
  std::atomic<bool> notified{false};
  std::atomic<bool> woken{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        in.push(&msgs[p][i].node);
        if (sleeping.load(std::memory_order_seq_cst) && !notified.exchange(true)) woken.store(true);
        for (int k = 0; k < (i * 7919) % 64; ++k) std::this_thread::yield();  // keep the inbox near empty
      }
    });
  }
  long received = 0;
  const long total = long{producers} * per_producer;
  while (received < total) {
    while (in.pop() != nullptr) ++received;
    if (received == total) break;
    sleeping.store(true, std::memory_order_seq_cst);
    if (!in.maybe_nonempty(std::memory_order_seq_cst)) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!woken.load()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "a wake was lost after " << received << " nodes";
        std::this_thread::yield();
      }
    }
    sleeping.store(false, std::memory_order_relaxed);
    woken.store(false);
    notified.store(false);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(received, total);
}

}  // namespace
