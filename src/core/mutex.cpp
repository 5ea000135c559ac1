// SPDX-License-Identifier: MIT
// mutex.cpp: the fiber mutex. FIFO with direct hand-off: unlock makes the
// first waiter the holder before it runs, so a later lock (even on the
// waiter's own runtime, before it gets its turn) finds the mutex held and
// queues behind it. The home thread's uncontended lock is a check and two
// stores (home_guard.h); shared, it is one spin lock round.
#include "sync.h"

namespace async::detail {

async_status_t mutex_lock(mutex_state& m, task* self, wait_mode mode, std::uint64_t deadline_ns,
                          bool cancellable) noexcept {
  const bool home = enter(m.g);
  if (m.owner.empty()) [[likely]] {
    m.owner = holder{self->id, nullptr};
    leave(m.g, home);
    return ASYNC_OK;
  }
  if (m.owner.fiber == self->id) {
    leave(m.g, home);
    return ASYNC_EDEADLK;
  }
  if (cancellable) {
    if (const async_status_t st = may_wait(self, mode, deadline_ns); st != ASYNC_OK) {
      leave(m.g, home);
      return st;
    }
  }
  sync_wait w{&m.g, {nullptr}, &m, nullptr, 0};
  // The holder's unlock names us the owner before it wakes us.
  return sync_park(home, self, m.waiters, w, wait_kind::mutex, mode, deadline_ns, cancellable);
}

async_status_t mutex_try_lock(mutex_state& m, task* self) noexcept {
  op_guard og(m.g);
  if (!m.owner.empty()) return ASYNC_EAGAIN;
  m.owner = holder_of(self);
  return ASYNC_OK;
}

void mutex_release_entered(mutex_state& m) noexcept {
  if (task* next = m.waiters.head) {
    m.owner = holder{next->id, nullptr};
    sync_complete(m.g, m.waiters, next, ASYNC_OK);
  } else {
    m.owner = holder{};
  }
}

async_status_t mutex_unlock(mutex_state& m, task* self) noexcept {
  const bool home = enter(m.g);
  if (m.owner != holder_of(self)) [[unlikely]] {
    leave(m.g, home);
    return ASYNC_ESTATE;
  }
  mutex_release_entered(m);
  leave(m.g, home);
  return ASYNC_OK;
}

}  // namespace async::detail
