// SPDX-License-Identifier: MIT
// io_bench.cpp: pipe ping-pong between two fibers of one runtime, through
// async_read/async_write: one byte there and one back is one round trip.
// Two references without the library frame it:
//   BM_PipePingPongSyscallsOnly  the four system calls of a round trip
//                                (write, read, write, read) on one thread:
//                                what no design on one thread can beat
//   BM_PipePingPongThreads       two threads blocking in read(2), the
//                                one-thread-per-connection design
#include <unistd.h>

#include <atomic>
#include <thread>

#include "bench_common.h"

namespace {

struct pipes {
  int there[2] = {-1, -1};
  int back[2] = {-1, -1};
  bool open() { return pipe(there) == 0 && pipe(back) == 0; }
  ~pipes() {
    for (int fd : {there[0], there[1], back[0], back[1]}) {
      if (fd >= 0) close(fd);
    }
  }
};

struct fiber_ping_pong {
  benchmark::State* state;
  async_io_t there_rd{}, there_wr{}, back_rd{}, back_wr{};
};

// Reads go into a buffer larger than the one-byte message, as a program
// reads into its buffer: the short read tells the io it is drained, so the
// next read waits for the poller without a system call that says EAGAIN.
constexpr size_t read_buffer = 64;

// Echoes every message until end of file, then closes its write end.
void pong(void* arg) {
  auto* p = static_cast<fiber_ping_pong*>(arg);
  char buf[read_buffer];
  size_t n;
  while (async_read(&p->there_rd, buf, sizeof buf, &n) == ASYNC_OK && n != 0) async_write(&p->back_wr, buf, n, &n);
  async_io_close(&p->back_wr);
}

void ping(void* arg) {
  auto* p = static_cast<fiber_ping_pong*>(arg);
  char buf[read_buffer] = {'x'};
  size_t n;
  for (int i = 0; i < 10000; ++i) {  // warm-up
    async_write(&p->there_wr, buf, 1, &n);
    async_read(&p->back_rd, buf, sizeof buf, &n);
  }
  for (auto _ : *p->state) {
    async_write(&p->there_wr, buf, 1, &n);
    async_read(&p->back_rd, buf, sizeof buf, &n);
  }
  async_io_close(&p->there_wr);
}

// per_op = one round trip.
void BM_PipePingPong(benchmark::State& state) {
  bench::runtime rt(16, 16);
  if (!bench::check(state, rt.status(), "async_runtime_init")) return;
  int there[2];
  int back[2];
  if (pipe(there) != 0 || pipe(back) != 0) {
    state.SkipWithError("pipe");
    return;
  }
  fiber_ping_pong p{&state};
  async_io_register_with(rt.get(), &p.there_rd, there[0]);
  async_io_register_with(rt.get(), &p.there_wr, there[1]);
  async_io_register_with(rt.get(), &p.back_rd, back[0]);
  async_io_register_with(rt.get(), &p.back_wr, back[1]);
  rt.spawn(pong, &p);
  rt.spawn(ping, &p);
  bench::check(state, rt.run(), "async_runtime_run");
  async_io_close(&p.there_rd);
  async_io_close(&p.back_rd);
  bench::per_op(state, 1);
}
BENCHMARK(BM_PipePingPong)->UseRealTime();

void BM_PipePingPongSyscallsOnly(benchmark::State& state) {
  pipes p;
  if (!p.open()) {
    state.SkipWithError("pipe");
    return;
  }
  char c = 'x';
  for (auto _ : state) {
    benchmark::DoNotOptimize(write(p.there[1], &c, 1));
    benchmark::DoNotOptimize(read(p.there[0], &c, 1));
    benchmark::DoNotOptimize(write(p.back[1], &c, 1));
    benchmark::DoNotOptimize(read(p.back[0], &c, 1));
  }
  bench::per_op(state, 1);
}
BENCHMARK(BM_PipePingPongSyscallsOnly)->UseRealTime();

void BM_PipePingPongThreads(benchmark::State& state) {
  pipes p;
  if (!p.open()) {
    state.SkipWithError("pipe");
    return;
  }
  std::thread echo([&] {
    char c;
    while (read(p.there[0], &c, 1) == 1) {
      if (write(p.back[1], &c, 1) != 1) break;
    }
  });
  char c = 'x';
  for (auto _ : state) {
    benchmark::DoNotOptimize(write(p.there[1], &c, 1));
    benchmark::DoNotOptimize(read(p.back[0], &c, 1));
  }
  close(p.there[1]);
  p.there[1] = -1;
  echo.join();
  bench::per_op(state, 1);
}
BENCHMARK(BM_PipePingPongThreads)->UseRealTime();

}  // namespace
