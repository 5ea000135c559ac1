// SPDX-License-Identifier: MIT
// channel_test.cpp: the channel rules (docs/design.md, "The order rules",
// and include/async.h) one by one, as
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  ASYNC_FIFO_ONLY();
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
  // The thread-blocking calls are refused inside a fiber.
  spawn([this] {
    void* out = nullptr;
    EXPECT_EQ(async_channel_send_blocking(&ch_, msg(1)), ASYNC_ESTATE);
    EXPECT_EQ(async_channel_recv_blocking(&ch_, &out), ASYNC_ESTATE);
    EXPECT_EQ(async_channel_recv_blocking_until(&ch_, &out, 0), ASYNC_ESTATE);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_channel_recv_blocking(&ch_, nullptr), ASYNC_EINVAL);
  EXPECT_EQ(async_channel_send_blocking(&zeroed, msg(1)), ASYNC_EINVAL);
  // A fiber of another runtime is welcome (tests/channel_thread_test.cpp
  // crosses threads too).
  ASSERT_EQ(async_channel_try_send(&ch_, msg(5)), ASYNC_OK);
  async_runtime_t other;
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  async_spawn_with(&other, [](void* p) {
    void* out = nullptr;
    EXPECT_EQ(async_channel_recv(static_cast<async_channel_t*>(p), &out), ASYNC_OK);
    EXPECT_EQ(val(out), 5u);
  }, &ch_);
  EXPECT_EQ(async_runtime_run(&other), ASYNC_OK);
  async_runtime_shutdown(&other);
  (void)m;
}

class ChannelDetachTest : public async_test::LeakCheckedTest {};

// Producers and consumers with random yields (fixed seed): every message is
// received exactly once, and every consumer sees each producer's messages in
// the order they were sent. (Across consumers, recording order is execution
// order, not delivery order: a receiver handed a message runs later.)
TEST_F(ChannelDetachTest, ChannelsOutlivingTheirRuntimeAreDetached) {
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  async_channel_t buffered{}, parked{}, sel{}, gone{};
  ASSERT_EQ(async_channel_init(&buffered, &rt, 2, 0), ASYNC_OK);
  ASSERT_EQ(async_channel_init(&gone, &rt, 1, 0), ASYNC_OK);
  ASSERT_EQ(async_channel_init(&parked, &rt, 0, 0), ASYNC_OK);
  ASSERT_EQ(async_channel_init(&sel, &rt, 0, 0), ASYNC_OK);
  EXPECT_EQ(async_channel_init(&parked, &rt, 0, 0), ASYNC_ESTATE);  // live: untouched
  EXPECT_EQ(async_channel_try_send(&buffered, msg(1)), ASYNC_OK);
  async_channel_shutdown(&gone);  // leaves the runtime's list from its middle
  // A fiber parked in recv, one in a select: both left blocked for good.
  ASSERT_EQ(async_spawn_with(&rt, [](void* ch) {
              void* m;
              async_channel_recv(static_cast<async_channel_t*>(ch), &m);
            }, &parked).status, ASYNC_OK);
  ASSERT_EQ(async_spawn_with(&rt, [](void* ch) {
              async_select_case_t c{};
              c.ch = static_cast<async_channel_t*>(ch);
              c.op = ASYNC_SELECT_SEND;
              async_select(&c, 1, nullptr);
            }, &sel).status, ASYNC_OK);
  EXPECT_EQ(async_runtime_run(&rt), ASYNC_EDEADLK);
  async_runtime_shutdown(&rt);

  // Every call refuses without touching the runtime (ASan: no use after free).
  for (async_channel_t* ch : {&buffered, &parked, &sel}) {
    void* m = nullptr;
    EXPECT_EQ(async_channel_try_send(ch, msg(2)), ASYNC_EINVAL);
    EXPECT_EQ(async_channel_try_recv(ch, &m), ASYNC_EINVAL);
    EXPECT_EQ(async_channel_send(ch, msg(2)), ASYNC_EINVAL);
    EXPECT_EQ(async_channel_recv_until(ch, &m, 0), ASYNC_EINVAL);
    EXPECT_EQ(async_channel_close(ch), ASYNC_EINVAL);
    async_select_case_t c{};
    c.ch = ch;
    c.op = ASYNC_SELECT_RECV;
    std::size_t chosen = 0;
    EXPECT_EQ(async_try_select(&c, 1, &chosen), ASYNC_EINVAL);
    EXPECT_EQ(c.status, ASYNC_EINVAL);
    EXPECT_EQ(chosen, ASYNC_SELECT_NONE);
  }
  // The same struct initialised again does not bring them back.
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  EXPECT_EQ(async_channel_try_send(&buffered, msg(3)), ASYNC_EINVAL);
  // Shutdown frees the buffer (LSan: no leak), twice is harmless, and the
  // memory may then serve a channel of the new runtime.
  for (async_channel_t* ch : {&buffered, &parked, &sel}) {
    async_channel_shutdown(ch);
    async_channel_shutdown(ch);
  }
  ASSERT_EQ(async_channel_init(&buffered, &rt, 1, 0), ASYNC_OK);
  EXPECT_EQ(async_channel_try_send(&buffered, msg(4)), ASYNC_OK);
  async_channel_shutdown(&buffered);
  async_runtime_shutdown(&rt);
}

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


// --------------------------------------------------------------- select

class SelectTest : public async_test::RuntimeTest {
 protected:
  // Channels a, b, c with the given capacities.
  void make(std::size_t ca, std::size_t cb = 1, std::size_t cc = 1, std::size_t max_waiters = 0) {
    ASSERT_EQ(async_channel_init(&a_, runtime(), ca, max_waiters), ASYNC_OK);
    ASSERT_EQ(async_channel_init(&b_, runtime(), cb, max_waiters), ASYNC_OK);
    ASSERT_EQ(async_channel_init(&c_, runtime(), cc, max_waiters), ASYNC_OK);
    made_ = true;
  }
  void TearDown() override {
    if (made_) {
      async_channel_shutdown(&a_);
      async_channel_shutdown(&b_);
      async_channel_shutdown(&c_);
    }
    RuntimeTest::TearDown();
  }
  static async_select_case_t recv_case(async_channel_t* ch) {
    async_select_case_t sc{};
    sc.ch = ch;
    sc.op = ASYNC_SELECT_RECV;
    return sc;
  }
  static async_select_case_t send_case(async_channel_t* ch, std::uintptr_t v) {
    async_select_case_t sc{};
    sc.ch = ch;
    sc.op = ASYNC_SELECT_SEND;
    sc.msg = msg(v);
    return sc;
  }
  // "who: <status> <chosen> [<msg>]" for a select that returned.
  static std::string outcome(const std::string& who, async_status_t st, std::size_t chosen,
                             const async_select_case_t* cases) {
    std::string s = who + ": " + name_of(st);
    if (chosen == ASYNC_SELECT_NONE) return s + " none";
    s += " " + std::to_string(chosen);
    if (st == ASYNC_OK && cases[chosen].op == ASYNC_SELECT_RECV) s += " got " + std::to_string(val(cases[chosen].msg));
    return s;
  }
  async_channel_t a_{}, b_{}, c_{};
  bool made_ = false;
};

TEST_F(SelectTest, TheFirstReadyCaseInArgumentOrderWins) {
  make(1, 1, 1);
  ASSERT_EQ(async_channel_try_send(&b_, msg(2)), ASYNC_OK);
  ASSERT_EQ(async_channel_try_send(&c_, msg(3)), ASYNC_OK);
  spawn([this] {
    async_select_case_t cases[3] = {recv_case(&a_), recv_case(&b_), recv_case(&c_)};
    std::size_t chosen = 99;
    async_status_t st = async_select(cases, 3, &chosen);
    trace.push_back(outcome("1", st, chosen, cases));
    EXPECT_EQ(cases[0].status, ASYNC_EAGAIN);
    EXPECT_EQ(cases[1].status, ASYNC_OK);
    EXPECT_EQ(cases[2].status, ASYNC_EAGAIN);
    // a has room: the send comes first; c keeps its message.
    async_select_case_t more[2] = {send_case(&a_, 7), recv_case(&c_)};
    st = async_select(more, 2, &chosen);
    trace.push_back(outcome("2", st, chosen, more));
    st = async_select(cases, 3, &chosen);  // a holds 7 now
    trace.push_back(outcome("3", st, chosen, cases));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"1: OK 1 got 2", "2: OK 0", "3: OK 0 got 7"}));
}

TEST_F(SelectTest, AParkedRecvCaseIsWokenByAPlainSendOfAnyChannel) {
  ASYNC_FIFO_ONLY();
  for (std::size_t capacity : {0u, 2u}) {
    trace.clear();
    make(capacity, capacity, capacity);
    spawn([this] {
      async_select_case_t cases[3] = {recv_case(&a_), recv_case(&b_), recv_case(&c_)};
      std::size_t chosen = 0;
      trace.push_back("select");
      const async_status_t st = async_select(cases, 3, &chosen);
      trace.push_back(outcome("s", st, chosen, cases));
    });
    spawn([this, capacity] {
      EXPECT_EQ(async_channel_send(&c_, msg(5)), ASYNC_OK);  // handed to the select: no suspension
      trace.push_back("sent 5 on c");
      EXPECT_EQ(async_channel_try_send(&b_, msg(6)), capacity == 0 ? ASYNC_EAGAIN : ASYNC_OK);
    });
    ASSERT_EQ(run(), ASYNC_OK);
    EXPECT_EQ(trace, (Trace{"select", "sent 5 on c", "s: OK 2 got 5"})) << "capacity " << capacity;
    void* m = nullptr;
    EXPECT_EQ(async_channel_try_recv(&a_, &m), ASYNC_EAGAIN);
    async_channel_shutdown(&a_);
    async_channel_shutdown(&b_);
    async_channel_shutdown(&c_);
    made_ = false;
  }
}

TEST_F(SelectTest, AParkedSendCaseIsCompletedByAPlainRecvKeepingFifoOrder) {
  ASYNC_FIFO_ONLY();
  make(1, 0);
  ASSERT_EQ(async_channel_try_send(&a_, msg(1)), ASYNC_OK);  // a is full
  spawn([this] {
    async_select_case_t cases[2] = {send_case(&a_, 2), send_case(&b_, 3)};
    std::size_t chosen = 0;
    trace.push_back("select");
    const async_status_t st = async_select(cases, 2, &chosen);
    trace.push_back(outcome("s", st, chosen, cases));
  });
  spawn([this] {
    void* m = nullptr;
    EXPECT_EQ(async_channel_recv(&a_, &m), ASYNC_OK);  // frees a slot: the select's 2 takes it
    trace.push_back("got " + std::to_string(val(m)));
    EXPECT_EQ(async_channel_try_recv(&a_, &m), ASYNC_OK);
    trace.push_back("got " + std::to_string(val(m)));
    EXPECT_EQ(async_channel_try_recv(&b_, &m), ASYNC_EAGAIN);  // the b case did nothing
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"select", "got 1", "got 2", "s: OK 0"}));
}

TEST_F(SelectTest, RendezvousWorksWithSelectOnEitherSideAndOnBoth) {
  ASYNC_FIFO_ONLY();
  make(0, 0, 0);
  // A selecting sender meets a plain receiver, a plain sender meets a
  // selecting receiver, and a selecting sender meets a selecting receiver,
  // whichever parks first.
  spawn([this] {
    async_select_case_t cases[2] = {send_case(&a_, 1), recv_case(&c_)};
    std::size_t chosen = 0;
    async_status_t st = async_select(cases, 2, &chosen);
    trace.push_back(outcome("s1", st, chosen, cases));
  });
  spawn([this] {
    void* m = nullptr;
    EXPECT_EQ(async_channel_recv(&a_, &m), ASYNC_OK);
    trace.push_back("plain got " + std::to_string(val(m)));
    EXPECT_EQ(async_channel_send(&b_, msg(2)), ASYNC_OK);
    trace.push_back("plain sent 2");
  });
  spawn([this] {
    async_select_case_t cases[2] = {recv_case(&c_), recv_case(&b_)};
    std::size_t chosen = 0;
    async_status_t st = async_select(cases, 2, &chosen);
    trace.push_back(outcome("s2", st, chosen, cases));
    // Both parked in select: the receiver first, then the sender.
    async_select_case_t r[1] = {recv_case(&c_)};
    st = async_select(r, 1, &chosen);
    trace.push_back(outcome("s2 again", st, chosen, r));
  });
  spawn([this] {
    async_yield();
    async_yield();
    async_select_case_t cases[2] = {send_case(&a_, 8), send_case(&c_, 9)};  // nobody receives a
    std::size_t chosen = 0;
    async_status_t st = async_select(cases, 2, &chosen);
    trace.push_back(outcome("s3", st, chosen, cases));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  // s1 parks; the plain receiver takes 1 from it and parks sending 2 on b;
  // s2 takes that 2 and parks again on c; s3's send case on c meets it.
  EXPECT_EQ(trace, (Trace{"plain got 1", "s2: OK 1 got 2", "s1: OK 0", "plain sent 2", "s3: OK 1",
                          "s2 again: OK 0 got 9"}));
}

TEST_F(SelectTest, TwoSelectsCrossingOnRendezvousChannelsDoNotDeadlock) {
  ASYNC_FIFO_ONLY();
  make(0, 0);
  // Each offers to send on one channel and to receive on the other.
  for (int who = 0; who < 2; ++who) {
    spawn([this, who] {
      async_channel_t* mine = who == 0 ? &a_ : &b_;
      async_channel_t* theirs = who == 0 ? &b_ : &a_;
      async_select_case_t cases[2] = {send_case(mine, 10 + static_cast<std::uintptr_t>(who)), recv_case(theirs)};
      std::size_t chosen = 0;
      const async_status_t st = async_select(cases, 2, &chosen);
      trace.push_back(outcome(std::to_string(who), st, chosen, cases));
    });
  }
  ASSERT_EQ(run(), ASYNC_OK);
  // 0 parks; 1's send case is ready (0's recv case waits on b) and wins.
  EXPECT_EQ(trace, (Trace{"1: OK 0", "0: OK 1 got 11"}));
}

TEST_F(SelectTest, ASelectDoesNotMeetItsOwnCases) {
  make(0);
  spawn([this] {
    async_select_case_t cases[2] = {send_case(&a_, 1), recv_case(&a_)};
    std::size_t chosen = 0;
    const async_status_t st = async_select_until(cases, 2, &chosen, async_now_ns() + 1000000);
    trace.push_back(outcome("s", st, chosen, cases));
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"s: ETIMEDOUT none"}));
}

TEST_F(SelectTest, PlainAndSelectWaitersAreServedInTheOrderTheyParked) {
  ASYNC_FIFO_ONLY();
  make(0, 0);
  auto plain_recv = [this](const std::string& who) {
    spawn([this, who] {
      void* m = nullptr;
      EXPECT_EQ(async_channel_recv(&a_, &m), ASYNC_OK);
      trace.push_back(who + " got " + std::to_string(val(m)));
    });
  };
  auto select_recv = [this](const std::string& who) {
    spawn([this, who] {
      async_select_case_t cases[2] = {recv_case(&b_), recv_case(&a_)};
      std::size_t chosen = 0;
      const async_status_t st = async_select(cases, 2, &chosen);
      trace.push_back(outcome(who, st, chosen, cases));
    });
  };
  plain_recv("r1");
  select_recv("s1");
  plain_recv("r2");
  select_recv("s2");
  spawn([this] {
    for (std::uintptr_t i = 1; i <= 4; ++i) EXPECT_EQ(async_channel_send(&a_, msg(i)), ASYNC_OK);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"r1 got 1", "s1: OK 1 got 2", "r2 got 3", "s2: OK 1 got 4"}));
}

TEST_F(SelectTest, SendersPlainAndSelectAreServedInTheOrderTheyParked) {
  ASYNC_FIFO_ONLY();
  make(1, 0);
  ASSERT_EQ(async_channel_try_send(&a_, msg(0)), ASYNC_OK);  // full
  spawn([this] { trace.push_back("p1: " + name_of(async_channel_send(&a_, msg(1)))); });
  spawn([this] {
    async_select_case_t cases[2] = {send_case(&b_, 99), send_case(&a_, 2)};
    std::size_t chosen = 0;
    { const async_status_t st_ = async_select(cases, 2, &chosen); trace.push_back(outcome("s2", st_, chosen, cases)); }
  });
  spawn([this] { trace.push_back("p3: " + name_of(async_channel_send(&a_, msg(3)))); });
  spawn([this] {
    void* m = nullptr;
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(async_channel_recv(&a_, &m), ASYNC_OK);
      trace.push_back("got " + std::to_string(val(m)));
    }
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"got 0", "got 1", "got 2", "got 3", "p1: OK", "s2: OK 1", "p3: OK"}));
}

TEST_F(SelectTest, CloseCompletesAParkedSelectWithEclosed) {
  make(0, 1);
  ASSERT_EQ(async_channel_try_send(&b_, msg(1)), ASYNC_OK);  // b full
  spawn([this] {
    async_select_case_t cases[2] = {recv_case(&a_), send_case(&b_, 2)};
    std::size_t chosen = 0;
    async_status_t st = async_select(cases, 2, &chosen);
    trace.push_back(outcome("s1", st, chosen, cases));
    EXPECT_EQ(cases[1].status, ASYNC_ECLOSED);
    // A closed channel is ready at once: recv after draining, send always.
    async_select_case_t again[2] = {recv_case(&a_), recv_case(&b_)};
    st = async_select(again, 2, &chosen);
    trace.push_back(outcome("s2", st, chosen, again));
    st = async_select(again + 1, 1, &chosen);
    trace.push_back(outcome("s3", st, chosen, again + 1));
  });
  spawn([this] {
    EXPECT_EQ(async_channel_close(&b_), ASYNC_OK);
    trace.push_back("closed b");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"closed b", "s1: ECLOSED 1", "s2: OK 1 got 1", "s3: ECLOSED 0"}));
}

TEST_F(SelectTest, DeadlinesTimeOutAndAPastDeadlineIsATry) {
  make(0, 1);
  spawn([this] {
    async_select_case_t cases[2] = {recv_case(&a_), send_case(&a_, 1)};
    std::size_t chosen = 0;
    async_status_t st = async_select_until(cases, 2, &chosen, async_now_ns() + 1000000);
    trace.push_back(outcome("future", st, chosen, cases));
    void* m = nullptr;
    EXPECT_EQ(async_channel_try_recv(&a_, &m), ASYNC_EAGAIN);  // the timed-out send left nothing
    st = async_select_until(cases, 2, &chosen, 0);  // nothing ready: at once, no suspension
    trace.push_back(outcome("past", st, chosen, cases));
    async_select_case_t ready[2] = {recv_case(&a_), send_case(&b_, 4)};
    st = async_select_until(ready, 2, &chosen, 0);  // a ready case is still chosen
    trace.push_back(outcome("past, ready", st, chosen, ready));
    st = async_select_until(nullptr, 0, &chosen, async_now_ns() + 1000000);  // a sleep
    trace.push_back(outcome("no cases", st, chosen, nullptr));
  });
  spawn([this] { trace.push_back("other runs"); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"other runs", "future: ETIMEDOUT none", "past: ETIMEDOUT none", "past, ready: OK 1",
                          "no cases: ETIMEDOUT none"}));
}

TEST_F(SelectTest, ACaseCompletedBeforeTheDeadlineCancelsTheTimer) {
  make(0);
  spawn([this] {
    async_select_case_t cases[1] = {recv_case(&a_)};
    std::size_t chosen = 0;
    const async_status_t st = async_select_until(cases, 1, &chosen, async_now_ns() + 3600000000000ull);
    trace.push_back(outcome("s", st, chosen, cases));
  });
  spawn([this] { EXPECT_EQ(async_channel_send(&a_, msg(3)), ASYNC_OK); });
  ASSERT_EQ(run(), ASYNC_OK);  // returns at once: no timer is left armed
  EXPECT_EQ(trace, (Trace{"s: OK 0 got 3"}));
}

TEST_F(SelectTest, CancelWhileParkedLosesAndDuplicatesNothing) {
  ASYNC_FIFO_ONLY();
  make(0, 0);
  async_fiber_handle_t sel = spawn([this] {
    async_select_case_t cases[2] = {send_case(&a_, 1), recv_case(&b_)};
    std::size_t chosen = 0;
    const async_status_t st = async_select(cases, 2, &chosen);
    trace.push_back(outcome("s", st, chosen, cases));
    EXPECT_EQ(cases[0].status, ASYNC_EAGAIN);
    EXPECT_EQ(cases[1].status, ASYNC_EAGAIN);
  });
  spawn([&] {
    EXPECT_EQ(async_cancel(sel), ASYNC_OK);
    // The woken select has not run yet; its cases must not be met.
    void* m = nullptr;
    EXPECT_EQ(async_channel_try_recv(&a_, &m), ASYNC_EAGAIN);  // its message is not delivered
    EXPECT_EQ(async_channel_try_send(&b_, msg(2)), ASYNC_EAGAIN);  // it takes nothing
    trace.push_back("canceller");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"canceller", "s: ECANCELED none"}));
}

TEST_F(SelectTest, ACaseCompletedBeforeTheCancelStaysTheResult) {
  ASYNC_FIFO_ONLY();
  make(0, 0);
  async_fiber_handle_t sel = spawn([this] {
    async_select_case_t cases[2] = {recv_case(&a_), recv_case(&b_)};
    std::size_t chosen = 0;
    const async_status_t st = async_select(cases, 2, &chosen);
    trace.push_back(outcome("s", st, chosen, cases));
    trace.push_back("then " + name_of(async_yield()));
  });
  spawn([&] {
    EXPECT_EQ(async_channel_send(&b_, msg(6)), ASYNC_OK);  // goes to the select
    EXPECT_EQ(async_cancel(sel), ASYNC_OK);
    EXPECT_EQ(async_channel_try_send(&a_, msg(7)), ASYNC_EAGAIN);  // the select is done
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"s: OK 1 got 6", "then ECANCELED"}));
}

TEST_F(SelectTest, ACancelledFiberSelectsNothing) {
  ASYNC_FIFO_ONLY();
  make(1);
  ASSERT_EQ(async_channel_try_send(&a_, msg(1)), ASYNC_OK);
  async_fiber_handle_t sel = spawn([this] {
    async_yield();
    async_select_case_t cases[1] = {recv_case(&a_)};
    std::size_t chosen = 0;
    { const async_status_t st_ = async_select(cases, 1, &chosen); trace.push_back(outcome("s", st_, chosen, cases)); }
    { const async_status_t st_ = async_try_select(cases, 1, &chosen); trace.push_back(outcome("try", st_, chosen, cases)); }
  });
  spawn([&] { EXPECT_EQ(async_cancel(sel), ASYNC_OK); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"s: ECANCELED none", "try: OK 0 got 1"}));
}

TEST_F(SelectTest, DisabledCasesAreSkippedAndTrySelectWorksAnywhere) {
  make(1, 1);
  async_select_case_t cases[3] = {recv_case(nullptr), recv_case(&a_), send_case(&b_, 5)};
  std::size_t chosen = 0;
  EXPECT_EQ(async_try_select(cases, 2, &chosen), ASYNC_EAGAIN);  // outside a fiber
  EXPECT_EQ(chosen, ASYNC_SELECT_NONE);
  EXPECT_EQ(async_try_select(cases, 3, &chosen), ASYNC_OK);
  EXPECT_EQ(chosen, 2u);
  EXPECT_EQ(async_try_select(cases, 3, nullptr), ASYNC_EAGAIN);  // b is full now; chosen is optional
  EXPECT_EQ(async_try_select(cases, 1, &chosen), ASYNC_EAGAIN);  // only a disabled case
  EXPECT_EQ(async_try_select(nullptr, 0, &chosen), ASYNC_EAGAIN);
  EXPECT_EQ(async_select(cases, 3, &chosen), ASYNC_ESTATE);  // blocking, outside a fiber
  EXPECT_EQ(async_select_until(cases, 3, &chosen, 0), ASYNC_ESTATE);
  spawn([this] {
    async_select_case_t off[2] = {recv_case(nullptr), send_case(nullptr, 1)};
    std::size_t ch = 0;
    { const async_status_t st_ = async_select(off, 2, &ch); trace.push_back(outcome("all disabled", st_, ch, off)); }
    { const async_status_t st_ = async_select(nullptr, 0, &ch); trace.push_back(outcome("none", st_, ch, off)); }
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"all disabled: EINVAL none", "none: EINVAL none"}));
}

TEST_F(SelectTest, MisuseIsRefusedAndNothingHappens) {
  make(1, 1);
  ASSERT_EQ(async_channel_try_send(&a_, msg(1)), ASYNC_OK);
  async_channel_t zeroed{};
  std::size_t chosen = 0;
  EXPECT_EQ(async_try_select(nullptr, 1, &chosen), ASYNC_EINVAL);
  async_select_case_t bad_op[2] = {recv_case(&a_), recv_case(&b_)};
  bad_op[1].op = 3;
  EXPECT_EQ(async_try_select(bad_op, 2, &chosen), ASYNC_EINVAL);
  EXPECT_EQ(bad_op[0].status, ASYNC_EAGAIN);
  EXPECT_EQ(bad_op[1].status, ASYNC_EINVAL);
  EXPECT_EQ(chosen, ASYNC_SELECT_NONE);
  async_select_case_t unusable[2] = {recv_case(&a_), recv_case(&zeroed)};
  EXPECT_EQ(async_try_select(unusable, 2, &chosen), ASYNC_EINVAL);
  EXPECT_EQ(unusable[1].status, ASYNC_EINVAL);
  // Nothing was taken by the refused calls.
  void* m = nullptr;
  EXPECT_EQ(async_channel_try_recv(&a_, &m), ASYNC_OK);
  EXPECT_EQ(val(m), 1u);
  ASSERT_EQ(async_channel_try_send(&a_, msg(1)), ASYNC_OK);
  // Channels of several runtimes in one select are fine.
  async_runtime_t other;
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  async_channel_t foreign;
  ASSERT_EQ(async_channel_init(&foreign, &other, 1, 0), ASYNC_OK);
  async_select_case_t mixed[2] = {send_case(&foreign, 2), recv_case(&a_)};
  EXPECT_EQ(async_try_select(mixed, 2, &chosen), ASYNC_OK);
  EXPECT_EQ(chosen, 0u);
  // A fiber of the other runtime selects on this runtime's channel.
  struct ctx {
    async_channel_t* a;
    async_status_t st;
    void* got;
  } x{&a_, ASYNC_EINVAL, nullptr};
  async_spawn_with(&other, [](void* p) {
    auto* c = static_cast<ctx*>(p);
    async_select_case_t sc[1] = {recv_case(c->a)};
    c->st = async_select(sc, 1, nullptr);
    c->got = sc[0].msg;
  }, &x);
  EXPECT_EQ(async_runtime_run(&other), ASYNC_OK);
  EXPECT_EQ(x.st, ASYNC_OK);
  EXPECT_EQ(val(x.got), 1u);
  EXPECT_EQ(async_channel_try_recv(&foreign, &m), ASYNC_OK);
  EXPECT_EQ(val(m), 2u);
  async_channel_shutdown(&foreign);
  async_runtime_shutdown(&other);
}

TEST_F(SelectTest, MaxWaitersCountsEachParkedCase) {
  ASYNC_FIFO_ONLY();
  make(0, 0, 0, 1);
  spawn([this] {
    void* m = nullptr;
    trace.push_back("r: " + name_of(async_channel_recv(&b_, &m)));  // b's one waiter
  });
  spawn([this] {
    async_select_case_t cases[2] = {recv_case(&a_), recv_case(&b_)};
    std::size_t chosen = 0;
    { const async_status_t st_ = async_select(cases, 2, &chosen); trace.push_back(outcome("s", st_, chosen, cases)); }
    // Nothing was left parked on a: a plain receiver may park there.
    async_select_case_t only_a[1] = {recv_case(&a_)};
    { const async_status_t st_ = async_select(only_a, 1, &chosen); trace.push_back(outcome("s a", st_, chosen, only_a)); }
  });
  spawn([this] {
    trace.push_back("close");
    async_channel_close(&a_);
    async_channel_close(&b_);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"s: EFULL none", "close", "s a: ECLOSED 0", "r: ECLOSED"}));
}

// Producers send with plain calls or with a select over two channels,
// consumers receive with plain calls, try_select or a select over both, with
// random yields (fixed seed): every message arrives exactly once, and each
// consumer sees each producer's messages on one channel in the order sent.
TEST_F(SelectTest, RandomizedStressMixingSelectAndPlainCallsLosesNothing) {
  cfg_.task_capacity = 64;
  for (std::size_t capacity : {0u, 1u, 4u}) {
    async_channel_t ch[2];
    ASSERT_EQ(async_channel_init(&ch[0], runtime(), capacity, 0), ASYNC_OK);
    ASSERT_EQ(async_channel_init(&ch[1], runtime(), capacity, 0), ASYNC_OK);
    std::mt19937 rng(7 + static_cast<unsigned>(capacity));
    constexpr int producers = 4, consumers = 4, per_producer = 400;
    std::vector<std::vector<std::uintptr_t>> seen(producers);
    std::vector<std::map<std::pair<int, int>, std::uintptr_t>> last(consumers);  // (producer, channel) -> index
    int finished = 0;
    for (int p = 0; p < producers; ++p) {
      const unsigned seed = rng();
      spawn([&ch, p, seed, &finished] {
        std::mt19937 r(seed);
        for (int i = 0; i < per_producer; ++i) {
          void* m = msg(static_cast<std::uintptr_t>(p) << 20 | static_cast<std::uintptr_t>(i));
          switch (r() % 3) {
            case 0:
            case 1: {
              async_select_case_t cases[2] = {{}, {}};
              for (int k = 0; k < 2; ++k) {
                cases[k].ch = &ch[(k + static_cast<int>(r() % 2)) % 2];
                cases[k].op = ASYNC_SELECT_SEND;
                cases[k].msg = m;
              }
              std::size_t chosen = 0;
              EXPECT_EQ(async_select(cases, 2, &chosen), ASYNC_OK);
              break;
            }
            default:
              EXPECT_EQ(async_channel_send(&ch[r() % 2], m), ASYNC_OK);
          }
          if (r() % 3 == 0) async_yield();
        }
        if (++finished == producers) {
          async_channel_close(&ch[0]);
          async_channel_close(&ch[1]);
        }
      });
    }
    for (int c = 0; c < consumers; ++c) {
      const unsigned seed = rng();
      spawn([&ch, &seen, &last, c, seed] {
        std::mt19937 r(seed);
        bool open[2] = {true, true};
        auto got = [&](int k, void* m) {
          const int p = static_cast<int>(val(m) >> 20);
          const std::uintptr_t i = val(m) & 0xfffff;
          auto it = last[c].find({p, k});
          EXPECT_TRUE(it == last[c].end() || it->second < i) << "reordered for consumer " << c;
          last[c][{p, k}] = i;
          seen[p].push_back(i);
        };
        while (open[0] || open[1]) {
          const unsigned how = r() % 4;
          if (how == 0 && c == 0) {  // consumer 0 sometimes blocks in a plain recv on one channel
            const int k = open[0] ? 0 : 1;
            void* m = nullptr;
            const async_status_t st = async_channel_recv(&ch[k], &m);
            if (st == ASYNC_OK) got(k, m);
            else open[k] = false;
          } else {
            async_select_case_t cases[2] = {{}, {}};
            for (int k = 0; k < 2; ++k) {
              cases[k].ch = open[k] ? &ch[k] : nullptr;
              cases[k].op = ASYNC_SELECT_RECV;
            }
            std::size_t chosen = 0;
            const async_status_t st = how == 1 ? async_try_select(cases, 2, &chosen) : async_select(cases, 2, &chosen);
            if (st == ASYNC_OK) got(static_cast<int>(chosen), cases[chosen].msg);
            else if (st == ASYNC_ECLOSED) open[chosen] = false;
            else EXPECT_EQ(st, ASYNC_EAGAIN);
          }
          if (r() % 4 == 0) async_yield();
        }
      });
    }
    ASSERT_EQ(run(), ASYNC_OK) << "capacity " << capacity;
    for (int p = 0; p < producers; ++p) {
      std::sort(seen[p].begin(), seen[p].end());
      ASSERT_EQ(seen[p].size(), static_cast<std::size_t>(per_producer)) << "capacity " << capacity;
      for (int i = 0; i < per_producer; ++i) ASSERT_EQ(seen[p][i], static_cast<std::uintptr_t>(i));
    }
    async_channel_shutdown(&ch[0]);
    async_channel_shutdown(&ch[1]);
  }
}

}  // namespace
