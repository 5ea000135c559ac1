// SPDX-License-Identifier: MIT
// runtime.cpp: creating, inspecting and destroying a runtime.
#include "runtime.h"

#include <atomic>
#include <new>

#include "../arch/context.h"
#include "../stack/overflow.h"
#include "alloc.h"
#include "channel.h"
#include "dump_signal.h"
#include "fiber.h"
#include "fls.h"
#include "registry.h"
#include "remote.h"
#include "schedule.h"

namespace async::detail {
namespace {

std::atomic<std::uint64_t> g_runtime_serial{0};

// The most events a poller wait may take (async_config_t.max_events): the
// backends pass it to the kernel as an int, and the kqueue one refuses more.
constexpr std::size_t max_events_limit = std::size_t{1} << 20;

constexpr std::uint32_t known_flags =
    ASYNC_CONFIG_NO_GUARD_PAGES | ASYNC_CONFIG_PIN_THREADS | ASYNC_CONFIG_VIRTUAL_TIME;

std::size_t or_default(std::size_t value, std::size_t fallback) noexcept {
  return value != 0 ? value : fallback;
}

// stack_slot::owner is the task holding the stack (scheduler.cpp); the
// overflow report reads it on the overflowing fiber's own thread.
void describe_stack_owner(const void* owner, stack_owner_info& out) noexcept {
  const auto* t = static_cast<const task*>(owner);
  out.id = t->id;
  out.name = t->name;
  out.entry = reinterpret_cast<const void*>(t->fn);
}

}  // namespace

async_status_t runtime_create(async_runtime_t* handle, const async_config_t* cfg) noexcept {
  async_config_t c{};
  if (cfg != nullptr) c = *cfg;
  if (c.backend > ASYNC_BACKEND_KQUEUE || (c.flags & ~known_flags) != 0) return ASYNC_EINVAL;
  const std::size_t task_capacity = or_default(c.task_capacity, ASYNC_DEFAULT_TASK_CAPACITY);
  const std::size_t fiber_capacity = or_default(c.fiber_capacity, ASYNC_DEFAULT_FIBER_CAPACITY);
  const std::size_t stack_size = or_default(c.fiber_stack_size, ASYNC_DEFAULT_FIBER_STACK_SIZE);
  const std::size_t max_events = or_default(c.max_events, ASYNC_DEFAULT_MAX_EVENTS);
  if (task_capacity >= UINT32_MAX || stack_size < ASYNC_MIN_STACK_SIZE) return ASYNC_EINVAL;
  if (max_events > max_events_limit) return ASYNC_EINVAL;
  std::uint64_t seed = 0;
  if (const async_status_t st = schedule_seed_of(c, seed); st != ASYNC_OK) return st;
  schedule_ptr sched;
  if (seed != 0) {
    sched = schedule_make(seed, c, task_capacity);
    if (sched == nullptr) return ASYNC_ENOMEM;
  }

  auto* rt = heap_new<runtime>();
  if (rt == nullptr) return ASYNC_ENOMEM;
  rt->tasks = new_array<task>(task_capacity);
  if (rt->tasks == nullptr || !rt->timers.init(task_capacity)) {
    delete_array(rt->tasks, task_capacity);
    heap_delete(rt);
    return ASYNC_ENOMEM;
  }
  rt->handle = handle;
  rt->serial = g_runtime_serial.fetch_add(1, std::memory_order_relaxed) + 1;
  rt->id_base = rt->serial << 40;
  rt->task_capacity = task_capacity;
  // The owner keeps a few free records to itself, so that its spawns and
  // ends take the free-list lock once per batch; small tables share them all.
  rt->cache_max = task_capacity >= 256 ? 32 : task_capacity / 8;
  rt->max_events = max_events;
  rt->guards = (c.flags & ASYNC_CONFIG_NO_GUARD_PAGES) == 0;
  // The virtual clock starts at the real one, so that a deadline computed
  // from async_now_ns() outside the runtime's fibers before its first drive
  // (the real clock there) is as far ahead on it as on the real clock.
  rt->virtual_clock = (c.flags & ASYNC_CONFIG_VIRTUAL_TIME) != 0;
  rt->vnow = real_now_ns();
  if (!rt->pool.init(stack_size, fiber_capacity, rt->guards)) {
    rt->timers.destroy();
    delete_array(rt->tasks, task_capacity);
    heap_delete(rt);
    return ASYNC_EINVAL;  // a stack size whose page round-up (and guard) overflows
  }
  rt->drv = &io_driver();
  if (const async_status_t st = rt->drv->open(*rt, c.backend); st != ASYNC_OK) {
    rt->pool.destroy();
    rt->timers.destroy();
    delete_array(rt->tasks, task_capacity);
    heap_delete(rt);
    return st;
  }
  {
    task_list records;
    for (std::size_t i = 0; i < task_capacity; ++i) {
      task* t = &rt->tasks[i];
      t->rt = rt;
      t->slot = static_cast<std::uint32_t>(i);
      // The id "before" the record's first fiber: that one gets id_base + i + 1.
      t->id = rt->id_base + i + 1 - task_capacity;
      records.push_back(t);
    }
    share_initial_records(*rt, records);
  }
  rt->sched = sched.release();
  rt->root.rt = rt;
  rt->root.state = task_state::running;
  san_on_create(rt->root.san, nullptr, 0, true);
  rt->owner = thread_token();
  rt->owner_thread = pthread_self();
  (void)dump_signal_number();  // installs the ASYNC_DUMP_SIGNAL handler, once
  if (rt->guards) {
    overflow_describe_owners(&describe_stack_owner);
    overflow_install_on_this_thread();
  }
  {
    checked_guard guard(registry_lock());
    registry_add(rt);
    handle->impl = rt;
  }
  owned_add(rt);
  return ASYNC_OK;
}

void runtime_destroy(runtime* rt) noexcept {
  // First tell the owners of unfinished fibers, while everything is intact.
  // The callbacks run user code (C++ destructors): `closing` makes every call
  // on this runtime refuse (ESTATE) or, for cancel, only mark, so that a
  // callback can neither re-enter the shutdown nor end another fiber early.
  // Each callback is taken before it is called: it runs at most once.
  rt->closing = true;
  for (std::size_t i = 0; i < rt->task_capacity; ++i) {
    task& t = rt->tasks[i];
    if (t.state == task_state::free) continue;
    async_fn discard = t.on_discard;
    t.on_discard = nullptr;
    if (discard != nullptr) discard(t.user);
  }
  // Live until here: a callback's async_runtime_init on this struct is
  // refused (ESTATE) rather than replacing the runtime under the shutdown.
  // From here on no other thread finds it by its handle either. (What other
  // threads reach it through without the registry, a group or a channel,
  // they must stop using before the shutdown.)
  {
    checked_guard guard(registry_lock());
    registry_remove(rt);
  }
  for (std::size_t i = 0; i < rt->task_capacity; ++i) {
    task& t = rt->tasks[i];
    if (t.state == task_state::free) continue;
    // Parked on channels that other threads may still use: taken off them
    // (under their locks) before the stacks that hold the waits go away.
    // Also when already woken but not yet run (the hook is cleared by the
    // fiber itself): the thread that woke it may not be done with the wait
    // record or this runtime yet, and the hook waits for it (a blocking-pool
    // worker; a channel completer, through the channel's guard).
    if (t.wait_abort != nullptr) {
      (void)t.wait_abort(&t, true);
      t.wait_abort = nullptr;
    }
    // A fiber that never ended: dropped without running further.
    if (t.sp != nullptr) {
      san_on_destroy(t.san);
      shstk_release(t.shstk);
    }
    valgrind_deregister_stack(t.valgrind_id);
  }
  // Other threads awaiting fibers that will never end are told so, and
  // messages still queued are answered or dropped.
  remote_shutdown(*rt);
  channel_detach_all(*rt);
  rt->drv->close(*rt);
  rt->pool.destroy();
  rt->timers.destroy();
  schedule_deleter{}(rt->sched);
  // Fibers that never ended lose their fiber-local values without their
  // destructors: those would run on stacks that are gone.
  fls_release_all(*rt);
  delete_array(rt->tasks, rt->task_capacity);
  {
    checked_guard guard(registry_lock());
    rt->handle->impl = nullptr;
  }
  owned_remove(rt);
  heap_delete(rt);
}

bool runtime_is_live(const async_runtime_t* handle) noexcept {
  // Only compared until found: the pointer may come from memory the caller
  // never initialised.
  const void* candidate = handle->impl;
  bool live = false;
  registry_for_each([&](runtime& rt) { live = live || (&rt == candidate && rt.handle == handle); });
  return live;
}

void runtime_stats(const runtime& rt, async_runtime_stats_t& out) noexcept {
  out = async_runtime_stats_t{};
  out.fibers_live = rt.live;
  out.fibers_runnable = rt.run_queue.size();
  out.fibers_waiting_stack = rt.stack_waiters.size();
  out.stacks_allocated = rt.pool.allocated();
  out.stacks_in_use = rt.pool.allocated() - rt.pool.free_count();
  out.stack_bytes = rt.pool.stack_bytes();
  out.guard_bytes = rt.pool.guard_bytes();
  out.mappings = rt.pool.mappings();
  out.timers_pending = rt.timers.size();
  out.io_registered = rt.io_registered;
  out.io_waiting = rt.io_waiting;
  out.switches = rt.switches;
  out.guard_method = static_cast<int>(rt.pool.method());
}

}  // namespace async::detail
