/* SPDX-License-Identifier: MIT */
/* gdb_target.c: the program tests/gdb/gdb_test.sh debugs. It parks fibers in
 * several waits, prints "ready <pid>" once they all are, then waits for
 * good (its runtime blocks on a long sleep) until killed. A second thread
 * owns runtime 2, with one fiber never run. With a count N it
 * spawns N more fibers, of which 1,000 take a stack and park and the rest
 * wait for one: the "info fibers" timing on 100,000 fibers. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "async.h"

static async_runtime_t rt2;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int rt2_made;
static async_channel_t ch;
static async_mutex_t m;

/* Stores after the calls keep them calls, not jumps: `fiber bt` then shows
 * these frames of the program's own between the runtime's and the entry. */
static volatile int after;
__attribute__((noinline)) void gdb_target_wait_here(void) {
  (void)async_park();
  after = 1;
}

void gdb_target_parker(void *user) {
  (void)user;
  gdb_target_wait_here();
  after = 2;
}
void gdb_target_sleeper(void *user) {
  (void)user;
  (void)async_sleep_ms(3600 * 1000);
}
void gdb_target_receiver(void *user) {
  void *msg;
  (void)user;
  (void)async_channel_recv(&ch, &msg);
}
void gdb_target_holder(void *user) {
  (void)user;
  (void)async_mutex_lock(&m);
  (void)async_park();
}
void gdb_target_locker(void *user) {
  (void)user;
  (void)async_mutex_lock(&m);
}
/* Spawned after the five named fibers and before the many: its yield lets
 * the many park (or start waiting for a stack) before it says so. */
void gdb_target_ready(void *user) {
  (void)user;
  (void)async_yield();
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
}

/* Runtime 2's first fiber: says runtime 2 is made, then blocks its thread
 * for good without parking, so it stays `running`; the second fiber never
 * gets to run. */
void gdb_target_worker(void *user) {
  (void)user;
  pthread_mutex_lock(&lock);
  rt2_made = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&lock);
  for (;;) pause();
}
void gdb_target_idle(void *user) { (void)user; }

/* A second thread owns runtime 2 (made from main's config: `arg`): `info
 * fibers` lists every runtime of every thread. */
static void *second_thread(void *arg) {
  async_spawn_options_t opts;
  memset(&opts, 0, sizeof opts);
  if (async_runtime_init(&rt2, arg) != ASYNC_OK) exit(2);
  opts.name = "worker";
  if (async_spawn_ex(&rt2, gdb_target_worker, NULL, &opts).status != ASYNC_OK) exit(2);
  opts.name = "idle";
  if (async_spawn_ex(&rt2, gdb_target_idle, NULL, &opts).status != ASYNC_OK) exit(2);
  (void)async_runtime_run(&rt2);
  return NULL;
}

static void spawn(async_runtime_t *rt, async_fn fn, const char *name) {
  async_spawn_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.name = name;
  if (async_spawn_ex(rt, fn, NULL, &opts).status != ASYNC_OK) {
    fprintf(stderr, "gdb_target: spawn failed\n");
    exit(2);
  }
}

int main(int argc, char **argv) {
  const size_t extra = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
#if defined(PR_SET_PTRACER)
  /* Yama ptrace_scope 1 lets only ancestors attach; gdb -p is a sibling. */
  (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
#endif
  async_runtime_t rt;
  async_config_t cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.task_capacity = extra + 16;
  cfg.fiber_capacity = 1000 + 16;
  cfg.fiber_stack_size = 16384;
  /* gcore (gdb 13) saves a mapping that holds MADV_GUARD_INSTALL guards as
   * zeros, stacks included; the kernel's own core dumps keep them. */
  if (getenv("GDB_TARGET_NO_GUARDS") != NULL) cfg.flags = ASYNC_CONFIG_NO_GUARD_PAGES;
  if (async_runtime_init(&rt, &cfg) != ASYNC_OK || async_channel_init(&ch, &rt, 0, 0) != ASYNC_OK ||
      async_mutex_init(&m) != ASYNC_OK) {
    fprintf(stderr, "gdb_target: init failed\n");
    return 2;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, second_thread, &cfg) != 0) return 2;
  pthread_mutex_lock(&lock);
  while (!rt2_made) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  spawn(&rt, gdb_target_sleeper, "sleeper");
  spawn(&rt, gdb_target_receiver, "receiver");
  spawn(&rt, gdb_target_parker, "parker");
  spawn(&rt, gdb_target_holder, "holder");
  spawn(&rt, gdb_target_locker, "locker");
  spawn(&rt, gdb_target_ready, "ready");
  for (size_t i = 0; i < extra; ++i) spawn(&rt, gdb_target_parker, "many");
  return async_runtime_run(&rt);  /* never returns: the sleeper sleeps an hour */
}
