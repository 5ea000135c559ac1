// SPDX-License-Identifier: MIT
// sync_wait.cpp: parking on a synchronisation object and withdrawing from it
// (see sync_wait.h).
#include "sync_wait.h"

namespace async::detail {

namespace {

// task::wait_abort of a cancellable wait: a timer, a cancel or the runtime's
// shutdown takes the fiber off the list, unless a completer did first.
bool withdraw(task* t, bool /*detach*/) noexcept {
  sync_wait* w = sync_wait_of(t);
  // Completed already: its wake is on the way (the object may even be gone).
  if (w->list.load(std::memory_order_acquire) == nullptr) return false;
  op_guard og(*w->g);
  task_list* l = w->list.load(std::memory_order_relaxed);
  if (l == nullptr) return false;
  l->remove(t);
  w->list.store(nullptr, std::memory_order_relaxed);
  if (w->after_leave != nullptr) w->after_leave(*w);
  return true;
}

// task::wait_abort of an uncancellable wait (a condition variable's fiber
// taking its mutex back): only the runtime's shutdown withdraws it.
bool withdraw_on_shutdown(task* t, bool detach) noexcept { return detach && withdraw(t, detach); }

}  // namespace

async_status_t sync_park(bool home, task* self, task_list& list, sync_wait& w, wait_kind kind, wait_mode mode,
                         std::uint64_t deadline_ns, bool cancellable) noexcept {
  home_guard& g = *w.g;
  w.list.store(&list, std::memory_order_relaxed);
  self->xfer = &w;
  self->state = task_state::parked;
  self->wait = kind;
  list.push_back(self);
  self->wait_abort = cancellable ? &withdraw : &withdraw_on_shutdown;
  runtime& rt = *self->rt;
  if (mode == wait_mode::until) rt.timers.arm(self, deadline_ns);
  // On a shared object the fiber waits for other threads: its runtime must
  // keep waiting for them instead of reporting a deadlock.
  const bool foreign = !home;
  if (foreign) begin_foreign_wait(rt);
  leave(g, home);
  const async_status_t st = park(self);
  if (foreign) end_foreign_wait(rt);
  self->wait_abort = nullptr;
  // Completed by another thread that may not be done with `w` yet.
  if (w.list.load(std::memory_order_acquire) != nullptr) [[unlikely]] leave(g, enter(g));
  return st;
}

void sync_complete_all(home_guard& g, task_list& list, async_status_t st) noexcept {
  while (task* t = list.head) sync_complete(g, list, t, st);
}

}  // namespace async::detail
