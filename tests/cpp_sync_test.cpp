// SPDX-License-Identifier: MIT
// cpp_sync_test.cpp: the C++ synchronisation classes of async/sync.hpp on one
// runtime: mutex, condition_variable, counting_semaphore, wait_group,
// shared_mutex and call_once, with the std lock adaptors. The scheduler is
// deterministic, so hand-offs, FIFO order and cancellation are checked as
// whole traces. Timed calls are only given deadlines that nobody can beat
// (or that are past), so results never depend on timing.
#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "async.hpp"
#include "support/cpp_api_fixture.h"
#include "support/cpp_runtime_fixture.h"
#include "support/seeded.h"

namespace {

using namespace std::chrono_literals;
using Trace = std::vector<std::string>;
using steady = std::chrono::steady_clock;

using async_test::outcome_of;

std::string yes_no(bool b) { return b ? "yes" : "no"; }

// A private runtime per test; LeakCheckedTest's TearDown proves every fiber
// ended and no timer was left armed (a timed wait that returned early
// disarms its deadline).
class CppSyncTest : public async_test::CppRuntimeFixture {
 protected:
  void run_all() { ASSERT_EQ(rt().run(), async::status::ok); }

  Trace trace;
};

// -------------------------------------------------------------------- mutex

TEST_F(CppSyncTest, MutexHandsOffInFifoOrderAndALaterLockerCannotBargeIn) {
  ASYNC_FIFO_ONLY();
  async::mutex m;
  auto a = async::spawn(rt(), [&] {
    std::unique_lock lk(m);
    trace.push_back("a locked");
    async::this_fiber::yield();  // b and c queue up
    trace.push_back("a unlocks");
    lk.unlock();  // b now holds it, though it has not run yet
    lk.lock();    // so a queues behind c
    trace.push_back("a locked again");
  });
  for (const char* name : {"b", "c"}) {
    async::spawn(rt(), [&, name] {
      std::lock_guard lk(m);
      trace.push_back(std::string(name) + " locked");
    }).detach();
  }
  run_all();
  a.join();
  EXPECT_EQ(trace, (Trace{"a locked", "a unlocks", "b locked", "c locked", "a locked again"}));
}

TEST_F(CppSyncTest, MutexWorksWithEveryStdLockAdaptor) {
  async::mutex a;
  async::mutex b;
  async::spawn(rt(), [&] {
    {
      std::lock_guard g(a);
      trace.push_back("lock_guard holds: " + yes_no(!a.try_lock()));
    }
    {
      std::unique_lock u(a, std::try_to_lock);
      trace.push_back("try_to_lock: " + yes_no(u.owns_lock()));
      u.unlock();
      trace.push_back("try_lock_for: " + yes_no(u.try_lock_for(1h)));
    }
    {
      std::unique_lock u(a, std::defer_lock);
      trace.push_back("defer_lock: " + yes_no(u.owns_lock()));
      trace.push_back("try_lock_until: " + yes_no(u.try_lock_until(steady::now() + 1h)));
    }
    a.lock();
    { std::unique_lock u(a, std::adopt_lock); }  // releases it
    trace.push_back("adopt_lock released: " + yes_no(a.try_lock()));
    a.unlock();
    {
      std::scoped_lock both(a, b);
      trace.push_back("scoped_lock holds both: " + yes_no(!a.try_lock() && !b.try_lock()));
    }
    trace.push_back("both free: " + yes_no(a.try_lock() && b.try_lock()));
    a.unlock();
    b.unlock();
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"lock_guard holds: yes", "try_to_lock: yes", "try_lock_for: yes", "defer_lock: no",
                          "try_lock_until: yes", "adopt_lock released: yes", "scoped_lock holds both: yes",
                          "both free: yes"}));
}

TEST_F(CppSyncTest, ScopedLockOfTwoMutexesWaitsForTheOneHeldElsewhere) {
  ASYNC_FIFO_ONLY();
  async::mutex a;
  async::mutex b;
  async::spawn(rt(), [&] {
    std::lock_guard g(b);
    trace.push_back("h holds b");
    async::this_fiber::yield();
    trace.push_back("h unlocks b");
  }).detach();
  async::spawn(rt(), [&] {
    trace.push_back("s wants a and b");
    std::scoped_lock both(a, b);  // std::lock: never holds a while it waits for b
    trace.push_back("s holds both");
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"h holds b", "s wants a and b", "h unlocks b", "s holds both"}));
}

TEST_F(CppSyncTest, MutexReportsMisuse) {
  ASYNC_FIFO_ONLY();
  async::mutex m;
  async::fiber<void> owner;
  owner = async::spawn(rt(), [&] {
    m.lock();
    trace.push_back("owner try_lock: " + yes_no(m.try_lock()));  // not recursive
    trace.push_back("owner lock: " + outcome_of([&] { m.lock(); }));
    async::this_fiber::yield();
    m.unlock();
    trace.push_back("owner unlock again: " + outcome_of([&] { m.unlock(); }));
  });
  async::spawn(rt(), [&] {
    trace.push_back("other unlock: " + outcome_of([&] { m.unlock(); }));
  }).detach();
  run_all();
  owner.join();
  EXPECT_EQ(trace, (Trace{"owner try_lock: no", "owner lock: error EDEADLK", "other unlock: error ESTATE",
                          "owner unlock again: error ESTATE"}));
  try {
    ASSERT_TRUE(m.try_lock());
    m.lock();  // the main thread holds it: would wait for itself
    FAIL() << "lock did not throw";
  } catch (const async::error& e) {
    // From a plain thread every lock is refused (try_lock is the way there).
    EXPECT_EQ(e.code(), async::status::estate);
    EXPECT_EQ(std::string(e.what()), std::string("async::mutex::lock: ") + async_strerror(ASYNC_ESTATE));
  }
  m.unlock();
}

TEST_F(CppSyncTest, MutexLockCancelledWhileWaitingThrowsAndTakesNothing) {
  ASYNC_FIFO_ONLY();
  async::mutex m;
  async::fiber<void> b;
  async::fiber<void> c;
  auto a = async::spawn(rt(), [&] {
    m.lock();
    trace.push_back("a locked");
    async::this_fiber::yield();  // b and c wait
    b.cancel();
    c.cancel();
    trace.push_back("a cancelled b and c");
    async::this_fiber::yield();
    m.unlock();
    trace.push_back("a unlocked; try_lock: " + yes_no(m.try_lock()));  // nobody was handed it
    m.unlock();
  });
  b = async::spawn(rt(), [&] { trace.push_back("b lock: " + outcome_of([&] { m.lock(); })); });
  c = async::spawn(rt(), [&] { trace.push_back("c try_lock_for: " + outcome_of([&] { (void)m.try_lock_for(1h); })); });
  run_all();
  a.join();
  EXPECT_EQ(trace, (Trace{"a locked", "a cancelled b and c", "b lock: cancelled", "c try_lock_for: cancelled",
                          "a unlocked; try_lock: yes"}));
}

TEST_F(CppSyncTest, ACancelledFiberStillTakesAFreeMutex) {
  async::mutex m;
  async::spawn(rt(), [&] {
    async::this_fiber::self().cancel();
    trace.push_back("lock: " + outcome_of([&] { m.lock(); }));  // need not wait: succeeds
    m.unlock();
    trace.push_back("yield: " + outcome_of([] { async::this_fiber::yield(); }));
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"lock: ok", "yield: cancelled"}));
}

TEST_F(CppSyncTest, MutexTimedLocksGiveUpOnlyWhileItIsHeld) {
  ASYNC_FIFO_ONLY();
  async::mutex m;
  async::binary_semaphore go(0);
  async::spawn(rt(), [&] {
    std::lock_guard lk(m);
    trace.push_back("holder locked");
    go.acquire();
    trace.push_back("holder unlocks");
  }).detach();
  async::spawn(rt(), [&] {
    trace.push_back("try_lock_for 1ms: " + yes_no(m.try_lock_for(1ms)));
    trace.push_back("try_lock_until past: " + yes_no(m.try_lock_until(steady::now() - 1s)));
    trace.push_back("try_lock_until system_clock: " +
                    yes_no(m.try_lock_until(std::chrono::system_clock::now() + 1ms)));
    go.release();
    trace.push_back("try_lock_for 1h: " + yes_no(m.try_lock_for(1h)));  // handed over by the holder
    m.unlock();
    trace.push_back("try_lock_until past, free: " + yes_no(m.try_lock_until(steady::now() - 1s)));
    m.unlock();
    trace.push_back("try_lock_until max: " + yes_no(m.try_lock_until(steady::time_point::max())));
    m.unlock();
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"holder locked", "try_lock_for 1ms: no", "try_lock_until past: no",
                          "try_lock_until system_clock: no", "holder unlocks", "try_lock_for 1h: yes",
                          "try_lock_until past, free: yes", "try_lock_until max: yes"}));
}

TEST_F(CppSyncTest, OutsideFibersALockThatNeedNotWaitSucceedsAndOneThatWouldThrowsEstate) {
  async::mutex m;
  async::binary_semaphore go(0);
  ASSERT_TRUE(m.try_lock());  // the main thread holds it now
  EXPECT_FALSE(m.try_lock());
  auto f = async::spawn(rt(), [&] {
    std::lock_guard lk(m);  // waits for the main thread
    trace.push_back("f locked");
    go.acquire();
    trace.push_back("f unlocks");
  });
  EXPECT_EQ(rt().run(), async::status::edeadlk);  // only this thread can unlock m
  m.unlock();                                      // hands it to f
  EXPECT_EQ(rt().run(), async::status::edeadlk);  // f holds m and waits for go
  trace.push_back("main lock: " + outcome_of([&] { m.lock(); }));
  trace.push_back("main try_lock: " + yes_no(m.try_lock()));
  go.release();  // does not wait: allowed outside fibers
  run_all();
  f.join();
  EXPECT_EQ(trace, (Trace{"f locked", "main lock: error ESTATE", "main try_lock: no", "f unlocks"}));
}

// ------------------------------------------------------- condition_variable

TEST_F(CppSyncTest, ConditionVariableWakesWaitersInTheOrderTheyBeganWaiting) {
  ASYNC_FIFO_ONLY();
  async::mutex m;
  async::condition_variable cv;
  int tickets = 0;
  for (const char* name : {"w1", "w2", "w3"}) {
    async::spawn(rt(), [&, name] {
      std::unique_lock lk(m);
      trace.push_back(std::string(name) + " waits");
      cv.wait(lk, [&] { return tickets > 0; });
      --tickets;
      trace.push_back(std::string(name) + " woke");
    }).detach();
  }
  async::spawn(rt(), [&] {
    {
      std::lock_guard lk(m);
      tickets += 1;
      cv.notify_one();
      trace.push_back("notify_one");
    }
    async::this_fiber::yield();  // w1 takes its ticket
    {
      std::lock_guard lk(m);
      tickets += 2;
      cv.notify_all();
      trace.push_back("notify_all");
    }
    cv.notify_all();  // nobody waits: nothing happens
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"w1 waits", "w2 waits", "w3 waits", "notify_one", "w1 woke", "notify_all", "w2 woke",
                          "w3 woke"}));
  EXPECT_EQ(tickets, 0);
}

TEST_F(CppSyncTest, ConditionVariableWaitCancelledThrowsWithTheLockHeldAgain) {
  ASYNC_FIFO_ONLY();
  async::mutex m;
  async::condition_variable cv;
  async::fiber<void> w;
  w = async::spawn(rt(), [&] {
    std::unique_lock lk(m);
    trace.push_back("w waits");
    try {
      cv.wait(lk);
      trace.push_back("w woke");
    } catch (const async::cancelled&) {
      // Back only once h let go of the mutex, and holding it.
      trace.push_back("w cancelled: owns_lock " + yes_no(lk.owns_lock()) + ", try_lock " + yes_no(m.try_lock()));
      throw;  // lk unlocks as the stack unwinds
    }
  });
  async::spawn(rt(), [&] {
    std::lock_guard lk(m);
    trace.push_back("h locked, cancels w");
    w.cancel();
    async::this_fiber::yield();  // w cannot return without the mutex
    trace.push_back("h unlocks");
  }).detach();
  run_all();
  EXPECT_THROW(w.join(), async::cancelled);
  EXPECT_EQ(trace, (Trace{"w waits", "h locked, cancels w", "h unlocks", "w cancelled: owns_lock yes, try_lock no"}));
  EXPECT_TRUE(m.try_lock());  // w's unique_lock let go as it unwound
  m.unlock();
}

TEST_F(CppSyncTest, ConditionVariableTimedWaitCancelledThrowsWithTheLockHeldAgain) {
  ASYNC_FIFO_ONLY();
  async::mutex m;
  async::condition_variable cv;
  async::fiber<void> w;
  w = async::spawn(rt(), [&] {
    std::unique_lock lk(m);
    trace.push_back("w: " + outcome_of([&] { (void)cv.wait_for(lk, 1h, [] { return false; }); }) +
                    ", owns_lock " + yes_no(lk.owns_lock()));
  });
  async::spawn(rt(), [&] { w.cancel(); }).detach();
  run_all();
  w.join();
  EXPECT_EQ(trace, (Trace{"w: cancelled, owns_lock yes"}));
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST_F(CppSyncTest, ConditionVariableTimedWaitsReturnCvStatusAndPredicateValue) {
  async::mutex m;
  async::condition_variable cv;
  bool ready = false;
  async::spawn(rt(), [&] {
    std::unique_lock lk(m);
    const auto st = cv.wait_for(lk, 1ms);
    trace.push_back(std::string("wait_for: ") + (st == std::cv_status::timeout ? "timeout" : "no_timeout") +
                    ", owns_lock " + yes_no(lk.owns_lock()));
    trace.push_back(std::string("wait_until past: ") +
                    (cv.wait_until(lk, steady::now() - 1s) == std::cv_status::timeout ? "timeout" : "no_timeout"));
    trace.push_back(std::string("wait_until system_clock: ") +
                    (cv.wait_until(lk, std::chrono::system_clock::now() + 1ms) == std::cv_status::timeout
                         ? "timeout"
                         : "no_timeout"));
    int calls = 0;
    const bool got = cv.wait_until(lk, steady::now() + 1ms, [&] {
      ++calls;
      return false;
    });
    trace.push_back("wait_until pred false: " + yes_no(got) + ", pred calls " + std::to_string(calls));
    trace.push_back("wait_for pred already true: " + yes_no(cv.wait_for(lk, 0s, [] { return true; })));
    // Now a notifier that runs while this fiber waits.
    auto n = async::spawn([&] {
      std::lock_guard g(m);
      ready = true;
      trace.push_back("notifier: ready");
      cv.notify_one();
    });
    trace.push_back("wait_for pred notified: " + yes_no(cv.wait_for(lk, 1h, [&] { return ready; })));
    auto n2 = async::spawn([&] {
      std::lock_guard g(m);
      trace.push_back("notifier 2");
      cv.notify_all();
    });
    const auto st2 = cv.wait_until(lk, steady::now() + 1h);
    trace.push_back(std::string("wait_until notified: ") +
                    (st2 == std::cv_status::no_timeout ? "no_timeout" : "timeout"));
    lk.unlock();
    n.join();
    n2.join();
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"wait_for: timeout, owns_lock yes", "wait_until past: timeout",
                          "wait_until system_clock: timeout", "wait_until pred false: no, pred calls 2",
                          "wait_for pred already true: yes", "notifier: ready", "wait_for pred notified: yes",
                          "notifier 2", "wait_until notified: no_timeout"}));
}

TEST_F(CppSyncTest, ConditionVariableWaitWithoutTheLockThrows) {
  async::mutex m;
  async::condition_variable cv;
  async::spawn(rt(), [&] {
    std::unique_lock lk(m, std::defer_lock);
    trace.push_back("not held: " + outcome_of([&] { cv.wait(lk); }));
    std::unique_lock<async::mutex> none;
    trace.push_back("no mutex: " + outcome_of([&] { cv.wait(none); }));
  }).detach();
  run_all();
  std::unique_lock lk(m, std::try_to_lock);  // the main thread holds it, but is no fiber
  ASSERT_TRUE(lk.owns_lock());
  trace.push_back("outside a fiber: " + outcome_of([&] { cv.wait(lk); }));
  trace.push_back("still held: " + yes_no(lk.owns_lock() && !m.try_lock()));
  EXPECT_EQ(trace, (Trace{"not held: error ESTATE", "no mutex: error EINVAL", "outside a fiber: error ESTATE",
                          "still held: yes"}));
}

// --------------------------------------------------------------- semaphore

TEST_F(CppSyncTest, SemaphoreHandsUnitsToWaitersInFifoOrder) {
  ASYNC_FIFO_ONLY();
  async::counting_semaphore<> s(0);
  for (const char* name : {"a", "b", "c"}) {
    async::spawn(rt(), [&, name] {
      trace.push_back(std::string(name) + " waits");
      s.acquire();
      trace.push_back(std::string(name) + " acquired");
    }).detach();
  }
  async::spawn(rt(), [&] {
    trace.push_back("release 2");
    s.release(2);  // straight to a and b
    trace.push_back("try_acquire: " + yes_no(s.try_acquire()));
    async::this_fiber::yield();
    trace.push_back("release 1");
    s.release();
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"a waits", "b waits", "c waits", "release 2", "try_acquire: no", "a acquired",
                          "b acquired", "release 1", "c acquired"}));
  EXPECT_FALSE(s.try_acquire());
}

TEST_F(CppSyncTest, SemaphoreAcquireCancelledTakesNothing) {
  ASYNC_FIFO_ONLY();
  async::counting_semaphore<> s(0);
  async::fiber<void> a;
  a = async::spawn(rt(), [&] { trace.push_back("a: " + outcome_of([&] { s.acquire(); })); });
  async::spawn(rt(), [&] {
    trace.push_back("b: " + outcome_of([&] { (void)s.try_acquire_for(1h); }));
  }).detach();
  async::spawn(rt(), [&] {
    a.cancel();
    s.release();  // a is cancelled: the unit goes to b
  }).detach();
  run_all();
  a.join();
  EXPECT_EQ(trace, (Trace{"a: cancelled", "b: ok"}));
  EXPECT_FALSE(s.try_acquire());
}

TEST_F(CppSyncTest, SemaphoreTryAndTimedForms) {
  async::counting_semaphore<4> s(2);
  EXPECT_TRUE(s.try_acquire());  // any thread
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  trace.push_back("acquire outside a fiber, none free: " + outcome_of([&] { s.acquire(); }));
  async::spawn(rt(), [&] {
    trace.push_back("try_acquire_for 1ms: " + yes_no(s.try_acquire_for(1ms)));
    trace.push_back("try_acquire_until past: " + yes_no(s.try_acquire_until(steady::now() - 1s)));
    trace.push_back("try_acquire_until system_clock: " +
                    yes_no(s.try_acquire_until(std::chrono::system_clock::now() + 1ms)));
    s.release();
    trace.push_back("try_acquire_until past, one free: " + yes_no(s.try_acquire_until(steady::now() - 1s)));
    s.release();
    trace.push_back("try_acquire_for 1h, one free: " + yes_no(s.try_acquire_for(1h)));
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"acquire outside a fiber, none free: error ESTATE", "try_acquire_for 1ms: no",
                          "try_acquire_until past: no", "try_acquire_until system_clock: no",
                          "try_acquire_until past, one free: yes", "try_acquire_for 1h, one free: yes"}));
}

TEST_F(CppSyncTest, SemaphoreCountsAreChecked) {
  static_assert(async::counting_semaphore<>::max() == static_cast<std::ptrdiff_t>(UINT_MAX));
  static_assert(async::binary_semaphore::max() >= 1);
  EXPECT_EQ(outcome_of([] { async::counting_semaphore<> s(-1); }), "error EINVAL");
  EXPECT_EQ(outcome_of([] { async::counting_semaphore<> s(async::counting_semaphore<>::max() + 1); }),
            "error EINVAL");
  async::counting_semaphore<> s(async::counting_semaphore<>::max() - 1);
  EXPECT_EQ(outcome_of([&] { s.release(-1); }), "error EINVAL");
  EXPECT_EQ(outcome_of([&] { s.release(0); }), "ok");
  EXPECT_EQ(outcome_of([&] { s.release(2); }), "error EFULL");  // the first unit was released
  EXPECT_EQ(outcome_of([&] { s.release(); }), "error EFULL");
  EXPECT_TRUE(s.try_acquire());
  EXPECT_EQ(outcome_of([&] { s.release(); }), "ok");
}

TEST_F(CppSyncTest, BinarySemaphoreSignalsBetweenFibers) {
  async::binary_semaphore ping(0);
  async::binary_semaphore pong(0);
  async::spawn(rt(), [&] {
    for (int i = 0; i < 3; ++i) {
      ping.acquire();
      trace.push_back("pong " + std::to_string(i));
      pong.release();
    }
  }).detach();
  async::spawn(rt(), [&] {
    for (int i = 0; i < 3; ++i) {
      trace.push_back("ping " + std::to_string(i));
      ping.release();
      pong.acquire();
    }
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"ping 0", "pong 0", "ping 1", "pong 1", "ping 2", "pong 2"}));
}

// --------------------------------------------------------------- wait_group

TEST_F(CppSyncTest, WaitGroupWakesEveryWaiterInOrderWhenTheCounterReachesZero) {
  ASYNC_FIFO_ONLY();
  async::wait_group wg;
  wg.add(3);
  for (const char* name : {"x", "y"}) {
    async::spawn(rt(), [&, name] {
      trace.push_back(std::string(name) + " waits");
      wg.wait();
      trace.push_back(std::string(name) + " woke");
    }).detach();
  }
  for (int i = 1; i <= 3; ++i) {
    async::spawn(rt(), [&, i] {
      for (int k = 0; k < i; ++k) async::this_fiber::yield();
      trace.push_back("worker " + std::to_string(i) + " done");
      wg.done();
    }).detach();
  }
  run_all();
  EXPECT_EQ(trace,
            (Trace{"x waits", "y waits", "worker 1 done", "worker 2 done", "worker 3 done", "x woke", "y woke"}));
}

TEST_F(CppSyncTest, WaitGroupCounterIsChecked) {
  async::wait_group wg;
  EXPECT_EQ(outcome_of([&] { wg.done(); }), "error EINVAL");
  EXPECT_EQ(outcome_of([&] { wg.add(-1); }), "error EINVAL");
  wg.add(LONG_MAX);
  EXPECT_EQ(outcome_of([&] { wg.add(1); }), "error EINVAL");  // would overflow: nothing changes
  EXPECT_EQ(outcome_of([&] { wg.wait(); }), "error ESTATE");  // would wait outside a fiber
  EXPECT_EQ(outcome_of([&] { wg.add(-LONG_MAX); }), "ok");
}

TEST_F(CppSyncTest, WaitGroupTimedAndCancelledWaits) {
  ASYNC_FIFO_ONLY();
  async::wait_group wg;
  wg.add(1);
  async::fiber<void> w;
  async::spawn(rt(), [&] {
    trace.push_back("wait_for 1ms: " + yes_no(wg.wait_for(1ms)));
    trace.push_back("wait_until past: " + yes_no(wg.wait_until(steady::now() - 1s)));
    trace.push_back("wait_until system_clock: " + yes_no(wg.wait_until(std::chrono::system_clock::now() + 1ms)));
    w = async::spawn([&] { trace.push_back("w: " + outcome_of([&] { wg.wait(); })); });
    async::this_fiber::yield();  // w waits
    w.cancel();
    async::this_fiber::yield();
    auto d = async::spawn([&] {
      trace.push_back("done");
      wg.done();
    });
    trace.push_back("wait_for 1h: " + yes_no(wg.wait_for(1h)));
    trace.push_back("wait_until past, zero: " + yes_no(wg.wait_until(steady::now() - 1s)));
    d.join();
    w.join();
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"wait_for 1ms: no", "wait_until past: no", "wait_until system_clock: no", "w: cancelled",
                          "done", "wait_for 1h: yes", "wait_until past, zero: yes"}));
}

// ------------------------------------------------------------- shared_mutex

TEST_F(CppSyncTest, SharedMutexIsFairAReaderQueuesBehindAWaitingWriter) {
  ASYNC_FIFO_ONLY();
  async::shared_mutex rw;
  for (const char* name : {"r1", "r2"}) {
    async::spawn(rt(), [&, name] {
      std::shared_lock lk(rw);
      trace.push_back(std::string(name) + " reads");
      async::this_fiber::yield();
      trace.push_back(std::string(name) + " done");
    }).detach();
  }
  async::spawn(rt(), [&] {
    trace.push_back("w wants");
    std::unique_lock lk(rw);
    trace.push_back("w writes");
  }).detach();
  async::spawn(rt(), [&] {
    trace.push_back("r3 wants; try_lock_shared: " + yes_no(rw.try_lock_shared()));  // a writer waits
    std::shared_lock lk(rw);
    trace.push_back("r3 reads");
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"r1 reads", "r2 reads", "w wants", "r3 wants; try_lock_shared: no", "r1 done", "r2 done",
                          "w writes", "r3 reads"}));
}

TEST_F(CppSyncTest, SharedMutexWritersReleaseAdmitsTheReadersAtTheHeadTogether) {
  ASYNC_FIFO_ONLY();
  async::shared_mutex rw;
  async::spawn(rt(), [&] {
    std::lock_guard lk(rw);
    trace.push_back("w1 writes");
    async::this_fiber::yield();
    trace.push_back("w1 done");
  }).detach();
  for (const char* name : {"r1", "r2"}) {
    async::spawn(rt(), [&, name] {
      std::shared_lock lk(rw);
      trace.push_back(std::string(name) + " reads");
      async::this_fiber::yield();
      trace.push_back(std::string(name) + " done");
    }).detach();
  }
  async::spawn(rt(), [&] {
    std::unique_lock lk(rw);
    trace.push_back("w2 writes");
  }).detach();
  async::spawn(rt(), [&] {
    std::shared_lock lk(rw);
    trace.push_back("r3 reads");
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"w1 writes", "w1 done", "r1 reads", "r2 reads", "r1 done", "r2 done", "w2 writes",
                          "r3 reads"}));
}

TEST_F(CppSyncTest, SharedMutexTryTimedAndMisuse) {
  ASYNC_FIFO_ONLY();
  async::shared_mutex rw;
  async::binary_semaphore step(0);
  async::binary_semaphore go(0);
  async::spawn(rt(), [&] {
    rw.lock();
    trace.push_back("exclusive then lock_shared: " + outcome_of([&] { rw.lock_shared(); }));
    trace.push_back("exclusive then lock: " + outcome_of([&] { rw.lock(); }));
    trace.push_back("try_lock: " + yes_no(rw.try_lock()) + ", try_lock_shared: " + yes_no(rw.try_lock_shared()));
    step.acquire();  // the other fiber times out meanwhile
    rw.unlock();
    trace.push_back("unlock again: " + outcome_of([&] { rw.unlock(); }));
    trace.push_back("unlock_shared: " + outcome_of([&] { rw.unlock_shared(); }));
    rw.lock_shared();
    go.acquire();
    rw.unlock_shared();  // hands the exclusive lock to the other fiber
  }).detach();
  async::spawn(rt(), [&] {
    trace.push_back("try_lock_shared_for 1ms: " + yes_no(rw.try_lock_shared_for(1ms)));
    trace.push_back("try_lock_shared_until past: " + yes_no(rw.try_lock_shared_until(steady::now() - 1s)));
    trace.push_back("try_lock_for 1ms: " + yes_no(rw.try_lock_for(1ms)));
    step.release();
    async::this_fiber::yield();  // now the first fiber holds a shared lock
    trace.push_back("reader holds; try_lock_until system_clock: " +
                    yes_no(rw.try_lock_until(std::chrono::system_clock::now() + 1ms)));
    trace.push_back("try_lock_shared_for 1h: " + yes_no(rw.try_lock_shared_for(1h)));  // readers share
    rw.unlock_shared();
    go.release();
    trace.push_back("try_lock_until 1h: " + yes_no(rw.try_lock_until(steady::now() + 1h)));
    rw.unlock();
    trace.push_back("free; try_lock_until past: " + yes_no(rw.try_lock_until(steady::now() - 1s)));
    rw.unlock();
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"exclusive then lock_shared: error EDEADLK", "exclusive then lock: error EDEADLK",
                          "try_lock: no, try_lock_shared: no", "try_lock_shared_for 1ms: no",
                          "try_lock_shared_until past: no", "try_lock_for 1ms: no", "unlock again: error ESTATE",
                          "unlock_shared: error ESTATE", "reader holds; try_lock_until system_clock: no",
                          "try_lock_shared_for 1h: yes", "try_lock_until 1h: yes", "free; try_lock_until past: yes"}));
}

TEST_F(CppSyncTest, SharedMutexLockCancelledWhileWaitingTakesNothing) {
  ASYNC_FIFO_ONLY();
  async::shared_mutex rw;
  async::fiber<void> r;
  async::fiber<void> w;
  async::spawn(rt(), [&] {
    std::unique_lock lk(rw);
    async::this_fiber::yield();  // r and w wait
    r.cancel();
    w.cancel();
    async::this_fiber::yield();
    trace.push_back("unlocks");
  }).detach();
  r = async::spawn(rt(), [&] { trace.push_back("r: " + outcome_of([&] { std::shared_lock lk(rw); })); });
  w = async::spawn(rt(), [&] { trace.push_back("w: " + outcome_of([&] { std::unique_lock lk(rw); })); });
  run_all();
  r.join();
  w.join();
  EXPECT_EQ(trace, (Trace{"r: cancelled", "w: cancelled", "unlocks"}));
  EXPECT_TRUE(rw.try_lock());
  rw.unlock();
}

TEST_F(CppSyncTest, SharedMutexUnlockAndUnlockSharedReleaseWhatTheCallerHolds) {
  async::shared_mutex rw;
  async::spawn(rt(), [&] {
    rw.lock_shared();
    rw.unlock();  // the same C call: releases the read lock
    trace.push_back("after lock_shared, unlock: free " + yes_no(rw.try_lock()));
    rw.unlock_shared();  // releases the write lock just taken
    trace.push_back("after lock, unlock_shared: free " + yes_no(rw.try_lock()));
    rw.unlock();
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"after lock_shared, unlock: free yes", "after lock, unlock_shared: free yes"}));
}

// --------------------------------------------------------------- call_once

TEST_F(CppSyncTest, CallOnceRunsTheFunctionOnceAndCallersArrivingMeanwhileWait) {
  ASYNC_FIFO_ONLY();
  async::once_flag flag;
  int runs = 0;
  for (const char* name : {"a", "b", "c"}) {
    async::spawn(rt(), [&, name] {
      trace.push_back(std::string(name) + " calls");
      async::call_once(
          flag,
          [&](const std::string& who) {
            ++runs;
            trace.push_back("f runs in " + who);
            async::this_fiber::yield();  // f may suspend: b and c wait meanwhile
            trace.push_back("f returns");
          },
          std::string(name));
      trace.push_back(std::string(name) + " returns");
    }).detach();
  }
  run_all();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(trace, (Trace{"a calls", "f runs in a", "b calls", "c calls", "f returns", "a returns", "b returns",
                          "c returns"}));
  async::call_once(flag, [&] { ++runs; });  // done: returns at once
  EXPECT_EQ(runs, 1);
}

TEST_F(CppSyncTest, CallOnceAfterAThrowLetsTheNextCallerRunTheFunction) {
  ASYNC_FIFO_ONLY();
  async::once_flag flag;
  auto f = [&](const char* who) {
    trace.push_back(std::string("f runs in ") + who);
    if (std::string(who) == "a") {
      async::this_fiber::yield();
      throw std::runtime_error("boom");
    }
  };
  for (const char* name : {"a", "b", "c"}) {
    async::spawn(rt(), [&, name] {
      trace.push_back(std::string(name) + ": " + outcome_of([&] { async::call_once(flag, f, name); }));
    }).detach();
  }
  run_all();
  EXPECT_EQ(trace, (Trace{"f runs in a", "a: other: boom", "f runs in b", "b: ok", "c: ok"}));
}

TEST_F(CppSyncTest, CallOnceMisuseCancellationAndPlainThreads) {
  ASYNC_FIFO_ONLY();
  async::once_flag flag;
  async::fiber<void> b;
  async::spawn(rt(), [&] {
    // f calling call_once on its own flag: edeadlk, so the flag stays unset.
    trace.push_back("recursive: " +
                    outcome_of([&] { async::call_once(flag, [&] { async::call_once(flag, [] {}); }); }));
    async::call_once(flag, [&] {
      async::this_fiber::yield();  // b waits
      b.cancel();
      trace.push_back("f cancelled b");
      async::this_fiber::yield();
      trace.push_back("f returns");
    });
  }).detach();
  b = async::spawn(rt(), [&] {
    trace.push_back("b: " + outcome_of([&] { async::call_once(flag, [&] { trace.push_back("b runs f"); }); }));
  });
  run_all();
  b.join();
  EXPECT_EQ(trace, (Trace{"recursive: error EDEADLK", "f cancelled b", "b: cancelled", "f returns"}));
}

// -------------------------------------------------------------- all classes

TEST(CppSyncTypesTest, ObjectsCanBeNeitherCopiedNorMoved) {
  static_assert(!std::is_copy_constructible_v<async::mutex> && !std::is_move_constructible_v<async::mutex>);
  static_assert(!std::is_copy_assignable_v<async::mutex> && !std::is_move_assignable_v<async::mutex>);
  static_assert(!std::is_move_constructible_v<async::condition_variable>);
  static_assert(!std::is_move_constructible_v<async::counting_semaphore<>>);
  static_assert(!std::is_move_constructible_v<async::binary_semaphore>);
  static_assert(!std::is_move_constructible_v<async::wait_group>);
  static_assert(!std::is_move_constructible_v<async::shared_mutex>);
  static_assert(!std::is_move_constructible_v<async::once_flag>);
  static_assert(!std::is_move_constructible_v<async::fiber_local<int>>);
  static_assert(!std::is_move_assignable_v<async::fiber_local<int>>);
  static_assert(std::is_same_v<async::binary_semaphore, async::counting_semaphore<1>>);
}

TEST(CppSyncTypesTest, NativeGivesTheCObject) {
  async::mutex m;
  EXPECT_EQ(async_mutex_try_lock(m.native()), ASYNC_OK);
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  async::condition_variable cv;
  EXPECT_EQ(async_cond_broadcast(cv.native()), ASYNC_OK);
  async::counting_semaphore<> s(0);
  EXPECT_EQ(async_sem_release(s.native()), ASYNC_OK);
  EXPECT_TRUE(s.try_acquire());
  async::wait_group wg;
  EXPECT_EQ(async_waitgroup_add(wg.native(), 1), ASYNC_OK);
  EXPECT_EQ(outcome_of([&] { wg.add(-2); }), "error EINVAL");
  wg.done();
  async::shared_mutex rw;
  EXPECT_EQ(async_rwlock_try_rdlock(rw.native()), ASYNC_OK);
  EXPECT_FALSE(rw.try_lock());
  rw.unlock_shared();
}

// ------------------------------------------------------------ plain threads

// async/sync.h: "A blocking call outside a fiber (a plain thread, or a
// thread driving a runtime between fibers) returns ASYNC_ESTATE (async_once
// has its own rule)", even when it would not have to wait. The try forms
// work there. call_once follows async_once: a thread runs f itself unless
// f is running.
TEST_F(CppSyncTest, OutsideFibersBlockingCallsThrowEstateButCallOnceRunsF) {
  async::mutex m;
  trace.push_back("mutex lock, free: " + outcome_of([&] { m.lock(); }));
  trace.push_back("mutex try_lock_for, free: " + outcome_of([&] { (void)m.try_lock_for(1h); }));
  trace.push_back("mutex try_lock: " + yes_no(m.try_lock()));  // nothing was taken above
  m.unlock();
  async::shared_mutex rw;
  trace.push_back("shared_mutex lock: " + outcome_of([&] { rw.lock(); }));
  trace.push_back("shared_mutex lock_shared: " + outcome_of([&] { rw.lock_shared(); }));
  trace.push_back("shared_mutex try_lock_shared_until: " +
                  outcome_of([&] { (void)rw.try_lock_shared_until(steady::now() + 1h); }));
  trace.push_back("shared_mutex try_lock: " + yes_no(rw.try_lock()));
  rw.unlock();
  async::counting_semaphore<> s(1);
  trace.push_back("acquire, one free: " + outcome_of([&] { s.acquire(); }));
  trace.push_back("try_acquire: " + yes_no(s.try_acquire()));
  async::wait_group wg;
  trace.push_back("wait_group wait at zero: " + outcome_of([&] { wg.wait(); }));
  trace.push_back("wait_group wait_for at zero: " + outcome_of([&] { (void)wg.wait_for(1h); }));

  // call_once runs f on this thread; arguments are forwarded (move-only too).
  async::once_flag flag;
  int got = 0;
  const std::string first = outcome_of([&] {
    async::call_once(flag, [&](std::unique_ptr<int> p) { got = *p; }, std::make_unique<int>(7));
    async::call_once(flag, [&](std::unique_ptr<int> p) { got = *p; }, std::make_unique<int>(8));
  });
  trace.push_back("call_once: " + first + ", got " + std::to_string(got));
  // While a fiber runs f, this thread cannot wait for it; nor can f call
  // again when this thread runs it.
  async::once_flag busy;
  async::binary_semaphore go(0);
  auto f = async::spawn(rt(), [&] { async::call_once(busy, [&] { go.acquire(); }); });
  EXPECT_EQ(rt().run(), async::status::edeadlk);  // f waits for go
  trace.push_back("call_once while a fiber runs f: " + outcome_of([&] { async::call_once(busy, [] {}); }));
  go.release();
  run_all();
  f.join();
  async::once_flag nested;
  trace.push_back("call_once from its own f: " + outcome_of([&] {
                    async::call_once(nested, [&] { async::call_once(nested, [] {}); });
                  }));
  EXPECT_EQ(trace, (Trace{"mutex lock, free: error ESTATE", "mutex try_lock_for, free: error ESTATE",
                          "mutex try_lock: yes", "shared_mutex lock: error ESTATE",
                          "shared_mutex lock_shared: error ESTATE", "shared_mutex try_lock_shared_until: error ESTATE",
                          "shared_mutex try_lock: yes", "acquire, one free: error ESTATE", "try_acquire: yes",
                          "wait_group wait at zero: error ESTATE", "wait_group wait_for at zero: error ESTATE",
                          "call_once: ok, got 7", "call_once while a fiber runs f: error ESTATE",
                          "call_once from its own f: error ESTATE"}));
}

}  // namespace
