/* SPDX-License-Identifier: MIT */
/* sync_bench.c: the fiber synchronisation objects of async/sync.h, in the
 * shapes of the sync peers (bench/peers/sync: Boost.Fiber, Go, Tokio) and
 * against pthread_mutex in the same process. Output as the peers' programs
 * (label<TAB>value<TAB>unit, one line per timed repetition after one warm-up
 * at n/10; MICRO_REPS repetitions, default 7; MICRO_SCALE multiplies every n).
 *
 *   sync_bench [shape...]      (no shape: every one-runtime shape, in this order)
 *
 * One runtime, one thread (run it pinned: taskset -c 0):
 *   mutex_uncontended    one fiber: lock; ++x; unlock.            ns per lock+unlock
 *   pthread_uncontended  the same loop on a pthread_mutex_t (default type), in a
 *                        fiber of the same runtime.                ns per lock+unlock
 *   yield_pair           two fibers, n async_yield each.           ns per yield (total / 2n)
 *   mutex_handoff        two fibers, each n times: lock; ++x; async_yield; unlock.
 *                        One operation = one such lock+yield+unlock by one fiber;
 *                        ns per operation = total / 2n.  Also prints
 *                        "<label>.handoffs_per_op": the share of operations that
 *                        found the mutex last held by the other fiber (1.00 = strict
 *                        alternation, a hand-off every time; near 0 = one fiber barges).
 *   sem_handoff          the same with a semaphore of 1 unit: acquire; ++x; yield; release.
 *   cond_pingpong        two fibers, one mutex, one condition variable, a turn flag;
 *                        each: lock; n times { while (turn != me) cond_wait; turn = other;
 *                        signal; } unlock. ns per turn (total / 2n): one cond_wait that
 *                        returns, one signal, the mutex handed back through the wait.
 *   uncontended_pair     mutex_uncontended and pthread_uncontended repetition by
 *                        repetition (ours, pthread, pthread, ours, ...), so that both see
 *                        the same stretch of machine time; the same labels as the two.
 *                        This, not the two shapes one after the other, is in the default list.
 *   uncontended_minbatch a diagnostic for the first two: one fiber alternates batches of
 *                        1000 async_mutex and 1000 pthread_mutex lock+unlock pairs, 3000
 *                        batches each per repetition, so both see the same machine.
 *                        Prints per repetition the minimum over batches of each (ns per
 *                        lock+unlock; interference only adds time) and the median over
 *                        batches of the per-batch ratio ours / pthread.
 *   mutex_uncontended_shared  as mutex_uncontended, on a mutex that another thread has
 *                        used once (try_lock + unlock from a plain thread): every call
 *                        then takes the object's spin lock.        ns per lock+unlock
 *
 * Two runtimes of a group, nothing pinned (report only; not in the default list):
 *   mutex_handoff_group  one fiber on each runtime; both wait for each other to start,
 *                        then each n times: lock; ++x; async_yield; unlock, on one mutex.
 *                        ns per operation = total / 2n (wall time, spawn to group_wait),
 *                        plus handoffs_per_op as above.
 *
 * Every shape checks its counter at the end (2n, or n) and exits 1 when a call
 * fails or the count is wrong. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "async.h"

/* ----------------------------------------------------------------- harness */

static int reps(void) {
  const char *r = getenv("MICRO_REPS");
  int n = r != NULL ? atoi(r) : 0;
  return n > 0 ? n : 7;
}

static long iters(long base) {
  const char *s = getenv("MICRO_SCALE");
  double f = s != NULL ? atof(s) : 1.0;
  if (f <= 0) f = 1.0;
  long n = (long)((double)base * f);
  return n > 0 ? n : 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void check(async_status_t st, const char *what) {
  if (st != ASYNC_OK) {
    fprintf(stderr, "sync_bench: %s: %s\n", what, async_status_name(st));
    exit(1);
  }
}

static void emit(const char *label, double value, const char *unit) {
  printf(strcmp(unit, "ratio") == 0 ? "%s\t%.6f\t%s\n" : "%s\t%.3f\t%s\n", label, value, unit);
  fflush(stdout);
}

static async_runtime_t g_rt;
static async_mutex_t g_mutex;
static long g_n;           /* iterations per fiber of the current body */
static volatile long g_x;  /* the protected counter */
static int g_last;         /* which fiber held the lock last (0: none yet, 1 or 2) */
static long g_handoffs;    /* operations that found the lock last held by the other fiber */

/* Runs body(n/10) once, then reps() times body(n); prints ns per op, where
 * one body(n) is n * ops_per_n operations. With handoffs, also the share of
 * operations that were hand-offs. */
static void time_it(const char *label, long n, double ops_per_n, void (*body)(void), int handoffs) {
  g_n = n / 10 > 0 ? n / 10 : 1;
  body();
  for (int r = 0; r < reps(); ++r) {
    g_n = n;
    g_handoffs = 0;
    g_last = 0;
    const uint64_t t0 = now_ns();
    body();
    const uint64_t t1 = now_ns();
    const double ops = (double)n * ops_per_n;
    emit(label, (double)(t1 - t0) / ops, "ns/op");
    if (handoffs) {
      char l[96];
      snprintf(l, sizeof l, "%s.handoffs_per_op", label);
      emit(l, (double)g_handoffs / ops, "ratio");
    }
  }
}

/* Spawns fn on g_rt `fibers` times, with 1, 2, ... as the argument, and runs it. */
static void run_fibers(async_fn fn, int fibers) {
  for (int i = 1; i <= fibers; ++i) check(async_spawn_with(&g_rt, fn, (void *)(intptr_t)i).status, "spawn");
  check(async_runtime_run(&g_rt), "runtime_run");
}

/* A fresh g_mutex, used by no thread yet (a mutex once shared stays shared). */
static void fresh_mutex(void) {
  check(async_mutex_destroy(&g_mutex), "mutex_destroy");
  check(async_mutex_init(&g_mutex), "mutex_init");
}

static void expect_count(long want, const char *shape) {
  if (g_x != want) {
    fprintf(stderr, "sync_bench: %s: counter %ld, want %ld\n", shape, (long)g_x, want);
    exit(1);
  }
  g_x = 0;
}

/* In a critical section: counts the operation as a hand-off when the other
 * fiber held the lock last. */
static inline void note_holder(int me) {
  if (g_last != me) {
    if (g_last != 0) ++g_handoffs;
    g_last = me;
  }
}

/* ------------------------------------------------------------ uncontended */

static pthread_mutex_t g_pmutex = PTHREAD_MUTEX_INITIALIZER;

static void mutex_loop(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    check(async_mutex_lock(&g_mutex), "mutex_lock");
    ++g_x;
    check(async_mutex_unlock(&g_mutex), "mutex_unlock");
  }
}

static void mutex_uncontended_body(void) {
  run_fibers(mutex_loop, 1);
  expect_count(g_n, "mutex_uncontended");
}

static void pthread_loop(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) {
    if (pthread_mutex_lock(&g_pmutex) != 0) exit(1);
    ++g_x;
    if (pthread_mutex_unlock(&g_pmutex) != 0) exit(1);
  }
}

static void pthread_uncontended_body(void) {
  run_fibers(pthread_loop, 1);
  expect_count(g_n, "pthread_uncontended");
}

enum { batch_ops = 10000, batches = 1000 };
static double g_ratio[batches];

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void minbatch_fiber(void *arg) {
  (void)arg;
  double best_m = 1e30, best_p = 1e30;
  for (int b = 0; b < batches; ++b) {
    const uint64_t t0 = now_ns();
    for (int i = 0; i < batch_ops; ++i) {
      check(async_mutex_lock(&g_mutex), "mutex_lock");
      ++g_x;
      check(async_mutex_unlock(&g_mutex), "mutex_unlock");
    }
    const uint64_t t1 = now_ns();
    for (int i = 0; i < batch_ops; ++i) {
      if (pthread_mutex_lock(&g_pmutex) != 0) exit(1);
      ++g_x;
      if (pthread_mutex_unlock(&g_pmutex) != 0) exit(1);
    }
    const uint64_t t2 = now_ns();
    const double m = (double)(t1 - t0) / batch_ops, p = (double)(t2 - t1) / batch_ops;
    if (m < best_m) best_m = m;
    if (p < best_p) best_p = p;
    g_ratio[b] = m / p;
  }
  qsort(g_ratio, batches, sizeof g_ratio[0], cmp_double);
  if (g_n > 0) { /* the timed repetitions (time_it's warm-up passes g_n = n / 10 = 0) */
    emit("async.mutex_uncontended.min_batch", best_m, "ns/op");
    emit("async.pthread_uncontended.min_batch", best_p, "ns/op");
    emit("async.mutex_vs_pthread.batch_ratio_median", (g_ratio[batches / 2 - 1] + g_ratio[batches / 2]) / 2, "ratio");
  }
}

static void uncontended_minbatch_body(void) {
  run_fibers(minbatch_fiber, 1);
  expect_count(2L * batch_ops * batches, "uncontended_minbatch");
}

static void *touch_from_thread(void *arg) {
  (void)arg;
  check(async_mutex_try_lock(&g_mutex), "mutex_try_lock (other thread)");
  check(async_mutex_unlock(&g_mutex), "mutex_unlock (other thread)");
  return NULL;
}

/* Makes g_mutex shared: a plain thread other than the initialising one uses it once. */
static void share_mutex(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, touch_from_thread, NULL) != 0) exit(1);
  pthread_join(t, NULL);
}

/* ------------------------------------------------------------------ yield */

static void yielder(void *arg) {
  (void)arg;
  for (long i = 0; i < g_n; ++i) check(async_yield(), "yield");
}

static void yield_pair_body(void) { run_fibers(yielder, 2); }

/* ---------------------------------------------------------------- hand-off */

static void mutex_handoff_fiber(void *arg) {
  const int me = (int)(intptr_t)arg;
  for (long i = 0; i < g_n; ++i) {
    check(async_mutex_lock(&g_mutex), "mutex_lock");
    note_holder(me);
    ++g_x;
    check(async_yield(), "yield");
    check(async_mutex_unlock(&g_mutex), "mutex_unlock");
  }
}

static void mutex_handoff_body(void) {
  run_fibers(mutex_handoff_fiber, 2);
  expect_count(2 * g_n, "mutex_handoff");
}

static async_sem_t g_sem;

static void sem_handoff_fiber(void *arg) {
  const int me = (int)(intptr_t)arg;
  for (long i = 0; i < g_n; ++i) {
    check(async_sem_acquire(&g_sem), "sem_acquire");
    note_holder(me);
    ++g_x;
    check(async_yield(), "yield");
    check(async_sem_release(&g_sem), "sem_release");
  }
}

static void sem_handoff_body(void) {
  run_fibers(sem_handoff_fiber, 2);
  expect_count(2 * g_n, "sem_handoff");
}

static async_cond_t g_cond;
static int g_turn;

static void cond_fiber(void *arg) {
  const int me = (int)(intptr_t)arg, other = 3 - me;
  check(async_mutex_lock(&g_mutex), "mutex_lock");
  for (long i = 0; i < g_n; ++i) {
    while (g_turn != me) check(async_cond_wait(&g_cond, &g_mutex), "cond_wait");
    g_turn = other;
    ++g_x;
    check(async_cond_signal(&g_cond), "cond_signal");
  }
  check(async_mutex_unlock(&g_mutex), "mutex_unlock");
}

static void cond_pingpong_body(void) {
  g_turn = 1;
  run_fibers(cond_fiber, 2);
  expect_count(2 * g_n, "cond_pingpong");
}

/* ------------------------------------------------------------------- group */

static async_group_t g_group;
static _Atomic int g_arrived;

/* Both fibers start their loops together (a group thread may still be
 * waking up when the other has begun), then run mutex_handoff's loop. */
static void group_fiber(void *arg) {
  atomic_fetch_add(&g_arrived, 1);
  while (atomic_load(&g_arrived) < 2) check(async_yield(), "yield");
  mutex_handoff_fiber(arg);
}

static void group_body(void) {
  atomic_store(&g_arrived, 0);
  for (int i = 1; i <= 2; ++i)
    check(async_spawn_with(async_group_runtime(&g_group, (size_t)i - 1), group_fiber, (void *)(intptr_t)i).status,
          "spawn");
  check(async_group_wait(&g_group), "group_wait");
  expect_count(2 * g_n, "mutex_handoff_group");
}

/* ------------------------------------------------------------------- main */

static void run_shape(const char *shape) {
  fresh_mutex();
  if (strcmp(shape, "mutex_uncontended") == 0) {
    time_it("async.mutex_uncontended", iters(5000000), 1, mutex_uncontended_body, 0);
  } else if (strcmp(shape, "pthread_uncontended") == 0) {
    time_it("async.pthread_uncontended", iters(5000000), 1, pthread_uncontended_body, 0);
  } else if (strcmp(shape, "uncontended_pair") == 0) {
    const long n = iters(5000000);
    g_n = n / 10 > 0 ? n / 10 : 1;
    mutex_uncontended_body();
    pthread_uncontended_body();
    for (int r = 0; r < reps(); ++r) {
      for (int k = 0; k < 2; ++k) {
        const int ours = (k == 0) == (r % 2 == 0);
        g_n = n;
        const uint64_t t0 = now_ns();
        if (ours) {
          mutex_uncontended_body();
        } else {
          pthread_uncontended_body();
        }
        emit(ours ? "async.mutex_uncontended" : "async.pthread_uncontended", (double)(now_ns() - t0) / (double)n,
             "ns/op");
      }
    }
  } else if (strcmp(shape, "uncontended_minbatch") == 0) {
    /* n only tells the warm-up (n / 10 == 0: prints nothing) from the timed
     * repetitions; time_it's own ns/op line is left out. */
    for (int r = -1; r < reps(); ++r) {
      g_n = r < 0 ? 0 : 1;
      uncontended_minbatch_body();
    }
  } else if (strcmp(shape, "yield_pair") == 0) {
    time_it("async.yield_pair", iters(2000000), 2, yield_pair_body, 0);
  } else if (strcmp(shape, "mutex_handoff") == 0) {
    time_it("async.mutex_handoff", iters(1000000), 2, mutex_handoff_body, 1);
  } else if (strcmp(shape, "sem_handoff") == 0) {
    check(async_sem_init(&g_sem, 1), "sem_init");
    time_it("async.sem_handoff", iters(1000000), 2, sem_handoff_body, 1);
    check(async_sem_destroy(&g_sem), "sem_destroy");
  } else if (strcmp(shape, "cond_pingpong") == 0) {
    check(async_cond_init(&g_cond), "cond_init");
    time_it("async.cond_pingpong", iters(1000000), 2, cond_pingpong_body, 0);
    check(async_cond_destroy(&g_cond), "cond_destroy");
  } else if (strcmp(shape, "mutex_uncontended_shared") == 0) {
    share_mutex();
    time_it("async.mutex_uncontended_shared", iters(5000000), 1, mutex_uncontended_body, 0);
  } else if (strcmp(shape, "mutex_handoff_group") == 0) {
    async_config_t cfg = {0};
    cfg.task_capacity = 64;
    check(async_group_init(&g_group, 2, &cfg), "group_init");
    time_it("async.mutex_handoff_group", iters(20000), 2, group_body, 1);
    async_group_shutdown(&g_group);
  } else {
    fprintf(stderr, "sync_bench: unknown shape %s (see the comment at the top of bench/sync_bench.c)\n", shape);
    exit(2);
  }
}

int main(int argc, char **argv) {
  static const char *const all[] = {"uncontended_pair", "uncontended_minbatch", "yield_pair",
                                    "mutex_handoff",    "sem_handoff",          "cond_pingpong",
                                    "mutex_uncontended_shared"};
  if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
    puts("usage: sync_bench [mutex_uncontended|pthread_uncontended|uncontended_pair|uncontended_minbatch|yield_pair|mutex_handoff|sem_handoff|"
         "cond_pingpong|mutex_uncontended_shared|mutex_handoff_group ...]");
    return 0;
  }
  async_config_t cfg = {0};
  cfg.task_capacity = 64;
  cfg.fiber_capacity = 16;
  check(async_runtime_init(&g_rt, &cfg), "runtime_init");
  check(async_mutex_init(&g_mutex), "mutex_init");
  if (argc < 2) {
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) run_shape(all[i]);
  } else {
    for (int i = 1; i < argc; ++i) run_shape(argv[i]);
  }
  check(async_mutex_destroy(&g_mutex), "mutex_destroy");
  async_runtime_shutdown(&g_rt);
  return 0;
}
