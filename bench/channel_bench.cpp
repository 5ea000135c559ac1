// SPDX-License-Identifier: MIT
// channel_bench.cpp: channel ping-pong between two fibers, the peers' shape
// (bfiber.cpp, go/main.go, rust/src/main.rs): one message there and one back
// is one round trip; two channels, buffered (capacity 64) or unbuffered. Then
// the same through async::channel<T>, and with select on both sides.
#include <cstdint>
#include <vector>

#include "async.hpp"
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

// A server's shape for the timers: `waiters` fibers each wait on their own
// channel with a deadline 10 s out, re-armed at every receive (a connection's
// read timeout), while one fiber sends to them in turn. Every message wakes
// the waiter whose timer is the oldest armed, the heap's earliest, and its
// re-arm puts a new latest at the bottom: a disarm that sifts through the
// whole heap and an arm, per message. per_op = one message.
struct rearm {
  benchmark::State* state;
  std::vector<async_channel_t> chans;
};

void timed_receiver(void* arg) {
  auto* ch = static_cast<async_channel_t*>(arg);
  void* m = nullptr;
  while (async_channel_recv_until(ch, &m, async_now_ns() + 10'000'000'000u) == ASYNC_OK) {
  }
}

void rearm_sender(void* arg) {
  auto* r = static_cast<rearm*>(arg);
  std::size_t k = 0;
  for (std::size_t i = 0; i < 20 * r->chans.size(); ++i) {  // warm-up: every waiter re-armed
    async_channel_send(&r->chans[k], nullptr);
    if (++k == r->chans.size()) k = 0;
  }
  for (auto _ : *r->state) {
    async_channel_send(&r->chans[k], nullptr);
    if (++k == r->chans.size()) k = 0;
  }
  for (auto& c : r->chans) async_channel_close(&c);
}

void BM_TimedRecvRearm(benchmark::State& state) {
  const auto waiters = static_cast<std::size_t>(state.range(0));
  bench::runtime rt(waiters + 16, waiters + 16);
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  rearm r{&state, std::vector<async_channel_t>(waiters)};
  for (auto& c : r.chans) {
    if (!bench::check(state, async_channel_init(&c, rt.get(), 0, 0), "async_channel_init")) return;
  }
  for (auto& c : r.chans) rt.spawn(timed_receiver, &c);
  rt.spawn(rearm_sender, &r);
  bench::check(state, rt.run(), "async_runtime_run");
  for (auto& c : r.chans) async_channel_shutdown(&c);
  bench::per_op(state, 1);
}
BENCHMARK(BM_TimedRecvRearm)->ArgName("waiters")->Arg(16)->Arg(500)->UseRealTime();

// The same ping-pong through async::channel<std::uint64_t> (two C channels
// per typed channel: a send takes a free cell, a receive gives it back).
void BM_CppChannelPingPong(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  async::runtime rt{async::config{}.task_capacity(16).fiber_capacity(16)};
  async::channel<std::uint64_t> there(rt, capacity);
  async::channel<std::uint64_t> back(rt, capacity);
  auto pong = async::spawn(rt, [&] {
    while (std::optional<std::uint64_t> v = there.recv()) back.send(*v);
    back.close();
  });
  auto ping = async::spawn(rt, [&] {
    for (std::uint64_t i = 0; i < 10000; ++i) {  // warm-up
      there.send(i);
      (void)back.recv();
    }
    std::uint64_t i = 0;
    for (auto _ : state) {
      there.send(++i);
      benchmark::DoNotOptimize(back.recv());
    }
    there.close();
  });
  if (rt.run() != async::status::ok) state.SkipWithError("async::runtime::run");
  ping.join();
  pong.join();
  bench::per_op(state, 1);
}
BENCHMARK(BM_CppChannelPingPong)->ArgName("capacity")->Arg(64)->Arg(0)->UseRealTime();

// Ping-pong where both sides select (C async_select): ping sends on `a` and
// `b` in turn and waits with a select over {back, quit}; pong waits with a
// select over {a, b} and answers on `back`. per_op = one round trip (two
// selects, two plain sends, two switches).
struct select_ping_pong {
  benchmark::State* state;
  async_channel_t a, b, back, quit;
};

void select_pong(void* arg) {
  auto* p = static_cast<select_ping_pong*>(arg);
  async_select_case_t cases[2] = {};
  cases[0].ch = &p->a;
  cases[0].op = ASYNC_SELECT_RECV;
  cases[1].ch = &p->b;
  cases[1].op = ASYNC_SELECT_RECV;
  std::size_t chosen = 0;
  while (async_select(cases, 2, &chosen) == ASYNC_OK) async_channel_send(&p->back, cases[chosen].msg);
}

void select_ping(void* arg) {
  auto* p = static_cast<select_ping_pong*>(arg);
  async_select_case_t cases[2] = {};
  cases[0].ch = &p->back;
  cases[0].op = ASYNC_SELECT_RECV;
  cases[1].ch = &p->quit;
  cases[1].op = ASYNC_SELECT_RECV;
  std::size_t chosen = 0;
  for (std::uintptr_t i = 0; i < 10000; ++i) {  // warm-up
    async_channel_send(i % 2 == 0 ? &p->a : &p->b, reinterpret_cast<void*>(i));
    async_select(cases, 2, &chosen);
  }
  std::uintptr_t i = 0;
  for (auto _ : *p->state) {
    ++i;
    async_channel_send(i % 2 == 0 ? &p->a : &p->b, reinterpret_cast<void*>(i));
    async_select(cases, 2, &chosen);
  }
  async_channel_close(&p->a);
}

void BM_ChannelSelectPingPong(benchmark::State& state) {
  bench::runtime rt(16, 16);
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  const auto capacity = static_cast<std::size_t>(state.range(0));
  select_ping_pong p{&state, {}, {}, {}, {}};
  for (async_channel_t* ch : {&p.a, &p.b, &p.back, &p.quit}) {
    if (!bench::check(state, async_channel_init(ch, rt.get(), capacity, 0), "async_channel_init")) return;
  }
  rt.spawn(select_pong, &p);
  rt.spawn(select_ping, &p);
  bench::check(state, rt.run(), "async_runtime_run");
  for (async_channel_t* ch : {&p.a, &p.b, &p.back, &p.quit}) async_channel_shutdown(ch);
  bench::per_op(state, 1);
}
BENCHMARK(BM_ChannelSelectPingPong)->ArgName("capacity")->Arg(64)->Arg(0)->UseRealTime();

}  // namespace
