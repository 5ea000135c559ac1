// SPDX-License-Identifier: MIT
// Channels across threads (issue #9): fibers of several runtimes and plain
// threads on one channel, select across runtimes, the thread-blocking calls,
// close racing with waiters on other threads, and runtimes shut down while
// other threads still use their channels. Run under TSan too.
#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "async.h"
#include "support/group_fixture.h"
#include "support/seeded.h"

namespace {

void* msg(std::uintptr_t v) { return reinterpret_cast<void*>(v); }
std::uintptr_t val(void* p) { return reinterpret_cast<std::uintptr_t>(p); }

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define ASYNC_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define ASYNC_TEST_SANITIZED 1
#endif


// The stress moves 10M messages in a plain build, 200k under sanitizers
// (10-50x slower); ASYNC_STRESS_MESSAGES overrides both.
std::uint64_t stress_messages() {
  if (const char* env = std::getenv("ASYNC_STRESS_MESSAGES")) return std::strtoull(env, nullptr, 10);
#if defined(ASYNC_TEST_SANITIZED)
  return 200000;
#else
  return 10000000;
#endif
}

class ChannelThreadTest : public async_test::GroupRuntimeTest {};

class ChannelStressTest : public async_test::GroupRuntimeTest, public ::testing::WithParamInterface<std::size_t> {};

// Two producers (one per runtime) and two consumers (one per runtime) on one
// channel: every message arrives exactly once, and each consumer sees each
// producer's messages in the order they were sent. Buffered, the messages
// pass through the shared ring (lock-free while nobody waits); unbuffered,
// through offers (a spinning sender meets a spinning receiver), with every
// side also parking and being woken when the other is slow.
TEST_P(ChannelStressTest, MovesMessagesBetweenTwoRuntimesLosingAndDuplicatingNothing) {
  const std::size_t capacity = GetParam();
  const std::uint64_t total = stress_messages();
  const std::uint64_t per_producer = total / 2;
  async_channel_t ch;
  ASSERT_EQ(async_channel_init(&ch, rt(0), capacity, 0), ASYNC_OK);
  std::atomic<int> producing{2};
  struct consumer_state {
    std::vector<std::vector<bool>> seen;  // [producer][seq]
    std::uint64_t last[2] = {0, 0};
    std::uint64_t count = 0;
    bool in_order = true;
  } cons[2];
  for (auto& c : cons) c.seen.assign(2, std::vector<bool>(per_producer + 1, false));

  auto producer = [&](std::uintptr_t p) {
    for (std::uint64_t i = 1; i <= per_producer; ++i) {
      if (async_channel_send(&ch, msg(p << 40 | i)) != ASYNC_OK) return;
    }
    if (producing.fetch_sub(1) == 1) async_channel_close(&ch);
  };
  auto consumer = [&](consumer_state& c) {
    void* m = nullptr;
    while (async_channel_recv(&ch, &m) == ASYNC_OK) {
      const std::uintptr_t p = val(m) >> 40;
      const std::uint64_t i = val(m) & ((std::uint64_t{1} << 40) - 1);
      if (p > 1 || i == 0 || i > per_producer || i <= c.last[p]) {
        c.in_order = false;
        continue;
      }
      c.last[p] = i;
      c.seen[p][i] = true;
      ++c.count;
    }
  };
  auto p0 = [&] { producer(0); };
  auto p1 = [&] { producer(1); };
  auto c0 = [&] { consumer(cons[0]); };
  auto c1 = [&] { consumer(cons[1]); };
  const auto t0 = std::chrono::steady_clock::now();
  spawn_on(0, &p0);
  spawn_on(1, &p1);
  spawn_on(1, &c0);
  spawn_on(0, &c1);
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(cons[0].in_order);
  EXPECT_TRUE(cons[1].in_order);
  EXPECT_EQ(cons[0].count + cons[1].count, 2 * per_producer);
  for (int p = 0; p < 2; ++p) {
    std::uint64_t missing = 0, twice = 0;
    for (std::uint64_t i = 1; i <= per_producer; ++i) {
      const int n = int(cons[0].seen[p][i]) + int(cons[1].seen[p][i]);
      missing += n == 0;
      twice += n == 2;
    }
    EXPECT_EQ(missing, 0u) << "producer " << p;
    EXPECT_EQ(twice, 0u) << "producer " << p;
  }
  RecordProperty("messages", std::to_string(2 * per_producer));
  RecordProperty("seconds", std::to_string(secs));
  std::printf("capacity %zu: moved %llu messages between two runtimes in %.2f s (consumers: %llu / %llu)\n",
              capacity, static_cast<unsigned long long>(2 * per_producer), secs,
              static_cast<unsigned long long>(cons[0].count), static_cast<unsigned long long>(cons[1].count));
  async_channel_shutdown(&ch);
}

INSTANTIATE_TEST_SUITE_P(Capacities, ChannelStressTest, ::testing::Values(256, 1, 0));

// A fiber selects over channels of both runtimes, fed by a fiber of the other
// runtime and by a plain thread; with timeouts racing the completions,
// nothing sent is lost or received twice.
TEST_F(ChannelThreadTest, SelectAcrossRuntimesAndThreadsWithRacingTimeouts) {
  async_channel_t a, b;
  ASSERT_EQ(async_channel_init(&a, rt(0), 0, 0), ASYNC_OK);
  ASSERT_EQ(async_channel_init(&b, rt(1), 1, 0), ASYNC_OK);
  constexpr std::uint64_t n = 20000;
  std::uint64_t sum = 0, got = 0, timeouts = 0;
  bool bad = false;
  auto selector = [&] {
    std::mt19937 rng(7);
    int closed = 0;
    while (closed != 3) {  // bit 0: a closed, bit 1: b closed
      async_select_case_t sc[2] = {};
      sc[0].ch = closed & 1 ? nullptr : &a;
      sc[0].op = ASYNC_SELECT_RECV;
      sc[1].ch = closed & 2 ? nullptr : &b;
      sc[1].op = ASYNC_SELECT_RECV;
      std::size_t chosen = 0;
      const async_status_t st = async_select_until(sc, 2, &chosen, async_now_ns() + rng() % 20000);
      if (st == ASYNC_ETIMEDOUT) {
        ++timeouts;
        if (chosen != ASYNC_SELECT_NONE) {
          ADD_FAILURE() << "timed out with a chosen case";
          bad = true;
        }
      } else if (st == ASYNC_ECLOSED) {
        closed |= chosen == 0 ? 1 : 2;
      } else if (st == ASYNC_OK) {
        sum += val(sc[chosen].msg);
        ++got;
      } else {
        ADD_FAILURE() << "select_until: status " << st << ", chosen " << chosen;
        bad = true;
        break;
      }
    }
  };
  auto fiber_sender = [&] {  // on runtime 1, into runtime 0's channel
    for (std::uint64_t i = 1; i <= n; ++i) EXPECT_EQ(async_channel_send(&a, msg(i)), ASYNC_OK);
    async_channel_close(&a);
  };
  spawn_on(0, &selector);
  spawn_on(1, &fiber_sender);
  std::thread thread_sender([&] {  // into runtime 1's channel
    for (std::uint64_t i = 1; i <= n; ++i) EXPECT_EQ(async_channel_send_blocking(&b, msg(i << 20)), ASYNC_OK);
    async_channel_close(&b);
  });
  thread_sender.join();
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  EXPECT_FALSE(bad);
  EXPECT_EQ(got, 2 * n);
  EXPECT_EQ(sum, n * (n + 1) / 2 + (n * (n + 1) / 2 << 20));
  std::printf("select: %llu timeouts\n", static_cast<unsigned long long>(timeouts));
  async_channel_shutdown(&a);
  async_channel_shutdown(&b);
}

// A selecting sender on one runtime meets a selecting receiver on the other
// (unbuffered, both sides select).
TEST_F(ChannelThreadTest, SelectingSenderMeetsSelectingReceiverAcrossRuntimes) {
  async_channel_t a, b;
  ASSERT_EQ(async_channel_init(&a, rt(0), 0, 0), ASYNC_OK);
  ASSERT_EQ(async_channel_init(&b, rt(1), 0, 0), ASYNC_OK);
  constexpr std::uint64_t n = 5000;
  std::uint64_t sum = 0;
  auto sender = [&] {
    for (std::uint64_t i = 1; i <= n; ++i) {
      async_select_case_t sc[2] = {};
      sc[0] = {&a, ASYNC_SELECT_SEND, ASYNC_OK, msg(i), {}};
      sc[1] = {&b, ASYNC_SELECT_SEND, ASYNC_OK, msg(i), {}};
      EXPECT_EQ(async_select(sc, 2, nullptr), ASYNC_OK);
    }
  };
  auto receiver = [&] {
    for (std::uint64_t i = 1; i <= n; ++i) {
      async_select_case_t sc[2] = {};
      sc[0] = {&b, ASYNC_SELECT_RECV, ASYNC_OK, nullptr, {}};
      sc[1] = {&a, ASYNC_SELECT_RECV, ASYNC_OK, nullptr, {}};
      std::size_t chosen = 0;
      ASSERT_EQ(async_select(sc, 2, &chosen), ASYNC_OK);
      sum += val(sc[chosen].msg);
    }
  };
  spawn_on(0, &sender);
  spawn_on(1, &receiver);
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  EXPECT_EQ(sum, n * (n + 1) / 2);
  async_channel_shutdown(&a);
  async_channel_shutdown(&b);
}

class ChannelThreads : public async_test::LeakCheckedTest {};

// A sender thread and a receiver thread (no fiber at all), capacity 0 and 1,
// the channel initialised on a runtime that neither thread owns: order kept,
// back-pressure holds (never more than capacity + 1 sent ahead).
TEST_F(ChannelThreads, PlainThreadsSendAndReceiveWithBackPressure) {
  async_runtime_t home;
  ASSERT_EQ(async_runtime_init(&home, nullptr), ASYNC_OK);
  for (std::size_t capacity : {0u, 1u}) {
    async_channel_t ch;
    ASSERT_EQ(async_channel_init(&ch, &home, capacity, 0), ASYNC_OK);
    constexpr std::uint64_t n = 50000;
    std::atomic<std::uint64_t> sent{0}, received{0};
    std::atomic<bool> overrun{false};
    std::thread sender([&] {
      for (std::uint64_t i = 1; i <= n; ++i) {
        ASSERT_EQ(async_channel_send_blocking(&ch, msg(i)), ASYNC_OK);
        sent.store(i);
        // Unbuffered: a send returns only once taken; buffered: at most
        // `capacity` more than the receiver took (+1 taken not yet counted).
        if (i > received.load() + capacity + 1) overrun = true;
      }
    });
    std::thread receiver([&] {
      for (std::uint64_t i = 1; i <= n; ++i) {
        void* m = nullptr;
        ASSERT_EQ(async_channel_recv_blocking(&ch, &m), ASYNC_OK);
        ASSERT_EQ(val(m), i);
        received.store(i);
      }
    });
    sender.join();
    receiver.join();
    EXPECT_FALSE(overrun.load()) << "capacity " << capacity;
    EXPECT_EQ(received.load(), n);
    async_channel_shutdown(&ch);
  }
  async_runtime_shutdown(&home);
}

// A fiber and a plain thread, both directions, capacity 0.
TEST_F(ChannelThreadTest, AFiberAndAPlainThreadExchangeOverAnUnbufferedChannel) {
  async_channel_t to_fiber, to_thread;
  ASSERT_EQ(async_channel_init(&to_fiber, rt(0), 0, 0), ASYNC_OK);
  ASSERT_EQ(async_channel_init(&to_thread, rt(0), 0, 0), ASYNC_OK);
  constexpr std::uint64_t n = 20000;
  auto echo = [&] {
    void* m = nullptr;
    while (async_channel_recv(&to_fiber, &m) == ASYNC_OK) {
      if (async_channel_send(&to_thread, msg(val(m) + 1)) != ASYNC_OK) break;
    }
  };
  spawn_on(0, &echo);
  for (std::uint64_t i = 0; i < n; i += 2) {
    ASSERT_EQ(async_channel_send_blocking(&to_fiber, msg(i)), ASYNC_OK);
    void* m = nullptr;
    ASSERT_EQ(async_channel_recv_blocking(&to_thread, &m), ASYNC_OK);
    ASSERT_EQ(val(m), i + 1);
  }
  async_channel_close(&to_fiber);
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  async_channel_shutdown(&to_fiber);
  async_channel_shutdown(&to_thread);
}

TEST_F(ChannelThreads, BlockingCallsTimeOutAndDeliverNothing) {
  async_runtime_t home;
  ASSERT_EQ(async_runtime_init(&home, nullptr), ASYNC_OK);
  async_channel_t ch;
  ASSERT_EQ(async_channel_init(&ch, &home, 1, 0), ASYNC_OK);
  void* m = nullptr;
  std::uint64_t t0 = async_now_ns();
  EXPECT_EQ(async_channel_recv_blocking_until(&ch, &m, t0 + 20000000), ASYNC_ETIMEDOUT);
  EXPECT_GE(async_now_ns(), t0 + 20000000);
  EXPECT_EQ(async_channel_recv_blocking_until(&ch, &m, 0), ASYNC_ETIMEDOUT);  // passed: a try
  EXPECT_EQ(async_channel_send_blocking(&ch, msg(1)), ASYNC_OK);
  t0 = async_now_ns();
  EXPECT_EQ(async_channel_send_blocking_until(&ch, msg(2), t0 + 20000000), ASYNC_ETIMEDOUT);
  EXPECT_GE(async_now_ns(), t0 + 20000000);
  EXPECT_EQ(async_channel_recv_blocking_until(&ch, &m, async_now_ns() + 1000000), ASYNC_OK);
  EXPECT_EQ(val(m), 1u);
  EXPECT_EQ(async_channel_try_recv(&ch, &m), ASYNC_EAGAIN);  // 2 was not delivered
  // The home thread's own fibers still work with it, shared now.
  struct ctx {
    async_channel_t* ch;
    async_status_t st;
  } x{&ch, ASYNC_EINVAL};
  async_spawn_with(&home, [](void* p) {
    auto* c = static_cast<ctx*>(p);
    void* out = nullptr;
    c->st = async_channel_send(c->ch, msg(3));
    if (c->st == ASYNC_OK) c->st = async_channel_recv(c->ch, &out);
  }, &x);
  EXPECT_EQ(async_runtime_run(&home), ASYNC_OK);
  EXPECT_EQ(x.st, ASYNC_OK);
  async_channel_shutdown(&ch);
  EXPECT_EQ(async_channel_send_blocking(&ch, msg(1)), ASYNC_EINVAL);
  EXPECT_EQ(async_channel_recv_blocking(&ch, &m), ASYNC_EINVAL);
  async_runtime_shutdown(&home);
}

// Close races with waiters on other threads (blocked threads and parked
// fibers of another runtime, senders and receivers): every waiter wakes with
// ECLOSED or completes, and a send reports OK exactly when its message was
// received.
TEST_F(ChannelThreadTest, CloseRacingWithCrossThreadWaiters) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    async_channel_t ch;
    const std::size_t capacity = round % 2;
    ASSERT_EQ(async_channel_init(&ch, rt(round % 2), capacity, 0), ASYNC_OK);
    std::atomic<std::uint64_t> sent_ok{0}, received{0};
    std::atomic<int> bad{0};
    auto fiber_recv = [&] {
      void* m = nullptr;
      async_status_t st;
      while ((st = async_channel_recv(&ch, &m)) == ASYNC_OK) received.fetch_add(val(m));
      if (st != ASYNC_ECLOSED) bad.fetch_add(1);
    };
    auto fiber_send = [&] {
      for (std::uintptr_t i = 1; i < 50; ++i) {
        const async_status_t st = async_channel_send(&ch, msg(i));
        if (st == ASYNC_OK) {
          sent_ok.fetch_add(i);
        } else {
          if (st != ASYNC_ECLOSED) bad.fetch_add(1);
          break;
        }
      }
    };
    spawn_on(1 - round % 2, &fiber_recv);
    spawn_on(round % 2, &fiber_send);
    std::thread thread_recv([&] {
      void* m = nullptr;
      async_status_t st;
      while ((st = async_channel_recv_blocking(&ch, &m)) == ASYNC_OK) received.fetch_add(val(m));
      if (st != ASYNC_ECLOSED) bad.fetch_add(1);
    });
    std::thread thread_send([&] {
      for (std::uintptr_t i = 100; i < 150; ++i) {
        const async_status_t st = async_channel_send_blocking(&ch, msg(i));
        if (st == ASYNC_OK) {
          sent_ok.fetch_add(i);
        } else {
          if (st != ASYNC_ECLOSED) bad.fetch_add(1);
          break;
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
    EXPECT_EQ(async_channel_close(&ch), ASYNC_OK);
    thread_recv.join();
    thread_send.join();
    ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
    // Buffered messages left by the close are drained by the receivers
    // before they see ECLOSED, so every OK send was received.
    EXPECT_EQ(bad.load(), 0) << "round " << round;
    EXPECT_EQ(sent_ok.load(), received.load()) << "round " << round;
    async_channel_shutdown(&ch);
  }
}

// A thread that cancels `h`, at once or (every third round) after a yield,
// racing with what the caller does meanwhile.
std::thread cancel_from_a_thread(async_fiber_handle_t h, int round) {
  return std::thread([h, round] {
    if (round % 3 == 0) std::this_thread::yield();
    EXPECT_EQ(async_cancel(h), ASYNC_OK);
  });
}

// A cancel of a parked receiver races with a send from another thread: the
// send succeeds exactly when the receiver got the message (cancel loses), and
// a message never vanishes.
TEST_F(ChannelThreadTest, CancelRacingWithACrossThreadSendLosesNothing) {
  async_channel_t ch;
  ASSERT_EQ(async_channel_init(&ch, rt(0), 0, 0), ASYNC_OK);
  int delivered = 0, cancelled = 0;
  for (int round = 0; round < 300; ++round) {
    struct result {
      async_channel_t* ch;
      async_status_t st = ASYNC_EAGAIN;  // EAGAIN: never ran (cancelled before its start)
      void* m = nullptr;
    } r{&ch};
    auto h = async_spawn_with(rt(1), [](void* p) {
      auto* x = static_cast<result*>(p);
      x->st = async_channel_recv(x->ch, &x->m);
    }, &r);
    ASSERT_EQ(h.status, ASYNC_OK);
    std::thread canceller = cancel_from_a_thread(h, round);
    const async_status_t sent = async_channel_send_blocking_until(&ch, msg(round + 1), async_now_ns() + 2000000);
    canceller.join();
    async_await(h);
    if (sent == ASYNC_OK) {
      EXPECT_EQ(r.st, ASYNC_OK) << round;
      EXPECT_EQ(val(r.m), static_cast<std::uintptr_t>(round + 1)) << round;
      ++delivered;
    } else {
      EXPECT_EQ(sent, ASYNC_ETIMEDOUT) << round;
      EXPECT_TRUE(r.st == ASYNC_ECANCELED || r.st == ASYNC_EAGAIN) << round << ": " << r.st;
      ++cancelled;
    }
  }
  std::printf("delivered %d, cancelled first %d\n", delivered, cancelled);
  async_channel_shutdown(&ch);
}

// The mirror image: a cancel of a sender on an unbuffered channel (its
// message on offer while it spins, or parked) races with a receive from
// another thread: the receive gets the message exactly when the send
// succeeded.
TEST_F(ChannelThreadTest, CancelOfAnUnbufferedSenderRacingAReceiveLosesNothing) {
  async_channel_t ch;
  ASSERT_EQ(async_channel_init(&ch, rt(0), 0, 0), ASYNC_OK);
  int delivered = 0, cancelled = 0;
  for (int round = 0; round < 300; ++round) {
    struct result {
      async_channel_t* ch;
      std::uintptr_t v;
      async_status_t st = ASYNC_EAGAIN;  // EAGAIN: never ran (cancelled before its start)
    } r{&ch, static_cast<std::uintptr_t>(round + 1)};
    auto h = async_spawn_with(rt(1), [](void* p) {
      auto* x = static_cast<result*>(p);
      x->st = async_channel_send(x->ch, msg(x->v));
    }, &r);
    ASSERT_EQ(h.status, ASYNC_OK);
    std::thread canceller = cancel_from_a_thread(h, round);
    void* m = nullptr;
    const async_status_t got = async_channel_recv_blocking_until(&ch, &m, async_now_ns() + 2000000);
    canceller.join();
    async_await(h);
    if (got == ASYNC_OK) {
      EXPECT_EQ(r.st, ASYNC_OK) << round;
      EXPECT_EQ(val(m), r.v) << round;
      ++delivered;
    } else {
      EXPECT_EQ(got, ASYNC_ETIMEDOUT) << round;
      EXPECT_TRUE(r.st == ASYNC_ECANCELED || r.st == ASYNC_EAGAIN) << round << ": " << r.st;
      ++cancelled;
    }
  }
  void* m = nullptr;
  EXPECT_EQ(async_channel_try_recv(&ch, &m), ASYNC_EAGAIN);  // nothing left on offer
  std::printf("delivered %d, cancelled first %d\n", delivered, cancelled);
  async_channel_shutdown(&ch);
}

// A runtime shut down while its fibers are parked on channels that other
// threads keep using: its fibers are taken off them (a later send is
// buffered, not handed to a dead fiber), nothing crashes (ASan, TSan).
TEST_F(ChannelThreads, RuntimeShutdownTakesItsParkedFibersOffSharedChannels) {
  ASYNC_FIFO_ONLY();
  async_runtime_t home;
  ASSERT_EQ(async_runtime_init(&home, nullptr), ASYNC_OK);
  async_channel_t a, b;
  ASSERT_EQ(async_channel_init(&a, &home, 1, 0), ASYNC_OK);
  ASSERT_EQ(async_channel_init(&b, &home, 1, 0), ASYNC_OK);
  std::atomic<int> parked{0};
  std::thread other([&] {
    async_runtime_t rt2;
    ASSERT_EQ(async_runtime_init(&rt2, nullptr), ASYNC_OK);
    struct ctx {
      async_channel_t* a;
      async_channel_t* b;
      std::atomic<int>* parked;
    } x{&a, &b, &parked};
    // One plain receiver, one select over both channels, one timed sender
    // that parks on the full `b` after filling it.
    async_spawn_with(&rt2, [](void* p) {
      auto* c = static_cast<ctx*>(p);
      c->parked->fetch_add(1);
      void* m = nullptr;
      (void)async_channel_recv(c->a, &m);
      ADD_FAILURE() << "the receiver must never run again";
    }, &x);
    async_spawn_with(&rt2, [](void* p) {
      auto* c = static_cast<ctx*>(p);
      async_select_case_t sc[2] = {};
      sc[0] = {c->a, ASYNC_SELECT_RECV, ASYNC_OK, nullptr, {}};
      sc[1] = {c->b, ASYNC_SELECT_RECV, ASYNC_OK, nullptr, {}};
      c->parked->fetch_add(1);
      (void)async_select_until(sc, 2, nullptr, async_now_ns() + 60000000000ull);
      ADD_FAILURE() << "the select must never run again";
    }, &x);
    // A top-level await of a fiber that ends after them returns while they
    // stay parked.
    async_fiber_handle_t last = async_spawn_with(&rt2, [](void*) { async_yield(); }, nullptr);
    ASSERT_EQ(async_await(last), ASYNC_OK);
    EXPECT_EQ(parked.load(), 2);
    async_runtime_shutdown(&rt2);  // the fibers are parked: taken off a and b
  });
  other.join();
  // The home thread keeps using both channels: nothing of rt2 is touched.
  void* m = nullptr;
  EXPECT_EQ(async_channel_try_send(&a, msg(1)), ASYNC_OK);  // buffered, no dead receiver
  EXPECT_EQ(async_channel_try_recv(&a, &m), ASYNC_OK);
  EXPECT_EQ(val(m), 1u);
  EXPECT_EQ(async_channel_try_send(&b, msg(2)), ASYNC_OK);
  async_channel_shutdown(&a);
  async_channel_shutdown(&b);
  EXPECT_EQ(async_channel_try_send(&a, msg(1)), ASYNC_EINVAL);
  async_runtime_shutdown(&home);
}

// The home thread's fibers stream through the channel lock-free; a plain
// thread joins in mid-stream (the switch to shared happens while the home
// thread is busy on the channel): nothing lost or duplicated.
TEST_F(ChannelThreads, AnotherThreadJoiningMidStreamSwitchesTheChannelToShared) {
  async_runtime_t home;
  ASSERT_EQ(async_runtime_init(&home, nullptr), ASYNC_OK);
  for (int round = 0; round < 5; ++round) {
    async_channel_t ch;
    ASSERT_EQ(async_channel_init(&ch, &home, 4, 0), ASYNC_OK);
    constexpr std::uint64_t n = 200000;
    std::uint64_t fiber_sum = 0;
    std::atomic<std::uint64_t> thread_sum{0}, thread_count{0};
    struct ctx {
      async_channel_t* ch;
      std::uint64_t* sum;
    } x{&ch, &fiber_sum};
    async_spawn_with(&home, [](void* p) {
      auto* c = static_cast<ctx*>(p);
      for (std::uint64_t i = 1; i <= n; ++i) EXPECT_EQ(async_channel_send(c->ch, msg(i)), ASYNC_OK);
      async_channel_close(c->ch);
    }, &x);
    async_spawn_with(&home, [](void* p) {
      auto* c = static_cast<ctx*>(p);
      void* m = nullptr;
      while (async_channel_recv(c->ch, &m) == ASYNC_OK) *c->sum += val(m);
    }, &x);
    std::thread joiner([&, round] {
      std::this_thread::sleep_for(std::chrono::microseconds(200 * round));
      void* m = nullptr;
      while (async_channel_recv_blocking(&ch, &m) == ASYNC_OK) {
        thread_sum.fetch_add(val(m));
        thread_count.fetch_add(1);
      }
    });
    ASSERT_EQ(async_runtime_run(&home), ASYNC_OK);
    joiner.join();
    EXPECT_EQ(fiber_sum + thread_sum.load(), n * (n + 1) / 2) << "round " << round;
    async_channel_shutdown(&ch);
  }
  async_runtime_shutdown(&home);
}

// A thread blocked on a channel whose owner shuts it down (and then the
// runtime) wakes with ECLOSED; every later call returns EINVAL.
TEST_F(ChannelThreads, ShutdownWakesABlockedThreadAndLaterCallsAreInvalid) {
  async_runtime_t home;
  ASSERT_EQ(async_runtime_init(&home, nullptr), ASYNC_OK);
  async_channel_t ch;
  ASSERT_EQ(async_channel_init(&ch, &home, 0, 0), ASYNC_OK);
  std::atomic<int> st_recv{1};
  std::thread blocked([&] {
    void* m = nullptr;
    st_recv = async_channel_recv_blocking(&ch, &m);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  async_channel_shutdown(&ch);
  blocked.join();
  EXPECT_EQ(st_recv.load(), ASYNC_ECLOSED);
  async_runtime_shutdown(&home);
  void* m = nullptr;
  EXPECT_EQ(async_channel_recv_blocking(&ch, &m), ASYNC_EINVAL);
  EXPECT_EQ(async_channel_try_send(&ch, msg(1)), ASYNC_EINVAL);
  EXPECT_EQ(async_channel_close(&ch), ASYNC_EINVAL);
}

// The calling thread's CPU affinity, put back when the scope ends, however
// the test leaves it.
struct affinity_restorer {
  cpu_set_t saved;
  bool ok = sched_getaffinity(0, sizeof saved, &saved) == 0;
  ~affinity_restorer() {
    if (ok) (void)sched_setaffinity(0, sizeof saved, &saved);
  }
};

// A group whose two runtimes, and the test's thread, share one CPU (as on a
// machine with more busy threads than CPUs): a ping-pong across the runtimes
// still runs to its end, in order, unbuffered and with capacity 1. A fiber
// that waits for the other runtime spins before it sleeps, and the answer
// can only come once the spinner lets go of the CPU: the spins yield
// (docs/design.md, "Every spin yields"). What the yields buy is time (230 us
// per round trip in multi_bench before, 8 us since), which is the
// benchmark's to show (multi_compare.sh's one-CPU rows); this test checks
// that nothing is lost, reordered or stuck when runtimes share a CPU.
TEST(ChannelOneCpuTest, PingPongAcrossRuntimesThatShareOneCpu) {
  affinity_restorer restore;
  ASSERT_TRUE(restore.ok);
  const cpu_set_t& saved = restore.saved;
  int cpu = 0;
  while (!CPU_ISSET(cpu, &saved)) ++cpu;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);  // the group's threads inherit it
  constexpr std::uintptr_t rounds = 2000;
  for (const std::size_t capacity : {std::size_t{0}, std::size_t{1}}) {
    async_group_t g;
    ASSERT_EQ(async_group_init(&g, 2, nullptr), ASYNC_OK);
    async_channel_t there, back;
    ASSERT_EQ(async_channel_init(&there, async_group_runtime(&g, 0), capacity, 0), ASYNC_OK);
    ASSERT_EQ(async_channel_init(&back, async_group_runtime(&g, 0), capacity, 0), ASYNC_OK);
    struct both {
      async_channel_t* there;
      async_channel_t* back;
      std::vector<std::uintptr_t> replies;
    } s{&there, &back, {}};
    auto pinger = [](void* p) {
      auto* b = static_cast<both*>(p);
      for (std::uintptr_t i = 1; i <= rounds; ++i) {
        void* m = nullptr;
        if (async_channel_send(b->there, msg(i)) != ASYNC_OK || async_channel_recv(b->back, &m) != ASYNC_OK) return;
        b->replies.push_back(val(m));
      }
    };
    auto ponger = [](void* p) {
      auto* b = static_cast<both*>(p);
      void* m = nullptr;
      for (std::uintptr_t i = 1; i <= rounds; ++i) {
        if (async_channel_recv(b->there, &m) != ASYNC_OK || async_channel_send(b->back, msg(2 * val(m))) != ASYNC_OK)
          return;
      }
    };
    ASSERT_EQ(async_spawn_with(async_group_runtime(&g, 1), ponger, &s).status, ASYNC_OK);
    ASSERT_EQ(async_spawn_with(async_group_runtime(&g, 0), pinger, &s).status, ASYNC_OK);
    ASSERT_EQ(async_group_wait(&g), ASYNC_OK);
    std::vector<std::uintptr_t> want;
    for (std::uintptr_t i = 1; i <= rounds; ++i) want.push_back(2 * i);
    EXPECT_EQ(s.replies, want) << "capacity " << capacity;
    async_channel_shutdown(&there);
    async_channel_shutdown(&back);
    async_group_shutdown(&g);
  }
}

}  // namespace
