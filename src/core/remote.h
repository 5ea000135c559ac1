// SPDX-License-Identifier: MIT
// remote.h: what crosses threads into a runtime. Every request from another
// thread enters through the runtime's inbox (inbox.h) and is applied by the
// owner at a pass boundary or when it wakes from a wait, so a runtime's own
// order depends only on what arrived when. docs/design.md, "Crossing
// threads", has the rules: who may call what, and what keeps what alive.
#pragma once

#include <cstdint>

#include "runtime.h"

namespace async::detail {

inline constexpr std::uint64_t no_deadline = UINT64_MAX;

// Whether `id` could name a fiber of rt: ids grow from the runtime's id_base,
// and id bases grow with every runtime made, so an id at or below it names a
// fiber of an earlier runtime (one initialised in the same struct before).
// Not an equality on the base bits: after 2^40 spawns the counter carries
// into them, and those fibers must stay reachable. Any thread: reads only
// what init fixed.
inline bool id_of_runtime(const runtime& rt, std::uint64_t id) noexcept { return id > rt.id_base; }

// --- any thread (the runtime must stay alive during the call) ---------------

// Makes the owner's blocking wait, if any, return.
void wake_owner(runtime& rt) noexcept;
// Asks the owner to act on record `t` (remote_* bits of task.h).
void post_task_event(runtime& rt, task* t, std::uint32_t bit) noexcept;
// async_unpark: the fiber (slot, id) gets its token.
async_status_t unpark_fiber(runtime& rt, std::uint32_t slot, std::uint64_t id) noexcept;
// async_cancel from a thread that does not own rt.
async_status_t cancel_foreign(runtime& rt, std::uint32_t slot, std::uint64_t id) noexcept;
// async_spawn_ex from a thread that does not own rt: the record is taken
// now (ASYNC_EFULL is known at the call), the fiber joins the run queue when
// the owner takes the inbox.
async_fiber_handle_t spawn_foreign(runtime& rt, async_fn fn, void* user,
                                   const async_spawn_options_t* opts) noexcept;

// --- the owner ---------------------------------------------------------------

// The spin before sleeping (docs/design.md, "The spin before sleeping"): an
// owner that waits for other threads spins for the inbox up to
// rt.inbox_spin_ns before it sleeps in the driver. The limit starts at 5 us
// and stays within [inbox_spin_min_ns, inbox_spin_max_ns].
inline constexpr std::uint64_t inbox_spin_min_ns = 2000;
inline constexpr std::uint64_t inbox_spin_max_ns = 50000;

// Every spin that waits for another thread (for the inbox, on a shared
// channel's ring, for a group's end) hands its CPU over (sched_yield) this
// often. When the thread it waits for shares its CPU, that thread can only
// answer once the spinner stops: without the yields, two runtimes on one CPU
// paid a whole spin (up to 50 us) per hop of a ping-pong (230 us per round
// trip in multi_bench under `taskset -c 0`). Alone on its CPU, the spinner
// gets it straight back; answers from another CPU come well within the first
// period, so the common case never yields.
inline constexpr std::uint64_t spin_yield_ns = 1000;

// The spin after spawns (docs/design.md, "The spin after spawns"): an owner
// that has run out of work after the inbox brought spawns from other threads
// spins up to spawn_spin_ns for more before it sleeps, handing its CPU over
// every spin_yield_ns meanwhile. Once per burst: only a spawn arms it again.
inline constexpr std::uint64_t spawn_spin_ns = 10000;
// async_group_wait spins up to this long for the group to run out of fibers
// before it sleeps on the futex (group.cpp, spin_until_quiescent): a batch of
// spawns often ends within it, and the waiter then starts the next batch
// while the runtimes still spin after spawns: fewer wakes on both sides.
inline constexpr std::uint64_t group_wait_spin_ns = 20000;

// The next limit after a spin of `spin_ns` ran out and the sleep that
// followed lasted `slept_ns`; `replied` says whether the inbox then answered
// a fiber's wait. A sleep that an answer ended within inbox_spin_max_ns
// doubles it (spinning longer would have caught the answer); a longer sleep
// halves it (the thread was idle); anything else keeps it. Spawns are not
// answers: they have a spin of their own, short and yielding (above).
std::uint64_t adapted_spin(std::uint64_t spin_ns, std::uint64_t slept_ns, bool replied) noexcept;

// Applies everything queued in the inbox. Returns whether any of it answered
// a fiber's wait (a wake from another thread, an unpark, an await's end).
bool take_inbox(runtime& rt) noexcept;
// Blocks in the driver up to `timeout_ns` (0: only polls), then takes the
// inbox. Ends early when another thread sends something.
void wait_for_work(runtime& rt, std::uint64_t timeout_ns) noexcept;
// async_park / async_park_until_ns.
async_status_t park_fiber(task* self, std::uint64_t deadline) noexcept;
// The runtime is being destroyed (and is out of the registry): answers what
// waits in the inbox and every remote await of its fibers.
void remote_shutdown(runtime& rt) noexcept;

// --- awaits across runtimes (await_remote.cpp) -------------------------------

// A fiber awaits a fiber of another runtime (`target`, found in the registry
// by the caller, which holds the registry lock: released here, on every path).
async_status_t await_across(task* self, runtime& target, std::uint32_t slot, std::uint64_t id) noexcept
    ASYNC_TS_RELEASE(registry_lock());
// A thread that drives no runtime awaits a fiber of `target` (same lock rule).
async_status_t await_from_thread(runtime& target, std::uint32_t slot, std::uint64_t id) noexcept
    ASYNC_TS_RELEASE(registry_lock());
// The fiber `t` has ended: answers the other threads awaiting it.
void answer_remote_awaits(runtime& rt, task* t) noexcept;
// The id of the fiber `t` awaits across runtimes (wait_kind await_remote);
// a plain read, for dumps.
std::uint64_t await_remote_target(const task& t) noexcept;
// Inbox messages of the await kinds.
void apply_await_start(runtime& rt, inbox_node* n) noexcept;
void apply_await_done(runtime& rt, inbox_node* n) noexcept;
// Shutdown: every remote await of rt's fibers is answered with `st`.
void answer_all_remote_awaits(runtime& rt, async_status_t st) noexcept;

// --- groups (group.cpp) --------------------------------------------------------

// A group runtime has no fiber alive: group waiters re-check.
void group_runtime_idle(runtime& rt) noexcept;

}  // namespace async::detail
