/* SPDX-License-Identifier: MIT */
/* callgrind_shapes.c: the benchmark shapes without Google Benchmark, for
 * counting instructions under valgrind --tool=callgrind (which counts
 * exactly, however noisy the machine is).
 *
 * usage: callgrind_shapes <shape> [n] [fibers]
 *   yield          `fibers` fibers (2 by default), n yields each (per op: one yield)
 *   yield1         1 fiber alone, n yields           (per op: one yield)
 *   spawn1         from a fiber: spawn + await, n times          (per op: one fiber)
 *   spawn1000      from a fiber: n batches of 1000 spawns, then 1000 awaits
 *   spawn1_thread  from the thread: spawn + top-level await, n times
 *   sleep0         1 fiber: n x async_sleep_ns(0)   (per op: one trip through
 *                  the timers; the path that reads the clock)
 *   channel        2 fibers, n round trips over two channels of capacity
 *                  `fibers` (the third argument; 0 by default: rendezvous):
 *                  one sends on the first and receives the reply on the
 *                  second               (per op: one round trip, 2 sends + 2 recvs)
 * The sync shapes of bench/sync_bench.c (async/sync.h):
 *   mutex1         1 fiber: n x (lock; unlock)       (per op: one lock+unlock)
 *   pthread1       1 fiber: n x (pthread_mutex_lock; unlock), for comparison
 *   mutex_handoff  2 fibers, each n x (lock; yield; unlock)   (per op: one fiber's
 *                  lock+yield+unlock; the tool's n covers both fibers: 2n ops)
 *   sem_handoff    the same with a semaphore of 1: acquire; yield; release
 *   cond_pingpong  2 fibers, mutex + condvar + turn flag, n turns each (2n ops)
 * Run it twice with different n and subtract: the difference divided by the
 * difference in ops is the steady-state cost per op, free of setup. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
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

static void sleeper0(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) async_sleep_ns(0);
}

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

static async_channel_t g_ping;
static async_channel_t g_pong;

static void channel_pinger(void *arg) {
  void *msg;
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    if (async_channel_send(&g_ping, &g_n) != ASYNC_OK) abort();
    if (async_channel_recv(&g_pong, &msg) != ASYNC_OK) abort();
  }
}

static void channel_ponger(void *arg) {
  void *msg;
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    if (async_channel_recv(&g_ping, &msg) != ASYNC_OK) abort();
    if (async_channel_send(&g_pong, msg) != ASYNC_OK) abort();
  }
}

static async_mutex_t g_mutex;
static async_sem_t g_sem;
static async_cond_t g_cond;
static pthread_mutex_t g_pmutex = PTHREAD_MUTEX_INITIALIZER;
static volatile long g_x;
static int g_turn = 1;

static void mutex1(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    if (async_mutex_lock(&g_mutex) != ASYNC_OK) abort();
    ++g_x;
    if (async_mutex_unlock(&g_mutex) != ASYNC_OK) abort();
  }
}

static void pthread1(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    if (pthread_mutex_lock(&g_pmutex) != 0) abort();
    ++g_x;
    if (pthread_mutex_unlock(&g_pmutex) != 0) abort();
  }
}

static void mutex_handoff(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    if (async_mutex_lock(&g_mutex) != ASYNC_OK) abort();
    ++g_x;
    if (async_yield() != ASYNC_OK) abort();
    if (async_mutex_unlock(&g_mutex) != ASYNC_OK) abort();
  }
}

static void sem_handoff(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    if (async_sem_acquire(&g_sem) != ASYNC_OK) abort();
    ++g_x;
    if (async_yield() != ASYNC_OK) abort();
    if (async_sem_release(&g_sem) != ASYNC_OK) abort();
  }
}

static void cond_pingpong(void *arg) {
  const int me = (int)(intptr_t)arg;
  if (async_mutex_lock(&g_mutex) != ASYNC_OK) abort();
  for (long i = 0; i < g_n; ++i) {
    while (g_turn != me)
      if (async_cond_wait(&g_cond, &g_mutex) != ASYNC_OK) abort();
    g_turn = 3 - me;
    ++g_x;
    if (async_cond_signal(&g_cond) != ASYNC_OK) abort();
  }
  if (async_mutex_unlock(&g_mutex) != ASYNC_OK) abort();
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
  } else if (strcmp(shape, "sleep0") == 0) {
    async_spawn_with(&rt, sleeper0, NULL);
  } else if (strcmp(shape, "channel") == 0) {
    size_t capacity = argc > 3 ? (size_t)atol(argv[3]) : 0;
    if (async_channel_init(&g_ping, &rt, capacity, 0) != ASYNC_OK ||
        async_channel_init(&g_pong, &rt, capacity, 0) != ASYNC_OK)
      return 2;
    async_spawn_with(&rt, channel_pinger, NULL);
    async_spawn_with(&rt, channel_ponger, NULL);
  } else if (strcmp(shape, "mutex1") == 0) {
    if (async_mutex_init(&g_mutex) != ASYNC_OK) return 2;
    async_spawn_with(&rt, mutex1, NULL);
  } else if (strcmp(shape, "pthread1") == 0) {
    async_spawn_with(&rt, pthread1, NULL);
  } else if (strcmp(shape, "mutex_handoff") == 0) {
    if (async_mutex_init(&g_mutex) != ASYNC_OK) return 2;
    async_spawn_with(&rt, mutex_handoff, NULL);
    async_spawn_with(&rt, mutex_handoff, NULL);
  } else if (strcmp(shape, "sem_handoff") == 0) {
    if (async_sem_init(&g_sem, 1) != ASYNC_OK) return 2;
    async_spawn_with(&rt, sem_handoff, NULL);
    async_spawn_with(&rt, sem_handoff, NULL);
  } else if (strcmp(shape, "cond_pingpong") == 0) {
    if (async_mutex_init(&g_mutex) != ASYNC_OK || async_cond_init(&g_cond) != ASYNC_OK) return 2;
    async_spawn_with(&rt, cond_pingpong, (void *)(intptr_t)1);
    async_spawn_with(&rt, cond_pingpong, (void *)(intptr_t)2);
  } else {
    fprintf(stderr, "unknown shape %s\n", shape);
    return 2;
  }
  if (async_runtime_run(&rt) != ASYNC_OK) return 1;
  if (strcmp(shape, "channel") == 0) {
    async_channel_shutdown(&g_ping);
    async_channel_shutdown(&g_pong);
  }
  async_runtime_shutdown(&rt);
  return 0;
}
