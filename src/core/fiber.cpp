// SPDX-License-Identifier: MIT
// fiber.cpp: the fiber operations behind the C API: spawn, await, cancel,
// yield and sleep. Arguments are checked in src/api; here they are valid.
#include "fiber.h"

namespace async::detail {

// --- records -----------------------------------------------------------------
// Free records are reused oldest freed first. The owner takes them from its
// cache (free_tasks, the oldest) and frees them into recent_free (the
// newest); the records between, shared_free, are the ones other threads'
// spawns take, under free_lock. The owner moves whole batches between its
// lists and the shared one, so it takes the lock once per cache_max spawns
// or ends, not once per fiber.
//
// The shared list is a run of batches, each as the owner put it there (a
// flush of its recent frees, its cache given back, a table's worth at init),
// and each batch's first record knows the batch's last (task::batch_last).
// So the owner takes the oldest batch in one cut, without walking it: the
// walk read one cold record after another (the oldest records are the ones
// touched longest ago) and took 8 % of a spawn's time. Only when a foreign
// spawn took a batch's first record does the owner walk that batch's rest.

namespace {

// Makes `l` one batch, for the shared list.
void mark_batch(task_list& l) noexcept {
  if (l.empty()) return;
  l.head->batch_size = static_cast<std::uint32_t>(l.size());
  l.head->batch_last = l.tail;
}

void unmark(task* t) noexcept {
  t->batch_size = 0;
  t->batch_last = nullptr;
}

// Appends the owner's recent frees to the shared list. Under free_lock.
void flush_recent_locked(runtime& rt) noexcept ASYNC_TS_REQUIRES(rt.free_lock) {
  mark_batch(rt.recent_free);
  rt.shared_free.splice_back(rt.recent_free);
}

// The oldest batch of the (non-empty) shared list, cut off: whole when its
// first record is there, else (a foreign spawn took it) its first cache_max
// records, walked. Every record cut is left unmarked. Under free_lock.
task_list cut_oldest_batch_locked(runtime& rt) noexcept ASYNC_TS_REQUIRES(rt.free_lock) {
  task_list& shared = rt.shared_free;
  task* first = shared.head;
  if (task* last = first->batch_last) {
    const std::size_t n = first->batch_size;
    unmark(first);
    return shared.cut_through(last, n);
  }
  task_list cut = shared.cut_front(rt.cache_max != 0 ? rt.cache_max : 1);
  for (task* t = cut.head; t != nullptr; t = t->next) unmark(t);
  return cut;
}

}  // namespace

void share_initial_records(runtime& rt, task_list& records) noexcept {
  spin_guard guard(rt.free_lock);
  const std::size_t batch = rt.cache_max != 0 ? rt.cache_max : 1;
  while (!records.empty()) {
    task_list b = records.cut_front(batch);
    mark_batch(b);
    rt.shared_free.splice_back(b);
  }
}

task* take_record(runtime& rt) noexcept {
  if (task* t = rt.free_tasks.pop_front()) return t;
  {
    spin_guard guard(rt.free_lock);
    // The cache is empty, so the shared list now holds the oldest records:
    // its oldest batch becomes the cache.
    flush_recent_locked(rt);
    if (rt.shared_free.empty()) return nullptr;
    rt.free_tasks = cut_oldest_batch_locked(rt);
  }
  return rt.free_tasks.pop_front();
}

void share_recent_records(runtime& rt) noexcept {
  spin_guard guard(rt.free_lock);
  flush_recent_locked(rt);
}

void share_all_records(runtime& rt) noexcept {
  rt.free_starved.store(false, std::memory_order_relaxed);
  spin_guard guard(rt.free_lock);
  flush_recent_locked(rt);
  // The cache holds the oldest: it goes in front, as one batch.
  mark_batch(rt.free_tasks);
  rt.free_tasks.splice_back(rt.shared_free);
  rt.shared_free = rt.free_tasks;
  rt.free_tasks = task_list{};
}

void fill_record(task* t, async_fn fn, void* user, const async_spawn_options_t* opts) noexcept {
  const bool own_stack = opts != nullptr && opts->stack != nullptr;
  t->fn = fn;
  t->user = user;
  t->user_stack_lo = own_stack ? static_cast<char*>(opts->stack) : nullptr;
  t->user_stack_size = own_stack ? opts->stack_size : 0;
  t->name = opts != nullptr ? opts->name : nullptr;
  t->on_discard = opts != nullptr ? opts->on_discard : nullptr;
}

void start_record(runtime& rt, task* t) noexcept {
  t->id += rt.task_capacity;
  t->sp = nullptr;
  t->stack = nullptr;
  t->eh = eh_globals{};
  t->wake_status = ASYNC_OK;
  t->outcome = ASYNC_OK;
  t->cancelled = false;
  t->unpark_token = false;
  t->wait_list = nullptr;
  t->xfer = nullptr;
  t->state = task_state::runnable;
  rt.run_queue.push_back(t);
  ++rt.live;
}

async_fiber_handle_t spawn_fiber(runtime& rt, async_fn fn, void* user,
                                 const async_spawn_options_t* opts) noexcept {
  async_fiber_handle_t h{};
  h.runtime = rt.handle;
  task* t = rt.free_tasks.head;
  if (t == nullptr) {
    t = take_record(rt);
    if (t == nullptr) {
      h.status = ASYNC_EFULL;
      return h;
    }
    rt.free_tasks.push_front(t);  // taken below, once the stack is sure
  }
  const bool own_stack = opts != nullptr && opts->stack != nullptr;
  if (!own_stack) {
    // Keep a stack ready for every fresh fiber, as far as the capacity
    // allows, so that running out of memory (or of guards) is reported here
    // and not when the fiber is first dispatched.
    async_status_t st = rt.pool.ensure_free(rt.fresh_pooled + 1);
    if (st != ASYNC_OK) {
      h.status = st;
      return h;
    }
    ++rt.fresh_pooled;
  }
  rt.free_tasks.pop_front();
  fill_record(t, fn, user, opts);
  start_record(rt, t);
  if (rt.group != nullptr) {
    rt.local_spawns.store(rt.local_spawns.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  return make_handle(t);
}

async_status_t await_in_fiber(task* self, task* target) noexcept {
  if (target == self) return ASYNC_EINVAL;
  if (target->state == task_state::free || target->state == task_state::done) return target->outcome;
  if (self->cancelled) return ASYNC_ECANCELED;
  wait_on(self, target->awaiters, wait_kind::await);
  return park(self);
}

async_status_t await_from_outside(runtime& rt, task* target) noexcept {
  if (target->state == task_state::free || target->state == task_state::done) return target->outcome;
  rt.root_waits = root_wait::fiber;
  task* root = &rt.root;
  target->awaiters.push_back(root);
  root->wait_list = &target->awaiters;
  return drive(rt);
}

async_status_t run_until_idle(runtime& rt) noexcept {
  rt.root_waits = root_wait::idle;
  rt.root.wait_list = nullptr;
  return drive(rt);
}

void cancel_fiber(task* t) noexcept {
  runtime& rt = *t->rt;
  t->cancelled = true;
  if (rt.closing) return;  // shutdown drops it anyway
  switch (t->state) {
    case task_state::runnable:
      if (t->sp != nullptr) return;  // started: it sees the flag at its next blocking call
      leave_run_queue(rt, t);
      finish_unstarted(t);
      return;
    case task_state::stack_wait:
      rt.stack_waiters.remove(t);
      t->wait_list = nullptr;
      finish_unstarted(t);
      return;
    case task_state::parked:
      wake(t, ASYNC_ECANCELED);
      return;
    case task_state::running:
    case task_state::done:
    case task_state::free:
      return;
  }
}

void leave_run_queue(runtime& rt, task* t) noexcept {
  // The current pass is the first pass_left entries of the queue: if `t` is
  // one of them, the pass is one dispatch shorter (docs/design.md, order rule 4). Rare
  // (cancelling a fiber that never ran), so a walk is fine.
  std::size_t position = 0;
  for (task* q = rt.run_queue.head; q != t && position < rt.pass_left; q = q->next) ++position;
  if (position < rt.pass_left) --rt.pass_left;
  rt.run_queue.remove(t);
}

async_status_t yield_fiber(task* self) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  runtime& rt = *self->rt;
  self->state = task_state::runnable;
  rt.run_queue.push_back(self);
  task* next = pick_next(rt);
  if (next != self) switch_to(self, next);
  // Cancelled while it waited for its turn: the yield was its blocking call.
  return self->cancelled ? ASYNC_ECANCELED : ASYNC_OK;
}

async_status_t sleep_until(task* self, std::uint64_t deadline_ns) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  self->rt->timers.arm(self, deadline_ns);
  self->state = task_state::parked;
  self->wait = wait_kind::sleep;
  async_status_t st = park(self);
  return st == ASYNC_ETIMEDOUT ? ASYNC_OK : st;
}

}  // namespace async::detail
