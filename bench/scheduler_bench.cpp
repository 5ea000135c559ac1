// SPDX-License-Identifier: MIT
// scheduler_bench.cpp: scheduler-level costs, in the shapes of the peers'
// micro-benchmarks (docs/benchmarks.md, Peers): yield between fibers, and
// spawn + run + await of an empty fiber, one at a time or in batches.
#include <vector>

#include "bench_common.h"

namespace {

// ---------------------------------------------------------------- yield

// BM_Yield: `fibers` fibers yield in turn, one of them timing (it runs other
// code than its partners); per_op = one yield, i.e. total time / (fibers x
// rounds). BM_YieldSameLoop below is the peers' exact shape.
void BM_Yield(benchmark::State& state) {
  const auto fibers = static_cast<std::size_t>(state.range(0));
  bench::runtime rt(fibers + 16, fibers + 16);
  if (!bench::run_yield_ring(state, rt, fibers - 1)) return;
  bench::per_op(state, static_cast<double>(fibers));
}
BENCHMARK(BM_Yield)->ArgName("fibers")->Arg(2)->Arg(4)->Arg(1000)->UseRealTime();

// The peers' exact shape (bfiber.cpp, go/main.go, rust/src/main.rs): two
// fibers run the same loop of `n` yields; per_op = total / 2n. Unlike
// BM_Yield, where a timing fiber and a member fiber run different code, both
// fibers here return into the same call chain after every switch, as in the
// peers' programs. Spawning the two costs ~0.01% of an iteration.
constexpr std::uint64_t same_loop_yields = 20000;

void same_loop(void*) {
  for (std::uint64_t i = 0; i < same_loop_yields; ++i) async_yield();
}

void BM_YieldSameLoop(benchmark::State& state) {
  bench::runtime rt(16, 16);
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  rt.spawn(same_loop, nullptr);  // warm-up: maps the stacks, touches the records
  rt.spawn(same_loop, nullptr);
  if (!bench::check(state, rt.run(), "async_runtime_run")) return;
  for (auto _ : state) {
    rt.spawn(same_loop, nullptr);
    rt.spawn(same_loop, nullptr);
    if (!bench::check(state, rt.run(), "async_runtime_run")) return;
  }
  bench::per_op(state, 2.0 * same_loop_yields);
}
BENCHMARK(BM_YieldSameLoop)->ArgName("fibers")->Arg(2)->UseRealTime();

// ---------------------------------------------------------------- spawn + await

void empty_fiber(void*) {}

struct spawn_state {
  benchmark::State* state;
  std::size_t batch;
  async_status_t status;
};

// Spawns `batch` empty fibers, then awaits each: they all run in between.
inline async_status_t spawn_await_batch(async_fiber_handle_t* handles, std::size_t batch) {
  for (std::size_t i = 0; i < batch; ++i) {
    handles[i] = async_spawn(empty_fiber, nullptr);
    if (handles[i].status != ASYNC_OK) return handles[i].status;
  }
  for (std::size_t i = 0; i < batch; ++i) {
    if (async_status_t st = async_await(handles[i]); st != ASYNC_OK) return st;
  }
  return ASYNC_OK;
}

void timed_spawner(void* arg) {
  auto* s = static_cast<spawn_state*>(arg);
  std::vector<async_fiber_handle_t> handles(s->batch);
  // Warm-up: maps the stacks and touches the records the loop will reuse.
  for (int i = 0; i < 2; ++i) {
    if ((s->status = spawn_await_batch(handles.data(), s->batch)) != ASYNC_OK) return;
  }
  for (std::size_t i = 0; i < 1000 / s->batch; ++i) {
    if ((s->status = spawn_await_batch(handles.data(), s->batch)) != ASYNC_OK) return;
  }
  for (auto _ : *s->state) {
    if (async_status_t st = spawn_await_batch(handles.data(), s->batch); st != ASYNC_OK) {
      s->status = st;
      s->state->SkipWithError("spawn/await failed");
      break;
    }
  }
}

// BM_SpawnAwait: spawn + run + await of an empty fiber, from inside a fiber
// (as Tokio's block_on future, Go's main goroutine and Boost's main fiber do);
// batch:1 spawns and awaits one at a time, batch:1000 spawns 1000 then awaits
// them all. per_op = one fiber.
void BM_SpawnAwait(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  bench::runtime rt;
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  spawn_state s{&state, batch, ASYNC_OK};
  if (!bench::check(state, rt.spawn(timed_spawner, &s).status, "spawn")) return;
  if (!bench::check(state, rt.run(), "async_runtime_run")) return;
  if (!bench::check(state, s.status, "spawn/await")) return;
  bench::per_op(state, static_cast<double>(batch));
}
BENCHMARK(BM_SpawnAwait)->ArgName("batch")->Arg(1)->Arg(1000)->UseRealTime();

// BM_SpawnAwaitFromThread: the same from the thread outside any fiber:
// async_spawn_with, then a top-level async_await, which drives the runtime.
void BM_SpawnAwaitFromThread(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  bench::runtime rt;
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  std::vector<async_fiber_handle_t> handles(batch);
  auto once = [&]() -> async_status_t {
    for (std::size_t i = 0; i < batch; ++i) {
      handles[i] = rt.spawn(empty_fiber, nullptr);
      if (handles[i].status != ASYNC_OK) return handles[i].status;
    }
    for (std::size_t i = 0; i < batch; ++i) {
      if (async_status_t st = async_await(handles[i]); st != ASYNC_OK) return st;
    }
    return ASYNC_OK;
  };
  for (std::size_t i = 0; i < 2 + 1000 / batch; ++i) {
    if (!bench::check(state, once(), "spawn/await (warm-up)")) return;
  }
  for (auto _ : state) {
    if (async_status_t st = once(); st != ASYNC_OK) {
      bench::check(state, st, "spawn/await");
      break;
    }
  }
  bench::per_op(state, static_cast<double>(batch));
}
BENCHMARK(BM_SpawnAwaitFromThread)->ArgName("batch")->Arg(1)->Arg(1000)->UseRealTime();

}  // namespace
