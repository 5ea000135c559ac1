// SPDX-License-Identifier: MIT
// home_guard.h: who may touch an object that fibers of any runtime (and other
// threads) can use, such as a channel or a mutex. Until the object is
// shared, only its home thread touches it, without a lock; the first
// operation from any other thread makes it shared for good, and from then on
// every operation takes a spin lock. docs/design.md, "Channels across
// threads", has the argument.
//
// The home thread's operation stores in_op = 1, reads `shared`, and stores
// in_op = 0 when done (two plain stores and a load on x86). The first other
// thread takes the lock, sets `shared`, makes every thread of the process
// pass a full barrier (membarrier: the home thread's store of in_op is then
// visible, or its load of `shared` comes after), and waits for in_op == 0.
// Where membarrier is missing, the home thread pays a full fence per
// operation instead (home_fence_needed).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime.h"
#include "spin_lock.h"

namespace async::detail {

// How an operation on a guarded object may wait.
enum class wait_mode { never, forever, until };

struct home_guard {
  const void* home;  // thread_token() of the home thread; nullptr: shared from the start
  std::atomic<std::uint32_t> in_op;
  std::atomic<bool> shared;
  spin_lock lock;
};

// Sets up the process-wide barrier once; call before the first guard is used.
void home_guard_setup() noexcept;
// A guard with home thread `home` (nullptr, or `shared`: shared at once).
void home_guard_init(home_guard& g, const void* home, bool shared) noexcept;

// Whether the home thread must fence each operation (no membarrier).
extern std::atomic<bool> home_fence_needed;

// The cheap side of an asymmetric fence: a compiler barrier where
// barrier_all_threads() reaches every thread (membarrier), else a full fence.
inline void light_barrier() noexcept {
  if (home_fence_needed.load(std::memory_order_relaxed)) [[unlikely]] {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
}

// The expensive side: when it returns, every thread of the process has
// passed a full barrier since it was called (membarrier; a failed call is
// tried again). Without membarrier it is a fence on this thread, which
// pairs with light_barrier()'s fence on the other side.
void barrier_all_threads() noexcept;

// Takes a shared guard's lock, yielding the CPU after a short spin.
[[gnu::noinline]] void guard_lock_slow(spin_lock& l) noexcept ASYNC_TS_ACQUIRE(l);
inline void guard_lock(home_guard& g) noexcept ASYNC_TS_ACQUIRE(g.lock) {
  if (!g.lock.try_lock()) [[unlikely]] guard_lock_slow(g.lock);
}

// Makes the guard shared for good. Called holding no other guard (the wait
// for in_op must not wait on a thread that waits for us).
[[gnu::noinline]] void make_shared(home_guard& g) noexcept;

inline void ensure_shared(home_guard& g) noexcept {
  if (!g.shared.load(std::memory_order_acquire)) make_shared(g);
}

// Enters an operation: lock-free on the home thread while not shared
// (returns true), else under the lock (false). Not checked by -Wthread-safety:
// whether it takes g.lock depends on the home fast path (top of this file).
// try_enter_home is the first half: true when the home fast path was entered.
[[gnu::always_inline]] inline bool try_enter_home(home_guard& g) noexcept {
  if (g.home == thread_token()) [[likely]] {
    g.in_op.store(1, std::memory_order_relaxed);
    light_barrier();
    if (!g.shared.load(std::memory_order_acquire)) [[likely]] return true;
    g.in_op.store(0, std::memory_order_release);
  }
  return false;
}

// The other half: the object is shared (made so if it was not), under its lock.
inline void enter_shared(home_guard& g) noexcept ASYNC_TS_NO_ANALYSIS {
  ensure_shared(g);
  guard_lock(g);
}

[[gnu::always_inline]] inline bool enter(home_guard& g) noexcept ASYNC_TS_NO_ANALYSIS {
  if (try_enter_home(g)) [[likely]] return true;
  enter_shared(g);
  return false;
}

// Leaves it; `home` is what enter returned (unchecked, as enter).
[[gnu::always_inline]] inline void leave(home_guard& g, bool home) noexcept ASYNC_TS_NO_ANALYSIS {
  if (home) [[likely]] {
    g.in_op.store(0, std::memory_order_release);
  } else {
    g.lock.unlock();
  }
}

// leave() without enter's answer: on the home thread in_op != 0 exactly
// while it holds the guard without the lock (enter clears it before falling
// back to the lock).
inline bool entered_at_home(const home_guard& g) noexcept {
  return g.home == thread_token() && g.in_op.load(std::memory_order_relaxed) != 0;
}

inline void leave_any(home_guard& g) noexcept { leave(g, entered_at_home(g)); }

struct op_guard {
  home_guard& g;
  bool home;
  explicit op_guard(home_guard& guard) noexcept : g(guard), home(enter(guard)) {}
  ~op_guard() { leave(g, home); }
  op_guard(const op_guard&) = delete;
  op_guard& operator=(const op_guard&) = delete;
};

// Wakes the parked waiter `t` whose wait the caller completed, holding a
// shared guard: at once when its runtime is the calling thread's, else
// through its runtime's inbox; a thread waiter (rt == nullptr) through its
// word (task::remote.node.pending). The waiter leaves only after it took the
// guard again or its runtime applied the wake (a runtime's shutdown first
// takes its fibers off every guarded object, under the guard), so `t` is
// alive here.
[[gnu::noinline]] void deliver_shared(task* t, async_status_t st) noexcept;

// deliver_shared, or a plain local wake while the guard is not shared (every
// waiter is then a fiber of a runtime of this, the home, thread).
[[gnu::always_inline]] inline void deliver(home_guard& g, task* t, async_status_t st) noexcept {
  if (!g.shared.load(std::memory_order_relaxed)) [[likely]] {
    wake_plain(t, st);
  } else {
    deliver_shared(t, st);
  }
}

// Wakes a thread blocked in thread_sleep on `word`.
void thread_wake(std::atomic<std::uint32_t>& word) noexcept;

}  // namespace async::detail
