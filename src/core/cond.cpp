// SPDX-License-Identifier: MIT
// cond.cpp: the condition variable. A waiter joins the condition's FIFO and
// releases its mutex while holding the condition's guard, so a signal that
// follows the release finds it queued (no lost wake-up). Woken (signal,
// deadline or cancel), it takes the mutex back through the mutex's FIFO,
// uncancellably: every return holds the mutex again.
#include "sync.h"

namespace async::detail {

async_status_t cond_wait(cond_state& c, mutex_state& m, task* self, wait_mode mode,
                         std::uint64_t deadline_ns) noexcept {
  // Lock order: the condition's guard, then the mutex's (nothing takes them
  // the other way round).
  const bool home = enter(c.g);
  {
    const bool mutex_home = enter(m.g);
    const bool held = m.owner == holder{self->id, nullptr};
    if (!held) {
      leave(m.g, mutex_home);
      leave(c.g, home);
      return ASYNC_ESTATE;
    }
    // Cancelled or past its deadline: returns at once, still holding m.
    if (const async_status_t st = may_wait(self, mode, deadline_ns); st != ASYNC_OK) {
      leave(m.g, mutex_home);
      leave(c.g, home);
      return st;
    }
    mutex_release_entered(m);
    leave(m.g, mutex_home);
  }
  sync_wait w{&c.g, {nullptr}, &c, nullptr, 0};
  const async_status_t st = sync_park(home, self, c.waiters, w, wait_kind::cond, mode, deadline_ns, true);
  const async_status_t relock = mutex_lock(m, self, wait_mode::forever, 0, false);
  // Only the runtime's shutdown ends an uncancellable wait, and then this
  // fiber never runs again.
  ASYNC_ASSERT(relock == ASYNC_OK);
  (void)relock;
  return st;
}

void cond_signal(cond_state& c, bool all) noexcept {
  op_guard og(c.g);
  if (all) {
    sync_complete_all(c.g, c.waiters, ASYNC_OK);
  } else if (task* t = c.waiters.head) {
    sync_complete(c.g, c.waiters, t, ASYNC_OK);
  }
}

}  // namespace async::detail
