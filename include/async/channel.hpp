// SPDX-License-Identifier: MIT
// async/channel.hpp: async::channel<T>, a bounded FIFO channel of values
// between fibers of any runtimes and plain threads.
#ifndef ASYNC_CHANNEL_HPP
#define ASYNC_CHANNEL_HPP

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "runtime.hpp"
#include "status.hpp"
#include "time.hpp"

namespace async {

// A bounded FIFO channel of T values (any std::movable T: move-only ones
// such as std::unique_ptr included) between fibers of any runtimes and plain
// threads, over the C pointer channel (async_channel_*). Non-copyable and non-movable; the
// destructor shuts it down and destroys the values still in it.
//
// Storage: a pool of capacity + 1 cells, allocated by the constructor; no
// allocation per message (how: docs/design.md, "Channels").
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

}  // namespace async

#endif  // ASYNC_CHANNEL_HPP
