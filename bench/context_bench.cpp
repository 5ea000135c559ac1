// SPDX-License-Identifier: MIT
// context_bench.cpp: the cost of switching between fibers. The raw switch
// (src/arch) is not public API, so it is measured the way a user meets it:
// async_yield between two fibers, where each yield is one switch plus the
// scheduler's queue work.
#include "bench_common.h"

namespace {

// BM_ContextSwitch: round trip between two fibers (per_op = one round trip =
// two switches; items = switches).
void BM_ContextSwitch(benchmark::State& state) {
  bench::runtime rt;
  if (!bench::run_yield_ring(state, rt, 1)) return;
  bench::per_op(state, 1);
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_ContextSwitch)->UseRealTime();

void timed_lone_yields(void* arg) {
  auto* state = static_cast<benchmark::State*>(arg);
  for (int i = 0; i < bench::yield_ring::warm_up_yields; ++i) async_yield();
  for (auto _ : *state) async_yield();
}

// BM_ContextYieldSingleFiber: async_yield when no other fiber is runnable:
// the scheduler's own cost with no switch at all (per_op = one yield).
void BM_ContextYieldSingleFiber(benchmark::State& state) {
  bench::runtime rt;
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  if (!bench::check(state, rt.spawn(timed_lone_yields, &state).status, "spawn")) return;
  if (!bench::check(state, rt.run(), "async_runtime_run")) return;
  bench::per_op(state, 1);
}
BENCHMARK(BM_ContextYieldSingleFiber)->UseRealTime();

}  // namespace
