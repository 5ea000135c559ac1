// SPDX-License-Identifier: MIT
// async/status.hpp: async::status (the codes of async/status.h), its
// std::error_category, and the exceptions every C++ call throws: async::error
// and async::cancelled. Part of <async.hpp>; compiles on its own.
#ifndef ASYNC_STATUS_HPP
#define ASYNC_STATUS_HPP

#include <string>
#include <system_error>
#include <type_traits>

#include "../async.h"

#if __cplusplus < 202002L
#error "the async C++ headers need C++20"
#endif
#if !defined(__cpp_exceptions)
#error "the async C++ headers report errors and cancellation with exceptions: build with them on"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ASYNC_HPP_COLD [[gnu::cold, gnu::noinline]]
#else
#define ASYNC_HPP_COLD
#endif

namespace async {

// The status codes of async.h (async/status.h), with the same values. The
// enumerators are the C names in lower case: the upper-case ones (EINVAL,
// ECANCELED, ...) are <cerrno> macros in every C++ program.
enum class status : int {
  ok = 0,           // ASYNC_OK: success
  einval = -1,      // ASYNC_EINVAL: invalid argument or misuse, stale handle
  enomem = -2,      // ASYNC_ENOMEM: out of memory, no fiber stack could be had
  efull = -3,       // ASYNC_EFULL: a fixed capacity is exhausted
  eclosed = -4,     // ASYNC_ECLOSED: closed
  ecanceled = -5,   // ASYNC_ECANCELED: cancelled (thrown as async::cancelled)
  etimedout = -6,   // ASYNC_ETIMEDOUT: timed out
  eagain = -7,      // ASYNC_EAGAIN: would block
  eio = -8,         // ASYNC_EIO: operating system I/O error
  estate = -9,      // ASYNC_ESTATE: wrong context (not in a fiber, run re-entered)
  edeadlk = -10,    // ASYNC_EDEADLK: fibers are blocked forever
};

static_assert(static_cast<int>(status::ok) == ASYNC_OK);
static_assert(static_cast<int>(status::einval) == ASYNC_EINVAL);
static_assert(static_cast<int>(status::enomem) == ASYNC_ENOMEM);
static_assert(static_cast<int>(status::efull) == ASYNC_EFULL);
static_assert(static_cast<int>(status::eclosed) == ASYNC_ECLOSED);
static_assert(static_cast<int>(status::ecanceled) == ASYNC_ECANCELED);
static_assert(static_cast<int>(status::etimedout) == ASYNC_ETIMEDOUT);
static_assert(static_cast<int>(status::eagain) == ASYNC_EAGAIN);
static_assert(static_cast<int>(status::eio) == ASYNC_EIO);
static_assert(static_cast<int>(status::estate) == ASYNC_ESTATE);
static_assert(static_cast<int>(status::edeadlk) == ASYNC_EDEADLK);

namespace detail {
#define ASYNC_HPP_COUNT_STATUS_(name, value, text) +1
inline constexpr int status_count = 0 ASYNC_STATUS_MAP(ASYNC_HPP_COUNT_STATUS_);
#undef ASYNC_HPP_COUNT_STATUS_
static_assert(status_count == 11, "async/status.h gained a code: add it to async::status");

// The error category of async::status. Messages are async_strerror()'s.
class status_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "async"; }

  std::string message(int value) const override {
    // Only values of the enum may be converted to async_status_t.
    switch (value) {
#define ASYNC_HPP_STATUS_CASE_(name, value, text) case value:
      ASYNC_STATUS_MAP(ASYNC_HPP_STATUS_CASE_)
#undef ASYNC_HPP_STATUS_CASE_
      return async_strerror(static_cast<async_status_t>(value));
      default:
        return "unknown status";
    }
  }

  // Codes with a portable meaning compare equal to their std::errc.
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<status>(value)) {
      case status::einval: return std::errc::invalid_argument;
      case status::enomem: return std::errc::not_enough_memory;
      case status::ecanceled: return std::errc::operation_canceled;
      case status::etimedout: return std::errc::timed_out;
      case status::eagain: return std::errc::resource_unavailable_try_again;
      case status::eio: return std::errc::io_error;
      case status::edeadlk: return std::errc::resource_deadlock_would_occur;
      default: return std::error_condition(value, *this);
    }
  }
};
}  // namespace detail

// The category of every async::status: name() is "async", message() is
// async_strerror()'s text ("unknown status" for a value no code has).
// einval, enomem, ecanceled, etimedout, eagain, eio and edeadlk also compare
// equal to their std::errc (invalid_argument, not_enough_memory,
// operation_canceled, timed_out, resource_unavailable_try_again, io_error,
// resource_deadlock_would_occur). status::ok makes a false error_code.
inline const std::error_category& category() noexcept {
  static const detail::status_category instance;
  return instance;
}

inline std::error_code make_error_code(status s) noexcept {
  return std::error_code(static_cast<int>(s), category());
}

// A failed call. code() is the async::status (`e.code() == async::status::efull`);
// what() is "<call>: <async_strerror text>".
class error : public std::system_error {
 public:
  explicit error(async::status s) : std::system_error(make_error_code(s)) {}
  error(async::status s, const char* what_arg) : std::system_error(make_error_code(s), what_arg) {}

  // code() as an async::status.
  async::status status_code() const noexcept { return static_cast<async::status>(code().value()); }
};

// The calling fiber was cancelled, or the fiber being joined ended cancelled.
// Its code() is status::ecanceled and what() is "canceled". Let it escape the
// fiber's callable: the fiber then ends as cancelled.
class cancelled : public error {
 public:
  cancelled() : error(async::status::ecanceled) {}
};

namespace detail {
// Throws the exception for a failed C call: cancelled for ECANCELED, else
// error with `where` (the C++ call) in what().
[[noreturn]] ASYNC_HPP_COLD inline void throw_status(async_status_t st, const char* where) {
  if (st == ASYNC_ECANCELED) throw cancelled();
  throw error(static_cast<status>(st), where);
}
}  // namespace detail

}  // namespace async

namespace std {
template <>
struct is_error_code_enum<async::status> : true_type {};
}  // namespace std

#undef ASYNC_HPP_COLD

#endif  // ASYNC_STATUS_HPP
