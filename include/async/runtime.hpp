// SPDX-License-Identifier: MIT
// async/runtime.hpp: async::config, async::runtime (a runtime of your own,
// RAII over async_runtime_init/shutdown) and async::run for the global one.
#ifndef ASYNC_RUNTIME_HPP
#define ASYNC_RUNTIME_HPP

#include <cstddef>
#include <cstdint>

#include "status.hpp"

namespace async {

// Runtime configuration, converted to async_config_t for async_runtime_init.
// Each setter returns *this, so they chain:
//   async::runtime rt(async::config{}.task_capacity(16).fiber_stack_size(32 * 1024));
// A getter of the same name reads each field. 0 in a size means the C
// default, as in async_config_t; values are checked by the runtime.
class config {
 public:
  constexpr config() noexcept = default;

  constexpr config& task_capacity(std::size_t n) noexcept {
    task_capacity_ = n;
    return *this;
  }
  constexpr config& fiber_capacity(std::size_t n) noexcept {
    fiber_capacity_ = n;
    return *this;
  }
  constexpr config& fiber_stack_size(std::size_t bytes) noexcept {
    fiber_stack_size_ = bytes;
    return *this;
  }
  constexpr config& max_events(std::size_t n) noexcept {
    max_events_ = n;
    return *this;
  }
  constexpr config& guard_pages(bool on) noexcept {
    guard_pages_ = on;
    return *this;
  }
  // A seeded schedule (async.h, "Seeded schedules"); 0: FIFO, unless
  // ASYNC_SCHEDULE_SEED is set in the environment.
  constexpr config& schedule_seed(std::uint64_t seed) noexcept {
    schedule_seed_ = seed;
    return *this;
  }
  // With a seed: PCT of depth `depth` (0: uniform random picks), its change
  // points among the first `steps` picks (0: 100).
  constexpr config& schedule_pct(std::uint32_t depth, std::uint32_t steps = 0) noexcept {
    schedule_pct_depth_ = depth;
    schedule_pct_steps_ = steps;
    return *this;
  }
  // ASYNC_CONFIG_VIRTUAL_TIME (async.h): the runtime's clock jumps to the
  // next deadline whenever nothing is runnable. Use the _for forms of timed
  // calls there; _until with a steady_clock time point is exact only to a
  // few nanoseconds (this_fiber::sleep_until).
  constexpr config& virtual_time(bool on) noexcept {
    virtual_time_ = on;
    return *this;
  }

  constexpr std::size_t task_capacity() const noexcept { return task_capacity_; }
  constexpr std::size_t fiber_capacity() const noexcept { return fiber_capacity_; }
  constexpr std::size_t fiber_stack_size() const noexcept { return fiber_stack_size_; }
  constexpr std::size_t max_events() const noexcept { return max_events_; }
  constexpr bool guard_pages() const noexcept { return guard_pages_; }
  constexpr bool virtual_time() const noexcept { return virtual_time_; }
  constexpr std::uint64_t schedule_seed() const noexcept { return schedule_seed_; }
  constexpr std::uint32_t schedule_pct_depth() const noexcept { return schedule_pct_depth_; }
  constexpr std::uint32_t schedule_pct_steps() const noexcept { return schedule_pct_steps_; }

  // The C configuration with these values.
  constexpr async_config_t native() const noexcept {
    async_config_t c{};
    c.task_capacity = task_capacity_;
    c.fiber_capacity = fiber_capacity_;
    c.fiber_stack_size = fiber_stack_size_;
    c.max_events = max_events_;
    c.flags = (guard_pages_ ? 0u : ASYNC_CONFIG_NO_GUARD_PAGES) | (virtual_time_ ? ASYNC_CONFIG_VIRTUAL_TIME : 0u);
    c.schedule_seed = schedule_seed_;
    c.schedule_pct_depth = schedule_pct_depth_;
    c.schedule_pct_steps = schedule_pct_steps_;
    return c;
  }
  constexpr operator async_config_t() const noexcept { return native(); }

 private:
  std::size_t task_capacity_ = ASYNC_DEFAULT_TASK_CAPACITY;        // most fibers alive at once
  std::size_t fiber_capacity_ = ASYNC_DEFAULT_FIBER_CAPACITY;      // most fibers holding a stack
  std::size_t fiber_stack_size_ = ASYNC_DEFAULT_FIBER_STACK_SIZE;  // bytes per pooled stack
  std::size_t max_events_ = ASYNC_DEFAULT_MAX_EVENTS;              // poller events per wait
  bool guard_pages_ = true;               // a guard page below every pooled stack
  bool virtual_time_ = false;             // the runtime's clock is virtual
  std::uint64_t schedule_seed_ = 0;       // 0: FIFO (or $ASYNC_SCHEDULE_SEED)
  std::uint32_t schedule_pct_depth_ = 0;  // 0: uniform random picks
  std::uint32_t schedule_pct_steps_ = 0;  // 0: 100
};

// ------------------------------------------------------------------ runtime

// What runtime::stats() reports (async.h).
using runtime_stats = async_runtime_stats_t;

// A runtime of your own: async_runtime_init in the constructor,
// async_runtime_shutdown in the destructor. The constructing thread owns it.
// It can be neither copied nor moved: fiber handles point at it.
//
// Destroy it when its fibers have ended (run() returned status::ok): the C
// shutdown drops unfinished fibers without unwinding them, so their stack
// objects are never destroyed and the C++ state of their fibers (callable,
// result slot) is never freed. Do not destroy it from one of its own fibers
// or while it runs (shutdown then does nothing and everything leaks).
class runtime {
 public:
  // Throws async::error: einval for a bad config (unknown flags, a stack
  // below ASYNC_MIN_STACK_SIZE), enomem.
  runtime() : runtime(config{}) {}
  explicit runtime(const config& cfg) : runtime(cfg.native()) {}
  // From a C configuration (e.g. the one async_explore hands each run).
  explicit runtime(const async_config_t& cfg) {
    const async_status_t st = async_runtime_init(&rt_, &cfg);
    if (st != ASYNC_OK) detail::throw_status(st, "async::runtime");
  }
  ~runtime() { async_runtime_shutdown(&rt_); }

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Runs fibers until the runtime is idle (async_runtime_run). Not a fiber
  // call: it does not suspend, it blocks the thread while fibers sleep.
  // Returns status::ok when every fiber has ended; edeadlk when fibers are
  // blocked forever; estate inside a fiber, when re-entered, or from a thread
  // that does not own the runtime. Never throws.
  [[nodiscard]] status run() noexcept { return static_cast<status>(async_runtime_run(&rt_)); }

  // The runtime's counters (async_runtime_stats).
  [[nodiscard]] runtime_stats stats() const noexcept {
    runtime_stats s{};
    (void)async_runtime_stats(const_cast<async_runtime_t*>(&rt_), &s);
    return s;
  }

  // Writes a dump of the runtime's fibers to `fd` (async_runtime_dump: the
  // format is in async.h, docs/debugging.md). From the owner thread only.
  // Returns status::ok; estate from another thread; einval for a negative
  // fd; eio when a write failed. Never throws.
  [[nodiscard]] status dump(int fd) noexcept { return static_cast<status>(async_runtime_dump(&rt_, fd)); }

  // The C runtime, for async.h calls.
  [[nodiscard]] async_runtime_t* native() noexcept { return &rt_; }

 private:
  async_runtime_t rt_{};
};

// Runs the calling thread's global runtime until it is idle (async_run).
// Same statuses as runtime::run(); never throws.
[[nodiscard]] inline status run() noexcept { return static_cast<status>(async_run()); }

}  // namespace async

#endif  // ASYNC_RUNTIME_HPP
