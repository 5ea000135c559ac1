/* SPDX-License-Identifier: MIT */
/* callgrind_shapes.c: the benchmark shapes without Google Benchmark, for
 * counting instructions under valgrind --tool=callgrind (which counts
 * exactly, however noisy the machine is).
 *
 * usage: callgrind_shapes <yield|yield1|spawn1|spawn1000|spawn1_thread> [n] [fibers]
 *   yield          `fibers` fibers (2 by default), n yields each (per op: one yield)
 *   yield1         1 fiber alone, n yields           (per op: one yield)
 *   spawn1         from a fiber: spawn + await, n times          (per op: one fiber)
 *   spawn1000      from a fiber: n batches of 1000 spawns, then 1000 awaits
 *   spawn1_thread  from the thread: spawn + top-level await, n times
 * Run it twice with different n and subtract: the difference divided by the
 * difference in ops is the steady-state cost per op, free of setup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "async.h"

static long g_n;
static async_fiber_handle_t g_batch[1000];

static void yielder(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) async_yield();
}

static void empty_fiber(void *arg) { (void)arg; }

static void spawner1(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    async_fiber_handle_t h = async_spawn(empty_fiber, NULL);
    if (h.status != ASYNC_OK || async_await(h) != ASYNC_OK) abort();
  }
}

static void spawner1000(void *arg) {
  (void)arg;
  for (long r = 0; r < g_n; ++r) {
    for (int i = 0; i < 1000; ++i) {
      g_batch[i] = async_spawn(empty_fiber, NULL);
      if (g_batch[i].status != ASYNC_OK) abort();
    }
    for (int i = 0; i < 1000; ++i)
      if (async_await(g_batch[i]) != ASYNC_OK) abort();
  }
}

int main(int argc, char **argv) {
  const char *shape = argc > 1 ? argv[1] : "yield";
  async_config_t cfg = {0};
  async_runtime_t rt;
  g_n = argc > 2 ? atol(argv[2]) : 100000;
  cfg.task_capacity = 4096;
  cfg.fiber_capacity = 2048;
  if (async_runtime_init(&rt, &cfg) != ASYNC_OK) return 2;
  if (strcmp(shape, "yield") == 0) {
    long fibers = argc > 3 ? atol(argv[3]) : 2;
    for (long i = 0; i < fibers; ++i) async_spawn_with(&rt, yielder, NULL);
  } else if (strcmp(shape, "yield1") == 0) {
    async_spawn_with(&rt, yielder, NULL);
  } else if (strcmp(shape, "spawn1") == 0) {
    async_spawn_with(&rt, spawner1, NULL);
  } else if (strcmp(shape, "spawn1000") == 0) {
    async_spawn_with(&rt, spawner1000, NULL);
  } else if (strcmp(shape, "spawn1_thread") == 0) {
    for (long i = 0; i < g_n; ++i) {
      async_fiber_handle_t h = async_spawn_with(&rt, empty_fiber, NULL);
      if (h.status != ASYNC_OK || async_await(h) != ASYNC_OK) return 1;
    }
  } else {
    fprintf(stderr, "unknown shape %s\n", shape);
    return 2;
  }
  if (async_runtime_run(&rt) != ASYNC_OK) return 1;
  async_runtime_shutdown(&rt);
  return 0;
}
