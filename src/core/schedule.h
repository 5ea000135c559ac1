// SPDX-License-Identifier: MIT
// schedule.h: seeded schedules (async.h, "Seeded schedules"): the state of a
// runtime whose picks are seeded, and the pick itself. A FIFO runtime has
// none (runtime::sched is nullptr) and never reaches this code: the inline
// pick_next sends a seeded runtime to pick_next_slow, which alone asks here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "alloc.h"
#include "async.h"

namespace async::detail {

struct runtime;
struct task;

// splitmix64 (Steele, Lea, Flood, OOPSLA 2014): one add and two multiplies
// per number, every seed (0 too) a full-period stream. Picks need speed and
// reproducibility, not cryptographic quality.
struct schedule_rng {
  std::uint64_t state = 0;

  std::uint64_t next() noexcept;
  // Uniform in [0, n), n > 0, up to a bias below n / 2^64 (a run queue or a
  // step count is far from 2^64).
  std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }
};

// A fiber's PCT priority, valid while `id` is the id of the fiber the task
// record holds (records are reused: a new fiber gets a new priority).
struct pct_priority {
  std::uint64_t id = UINT64_MAX;  // no fiber's id (the root's is 0)
  std::int64_t value = 0;
};

struct schedule {
  std::uint64_t seed = 0;
  schedule_rng rng;
  // The pass countdown (runtime::pass_left) while the runtime is between
  // picks: a seeded runtime keeps pass_left at 0 there, so that the inline
  // pick_next always ends in pick_next_slow. Under random picks a pass is
  // only "this many picks until timers, I/O and the inbox are looked at".
  std::size_t pass_left = 0;
  std::uint64_t steps = 0;  // picks made
  // PCT (depth != 0): one priority per task record, and one for the root.
  std::uint32_t depth = 0;
  heap_array<pct_priority> priorities;
  heap_array<std::uint64_t> change_at;  // depth - 1 step numbers, ascending
  std::uint32_t changes_done = 0;
  std::int64_t floor = 0;  // the lowest priority handed out by a drop
};

struct schedule_deleter {
  void operator()(schedule* s) const noexcept;
};
using schedule_ptr = std::unique_ptr<schedule, schedule_deleter>;

// The seed `cfg` asks for: its own, else $ASYNC_SCHEDULE_SEED, else 0
// (FIFO). ASYNC_EINVAL for an environment value that is not an unsigned
// decimal or 0x-hex number within 64 bits, or a PCT depth above the limit.
async_status_t schedule_seed_of(const async_config_t& cfg, std::uint64_t& seed) noexcept;

// The seed of runtime `index` of a group made with `seed`: distinct per
// index, never 0, the same on every run.
std::uint64_t schedule_derive_seed(std::uint64_t seed, std::size_t index) noexcept;

// The state of a runtime with `task_capacity` records seeded with `seed`
// (non-zero); the PCT fields of `cfg` apply. nullptr when out of memory.
schedule_ptr schedule_make(std::uint64_t seed, const async_config_t& cfg, std::size_t task_capacity) noexcept;

// Takes the next task to run out of the run queue: seeded random, or PCT's
// highest priority. nullptr when the queue is empty.
task* schedule_take(runtime& rt) noexcept;

}  // namespace async::detail
