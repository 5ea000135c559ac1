// SPDX-License-Identifier: MIT
// baseline_bench.cpp: the shapes of context_bench.cpp without the library,
// so that its numbers mean something: a glibc ucontext round trip, and two
// OS threads handing a token back and forth with a mutex and condition
// variables (what fibers replace).
#include <ucontext.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_common.h"

namespace {

// ---------------------------------------------------------------- ucontext

ucontext_t g_main_ctx;
ucontext_t g_peer_ctx;

void ucontext_peer() {
  for (;;) swapcontext(&g_peer_ctx, &g_main_ctx);
}

// BM_BaselineUcontextRoundTrip: swapcontext there and back (per_op = one
// round trip). glibc makes a sigprocmask system call on every swap.
void BM_BaselineUcontextRoundTrip(benchmark::State& state) {
  std::vector<char> stack(64 * 1024);
  getcontext(&g_peer_ctx);
  g_peer_ctx.uc_stack.ss_sp = stack.data();
  g_peer_ctx.uc_stack.ss_size = stack.size();
  g_peer_ctx.uc_link = nullptr;
  makecontext(&g_peer_ctx, ucontext_peer, 0);
  for (int i = 0; i < 1000; ++i) swapcontext(&g_main_ctx, &g_peer_ctx);
  for (auto _ : state) swapcontext(&g_main_ctx, &g_peer_ctx);
  bench::per_op(state, 1);
  // The peer stays parked in ucontext_peer; its stack is freed here and
  // never resumed.
}
BENCHMARK(BM_BaselineUcontextRoundTrip)->UseRealTime();

// ---------------------------------------------------------------- OS threads

// BM_BaselineThreadRoundTrip: two threads pass a token through a mutex and a
// condition variable (per_op = one round trip, two thread switches). Not
// pinned here: compare.sh pins the whole process to one CPU.
void BM_BaselineThreadRoundTrip(benchmark::State& state) {
  std::mutex m;
  std::condition_variable cv;
  int turn = 0;  // 0: main's turn, 1: the peer's, 2: stop
  std::thread peer([&] {
    std::unique_lock<std::mutex> lock(m);
    for (;;) {
      cv.wait(lock, [&] { return turn != 0; });
      if (turn == 2) return;
      turn = 0;
      cv.notify_all();
    }
  });
  auto round_trip = [&] {
    std::unique_lock<std::mutex> lock(m);
    turn = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return turn == 0; });
  };
  for (int i = 0; i < 1000; ++i) round_trip();
  for (auto _ : state) round_trip();
  {
    std::lock_guard<std::mutex> lock(m);
    turn = 2;
  }
  cv.notify_all();
  peer.join();
  bench::per_op(state, 1);
}
BENCHMARK(BM_BaselineThreadRoundTrip)->UseRealTime();

}  // namespace
