// SPDX-License-Identifier: MIT
// waitgroup.cpp: the wait group: a counter, and the fibers waiting for it to
// reach zero.
#include <climits>

#include "sync.h"

namespace async::detail {

async_status_t waitgroup_add(waitgroup_state& wg, long delta) noexcept {
  op_guard og(wg.g);
  // Checked without overflowing: below zero, or above LONG_MAX.
  if (delta < 0 ? wg.counter + delta < 0 : wg.counter > LONG_MAX - delta) return ASYNC_EINVAL;
  wg.counter += delta;
  if (wg.counter == 0) sync_complete_all(wg.g, wg.waiters, ASYNC_OK);
  return ASYNC_OK;
}

async_status_t waitgroup_wait(waitgroup_state& wg, task* self, wait_mode mode, std::uint64_t deadline_ns) noexcept {
  const bool home = enter(wg.g);
  if (wg.counter == 0) {
    leave(wg.g, home);
    return ASYNC_OK;
  }
  if (const async_status_t st = may_wait(self, mode, deadline_ns); st != ASYNC_OK) {
    leave(wg.g, home);
    return st;
  }
  sync_wait w{&wg.g, {nullptr}, &wg, nullptr, 0};
  return sync_park(home, self, wg.waiters, w, wait_kind::waitgroup, mode, deadline_ns, true);
}

}  // namespace async::detail
