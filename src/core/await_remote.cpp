// SPDX-License-Identifier: MIT
// await_remote.cpp: awaiting a fiber of another runtime, from a fiber (which
// parks) or from a thread that drives no runtime (which blocks).
//
// The waiter sends a request through the target runtime's inbox; the target's
// owner answers it at once when the fiber has ended, or keeps it until the
// fiber ends or the runtime shuts down (ASYNC_ECANCELED: it will never end).
// An answer to a fiber goes back through the waiter runtime's inbox, found
// in the registry (it may have been shut down meanwhile: the answer is then
// dropped). A fiber cancelled while it waits returns at once; the request
// comes back later and, no longer expected, is freed.
//
// Requests come from a process-wide pool that only grows (by 64 at a time)
// and never frees: a request stays valid memory after its last use, so a
// thread may still wake a blocked waiter through it after the waiter left.
#include <new>

#include "fiber.h"
#include "registry.h"
#include "remote.h"

namespace async::detail {

struct await_request {
  inbox_node node;  // await_start in the target's inbox, await_done in the waiter's
  await_request* next = nullptr;  // the target's remote_awaits list, or the pool
  await_request* prev = nullptr;
  std::uint32_t target_slot = 0;
  std::uint64_t target_id = 0;
  runtime* waiter_rt = nullptr;  // nullptr: a thread waits on `done`
  std::uint64_t waiter_serial = 0;
  std::uint32_t waiter_slot = 0;
  std::uint64_t waiter_id = 0;
  async_status_t outcome = ASYNC_OK;
  std::atomic<std::uint32_t> done{0};  // thread waiters: 1 once answered
};

namespace {

constexpr std::size_t pool_batch = 64;

spin_lock g_pool_lock;
await_request* g_pool ASYNC_TS_GUARDED_BY(g_pool_lock) = nullptr;

await_request* pool_take() noexcept {
  {
    spin_guard guard(g_pool_lock);
    if (await_request* r = g_pool) {
      g_pool = r->next;
      return r;
    }
  }
  auto* batch = new (std::nothrow) await_request[pool_batch];
  if (batch == nullptr) return nullptr;
  spin_guard guard(g_pool_lock);
  for (std::size_t i = 1; i < pool_batch; ++i) {
    batch[i].next = g_pool;
    g_pool = &batch[i];
  }
  return &batch[0];
}

void pool_give(await_request* r) noexcept {
  spin_guard guard(g_pool_lock);
  r->next = g_pool;
  g_pool = r;
}

await_request* request_of(inbox_node* n) noexcept {
  static_assert(std::is_standard_layout_v<await_request>);
  return reinterpret_cast<await_request*>(n);
}

// The target's owner answers: to a blocked thread directly, to a fiber
// through its runtime's inbox while that runtime is alive.
void answer(await_request* r, async_status_t outcome) noexcept {
  r->outcome = outcome;
  if (r->waiter_rt == nullptr) {
    r->done.store(1, std::memory_order_release);
    r->done.notify_all();
    return;
  }
  checked_guard guard(registry_lock());
  runtime* w = r->waiter_rt;
  if (registry_contains(w) && w->serial == r->waiter_serial) {
    r->node.kind = inbox_kind::await_done;
    w->in.push(&r->node);
    wake_owner(*w);
  } else {
    pool_give(r);
  }
}

await_request* new_request(std::uint32_t slot, std::uint64_t id) noexcept {
  await_request* r = pool_take();
  if (r == nullptr) return nullptr;
  r->node.kind = inbox_kind::await_start;
  r->next = r->prev = nullptr;
  r->target_slot = slot;
  r->target_id = id;
  r->waiter_rt = nullptr;
  r->outcome = ASYNC_OK;
  r->done.store(0, std::memory_order_relaxed);
  return r;
}

}  // namespace

std::uint64_t await_remote_target(const task& t) noexcept {
  return static_cast<const await_request*>(t.xfer)->target_id;
}

async_status_t await_across(task* self, runtime& target, std::uint32_t slot, std::uint64_t id) noexcept {
  if (self->cancelled) {
    registry_lock().unlock();
    return ASYNC_ECANCELED;
  }
  await_request* r = new_request(slot, id);
  if (r == nullptr) {
    registry_lock().unlock();
    return ASYNC_ENOMEM;
  }
  runtime& rt = *self->rt;
  r->waiter_rt = &rt;
  r->waiter_serial = rt.serial;
  r->waiter_slot = self->slot;
  r->waiter_id = self->id;
  self->xfer = r;
  wait_on(self, rt.remote_waiters, wait_kind::await_remote);
  begin_foreign_wait(rt);
  target.in.push(&r->node);
  wake_owner(target);
  registry_lock().unlock();
  const async_status_t st = park(self);
  end_foreign_wait(rt);
  self->xfer = nullptr;
  return st;
}

async_status_t await_from_thread(runtime& target, std::uint32_t slot, std::uint64_t id) noexcept {
  await_request* r = new_request(slot, id);
  if (r == nullptr) {
    registry_lock().unlock();
    return ASYNC_ENOMEM;
  }
  target.in.push(&r->node);
  wake_owner(target);
  registry_lock().unlock();
  while (r->done.load(std::memory_order_acquire) == 0) r->done.wait(0, std::memory_order_acquire);
  const async_status_t st = r->outcome;
  pool_give(r);
  return st;
}

void apply_await_start(runtime& rt, inbox_node* n) noexcept {
  await_request* r = request_of(n);
  if (r->target_slot >= rt.task_capacity || rt.tasks[r->target_slot].id != r->target_id) {
    answer(r, ASYNC_EINVAL);  // stale or forged
    return;
  }
  const task* t = &rt.tasks[r->target_slot];
  if (t->state == task_state::free || t->state == task_state::done) {
    answer(r, t->outcome);
    return;
  }
  rt.remote_awaits.push_front(r);
}

void apply_await_done(runtime& rt, inbox_node* n) noexcept {
  await_request* r = request_of(n);
  task* t = &rt.tasks[r->waiter_slot];
  const bool expected = !rt.closing && t->id == r->waiter_id && t->wait_list == &rt.remote_waiters &&
                        t->xfer == r;
  const async_status_t outcome = r->outcome;
  pool_give(r);
  if (expected) wake(t, outcome);
}

void answer_remote_awaits(runtime& rt, task* t) noexcept {
  await_request* r = rt.remote_awaits.head;
  while (r != nullptr) {
    await_request* next = r->next;
    if (r->target_slot == t->slot && r->target_id == t->id) {
      rt.remote_awaits.remove(r);
      answer(r, t->outcome);
    }
    r = next;
  }
}

void answer_all_remote_awaits(runtime& rt, async_status_t st) noexcept {
  while (await_request* r = rt.remote_awaits.head) {
    rt.remote_awaits.remove(r);
    answer(r, st);
  }
}

}  // namespace async::detail
