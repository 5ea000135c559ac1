// SPDX-License-Identifier: MIT
// blocking_pool.h: the process-wide pool of threads that run blocking calls
// for fibers (async_run_blocking, and through it name resolution and file
// I/O). A fiber queues a job record that lives on its own stack, parks, and
// is woken through its runtime's inbox when a worker has run the job; no
// allocation per call. docs/design.md, "The blocking pool", has the lifetime
// protocol: why the worker's last write is to the job, and why a runtime's
// shutdown waits for its fibers' jobs.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime.h"

namespace async::detail {

// One call, on the calling fiber's stack from its submission until the fiber
// has seen `state == job_done`.
struct blocking_job {
  async_fn fn = nullptr;
  void* user = nullptr;
  task* waiter = nullptr;         // the parked fiber (its record outlives the job)
  blocking_job* next = nullptr;   // the pool's queue (under its lock)
  // job_pending until the worker is done with everything but this word;
  // job_watched when someone sleeps on it (futex) and must be woken.
  std::atomic<std::uint32_t> state{0};
};

inline constexpr std::uint32_t job_pending = 0;
inline constexpr std::uint32_t job_watched = 1;
inline constexpr std::uint32_t job_done = 2;

// Runs fn(user) on a worker, parking `self` (the running fiber) meanwhile.
// Returns after fn has returned: ASYNC_OK, or ASYNC_ECANCELED when the fiber
// was cancelled meanwhile; ASYNC_ECANCELED without running fn when it was
// cancelled before; ASYNC_ENOMEM when no worker exists and none can be
// started (fn not run).
async_status_t run_blocking(task* self, async_fn fn, void* user) noexcept;

// --- knobs and introspection (tests, benchmarks) ----------------------------

// The most workers (ASYNC_BLOCKING_THREADS, default 64) and how long an idle
// one waits for a job before it exits (ASYNC_BLOCKING_IDLE_MS, default
// 10000), read from the environment at the pool's first use. Setting them
// applies at once, idle workers included (they exit when they have been idle
// longer than the new limit); 0 leaves a value unchanged.
void blocking_pool_configure(std::uint32_t max_threads, std::uint64_t idle_ns) noexcept;

struct blocking_pool_stats {
  std::uint32_t threads = 0;   // workers alive
  std::uint32_t idle = 0;      // of which waiting for a job
  std::uint32_t queued = 0;    // jobs no worker has taken yet
  std::uint64_t started = 0;   // workers ever started
  std::uint32_t max_threads = 0;
};
blocking_pool_stats blocking_pool_snapshot() noexcept;

}  // namespace async::detail
