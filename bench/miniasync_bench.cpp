// SPDX-License-Identifier: MIT
// miniasync_bench.cpp: the shapes of docs/miniasync.md, Performance.
//   BM_MiniMemcpy/mover/size/batch   vdm_memcpy through the sync (0) or the
//                                    default threads mover (1), or the threads
//                                    mover with every operation handed to a
//                                    worker (2: MINIASYNC_THREADS_INLINE_MAX=0;
//                                    by default copies up to 4 KiB run at
//                                    start); batch 1 = create one future
//                                    and runtime_wait it; batch 64 = 64 futures,
//                                    one runtime_wait_multiple. Destinations
//                                    rotate over 64 buffers in both modes.
//   BM_MiniPlainMemcpy/size          memcpy alone over the same buffers, one
//                                    at a time: the baseline (the limit) the
//                                    mover rows are quoted against, timed the
//                                    same way (real time, items and bytes)
//   BM_MiniBusyPoll                  FUTURE_BUSY_POLL of a future that
//                                    completes on its first poll
//   BM_MiniRuntimeWaitTrivial        runtime_wait of the same future
//   BM_MiniThreadsLatency4K/handoff  one 4 KiB threads-mover copy at a time,
//                                    p50/p99 per operation as counters;
//                                    handoff 1: inline limit 0, as mover 2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "libminiasync.h"

namespace {

constexpr int kBuffers = 64;

struct buffers {
  explicit buffers(size_t size) : src(size, 'x') {
    for (auto& d : dst) d.assign(size, 0);
  }
  std::vector<char> src;
  std::vector<char> dst[kBuffers];
};

enum mover_kind { sync_mover = 0, threads_mover = 1, threads_handoff = 2 };

// The default threads mover; with handoff, small copies are not run at start.
data_mover_threads* make_threads(bool handoff) {
  if (handoff) setenv("MINIASYNC_THREADS_INLINE_MAX", "0", 1);
  data_mover_threads* dmt = data_mover_threads_default();
  if (handoff) unsetenv("MINIASYNC_THREADS_INLINE_MAX");
  return dmt;
}

void BM_MiniMemcpy(benchmark::State& state) {
  const auto kind = mover_kind(state.range(0));
  const size_t size = size_t(state.range(1));
  const int batch = int(state.range(2));
  buffers b(size);
  data_mover_sync* dms = nullptr;
  data_mover_threads* dmt = nullptr;
  vdm* v;
  if (kind == sync_mover) {
    dms = data_mover_sync_new();
    v = data_mover_sync_get_vdm(dms);
  } else {
    dmt = make_threads(kind == threads_handoff);
    v = data_mover_threads_get_vdm(dmt);
  }
  runtime* r = runtime_new();
  std::vector<vdm_operation_future> futs(batch);
  std::vector<future*> ptrs(batch);
  int next = 0;
  for (auto _ : state) {
    if (batch == 1) {
      vdm_operation_future f = vdm_memcpy(v, b.dst[next].data(), b.src.data(), size, 0);
      runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
      next = (next + 1) % kBuffers;
    } else {
      for (int i = 0; i < batch; ++i) {
        futs[i] = vdm_memcpy(v, b.dst[(next + i) % kBuffers].data(), b.src.data(), size, 0);
        ptrs[i] = FUTURE_AS_RUNNABLE(&futs[i]);
      }
      runtime_wait_multiple(r, ptrs.data(), size_t(batch));
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * int64_t(size));
  runtime_delete(r);
  if (dms) data_mover_sync_delete(dms);
  if (dmt) data_mover_threads_delete(dmt);
}
BENCHMARK(BM_MiniMemcpy)
    ->ArgNames({"mover", "size", "batch"})
    ->ArgsProduct({{sync_mover, threads_mover, threads_handoff}, {4096, 65536, 1 << 20}, {1, 64}})
    ->UseRealTime();

void BM_MiniPlainMemcpy(benchmark::State& state) {
  const size_t size = size_t(state.range(0));
  buffers b(size);
  int next = 0;
  for (auto _ : state) {
    std::memcpy(b.dst[next].data(), b.src.data(), size);
    benchmark::ClobberMemory();
    next = (next + 1) % kBuffers;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * int64_t(size));
}
// Real time, as the mover rows: on a loaded machine CPU time would leave out
// the waits for a CPU that the mover rows include, and flatter the baseline.
BENCHMARK(BM_MiniPlainMemcpy)->ArgName("size")->Arg(4096)->Arg(65536)->Arg(1 << 20)->UseRealTime();

struct trivial_data {
  int in;
};
struct trivial_output {
  int out;
};
FUTURE(trivial_future, trivial_data, trivial_output);

enum future_state trivial_task(future_context* ctx, future_notifier* n) {
  if (n) n->notifier_used = FUTURE_NOTIFIER_NONE;
  auto* d = static_cast<trivial_data*>(future_context_get_data(ctx));
  static_cast<trivial_output*>(future_context_get_output(ctx))->out = d->in + 1;
  return FUTURE_STATE_COMPLETE;
}

void BM_MiniBusyPoll(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    trivial_future f;
    f.data.in = i++;
    FUTURE_INIT(&f, trivial_task);
    FUTURE_BUSY_POLL(&f);
    benchmark::DoNotOptimize(f.output.out);
  }
}
BENCHMARK(BM_MiniBusyPoll);

void BM_MiniRuntimeWaitTrivial(benchmark::State& state) {
  runtime* r = runtime_new();
  int i = 0;
  for (auto _ : state) {
    trivial_future f;
    f.data.in = i++;
    FUTURE_INIT(&f, trivial_task);
    runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
    benchmark::DoNotOptimize(f.output.out);
  }
  runtime_delete(r);
}
BENCHMARK(BM_MiniRuntimeWaitTrivial);

void BM_MiniThreadsLatency4K(benchmark::State& state) {
  buffers b(4096);
  data_mover_threads* dmt = make_threads(state.range(0) != 0);
  vdm* v = data_mover_threads_get_vdm(dmt);
  runtime* r = runtime_new();
  std::vector<double> ns;
  ns.reserve(1 << 20);
  int next = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    vdm_operation_future f = vdm_memcpy(v, b.dst[next].data(), b.src.data(), 4096, 0);
    runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
    ns.push_back(double((std::chrono::steady_clock::now() - t0).count()));
    next = (next + 1) % kBuffers;
  }
  std::sort(ns.begin(), ns.end());
  if (!ns.empty()) {
    state.counters["p50_us"] = ns[ns.size() / 2] / 1e3;
    state.counters["p99_us"] = ns[ns.size() * 99 / 100] / 1e3;
    state.counters["max_us"] = ns.back() / 1e3;
  }
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}
BENCHMARK(BM_MiniThreadsLatency4K)->ArgName("handoff")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
