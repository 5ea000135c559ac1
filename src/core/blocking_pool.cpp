// SPDX-License-Identifier: MIT
// blocking_pool.cpp: the workers, their queue, and a fiber's wait for its
// job. docs/design.md, "The blocking pool", has the protocol.
//
// The queue is a mutex and a condition variable: a job costs one lock on
// each side, and fibers hold the lock only for a few instructions (a push),
// never while suspended. Workers start when a job arrives and no idle worker
// is left for it, up to the bound; an idle worker exits after idle_ns
// without a job. Nothing here allocates: the pool lives in static storage
// and jobs on their fibers' stacks.
#include "blocking_pool.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "checked_mutex.h"
#include "home_guard.h"
#include "remote.h"
#include "spin_lock.h"
#include "spin_wait.h"

namespace async::detail {
namespace {

constexpr std::uint32_t default_max_threads = 64;
constexpr std::uint32_t max_threads_limit = 4096;
constexpr std::uint64_t default_idle_ns = 10'000'000'000;  // 10 s
// About 11.6 days: a deadline of now + idle_ns must fit steady_clock's
// signed nanoseconds.
constexpr std::uint64_t max_idle_ns = 1'000'000'000'000'000;

struct pool {
  checked_mutex lock;
  std::condition_variable ready;  // a job was queued
  blocking_job* head ASYNC_TS_GUARDED_BY(lock) = nullptr;  // FIFO of jobs not taken yet
  blocking_job* tail ASYNC_TS_GUARDED_BY(lock) = nullptr;
  std::uint32_t queued ASYNC_TS_GUARDED_BY(lock) = 0;
  std::uint32_t threads ASYNC_TS_GUARDED_BY(lock) = 0;  // alive, busy or idle
  // Waiting on `ready` (counted until they hold the lock again).
  std::uint32_t idle ASYNC_TS_GUARDED_BY(lock) = 0;
  // Watching `queued_hint` before they wait on `ready`.
  std::uint32_t spinning ASYNC_TS_GUARDED_BY(lock) = 0;
  // p.queued, readable without the lock by spinning workers.
  std::atomic<std::uint32_t> queued_hint{0};
  std::uint64_t started ASYNC_TS_GUARDED_BY(lock) = 0;
  std::uint32_t max_threads ASYNC_TS_GUARDED_BY(lock) = default_max_threads;
  std::uint64_t idle_ns ASYNC_TS_GUARDED_BY(lock) = default_idle_ns;
};

// A positive decimal from the environment, or `fallback`.
std::uint64_t env_number(const char* name, std::uint64_t fallback, std::uint64_t limit) noexcept {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0' || v == 0 || v > limit) return fallback;
  return v;
}

pool& the_pool() noexcept {
  // Never destroyed: detached workers may still wait on its condition
  // variable while the process runs its exit handlers.
  alignas(pool) static unsigned char storage[sizeof(pool)];
  static pool* const p = [] {
    pool* q = new (storage) pool{};
    checked_guard lk(q->lock);  // not shared yet; for -Wthread-safety's sake
    q->max_threads = static_cast<std::uint32_t>(
        env_number("ASYNC_BLOCKING_THREADS", default_max_threads, max_threads_limit));
    q->idle_ns = env_number("ASYNC_BLOCKING_IDLE_MS", default_idle_ns / 1'000'000, max_idle_ns / 1'000'000) *
                 1'000'000;
    return q;
  }();
  return *p;
}

// The worker's part after fn: wake the fiber through its runtime's inbox,
// then say so in the job. That store is the worker's last access to the
// job, the task and the runtime: the fiber (or its runtime's shutdown) waits
// for it before the stack or the runtime goes away. The futex wake after it
// uses only the word's address, which the kernel does not dereference.
void complete(blocking_job* j) noexcept {
  task* t = j->waiter;
  t->wake_status = ASYNC_OK;
  post_task_event(*t->rt, t, remote_wake);
  if (j->state.exchange(job_done, std::memory_order_acq_rel) == job_watched) thread_wake(j->state);
}

// How long a worker that just finished a job watches the queue before it
// sleeps on the condition variable: a fiber that calls again at once (a
// loop of short calls, the usual shape) then finds it awake, and neither
// side pays the futex wake and the thread's wake-up, which cost 5-20 us or
// more on a loaded machine. Bounded, and only right after a job.
constexpr std::uint64_t worker_spin_ns = 10'000;

// Watches the queue for worker_spin_ns without the lock, yielding every
// spin_yield_ns (the thread that posts the next job may share this CPU);
// true when a job came. The caller holds p.lock and holds it again on return.
bool spin_for_job(pool& p) noexcept ASYNC_TS_REQUIRES(p.lock) {
  ++p.spinning;
  p.lock.unlock();
  const bool came = spin_until([&p] { return p.queued_hint.load(std::memory_order_relaxed) != 0; }, worker_spin_ns,
                               spin_yield_ns);
  p.lock.lock();
  --p.spinning;
  return came && p.head != nullptr;
}

void* worker_main(void* arg) noexcept {
  pool& p = *static_cast<pool*>(arg);
  p.lock.lock();
  bool just_worked = false;
  for (;;) {
    // A submit that saw this worker spinning did not notify: the check of
    // the queue after the spin (under the lock) is what takes its job.
    if (p.head == nullptr && just_worked) (void)spin_for_job(p);
    just_worked = false;  // a wake without a job (spurious, or taken by another) sleeps again at once
    if (p.head == nullptr) {
      // Idle since now; the limit is read again after every wake, so that
      // blocking_pool_configure applies to workers already waiting.
      const auto since = std::chrono::steady_clock::now();
      ++p.idle;
      while (p.head == nullptr) {
        const auto limit = since + std::chrono::nanoseconds(p.idle_ns);
        if (cv_wait_until(p.ready, p.lock, limit) == std::cv_status::timeout && p.head == nullptr &&
            std::chrono::steady_clock::now() >= since + std::chrono::nanoseconds(p.idle_ns)) {
          --p.idle;
          --p.threads;
          p.lock.unlock();
          return nullptr;
        }
      }
      --p.idle;
    }
    blocking_job* j = p.head;
    p.head = j->next;
    if (p.head == nullptr) p.tail = nullptr;
    --p.queued;
    p.queued_hint.store(p.queued, std::memory_order_relaxed);
    p.lock.unlock();
    j->fn(j->user);
    complete(j);
    just_worked = true;
    p.lock.lock();
  }
}

// Starts one worker (under p.lock; it waits for the lock before looking at
// the queue). Workers block every asynchronous signal, so that signals meant
// for the program reach its own threads (a signalfd or sigwait there keeps
// working); faults (SIGSEGV, ...) still reach their handlers.
bool start_worker(pool& p) noexcept ASYNC_TS_REQUIRES(p.lock) {
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&all, sig);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t th;
  const int rc = pthread_create(&th, nullptr, worker_main, &p);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) return false;
  pthread_detach(th);
  ++p.threads;
  ++p.started;
  return true;
}

// Queues `j`, starting a worker when every idle one already has a job
// waiting for it. False (nothing queued) when no worker exists and none can
// be started; with workers alive the job just waits for one of them.
bool submit(blocking_job* j) noexcept {
  pool& p = the_pool();
  bool wake;
  {
    checked_guard lk(p.lock);
    if (p.queued + 1 > p.idle + p.spinning && p.threads < p.max_threads && !start_worker(p) &&
        p.threads == 0) {
      return false;
    }
    j->next = nullptr;
    if (p.tail != nullptr) {
      p.tail->next = j;
    } else {
      p.head = j;
    }
    p.tail = j;
    ++p.queued;
    p.queued_hint.store(p.queued, std::memory_order_relaxed);
    // Spinning workers take the first jobs without a wake.
    wake = p.idle != 0 && p.queued > p.spinning;
  }
  // A worker that times out meanwhile takes the job anyway: it checks the
  // queue under the lock before it leaves.
  if (wake) p.ready.notify_one();
  return true;
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected, nullptr,
          nullptr, 0);
#else
  word.wait(expected, std::memory_order_acquire);
#endif
}

// Until the worker is done with the job (and with the task and the
// runtime). Usually it is by the time the fiber runs again: the runtime had
// to take the wake from its inbox first. A worker preempted between the
// post and its last store is waited for on the word.
void wait_done(blocking_job& j) noexcept {
  for (int i = 0; i < 64; ++i) {
    if (j.state.load(std::memory_order_acquire) == job_done) return;
    cpu_relax();
  }
  std::uint32_t s = job_pending;
  if (!j.state.compare_exchange_strong(s, job_watched, std::memory_order_acq_rel) && s == job_done) return;
  while (j.state.load(std::memory_order_acquire) != job_done) futex_wait(j.state, job_watched);
}

// task::wait_abort of a blocking call. A timer or a cancel cannot withdraw
// it: fn runs to its end and its wake is on the way (false). A runtime's
// shutdown (detach) waits for that end here, before stacks and the runtime
// are freed, so the worker never touches either after they are gone.
bool abort_blocking(task* t, bool detach) noexcept {
  if (detach) wait_done(*static_cast<blocking_job*>(t->xfer));
  return false;
}

}  // namespace

async_status_t run_blocking(task* self, async_fn fn, void* user) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  blocking_job job;
  job.fn = fn;
  job.user = user;
  job.waiter = self;
  runtime& rt = *self->rt;
  // Set before the job is visible: a shutdown finds the wait through them.
  // The wake cannot come before the park: only this thread applies it.
  self->xfer = &job;
  self->wait_abort = &abort_blocking;
  if (!submit(&job)) {
    self->wait_abort = nullptr;
    return ASYNC_ENOMEM;
  }
  self->state = task_state::parked;
  self->wait = wait_kind::blocking;
  // Waiting for another thread: the runtime blocks for it instead of
  // reporting a deadlock.
  begin_foreign_wait(rt);
  (void)park(self);
  end_foreign_wait(rt);
  self->wait_abort = nullptr;
  wait_done(job);
  return self->cancelled ? ASYNC_ECANCELED : ASYNC_OK;
}

void blocking_pool_configure(std::uint32_t max_threads, std::uint64_t idle_ns) noexcept {
  pool& p = the_pool();
  {
    checked_guard lk(p.lock);
    if (max_threads != 0) p.max_threads = max_threads < max_threads_limit ? max_threads : max_threads_limit;
    if (idle_ns != 0) p.idle_ns = idle_ns < max_idle_ns ? idle_ns : max_idle_ns;
  }
  p.ready.notify_all();  // idle workers re-read their limit
}

blocking_pool_stats blocking_pool_snapshot() noexcept {
  pool& p = the_pool();
  checked_guard lk(p.lock);
  blocking_pool_stats s;
  s.threads = p.threads;
  s.idle = p.idle;
  s.queued = p.queued;
  s.started = p.started;
  s.max_threads = p.max_threads;
  return s;
}

}  // namespace async::detail
