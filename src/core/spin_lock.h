// SPDX-License-Identifier: MIT
// spin_lock.h: a lock for critical sections of a few instructions that any
// thread may enter (a fiber must never block its thread in a mutex: the
// holder may be a fiber of the same thread that cannot run meanwhile, so the
// sections guarded by this lock never suspend and never call out).
#pragma once

#include <atomic>

#include "../arch/cpu_relax.h"

namespace async::detail {

class spin_lock {
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) cpu_relax();
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// std::lock_guard without <mutex>.
class spin_guard {
 public:
  explicit spin_guard(spin_lock& l) noexcept : l_(l) { l_.lock(); }
  ~spin_guard() { l_.unlock(); }
  spin_guard(const spin_guard&) = delete;
  spin_guard& operator=(const spin_guard&) = delete;

 private:
  spin_lock& l_;
};

}  // namespace async::detail
