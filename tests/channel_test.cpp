// SPDX-License-Identifier: MIT
// channel_test.cpp: the channel rules of the contract (§6) one by one, as
// whole traces, plus a randomized stress test with a fixed seed.
#include <algorithm>
#include <cstdint>
#include <map>
#include <random>

#include "support/runtime_fixture.h"

namespace {

using Trace = std::vector<std::string>;

void* msg(std::uintptr_t v) { return reinterpret_cast<void*>(v); }
std::uintptr_t val(void* p) { return reinterpret_cast<std::uintptr_t>(p); }
std::string name_of(async_status_t st) { return async_status_name(st); }

class ChannelTest : public async_test::RuntimeTest {
 protected:
  void make(std::size_t capacity, std::size_t max_waiters = 0) {
    ASSERT_EQ(async_channel_init(&ch_, runtime(), capacity, max_waiters), ASYNC_OK);
    initialised_ = true;
  }
  void TearDown() override {
    if (initialised_) async_channel_shutdown(&ch_);
    RuntimeTest::TearDown();
  }
  // A fiber that receives until the channel is closed and drained.
  void spawn_drainer(const std::string& who) {
    spawn([this, who] {
      void* m = nullptr;
      async_status_t st;
      while ((st = async_channel_recv(&ch_, &m)) == ASYNC_OK) trace.push_back(who + " got " + std::to_string(val(m)));
      trace.push_back(who + " " + name_of(st));
    });
  }
  async_channel_t ch_{};
  bool initialised_ = false;
};

TEST_F(ChannelTest, BufferedMessagesArriveInFifoOrder) {
  make(2);
  spawn([this] {
    for (std::uintptr_t i = 1; i <= 5; ++i) {
      EXPECT_EQ(async_channel_send(&ch_, msg(i)), ASYNC_OK);
      trace.push_back("sent " + std::to_string(i));
    }
    EXPECT_EQ(async_channel_close(&ch_), ASYNC_OK);
  });
  spawn_drainer("r");
  ASSERT_EQ(run(), ASYNC_OK);
  // Two fit; the third parks the sender. The first receive pulls the parked
  // sender's 3 into the freed slot; the receiver drains 1 2 3 and parks. The
  // sender then hands 4 straight to it and buffers 5 without suspending.
  EXPECT_EQ(trace, (Trace{"sent 1", "sent 2", "r got 1", "r got 2", "r got 3", "sent 3", "sent 4",
                          "sent 5", "r got 4", "r got 5", "r ECLOSED"}));
}

TEST_F(ChannelTest, UnbufferedSendCompletesWhenAReceiverTakesIt) {
  make(0);
  spawn([this] {
    trace.push_back("send");
    EXPECT_EQ(async_channel_send(&ch_, msg(7)), ASYNC_OK);
    trace.push_back("sent");
  });
  spawn([this] {
    trace.push_back("recv");
    void* m = nullptr;
    EXPECT_EQ(async_channel_recv(&ch_, &m), ASYNC_OK);
    trace.push_back("got " + std::to_string(val(m)));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"send", "recv", "got 7", "sent"}));
}

TEST_F(ChannelTest, AMessageForAParkedReceiverGoesStraightToItWithoutASwitch) {
  make(4);
  spawn([this] {
    void* m = nullptr;
    trace.push_back("r waits");
    EXPECT_EQ(async_channel_recv(&ch_, &m), ASYNC_OK);
    trace.push_back("r got " + std::to_string(val(m)));
  });
  spawn([this] {
    EXPECT_EQ(async_channel_send(&ch_, msg(1)), ASYNC_OK);  // handed over, no suspension
    trace.push_back("s continues");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"r waits", "s continues", "r got 1"}));
}

TEST_F(ChannelTest, ParkedReceiversAndSendersAreServedInFifoOrder) {
  make(0);
  for (const char* who : {"r1", "r2", "r3"}) {
    spawn([this, who = std::string(who)] {
      void* m = nullptr;
      EXPECT_EQ(async_channel_recv(&ch_, &m), ASYNC_OK);
      trace.push_back(who + " got " + std::to_string(val(m)));
    });
  }
  spawn([this] {
    for (std::uintptr_t i = 1; i <= 3; ++i) EXPECT_EQ(async_channel_send(&ch_, msg(i)), ASYNC_OK);
  });
  for (std::uintptr_t i = 10; i <= 12; ++i) {
    spawn([this, i] { EXPECT_EQ(async_channel_send(&ch_, msg(i)), ASYNC_OK); });
  }
  spawn_drainer("d");
  spawn([this] {
    async_yield();
    async_yield();
    EXPECT_EQ(async_channel_close(&ch_), ASYNC_OK);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  // r1..r3 parked first and get 1, 2, 3 in that order (they run after d,
  // which was runnable when they were woken); s10..s12 parked in order and
  // d takes 10, 11, 12 from them in that order.
  EXPECT_EQ(trace, (Trace{"d got 10", "d got 11", "d got 12", "r1 got 1", "r2 got 2", "r3 got 3",
                          "d ECLOSED"}));
}

TEST_F(ChannelTest, CloseWakesSendersAndLetsReceiversDrain) {
  make(1);
  spawn([this] {
    EXPECT_EQ(async_channel_send(&ch_, msg(1)), ASYNC_OK);
    trace.push_back("s2: " + name_of(async_channel_send(&ch_, msg(2))));  // parks: full
  });
  spawn([this] {
    EXPECT_EQ(async_channel_close(&ch_), ASYNC_OK);
    EXPECT_EQ(async_channel_close(&ch_), ASYNC_ECLOSED);
    EXPECT_EQ(async_channel_send(&ch_, msg(3)), ASYNC_ECLOSED);
    EXPECT_EQ(async_channel_try_send(&ch_, msg(3)), ASYNC_ECLOSED);
    trace.push_back("closed");
  });
  spawn_drainer("r");
  ASSERT_EQ(run(), ASYNC_OK);
  // The woken sender was queued behind the drainer, which had not run yet.
  EXPECT_EQ(trace, (Trace{"closed", "r got 1", "r ECLOSED", "s2: ECLOSED"}));
}

TEST_F(ChannelTest, ShutdownWakesParkedFibersAndLaterUseIsInvalid) {
  make(0);
  spawn([this] {
    void* m = nullptr;
    trace.push_back("r: " + name_of(async_channel_recv(&ch_, &m)));
  });
  spawn([this] {
    async_channel_shutdown(&ch_);
    initialised_ = false;
    void* m = nullptr;
    EXPECT_EQ(async_channel_send(&ch_, msg(1)), ASYNC_EINVAL);
    EXPECT_EQ(async_channel_recv(&ch_, &m), ASYNC_EINVAL);
    EXPECT_EQ(async_channel_try_recv(&ch_, &m), ASYNC_EINVAL);
    EXPECT_EQ(async_channel_close(&ch_), ASYNC_EINVAL);
    async_channel_shutdown(&ch_);  // twice: nothing happens
    trace.push_back("shut down");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"shut down", "r: ECLOSED"}));
}

TEST_F(ChannelTest, MaxWaitersBoundsParkedFibers) {
  make(0, 2);
  for (const char* who : {"a", "b", "c"}) {
    spawn([this, who = std::string(who)] {
      void* m = nullptr;
      trace.push_back(who + ": " + name_of(async_channel_recv(&ch_, &m)));
    });
  }
  spawn([this] { EXPECT_EQ(async_channel_close(&ch_), ASYNC_OK); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"c: EFULL", "a: ECLOSED", "b: ECLOSED"}));
}

TEST_F(ChannelTest, TryCallsNeverBlockAndWorkOutsideFibers) {
  make(1);
  void* m = nullptr;
  EXPECT_EQ(async_channel_try_recv(&ch_, &m), ASYNC_EAGAIN);
  EXPECT_EQ(async_channel_try_send(&ch_, msg(5)), ASYNC_OK);
  EXPECT_EQ(async_channel_try_send(&ch_, msg(6)), ASYNC_EAGAIN);
  EXPECT_EQ(async_channel_try_recv(&ch_, &m), ASYNC_OK);
  EXPECT_EQ(val(m), 5u);
  EXPECT_EQ(async_channel_send(&ch_, msg(1)), ASYNC_ESTATE);  // blocking, outside a fiber
  EXPECT_EQ(async_channel_recv(&ch_, &m), ASYNC_ESTATE);
}

TEST_F(ChannelTest, TimedCallsGiveUpAtTheirDeadlineAndDeliverNothing) {
  make(0);
  spawn([this] {
    void* m = nullptr;
    trace.push_back("recv: " + name_of(async_channel_recv_until(&ch_, &m, async_now_ns() + 1000000)));
    trace.push_back("send: " + name_of(async_channel_send_until(&ch_, msg(9), 0)));  // past deadline
    // Nothing was left behind: a try_recv finds no sender.
    trace.push_back("try: " + name_of(async_channel_try_recv(&ch_, &m)));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"recv: ETIMEDOUT", "send: ETIMEDOUT", "try: EAGAIN"}));
}

TEST_F(ChannelTest, ADeliveredMessageCancelsTheTimeout) {
  make(0);
  spawn([this] {
    void* m = nullptr;
    const async_status_t st = async_channel_recv_until(&ch_, &m, async_now_ns() + 3600000000000ull);
    trace.push_back("recv: " + name_of(st) + " " + std::to_string(val(m)));
  });
  spawn([this] { EXPECT_EQ(async_channel_send(&ch_, msg(4)), ASYNC_OK); });
  ASSERT_EQ(run(), ASYNC_OK);  // returns at once: no timer is left armed
  EXPECT_EQ(trace, (Trace{"recv: OK 4"}));
}

TEST_F(ChannelTest, ACancelledSendersMessageIsNotDelivered) {
  make(0);
  async_fiber_handle_t sender = spawn([this] {
    trace.push_back("s1: " + name_of(async_channel_send(&ch_, msg(1))));
  });
  spawn([this] { EXPECT_EQ(async_channel_send(&ch_, msg(2)), ASYNC_OK); });
  spawn([&] {
    EXPECT_EQ(async_cancel(sender), ASYNC_OK);
    void* m = nullptr;
    EXPECT_EQ(async_channel_recv(&ch_, &m), ASYNC_OK);
    trace.push_back("got " + std::to_string(val(m)));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"got 2", "s1: ECANCELED"}));
}

TEST_F(ChannelTest, CancelWakesAParkedReceiverButAHandedMessageStaysItsResult) {
  make(0);
  async_fiber_handle_t waiting = spawn([this] {
    void* m = nullptr;
    trace.push_back("w: " + name_of(async_channel_recv(&ch_, &m)));
  });
  async_fiber_handle_t handed = spawn([this] {
    void* m = nullptr;
    async_status_t st = async_channel_recv(&ch_, &m);
    trace.push_back("h: " + name_of(st) + " " + std::to_string(val(m)));
  });
  spawn([&] {
    EXPECT_EQ(async_cancel(waiting), ASYNC_OK);         // parked: woken with ECANCELED
    EXPECT_EQ(async_channel_send(&ch_, msg(8)), ASYNC_OK);  // goes to `handed`
    EXPECT_EQ(async_cancel(handed), ASYNC_OK);          // after the hand-over
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"w: ECANCELED", "h: OK 8"}));
}

TEST_F(ChannelTest, MisuseIsRefused) {
  async_channel_t zeroed{};
  void* m = nullptr;
  EXPECT_EQ(async_channel_try_send(&zeroed, msg(1)), ASYNC_EINVAL);
  EXPECT_EQ(async_channel_close(&zeroed), ASYNC_EINVAL);
  EXPECT_EQ(async_channel_try_send(nullptr, msg(1)), ASYNC_EINVAL);
  async_channel_shutdown(nullptr);
  async_channel_shutdown(&zeroed);
  EXPECT_EQ(async_channel_init(nullptr, runtime(), 1, 0), ASYNC_EINVAL);
  async_channel_t c;
  EXPECT_EQ(async_channel_init(&c, nullptr, 1, 0), ASYNC_EINVAL);
  EXPECT_EQ(async_channel_try_send(&c, msg(1)), ASYNC_EINVAL);  // failed init: unusable
  make(1);
  EXPECT_EQ(async_channel_try_recv(&ch_, nullptr), ASYNC_EINVAL);
  // A fiber of another runtime.
  async_runtime_t other;
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  async_spawn_with(&other, [](void* p) {
    void* out = nullptr;
    EXPECT_EQ(async_channel_recv(static_cast<async_channel_t*>(p), &out), ASYNC_EINVAL);
  }, &ch_);
  EXPECT_EQ(async_runtime_run(&other), ASYNC_OK);
  async_runtime_shutdown(&other);
  (void)m;
}

// Producers and consumers with random yields (fixed seed): every message is
// received exactly once, and every consumer sees each producer's messages in
// the order they were sent. (Across consumers, recording order is execution
// order, not delivery order: a receiver handed a message runs later.)
TEST_F(ChannelTest, RandomizedStressLosesDuplicatesAndReordersNothing) {
  cfg_.task_capacity = 64;
  for (std::size_t capacity : {0u, 1u, 3u, 16u}) {
    async_channel_t ch;
    ASSERT_EQ(async_channel_init(&ch, runtime(), capacity, 0), ASYNC_OK);
    std::mt19937 rng(42 + static_cast<unsigned>(capacity));
    constexpr int producers = 4, consumers = 3, per_producer = 500;
    std::vector<std::vector<std::uintptr_t>> seen(producers);
    std::vector<std::map<int, std::uintptr_t>> last(consumers);  // per consumer: producer -> last index
    int finished = 0;
    for (int p = 0; p < producers; ++p) {
      const unsigned seed = rng();
      spawn([&ch, p, seed, &finished] {
        std::mt19937 r(seed);
        for (int i = 0; i < per_producer; ++i) {
          EXPECT_EQ(async_channel_send(&ch, msg(static_cast<std::uintptr_t>(p) << 20 | static_cast<std::uintptr_t>(i))), ASYNC_OK);
          if (r() % 3 == 0) async_yield();
        }
        if (++finished == producers) async_channel_close(&ch);
      });
    }
    for (int c = 0; c < consumers; ++c) {
      const unsigned seed = rng();
      spawn([&ch, &seen, &last, c, seed] {
        std::mt19937 r(seed);
        void* m = nullptr;
        while (async_channel_recv(&ch, &m) == ASYNC_OK) {
          const int p = static_cast<int>(val(m) >> 20);
          const std::uintptr_t i = val(m) & 0xfffff;
          auto it = last[c].find(p);
          EXPECT_TRUE(it == last[c].end() || it->second < i) << "reordered for consumer " << c;
          last[c][p] = i;
          seen[p].push_back(i);
          if (r() % 4 == 0) async_yield();
        }
      });
    }
    ASSERT_EQ(run(), ASYNC_OK);
    for (int p = 0; p < producers; ++p) {
      std::sort(seen[p].begin(), seen[p].end());
      ASSERT_EQ(seen[p].size(), static_cast<std::size_t>(per_producer)) << "capacity " << capacity;
      for (int i = 0; i < per_producer; ++i) ASSERT_EQ(seen[p][i], static_cast<std::uintptr_t>(i));
    }
    async_channel_shutdown(&ch);
  }
}

}  // namespace
