// SPDX-License-Identifier: MIT
// spin_lock.h: a lock for critical sections of a few instructions that any
// thread may enter (a fiber must never block its thread in a mutex: the
// holder may be a fiber of the same thread that cannot run meanwhile, so the
// sections guarded by this lock never suspend and never call out).
#pragma once

#include <atomic>

#include "../arch/cpu_relax.h"
#include "../arch/thread_safety.h"

namespace async::detail {

// A capability for clang's -Wthread-safety (arch/thread_safety.h): fields
// marked ASYNC_TS_GUARDED_BY(some spin_lock) are checked to be touched under it.
class ASYNC_TS_CAPABILITY("spin_lock") spin_lock {
 public:
  void lock() noexcept ASYNC_TS_ACQUIRE() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) cpu_relax();
    }
  }
  bool try_lock() noexcept ASYNC_TS_TRY_ACQUIRE(true) {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept ASYNC_TS_RELEASE() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// std::lock_guard without <mutex>.
class ASYNC_TS_SCOPED_CAPABILITY spin_guard {
 public:
  explicit spin_guard(spin_lock& l) noexcept ASYNC_TS_ACQUIRE(l) : l_(l) { l_.lock(); }
  ~spin_guard() ASYNC_TS_RELEASE() { l_.unlock(); }
  spin_guard(const spin_guard&) = delete;
  spin_guard& operator=(const spin_guard&) = delete;

 private:
  spin_lock& l_;
};

// A spin_guard for a lock the caller already holds (taken by guard_lock,
// home_guard.h): releases it at the end of the scope.
class ASYNC_TS_SCOPED_CAPABILITY spin_adopt {
 public:
  explicit spin_adopt(spin_lock& l) noexcept ASYNC_TS_REQUIRES(l) : l_(l) {}
  ~spin_adopt() ASYNC_TS_RELEASE() { l_.unlock(); }
  spin_adopt(const spin_adopt&) = delete;
  spin_adopt& operator=(const spin_adopt&) = delete;

 private:
  spin_lock& l_;
};

}  // namespace async::detail
