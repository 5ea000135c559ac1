// SPDX-License-Identifier: MIT
// sync_wait.h: how fibers wait on the synchronisation objects (sync.h): a
// FIFO of parked fibers per object, under the object's home_guard, woken by
// whoever completes their wait, from any thread. The protocol is the
// channels' (channel.cpp, "completing a waiter"): the completer takes the
// waiter off the list and wakes it holding the guard, and clears the wait's
// `list` last; a woken waiter that still sees `list` set takes the guard
// once before it returns, so its wait record (on its stack) outlives the
// completer's use of it.
#pragma once

#include <atomic>
#include <cstdint>

#include "home_guard.h"
#include "runtime.h"

namespace async::detail {

struct sync_wait;

// Called under the guard after a waiter left its list without being served
// (timer, cancel, its runtime's shutdown): objects whose head waiter blocks
// the ones behind it (a writer before readers) admit them.
using sync_after_leave = void (*)(sync_wait& w) noexcept;

// A fiber parked on an object: task::xfer points here (on its stack).
struct sync_wait {
  home_guard* g;
  std::atomic<task_list*> list;  // nullptr once off it (under the guard)
  void* object;                  // the object's state, for after_leave
  sync_after_leave after_leave;  // may be nullptr
  std::uintptr_t want;           // what it waits for (rwlock: writer or reader)
};

inline sync_wait* sync_wait_of(const task* t) noexcept { return static_cast<sync_wait*>(t->xfer); }

// Whether a fiber may park now: ASYNC_OK, ASYNC_ECANCELED when cancelled,
// ASYNC_ETIMEDOUT when the deadline (mode until) has passed.
inline async_status_t may_wait(const task* self, wait_mode mode, std::uint64_t deadline_ns) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  if (mode == wait_mode::until && deadline_ns <= clock_ns(*self->rt)) return ASYNC_ETIMEDOUT;
  return ASYNC_OK;
}

// Parks `self` on `list` with `w` (its g, object, after_leave and want set
// by the caller), waiting for `kind`, entered holding the guard (enter returned `home`), which
// it leaves. Returns the status it was woken with: what the completer gave,
// ASYNC_ETIMEDOUT (mode until) or ASYNC_ECANCELED (when `cancellable`; an
// uncancellable wait ends only by completion or its runtime's shutdown).
// The caller has checked may_wait.
async_status_t sync_park(bool home, task* self, task_list& list, sync_wait& w, wait_kind kind, wait_mode mode,
                         std::uint64_t deadline_ns, bool cancellable) noexcept;

// Takes the waiter `t` off `list` and wakes it with `st`, under the guard.
inline void sync_complete(home_guard& g, task_list& list, task* t, async_status_t st) noexcept {
  list.remove(t);
  sync_wait* w = sync_wait_of(t);
  deliver(g, t, st);
  w->list.store(nullptr, std::memory_order_release);  // last: `w` may be gone after
}

// Wakes every waiter of `list` with `st`, in the order they began waiting.
void sync_complete_all(home_guard& g, task_list& list, async_status_t st) noexcept;

}  // namespace async::detail
