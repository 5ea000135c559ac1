// SPDX-License-Identifier: MIT
// async/fiber.hpp: fibers. async::spawn, the async::fiber<T> that owns a
// fiber and its result, async::fiber_handle, and the this_fiber calls
// (yield, sleep_for, sleep_until, is_cancelled, handle).
#ifndef ASYNC_FIBER_HPP
#define ASYNC_FIBER_HPP

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "runtime.hpp"
#include "status.hpp"
#include "time.hpp"

namespace async {

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

}  // namespace async

#endif  // ASYNC_FIBER_HPP
