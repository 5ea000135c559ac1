// SPDX-License-Identifier: MIT
// checked_mutex.h: std::mutex as a capability for clang's -Wthread-safety
// (arch/thread_safety.h). libstdc++'s std::mutex carries no annotations, so
// fields under one could not say so; these wrappers add the attributes and
// nothing else. Used for the registry, the channel lists, the blocking pool
// and the signal holds (fls.cpp's key lock guards only atomics: left as is).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "../arch/thread_safety.h"

namespace async::detail {

class ASYNC_TS_CAPABILITY("mutex") checked_mutex {
 public:
  void lock() noexcept ASYNC_TS_ACQUIRE() { m_.lock(); }
  bool try_lock() noexcept ASYNC_TS_TRY_ACQUIRE(true) { return m_.try_lock(); }
  void unlock() noexcept ASYNC_TS_RELEASE() { m_.unlock(); }
  // For std::condition_variable; see cv_wait_until below.
  std::mutex& native() noexcept { return m_; }

 private:
  std::mutex m_;
};

// std::lock_guard for a checked_mutex.
class ASYNC_TS_SCOPED_CAPABILITY checked_guard {
 public:
  explicit checked_guard(checked_mutex& m) noexcept ASYNC_TS_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~checked_guard() ASYNC_TS_RELEASE() { m_.unlock(); }
  checked_guard(const checked_guard&) = delete;
  checked_guard& operator=(const checked_guard&) = delete;

 private:
  checked_mutex& m_;
};

// cv.wait_until with `m` held, as std::condition_variable's: held again on
// return (the analysis sees it held throughout, which is what callers need).
template <typename Clock, typename Duration>
std::cv_status cv_wait_until(std::condition_variable& cv, checked_mutex& m,
                          const std::chrono::time_point<Clock, Duration>& limit) ASYNC_TS_REQUIRES(m) {
  std::unique_lock<std::mutex> lk(m.native(), std::adopt_lock);
  const std::cv_status st = cv.wait_until(lk, limit);
  lk.release();  // still held, by the caller
  return st;
}

}  // namespace async::detail
