// SPDX-License-Identifier: MIT
// miniasync_fiber_bench.cpp: a fiber awaiting one 4 KiB threads-mover copy
// (async_vdm_memcpy: the worker's waker unparks the fiber through
// async_unpark). Reports the mean and, as counters, p50/p99 per operation.
// handoff 1: MINIASYNC_THREADS_INLINE_MAX=0, so the copy goes to a worker
// and the fiber parks and is resumed (by default a 4 KiB copy runs at
// start and the fiber never parks).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "async/miniasync.h"

namespace {

struct fiber_args {
  benchmark::State* state;
  vdm* v;
};

void await_loop(void* user) {
  auto* a = static_cast<fiber_args*>(user);
  std::vector<char> src(4096, 'x'), dst[64];
  for (auto& d : dst) d.assign(4096, 0);
  std::vector<double> ns;
  ns.reserve(1 << 20);
  int next = 0;
  for (auto _ : *a->state) {
    uint64_t t0 = async_now_ns();
    if (async_vdm_memcpy(a->v, dst[next].data(), src.data(), 4096, 0) != ASYNC_OK) a->state->SkipWithError("copy");
    ns.push_back(double(async_now_ns() - t0));
    next = (next + 1) % 64;
  }
  std::sort(ns.begin(), ns.end());
  if (!ns.empty()) {
    a->state->counters["p50_us"] = ns[ns.size() / 2] / 1e3;
    a->state->counters["p99_us"] = ns[ns.size() * 99 / 100] / 1e3;
  }
}

void BM_MiniFiberAwait4K(benchmark::State& state) {
  const bool handoff = state.range(0) != 0;
  if (handoff) setenv("MINIASYNC_THREADS_INLINE_MAX", "0", 1);
  data_mover_threads* dmt = data_mover_threads_default();
  if (handoff) unsetenv("MINIASYNC_THREADS_INLINE_MAX");
  fiber_args a{&state, data_mover_threads_get_vdm(dmt)};
  async_runtime_t rt;
  async_runtime_init(&rt, nullptr);
  async_await(async_spawn_with(&rt, await_loop, &a));
  async_runtime_shutdown(&rt);
  data_mover_threads_delete(dmt);
}
BENCHMARK(BM_MiniFiberAwait4K)->ArgName("handoff")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
