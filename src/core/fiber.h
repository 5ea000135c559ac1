// SPDX-License-Identifier: MIT
// fiber.h: fiber operations (fiber.cpp) used by the C API and by later
// components (I/O, channels) that park fibers the same way.
#pragma once

#include <cstdint>

#include "runtime.h"

namespace async::detail {

async_fiber_handle_t make_handle(const task* t) noexcept;

// Records (fiber.cpp, "records"). Owner thread only.
// The oldest free record, off every list; nullptr when none is free.
task* take_record(runtime& rt) noexcept;
// Moves the owner's recent frees to the shared list.
void share_recent_records(runtime& rt) noexcept;
// A record whose fiber ended (or never became one) goes back, as the newest.
inline void give_record(runtime& rt, task* t) noexcept {
  rt.recent_free.push_back(t);
  if (rt.recent_free.size() > rt.cache_max) [[unlikely]] share_recent_records(rt);
}
// Puts every free record where other threads' spawns can take it.
void share_all_records(runtime& rt) noexcept;
// What a spawn says, into a record that is off every list.
void fill_record(task* t, async_fn fn, void* user, const async_spawn_options_t* opts) noexcept;
// A filled record becomes a runnable fiber: its next id, the run queue's tail.
void start_record(runtime& rt, task* t) noexcept;

// Whether a spawn's options are acceptable: a stack with its size (at least
// ASYNC_MIN_STACK_SIZE, its end an address that does not wrap) or neither.
inline bool spawn_options_valid(const async_spawn_options_t* opts) noexcept {
  if (opts == nullptr) return true;
  const bool has_stack = opts->stack != nullptr;
  if (has_stack != (opts->stack_size != 0)) return false;
  if (!has_stack) return true;
  return opts->stack_size >= ASYNC_MIN_STACK_SIZE &&
         opts->stack_size <= UINTPTR_MAX - reinterpret_cast<std::uintptr_t>(opts->stack);
}

// Queues a new fiber; handle.status says whether it was created.
async_fiber_handle_t spawn_fiber(runtime& rt, async_fn fn, void* user,
                                 const async_spawn_options_t* opts) noexcept;

// Parks `self` until `target` (of the same runtime) ends.
async_status_t await_in_fiber(task* self, task* target) noexcept;
// Drives `rt` on the calling thread until `target` ends.
async_status_t await_from_outside(runtime& rt, task* target) noexcept;
// Drives `rt` on the calling thread until it is idle.
async_status_t run_until_idle(runtime& rt) noexcept;

void cancel_fiber(task* t) noexcept;
// Takes a queued task out of the run queue, keeping the current pass exact.
void leave_run_queue(runtime& rt, task* t) noexcept;
async_status_t yield_fiber(task* self) noexcept;
async_status_t sleep_until(task* self, std::uint64_t deadline_ns) noexcept;

}  // namespace async::detail
