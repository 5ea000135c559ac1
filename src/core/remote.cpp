// SPDX-License-Identifier: MIT
// remote.cpp: requests from other threads (spawn, unpark, cancel), the
// owner's side that applies them, and the owner's blocking wait.
//
// The owner blocks only in the driver. Before it does, it says so (sleeping)
// and then looks at the inbox once more; a sender pushes and then reads
// `sleeping`, notifying the driver only when the owner sleeps. Both sides
// write then read, sequentially consistent, so at least one sees the other:
// no wake is lost, and bursts cost one notify per sleep (`notified`).
// Each side also puts a full fence between its write and its read. The C++
// model does not need it (seq_cst accesses are enough), but an emulator may
// map them without a store-load barrier: under qemu-aarch64 on an x86 host
// (CI's arm64 stage) the write and the read were reordered, and a group's
// thread slept on a full inbox (cross-thread channel tests hung there). On
// x86_64 a sender's write is the push's exchange, a locked instruction that
// is a full barrier already: post_task_event, the path of every foreign
// spawn and cross-thread wake, leaves the fence out there (it measured as a
// tenth of a foreign spawn); on arm64 it is one barrier per wake.
#include "remote.h"

#include "fiber.h"
#include "spin_wait.h"

namespace async::detail {
namespace {

// Raises `slot` to `id` unless it already names a later fiber of the record.
void raise_to(std::atomic<std::uint64_t>& slot, std::uint64_t id) noexcept {
  std::uint64_t cur = slot.load(std::memory_order_relaxed);
  while (cur < id && !slot.compare_exchange_weak(cur, id, std::memory_order_relaxed)) {
  }
}

bool alive(const task* t) noexcept { return t->state != task_state::free && t->state != task_state::done; }

// A foreign spawn's record arrives: it becomes a fiber, or, when no stack
// can be had for it, a fiber that ended at once with ASYNC_ENOMEM.
void apply_spawn(runtime& rt, task* t) noexcept {
  const bool own_stack = t->user_stack_lo != nullptr;
  const bool stack_ok = own_stack || rt.pool.ensure_free(rt.fresh_pooled + 1) == ASYNC_OK;
  if (!own_stack && stack_ok) ++rt.fresh_pooled;
  rt.spawns_arrived = true;
  start_record(rt, t);
  if (!stack_ok) {
    leave_run_queue(rt, t);
    ++rt.fresh_pooled;  // finish_unstarted counts it back
    finish_unstarted(t, ASYNC_ENOMEM);
  }
}

// Returns whether the event answers a fiber's wait (a wake or an unpark),
// rather than bringing new work (a spawn) or a cancel.
bool apply_task_event(runtime& rt, task* t) noexcept {
  const std::uint32_t bits = t->remote.node.pending.exchange(0, std::memory_order_acq_rel);
  if ((bits & remote_spawn) != 0) apply_spawn(rt, t);
  if ((bits & remote_unpark) != 0) {
    const std::uint64_t id = t->remote.unpark_id.exchange(0, std::memory_order_acquire);
    if (id == t->id && alive(t)) {
      if (t->wait_list == &rt.parkers) {
        wake(t, ASYNC_OK);
      } else {
        t->unpark_token = true;
      }
    }
  }
  if ((bits & remote_wake) != 0) {
    // Completed by another thread (channel.cpp, deliver): the fiber is still
    // parked on that wait, since nothing else could end it (a timer or a
    // cancel found the wait taken and left it).
    if (t->state == task_state::parked) wake_plain(t, t->wake_status);
  }
  if ((bits & remote_cancel) != 0) {
    const std::uint64_t id = t->remote.cancel_id.exchange(0, std::memory_order_acquire);
    if (id == t->id && alive(t)) cancel_fiber(t);
  }
  return (bits & (remote_wake | remote_unpark)) != 0;
}

// Spins up to `limit_ns` for the inbox to fill. Answers from another thread
// often come within microseconds (a data mover's worker finishing a small
// copy, a fiber of a group replying on a channel); catching them here spares
// the notify and the wake-up of a sleeping thread, which costs 5-20 us or
// more on a loaded 2-CPU machine. The poll is then non-blocking and never
// says it sleeps, so senders meanwhile do not notify either. It yields every
// spin_yield_ns (remote.h says why).
bool spin_for_inbox(runtime& rt, std::uint64_t limit_ns) noexcept {
  return spin_until([&rt] { return rt.in.maybe_nonempty(std::memory_order_acquire); }, limit_ns, spin_yield_ns);
}

// The spin after spawns (docs/design.md). A thread spawning a batch onto a
// runtime comes back within a fraction of a microsecond, but the runtime
// often runs what it was sent faster than that and then ran dry: sleeping
// there made the spawner pay a wake (a system call that interrupts another
// CPU, about 10 us on this project's VM) and the batch wait 20 us more for
// the runtime to wake, several times per batch, and once per spawn when the
// spawner shares a CPU with the runtime. The spin is short, once per burst
// (armed only by a spawn that arrived), and yields: on two CPUs the spawner
// and two runtimes often share one, and a spinner that kept the CPU would
// starve the very thread it waits for (without the yields the same spin made
// multi_bench spawn slower, not faster).
bool spin_after_spawns(runtime& rt, std::uint64_t timeout_ns) noexcept {
  rt.spawns_arrived = false;
  return spin_for_inbox(rt, timeout_ns < spawn_spin_ns ? timeout_ns : spawn_spin_ns);
}

// Whether the owner spins for the inbox before it sleeps, with the adaptive
// limit: when one of its fibers waits for another thread (begin_foreign_wait).
// Not for fibers that wait only on fds or timers, and spawns from other
// threads have only the short spin above: an idle group thread sleeps at
// once and leaves the CPU to whoever needs it.
bool waits_for_other_threads(const runtime& rt) noexcept { return rt.cross_waiting != 0; }

}  // namespace

std::uint64_t adapted_spin(std::uint64_t spin_ns, std::uint64_t slept_ns, bool replied) noexcept {
  if (replied && slept_ns < inbox_spin_max_ns) return spin_ns * 2 < inbox_spin_max_ns ? spin_ns * 2 : inbox_spin_max_ns;
  if (slept_ns >= inbox_spin_max_ns) return spin_ns / 2 > inbox_spin_min_ns ? spin_ns / 2 : inbox_spin_min_ns;
  return spin_ns;
}

namespace {

// The owner's `sleeping`, read after the sender's write (see the file's
// header): notifies the driver when the owner sleeps and nobody has yet.
void notify_if_sleeping(runtime& rt) noexcept {
  if (rt.sleeping.load(std::memory_order_seq_cst) && !rt.notified.exchange(true, std::memory_order_acq_rel)) {
    rt.drv->notify(rt);
  }
}

}  // namespace

void wake_owner(runtime& rt) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // see the file's header
  notify_if_sleeping(rt);
}

void post_task_event(runtime& rt, task* t, std::uint32_t bit) noexcept {
  if (t->remote.node.pending.fetch_or(bit, std::memory_order_acq_rel) != 0) return;  // queued already
  rt.in.push(&t->remote.node);
  // The push's write is an exchange: on x86_64 a locked instruction, which
  // no later load passes, so the fence of wake_owner would only add a
  // second barrier (a tenth of a foreign spawn's time: docs/benchmarks.md,
  // "Foreign spawns without false sharing, and fldcw skipped").
  // Elsewhere the fence stays (see the file's header: an emulator).
#if !defined(__x86_64__)
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  notify_if_sleeping(rt);
}

namespace {

// An unpark or a cancel of the fiber (slot, id): the request's id raised in
// the record (`which` is remote_unpark or remote_cancel), then its bit posted.
async_status_t post_request(runtime& rt, std::uint32_t slot, std::uint64_t id, std::uint32_t which) noexcept {
  if (slot >= rt.task_capacity || !id_of_runtime(rt, id)) return ASYNC_EINVAL;
  task* t = &rt.tasks[slot];
  raise_to(which == remote_unpark ? t->remote.unpark_id : t->remote.cancel_id, id);
  post_task_event(rt, t, which);
  return ASYNC_OK;
}

}  // namespace

async_status_t unpark_fiber(runtime& rt, std::uint32_t slot, std::uint64_t id) noexcept {
  return post_request(rt, slot, id, remote_unpark);
}

async_status_t cancel_foreign(runtime& rt, std::uint32_t slot, std::uint64_t id) noexcept {
  return post_request(rt, slot, id, remote_cancel);
}

namespace {

// Counted under the lock that every foreign spawn takes, by a plain load and
// store: a read-modify-write here cost a locked instruction per spawn.
// Published before the fiber can run (the push that follows), so a group's
// scan never sees its end without its spawn (group.cpp).
void count_foreign_spawn(runtime& rt) noexcept ASYNC_TS_REQUIRES(rt.free_lock) {
  rt.foreign_spawns.store(rt.foreign_spawns.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

async_fiber_handle_t spawn_foreign(runtime& rt, async_fn fn, void* user,
                                   const async_spawn_options_t* opts) noexcept {
  async_fiber_handle_t h{};
  h.runtime = rt.handle;
  task* t;
  {
    spin_guard guard(rt.free_lock);
    t = rt.shared_free.pop_front();
    if (t != nullptr) count_foreign_spawn(rt);
  }
  if (t == nullptr) {
    // The owner may hold free records in its cache: it shares them at its
    // next idle moment, for the next spawn.
    rt.free_starved.store(true, std::memory_order_relaxed);
    wake_owner(rt);
    h.status = ASYNC_EFULL;
    return h;
  }
  // The record is off every list: this thread alone writes it until the push.
  // Its id is the owner's to change (start_record), and the next one is known.
  fill_record(t, fn, user, opts);
  // Field by field, straight into the caller's handle, before the atomics
  // below (not handle_of's single store, built aside and copied after them:
  // that made multi_bench spawn slower, 77 -> 90 ns per fiber over 150
  // interleaved rounds, for reasons perf without hardware counters could
  // not show).
  h.status = ASYNC_OK;
  h.slot = t->slot;
  h.id = t->id + rt.task_capacity;
  post_task_event(rt, t, remote_spawn);
  return h;
}

bool take_inbox(runtime& rt) noexcept {
  bool replied = false;
  while (inbox_node* n = rt.in.pop()) {
    switch (n->kind) {
      case inbox_kind::task_event:
        replied |= apply_task_event(rt, task_of(n));
        break;
      case inbox_kind::await_start:
        apply_await_start(rt, n);
        break;
      case inbox_kind::await_done:
        apply_await_done(rt, n);
        replied = true;
        break;
      case inbox_kind::stop:
        rt.stop = true;
        break;
    }
  }
  return replied;
}

void wait_for_work(runtime& rt, std::uint64_t timeout_ns) noexcept {
  // When the spin ran out, the time the sleep began (real clock), to adapt
  // the spin's limit by how long the sleep lasted.
  std::uint64_t slept_from = 0;
  if (timeout_ns != 0 && waits_for_other_threads(rt)) {
    const std::uint64_t limit = timeout_ns < rt.inbox_spin_ns ? timeout_ns : rt.inbox_spin_ns;
    if (spin_for_inbox(rt, limit)) {
      timeout_ns = 0;
    } else if (limit == rt.inbox_spin_ns) {
      slept_from = real_now_ns();
    }
  } else if (timeout_ns != 0 && rt.spawns_arrived) {
    if (spin_after_spawns(rt, timeout_ns)) timeout_ns = 0;
  }
  if (timeout_ns != 0) {
    rt.sleeping.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // see the file's header
    if (rt.in.maybe_nonempty(std::memory_order_seq_cst)) timeout_ns = 0;
  }
  // A non-blocking wait with nothing registered could only report a notify,
  // and the inbox is read below anyway: no system call (a notify left in the
  // driver ends the next blocking wait early, at worst).
  if (timeout_ns != 0 || rt.io_registered != 0) rt.drv->wait(rt, timeout_ns);
  const std::uint64_t slept_ns = slept_from != 0 ? real_now_ns() - slept_from : 0;
  if (rt.sleeping.load(std::memory_order_relaxed)) rt.sleeping.store(false, std::memory_order_relaxed);
  // Cleared after every wait, a non-blocking one too: that one may drain a
  // notify sent for an earlier sleep and written late, and a `notified` left
  // set with nothing pending would make every later sender skip its notify
  // while the owner blocks: a lost wake. Clearing early costs at most a
  // spurious wake-up.
  if (rt.notified.load(std::memory_order_relaxed)) rt.notified.store(false, std::memory_order_relaxed);
  const bool replied = take_inbox(rt);
  if (slept_from != 0) rt.inbox_spin_ns = adapted_spin(rt.inbox_spin_ns, slept_ns, replied);
}

async_status_t park_fiber(task* self, std::uint64_t deadline) noexcept {
  runtime& rt = *self->rt;
  if (rt.in.maybe_nonempty()) take_inbox(rt);
  // After the inbox: a cancel it held for this very fiber (running, so
  // cancel_fiber only set the flag) must end the call, not be slept through.
  if (self->cancelled) return ASYNC_ECANCELED;
  if (self->unpark_token) {
    self->unpark_token = false;
    return ASYNC_OK;
  }
  if (deadline != no_deadline) {
    if (deadline <= clock_ns(rt)) return ASYNC_ETIMEDOUT;
    rt.timers.arm(self, deadline);
  }
  wait_on(self, rt.parkers, wait_kind::park);
  begin_foreign_wait(rt);
  const async_status_t st = park(self);
  end_foreign_wait(rt);
  return st;
}

void remote_shutdown(runtime& rt) noexcept {
  // Spawns that never arrived are dropped like unfinished fibers; awaits of
  // fibers that will never end are answered; answers to our own awaits are
  // dropped (their fibers are being dropped).
  while (inbox_node* n = rt.in.pop()) {
    switch (n->kind) {
      case inbox_kind::task_event: {
        task* t = task_of(n);
        const std::uint32_t bits = n->pending.exchange(0, std::memory_order_acq_rel);
        if ((bits & remote_spawn) != 0 && t->on_discard != nullptr) {
          async_fn discard = t->on_discard;
          t->on_discard = nullptr;
          discard(t->user);
        }
        break;
      }
      case inbox_kind::await_start:
        apply_await_start(rt, n);  // linked, then answered below
        break;
      case inbox_kind::await_done:
        apply_await_done(rt, n);  // the fiber is not waiting any more: freed
        break;
      case inbox_kind::stop:
        break;
    }
  }
  answer_all_remote_awaits(rt, ASYNC_ECANCELED);
}

}  // namespace async::detail
