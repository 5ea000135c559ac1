// SPDX-License-Identifier: MIT
// async/signal.hpp: the waits return the signal, the timed ones an empty
// optional when time runs out, and every failure throws what the header
// says. Each test uses its own signals (gtest may run them in one process,
// where a disposition lasts as long as some runtime holds it).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <vector>

#include "async/signal.hpp"
#include "support/seeded.h"
#include "support/leak_check.h"
#include "support/signal_catcher.h"

namespace {

using namespace std::chrono_literals;

class CppSignalTest : public async_test::LeakCheckedTest {
 protected:
  void SetUp() override {
    async_test::start_signal_catcher();
    LeakCheckedTest::SetUp();
  }
};

TEST_F(CppSignalTest, WaitReturnsTheSignalKeptOrDelivered) {
  const int a = SIGRTMIN + 6, b = SIGRTMIN + 7;
  async::runtime rt;
  auto f = async::spawn(rt, [&] {
    EXPECT_EQ(async::signal_wait_for({a, b}, 0ns), std::nullopt);  // holds both from here
    raise(b);
    raise(a);
    const std::vector<int> list{a, b};
    EXPECT_EQ(async::signal_wait(list), a);  // listed first
    EXPECT_EQ(async::signal_wait({a, b}), b);
    EXPECT_EQ(async::signal_wait_until({a, b}, std::chrono::steady_clock::now()), std::nullopt);
    EXPECT_EQ(async::signal_wait_for({a}, 1ms), std::nullopt);
    raise(a);
    return async::signal_wait_for({a}, 1h);
  });
  EXPECT_EQ(f.join(), std::optional<int>(a));
}

TEST_F(CppSignalTest, FailuresThrow) {
  const int a = SIGRTMIN + 8;
  try {
    (void)async::signal_wait({a});  // outside a fiber
    ADD_FAILURE() << "no exception";
  } catch (const async::error& e) {
    EXPECT_EQ(e.status_code(), async::status::estate);
  }
  async::runtime rt;
  auto f = async::spawn(rt, [&] {
    for (int bad : {0, SIGKILL, SIGSTOP, SIGSEGV, SIGRTMAX + 1}) {
      try {
        (void)async::signal_wait({a, bad});
        ADD_FAILURE() << "no exception for " << bad;
      } catch (const async::error& e) {
        EXPECT_EQ(e.status_code(), async::status::einval);
      }
    }
    try {
      (void)async::signal_wait(std::span<const int>{});
      ADD_FAILURE() << "no exception for an empty list";
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::einval);
    }
  });
  f.join();
}

TEST_F(CppSignalTest, CancelWhileWaitingThrowsCancelled) {
  ASYNC_FIFO_ONLY();
  const int a = SIGRTMIN + 9;
  async::runtime rt;
  bool unwound = false;
  auto waiter = async::spawn(rt, [&] {
    struct mark {
      bool& b;
      ~mark() { b = true; }
    } m{unwound};
    (void)async::signal_wait({a});
  });
  auto canceller = async::spawn(rt, [&] { waiter.handle().cancel(); });
  canceller.join();
  EXPECT_THROW(waiter.join(), async::cancelled);
  EXPECT_TRUE(unwound);
}

}  // namespace
