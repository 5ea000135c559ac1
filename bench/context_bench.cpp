// SPDX-License-Identifier: MIT
// context_bench.cpp: the cost of switching between fibers. The raw switch
// (src/arch) is not public API, so it is measured the way a user meets it:
// async_yield between two fibers, where each yield is one switch plus the
// scheduler's queue work.
#include "bench_common.h"

namespace {

constexpr int kWarmUpYields = 10000;

struct pair_state {
  benchmark::State* state;
  bool stop;
};

// Yields until the timed fiber is done.
void partner(void* arg) {
  auto* p = static_cast<pair_state*>(arg);
  while (!p->stop) async_yield();
}

// One iteration: yield to the partner, which yields straight back: one round
// trip, two switches.
void timed_round_trips(void* arg) {
  auto* p = static_cast<pair_state*>(arg);
  for (int i = 0; i < kWarmUpYields; ++i) async_yield();
  for (auto _ : *p->state) async_yield();
  p->stop = true;
}

// BM_ContextSwitch: round trip between two fibers (per_op = one round trip =
// two switches; items = switches).
void BM_ContextSwitch(benchmark::State& state) {
  bench::runtime rt;
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  pair_state p{&state, false};
  if (!bench::check(state, rt.spawn(timed_round_trips, &p).status, "spawn")) return;
  if (!bench::check(state, rt.spawn(partner, &p).status, "spawn")) return;
  if (!bench::check(state, rt.run(), "async_runtime_run")) return;
  bench::per_op(state, 1);
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_ContextSwitch)->UseRealTime();

void timed_lone_yields(void* arg) {
  auto* state = static_cast<benchmark::State*>(arg);
  for (int i = 0; i < kWarmUpYields; ++i) async_yield();
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
