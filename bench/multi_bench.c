/* SPDX-License-Identifier: MIT */
/* multi_bench.c: the cross-thread shapes of the peers' multi set
 * (docs/benchmarks.md, Peers; Go with
 * GOMAXPROCS=2, Tokio with 2 workers, Boost.Fiber on 2 threads), on a group
 * of runtimes. Same modes, same output (label<TAB>value<TAB>unit, one line
 * per timed repetition after one warm-up; MULTI_REPS repetitions, default 5):
 *
 *   multi_bench pingpong <cap> <n>   round trip between fibers on two runtimes
 *                                    over two channels of capacity <cap>
 *   multi_bench stream <n>           producer and consumer on two runtimes, a
 *                                    channel of 1024: ns per message, sum checked
 *   multi_bench spawn <n>            n batches of 1000 empty fibers spawned from
 *                                    the main thread onto a group of 2, waited for
 *   multi_bench cpu <workers> <jobs> CPU-bound jobs (200,000 xorshift steps) on
 *                                    a group of <workers>: wall ns per job
 *   multi_bench floor <n>            no runtime: two plain threads bounce a
 *                                    counter through two atomics, spinning; the
 *                                    machine's floor for any cross-core round trip
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#include "async.h"

static int reps(void) {
  const char *r = getenv("MULTI_REPS");
  int n = r != NULL ? atoi(r) : 0;
  return n > 0 ? n : 5;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void check(async_status_t st, const char *what) {
  if (st != ASYNC_OK) {
    fprintf(stderr, "multi_bench: %s: %s\n", what, async_strerror(st));
    exit(1);
  }
}

static async_group_t g_group;

/* Runs body() once to warm up, then reps() times, printing ns per op. */
static void timed(const char *label, double per, void (*body)(void)) {
  body();
  for (int r = 0; r < reps(); ++r) {
    const uint64_t t0 = now_ns();
    body();
    printf("%s\t%.2f\tns/op\n", label, (double)(now_ns() - t0) / per);
    fflush(stdout);
  }
}

/* ---------------------------------------------------------------- pingpong */

static long g_n;
static size_t g_cap;
static async_channel_t g_there, g_back;

static void pinger(void *user) {
  (void)user;
  for (long i = 0; i < g_n; ++i) {
    void *msg = NULL;
    check(async_channel_send(&g_there, (void *)(intptr_t)i), "send");
    check(async_channel_recv(&g_back, &msg), "recv");
    if ((intptr_t)msg != i) {
      fprintf(stderr, "multi_bench: pingpong got %ld, want %ld\n", (long)(intptr_t)msg, i);
      exit(1);
    }
  }
}

static void ponger(void *user) {
  (void)user;
  for (long i = 0; i < g_n; ++i) {
    void *msg = NULL;
    check(async_channel_recv(&g_there, &msg), "recv");
    check(async_channel_send(&g_back, msg), "send");
  }
}

static void pingpong_body(void) {
  check(async_channel_init(&g_there, async_group_runtime(&g_group, 0), g_cap, 0), "channel_init");
  check(async_channel_init(&g_back, async_group_runtime(&g_group, 0), g_cap, 0), "channel_init");
  check(async_spawn_with(async_group_runtime(&g_group, 1), ponger, NULL).status, "spawn");
  check(async_spawn_with(async_group_runtime(&g_group, 0), pinger, NULL).status, "spawn");
  check(async_group_wait(&g_group), "group_wait");
  async_channel_shutdown(&g_there);
  async_channel_shutdown(&g_back);
}

/* ------------------------------------------------------------------ stream */

static async_channel_t g_stream;
static long g_sum;

static void producer(void *user) {
  (void)user;
  for (long i = 0; i < g_n; ++i) check(async_channel_send(&g_stream, (void *)(intptr_t)i), "send");
  check(async_channel_close(&g_stream), "close");
}

static void consumer(void *user) {
  (void)user;
  long sum = 0;
  void *msg = NULL;
  while (async_channel_recv(&g_stream, &msg) == ASYNC_OK) sum += (long)(intptr_t)msg;
  g_sum = sum;
}

static void stream_body(void) {
  check(async_channel_init(&g_stream, async_group_runtime(&g_group, 0), 1024, 0), "channel_init");
  g_sum = -1;
  check(async_spawn_with(async_group_runtime(&g_group, 1), consumer, NULL).status, "spawn");
  check(async_spawn_with(async_group_runtime(&g_group, 0), producer, NULL).status, "spawn");
  check(async_group_wait(&g_group), "group_wait");
  async_channel_shutdown(&g_stream);
  if (g_sum != g_n * (g_n - 1) / 2) {
    fprintf(stderr, "multi_bench: stream lost messages (sum %ld)\n", g_sum);
    exit(1);
  }
}

/* ------------------------------------------------------------------- spawn */

static void empty(void *user) { (void)user; }

static void spawn_body(void) {
  for (long b = 0; b < g_n; ++b) {
    for (int i = 0; i < 1000; ++i) check(async_group_spawn(&g_group, empty, NULL).status, "group_spawn");
    check(async_group_wait(&g_group), "group_wait");
  }
}

/* ------------------------------------------------------------------- floor */

static _Atomic long g_ping, g_pong;

static int bouncer(void *user) {
  (void)user;
  for (long i = 1; i <= g_n; ++i) {
    while (atomic_load_explicit(&g_ping, memory_order_acquire) != i) {
    }
    atomic_store_explicit(&g_pong, i, memory_order_release);
  }
  return 0;
}

static void floor_body(void) {
  atomic_store(&g_ping, 0);
  atomic_store(&g_pong, 0);
  thrd_t t;
  if (thrd_create(&t, bouncer, NULL) != thrd_success) exit(1);
  for (long i = 1; i <= g_n; ++i) {
    atomic_store_explicit(&g_ping, i, memory_order_release);
    while (atomic_load_explicit(&g_pong, memory_order_acquire) != i) {
    }
  }
  thrd_join(t, NULL);
}

/* --------------------------------------------------------------------- cpu */

static _Atomic uint64_t g_sink;

static uint64_t work(uint64_t seed) {
  uint64_t x = seed | 1;
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

static void job(void *user) { atomic_fetch_xor(&g_sink, work((uint64_t)(uintptr_t)user)); }

static void cpu_body(void) {
  for (long j = 0; j < g_n; ++j) check(async_group_spawn(&g_group, job, (void *)(uintptr_t)j).status, "group_spawn");
  check(async_group_wait(&g_group), "group_wait");
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
    puts("usage: multi_bench pingpong <cap> <n> | stream <n> | spawn <n> | cpu <workers> <jobs> | floor <n>");
    return 0;
  }
  if (argc < 3) {
    fputs("usage: multi_bench pingpong <cap> <n> | stream <n> | spawn <n> | cpu <workers> <jobs> | floor <n>\n",
          stderr);
    return 2;
  }
  async_config_t cfg = {0};
  cfg.task_capacity = 4096;
  char label[64];
  const char *mode = argv[1];
  if (strcmp(mode, "pingpong") == 0 && argc >= 4) {
    g_cap = (size_t)atol(argv[2]);
    g_n = atol(argv[3]);
    check(async_group_init(&g_group, 2, &cfg), "group_init");
    snprintf(label, sizeof label, "async_pingpong_cap%zu", g_cap);
    timed(label, (double)g_n, pingpong_body);
  } else if (strcmp(mode, "stream") == 0) {
    g_n = atol(argv[2]);
    check(async_group_init(&g_group, 2, &cfg), "group_init");
    timed("async_stream", (double)g_n, stream_body);
  } else if (strcmp(mode, "spawn") == 0) {
    g_n = atol(argv[2]);
    check(async_group_init(&g_group, 2, &cfg), "group_init");
    timed("async_spawn1000", (double)g_n * 1000, spawn_body);
  } else if (strcmp(mode, "floor") == 0) {
    g_n = atol(argv[2]);
    timed("floor_atomic_roundtrip", (double)g_n, floor_body);
    return 0;
  } else if (strcmp(mode, "cpu") == 0 && argc >= 4) {
    const size_t workers = (size_t)atol(argv[2]);
    g_n = atol(argv[3]);
    check(async_group_init(&g_group, workers, &cfg), "group_init");
    snprintf(label, sizeof label, "async_cpu_w%zu", workers);
    timed(label, (double)g_n, cpu_body);
  } else {
    fputs("multi_bench: unknown mode or missing argument (see --help)\n", stderr);
    return 2;
  }
  async_group_shutdown(&g_group);
  return 0;
}
