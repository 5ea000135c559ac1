// SPDX-License-Identifier: MIT
// common.h: what every part of libminiasync shares: the export macro, the
// CPU pause, a monotonic clock and a futex-style wait on a 32-bit word.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <climits>
#else
#include <condition_variable>
#include <mutex>
#endif

#include "../arch/cpu_relax.h"
#include "../core/clock.h"

// The 14 miniasync functions (and our additions) are exported through
// cmake/libminiasync.map; everything else is hidden.
#define MINIASYNC_EXPORT extern "C" __attribute__((visibility("default")))

namespace miniasync {

// The library's one pause instruction and one monotonic clock.
using async::detail::cpu_relax;
inline constexpr auto& now_ns = async::detail::real_now_ns;

// Sleeps while *word == expected, at most timeout_ns (0: no limit). Returns
// on a wake, a timeout, a changed word or spuriously: callers re-check.
#if defined(__linux__)
inline void word_wait(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ns) noexcept {
  timespec ts{}, *tp = nullptr;
  if (timeout_ns) {
    ts.tv_sec = time_t(timeout_ns / 1000000000u);
    ts.tv_nsec = long(timeout_ns % 1000000000u);
    tp = &ts;  // FUTEX_WAIT takes a relative, CLOCK_MONOTONIC timeout
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tp, nullptr, 0);
}
inline void word_wake(std::atomic<uint32_t>* word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}
#else
// Elsewhere: a small table of mutex + condition variable pairs keyed by the
// word's address (a parking lot). Wakers lock the bucket, so a waiter that
// checked the word under the lock cannot miss them.
struct park_bucket { std::mutex m; std::condition_variable cv; };
park_bucket& bucket_for(const void* p) noexcept;
inline void word_wait(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ns) noexcept {
  park_bucket& b = bucket_for(word);
  std::unique_lock<std::mutex> lk(b.m);
  if (word->load(std::memory_order_seq_cst) != expected) return;
  if (timeout_ns) b.cv.wait_for(lk, std::chrono::nanoseconds(timeout_ns));
  else b.cv.wait(lk);
}
inline void word_wake(std::atomic<uint32_t>* word, int) noexcept {
  park_bucket& b = bucket_for(word);
  { std::lock_guard<std::mutex> lk(b.m); }
  b.cv.notify_all();
}
#endif

}  // namespace miniasync
