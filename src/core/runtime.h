// SPDX-License-Identifier: MIT
// runtime.h: the state of one runtime and its scheduler. The scheduler is a
// single FIFO run queue; fibers switch directly to one another (no hop
// through a scheduler context). The thread that drives the runtime (in run or
// a top-level await) is represented by the "root" task: it parks like a fiber
// and is woken like one, so that the order of everything, including when
// control returns to the caller, follows the same FIFO rules. docs/design.md
// walks through one scheduler turn.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../arch/assert.h"
#include "../arch/context.h"
#include "../arch/fp_control.h"
#include "../stack/stack_pool.h"
#include "async.h"
#include "clock.h"
#include "driver.h"
#include "fls.h"
#include "inbox.h"
#include "checked_mutex.h"
#include "registry.h"
#include "spin_lock.h"
#include "task.h"
#include "timer_heap.h"

namespace async::detail {

// What the root (the driving thread) is waiting for.
enum class root_wait : std::uint8_t {
  idle,     // async_runtime_run: until nothing is runnable or pending
  fiber,    // a top-level async_await: until that fiber ends
  stopped,  // a group's thread: until the group stops it (runtime::stop)
};

struct group_impl;
struct await_request;
struct channel;
struct channel_ring;
struct schedule;

// Guards every runtime's `channels` (channel.h has the rule).
checked_mutex& channel_lists_lock() noexcept;

struct runtime {
  async_runtime_t* handle = nullptr;  // the user's struct, which handles name
  std::uint64_t id_base = 0;          // serial << 40: ids differ across runtimes
  std::uint64_t serial = 0;           // unique per runtime ever made in the process
  std::size_t task_capacity = 0;
  std::size_t max_events = 0;
  bool guards = true;

  task* tasks = nullptr;  // the task table
  // Up to here, fields written only at init: a foreign spawn reads them
  // (handle, task_capacity) and must not find them on a line the owner
  // writes at every fiber's end (a miss per spawn: docs/benchmarks.md,
  // "Foreign spawns without false sharing, and fldcw skipped").
  //
  // Free records, oldest freed first, in three parts (see fiber.cpp,
  // "records"): the owner's cache (the oldest), the shared middle that other
  // threads' spawns take from, and the owner's latest frees (the newest).
  alignas(64) task_list free_tasks;  // owner only
  task_list recent_free;  // owner only
  std::size_t cache_max = 0;  // most records in free_tasks and in recent_free
  // Other threads touch what follows in its own cache lines (alignas), so
  // that their traffic does not evict the owner's hot fields, nor the
  // owner's frees (recent_free, written at every fiber's end) theirs.
  alignas(64) task_list shared_free ASYNC_TS_GUARDED_BY(free_lock);
  spin_lock free_lock;
  std::atomic<bool> free_starved{false};  // a foreign spawn found shared_free empty
  // Spawns made by other threads, ever; written under free_lock only, on its
  // line, which a thread that spawns here holds anyway. Read by placement
  // and group waits (group.cpp).
  std::atomic<std::uint64_t> foreign_spawns{0};

  // Owner only again, from a new line: live changes at every spawn and end.
  alignas(64) std::size_t live = 0;  // spawned (and applied), not ended; owner only
  std::size_t fresh_pooled = 0;  // spawned, not started, still to take a pooled stack
  // The shared channel ring a fiber of this runtime spins on, if any (one at
  // most: a spin never switches fibers). Written by the owner only, read by
  // a channel's shutdown under registry_lock(), which frees the ring only
  // once no runtime names it (channel.cpp, ring_spinner).
  std::atomic<const channel_ring*> spinning_ring{nullptr};

  task root;                  // the driving thread's context
  root_wait root_waits = root_wait::idle;
  // Not next to run_queue's count: both drop at every dispatch, and g++
  // merged the two decrements into one 16-byte load and store, a load that
  // the CPU cannot forward from the two 8-byte stores before it (10 % of a
  // spawn+await's time in perf, stalled there).
  std::size_t pass_left = 0;  // dispatches left in the current pass
  task_list run_queue;
  schedule* sched = nullptr;  // a seeded schedule (schedule.h); nullptr: FIFO
  task_list stack_waiters;    // dispatched fibers waiting for a stack, FIFO
  timer_heap timers;
  stack_pool pool;

  const driver_ops* drv = nullptr;  // the I/O driver (src/io)
  driver_state* io = nullptr;       // its state
  std::size_t io_registered = 0;    // sources the driver watches (a poll can find something)
  std::size_t io_waiting = 0;       // fibers waiting for the driver or another thread
                                    // (I/O, async_park, an await across runtimes)
  bool just_polled = false;         // the driver was asked since the pass began
  bool virtual_clock = false;       // ASYNC_CONFIG_VIRTUAL_TIME: timers run on vnow
  std::uint64_t vnow = 0;           // the virtual clock: starts at the real clock at
                                    // init, moved only by the scheduler when idle
  task_list parkers;                // fibers in async_park
  std::size_t cross_waiting = 0;    // fibers waiting for another thread (begin_foreign_wait)
  std::uint64_t inbox_spin_ns = 5000;  // how long an idle wait spins for the inbox (remote.cpp)
  bool spawns_arrived = false;      // the inbox brought spawns since the last idle wait

  inbox in;                          // what other threads send (core/remote.cpp)
  // Written by the owner, read by other threads: `sleeping` by every
  // sender, the counters by placement and group waits (group.cpp). One
  // line, so that a foreign spawn, which reads the counters to place the
  // fiber and then `sleeping` after its push, misses it once.
  alignas(64) std::atomic<bool> sleeping{false};  // the owner is in, or about to enter, a blocking wait
  std::atomic<bool> notified{false};  // a notify was sent for this wait
  std::atomic<std::uint64_t> local_spawns{0};  // spawns made by the owner, ever
  std::atomic<std::uint64_t> ended{0};         // fibers ended, ever

  // A new line: remote_waiters changes at every await across runtimes.
  alignas(64) runtime* reg_next ASYNC_TS_GUARDED_BY(registry_lock()) = nullptr;  // the registry's list (core/registry.cpp)
  runtime* reg_prev ASYNC_TS_GUARDED_BY(registry_lock()) = nullptr;
  runtime* owned_next = nullptr;  // the owner thread's list (registry.h)
  task_list remote_waiters;       // our fibers awaiting fibers of other runtimes
  intrusive_list<await_request> remote_awaits;  // other threads awaiting our fibers

  group_impl* group = nullptr;  // the group whose thread drives this runtime
  bool stop = false;            // a group stop arrived: the root's wait is over

  const void* owner = nullptr;  // thread_token() of the owning thread
  pthread_t owner_thread{};     // the same, for the dump signal to reach it (dump_signal.cpp)
  std::atomic<bool> dump_forwarded{false};  // the dump signal was sent on to the owner
  bool driving = false;     // a thread is in run or a top-level await
  bool closing = false;     // shutdown is calling on_discard callbacks
  eh_globals* eh = nullptr; // the owner thread's exception globals
  fp_control fp_initial{};  // FP control state fresh fibers start with (see drive)
  std::uint64_t switches = 0;
  san_context* san_prev = nullptr;  // the context that switched last (ASan learns root bounds)
  task* dead = nullptr;  // a finished fiber whose context state awaits release
  // Initialised channels, newest first: shutdown detaches them.
  intrusive_list<channel> channels ASYNC_TS_GUARDED_BY(channel_lists_lock());
  fls_cache fls_spare;          // fiber-local storage blocks for the next fibers (fls.cpp)
};

// The fiber running on this thread, or the root while a runtime is driven, or
// nullptr outside any runtime. initial-exec: one instruction, no call.
extern thread_local constinit task* tls_current __attribute__((tls_model("initial-exec")));
// This thread's C++ exception globals, fetched once (__cxa_get_globals).
extern thread_local constinit eh_globals* tls_eh_globals __attribute__((tls_model("initial-exec")));
extern thread_local constinit char tls_thread_marker __attribute__((tls_model("initial-exec")));

// Identifies the calling thread without a call (pthread_self is one): the
// address of a thread-local byte, distinct for every live thread.
inline const void* thread_token() noexcept { return &tls_thread_marker; }

inline bool is_root(const task* t) noexcept { return t == &t->rt->root; }

// The calling fiber, or nullptr when not inside a fiber.
inline task* current_fiber() noexcept {
  task* t = tls_current;
  return t != nullptr && !is_root(t) ? t : nullptr;
}

// --- scheduler (scheduler.cpp) ----------------------------------------------

// Removes the next task to run from the run queue (its head, or under a
// seeded schedule the one the seed picks), handing out stacks to fresh
// fibers, polling timers once per pass, and blocking when nothing is
// runnable. Returns the root when the runtime is idle or deadlocked. Never
// inlined: the callers of pick_next (yield, park) keep only the fast path,
// and with it their few registers (inlined, the slow path made every yield
// save and restore three more).
[[gnu::noinline]] task* pick_next_slow(runtime& rt) noexcept;

inline task* pick_next(runtime& rt) noexcept {
  if (rt.pass_left == 0) {
    // A pass begins. With nothing to poll, it only needs its length. A
    // seeded runtime keeps pass_left at 0 between picks, so that it always
    // gets here and goes on to the slow path: FIFO pays one test per pass.
    if (!rt.timers.empty() || rt.io_waiting != 0 || rt.in.maybe_nonempty() || rt.sched != nullptr) {
      return pick_next_slow(rt);
    }
    rt.pass_left = rt.run_queue.size();
    rt.just_polled = false;
  }
  task* t = rt.run_queue.head;
  // Fast path: the head has already started (has a context).
  if (t != nullptr && t->sp != nullptr) {
    rt.run_queue.pop_front();
    --rt.pass_left;
    t->state = task_state::running;
    return t;
  }
  return pick_next_slow(rt);
}

// Right after arriving in `self`: finishes the switch for the sanitizers and
// releases what an ended fiber could not release while running on it.
void after_arrival_slow(runtime& rt, task* self) noexcept;

// Whether an ended fiber leaves state behind to release after the switch.
inline constexpr bool dead_fibers_need_release = ASYNC_TSAN || ASYNC_CTX_SHSTK;

inline void after_arrival(runtime& rt, task* self) noexcept {
  if (ASYNC_ASAN || (dead_fibers_need_release && rt.dead != nullptr)) after_arrival_slow(rt, self);
}

// What every switch from the running task `from` to `to` does just before
// the context switch itself (`to` has a context: pick_next made it for a
// fresh fiber, and the root has one once it has switched away): counts the
// switch, moves the thread's exception-handling state to `to` (saving
// `from`'s unless `ending`: it never runs again), makes `to` current and
// tells the sanitizers (an `ending` fiber's stack is about to be released).
// Always inlined (as san_before_switch is): a call that returned after the
// TSan fiber switch would pop a frame from the new fiber's shadow stack.
ASYNC_SAN_INLINE void before_switch(runtime& rt, task* from, task* to, bool ending) noexcept {
  ASYNC_ASSERT(to->sp != nullptr);
  ++rt.switches;
  if (!ending) from->eh = *rt.eh;
  *rt.eh = to->eh;
  tls_current = to;
  rt.san_prev = &from->san;
  san_before_switch(from->san, to->san, ending);
}

// Switches from the running task `from` (already queued or parked) to `to`;
// returns when `from` is resumed.
inline void switch_to(task* from, task* to) noexcept {
  runtime& rt = *from->rt;
  before_switch(rt, from, to, false);
  if (ctx_is_fresh(to->sp)) {
    ctx_swap_into_fresh(&from->sp, to->sp);
  } else {
    async_impl_ctx_swap(&from->sp, to->sp);
  }
  after_arrival(rt, from);
}

// Suspends the running fiber `self`, whose state and wait registration the
// caller has set; returns the status it was woken with.
inline async_status_t park(task* self) noexcept {
  runtime& rt = *self->rt;
  task* next = pick_next(rt);
  if (next != self) switch_to(self, next);
  return self->wake_status;
}

// Makes a parked task runnable with status `st`: leaves its wait list and
// timer, and goes to the tail of the run queue. For the one that completed
// the task's wait (a channel operation, a remote wake): no withdrawal asked.
// wake_untimed is its last step alone, for a task known to be on no
// wait_list and without a timer (a channel's waiter the caller checked): no
// call on the way, so a caller's fast path needs no saved registers.
[[gnu::always_inline]] inline void wake_untimed(task* t, async_status_t st) noexcept {
  ASYNC_ASSERT(t->wait_list == nullptr && !t->timer_armed);
  t->wake_status = st;
  t->state = task_state::runnable;
  t->rt->run_queue.push_back(t);
}

[[gnu::always_inline]] inline void wake_plain(task* t, async_status_t st) noexcept {
  if (t->wait_list != nullptr) {
    t->wait_list->remove(t);
    t->wait_list = nullptr;
  }
  if (t->timer_armed) t->rt->timers.disarm(t);
  wake_untimed(t, st);
}

// wake_plain for timers, cancels and the rest: a wait that other threads may
// complete is withdrawn first; when it cannot be (it was completed already,
// and that wake is on its way) nothing happens.
inline void wake(task* t, async_status_t st) noexcept {
  if (t->wait_abort != nullptr && !t->wait_abort(t, false)) return;
  wake_plain(t, st);
}

// Parks `self` on `list` (FIFO), waiting for `kind`.
inline void wait_on(task* self, task_list& list, wait_kind kind) noexcept {
  self->state = task_state::parked;
  self->wait = kind;
  list.push_back(self);
  self->wait_list = &list;
}

// Ends a fiber that never started: cancelled before its first run
// (ASYNC_ECANCELED), or spawned from another thread without a stack to be had.
void finish_unstarted(task* t, async_status_t outcome = ASYNC_ECANCELED) noexcept;

// Runs the runtime on the calling thread until the root is woken; the root's
// wait (root_waits, and a wait list for `fiber`) is set by the caller.
async_status_t drive(runtime& rt) noexcept;

// --- records ----------------------------------------------------------------

// The task a handle names, or nullptr when the handle is zeroed, stale or
// foreign. A non-null result may be an ended fiber (state free or done).
inline task* resolve(const runtime& rt, const async_fiber_handle_t& h) noexcept {
  if (h.slot >= rt.task_capacity) return nullptr;
  task* t = &rt.tasks[h.slot];
  return t->id == h.id && h.id != 0 ? t : nullptr;
}

inline runtime* runtime_of(const async_runtime_t* rt) noexcept {
  return rt != nullptr ? static_cast<runtime*>(rt->impl) : nullptr;
}

inline bool owned_by_caller(const runtime& rt) noexcept { return rt.owner == thread_token(); }

// registry.h: the calling thread's own runtimes, newest first.
inline runtime* owned_find(const async_runtime_t* handle) noexcept {
  for (runtime* r = tls_owned; r != nullptr; r = r->owned_next) {
    if (r->handle == handle) return r;
  }
  return nullptr;
}

// A fiber of rt begins or ends a wait for another thread (a shared channel
// or sync object, an await across runtimes, async_park, the blocking pool).
// Meanwhile rt keeps waiting instead of reporting a deadlock (io_waiting), and
// spins for its inbox before it sleeps (cross_waiting; docs/design.md, "The
// spin before sleeping"): fibers waiting only on fds or timers are not
// answered through the inbox, so a runtime with only those never spins.
inline void begin_foreign_wait(runtime& rt) noexcept {
  ++rt.io_waiting;
  ++rt.cross_waiting;
}
inline void end_foreign_wait(runtime& rt) noexcept {
  --rt.io_waiting;
  --rt.cross_waiting;
}

// The clock of rt's timers and deadlines: the virtual one under
// ASYNC_CONFIG_VIRTUAL_TIME, else the real one. Only where the real clock
// was read anyway (deadline checks, timer expiry), never on the switch path:
// with virtual time off it costs one predictable branch.
inline std::uint64_t clock_ns(const runtime& rt) noexcept { return rt.virtual_clock ? rt.vnow : real_now_ns(); }

// --- lifetime (runtime.cpp) ---------------------------------------------------

// Allocates and initialises a runtime for `handle` owned by the calling thread.
async_status_t runtime_create(async_runtime_t* handle, const async_config_t* cfg) noexcept;
// Releases everything; fibers that never ended are dropped.
void runtime_destroy(runtime* rt) noexcept;
// Whether `handle` holds a live runtime (registered, and made for this very
// struct); `handle->impl` may be garbage.
bool runtime_is_live(const async_runtime_t* handle) noexcept;
void runtime_stats(const runtime& rt, async_runtime_stats_t& out) noexcept;

}  // namespace async::detail
