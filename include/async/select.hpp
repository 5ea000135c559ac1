// SPDX-License-Identifier: MIT
// async/select.hpp: async::select over channel<T> cases (recv_case,
// send_case), with its timed and non-blocking forms.
#ifndef ASYNC_SELECT_HPP
#define ASYNC_SELECT_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "channel.hpp"
#include "status.hpp"
#include "time.hpp"

namespace async {

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

#endif  // ASYNC_SELECT_HPP
