// SPDX-License-Identifier: MIT
// once.cpp: async_once. The first caller marks the once running and runs fn
// outside the guard (fn may suspend); later callers park until it is done.
// The done state is also published with a release store, so callers after
// that return at once without the guard.
#include "sync.h"

namespace async::detail {

async_status_t once_run(once_state& o, task* self, void (*fn)(void*), void* user) noexcept {
  if (o.state.load(std::memory_order_acquire) == once_done) [[likely]] return ASYNC_OK;
  const bool home = enter(o.g);
  const std::uint32_t state = o.state.load(std::memory_order_relaxed);
  if (state == once_running) {
    async_status_t st = ASYNC_OK;
    if (o.runner == holder_of(self)) {
      st = ASYNC_EDEADLK;  // fn calls async_once on its own once
    } else if (self == nullptr) {
      st = ASYNC_ESTATE;  // a thread cannot wait for a fiber's fn
    } else {
      st = may_wait(self, wait_mode::forever, 0);
    }
    if (st != ASYNC_OK) {
      leave(o.g, home);
      return st;
    }
    sync_wait w{&o.g, {nullptr}, &o, nullptr, 0};
    return sync_park(home, self, o.waiters, w, wait_kind::once, wait_mode::forever, 0, true);
  }
  if (state == once_done) {
    leave(o.g, home);
    return ASYNC_OK;
  }
  o.state.store(once_running, std::memory_order_relaxed);
  o.runner = holder_of(self);
  leave(o.g, home);
  fn(user);
  op_guard og(o.g);
  o.state.store(once_done, std::memory_order_release);
  o.runner = holder{};
  sync_complete_all(o.g, o.waiters, ASYNC_OK);
  return ASYNC_OK;
}

}  // namespace async::detail
