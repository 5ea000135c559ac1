/* SPDX-License-Identifier: MIT */
/* yield_minbatch.c: a diagnostic, not a benchmark of the suite. Times
 * `fibers` fibers yielding in turn as the minimum over 3000 batches of 1000
 * rounds, after 100,000 warm-up yields. On a shared machine the minimum is
 * far steadier than a median: interference only ever adds time.
 *
 * usage: yield_minbatch [fibers]       (2 by default)
 * prints: fibers=<n> min per yield <ns> ns */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "async.h"

static volatile int g_stop;
static double g_best = 1e30;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void member(void *arg) {
  (void)arg;
  while (!g_stop) async_yield();
}

/* One round: this fiber yields once and every member yields once. */
static void timed(void *arg) {
  (void)arg;
  for (int i = 0; i < 100000; ++i) async_yield();
  for (int b = 0; b < 3000; ++b) {
    double t0 = now_ns();
    for (int i = 0; i < 1000; ++i) async_yield();
    double d = now_ns() - t0;
    if (d < g_best) g_best = d;
  }
  g_stop = 1;
}

int main(int argc, char **argv) {
  int fibers = argc > 1 ? atoi(argv[1]) : 2;
  async_runtime_t rt;
  async_config_t cfg = {0};
  if (fibers < 1) fibers = 1;
  cfg.task_capacity = (size_t)fibers + 8;
  cfg.fiber_capacity = (size_t)fibers + 8;
  if (async_runtime_init(&rt, &cfg) != ASYNC_OK) return 2;
  if (async_spawn_with(&rt, timed, NULL).status != ASYNC_OK) return 2;
  for (int i = 1; i < fibers; ++i)
    if (async_spawn_with(&rt, member, NULL).status != ASYNC_OK) return 2;
  if (async_runtime_run(&rt) != ASYNC_OK) return 1;
  printf("fibers=%d min per yield %.2f ns\n", fibers, g_best / (1000.0 * fibers));
  async_runtime_shutdown(&rt);
  return 0;
}
