// SPDX-License-Identifier: MIT
// channel_bench.cpp: channel ping-pong between two fibers, the peers' shape
// (bfiber.cpp, go/main.go, rust/src/main.rs): one message there and one back
// is one round trip; two channels, buffered (capacity 64) or unbuffered.
#include <cstdint>

#include "bench_common.h"

namespace {

struct ping_pong {
  benchmark::State* state;
  async_channel_t there;
  async_channel_t back;
};

// Echoes every message until `there` is closed.
void pong(void* arg) {
  auto* p = static_cast<ping_pong*>(arg);
  void* m = nullptr;
  while (async_channel_recv(&p->there, &m) == ASYNC_OK) async_channel_send(&p->back, m);
  async_channel_close(&p->back);
}

// One iteration: send one message and wait for it to come back.
void ping(void* arg) {
  auto* p = static_cast<ping_pong*>(arg);
  void* m = nullptr;
  for (std::uintptr_t i = 0; i < 10000; ++i) {  // warm-up
    async_channel_send(&p->there, reinterpret_cast<void*>(i));
    async_channel_recv(&p->back, &m);
  }
  std::uintptr_t i = 0;
  for (auto _ : *p->state) {
    async_channel_send(&p->there, reinterpret_cast<void*>(++i));
    async_channel_recv(&p->back, &m);
  }
  async_channel_close(&p->there);
}

// BM_ChannelPingPong/capacity:C: per_op = one round trip (two messages, two
// switches).
void BM_ChannelPingPong(benchmark::State& state) {
  bench::runtime rt(16, 16);
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  const auto capacity = static_cast<std::size_t>(state.range(0));
  ping_pong p{&state, {}, {}};
  if (!bench::check(state, async_channel_init(&p.there, rt.get(), capacity, 0), "async_channel_init")) return;
  if (!bench::check(state, async_channel_init(&p.back, rt.get(), capacity, 0), "async_channel_init")) return;
  rt.spawn(pong, &p);
  rt.spawn(ping, &p);
  bench::check(state, rt.run(), "async_runtime_run");
  async_channel_shutdown(&p.there);
  async_channel_shutdown(&p.back);
  bench::per_op(state, 1);
}
BENCHMARK(BM_ChannelPingPong)->ArgName("capacity")->Arg(64)->Arg(0)->UseRealTime();

}  // namespace
