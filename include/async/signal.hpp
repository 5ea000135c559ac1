// SPDX-License-Identifier: MIT
// async/signal.hpp: C++20 wrappers over async/signal.h: a fiber waits for
// any of a list of POSIX signals. They add std::chrono deadlines and
// exceptions, never behaviour the C calls lack: read async/signal.h for the
// model (from a runtime's first wait for a signal until its shutdown, every
// delivery is kept until a wait returns it; waits are served in the order
// they began, across runtimes). Include it on its own; it includes
// async.hpp:
//
//   #include "async/signal.hpp"
//   int signo = async::signal_wait({SIGINT, SIGTERM});  // inside a fiber
//
// Errors: async::cancelled when the calling fiber is cancelled (before the
// call, at once, taking nothing, or while it waits); async::error with
// status::einval for an empty list or a signal no program may wait for
// (0, SIGKILL, SIGSTOP, a fault signal, one past NSIG), status::estate
// outside a fiber, status::enomem or status::eio when the library could not
// start catching (its thread, its pipe). Running out of time is not an
// error: the timed forms return an empty optional.
#ifndef ASYNC_SIGNAL_HPP
#define ASYNC_SIGNAL_HPP

#include <chrono>
#include <initializer_list>
#include <optional>
#include <span>

#include "../async.hpp"

namespace async {

namespace detail {
inline std::optional<int> signal_wait_ns(std::span<const int> signals, std::uint64_t deadline_ns, const char* where) {
  int signo = 0;
  const async_status_t st = async_signal_wait_until(signals.data(), signals.size(), &signo, deadline_ns);
  if (st == ASYNC_OK) return signo;
  if (st == ASYNC_ETIMEDOUT) return std::nullopt;
  throw_status(st, where);
}
}  // namespace detail

// Suspends the calling fiber until one of `signals` is delivered (at once
// when one is kept) and returns it; the one listed first when several are
// kept. Throws as above.
inline int signal_wait(std::span<const int> signals) {
  return *detail::signal_wait_ns(signals, ASYNC_NO_DEADLINE, "async::signal_wait");
}
inline int signal_wait(std::initializer_list<int> signals) {
  return signal_wait(std::span<const int>(signals.begin(), signals.size()));
}

// As signal_wait, giving up at `t` (steady_clock: on Linux the runtime's
// own clock) with an empty optional. A deadline already past never
// suspends: it returns a kept signal or nothing, and still starts keeping
// the signals (async_signal_wait_until).
template <class Duration>
std::optional<int> signal_wait_until(std::span<const int> signals,
                                     const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
  return detail::signal_wait_ns(signals, detail::deadline_ns(t), "async::signal_wait_until");
}
template <class Duration>
std::optional<int> signal_wait_until(std::initializer_list<int> signals,
                                     const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
  return signal_wait_until(std::span<const int>(signals.begin(), signals.size()), t);
}

// As signal_wait, giving up after `d` (rounded up to whole nanoseconds;
// zero or negative: a check without waiting) with an empty optional.
template <class Rep, class Period>
std::optional<int> signal_wait_for(std::span<const int> signals, const std::chrono::duration<Rep, Period>& d) {
  return detail::signal_wait_ns(signals, detail::deadline_after_ns(detail::to_ns(d)), "async::signal_wait_for");
}
template <class Rep, class Period>
std::optional<int> signal_wait_for(std::initializer_list<int> signals, const std::chrono::duration<Rep, Period>& d) {
  return signal_wait_for(std::span<const int>(signals.begin(), signals.size()), d);
}

}  // namespace async

#endif  // ASYNC_SIGNAL_HPP
