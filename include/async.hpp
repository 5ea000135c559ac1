// SPDX-License-Identifier: MIT
// async.hpp: the C++20 API of the async fiber runtime. It is header-only and
// built only on async.h: it adds RAII, typed results, exceptions and
// std::chrono, never behaviour that the C API lacks. Read async.h for the
// model (one thread per runtime, a deterministic FIFO scheduler, cooperative
// cancellation); this header says how each call maps onto it.
//
// Threads: as in C, a runtime and its fibers are used from the thread that
// created the runtime. The objects below are not synchronised: a fiber<T> is
// joined, cancelled, detached and destroyed on that thread.
//
// Errors: a call that fails throws async::error (a std::system_error whose
// code() is an async::status), except the few that return [[nodiscard]]
// async::status as the C call does (runtime::run, async::run), and the
// channel<T> calls, which report closed, timed out and would-block without
// throwing (see channel<T>). Every status is a std::error_code in the
// category async::category().
//
// Cancellation surfaces as an exception: every call here that suspends the
// calling fiber (this_fiber::yield, sleep_for, sleep_until, fiber<T>::join,
// the blocking and timed channel<T> calls, the locks and waits of
// async/sync.hpp) throws async::cancelled once the
// calling fiber has been cancelled, so the fiber's stack unwinds and its
// destructors run. The fiber then ends as
// cancelled if async::cancelled escapes its callable. Code that catches
// async::cancelled and goes on keeps getting it from every suspending call,
// so a cancelled fiber cannot block again.
//
// Exceptions never reach the C layer: the trampoline that runs a callable on
// its fiber catches everything the callable throws, on the fiber's stack, and
// keeps it for fiber<T>::join(). (The C core switches the C++ runtime's
// per-thread exception state with each fiber, so a fiber may suspend inside a
// catch block.)
#ifndef ASYNC_HPP
#define ASYNC_HPP

#include <chrono>
#include <concepts>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

#include "async.h"

#if __cplusplus < 202002L
#error "async.hpp needs C++20"
#endif
#if !defined(__cpp_exceptions)
#error "async.hpp reports errors and cancellation with exceptions: build with them on"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ASYNC_HPP_COLD [[gnu::cold, gnu::noinline]]
#else
#define ASYNC_HPP_COLD
#endif

namespace async {

// ------------------------------------------------------------------- status

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

namespace async {

// ------------------------------------------------------------ configuration

// Runtime configuration, converted to async_config_t for async_runtime_init.
// Each setter returns *this, so they chain:
//   async::runtime rt(async::config{}.task_capacity(16).fiber_stack_size(32 * 1024));
// A getter of the same name reads each field. 0 in a size means the C
// default, as in async_config_t; values are checked by the runtime.
class config {
 public:
  constexpr config() noexcept = default;

  constexpr config& task_capacity(std::size_t n) noexcept {
    task_capacity_ = n;
    return *this;
  }
  constexpr config& fiber_capacity(std::size_t n) noexcept {
    fiber_capacity_ = n;
    return *this;
  }
  constexpr config& fiber_stack_size(std::size_t bytes) noexcept {
    fiber_stack_size_ = bytes;
    return *this;
  }
  constexpr config& max_events(std::size_t n) noexcept {
    max_events_ = n;
    return *this;
  }
  constexpr config& guard_pages(bool on) noexcept {
    guard_pages_ = on;
    return *this;
  }
  // A seeded schedule (async.h, "Seeded schedules"); 0: FIFO, unless
  // ASYNC_SCHEDULE_SEED is set in the environment.
  constexpr config& schedule_seed(std::uint64_t seed) noexcept {
    schedule_seed_ = seed;
    return *this;
  }
  // With a seed: PCT of depth `depth` (0: uniform random picks), its change
  // points among the first `steps` picks (0: 100).
  constexpr config& schedule_pct(std::uint32_t depth, std::uint32_t steps = 0) noexcept {
    schedule_pct_depth_ = depth;
    schedule_pct_steps_ = steps;
    return *this;
  }
  // ASYNC_CONFIG_VIRTUAL_TIME (async.h): the runtime's clock jumps to the
  // next deadline whenever nothing is runnable. Use the _for forms of timed
  // calls there; _until with a steady_clock time point is exact only to a
  // few nanoseconds (this_fiber::sleep_until).
  constexpr config& virtual_time(bool on) noexcept {
    virtual_time_ = on;
    return *this;
  }

  constexpr std::size_t task_capacity() const noexcept { return task_capacity_; }
  constexpr std::size_t fiber_capacity() const noexcept { return fiber_capacity_; }
  constexpr std::size_t fiber_stack_size() const noexcept { return fiber_stack_size_; }
  constexpr std::size_t max_events() const noexcept { return max_events_; }
  constexpr bool guard_pages() const noexcept { return guard_pages_; }
  constexpr bool virtual_time() const noexcept { return virtual_time_; }
  constexpr std::uint64_t schedule_seed() const noexcept { return schedule_seed_; }
  constexpr std::uint32_t schedule_pct_depth() const noexcept { return schedule_pct_depth_; }
  constexpr std::uint32_t schedule_pct_steps() const noexcept { return schedule_pct_steps_; }

  // The C configuration with these values.
  constexpr async_config_t native() const noexcept {
    async_config_t c{};
    c.task_capacity = task_capacity_;
    c.fiber_capacity = fiber_capacity_;
    c.fiber_stack_size = fiber_stack_size_;
    c.max_events = max_events_;
    c.flags = (guard_pages_ ? 0u : ASYNC_CONFIG_NO_GUARD_PAGES) | (virtual_time_ ? ASYNC_CONFIG_VIRTUAL_TIME : 0u);
    c.schedule_seed = schedule_seed_;
    c.schedule_pct_depth = schedule_pct_depth_;
    c.schedule_pct_steps = schedule_pct_steps_;
    return c;
  }
  constexpr operator async_config_t() const noexcept { return native(); }

 private:
  std::size_t task_capacity_ = ASYNC_DEFAULT_TASK_CAPACITY;        // most fibers alive at once
  std::size_t fiber_capacity_ = ASYNC_DEFAULT_FIBER_CAPACITY;      // most fibers holding a stack
  std::size_t fiber_stack_size_ = ASYNC_DEFAULT_FIBER_STACK_SIZE;  // bytes per pooled stack
  std::size_t max_events_ = ASYNC_DEFAULT_MAX_EVENTS;              // poller events per wait
  bool guard_pages_ = true;               // a guard page below every pooled stack
  bool virtual_time_ = false;             // the runtime's clock is virtual
  std::uint64_t schedule_seed_ = 0;       // 0: FIFO (or $ASYNC_SCHEDULE_SEED)
  std::uint32_t schedule_pct_depth_ = 0;  // 0: uniform random picks
  std::uint32_t schedule_pct_steps_ = 0;  // 0: 100
};

// ------------------------------------------------------------------ runtime

// What runtime::stats() reports (async.h).
using runtime_stats = async_runtime_stats_t;

// A runtime of your own: async_runtime_init in the constructor,
// async_runtime_shutdown in the destructor. The constructing thread owns it.
// It can be neither copied nor moved: fiber handles point at it.
//
// Destroy it when its fibers have ended (run() returned status::ok): the C
// shutdown drops unfinished fibers without unwinding them, so their stack
// objects are never destroyed and the C++ state of their fibers (callable,
// result slot) is never freed. Do not destroy it from one of its own fibers
// or while it runs (shutdown then does nothing and everything leaks).
class runtime {
 public:
  // Throws async::error: einval for a bad config (unknown flags, a stack
  // below ASYNC_MIN_STACK_SIZE), enomem.
  runtime() : runtime(config{}) {}
  explicit runtime(const config& cfg) : runtime(cfg.native()) {}
  // From a C configuration (e.g. the one async_explore hands each run).
  explicit runtime(const async_config_t& cfg) {
    const async_status_t st = async_runtime_init(&rt_, &cfg);
    if (st != ASYNC_OK) detail::throw_status(st, "async::runtime");
  }
  ~runtime() { async_runtime_shutdown(&rt_); }

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Runs fibers until the runtime is idle (async_runtime_run). Not a fiber
  // call: it does not suspend, it blocks the thread while fibers sleep.
  // Returns status::ok when every fiber has ended; edeadlk when fibers are
  // blocked forever; estate inside a fiber, when re-entered, or from a thread
  // that does not own the runtime. Never throws.
  [[nodiscard]] status run() noexcept { return static_cast<status>(async_runtime_run(&rt_)); }

  // The runtime's counters (async_runtime_stats).
  [[nodiscard]] runtime_stats stats() const noexcept {
    runtime_stats s{};
    (void)async_runtime_stats(const_cast<async_runtime_t*>(&rt_), &s);
    return s;
  }

  // Writes a dump of the runtime's fibers to `fd` (async_runtime_dump: the
  // format is in async.h, docs/debugging.md). From the owner thread only.
  // Returns status::ok; estate from another thread; einval for a negative
  // fd; eio when a write failed. Never throws.
  [[nodiscard]] status dump(int fd) noexcept { return static_cast<status>(async_runtime_dump(&rt_, fd)); }

  // The C runtime, for async.h calls.
  [[nodiscard]] async_runtime_t* native() noexcept { return &rt_; }

 private:
  async_runtime_t rt_{};
};

// Runs the calling thread's global runtime until it is idle (async_run).
// Same statuses as runtime::run(); never throws.
[[nodiscard]] inline status run() noexcept { return static_cast<status>(async_run()); }

// ------------------------------------------------------------- fiber_handle

// A copyable view of an async_fiber_handle_t: names a fiber without owning
// anything. Two handles compare equal when they name the same fiber.
class fiber_handle {
 public:
  constexpr fiber_handle() noexcept = default;  // names no fiber
  constexpr explicit fiber_handle(const async_fiber_handle_t& h) noexcept : h_(h) {}

  // True when it names a fiber (which may have ended).
  constexpr explicit operator bool() const noexcept { return h_.status == ASYNC_OK && h_.id != 0; }

  // Cancels the fiber (async_cancel): does not suspend. A fiber that has not
  // started never runs; a suspended one resumes with async::cancelled thrown
  // from its suspending call; a running one gets it at its next one. No-op
  // for a fiber that has ended. Throws async::error: einval for a handle
  // that names no fiber or is stale, estate from a foreign thread.
  void cancel() const {
    const async_status_t st = async_cancel(h_);
    if (st != ASYNC_OK) detail::throw_status(st, "async::fiber_handle::cancel");
  }

  [[nodiscard]] constexpr const async_fiber_handle_t& native() const noexcept { return h_; }

  friend constexpr bool operator==(const fiber_handle& a, const fiber_handle& b) noexcept {
    return a.h_.id == b.h_.id && a.h_.runtime == b.h_.runtime;
  }

 private:
  async_fiber_handle_t h_{};
};

// --------------------------------------------------------------- this_fiber

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

inline void sleep_ns(std::uint64_t ns, const char* where) {
  const async_status_t st = async_sleep_ns(ns);
  if (st != ASYNC_OK) [[unlikely]] throw_status(st, where);
}

inline void sleep_until_ns(std::uint64_t deadline_ns, const char* where) {
  const async_status_t st = async_sleep_until_ns(deadline_ns);
  if (st != ASYNC_OK) [[unlikely]] throw_status(st, where);
}
}  // namespace detail

// Calls about the calling fiber.
namespace this_fiber {

// Moves the calling fiber to the tail of the run queue and runs the others
// (async_yield). Suspends. Throws async::cancelled in a cancelled fiber
// (without yielding), async::error(estate) outside any fiber.
inline void yield() {
  const async_status_t st = async_yield();
  if (st != ASYNC_OK) [[unlikely]] detail::throw_status(st, "async::this_fiber::yield");
}

// Suspends the calling fiber for at least `d` (async_sleep_ns, on
// CLOCK_MONOTONIC; rounded up to whole nanoseconds). Always suspends: a zero
// or negative `d` sleeps until the scheduler next looks at its timers, as
// async_sleep_ns(0). Throws async::cancelled when the fiber is cancelled
// (also while it sleeps: it wakes at once), async::error(estate) outside any
// fiber.
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
  detail::sleep_ns(detail::to_ns(d), "async::this_fiber::sleep_for");
}

// Suspends the calling fiber until `t` (async_sleep_until_ns): an absolute
// deadline, so a retry loop never stretches the total wait. The deadline is
// on std::chrono::steady_clock, which on Linux is the runtime's own clock
// (CLOCK_MONOTONIC): fibers sleeping until equal time points wake together,
// in the order they began sleeping, and fibers wake in deadline order. Under
// ASYNC_CONFIG_VIRTUAL_TIME the time point's distance from steady_clock's
// now is added to the virtual now, which is exact only to the nanoseconds
// between the two reads: use sleep_for (and the other _for forms) there.
// Always suspends: a deadline already past behaves as sleep_for(0).
// time_point::max() (any deadline beyond the clock's range) sleeps until
// cancelled. Throws as sleep_for.
template <class Duration>
void sleep_until(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
  detail::sleep_until_ns(detail::deadline_ns(t), "async::this_fiber::sleep_until");
}

// True when the calling fiber has been cancelled; false outside fibers.
// Does not suspend or throw: use it to stop a loop that never suspends.
[[nodiscard]] inline bool is_cancelled() noexcept { return async_is_cancelled() != 0; }

// The calling fiber's handle; outside any fiber, a handle that names no fiber.
[[nodiscard]] inline fiber_handle self() noexcept {
  const async_fiber_handle_t h = async_self();
  return h.status == ASYNC_OK ? fiber_handle(h) : fiber_handle();
}

}  // namespace this_fiber

// -------------------------------------------------------------------- fiber

template <class T>
class fiber;

namespace detail {

// Where a fiber's result waits for join(): a T, a T& (as a pointer), or nothing.
template <class T>
class result_slot {
 public:
  result_slot() noexcept {}
  ~result_slot() {}
  result_slot(const result_slot&) = delete;
  result_slot& operator=(const result_slot&) = delete;

  // Constructs the result in place from the callable's prvalue (no move).
  template <class F>
  void emplace_from(F&& f) {
    ::new (static_cast<void*>(std::addressof(value_))) stored(std::invoke(std::forward<F>(f)));
  }
  T take() { return std::move(value_); }
  void destroy() noexcept { value_.~stored(); }

 private:
  using stored = std::remove_cv_t<T>;
  union {
    stored value_;
  };
};

template <class T>
class result_slot<T&> {
 public:
  template <class F>
  void emplace_from(F&& f) {
    ptr_ = std::addressof(std::invoke(std::forward<F>(f)));
  }
  T& take() noexcept { return *ptr_; }
  void destroy() noexcept {}

 private:
  T* ptr_ = nullptr;
};

template <>
class result_slot<void> {
 public:
  template <class F>
  void emplace_from(F&& f) {
    std::invoke(std::forward<F>(f));
  }
  void take() noexcept {}
  void destroy() noexcept {}
};

enum class fiber_outcome : unsigned char { pending, value, exception, cancelled };

// The state a fiber and its fiber<T> share: one heap allocation, made by
// spawn, holding the callable (in fiber_state_for) and the outcome. It is
// freed by join(), by ~fiber when the fiber has ended, or else by the
// trampoline when the fiber ends after its fiber<T> let go (detached).
template <class T>
struct fiber_state {
  fiber_state() = default;
  fiber_state(const fiber_state&) = delete;
  fiber_state& operator=(const fiber_state&) = delete;
  virtual ~fiber_state() {
    if (outcome_ == fiber_outcome::value) result_.destroy();
  }

  // The fiber and its fiber<T> may be on different threads (a group): the
  // flags are atomic, and whichever of the two lets go last frees the state.
  static constexpr unsigned char started_bit = 1;   // the callable runs or ran
  static constexpr unsigned char done_bit = 2;      // the trampoline will not touch the state again
  static constexpr unsigned char detached_bit = 4;  // no fiber<T> owns the state any more

  bool started() const noexcept { return (flags_.load(std::memory_order_acquire) & started_bit) != 0; }
  bool done() const noexcept { return (flags_.load(std::memory_order_acquire) & done_bit) != 0; }
  bool detached() const noexcept { return (flags_.load(std::memory_order_acquire) & detached_bit) != 0; }
  void mark_started() noexcept { flags_.fetch_or(started_bit, std::memory_order_acq_rel); }
  // The fiber's side is over; true when the fiber<T> had let go already (the
  // caller frees the state).
  bool finish() noexcept { return (flags_.fetch_or(done_bit, std::memory_order_acq_rel) & detached_bit) != 0; }
  // The fiber<T> lets go; true when the fiber's side was over already (the
  // caller frees the state).
  bool let_go() noexcept { return (flags_.fetch_or(detached_bit, std::memory_order_acq_rel) & done_bit) != 0; }

  // The fiber will never run (cancelled before it started): it ends cancelled.
  void end_unstarted() noexcept { outcome_ = fiber_outcome::cancelled; }

  result_slot<T> result_;
  std::exception_ptr error_;                         // when outcome_ is exception
  fiber_outcome outcome_ = fiber_outcome::pending;  // final once done
  std::atomic<unsigned char> flags_{0};
};

template <class F, class T>
struct fiber_state_for final : fiber_state<T> {
  template <class G>
  explicit fiber_state_for(G&& g) : fn_(std::forward<G>(g)) {}
  ~fiber_state_for() override {
    if (!this->started()) fn_.~F();
  }

  // The async_fn of every C++ fiber. Runs on the fiber's stack; nothing
  // escapes it (noexcept), so nothing unwinds into the C layer.
  static void trampoline(void* user) noexcept {
    auto* s = static_cast<fiber_state_for*>(user);
    s->mark_started();
    try {
      s->result_.emplace_from(std::move(s->fn_));
      s->outcome_ = fiber_outcome::value;
    } catch (const cancelled&) {
      s->outcome_ = fiber_outcome::cancelled;
    } catch (...) {
      // Like std::thread: an exception nobody can join for ends the program.
      if (s->detached()) std::terminate();
      s->error_ = std::current_exception();
      s->outcome_ = fiber_outcome::exception;
    }
    // The callable (and what it captured) is destroyed on the fiber, as
    // std::thread destroys its copy on the new thread.
    s->fn_.~F();
    if (s->finish()) delete s;
  }

  // async_spawn_options_t::on_discard: the trampoline will never run, or
  // never return (the fiber was cancelled before it started, or its runtime
  // was shut down first). The fiber ends as cancelled; a detached fiber's
  // state is freed. The callable of a fiber dropped mid-run is not
  // destroyed: its stack was discarded without unwinding.
  static void discard(void* user) noexcept {
    auto* s = static_cast<fiber_state_for*>(user);
    if (s->started()) {
      s->outcome_ = fiber_outcome::cancelled;
    } else {
      s->end_unstarted();
    }
    if (s->finish()) delete s;
  }

  union {
    F fn_;
  };
};

template <class F>
using spawn_result_t = std::invoke_result_t<std::decay_t<F>>;

// What spawn accepts: a callable, invoked as an rvalue with no arguments
// (like std::thread), whose result join() can hand back.
template <class F>
concept spawnable = std::constructible_from<std::decay_t<F>, F> && std::invocable<std::decay_t<F>> &&
                    (std::is_void_v<spawn_result_t<F>> || std::is_lvalue_reference_v<spawn_result_t<F>> ||
                     std::move_constructible<std::remove_cv_t<spawn_result_t<F>>>);

struct fiber_access;

template <class F>
fiber<spawn_result_t<F>> spawn_on(async_runtime_t* rt, F&& f, const char* where);

}  // namespace detail

// Owns a fiber started by async::spawn and, once it ends, its result.
// Move-only. Destroying (or move-assigning over) a joinable fiber<T> detaches
// it, as detach() does. A fiber<T> may outlive its runtime, but then it may
// only be destroyed: join(), cancel() and handle().cancel() read the runtime.
template <class T>
class fiber {
 public:
  using result_type = T;

  fiber() noexcept = default;  // owns no fiber
  fiber(fiber&& other) noexcept
      : h_(std::exchange(other.h_, async_fiber_handle_t{})), state_(std::exchange(other.state_, nullptr)) {}
  fiber& operator=(fiber&& other) noexcept {
    if (this != &other) {
      release();
      h_ = std::exchange(other.h_, async_fiber_handle_t{});
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  ~fiber() { release(); }

  // True until join() or detach() (or a move) gives the fiber up.
  [[nodiscard]] bool joinable() const noexcept { return state_ != nullptr; }

  // The fiber's handle while joinable; a handle that names no fiber after.
  [[nodiscard]] fiber_handle handle() const noexcept { return fiber_handle(h_); }

  // Waits for the fiber to end and hands over its outcome; afterwards the
  // fiber<T> is no longer joinable and its state is freed.
  // Inside a fiber: suspends the caller until the fiber ends. Outside any
  // fiber: drives the fiber's runtime (runs its fibers on this thread) until
  // it ends, as async_await does. Returns at once if it has already ended.
  // Returns the callable's result (a T& result refers to what the callable
  // returned). Rethrows, as it was thrown, the exception the callable let
  // escape. Throws async::cancelled when the fiber ended as cancelled: the
  // callable let async::cancelled escape, or the fiber was cancelled before it
  // started (it never ran). A fiber that was cancelled but caught
  // async::cancelled and returned normally gives its result.
  // Also throws, leaving the fiber<T> joinable:
  //  - async::cancelled when the *calling* fiber is cancelled and this fiber
  //    has not ended (a fiber that has ended is still joined);
  //  - async::error(einval) when not joinable, when joining the calling fiber
  //    itself or, inside a fiber, a fiber of another runtime;
  //  - async::error(edeadlk) outside a fiber when the fiber can never end;
  //  - async::error(estate) from a thread that does not own the runtime.
  T join() {
    if (state_ == nullptr) throw error(status::einval, "async::fiber::join");
    if (!state_->done()) {
      const async_status_t st = async_await(h_);
      if (!state_->done()) {
        if (!ended_without_running(st)) detail::throw_status(st, "async::fiber::join");
        state_->end_unstarted();
      }
    }
    std::unique_ptr<detail::fiber_state<T>> s(std::exchange(state_, nullptr));
    h_ = async_fiber_handle_t{};
    switch (s->outcome_) {
      case detail::fiber_outcome::value:
        return s->result_.take();
      case detail::fiber_outcome::exception:
        std::rethrow_exception(s->error_);
      default:
        throw cancelled();
    }
  }

  // Cancels the fiber (async_cancel); does not suspend, and it stays
  // joinable. A fiber that has not started never runs (join() throws
  // async::cancelled); a suspended one resumes with async::cancelled thrown
  // from its suspending call; a running one (the caller itself) gets it at
  // its next one. No-op once the fiber has ended. Throws async::error:
  // einval when not joinable, estate from a thread that does not own the
  // runtime.
  void cancel() {
    if (state_ == nullptr) throw error(status::einval, "async::fiber::cancel");
    if (state_->done()) return;
    const async_status_t st = async_cancel(h_);
    // A record is recycled only after its fiber ended: EINVAL for a fiber
    // that never started means it ended without running (on_discard said so).
    if (st != ASYNC_OK && !(st == ASYNC_EINVAL && !state_->started())) {
      detail::throw_status(st, "async::fiber::cancel");
    }
  }

  // Lets the fiber run on unowned; the fiber<T> is no longer joinable.
  // If the fiber has ended, its state (and an exception it stored) is freed
  // now; otherwise the fiber frees it when it ends, and an exception other
  // than async::cancelled escaping its callable then calls std::terminate,
  // as for a std::thread. A detached fiber that never runs (cancelled
  // before it started, or its runtime shut down first) frees its state then.
  // Throws async::error(einval) when not joinable.
  void detach() {
    if (state_ == nullptr) throw error(status::einval, "async::fiber::detach");
    release();
  }

 private:
  friend struct detail::fiber_access;
  fiber(const async_fiber_handle_t& h, detail::fiber_state<T>* s) noexcept : h_(h), state_(s) {}

  // After async_await returned `st` and the callable has not ended: true
  // when the fiber ended without running (cancelled before it started).
  // ECANCELED says so unless the caller itself is cancelled (then it is
  // ambiguous, and join throws). EINVAL says so for a stale handle (the
  // record was recycled after the fiber ended), unless it came from joining,
  // inside a fiber, a fiber of another runtime.
  bool ended_without_running(async_status_t st) const noexcept {
    if (state_->started()) return false;
    if (st == ASYNC_ECANCELED) return async_is_cancelled() == 0;
    if (st != ASYNC_EINVAL) return false;
    const async_fiber_handle_t self = async_self();
    return self.status != ASYNC_OK || self.runtime == h_.runtime;
  }

  void release() noexcept {
    if (state_ == nullptr) return;
    if (state_->let_go()) delete state_;
    state_ = nullptr;
    h_ = async_fiber_handle_t{};
  }

  async_fiber_handle_t h_{};
  detail::fiber_state<T>* state_ = nullptr;
};

namespace detail {

struct fiber_access {
  template <class T>
  static fiber<T> make(const async_fiber_handle_t& h, fiber_state<T>* s) noexcept {
    return fiber<T>(h, s);
  }
};

// Makes the state for f and spawns it with `spawn_fn(fn, user, opts)`.
template <class F, class Spawn>
fiber<spawn_result_t<F>> spawn_with(F&& f, const char* where, Spawn&& spawn_fn) {
  using T = spawn_result_t<F>;
  using state = fiber_state_for<std::decay_t<F>, T>;
  auto s = std::make_unique<state>(std::forward<F>(f));
  async_spawn_options_t opts{};
  opts.on_discard = &state::discard;
  const async_fiber_handle_t h = spawn_fn(&state::trampoline, static_cast<void*>(s.get()), &opts);
  if (h.status != ASYNC_OK) [[unlikely]] throw_status(h.status, where);
  return fiber_access::make<T>(h, s.release());
}

template <class F>
fiber<spawn_result_t<F>> spawn_on(async_runtime_t* rt, F&& f, const char* where) {
  return spawn_with(std::forward<F>(f), where, [rt](async_fn fn, void* user, const async_spawn_options_t* opts) {
    return async_spawn_ex(rt, fn, user, opts);
  });
}

}  // namespace detail

// Starts `f()` as a new fiber and returns the fiber<T> that owns it, T being
// f's result type (void allowed). The callable is moved (or copied) into the
// fiber's state, invoked there as an rvalue, and destroyed on the fiber when
// it returns (when the state is freed, for a fiber that never ran).
// Spawning does not run anything: the fiber first runs when the
// scheduler reaches it, in spawn order. Does not suspend.
// This form spawns on the calling fiber's runtime, or outside any fiber on
// the calling thread's global runtime (async_spawn).
// Throws async::error: efull past task_capacity, enomem when no stack could
// be had, estate from a thread that does not own the runtime; std::bad_alloc
// (or what the callable's copy throws) when the state cannot be made. On a
// throw nothing was spawned.
template <class F>
  requires detail::spawnable<F>
fiber<detail::spawn_result_t<F>> spawn(F&& f) {
  return detail::spawn_on(nullptr, std::forward<F>(f), "async::spawn");
}

// As spawn(f), on the runtime `rt`. Any thread: from a thread that does not
// own rt the fiber joins rt at its next pass boundary, and the fiber<T> can be
// joined from any thread (see async_spawn_with and async_await).
template <class F>
  requires detail::spawnable<F>
fiber<detail::spawn_result_t<F>> spawn(runtime& rt, F&& f) {
  return detail::spawn_on(rt.native(), std::forward<F>(f), "async::spawn");
}

// ------------------------------------------------------------------- group

// Runtimes on threads of their own, one per thread (async_group_*): RAII.
// Fibers never move between runtimes; spawn(group&, f) places each fiber on
// the runtime with the fewest live fibers, and its fiber<T> can be joined
// (and cancelled) from any thread, exceptions included. The destructor stops
// the threads and drops fibers still alive (async_group_shutdown).
class group {
 public:
  // `threads` 0: as many as the CPUs the process may use. Throws
  // async::error: einval for a bad config, enomem, eio.
  explicit group(std::size_t threads = 0, const config& cfg = config{}) {
    const async_config_t c = cfg.native();
    const async_status_t st = async_group_init(&g_, threads, &c);
    if (st != ASYNC_OK) detail::throw_status(st, "async::group");
  }
  ~group() { async_group_shutdown(&g_); }

  group(const group&) = delete;
  group& operator=(const group&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return async_group_size(&g_); }

  // Blocks the calling thread until no fiber of the group is alive. Throws
  // async::error(estate) from one of the group's own threads.
  void wait() {
    const async_status_t st = async_group_wait(&g_);
    if (st != ASYNC_OK) detail::throw_status(st, "async::group::wait");
  }

  // Runtime i (nullptr past the end), for the C calls that take one.
  [[nodiscard]] async_runtime_t* native_runtime(std::size_t i) noexcept { return async_group_runtime(&g_, i); }
  [[nodiscard]] async_group_t* native() noexcept { return &g_; }

 private:
  async_group_t g_{};
};

// As spawn(f), on the group's least loaded runtime (async_group_spawn_ex).
template <class F>
  requires detail::spawnable<F>
fiber<detail::spawn_result_t<F>> spawn(group& g, F&& f) {
  async_group_t* native = g.native();
  return detail::spawn_with(std::forward<F>(f), "async::spawn",
                            [native](async_fn fn, void* user, const async_spawn_options_t* opts) {
                              return async_group_spawn_ex(native, fn, user, opts);
                            });
}

// As spawn(f), on the group's runtime `i` (async::error einval past the end).
template <class F>
  requires detail::spawnable<F>
fiber<detail::spawn_result_t<F>> spawn(group& g, std::size_t i, F&& f) {
  async_runtime_t* rt = g.native_runtime(i);
  if (rt == nullptr) throw error(status::einval, "async::spawn");
  return detail::spawn_on(rt, std::forward<F>(f), "async::spawn");
}

// ------------------------------------------------------------------ channel

namespace detail {
// The runtime-clock deadline `ns` from now (saturating: UINT64_MAX is never).
inline std::uint64_t deadline_after_ns(std::uint64_t ns) noexcept {
  const std::uint64_t now = async_now_ns();
  return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}
}  // namespace detail

// A bounded FIFO channel of T values (any std::movable T: move-only ones
// such as std::unique_ptr included) between fibers of any runtimes and plain
// threads, over the C pointer channel (async_channel_*). Non-copyable and non-movable; the
// destructor shuts it down and destroys the values still in it.
//
// Storage (no allocation per message): the constructor allocates a pool of
// capacity + 1 cells, each raw storage for one T. Two C channels move cell
// pointers: `data` (the given capacity and max_waiters) carries full cells
// from senders to receivers, and `free` (capacity + 1, no waiter bound)
// holds the empty cells, so it is also the queue of senders waiting for one.
// A send takes a free cell (waiting on `free` if none), moves its value into
// it and sends the cell's address on `data`; a receive takes a cell from
// `data`, moves the value out, destroys the cell's T and puts the cell back
// on `free`. A value never lives on a sender's stack while the C core holds
// its address: the C core may hand a parked sender's pointer straight to a
// receiver or pull it into its buffer and wake the sender before anyone
// reads it (async_channel_recv), so a stack address could dangle. A cell
// stays owned by whoever holds its pointer (the sender until the C send
// returns OK, then the C buffer or the receiver it was handed to) until the
// receiver has moved the value out, whatever the sender does meanwhile.
// A send that fails (closed, cancelled, timed out, efull) destroys the value
// in its cell (or, for try_send/send_for/send_until, moves it back into the
// caller's object) and frees the cell: an undelivered value is never seen by
// a receiver and is destroyed exactly once.
//
// What this means for behaviour, compared with the C channel:
//  - `capacity` values are buffered; 0 is a rendezvous (send returns once a
//    receiver has taken the value). Messages of one sender arrive in its
//    order, parked receivers are served FIFO, and senders waiting for room
//    are served FIFO among themselves.
//  - One cell beyond `capacity` lets one sender park on a full channel (or
//    wait for a receiver, unbuffered) while the others queue for a cell; a
//    value handed to a receiver keeps its cell until that receiver runs. So
//    a sender may also wait (and try_send report eagain) for that short
//    time, and a sender that waited for a cell can be overtaken by one that
//    arrives when a cell is free.
//  - max_waiters bounds the fibers parked on `data` (error efull past it);
//    senders queued for a cell are not counted.
//
// Statuses: a closed channel is reported without throwing (send returns
// false, the others status::eclosed or an empty optional); timeouts and
// "would block" too (status::etimedout, status::eagain, empty optional).
// Every call that may suspend throws async::cancelled in a cancelled fiber
// (as the other suspending calls); a value received before the cancel is
// still returned. Misuse throws async::error: estate for a suspending call
// outside a fiber or a *_blocking call inside one, efull past max_waiters.
//
// Threads: as the C channel, one channel<T> serves fibers of any runtimes
// and plain threads at once. Fibers use send/recv/select; a plain thread
// (not in a fiber) uses try_*, and send_blocking / recv_blocking (and their
// _until / _for forms), which block the thread with back-pressure.
//
// Destroy a channel only when no fiber or thread is parked on it or holds a
// value handed to it but not yet resumed (the woken fibers would touch it),
// and before its runtime.
namespace detail {
struct select_driver;
}  // namespace detail

template <class T>
class channel {
  static_assert(std::movable<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                "async::channel<T> needs a movable, non-cv object type T");
  friend struct detail::select_driver;

 public:
  using value_type = T;

  // async_channel_init of both C channels; the pool of capacity + 1 cells.
  // Any thread may construct it for any live runtime. Throws async::error:
  // einval (also for capacity SIZE_MAX), enomem; std::bad_alloc.
  channel(runtime& rt, std::size_t capacity, std::size_t max_waiters = 0)
      : channel(rt.native(), capacity, max_waiters) {}
  // The same on a C runtime (a group's: async_group_runtime).
  channel(async_runtime_t* rt, std::size_t capacity, std::size_t max_waiters = 0) {
    if (capacity == SIZE_MAX) throw error(status::einval, "async::channel");
    slots_ = capacity + 1;
    cells_.reset(new cell[slots_]);
    async_status_t st = async_channel_init(&data_, rt, capacity, max_waiters);
    if (st != ASYNC_OK) detail::throw_status(st, "async::channel");
    st = async_channel_init(&free_, rt, slots_, 0);
    if (st != ASYNC_OK) {
      async_channel_shutdown(&data_);
      detail::throw_status(st, "async::channel");
    }
    // The free buffer has room for every cell: these never fail.
    for (std::size_t i = 0; i < slots_; ++i) (void)async_channel_try_send(&free_, &cells_[i]);
  }

  ~channel() {
    async_channel_shutdown(&data_);
    async_channel_shutdown(&free_);
    for (std::size_t i = 0; i < slots_; ++i) {
      if (cells_[i].live) destroy(&cells_[i]);
    }
  }

  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  // Buffered values it holds at most (0: rendezvous).
  [[nodiscard]] std::size_t capacity() const noexcept { return data_.capacity; }

  // True once close() was called (receivers may still drain values).
  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_relaxed); }

  // Sends `v`, suspending while the channel is full (unbuffered: until a
  // receiver takes it). Returns true once the value is buffered or taken;
  // false when the channel is closed, before or while waiting (the value is
  // destroyed, not delivered). Throws async::cancelled when the calling fiber
  // is cancelled (the value is not delivered; it is destroyed as the stack
  // unwinds), async::error as the class comment says.
  bool send(T v) {
    const async_status_t st = send_cell(v, mode::block, 0);
    if (st == ASYNC_OK) return true;
    if (st == ASYNC_ECLOSED) return false;
    detail::throw_status(st, "async::channel::send");
  }

  // Sends without suspending; usable from any thread, outside fibers too.
  // `v` is moved from only on status::ok; otherwise it holds its value
  // again. Returns status::ok, status::eagain (full, or no free cell),
  // status::eclosed.
  [[nodiscard]] status try_send(T&& v) { return checked(send_cell(v, mode::never, 0), "async::channel::try_send"); }
  [[nodiscard]] status try_send(const T& v)
    requires std::copy_constructible<T>
  {
    T copy(v);
    return try_send(std::move(copy));
  }

  // As send, giving up at the steady_clock time point `t` (as
  // this_fiber::sleep_until) or after `d`. `v` is moved from only on
  // status::ok; otherwise it holds its value again. Returns status::ok,
  // status::etimedout, status::eclosed; throws as send.
  template <class Duration>
  [[nodiscard]] status send_until(T&& v, const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return checked(send_cell(v, mode::until, detail::deadline_ns(t)), "async::channel::send_until");
  }
  template <class Rep, class Period>
  [[nodiscard]] status send_for(T&& v, const std::chrono::duration<Rep, Period>& d) {
    return checked(send_cell(v, mode::until, detail::deadline_after_ns(detail::to_ns(d))),
                   "async::channel::send_for");
  }

  // Receives the oldest value, suspending while the channel is empty. Empty
  // once the channel is closed and drained. Throws async::cancelled when the
  // calling fiber is cancelled while waiting (a value handed to it before the
  // cancel is returned), async::error as the class comment says.
  [[nodiscard]] std::optional<T> recv() {
    void* p = nullptr;
    const async_status_t st = async_channel_recv(&data_, &p);
    if (st == ASYNC_OK) return take(p);
    if (st == ASYNC_ECLOSED) return std::nullopt;
    detail::throw_status(st, "async::channel::recv");
  }

  // Receives without suspending; usable from any thread, outside fibers too.
  // Empty when nothing is buffered and no sender waits, or when closed and
  // drained (closed() tells which).
  [[nodiscard]] std::optional<T> try_recv() {
    void* p = nullptr;
    const async_status_t st = async_channel_try_recv(&data_, &p);
    if (st == ASYNC_OK) return take(p);
    if (st == ASYNC_EAGAIN || st == ASYNC_ECLOSED) return std::nullopt;
    detail::throw_status(st, "async::channel::try_recv");
  }

  // As recv, giving up at `t` or after `d`: empty when timed out or closed
  // and drained (closed() tells which). Throws as recv.
  template <class Duration>
  [[nodiscard]] std::optional<T> recv_until(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return recv_deadline(detail::deadline_ns(t), "async::channel::recv_until");
  }
  template <class Rep, class Period>
  [[nodiscard]] std::optional<T> recv_for(const std::chrono::duration<Rep, Period>& d) {
    return recv_deadline(detail::deadline_after_ns(detail::to_ns(d)), "async::channel::recv_for");
  }

  // For plain threads (not in a fiber): as send / recv, blocking the calling
  // thread instead of suspending a fiber. send_blocking returns true once the
  // value is buffered or taken, false when the channel is closed (the value
  // is destroyed); recv_blocking is empty once closed and drained. Throws
  // async::error: estate inside a fiber, efull past max_waiters.
  bool send_blocking(T v) {
    const async_status_t st = send_cell(v, mode::thread_block, 0);
    if (st == ASYNC_OK) return true;
    if (st == ASYNC_ECLOSED) return false;
    detail::throw_status(st, "async::channel::send_blocking");
  }
  [[nodiscard]] std::optional<T> recv_blocking() {
    void* p = nullptr;
    const async_status_t st = async_channel_recv_blocking(&data_, &p);
    if (st == ASYNC_OK) return take(p);
    if (st == ASYNC_ECLOSED) return std::nullopt;
    detail::throw_status(st, "async::channel::recv_blocking");
  }

  // As send_blocking / recv_blocking, giving up at the steady_clock time
  // point `t` or after `d`. `v` is moved from only on status::ok (else it
  // holds its value again); returns status::ok, etimedout, eclosed. The recv
  // forms are empty when timed out or closed and drained (closed() tells).
  template <class Duration>
  [[nodiscard]] status send_blocking_until(T&& v,
                                           const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return checked(send_cell(v, mode::thread_until, detail::deadline_ns(t)), "async::channel::send_blocking_until");
  }
  template <class Rep, class Period>
  [[nodiscard]] status send_blocking_for(T&& v, const std::chrono::duration<Rep, Period>& d) {
    return checked(send_cell(v, mode::thread_until, detail::deadline_after_ns(detail::to_ns(d))),
                   "async::channel::send_blocking_for");
  }
  template <class Duration>
  [[nodiscard]] std::optional<T> recv_blocking_until(
      const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return recv_thread_deadline(detail::deadline_ns(t), "async::channel::recv_blocking_until");
  }
  template <class Rep, class Period>
  [[nodiscard]] std::optional<T> recv_blocking_for(const std::chrono::duration<Rep, Period>& d) {
    return recv_thread_deadline(detail::deadline_after_ns(detail::to_ns(d)), "async::channel::recv_blocking_for");
  }

  // Closes (async_channel_close): later sends fail with closed, parked and
  // queued senders wake and fail so (their values are destroyed or handed
  // back), receivers drain what is buffered and then get nothing. Does not
  // suspend; any thread may close. Returns true when this call closed it,
  // false when it was closed already.
  bool close() {
    const async_status_t st = async_channel_close(&data_);
    if (st == ASYNC_ECLOSED) return false;
    if (st != ASYNC_OK) detail::throw_status(st, "async::channel::close");
    closed_.store(true, std::memory_order_relaxed);
    (void)async_channel_close(&free_);
    return true;
  }

  // Range-for draining: `for (T v : ch)` receives with recv() until the
  // channel is closed and drained. begin() and ++ suspend and throw as recv.
  // *it is the received value as an rvalue (move it out once).
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    T&& operator*() const { return std::move(*value_); }
    iterator& operator++() {
      value_.reset();
      value_ = ch_->recv();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.value_.has_value(); }

   private:
    friend class channel;
    explicit iterator(channel* ch) : ch_(ch), value_(ch->recv()) {}
    channel* ch_ = nullptr;
    mutable std::optional<T> value_;
  };
  [[nodiscard]] iterator begin() { return iterator(this); }
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

 private:
  struct cell {
    alignas(T) unsigned char bytes[sizeof(T)];
    bool live = false;  // holds a constructed T
    T* get() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
  };
  enum class mode { block, until, never, thread_block, thread_until };

  static status checked(async_status_t st, const char* where) {
    if (st == ASYNC_OK || st == ASYNC_EAGAIN || st == ASYNC_ETIMEDOUT || st == ASYNC_ECLOSED) {
      return static_cast<status>(st);
    }
    detail::throw_status(st, where);
  }

  void destroy(cell* c) noexcept {
    c->get()->~T();
    c->live = false;
  }
  // Back on the free list; fails (harmlessly: nothing is sent any more) only
  // once closed. Never full: there are only slots_ cells.
  void release(cell* c) noexcept { (void)async_channel_try_send(&free_, c); }

  // Takes a free cell, moves `v` into it and sends it on `data`. On any
  // failure the cell is freed and `v` holds its value again.
  async_status_t send_cell(T& v, mode m, std::uint64_t deadline) {
    if (closed_.load(std::memory_order_relaxed)) return ASYNC_ECLOSED;
    void* p = nullptr;
    async_status_t st = m == mode::block          ? async_channel_recv(&free_, &p)
                        : m == mode::until        ? async_channel_recv_until(&free_, &p, deadline)
                        : m == mode::thread_block ? async_channel_recv_blocking(&free_, &p)
                        : m == mode::thread_until ? async_channel_recv_blocking_until(&free_, &p, deadline)
                                                  : async_channel_try_recv(&free_, &p);
    if (st != ASYNC_OK) return st;
    cell* c = static_cast<cell*>(p);
    try {
      ::new (static_cast<void*>(c->bytes)) T(std::move(v));
    } catch (...) {
      release(c);
      throw;
    }
    c->live = true;
    st = m == mode::block          ? async_channel_send(&data_, c)
         : m == mode::until        ? async_channel_send_until(&data_, c, deadline)
         : m == mode::thread_block ? async_channel_send_blocking(&data_, c)
         : m == mode::thread_until ? async_channel_send_blocking_until(&data_, c, deadline)
                                   : async_channel_try_send(&data_, c);
    if (st != ASYNC_OK) [[unlikely]] {
      // Not delivered: no receiver has the cell. Give the value back.
      struct freeing {
        channel* ch;
        cell* c;
        ~freeing() {
          ch->destroy(c);
          ch->release(c);
        }
      } guard{this, c};
      v = std::move(*c->get());
    }
    return st;
  }

  std::optional<T> recv_thread_deadline(std::uint64_t deadline, const char* where) {
    void* p = nullptr;
    const async_status_t st = async_channel_recv_blocking_until(&data_, &p, deadline);
    if (st == ASYNC_OK) return take(p);
    if (st == ASYNC_ETIMEDOUT || st == ASYNC_ECLOSED) return std::nullopt;
    detail::throw_status(st, where);
  }

  std::optional<T> recv_deadline(std::uint64_t deadline, const char* where) {
    void* p = nullptr;
    const async_status_t st = async_channel_recv_until(&data_, &p, deadline);
    if (st == ASYNC_OK) return take(p);
    if (st == ASYNC_ETIMEDOUT || st == ASYNC_ECLOSED) return std::nullopt;
    detail::throw_status(st, where);
  }

  // Moves the value out of the received cell and frees the cell.
  std::optional<T> take(void* p) {
    struct freeing {
      channel* ch;
      cell* c;
      ~freeing() {
        ch->destroy(c);
        ch->release(c);
      }
    } guard{this, static_cast<cell*>(p)};
    return std::optional<T>(std::in_place, std::move(*guard.c->get()));
  }

  async_channel_t data_{};  // full cells, sender to receiver
  async_channel_t free_{};  // empty cells; senders wait here for one
  std::unique_ptr<cell[]> cells_;
  std::size_t slots_ = 0;
  std::atomic<bool> closed_{false};  // any thread may close
};

// ------------------------------------------------------------------- select

// The result of a select: which case was chosen and what happened to it.
struct select_result {
  static constexpr std::size_t none = SIZE_MAX;
  std::size_t index = none;   // the chosen case, in argument order; none when no case was chosen
  status code = status::ok;   // ok: case `index` was done; eclosed: its channel is closed (a send
                              // case's value was not moved from, a recv case's optional is
                              // empty); etimedout (select_for/_until) or eagain (try_select):
                              // none was chosen
  [[nodiscard]] bool closed() const noexcept { return code == status::eclosed; }
  [[nodiscard]] bool timed_out() const noexcept { return code == status::etimedout; }
};

namespace detail {
template <class T>
struct recv_op {
  channel<T>* ch;
  std::optional<T>* out;
};
template <class T>
struct send_op {
  channel<T>* ch;
  T* value;
};
template <class Op>
inline constexpr bool is_select_op = false;
template <class T>
inline constexpr bool is_select_op<recv_op<T>> = true;
template <class T>
inline constexpr bool is_select_op<send_op<T>> = true;
}  // namespace detail

// A case receiving from `ch` into `out`: when chosen, `out` holds the value
// received, or is empty if the channel is closed and drained.
template <class T>
[[nodiscard]] detail::recv_op<T> recv_case(channel<T>& ch, std::optional<T>& out) noexcept {
  return {&ch, &out};
}

// A case sending `value` on `ch`. `value` is moved from only if this case is
// chosen with status::ok; otherwise it holds its value again when select
// returns (while the select waits, the value waits in one of the channel's
// cells). The case refers to `value`: a temporary is fine within the
// select(...) expression itself. Each send case of one select needs its own
// value object (select throws einval otherwise): to offer one value on
// several channels, give each case a copy.
template <class T>
[[nodiscard]] detail::send_op<T> send_case(channel<T>& ch, std::type_identity_t<T>& value) noexcept {
  return {&ch, &value};
}
template <class T>
[[nodiscard]] detail::send_op<T> send_case(channel<T>& ch, std::type_identity_t<T>&& value) noexcept {
  return {&ch, &value};
}

namespace detail {
// Runs a select over channel<T> cases on top of async_select. A send case
// first takes a free cell and moves its value in (the C case then sends the
// cell); when no cell is free its C case receives one from the channel's
// `free` channel instead, and once it gets one the select starts over with
// the value in that cell. So a send case is chosen only when a cell was free
// and `data` took it. Cells of cases not chosen are emptied back into their
// values.
struct select_driver {
  enum class mode { block, until, never };

  template <class... Ops>
  static select_result run(mode m, std::uint64_t deadline, const char* where, Ops... ops) {
    constexpr std::size_t n = sizeof...(Ops);
    // Each send case moves its value into a cell before the C select runs,
    // so two send cases cannot share one value object.
    const void* values[n > 0 ? n : 1] = {value_of(ops)...};
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (values[i] != nullptr && values[i] == values[j]) throw error(status::einval, where);
      }
    }
    std::tuple<Ops...> cases(ops...);
    async_select_case_t cc[n > 0 ? n : 1] = {};
    void* held[n > 0 ? n : 1] = {};  // send cases: the cell holding the value
    struct give_back {                // on every way out: values back from their cells
      std::tuple<Ops...>* cases;
      void** held;
      ~give_back() {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (restore(std::get<I>(*cases), held[I]), ...); }(
            std::index_sequence_for<Ops...>{});
      }
    } guard{&cases, held};
    for (;;) {
      [&]<std::size_t... I>(std::index_sequence<I...>) { (prepare(std::get<I>(cases), cc[I], held[I]), ...); }(
          std::index_sequence_for<Ops...>{});
      std::size_t chosen = ASYNC_SELECT_NONE;
      const async_status_t st = m == mode::block   ? async_select(cc, n, &chosen)
                                : m == mode::until ? async_select_until(cc, n, &chosen, deadline)
                                                   : async_try_select(cc, n, &chosen);
      if (chosen == ASYNC_SELECT_NONE) {
        if (st == ASYNC_ETIMEDOUT || st == ASYNC_EAGAIN) return {select_result::none, static_cast<status>(st)};
        throw_status(st, where);
      }
      bool done = false;
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (void)((chosen == I ? (done = finish(std::get<I>(cases), cc[I], held[I], st), true) : false) || ...);
      }(std::index_sequence_for<Ops...>{});
      if (done) return {chosen, static_cast<status>(st)};
      // A send case got a cell: try again with its value in it.
    }
  }

 private:
  template <class T>
  static const void* value_of(const recv_op<T>&) noexcept {
    return nullptr;
  }
  template <class T>
  static const void* value_of(const send_op<T>& op) noexcept {
    return op.value;
  }

  template <class T>
  static void prepare(recv_op<T>& op, async_select_case_t& sc, void*&) noexcept {
    sc.ch = &op.ch->data_;
    sc.op = ASYNC_SELECT_RECV;
  }
  template <class T>
  static bool finish(recv_op<T>& op, async_select_case_t& sc, void*&, async_status_t st) {
    if (st == ASYNC_OK) {
      *op.out = op.ch->take(sc.msg);
    } else {
      op.out->reset();
    }
    return true;
  }
  template <class T>
  static void restore(recv_op<T>&, void*) noexcept {}

  template <class T>
  static void prepare(send_op<T>& op, async_select_case_t& sc, void*& held) {
    channel<T>& ch = *op.ch;
    sc.op = ASYNC_SELECT_SEND;
    sc.ch = &ch.data_;
    sc.msg = held;
    if (held != nullptr || ch.closed_.load(std::memory_order_relaxed)) return;  // closed: the C case fails at once with ECLOSED
    void* p = nullptr;
    if (async_channel_try_recv(&ch.free_, &p) != ASYNC_OK) {
      sc.ch = &ch.free_;  // no free cell: wait for one
      sc.op = ASYNC_SELECT_RECV;
      return;
    }
    fill(ch, p, op.value);
    held = sc.msg = p;
  }
  template <class T>
  static bool finish(send_op<T>& op, async_select_case_t& sc, void*& held, async_status_t st) {
    channel<T>& ch = *op.ch;
    if (sc.op == ASYNC_SELECT_RECV) {  // waited for a cell
      if (st != ASYNC_OK) return true;  // closed
      fill(ch, sc.msg, op.value);
      held = sc.msg;
      return false;
    }
    if (st == ASYNC_OK) held = nullptr;  // delivered: the cell is the receiver's now
    return true;                         // ECLOSED: give_back returns the value
  }
  // Moves *value into the free cell `p`; on an exception the cell is freed.
  template <class T>
  static void fill(channel<T>& ch, void* p, T* value) {
    auto* c = static_cast<typename channel<T>::cell*>(p);
    try {
      ::new (static_cast<void*>(c->bytes)) T(std::move(*value));
    } catch (...) {
      ch.release(c);
      throw;
    }
    c->live = true;
  }
  template <class T>
  static void restore(send_op<T>& op, void* held) noexcept {
    if (held == nullptr) return;
    auto* c = static_cast<typename channel<T>::cell*>(held);
    *op.value = std::move(*c->get());
    op.ch->destroy(c);
    op.ch->release(c);
  }
};
}  // namespace detail

// Waits until one of the cases (recv_case, send_case; any channel<T> types,
// of any runtimes) can be done, does that one only, and returns its
// index. When several are ready, the first in argument order is chosen; a
// case on a closed channel is ready and chosen with status::eclosed. Suspends
// (unless a case is ready); inside a fiber only. The rules of async_select
// apply (order among waiters, rendezvous channels on either side, closed
// channels); for a send case, "ready" also needs a free cell (see channel:
// it may wait briefly for one after a receiver took a value).
//
//   std::optional<int> got;
//   std::string text = "hi";
//   switch (async::select(async::recv_case(numbers, got), async::send_case(words, text)).index) {
//     case 0: /* got holds a number, or is empty: numbers is closed */ break;
//     case 1: /* text was sent (or words is closed: .closed()) */ break;
//   }
//
// Throws async::cancelled in a cancelled fiber (nothing is sent or received
// then; a case completed before the cancel is still the result), and
// async::error: estate outside a fiber, efull past a channel's max_waiters,
// einval for no case at all, or one value object in two send cases.
template <class... Ops>
  requires(detail::is_select_op<std::remove_cvref_t<Ops>> && ...)
select_result select(Ops&&... ops) {
  return detail::select_driver::run(detail::select_driver::mode::block, 0, "async::select", ops...);
}

// As select, giving up at the steady_clock time point `t` or after `d`:
// then index is none and code status::etimedout. A deadline already past
// makes it a try (a ready case is still chosen). With no cases it sleeps.
template <class Duration, class... Ops>
  requires(detail::is_select_op<std::remove_cvref_t<Ops>> && ...)
select_result select_until(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t, Ops&&... ops) {
  return detail::select_driver::run(detail::select_driver::mode::until, detail::deadline_ns(t),
                                    "async::select_until", ops...);
}
template <class Rep, class Period, class... Ops>
  requires(detail::is_select_op<std::remove_cvref_t<Ops>> && ...)
select_result select_for(const std::chrono::duration<Rep, Period>& d, Ops&&... ops) {
  return detail::select_driver::run(detail::select_driver::mode::until, detail::deadline_after_ns(detail::to_ns(d)),
                                    "async::select_for", ops...);
}

// As select, without suspending; usable outside fibers (from any
// thread): index none and code status::eagain when no case is ready.
template <class... Ops>
  requires(detail::is_select_op<std::remove_cvref_t<Ops>> && ...)
select_result try_select(Ops&&... ops) {
  return detail::select_driver::run(detail::select_driver::mode::never, 0, "async::try_select", ops...);
}

}  // namespace async

#undef ASYNC_HPP_COLD

// The synchronisation classes (mutex, condition_variable, ...): a header of
// their own, as async/sync.h is for async.h.
#include "async/sync.hpp"

#endif  // ASYNC_HPP
