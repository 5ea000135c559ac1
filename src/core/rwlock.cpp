// SPDX-License-Identifier: MIT
// rwlock.cpp: the reader-writer lock: one FIFO for readers and writers. A
// caller gets the lock at once only when nobody waits (so readers cannot
// starve a waiting writer); a release admits the head of the queue: one
// writer, or every reader up to the next writer.
#include "sync.h"

namespace async::detail {

namespace {

bool write_held(const rwlock_state& rw) noexcept { return !rw.writer.empty(); }

// Hands the free (not write-held) lock to the waiters at the head that can
// have it now. Inside the guard.
void admit(rwlock_state& rw) noexcept {
  while (task* t = rw.waiters.head) {
    if (sync_wait_of(t)->want == rw_writer) {
      if (rw.readers != 0) return;
      rw.writer = holder{t->id, nullptr};
      sync_complete(rw.g, rw.waiters, t, ASYNC_OK);
      return;
    }
    ++rw.readers;
    sync_complete(rw.g, rw.waiters, t, ASYNC_OK);
  }
}

// A waiter left without the lock: the readers it held back may come in.
void after_leave(sync_wait& w) noexcept {
  auto& rw = *static_cast<rwlock_state*>(w.object);
  if (!write_held(rw)) admit(rw);
}

bool can_take_now(const rwlock_state& rw, std::uintptr_t want) noexcept {
  if (write_held(rw) || !rw.waiters.empty()) return false;
  return want == rw_reader || rw.readers == 0;
}

}  // namespace

async_status_t rwlock_lock(rwlock_state& rw, task* self, std::uintptr_t want, wait_mode mode,
                           std::uint64_t deadline_ns) noexcept {
  const bool home = enter(rw.g);
  if (can_take_now(rw, want)) [[likely]] {
    if (want == rw_writer) {
      rw.writer = holder_of(self);
    } else {
      ++rw.readers;
    }
    leave(rw.g, home);
    return ASYNC_OK;
  }
  async_status_t st = ASYNC_EAGAIN;
  if (mode != wait_mode::never && rw.writer == holder{self->id, nullptr}) {
    st = ASYNC_EDEADLK;
  } else if (mode != wait_mode::never) {
    st = may_wait(self, mode, deadline_ns);
  }
  if (st != ASYNC_OK) {
    leave(rw.g, home);
    return st;
  }
  sync_wait w{&rw.g, {nullptr}, &rw, &after_leave, want};
  return sync_park(home, self, rw.waiters, w, wait_kind::rwlock, mode, deadline_ns, true);
}

async_status_t rwlock_unlock(rwlock_state& rw, task* self) noexcept {
  op_guard og(rw.g);
  if (write_held(rw)) {
    if (rw.writer != holder_of(self)) return ASYNC_ESTATE;
    rw.writer = holder{};
  } else if (rw.readers != 0) {
    --rw.readers;
  } else {
    return ASYNC_ESTATE;
  }
  admit(rw);
  return ASYNC_OK;
}

}  // namespace async::detail
