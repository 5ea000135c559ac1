/* SPDX-License-Identifier: MIT */
/* c_sync_test.c: async/sync.h from C11 on one runtime: FIFO hand-off and no
 * barging, whole traces of who got what when, every documented status
 * (deadlock, misuse, timeouts, cancels, destroy while busy, overflow), and
 * the calls made from the driving thread outside fibers. The cross-thread
 * rules are in sync_thread_test.cpp. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "async.h"
#include "support/c_check.h"
#include "support/c_trace.h"

/* --- the trace ---------------------------------------------------------------- */

static void tr(const char *fmt, ...) {
  char item[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(item, sizeof item, fmt, ap);
  va_end(ap);
  trace_add(item);
}

static uint64_t soon(void) { return async_now_ns() + 2000000u; /* 2 ms */ }

/* --- mutex ------------------------------------------------------------------------ */

static async_mutex_t m1, m2;

/* Locks, yields holding it, unlocks, and (the fiber named "A") locks again
 * at once: the first waiter already holds it, so A queues last. */
static void lock_yield_unlock(void *user) {
  const char *name = user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  tr("%s+", name);
  async_yield();
  tr("%s-", name);
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  if (strcmp(name, "A") == 0) {
    CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
    tr("A+");
    tr("A-");
    CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  }
}

static void test_mutex_fifo_no_barging(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_mutex_init(&m1), ASYNC_OK);
  async_spawn(lock_yield_unlock, "A");
  async_spawn(lock_yield_unlock, "B");
  async_spawn(lock_yield_unlock, "C");
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("A+ A- B+ B- C+ C- A+ A-");
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_OK);
}

static void misuse(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_ESTATE); /* not held */
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_EDEADLK);
  CHECK_STATUS(async_mutex_lock_until(&m1, soon()), ASYNC_EDEADLK);
  CHECK_STATUS(async_mutex_try_lock(&m1), ASYNC_EAGAIN);
  tr("held");
  async_yield(); /* other_unlocks runs */
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  tr("released");
}

static void other_unlocks(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_ESTATE); /* held by `misuse` */
  CHECK_STATUS(async_mutex_try_lock(&m1), ASYNC_EAGAIN);
  tr("refused");
}

static void test_mutex_misuse(void) {
  if (seeded_skip(__func__)) return;
  async_mutex_t zeroed;
  memset(&zeroed, 0, sizeof zeroed);
  CHECK_STATUS(async_mutex_init(NULL), ASYNC_EINVAL);
  CHECK_STATUS(async_mutex_lock(NULL), ASYNC_EINVAL);
  CHECK_STATUS(async_mutex_lock(&zeroed), ASYNC_EINVAL);
  CHECK_STATUS(async_mutex_try_lock(&zeroed), ASYNC_EINVAL);
  CHECK_STATUS(async_mutex_unlock(&zeroed), ASYNC_EINVAL);
  CHECK_STATUS(async_mutex_destroy(&zeroed), ASYNC_EINVAL);

  CHECK_STATUS(async_mutex_init(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_init(&m1), ASYNC_ESTATE);
  /* Outside fibers the blocking calls are refused. */
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_ESTATE);
  CHECK_STATUS(async_mutex_lock_until(&m1, soon()), ASYNC_ESTATE);
  async_spawn(misuse, NULL);
  async_spawn(other_unlocks, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("held refused released");

  /* The main thread holds it (try_lock outside fibers); only it may unlock. */
  CHECK_STATUS(async_mutex_try_lock(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_try_lock(&m1), ASYNC_EAGAIN);
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_ESTATE);
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_ESTATE);
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_EINVAL); /* destroyed */
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_EINVAL);
}

/* A fiber waits for a mutex the main thread holds: nothing in the runtime can
 * release it, so run reports a deadlock; once the thread unlocks, the fiber
 * holds it and finishes on the next run. */
static void locks_and_reports(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  tr("fiber+");
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
}

static void test_mutex_held_by_thread(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_mutex_init(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_try_lock(&m1), ASYNC_OK);
  async_spawn(locks_and_reports, NULL);
  CHECK_STATUS(async_run(), ASYNC_EDEADLK);
  tr("thread-");
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_try_lock(&m1), ASYNC_EAGAIN); /* handed to the fiber already */
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("thread- fiber+");
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_OK);
}

/* Two fibers take two mutexes in opposite orders. */
static void lock_two(void *user) {
  const int first = user != NULL;
  async_mutex_t *a = first ? &m1 : &m2, *b = first ? &m2 : &m1;
  CHECK_STATUS(async_mutex_lock(a), ASYNC_OK);
  async_yield();
  const async_status_t st = async_mutex_lock(b);
  tr("%s:%s", first ? "x" : "y", async_status_name(st));
  if (st == ASYNC_OK) CHECK_STATUS(async_mutex_unlock(b), ASYNC_OK);
  CHECK_STATUS(async_mutex_unlock(a), ASYNC_OK);
}

static void test_mutex_lock_order_cycle(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_mutex_init(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_init(&m2), ASYNC_OK);
  async_fiber_handle_t x = async_spawn(lock_two, &m1);
  async_fiber_handle_t y = async_spawn(lock_two, NULL);
  CHECK_STATUS(async_run(), ASYNC_EDEADLK);
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_ESTATE); /* held, and waited on */
  /* Cancelling x ends its wait with ECANCELED and it releases m1: y gets it. */
  CHECK_STATUS(async_cancel(x), ASYNC_OK);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("x:ECANCELED y:OK");
  CHECK_STATUS(async_await(y), ASYNC_OK);
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_destroy(&m2), ASYNC_OK);
}

static void holds_then_yields(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  tr("h+");
  async_sleep_ms(100); /* long after the 2 ms deadline of times_out */
  tr("h-");
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
}

static void times_out(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock_until(&m1, async_now_ns() - 1), ASYNC_ETIMEDOUT); /* past: no wait */
  tr("past");
  CHECK_STATUS(async_mutex_lock_until(&m1, soon()), ASYNC_ETIMEDOUT);
  tr("timeout");
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_ESTATE); /* holds nothing */
}

static void waits_forever(void *user) {
  (void)user;
  const async_status_t st = async_mutex_lock_until(&m1, ASYNC_NO_DEADLINE);
  tr("w:%s", async_status_name(st));
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_ESTATE);
}

static async_fiber_handle_t waiter;

static void cancels_waiter(void *user) {
  (void)user;
  async_yield();
  CHECK_STATUS(async_cancel(waiter), ASYNC_OK);
  tr("cancel");
}

static void test_mutex_timeout_and_cancel(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_mutex_init(&m1), ASYNC_OK);
  async_spawn(holds_then_yields, NULL);
  async_spawn(times_out, NULL);
  waiter = async_spawn(waits_forever, NULL);
  async_spawn(cancels_waiter, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("h+ past cancel w:ECANCELED timeout h-");
  CHECK_STATUS(async_mutex_try_lock(&m1), ASYNC_OK); /* nobody got it meanwhile */
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_OK);
}

/* --- condition variable --------------------------------------------------------- */

static async_cond_t cv;
static int ready;

static void cond_waiter(void *user) {
  const char *name = user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  tr("%s:wait", name);
  while (ready == 0) CHECK_STATUS(async_cond_wait(&cv, &m1), ASYNC_OK);
  --ready;
  tr("%s:woke", name);
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
}

static void cond_signaller(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  ready = 1;
  CHECK_STATUS(async_cond_signal(&cv), ASYNC_OK);
  tr("signal");
  async_yield(); /* the woken waiter queues for the mutex, held here */
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  async_yield();
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  ready = 2;
  CHECK_STATUS(async_cond_broadcast(&cv), ASYNC_OK);
  tr("broadcast");
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
}

static void test_cond_order(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_mutex_init(&m1), ASYNC_OK);
  CHECK_STATUS(async_cond_init(&cv), ASYNC_OK);
  async_spawn(cond_waiter, "w1");
  async_spawn(cond_waiter, "w2");
  async_spawn(cond_waiter, "w3");
  async_spawn(cond_signaller, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("w1:wait w2:wait w3:wait signal w1:woke broadcast w2:woke w3:woke");
  CHECK_STATUS(async_cond_signal(&cv), ASYNC_OK); /* nobody waits: nothing happens */
  CHECK_STATUS(async_cond_destroy(&cv), ASYNC_OK);
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_OK);
}

static void cond_times_out(void *user) {
  (void)user;
  CHECK_STATUS(async_cond_wait(&cv, &m1), ASYNC_ESTATE); /* m1 not held */
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  CHECK_STATUS(async_cond_wait_until(&cv, &m1, async_now_ns() - 1), ASYNC_ETIMEDOUT);
  CHECK_STATUS(async_cond_wait_until(&cv, &m1, soon()), ASYNC_ETIMEDOUT);
  tr("timeout");
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK); /* held again */
}

/* Waits, is cancelled while the canceller holds the mutex: returns ECANCELED
 * only once it holds the mutex again. */
static void cond_cancelled(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  tr("c:wait");
  const async_status_t st = async_cond_wait(&cv, &m1);
  tr("c:%s", async_status_name(st));
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
  CHECK_STATUS(async_cond_wait(&cv, &m1), ASYNC_ESTATE);
}

static void cancels_cond_waiter(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  CHECK_STATUS(async_cancel(waiter), ASYNC_OK);
  tr("cancel");
  async_yield();
  tr("unlock");
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK);
}

static void cond_cancelled_before(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m1), ASYNC_OK);
  async_yield(); /* cancels_waiter cancels it meanwhile */
  CHECK_STATUS(async_cond_wait(&cv, &m1), ASYNC_ECANCELED);
  CHECK_STATUS(async_mutex_unlock(&m1), ASYNC_OK); /* never released */
  tr("before");
}

static void cancels_at_once(void *user) {
  (void)user;
  CHECK_STATUS(async_cancel(waiter), ASYNC_OK);
  tr("cancel");
}

static void test_cond_timeout_and_cancel(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_mutex_init(&m1), ASYNC_OK);
  CHECK_STATUS(async_cond_init(&cv), ASYNC_OK);
  CHECK_STATUS(async_cond_wait(&cv, &m1), ASYNC_ESTATE); /* outside fibers */
  CHECK_STATUS(async_cond_wait(NULL, &m1), ASYNC_EINVAL);
  async_spawn(cond_times_out, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("timeout");

  waiter = async_spawn(cond_cancelled, NULL);
  async_spawn(cancels_cond_waiter, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("c:wait cancel unlock c:ECANCELED");

  waiter = async_spawn(cond_cancelled_before, NULL);
  async_spawn(cancels_at_once, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("cancel before");
  CHECK_STATUS(async_cond_destroy(&cv), ASYNC_OK);
  CHECK_STATUS(async_mutex_destroy(&m1), ASYNC_OK);
}

/* --- semaphore ------------------------------------------------------------------------- */

static async_sem_t sem;

static void sem_user(void *user) {
  const char *name = user;
  CHECK_STATUS(async_sem_acquire(&sem), ASYNC_OK);
  tr("%s+", name);
  async_yield();
  tr("%s-", name);
  CHECK_STATUS(async_sem_release(&sem), ASYNC_OK);
}

static void sem_try(void *user) {
  (void)user;
  CHECK_STATUS(async_sem_try_acquire(&sem), ASYNC_EAGAIN); /* both units taken, waiters */
  CHECK_STATUS(async_sem_acquire_until(&sem, async_now_ns() - 1), ASYNC_ETIMEDOUT);
  tr("try");
}

static void test_sem(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_sem_init(&sem, 2), ASYNC_OK);
  async_spawn(sem_user, "a");
  async_spawn(sem_user, "b");
  async_spawn(sem_user, "c");
  async_spawn(sem_user, "d");
  async_spawn(sem_try, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("a+ b+ try a- b- c+ d+ c- d-");
  CHECK_STATUS(async_sem_acquire(&sem), ASYNC_ESTATE);
  CHECK_STATUS(async_sem_try_acquire(&sem), ASYNC_OK);
  CHECK_STATUS(async_sem_try_acquire(&sem), ASYNC_OK);
  CHECK_STATUS(async_sem_try_acquire(&sem), ASYNC_EAGAIN);
  CHECK_STATUS(async_sem_destroy(&sem), ASYNC_OK);

  /* Overflow: the count stays at UINT_MAX. */
  CHECK_STATUS(async_sem_init(&sem, UINT_MAX), ASYNC_OK);
  CHECK_STATUS(async_sem_release(&sem), ASYNC_EFULL);
  CHECK_STATUS(async_sem_try_acquire(&sem), ASYNC_OK);
  CHECK_STATUS(async_sem_release(&sem), ASYNC_OK);
  CHECK_STATUS(async_sem_release(&sem), ASYNC_EFULL);
  CHECK_STATUS(async_sem_destroy(&sem), ASYNC_OK);
  CHECK_STATUS(async_sem_release(&sem), ASYNC_EINVAL);
}

static void sem_waits(void *user) {
  (void)user;
  CHECK_STATUS(async_sem_acquire(&sem), ASYNC_OK);
  tr("got");
}

static void test_sem_deadlock_then_release_from_thread(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_sem_init(&sem, 0), ASYNC_OK);
  async_spawn(sem_waits, NULL);
  CHECK_STATUS(async_run(), ASYNC_EDEADLK);
  CHECK_STATUS(async_sem_destroy(&sem), ASYNC_ESTATE); /* a fiber waits */
  CHECK_STATUS(async_sem_release(&sem), ASYNC_OK);     /* from the thread */
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("got");
  CHECK_STATUS(async_sem_try_acquire(&sem), ASYNC_EAGAIN); /* the unit went to the fiber */
  CHECK_STATUS(async_sem_destroy(&sem), ASYNC_OK);
}

/* --- wait group ------------------------------------------------------------------------- */

static async_waitgroup_t wg;

static void wg_waiter(void *user) {
  tr("%s:wait", (const char *)user);
  CHECK_STATUS(async_waitgroup_wait(&wg), ASYNC_OK);
  tr("%s:done", (const char *)user);
}

static void wg_worker(void *user) {
  async_yield();
  tr("%s", (const char *)user);
  CHECK_STATUS(async_waitgroup_done(&wg), ASYNC_OK);
}

static void wg_times_out(void *user) {
  (void)user;
  CHECK_STATUS(async_waitgroup_wait_until(&wg, async_now_ns() - 1), ASYNC_ETIMEDOUT);
  tr("t");
}

static void test_waitgroup(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_waitgroup_init(&wg), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_wait(&wg), ASYNC_ESTATE); /* outside fibers */
  CHECK_STATUS(async_waitgroup_add(&wg, 2), ASYNC_OK);
  async_spawn(wg_waiter, "x");
  async_spawn(wg_worker, "k1");
  async_spawn(wg_waiter, "y");
  async_spawn(wg_worker, "k2");
  async_spawn(wg_times_out, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("x:wait y:wait t k1 k2 x:done y:done");

  CHECK_STATUS(async_waitgroup_done(&wg), ASYNC_EINVAL); /* below zero */
  CHECK_STATUS(async_waitgroup_add(&wg, LONG_MIN), ASYNC_EINVAL);
  CHECK_STATUS(async_waitgroup_add(&wg, LONG_MAX), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_add(&wg, 1), ASYNC_EINVAL); /* overflow */
  CHECK_STATUS(async_waitgroup_add(&wg, -LONG_MAX), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_add(&wg, 0), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_destroy(&wg), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_add(&wg, 1), ASYNC_EINVAL);
}

/* --- reader-writer lock --------------------------------------------------------------------- */

static async_rwlock_t rw;

struct rw_step {
  const char *name;
  int writer;
  uint64_t deadline; /* 0: none */
};

static void rw_user(void *user) {
  const struct rw_step *s = user;
  const uint64_t deadline = s->deadline != 0 ? s->deadline : ASYNC_NO_DEADLINE;
  const async_status_t st = s->writer ? async_rwlock_wrlock_until(&rw, deadline) : async_rwlock_rdlock_until(&rw, deadline);
  tr("%s:%s", s->name, async_status_name(st));
  if (st != ASYNC_OK) return;
  async_yield();
  async_yield();
  tr("%s-", s->name);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
}

static void test_rwlock_fair(void) {
  if (seeded_skip(__func__)) return;
  static const struct rw_step r1 = {"r1", 0, 0}, r2 = {"r2", 0, 0}, w1 = {"w1", 1, 0}, r3 = {"r3", 0, 0},
                              w2 = {"w2", 1, 0};
  CHECK_STATUS(async_rwlock_init(&rw), ASYNC_OK);
  async_spawn(rw_user, (void *)&r1);
  async_spawn(rw_user, (void *)&r2);
  async_spawn(rw_user, (void *)&w1);
  async_spawn(rw_user, (void *)&r3); /* behind the waiting writer */
  async_spawn(rw_user, (void *)&w2);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("r1:OK r2:OK r1- r2- w1:OK w1- r3:OK r3- w2:OK w2-");
  CHECK_STATUS(async_rwlock_destroy(&rw), ASYNC_OK);
}

static void rw_writer_times_out(void *user) {
  (void)user;
  CHECK_STATUS(async_rwlock_wrlock_until(&rw, soon()), ASYNC_ETIMEDOUT);
  tr("w:timeout");
}

static void rw_reader_behind(void *user) {
  (void)user;
  CHECK_STATUS(async_rwlock_rdlock(&rw), ASYNC_OK);
  tr("r:in");
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
}

static void rw_misuse(void *user) {
  (void)user;
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_ESTATE);
  CHECK_STATUS(async_rwlock_wrlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_rdlock(&rw), ASYNC_EDEADLK);
  CHECK_STATUS(async_rwlock_wrlock(&rw), ASYNC_EDEADLK);
  CHECK_STATUS(async_rwlock_try_rdlock(&rw), ASYNC_EAGAIN);
  CHECK_STATUS(async_rwlock_try_wrlock(&rw), ASYNC_EAGAIN);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_try_rdlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_try_rdlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_try_wrlock(&rw), ASYNC_EAGAIN);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_ESTATE);
  tr("misuse");
}

static void test_rwlock_timeout_and_misuse(void) {
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(async_rwlock_init(&rw), ASYNC_OK);
  /* The main thread reads; a writer waits and gives up; the reader that
   * queued behind it is admitted when it leaves. */
  CHECK_STATUS(async_rwlock_try_rdlock(&rw), ASYNC_OK);
  async_spawn(rw_writer_times_out, NULL);
  async_spawn(rw_reader_behind, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("r:in w:timeout"); /* admitted as the writer left, before it ran */
  CHECK_STATUS(async_rwlock_destroy(&rw), ASYNC_ESTATE); /* read-held */
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_rdlock(&rw), ASYNC_ESTATE);
  CHECK_STATUS(async_rwlock_wrlock(&rw), ASYNC_ESTATE);
  async_spawn(rw_misuse, NULL);
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("misuse");
  CHECK_STATUS(async_rwlock_try_wrlock(&rw), ASYNC_OK); /* the thread writes */
  CHECK_STATUS(async_rwlock_destroy(&rw), ASYNC_ESTATE);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_destroy(&rw), ASYNC_OK);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_EINVAL);
}

/* --- once -------------------------------------------------------------------------------------- */

static async_once_t once = ASYNC_ONCE_INIT;
static async_once_t once_recursive = ASYNC_ONCE_INIT;
static int once_runs;

static void init_slowly(void *user) {
  (void)user;
  ++once_runs;
  tr("init");
  async_yield(); /* the others park meanwhile */
  async_yield();
  tr("init-done");
}

static void once_caller(void *user) {
  CHECK_STATUS(async_once(&once, init_slowly, NULL), ASYNC_OK);
  tr("%s", (const char *)user);
}

static void recurses(void *user) {
  (void)user;
  CHECK_STATUS(async_once(&once_recursive, recurses, NULL), ASYNC_EDEADLK);
  tr("recursed");
}

static void test_once(void) {
  if (seeded_skip(__func__)) return;
  async_spawn(once_caller, "o1");
  async_spawn(once_caller, "o2");
  async_spawn(once_caller, "o3");
  CHECK_STATUS(async_run(), ASYNC_OK);
  CHECK_TRACE("init init-done o1 o2 o3");
  CHECK(once_runs == 1);
  CHECK_STATUS(async_once(&once, init_slowly, NULL), ASYNC_OK); /* done: from the thread too */
  CHECK(once_runs == 1);
  CHECK_STATUS(async_once(NULL, init_slowly, NULL), ASYNC_EINVAL);
  CHECK_STATUS(async_once(&once, NULL, NULL), ASYNC_EINVAL);
  CHECK_STATUS(async_once(&once_recursive, recurses, NULL), ASYNC_OK); /* from the thread */
  CHECK_TRACE("recursed");
}

int main(void) {
  test_mutex_fifo_no_barging();
  test_mutex_misuse();
  test_mutex_held_by_thread();
  test_mutex_lock_order_cycle();
  test_mutex_timeout_and_cancel();
  test_cond_order();
  test_cond_timeout_and_cancel();
  test_sem();
  test_sem_deadlock_then_release_from_thread();
  test_waitgroup();
  test_rwlock_fair();
  test_rwlock_timeout_and_misuse();
  test_once();
  async_global_shutdown();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  puts("c_sync_test: ok");
  return EXIT_SUCCESS;
}
