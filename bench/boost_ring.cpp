// SPDX-License-Identifier: MIT
// boost_ring.cpp: a diagnostic, not part of the suite. The peers' raw
// reference (Boost.Context's jump_fcontext) timed the way yield_minbatch.c
// times us: K contexts pass control around a ring; the minimum over 3000
// batches of 1000 laps, in ns per switch and per two switches (a round trip
// when K = 2). Built only when Boost.Context is found.
//
// usage: boost_ring [K]      (2 by default)
#include <boost/context/detail/fcontext.hpp>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace bcd = boost::context::detail;

namespace {

int g_ring = 2;
bcd::fcontext_t g_ctx[1024];  // g_ctx[i]: context i, while it is suspended
int g_next_id = 1;

double now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) * 1e9 + double(t.tv_nsec);
}

// Context `me` (1..K-1): whoever jumped here is the previous one in the ring.
void member(bcd::transfer_t t) {
  const int me = g_next_id++;
  g_ctx[(me + g_ring - 1) % g_ring] = t.fctx;
  for (;;) {
    bcd::transfer_t r = bcd::jump_fcontext(g_ctx[(me + 1) % g_ring], nullptr);
    g_ctx[(me + g_ring - 1) % g_ring] = r.fctx;
  }
}

}  // namespace

int main(int argc, char** argv) {
  g_ring = argc > 1 ? std::atoi(argv[1]) : 2;
  if (g_ring < 2 || g_ring > 1024) return 2;
  std::vector<std::vector<char>> stacks(g_ring);
  for (int i = 1; i < g_ring; ++i) {
    stacks[i].resize(64 * 1024);
    g_ctx[i] = bcd::make_fcontext(stacks[i].data() + stacks[i].size(), stacks[i].size(), member);
  }
  // One lap: main (context 0) -> 1 -> ... -> K-1 -> main: K switches.
  auto lap = [] { g_ctx[g_ring - 1] = bcd::jump_fcontext(g_ctx[1], nullptr).fctx; };
  for (int i = 0; i < 100000; ++i) lap();
  double best = 1e30;
  for (int b = 0; b < 3000; ++b) {
    double t0 = now_ns();
    for (int i = 0; i < 1000; ++i) lap();
    double d = now_ns() - t0;
    if (d < best) best = d;
  }
  std::printf("ring K=%d: %.2f ns per switch, %.2f ns per 2 switches\n", g_ring, best / (1000.0 * g_ring),
              2 * best / (1000.0 * g_ring));
  // The members stay suspended; their stacks are freed with the vector.
  return 0;
}
