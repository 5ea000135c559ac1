// SPDX-License-Identifier: MIT
// cpp_group_test.cpp: async::group and fiber<T> across threads: results and
// exceptions reach join() on any thread, cancellation from any thread.
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "async.hpp"
#include "gtest/gtest.h"
#include "support/leak_check.h"

namespace {

using namespace std::chrono_literals;

class CppGroupTest : public async_test::LeakCheckedTest {};

TEST_F(CppGroupTest, SpawnJoinsResultsOnTheCallingThread) {
  async::group g(2);
  EXPECT_EQ(g.size(), 2u);
  std::vector<async::fiber<int>> fibers;
  for (int i = 0; i < 100; ++i) fibers.push_back(async::spawn(g, [i] { return i * i; }));
  long sum = 0;
  for (auto& f : fibers) sum += f.join();
  EXPECT_EQ(sum, 328350);
  g.wait();
}

TEST_F(CppGroupTest, ExceptionsCrossJoinBetweenThreads) {
  async::group g(2);
  auto f = async::spawn(g, []() -> std::string { throw std::runtime_error("from a group thread"); });
  try {
    (void)f.join();
    FAIL() << "join did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "from a group thread");
  }
}

TEST_F(CppGroupTest, AFiberJoinsAFiberOfTheOtherRuntime) {
  async::group g(2);
  auto producer = async::spawn(g, 1, [] {
    async::this_fiber::sleep_for(1ms);
    return std::string("made on runtime 1");
  });
  auto consumer = async::spawn(g, 0, [&producer] { return producer.join() + ", joined on runtime 0"; });
  EXPECT_EQ(consumer.join(), "made on runtime 1, joined on runtime 0");
  EXPECT_THROW((void)async::spawn(g, 2, [] {}), async::error);
}

TEST_F(CppGroupTest, CancelFromTheMainThreadUnwindsTheFiber) {
  async::group g(1);
  std::atomic<bool> started{false};
  std::atomic<bool> unwound{false};
  struct on_unwind {
    std::atomic<bool>* flag;
    ~on_unwind() { *flag = true; }
  };
  auto f = async::spawn(g, [&] {
    on_unwind u{&unwound};
    started = true;
    async::this_fiber::sleep_for(1h);
  });
  while (!started) std::this_thread::yield();
  f.cancel();
  EXPECT_THROW(f.join(), async::cancelled);
  EXPECT_TRUE(unwound);
}

TEST_F(CppGroupTest, DetachedFibersFreeTheirStateOnTheirThread) {
  std::atomic<int> ran{0};
  {
    async::group g(2, async::config{}.task_capacity(1024));  // room for all 1000 at once
    for (int i = 0; i < 1000; ++i) async::spawn(g, [&] { ran.fetch_add(1); }).detach();
    g.wait();
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST_F(CppGroupTest, SpawnOnARuntimeFromAnotherThread) {
  async::runtime rt;
  async::fiber<int> f;
  std::thread([&] { f = async::spawn(rt, [] { return 42; }); }).join();
  EXPECT_EQ(f.join(), 42);  // drives rt: the spawn arrives through the inbox
}

TEST_F(CppGroupTest, WaitFromAGroupThreadThrowsEstate) {
  async::group g(1);
  auto f = async::spawn(g, [&g] {
    try {
      g.wait();
      return std::string("no throw");
    } catch (const async::error& e) {
      return std::string(async_status_name(static_cast<async_status_t>(e.status_code())));
    }
  });
  EXPECT_EQ(f.join(), "ESTATE");
}

}  // namespace
