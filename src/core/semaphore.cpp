// SPDX-License-Identifier: MIT
// semaphore.cpp: the counting semaphore. A unit released while fibers wait
// goes straight to the first of them, so the count is non-zero only while
// nobody waits and no later acquire can overtake a waiter.
#include <climits>

#include "sync.h"

namespace async::detail {

async_status_t sem_acquire(sem_state& s, task* self, wait_mode mode, std::uint64_t deadline_ns) noexcept {
  const bool home = enter(s.g);
  if (s.count != 0) [[likely]] {
    --s.count;
    leave(s.g, home);
    return ASYNC_OK;
  }
  if (mode == wait_mode::never) {
    leave(s.g, home);
    return ASYNC_EAGAIN;
  }
  if (const async_status_t st = may_wait(self, mode, deadline_ns); st != ASYNC_OK) {
    leave(s.g, home);
    return st;
  }
  sync_wait w{&s.g, {nullptr}, &s, nullptr, 0};
  return sync_park(home, self, s.waiters, w, wait_kind::sem, mode, deadline_ns, true);
}

async_status_t sem_release(sem_state& s) noexcept {
  op_guard og(s.g);
  if (task* t = s.waiters.head) {
    sync_complete(s.g, s.waiters, t, ASYNC_OK);
    return ASYNC_OK;
  }
  if (s.count == UINT_MAX) return ASYNC_EFULL;
  ++s.count;
  return ASYNC_OK;
}

}  // namespace async::detail
