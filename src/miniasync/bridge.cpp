// SPDX-License-Identifier: MIT
// bridge.cpp: async_await_future and the mover calls for fibers
// (include/async/miniasync.h). Built into libasync.
#include "async/miniasync.h"

#include "async/io.h"

#include <sched.h>

#include <atomic>
#include <mutex>
#include <new>

namespace {

// The waker's data. Never freed: a waker may fire after the await ended.
struct wake_record {
  std::mutex m;
  async_fiber_handle_t h{};  // zeroed while no await uses the record
  wake_record* next_free = nullptr;
};

struct record_pool {
  std::mutex m;
  wake_record* free = nullptr;
};
record_pool& pool() {
  static record_pool* p = new record_pool;  // never destroyed
  return *p;
}

wake_record* acquire(async_fiber_handle_t h) {
  wake_record* r = nullptr;
  {
    record_pool& p = pool();
    std::lock_guard<std::mutex> lk(p.m);
    if ((r = p.free) != nullptr) p.free = r->next_free;
  }
  if (!r && !(r = new (std::nothrow) wake_record)) return nullptr;
  std::lock_guard<std::mutex> lk(r->m);
  r->h = h;
  return r;
}

void release(wake_record* r) {
  {
    std::lock_guard<std::mutex> lk(r->m);  // waits for a waker inside async_unpark
    r->h = async_fiber_handle_t{};
  }
  record_pool& p = pool();
  std::lock_guard<std::mutex> lk(p.m);
  r->next_free = p.free;
  p.free = r;
}

void bridge_wake(void* data) {
  auto* r = static_cast<wake_record*>(data);
  std::lock_guard<std::mutex> lk(r->m);
  if (r->h.id != 0) (void)async_unpark(r->h);
}

constexpr unsigned yield_rounds = 64;
constexpr uint64_t backoff_min_ns = 16000, backoff_max_ns = 1000000;

async_status_t vdm_status(const vdm_operation_future& f) {
  switch (f.output.result) {
    case VDM_SUCCESS: return ASYNC_OK;
    case VDM_ERROR_OUT_OF_MEMORY: return ASYNC_ENOMEM;
    default: return ASYNC_EIO;
  }
}

// Awaits a vdm future that lives in the calling frame: it must be complete
// before the frame goes, cancelled or not.
async_status_t await_owned(vdm_operation_future& f) {
  async_status_t st = async_await_future(FUTURE_AS_RUNNABLE(&f));
  if (st == ASYNC_ECANCELED) {
    while (future_poll(FUTURE_AS_RUNNABLE(&f), nullptr) != FUTURE_STATE_COMPLETE) sched_yield();
    return ASYNC_ECANCELED;
  }
  return st == ASYNC_OK ? vdm_status(f) : st;
}

// ASYNC_OK when the caller may start an operation.
async_status_t may_start(struct vdm* vdm) {
  if (!vdm) return ASYNC_EINVAL;
  async_fiber_handle_t self = async_self();
  if (self.status != ASYNC_OK || self.id == 0) return ASYNC_ESTATE;
  return async_is_cancelled() ? ASYNC_ECANCELED : ASYNC_OK;
}

}  // namespace

extern "C" {

ASYNC_API async_status_t async_await_future(struct future* fut) noexcept {
  if (!fut) return ASYNC_EINVAL;
  async_fiber_handle_t self = async_self();
  if (self.status != ASYNC_OK || self.id == 0) return ASYNC_ESTATE;
  if (async_is_cancelled()) return ASYNC_ECANCELED;
  if (fut->context.state == FUTURE_STATE_COMPLETE) return ASYNC_OK;
  wake_record* rec = acquire(self);
  if (!rec) return ASYNC_ENOMEM;

  future_notifier n;
  n.waker.data = rec;
  n.waker.wake = bridge_wake;
  async_status_t result = ASYNC_OK;
  unsigned rounds = 0;
  uint64_t backoff = backoff_min_ns;
  for (;;) {
    n.poller.ptr_to_monitor = nullptr;
    n.notifier_used = FUTURE_NOTIFIER_NONE;
    n.padding = 0;
    if (future_poll(fut, &n) == FUTURE_STATE_COMPLETE) break;
    async_status_t st;
    if (n.notifier_used == FUTURE_NOTIFIER_WAKER) {
      st = async_park();  // a stale token makes it return early: we re-poll
      rounds = 0;
      backoff = backoff_min_ns;
    } else if (rounds < yield_rounds) {
      ++rounds;
      st = async_yield();
    } else {
      st = async_park_until_ns(async_now_ns() + backoff);
      if (st == ASYNC_ETIMEDOUT) st = ASYNC_OK;
      backoff = backoff * 2 < backoff_max_ns ? backoff * 2 : backoff_max_ns;
    }
    if (st != ASYNC_OK) {
      result = st;
      break;
    }
  }
  release(rec);
  return result;
}

ASYNC_API async_status_t async_vdm_memcpy(struct vdm* vdm, void* dest, const void* src, size_t n,
                                          uint64_t flags) noexcept {
  async_status_t st = may_start(vdm);
  if (st != ASYNC_OK) return st;
  vdm_operation_future f = vdm_memcpy(vdm, dest, const_cast<void*>(src), n, flags);
  return await_owned(f);
}

ASYNC_API async_status_t async_vdm_memmove(struct vdm* vdm, void* dest, const void* src, size_t n,
                                           uint64_t flags) noexcept {
  async_status_t st = may_start(vdm);
  if (st != ASYNC_OK) return st;
  vdm_operation_future f = vdm_memmove(vdm, dest, const_cast<void*>(src), n, flags);
  return await_owned(f);
}

ASYNC_API async_status_t async_vdm_memset(struct vdm* vdm, void* str, int c, size_t n, uint64_t flags) noexcept {
  async_status_t st = may_start(vdm);
  if (st != ASYNC_OK) return st;
  vdm_operation_future f = vdm_memset(vdm, str, c, n, flags);
  return await_owned(f);
}

ASYNC_API async_status_t async_vdm_flush(struct vdm* vdm, void* dest, size_t n, uint64_t flags) noexcept {
  async_status_t st = may_start(vdm);
  if (st != ASYNC_OK) return st;
  vdm_operation_future f = vdm_flush(vdm, dest, n, flags);
  return await_owned(f);
}

}  // extern "C"
