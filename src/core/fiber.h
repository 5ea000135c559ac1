// SPDX-License-Identifier: MIT
// fiber.h: fiber operations (fiber.cpp) used by the C API and by later
// components (I/O, channels) that park fibers the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime.h"

namespace async::detail {

// A handle, its first 16 bytes (status, slot, id) written in one store.
// Callers often copy a returned handle with a 16-byte load (g++ -O2 does for
// `handles[i] = async_spawn(...)`), and a CPU forwards a load from one
// earlier store that contains it, not from several: written field by field,
// that copy stalled until the stores reached the cache: 8 % of
// BM_SpawnAwait's samples in perf (docs/benchmarks.md, "The fiber core on
// one thread without stalls"). The owner's spawns only: see spawn_foreign.
inline async_fiber_handle_t handle_of(async_status_t st, std::uint32_t slot, std::uint64_t id,
                                      async_runtime_t* rt) noexcept {
  async_fiber_handle_t h;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  static_assert(offsetof(async_fiber_handle_t, status) == 0 && offsetof(async_fiber_handle_t, slot) == 4 &&
                offsetof(async_fiber_handle_t, id) == 8 && sizeof(async_status_t) == 4);
  using two_words = std::uint64_t __attribute__((vector_size(16)));
  const two_words first = {static_cast<std::uint32_t>(st) | (std::uint64_t{slot} << 32), id};
  std::memcpy(&h, &first, sizeof first);
#else
  h.status = st;
  h.slot = slot;
  h.id = id;
#endif
  h.runtime = rt;
  return h;
}

inline async_fiber_handle_t make_handle(const task* t) noexcept {
  return handle_of(ASYNC_OK, t->slot, t->id, t->rt->handle);
}

// Records (fiber.cpp, "records"). Owner thread only.
// The oldest free record, off every list; nullptr when none is free.
task* take_record(runtime& rt) noexcept;
// Moves the owner's recent frees to the shared list.
void share_recent_records(runtime& rt) noexcept;
// The task table's records, all free, become the shared list's first
// batches (at init).
void share_initial_records(runtime& rt, task_list& records) noexcept;
// A record whose fiber ended (or never became one) goes back, as the newest.
// It may have headed a batch when a foreign spawn took it: no longer.
inline void give_record(runtime& rt, task* t) noexcept {
  t->batch_size = 0;
  t->batch_last = nullptr;
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
