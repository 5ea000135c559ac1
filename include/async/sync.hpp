// SPDX-License-Identifier: MIT
// async/sync.hpp: C++20 fiber synchronisation over async/sync.h: mutex,
// condition_variable, counting_semaphore, wait_group, shared_mutex,
// once_flag/call_once and fiber_local<T>. async.hpp includes it, so
// `#include <async.hpp>` is enough; it may also be included on its own.
//
// The classes have the interfaces of their std:: namesakes, so the std lock
// adaptors work with them: std::lock_guard, std::unique_lock,
// std::scoped_lock (and std::lock), std::shared_lock. They add RAII,
// exceptions and std::chrono, never behaviour the C calls lack: read
// async/sync.h for the model, in short:
//  - A blocking call parks the calling fiber only (never its thread), and
//    waiters are served FIFO with a direct hand-off: a lock or unit freed
//    while fibers wait goes to the first of them, so nobody barges in.
//  - Any fiber of any runtime (a group's threads included) may use an
//    object. A plain thread (or a thread driving a runtime between fibers)
//    may make every non-blocking call (try_*, unlock, release, notify, add,
//    done); every blocking call throws async::error(estate) there, even one
//    that would not have to wait (call_once has its own rule).
//  - An object lives where it was constructed: none of them can be copied or
//    moved (the C core keeps the addresses of its waiters' links in it).
//    Destroy it only when no fiber waits on it and no call on it is in
//    progress or will come; a mutex or shared_mutex must also be unlocked.
//    (As for the std types, breaking this is undefined behaviour: the
//    destructors cannot report it.)
//
// Errors, as everywhere in async.hpp: every call that may park the calling
// fiber throws async::cancelled once that fiber has been cancelled (before
// or while it waits; a cancelled fiber that need not wait still succeeds,
// as an uncontended lock does), and then holds nothing it did not hold
// before the call, except condition_variable's waits, which hold the lock
// again (as they always return). Other failures throw async::error with the
// async::status: estate (a blocking call outside a fiber, unlocking what the
// caller does not hold), edeadlk (locking a mutex the calling fiber holds already),
// einval (a bad argument). Timeouts are not errors: the timed forms return
// false (std::cv_status::timeout for condition_variable).
//
// Time: each blocking call has a _for form taking a std::chrono duration
// (rounded up to whole nanoseconds) and an _until form taking a time point,
// which are deadlines on async_now_ns()'s clock. std::chrono::steady_clock
// time points convert as for this_fiber::sleep_until (on Linux steady_clock
// is that clock itself); a time point of another clock is converted once,
// by its distance from that clock's now(). A deadline already past still
// tries once without waiting (an uncontended lock is still taken).
#ifndef ASYNC_SYNC_HPP
#define ASYNC_SYNC_HPP

#include <atomic>
#include <chrono>
#include <climits>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include "../async.hpp"

namespace async {

namespace detail {
// The runtime-clock deadline for a time point of any clock. Only
// steady_clock is the runtime's clock (on Linux) or tied to it; for another
// clock the distance from its now() is added to the runtime's now, once.
template <class Clock, class Duration>
std::uint64_t deadline_any(const std::chrono::time_point<Clock, Duration>& t) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    return deadline_ns(t);
  } else {
    const auto now = Clock::now();
    // Compare in double first: `t - now` overflows for far deadlines (max()).
    using fns = std::chrono::duration<double, std::nano>;
    const double ahead = fns(t.time_since_epoch()).count() - fns(now.time_since_epoch()).count();
    if (ahead >= 0x1p62) return ASYNC_NO_DEADLINE;
    if (ahead <= 0) return 0;  // past: try once
    return deadline_after_ns(to_ns(t - now));
  }
}

template <class Rep, class Period>
std::uint64_t deadline_after(const std::chrono::duration<Rep, Period>& d) noexcept {
  return deadline_after_ns(to_ns(d));
}

// A blocking C call's status as a timed call's result: true for OK, false
// for ETIMEDOUT; anything else throws (cancelled for ECANCELED).
inline bool timed_result(async_status_t st, const char* where) {
  if (st == ASYNC_OK) return true;
  if (st == ASYNC_ETIMEDOUT) return false;
  throw_status(st, where);
}

// A try call's status: true for OK, false for EAGAIN; anything else throws.
inline bool try_result(async_status_t st, const char* where) {
  if (st == ASYNC_OK) return true;
  if (st == ASYNC_EAGAIN) return false;
  throw_status(st, where);
}

inline void check(async_status_t st, const char* where) {
  if (st != ASYNC_OK) [[unlikely]] throw_status(st, where);
}
}  // namespace detail

// -------------------------------------------------------------------- mutex

// A fiber mutex (async_mutex_t): Lockable and TimedLockable, so
// std::lock_guard, std::unique_lock, std::scoped_lock and std::lock work
// with it. Not recursive. Its owner is the fiber that locked it (or, for a
// try_lock outside fibers, that thread), and only the owner may unlock it;
// a fiber may suspend while holding it.
class mutex {
 public:
  // Throws nothing in practice: async_mutex_init fails only for memory that
  // holds a live mutex, which a constructor never sees.
  mutex() { detail::check(async_mutex_init(&m_), "async::mutex"); }
  // Precondition: unlocked, and no fiber waits (see the top of this file).
  ~mutex() { (void)async_mutex_destroy(&m_); }

  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  // Takes the mutex, parking the calling fiber while another holds it
  // (FIFO). Throws async::cancelled when the fiber is cancelled while it
  // waits (it does not hold the mutex then); async::error: edeadlk when the
  // calling fiber holds it already, estate outside a fiber (use try_lock
  // there).
  void lock() { detail::check(async_mutex_lock(&m_), "async::mutex::lock"); }

  // Takes it if it is free and nobody waits for it; never waits. False when
  // held (by the caller too) or waited for. Any thread.
  [[nodiscard]] bool try_lock() { return detail::try_result(async_mutex_try_lock(&m_), "async::mutex::try_lock"); }

  // As lock, giving up after `d` or at `t`: false then (nothing held).
  // Throws as lock.
  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return lock_until_ns(detail::deadline_after(d), "async::mutex::try_lock_for");
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    return lock_until_ns(detail::deadline_any(t), "async::mutex::try_lock_until");
  }

  // Releases it; the first waiter, if any, becomes runnable holding it.
  // Throws async::error(estate) when the caller does not hold it (from a
  // lock adaptor's destructor that ends the program, std::terminate).
  void unlock() { detail::check(async_mutex_unlock(&m_), "async::mutex::unlock"); }

  // The C mutex, for async/sync.h calls (async_cond_wait takes it).
  [[nodiscard]] async_mutex_t* native() noexcept { return &m_; }

 private:
  bool lock_until_ns(std::uint64_t deadline, const char* where) {
    return detail::timed_result(async_mutex_lock_until(&m_, deadline), where);
  }

  async_mutex_t m_{};
};

// ------------------------------------------------------- condition_variable

// A fiber condition variable (async_cond_t) used with
// std::unique_lock<async::mutex>, as std::condition_variable is with
// std::unique_lock<std::mutex>. Every wait releases the lock and parks the
// calling fiber atomically, and returns (or throws) with the lock held
// again, having waited for it in the mutex's FIFO like any locker. There
// are no spurious wake-ups, but another fiber may take the lock between the
// notify and the waiter's return: check the condition in a loop, or use
// the predicate forms.
class condition_variable {
 public:
  condition_variable() { detail::check(async_cond_init(&c_), "async::condition_variable"); }
  // Precondition: no fiber waits.
  ~condition_variable() { (void)async_cond_destroy(&c_); }

  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;

  // Wakes the longest waiter / every waiter, in the order they began
  // waiting. Nothing happens when none waits. Any thread, lock held or not.
  void notify_one() noexcept { (void)async_cond_signal(&c_); }
  void notify_all() noexcept { (void)async_cond_broadcast(&c_); }

  // Waits for a notify. `lk` must hold its mutex (the calling fiber's).
  // Throws async::cancelled when the fiber is cancelled before or while it
  // waits, with the lock held again (so `lk` still owns it and unlocks it as
  // the stack unwinds); async::error(estate) when the fiber does not hold
  // the mutex or outside a fiber (nothing was released then).
  void wait(std::unique_lock<mutex>& lk) {
    detail::check(async_cond_wait(&c_, native_of(lk)), "async::condition_variable::wait");
  }

  // while (!pred()) wait(lk); pred is called with the lock held.
  template <class Predicate>
  void wait(std::unique_lock<mutex>& lk, Predicate pred) {
    while (!pred()) wait(lk);
  }

  // As wait, giving up at `t` or after `d`: std::cv_status::timeout when
  // the deadline passed before a notify chose this waiter (the lock is held
  // again then too). Throws as wait.
  template <class Clock, class Duration>
  std::cv_status wait_until(std::unique_lock<mutex>& lk, const std::chrono::time_point<Clock, Duration>& t) {
    return wait_ns(lk, detail::deadline_any(t), "async::condition_variable::wait_until");
  }
  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<mutex>& lk, const std::chrono::duration<Rep, Period>& d) {
    return wait_ns(lk, detail::deadline_after(d), "async::condition_variable::wait_for");
  }

  // Waits until pred() is true or the deadline passes (one deadline for
  // the whole loop); returns pred()'s last value, as std does. Throws as
  // wait.
  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::unique_lock<mutex>& lk, const std::chrono::time_point<Clock, Duration>& t, Predicate pred) {
    return wait_pred_ns(lk, detail::deadline_any(t), pred, "async::condition_variable::wait_until");
  }
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<mutex>& lk, const std::chrono::duration<Rep, Period>& d, Predicate pred) {
    return wait_pred_ns(lk, detail::deadline_after(d), pred, "async::condition_variable::wait_for");
  }

  [[nodiscard]] async_cond_t* native() noexcept { return &c_; }

 private:
  // A lock without a mutex passes NULL: the C call reports EINVAL.
  static async_mutex_t* native_of(std::unique_lock<mutex>& lk) noexcept {
    return lk.mutex() != nullptr ? lk.mutex()->native() : nullptr;
  }

  std::cv_status wait_ns(std::unique_lock<mutex>& lk, std::uint64_t deadline, const char* where) {
    return detail::timed_result(async_cond_wait_until(&c_, native_of(lk), deadline), where)
               ? std::cv_status::no_timeout
               : std::cv_status::timeout;
  }

  template <class Predicate>
  bool wait_pred_ns(std::unique_lock<mutex>& lk, std::uint64_t deadline, Predicate& pred, const char* where) {
    while (!pred()) {
      if (wait_ns(lk, deadline, where) == std::cv_status::timeout) return pred();
    }
    return true;
  }

  async_cond_t c_{};
};

// ------------------------------------------------------ counting_semaphore

namespace detail {
// The most units an async_sem_t holds (UINT_MAX), as a ptrdiff_t.
inline constexpr std::ptrdiff_t sem_max =
    static_cast<unsigned long long>(UINT_MAX) <= static_cast<unsigned long long>(PTRDIFF_MAX)
        ? static_cast<std::ptrdiff_t>(UINT_MAX)
        : PTRDIFF_MAX;
}  // namespace detail

// A fiber counting semaphore (async_sem_t), as std::counting_semaphore:
// acquire takes a unit, parking while none is free (or while earlier
// waiters wait: FIFO, no barging), release gives units back, to the first
// waiters directly. The counter holds up to max() units, whatever
// LeastMaxValue says (it only has to be at most max()).
template <std::ptrdiff_t LeastMaxValue = detail::sem_max>
class counting_semaphore {
  static_assert(LeastMaxValue >= 0 && LeastMaxValue <= detail::sem_max,
                "async::counting_semaphore holds at most UINT_MAX units");

 public:
  // The most units it can hold (UINT_MAX on the supported platforms).
  static constexpr std::ptrdiff_t max() noexcept { return detail::sem_max; }

  // Starts with `desired` units. Throws async::error(einval) for a count
  // below 0 or above max().
  explicit counting_semaphore(std::ptrdiff_t desired) {
    if (desired < 0 || desired > max()) throw error(status::einval, "async::counting_semaphore");
    detail::check(async_sem_init(&s_, static_cast<unsigned>(desired)), "async::counting_semaphore");
  }
  // Precondition: no fiber waits.
  ~counting_semaphore() { (void)async_sem_destroy(&s_); }

  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;

  // Gives `update` units back, one at a time, each to the first waiter if
  // one waits. Does not suspend; any thread. Throws async::error: einval
  // for a negative update (nothing released), efull when the counter would
  // pass max() (the units released before that one stay released).
  void release(std::ptrdiff_t update = 1) {
    if (update < 0) throw error(status::einval, "async::counting_semaphore::release");
    for (; update > 0; --update) detail::check(async_sem_release(&s_), "async::counting_semaphore::release");
  }

  // Takes a unit, parking while none is free. Throws async::cancelled when
  // the fiber is cancelled while it waits (it took nothing then);
  // async::error(estate) outside a fiber (use try_acquire there).
  void acquire() { detail::check(async_sem_acquire(&s_), "async::counting_semaphore::acquire"); }

  // Takes a unit if one is free and no fiber waits for one; never waits.
  // Any thread.
  [[nodiscard]] bool try_acquire() {
    return detail::try_result(async_sem_try_acquire(&s_), "async::counting_semaphore::try_acquire");
  }

  // As acquire, giving up after `d` or at `t`: false then (nothing taken).
  // Throws as acquire.
  template <class Rep, class Period>
  [[nodiscard]] bool try_acquire_for(const std::chrono::duration<Rep, Period>& d) {
    return detail::timed_result(async_sem_acquire_until(&s_, detail::deadline_after(d)),
                                "async::counting_semaphore::try_acquire_for");
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& t) {
    return detail::timed_result(async_sem_acquire_until(&s_, detail::deadline_any(t)),
                                "async::counting_semaphore::try_acquire_until");
  }

  [[nodiscard]] async_sem_t* native() noexcept { return &s_; }

 private:
  async_sem_t s_{};
};

// A semaphore of one unit, as std::binary_semaphore. Nothing stops a second
// release from making it two: as for std, that is the caller's precondition.
using binary_semaphore = counting_semaphore<1>;

// --------------------------------------------------------------- wait_group

// Waits for a number of things to finish (async_waitgroup_t), as Go's
// sync.WaitGroup: add(n) before starting n of them, done() as each ends,
// wait() until the counter is back at zero. Every waiter is woken when it
// reaches zero.
class wait_group {
 public:
  wait_group() { detail::check(async_waitgroup_init(&wg_), "async::wait_group"); }
  // Precondition: no fiber waits (a counter above zero is fine).
  ~wait_group() { (void)async_waitgroup_destroy(&wg_); }

  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  // Adds `delta` (may be negative) to the counter; at zero every waiter is
  // woken, in the order they began waiting. Does not suspend; any thread.
  // Throws async::error(einval) when the counter would go below zero or
  // overflow a long (nothing changes then).
  void add(long delta) { detail::check(async_waitgroup_add(&wg_, delta), "async::wait_group::add"); }
  // add(-1).
  void done() { detail::check(async_waitgroup_done(&wg_), "async::wait_group::done"); }

  // Parks the calling fiber until the counter is zero (returns at once when
  // it is). Throws async::cancelled when the fiber is cancelled while it
  // waits; async::error(estate) outside a fiber, even at zero.
  void wait() { detail::check(async_waitgroup_wait(&wg_), "async::wait_group::wait"); }

  // As wait, giving up after `d` or at `t`: true when the counter reached
  // zero, false when the deadline passed first. Throws as wait.
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for(const std::chrono::duration<Rep, Period>& d) {
    return detail::timed_result(async_waitgroup_wait_until(&wg_, detail::deadline_after(d)),
                                "async::wait_group::wait_for");
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool wait_until(const std::chrono::time_point<Clock, Duration>& t) {
    return detail::timed_result(async_waitgroup_wait_until(&wg_, detail::deadline_any(t)),
                                "async::wait_group::wait_until");
  }

  [[nodiscard]] async_waitgroup_t* native() noexcept { return &wg_; }

 private:
  async_waitgroup_t wg_{};
};

// ------------------------------------------------------------- shared_mutex

// A fair reader-writer lock (async_rwlock_t) with std::shared_mutex's
// interface (and std::shared_timed_mutex's timed forms), so std::unique_lock
// and std::lock_guard take it exclusively and std::shared_lock shared.
// Readers and writers are served in the order they began waiting: a reader
// arriving while a writer waits queues behind it (writers do not starve),
// and a writer's release admits every reader at the head of the queue
// together. Readers are not tracked one by one: a fiber holding a shared
// lock that asks for another while a writer waits parks forever (as the
// runtime reports: edeadlk from run). Not recursive either way.
//
// unlock() and unlock_shared() are the same C call, async_rwlock_unlock: it
// releases the exclusive lock when the caller holds it, else one shared lock.
// So a mismatched call releases what the caller does hold.
class shared_mutex {
 public:
  shared_mutex() { detail::check(async_rwlock_init(&rw_), "async::shared_mutex"); }
  // Precondition: unlocked, and no fiber waits.
  ~shared_mutex() { (void)async_rwlock_destroy(&rw_); }

  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;

  // Exclusive: as mutex::lock (edeadlk when the caller holds it exclusively
  // already), try_lock, try_lock_for/until (false when timed out).
  void lock() { detail::check(async_rwlock_wrlock(&rw_), "async::shared_mutex::lock"); }
  [[nodiscard]] bool try_lock() {
    return detail::try_result(async_rwlock_try_wrlock(&rw_), "async::shared_mutex::try_lock");
  }
  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return detail::timed_result(async_rwlock_wrlock_until(&rw_, detail::deadline_after(d)),
                                "async::shared_mutex::try_lock_for");
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    return detail::timed_result(async_rwlock_wrlock_until(&rw_, detail::deadline_any(t)),
                                "async::shared_mutex::try_lock_until");
  }
  // Throws async::error(estate) when the caller holds neither lock.
  void unlock() { detail::check(async_rwlock_unlock(&rw_), "async::shared_mutex::unlock"); }

  // Shared: parks while a writer holds it or waits ahead. Throws
  // async::cancelled when cancelled while waiting (nothing held then);
  // async::error: edeadlk when the calling fiber holds the exclusive lock,
  // estate outside a fiber (use try_lock_shared there).
  void lock_shared() { detail::check(async_rwlock_rdlock(&rw_), "async::shared_mutex::lock_shared"); }
  [[nodiscard]] bool try_lock_shared() {
    return detail::try_result(async_rwlock_try_rdlock(&rw_), "async::shared_mutex::try_lock_shared");
  }
  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_shared_for(const std::chrono::duration<Rep, Period>& d) {
    return detail::timed_result(async_rwlock_rdlock_until(&rw_, detail::deadline_after(d)),
                                "async::shared_mutex::try_lock_shared_for");
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_lock_shared_until(const std::chrono::time_point<Clock, Duration>& t) {
    return detail::timed_result(async_rwlock_rdlock_until(&rw_, detail::deadline_any(t)),
                                "async::shared_mutex::try_lock_shared_until");
  }
  // Throws async::error(estate) when the caller holds neither lock.
  void unlock_shared() { detail::check(async_rwlock_unlock(&rw_), "async::shared_mutex::unlock_shared"); }

  [[nodiscard]] async_rwlock_t* native() noexcept { return &rw_; }

 private:
  async_rwlock_t rw_{};
};

// --------------------------------------------------------- once_flag, once

// The flag of async::call_once. Built on an async::mutex and a done bit,
// not on async_once_t: async_once cannot run its function again after it
// threw, and std::call_once semantics need exactly that.
class once_flag {
 public:
  once_flag() = default;
  once_flag(const once_flag&) = delete;
  once_flag& operator=(const once_flag&) = delete;

 private:
  template <class F, class... Args>
  friend void call_once(once_flag& flag, F&& f, Args&&... args);

  std::atomic<bool> done_{false};  // set (release) once f has returned
  mutex m_;                        // held by the fiber running f
};

// Calls f(args...) exactly once per flag, with std::call_once's semantics:
// the first caller runs it; callers arriving meanwhile park (FIFO) until it
// returns; once it has returned normally every call returns at once. When f
// throws, the exception propagates to that caller and the flag stays unset:
// the first parked caller (or else the next to come) runs f in turn. f runs
// on its caller's fiber and may suspend; the flag's lock is held meanwhile.
// A plain thread (outside fibers) may call it too, as async_once allows: it
// runs f itself when nobody else is running it, and cannot wait for a
// fiber's f. Throws (besides what f throws) async::cancelled when the
// calling fiber is cancelled while it waits for another's f (it does not
// run f; a later call still may), async::error: edeadlk when f itself calls
// call_once on the same flag in a fiber, estate outside a fiber while f is
// running (another caller's, or this thread's own f calling again).
template <class F, class... Args>
void call_once(once_flag& flag, F&& f, Args&&... args) {
  if (flag.done_.load(std::memory_order_acquire)) return;
  if (async_self().status == ASYNC_OK) {
    flag.m_.lock();
  } else if (!flag.m_.try_lock()) {  // a thread cannot wait (mutex::lock refuses it)
    throw error(status::estate, "async::call_once");
  }
  std::lock_guard<mutex> hold(flag.m_, std::adopt_lock);
  if (flag.done_.load(std::memory_order_relaxed)) return;  // ran while this caller waited
  std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  flag.done_.store(true, std::memory_order_release);
}

// ------------------------------------------------------------- fiber_local

// One T per fiber (fiber-local storage, async_fls_*): like thread_local, for
// fibers. Each fiber that touches a fiber_local gets its own T, created on
// first access (value-initialised: T{} for aggregates and scalars, T() for
// classes) on the heap, and destroyed at the end of that fiber, on the
// fiber, by the key's destructor. Any fiber of any runtime may use it.
// Non-copyable, non-movable (the key names this object's values).
//
// Lifetime: the fiber_local owns an FLS key, and each value shares it. The
// destructor only drops the fiber_local's share: values still held by
// fibers that are alive are then destroyed as usual when those fibers end,
// and the key is deleted after the last of them (so destroying a
// fiber_local early is safe and leaks nothing, but its key counts against
// ASYNC_FLS_KEYS_MAX until then). A fiber dropped without ending (its
// runtime shut down with it parked) is treated as async_fls_* treat it.
template <class T>
class fiber_local {
  static_assert(std::is_object_v<T> && !std::is_array_v<T> && !std::is_const_v<T>,
                "async::fiber_local<T> needs a non-const, non-array object type");
  static_assert(std::default_initializable<T>, "async::fiber_local<T> creates values with T()");
  static_assert(std::is_nothrow_destructible_v<T>, "values are destroyed at fiber end, where nothing may throw");

 public:
  // Creates the key. Throws async::error(efull) when ASYNC_FLS_KEYS_MAX keys
  // exist; std::bad_alloc.
  fiber_local() : shared_(new shared) {
    const async_status_t st = async_fls_create(&shared_->key, &value::destroy);
    if (st != ASYNC_OK) {
      delete shared_;
      detail::throw_status(st, "async::fiber_local");
    }
  }
  ~fiber_local() { shared_->drop(); }

  fiber_local(const fiber_local&) = delete;
  fiber_local& operator=(const fiber_local&) = delete;

  // The calling fiber's value, created with T() on the fiber's first access
  // (or first after reset()). Throws async::error(estate) outside a fiber
  // (nothing is created), enomem; what T() throws (nothing is kept).
  [[nodiscard]] T& get() {
    void* p = async_fls_get(shared_->key);
    if (p != nullptr) [[likely]] return static_cast<value*>(p)->v;
    return create();
  }
  [[nodiscard]] T& operator*() { return get(); }
  T* operator->() { return std::addressof(get()); }

  // True when the calling fiber has a value (false outside fibers).
  [[nodiscard]] bool has_value() const noexcept { return async_fls_get(shared_->key) != nullptr; }

  // Destroys the calling fiber's value now, if it has one; its next access
  // creates a new one. Does nothing outside fibers.
  void reset() noexcept {
    void* p = async_fls_get(shared_->key);
    if (p == nullptr) return;
    (void)async_fls_set(shared_->key, nullptr);  // cannot fail: a fiber, a live key
    value::destroy(p);
  }

  // The C key, for async_fls_* calls. Do not set it to anything but values
  // this object made (or NULL).
  [[nodiscard]] async_fls_key_t native() const noexcept { return shared_->key; }

 private:
  // The key and its owners: the fiber_local and each value. The last one to
  // let go deletes the key (async_fls_delete drops values without their
  // destructor, so the key must outlive every value).
  struct shared {
    async_fls_key_t key{};
    std::atomic<std::size_t> owners{1};
    void drop() noexcept {
      if (owners.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        (void)async_fls_delete(key);
        delete this;
      }
    }
  };

  struct value {
    explicit value(shared* s) : v(), owner(s) {}
    T v;
    shared* owner;
    // The key's destructor (at fiber end) and reset(): destroys the value,
    // then lets go of the key.
    static void destroy(void* p) noexcept {
      auto* val = static_cast<value*>(p);
      shared* s = val->owner;
      delete val;
      s->drop();
    }
  };

  T& create() {
    if (async_self().status != ASYNC_OK) throw error(status::estate, "async::fiber_local::get");
    auto val = std::make_unique<value>(shared_);
    shared_->owners.fetch_add(1, std::memory_order_relaxed);  // the fiber_local's share keeps it above 0
    const async_status_t st = async_fls_set(shared_->key, val.get());
    if (st != ASYNC_OK) {
      shared_->owners.fetch_sub(1, std::memory_order_relaxed);
      detail::throw_status(st, "async::fiber_local::get");
    }
    return val.release()->v;
  }

  shared* shared_;
};

}  // namespace async

#endif  // ASYNC_SYNC_HPP
