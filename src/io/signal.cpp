// SPDX-License-Identifier: MIT
// signal.cpp: waiting for signals (signal.h). One process-wide list of
// waiting fibers, oldest first, and a kept count per signal, under one
// guard that is shared from the start (fibers of every runtime and the
// library's thread use it). Whoever holds the guard first moves the
// deliveries the handler recorded to the kept counts and serves the oldest
// waits (dispatch), so a wait never overtakes an older one, and a signal a
// fiber raised before it waits is found without the library's thread.
#include "signal.h"

#include <csignal>

#include "../core/sync_wait.h"
#include "io.h"

namespace async::detail {
namespace {

struct wait_state {
  wait_state() noexcept { home_guard_init(g, nullptr, true); }
  home_guard g;
  task_list waiters;              // parked fibers, in the order their waits began
  std::uint64_t kept[NSIG] = {};  // deliveries no wait has taken yet
};

wait_state& state() noexcept {
  static wait_state s;
  return s;
}

// A fiber waiting for signals: task::xfer points at `w` (first member), and
// w.object back here.
struct signal_waiter {
  sync_wait w;
  const int* signals;  // the caller's list, valid while it waits
  std::size_t count;
  int signo;  // what it got, written by the completer
};

signal_waiter& waiter_of(const task* t) noexcept { return *static_cast<signal_waiter*>(sync_wait_of(t)->object); }

// Takes a kept delivery of the first listed signal that has one; 0: none.
int take_kept(wait_state& s, const int* signals, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t& k = s.kept[signals[i]];
    if (k != 0) {
      --k;
      return signals[i];
    }
  }
  return 0;
}

// Under the guard: recorded deliveries become kept ones, then go to the
// oldest waits that list them.
void dispatch_locked(wait_state& s) noexcept {
  bool any = false;
  for (int signo = 1; signo < NSIG; ++signo) {
    if (const std::uint64_t n = signal_take_arrived(signo); n != 0) s.kept[signo] += n;
    any = any || s.kept[signo] != 0;
  }
  if (!any) return;
  for (task* t = s.waiters.head; t != nullptr;) {
    task* next = t->next;  // a local wake puts `t` on its run queue
    signal_waiter& sw = waiter_of(t);
    if (const int signo = take_kept(s, sw.signals, sw.count); signo != 0) {
      sw.signo = signo;
      sync_complete(s.g, s.waiters, t, ASYNC_OK);
    }
    t = next;
  }
}

}  // namespace

void signal_dispatch() noexcept {
  wait_state& s = state();
  op_guard og(s.g);
  dispatch_locked(s);
}

void signal_drop_kept(int signo) noexcept {
  wait_state& s = state();
  op_guard og(s.g);
  (void)signal_take_arrived(signo);
  s.kept[signo] = 0;
}

async_status_t signal_wait(task* self, const int* signals, std::size_t count, int& signo, wait_mode mode,
                           std::uint64_t deadline_ns) noexcept {
  signo = 0;
  // Cancelled: unwinding, so it must not take a delivery another wait wants.
  if (self->cancelled) return ASYNC_ECANCELED;
  std::uint64_t want = 0;
  for (std::size_t i = 0; i < count; ++i) want |= signal_bit(signals[i]);
  if (const async_status_t st = signal_hold(self->rt->io->signals_held, want); st != ASYNC_OK) return st;

  wait_state& s = state();
  const bool home = enter(s.g);  // never home: the guard is shared
  dispatch_locked(s);
  if (const int got = take_kept(s, signals, count); got != 0) {
    leave(s.g, home);
    signo = got;
    return ASYNC_OK;
  }
  if (const async_status_t st = may_wait(self, mode, deadline_ns); st != ASYNC_OK) {
    leave(s.g, home);
    return st;
  }
  signal_waiter sw{{&s.g, {nullptr}, nullptr, nullptr, 0}, signals, count, 0};
  sw.w.object = &sw;
  const async_status_t st = sync_park(home, self, s.waiters, sw.w, wait_kind::signal, mode, deadline_ns, true);
  if (st == ASYNC_OK) signo = sw.signo;
  return st;
}

}  // namespace async::detail
