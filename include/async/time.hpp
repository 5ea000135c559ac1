// SPDX-License-Identifier: MIT
// async/time.hpp: how std::chrono durations and steady_clock time points
// become the nanosecond timeouts and runtime-clock deadlines of the C calls
// (async_now_ns()). Used by every timed call of the C++ headers.
#ifndef ASYNC_TIME_HPP
#define ASYNC_TIME_HPP

#include <chrono>
#include <cstdint>

#include "../async.h"

namespace async {

namespace detail {
// A duration in whole nanoseconds, rounded up (sleeps last at least that
// long); 0 for a duration <= 0; UINT64_MAX ("forever") past what
// std::chrono::nanoseconds holds (about 292 years).
template <class Rep, class Period>
constexpr std::uint64_t to_ns(const std::chrono::duration<Rep, Period>& d) noexcept {
  if (d <= d.zero()) return 0;
  if (std::chrono::duration<double, std::nano>(d).count() >= 9223372036854775808.0) return UINT64_MAX;
  return static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::nanoseconds>(d).count());
}

// The deadline on the runtime's clock (async_now_ns(), `base`) for the
// steady_clock time point `t`, steady_clock's now being `now`. 0 (already
// past) for a deadline past; UINT64_MAX (never) for one further away than
// about 146 years. Used where steady_clock may not be the runtime's clock.
template <class Duration>
std::uint64_t deadline_from(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                            std::chrono::steady_clock::time_point now, std::uint64_t base) noexcept {
  // Compare in double first: `t - now` overflows for far deadlines.
  using fns = std::chrono::duration<double, std::nano>;
  const double ahead = fns(t.time_since_epoch()).count() - fns(now.time_since_epoch()).count();
  if (ahead >= 0x1p62) return UINT64_MAX;
  if (ahead <= 0) return 0;
  const std::uint64_t ns = to_ns(t - now);
  return ns > UINT64_MAX - base ? UINT64_MAX : base + ns;
}

// The deadline on the runtime's clock for a steady_clock time point.
template <class Duration>
std::uint64_t deadline_ns(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) noexcept {
#if defined(__linux__)
  // steady_clock is CLOCK_MONOTONIC on Linux (libstdc++ and libc++), the
  // clock of the runtime's timers: its time points are deadlines as they
  // are, exactly, so equal time points make equal deadlines. A virtual clock
  // (ASYNC_CONFIG_VIRTUAL_TIME) has no relation to steady_clock but "now":
  // there the time point's distance from now is kept instead.
  if (async_now_is_virtual() != 0) [[unlikely]] {
    return deadline_from(t, std::chrono::steady_clock::now(), async_now_ns());
  }
  return to_ns(t.time_since_epoch());
#else
  const auto now = std::chrono::steady_clock::now();
  return deadline_from(t, now, async_now_ns());
#endif
}

// The runtime-clock deadline `ns` from now (saturating: UINT64_MAX is never).
inline std::uint64_t deadline_after_ns(std::uint64_t ns) noexcept {
  const std::uint64_t now = async_now_ns();
  return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}
}  // namespace detail

}  // namespace async

#endif  // ASYNC_TIME_HPP
