// SPDX-License-Identifier: MIT
// clock.h: the real clock, CLOCK_MONOTONIC in nanoseconds, for deadlines and
// spin limits throughout the library (async_now_ns() reads it too, unless the
// runtime runs on virtual time: runtime.h, clock_ns).
#pragma once

#include <cstdint>
#include <ctime>

namespace async::detail {

inline std::uint64_t real_now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace async::detail
