// SPDX-License-Identifier: MIT
// home_guard.cpp: the slow paths of home_guard.h: the barrier that makes a
// guard shared, the contended lock, and waking a waiter on another thread.
#include "home_guard.h"

#include <sched.h>

#include <cerrno>
#include <cstdlib>

#if defined(__linux__)
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "remote.h"

namespace async::detail {

std::atomic<bool> home_fence_needed{true};

void home_guard_setup() noexcept {
  static const bool registered = [] {
    bool ok = false;
#if defined(__linux__) && defined(SYS_membarrier)
    ok = std::getenv("ASYNC_NO_MEMBARRIER") == nullptr &&
         syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
    home_fence_needed.store(!ok, std::memory_order_relaxed);
    return ok;
  }();
  (void)registered;
}

void home_guard_init(home_guard& g, const void* home, bool shared) noexcept {
  g.home = shared ? nullptr : home;
  g.in_op.store(0, std::memory_order_relaxed);
  g.shared.store(shared || home == nullptr, std::memory_order_relaxed);
}

// Once membarrier is registered, the other side fences no more
// (light_barrier), so a fence here alone would not do: a call that fails
// (the kernel may be short of memory for its CPU mask) is tried again, and
// one that cannot succeed (an error that registration excludes) ends the
// process rather than let a home thread or a spinner go unordered.
void barrier_all_threads() noexcept {
#if defined(__linux__) && defined(SYS_membarrier)
  if (!home_fence_needed.load(std::memory_order_relaxed)) {
    while (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
      if (errno != ENOMEM && errno != EINTR && errno != EAGAIN) std::abort();
      sched_yield();
    }
    return;
  }
#endif
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

// Its holder may wake another thread (a futex or eventfd write) and be
// preempted by it on a busy machine: after a short spin, waiters yield the
// CPU instead of burning their time slice.
void guard_lock_slow(spin_lock& l) noexcept ASYNC_TS_ACQUIRE(l) {
  for (unsigned i = 0; !l.try_lock(); ++i) {
    cpu_relax();
    if (i >= 128) sched_yield();
  }
}

void make_shared(home_guard& g) noexcept {
  guard_lock(g);
  spin_adopt u(g.lock);
  if (g.shared.load(std::memory_order_relaxed)) return;
  g.shared.store(true, std::memory_order_seq_cst);
  // Without a home thread (async_once_t's zero state) nobody went lock-free.
  if (g.home == nullptr) return;
  barrier_all_threads();
  for (unsigned i = 0; g.in_op.load(std::memory_order_acquire) != 0; ++i) {
    cpu_relax();
    if (i >= 256) sched_yield();
  }
}

void thread_wake(std::atomic<std::uint32_t>& word) noexcept {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr, nullptr, 0);
#else
  word.notify_one();
#endif
}

void deliver_shared(task* t, async_status_t st) noexcept {
  runtime* rt = t->rt;
  if (rt == nullptr) {
    t->wake_status = st;
    t->remote.node.pending.store(1, std::memory_order_release);
    thread_wake(t->remote.node.pending);
  } else if (rt->owner == thread_token()) {
    wake_plain(t, st);
  } else {
    t->wake_status = st;
    post_task_event(*rt, t, remote_wake);
  }
}

}  // namespace async::detail
