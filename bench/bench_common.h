// SPDX-License-Identifier: MIT
// bench_common.h: what every Google Benchmark file of the suite shares.
//
// The timed loop of a fiber benchmark runs inside a fiber: the benchmark
// function makes a runtime, spawns the fiber that owns `for (auto _ : state)`
// (plus its partners), and runs the runtime until it is idle. Each call of the
// benchmark function gets a fresh runtime, so nothing leaks between runs.
//
// Every benchmark sets the counter "per_op": seconds per operation (the
// operation is named in the benchmark's comment: a yield, a round trip, one
// spawned fiber). Google Benchmark prints it with an SI prefix ("6.1n" is
// 6.1 ns) and bench/compare.sh reads it from the JSON output.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>

#include "async.h"

namespace bench {

// One runtime for the life of a benchmark call. Guard pages stay on (the
// default), as a user gets them.
class runtime {
 public:
  explicit runtime(std::size_t task_capacity = 4096, std::size_t fiber_capacity = 2048,
                   std::size_t stack_size = 0) {
    async_config_t cfg{};
    cfg.task_capacity = task_capacity;
    cfg.fiber_capacity = fiber_capacity;
    cfg.fiber_stack_size = stack_size;
    status_ = async_runtime_init(&rt_, &cfg);
  }
  ~runtime() {
    if (status_ == ASYNC_OK) async_runtime_shutdown(&rt_);
  }
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  async_status_t status() const { return status_; }
  async_runtime_t* get() { return &rt_; }
  async_fiber_handle_t spawn(async_fn fn, void* user) { return async_spawn_with(&rt_, fn, user); }
  async_status_t run() { return async_runtime_run(&rt_); }

 private:
  async_runtime_t rt_{};
  async_status_t status_ = ASYNC_EINVAL;
};

// Reports `ops_per_iteration` operations per timed iteration: items/s and the
// "per_op" counter (seconds per operation, over real time).
inline void per_op(benchmark::State& state, double ops_per_iteration) {
  const double ops = ops_per_iteration * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["per_op"] = benchmark::Counter(ops, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// A ring of fibers yielding in turn: one timed fiber owns the benchmark loop
// (one yield per iteration) and `partners` fibers yield until it is done.
// Each iteration is therefore 1 + partners yields (switches).
struct yield_ring {
  benchmark::State* state;
  bool stop = false;

  static constexpr int warm_up_yields = 10000;

  static void partner(void* arg) {
    auto* r = static_cast<yield_ring*>(arg);
    while (!r->stop) async_yield();
  }
  static void timed(void* arg) {
    auto* r = static_cast<yield_ring*>(arg);
    for (int i = 0; i < warm_up_yields; ++i) async_yield();
    for (auto _ : *r->state) async_yield();
    r->stop = true;
  }
};

// Marks the run failed when `st` is not ASYNC_OK; true when it is.
inline bool check(benchmark::State& state, async_status_t st, const char* what) {
  if (st == ASYNC_OK) return true;
  static thread_local char msg[160];
  std::snprintf(msg, sizeof msg, "%s: %s", what, async_status_name(st));
  state.SkipWithError(msg);
  return false;
}

// Runs a yield_ring of 1 + partners fibers on `rt`; false when it failed.
inline bool run_yield_ring(benchmark::State& state, runtime& rt, std::size_t partners) {
  if (!check(state, rt.status(), "async_runtime_init")) return false;
  yield_ring r{&state};
  if (!check(state, rt.spawn(yield_ring::timed, &r).status, "spawn")) return false;
  for (std::size_t i = 0; i < partners; ++i) {
    if (!check(state, rt.spawn(yield_ring::partner, &r).status, "spawn")) return false;
  }
  return check(state, rt.run(), "async_runtime_run");
}

}  // namespace bench
