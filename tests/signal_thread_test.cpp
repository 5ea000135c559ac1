// SPDX-License-Identifier: MIT
// Signal waits across threads (issue #11): fibers of the two runtimes of a
// group wait for the same signals, which plain threads that never blocked
// them send to the process. Each delivery goes to exactly one wait, the
// oldest; none is lost (counted, with deadlines racing deliveries); and the
// dispositions come back when the group shuts down. Real-time signals only:
// the kernel queues them, where it may drop a standard signal sent while the
// last one is still pending. Run under TSan too (bounded counts).
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "async.h"
#include "support/group_fixture.h"
#include "support/signal_catcher.h"
#include "support/seeded.h"

namespace {

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ASYNC_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define ASYNC_TEST_TSAN 1
#endif

#if defined(ASYNC_TEST_TSAN)
// TSan defers a handler to the thread's next safe point and keeps one
// pending delivery per signal and thread: a second one arriving meanwhile
// is lost before our handler sees it. So one delivery in flight per signal.
// TSan also keeps that pending delivery in the state of the fiber that was
// running (each fiber has its own), where it waits until that fiber runs
// again: so under TSan every wait has a deadline, and a parked fiber wakes
// now and then to let it through.
constexpr int per_sender = 300;
constexpr int window = 1;
constexpr bool every_wait_timed = true;
constexpr std::uint64_t extra_ns = 500000;
#else
constexpr int per_sender = 3000;
constexpr int window = 16;
constexpr bool every_wait_timed = false;
constexpr std::uint64_t extra_ns = 0;
#endif

// Whether the calling thread blocks `signo` (the library never blocks it).
bool blocked(int signo) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, signo) == 1;
}

void (*disposition(int signo))(int) {
  struct sigaction sa {};
  sigaction(signo, nullptr, &sa);
  return sa.sa_handler;
}

// Waits (polling, without a deadline of its own: ctest's timeout is the
// limit) until `done` holds. The main thread polls rather than block in
// async_group_wait or a join while signals are sent: the kernel often picks
// it to take a process signal, and under TSan a handler runs only when its
// thread next enters a call TSan treats as blocking (a sleep is one, a
// join or a raw futex wait is not). For the same reason a sending thread
// waits until its last signal is received before it ends: under TSan it
// may still carry that signal, which would end with it.
template <class F>
void wait_until(F done) {
  while (!done()) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

class SignalThreadTest : public async_test::GroupRuntimeTest {
 protected:
  void SetUp() override {
    async_test::start_signal_catcher();
    GroupRuntimeTest::SetUp();
  }

  template <class F>
  async_fiber_handle_t spawn_on(async_runtime_t* r, F* f) {
    async_fiber_handle_t h = async_spawn_with(r, [](void* p) { (*static_cast<F*>(p))(); }, f);
    EXPECT_EQ(h.status, ASYNC_OK);
    return h;
  }
};

// A waits on runtime 0. M, after A on the same runtime (so after A parked),
// starts B on runtime 1; B starts N there and parks; N runs after B parked
// and has a plain thread send one signal at a time. The first goes to A
// (the older wait), the second to B.
TEST_F(SignalThreadTest, DeliveriesGoToTheOldestWaitAcrossRuntimes) {
  ASYNC_FIFO_ONLY();
  const int sig = SIGRTMIN + 2;
  std::atomic<int> got{0};
  std::atomic<char> order[2] = {{0}, {0}};
  auto waiter = [&](char name) {
    int signo = 0;
    EXPECT_EQ(async_signal_wait(&sig, 1, &signo), ASYNC_OK);
    EXPECT_EQ(signo, sig);
    order[got.fetch_add(1)].store(name);
  };
  auto a = [&] { waiter('A'); };
  std::atomic<int> requested{0};
  std::thread sender([&] {
    for (int k = 1; k <= 2; ++k) {
      wait_until([&] { return requested.load() >= k; });
      kill(getpid(), sig);
    }
    wait_until([&] { return got.load() == 2; });
  });
  auto n = [&] {
    requested.store(1);
    while (got.load() < 1) async_sleep_ms(1);
    EXPECT_EQ(order[0].load(), 'A');
    requested.store(2);
    while (got.load() < 2) async_sleep_ms(1);
    EXPECT_EQ(order[1].load(), 'B');
  };
  auto b = [&] {
    spawn_on(rt(1), &n);
    waiter('B');
  };
  auto m = [&] { spawn_on(rt(1), &b); };
  spawn_on(rt(0), &a);
  spawn_on(rt(0), &m);
  wait_until([&] { return got.load() == 2; });
  sender.join();
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  EXPECT_EQ(got.load(), 2);
}

// Three fibers per runtime wait for two signals in a loop, some with
// deadlines that race the deliveries; two plain threads send each signal
// per_sender times, at most `window` unanswered. Every delivery is counted
// once: none lost, none twice (a wait that timed out took nothing).
TEST_F(SignalThreadTest, EveryDeliveryReachesExactlyOneWait) {
  const int sigs[2] = {SIGRTMIN + 3, SIGRTMIN + 4};
  std::atomic<long> received[2] = {{0}, {0}};
  std::atomic<long> timeouts{0};
  std::atomic<int> holding{0};
  auto waiter = [&](int k) {
    int signo = 0;
    // A deadline already past: the runtime holds both signals from here.
    EXPECT_EQ(async_signal_wait_until(sigs, 2, &signo, 0), ASYNC_ETIMEDOUT);
    EXPECT_FALSE(blocked(sigs[0]));
    holding.fetch_add(1);
    for (unsigned i = 0;; ++i) {
      const bool timed = every_wait_timed || (i + static_cast<unsigned>(k)) % 3 == 0;
      const std::uint64_t deadline = timed ? async_now_ns() + (i % 7) * 20000u + extra_ns : ASYNC_NO_DEADLINE;
      const async_status_t st = async_signal_wait_until(sigs, 2, &signo, deadline);
      if (st == ASYNC_ECANCELED) return;
      if (st == ASYNC_ETIMEDOUT) {
        EXPECT_EQ(signo, 0);
        timeouts.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      ASSERT_EQ(st, ASYNC_OK);
      ASSERT_TRUE(signo == sigs[0] || signo == sigs[1]) << signo;
      received[signo == sigs[1]].fetch_add(1);
    }
  };
  struct entry {
    decltype(waiter)* w;
    int k;
    void operator()() const { (*w)(k); }
  };
  std::vector<entry> entries;
  for (int k = 0; k < 6; ++k) entries.push_back(entry{&waiter, k});
  std::vector<async_fiber_handle_t> handles;
  for (int k = 0; k < 6; ++k) handles.push_back(spawn_on(rt(k % 2), &entries[k]));
  wait_until([&] { return holding.load() == 6; });
  EXPECT_FALSE(blocked(sigs[0]));

  std::atomic<int> senders_done{0};
  auto sender = [&](int which) {
    for (long sent = 0; sent < per_sender; ++sent) {
      while (sent - received[which].load() >= window) std::this_thread::sleep_for(std::chrono::microseconds(20));
      EXPECT_EQ(kill(getpid(), sigs[which]), 0);
    }
    wait_until([&] { return received[which].load() >= per_sender; });
    senders_done.fetch_add(1);
  };
  std::thread s0(sender, 0);
  std::thread s1(sender, 1);
  wait_until([&] {
    return senders_done.load() == 2 && received[0].load() >= per_sender && received[1].load() >= per_sender;
  });
  s0.join();
  s1.join();
  for (const async_fiber_handle_t& h : handles) EXPECT_EQ(async_cancel(h), ASYNC_OK);
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  EXPECT_EQ(received[0].load(), per_sender);
  EXPECT_EQ(received[1].load(), per_sender);

  // Nothing is left kept: a fresh wait on either runtime finds nothing.
  std::atomic<int> empty{0};
  auto check_empty = [&] {
    int signo = 42;
    EXPECT_EQ(async_signal_wait_until(sigs, 2, &signo, 0), ASYNC_ETIMEDOUT);
    empty.fetch_add(1);
  };
  spawn_on(rt(0), &check_empty);
  spawn_on(rt(1), &check_empty);
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  EXPECT_EQ(empty.load(), 2);
  async_group_shutdown(&g_);
  EXPECT_EQ(disposition(sigs[0]), SIG_DFL);
  EXPECT_EQ(disposition(sigs[1]), SIG_DFL);
}

// One group holds the signal while another shuts down: keeping goes on
// until the last holder goes, and only then is the disposition restored.
TEST_F(SignalThreadTest, KeepingLastsUntilTheLastHolderShutsDown) {
  const int sig = SIGRTMIN + 5;
  async_group_t other{};
  ASSERT_EQ(async_group_init(&other, 1, nullptr), ASYNC_OK);
  auto hold = [&] {
    int signo = 42;
    EXPECT_EQ(async_signal_wait_until(&sig, 1, &signo, 0), ASYNC_ETIMEDOUT);
  };
  spawn_on(async_group_runtime(&other, 0), &hold);
  ASSERT_EQ(async_group_wait(&other), ASYNC_OK);
  spawn_on(rt(0), &hold);
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  async_group_shutdown(&other);
  EXPECT_NE(disposition(sig), SIG_DFL);  // still held by g_
  ASSERT_EQ(kill(getpid(), sig), 0);     // kept for g_
  std::atomic<int> got{0};
  auto take = [&] {
    int signo = 0;
    EXPECT_EQ(async_signal_wait(&sig, 1, &signo), ASYNC_OK);
    got.store(signo);
  };
  spawn_on(rt(1), &take);
  wait_until([&] { return got.load() != 0; });
  ASSERT_EQ(async_group_wait(&g_), ASYNC_OK);
  EXPECT_EQ(got.load(), sig);
  async_group_shutdown(&g_);
  EXPECT_EQ(disposition(sig), SIG_DFL);
}

}  // namespace
