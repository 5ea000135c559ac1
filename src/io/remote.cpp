// SPDX-License-Identifier: MIT
// remote.cpp: async_park / async_unpark, the wake-up that works across
// threads. The unparking thread never touches the runtime's fibers: it
// queues (slot, id) in the inbox under a lock and, if the owner sleeps in
// the poller, notifies it. The owner applies the queue at its next poll and
// before every park, resolving each entry against its own task table.
#include "../core/fiber.h"
#include "../core/runtime.h"
#include "io.h"

namespace async::detail {
namespace {

void apply_unpark(runtime& rt, const unpark_inbox::entry& e) noexcept {
  if (e.slot >= rt.task_capacity) return;
  task* t = &rt.tasks[e.slot];
  if (t->id != e.id || t->state == task_state::free || t->state == task_state::done) return;
  if (t->wait_list == &rt.parkers) {
    wake(t, ASYNC_OK);
  } else {
    t->unpark_token = true;
  }
}

}  // namespace

void take_unparks(runtime& rt) noexcept {
  unpark_inbox& in = rt.inbox;
  if (!in.nonempty.load(std::memory_order_acquire)) return;
  {
    std::lock_guard<std::mutex> guard(in.lock);
    in.taking.swap(in.entries);
    in.nonempty.store(false, std::memory_order_relaxed);
  }
  for (const unpark_inbox::entry& e : in.taking) apply_unpark(rt, e);
  in.taking.clear();
}

async_status_t unpark_fiber(runtime& rt, std::uint32_t slot, std::uint64_t id) noexcept {
  unpark_inbox& in = rt.inbox;
  {
    std::lock_guard<std::mutex> guard(in.lock);
    try {
      in.entries.push_back(unpark_inbox::entry{slot, id});
    } catch (...) {
      return ASYNC_ENOMEM;
    }
    in.nonempty.store(true, std::memory_order_seq_cst);
  }
  poller& p = rt.poll;
  if (p.sleeping.load(std::memory_order_seq_cst) && !p.notified.exchange(true)) p.ops->notify(p);
  return ASYNC_OK;
}

async_status_t park_fiber(task* self, std::uint64_t deadline) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  runtime& rt = *self->rt;
  take_unparks(rt);
  if (self->unpark_token) {
    self->unpark_token = false;
    return ASYNC_OK;
  }
  if (deadline != no_deadline) {
    if (deadline <= now_ns()) return ASYNC_ETIMEDOUT;
    rt.timers.arm(self, deadline);
  }
  wait_on(self, rt.parkers);
  ++rt.io_waiting;
  const async_status_t st = park(self);
  --rt.io_waiting;
  return st;
}

}  // namespace async::detail
