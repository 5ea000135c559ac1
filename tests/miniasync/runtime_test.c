/* SPDX-License-Identifier: MIT */
/* runtime_test.c: runtime_wait / runtime_wait_multiple (libminiasync/runtime.h;
 * future properties) and the defects it fixes (docs/miniasync.md, D<n>): pre-completed and
 * duplicated futures (D3), NULL property functions (D4), the caller's array
 * left alone (D5), a real park with no lost wake (D2), late wakers. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "mini_test.h"
#include "test_futures.h"

/* Properties: async futures first, stable, re-evaluated each pass. */
static void async_futures_are_polled_first(void)
{
  struct runtime *r = runtime_new();
  struct completion_log log = {{0}, 0};
  struct countdown_future f2 = countdown(20, 2, 0, &log);
  struct countdown_future f1 = countdown(20, 1, 1, &log);
  struct countdown_future f3 = countdown(20, 3, 0, &log);
  struct future *futs[] = {FUTURE_AS_RUNNABLE(&f2), FUTURE_AS_RUNNABLE(&f1), FUTURE_AS_RUNNABLE(&f3)};
  runtime_wait_multiple(r, futs, 3);
  CHECK_EQ(log.n, 3);
  CHECK_EQ(log.ids[0], 1);
  CHECK_EQ(log.ids[1], 2);
  CHECK_EQ(log.ids[2], 3);
  /* D5: the caller's array is not reordered. */
  CHECK(futs[0] == FUTURE_AS_RUNNABLE(&f2) && futs[1] == FUTURE_AS_RUNNABLE(&f1) &&
        futs[2] == FUTURE_AS_RUNNABLE(&f3));
  runtime_delete(r);
}

struct pair_data {
  FUTURE_CHAIN_ENTRY(struct countdown_future, first);
  FUTURE_CHAIN_ENTRY(struct countdown_future, second);
};
struct pair_output {
  int unused;
};
FUTURE(pair_future, struct pair_data, struct pair_output);

static struct pair_future pair(int id1, int async1, int id2, int async2, struct completion_log *log)
{
  struct pair_future p;
  FUTURE_CHAIN_ENTRY_INIT(&p.data.first, countdown(20, id1, async1, log), NULL, NULL);
  FUTURE_CHAIN_ENTRY_INIT(&p.data.second, countdown(20, id2, async2, log), NULL, NULL);
  FUTURE_CHAIN_INIT(&p);
  return p;
}

static void chains_are_ordered_by_their_first_unprocessed_entry(void)
{
  struct runtime *r = runtime_new();
  struct completion_log log = {{0}, 0};
  struct pair_future a = pair(3, 0, 4, 1, &log);
  struct pair_future b = pair(5, 1, 6, 0, &log);
  struct pair_future c = pair(7, 0, 8, 1, &log);
  struct future *futs[] = {FUTURE_AS_RUNNABLE(&a), FUTURE_AS_RUNNABLE(&b), FUTURE_AS_RUNNABLE(&c)};
  runtime_wait_multiple(r, futs, 3);
  int want[] = {5, 3, 7, 4, 8, 6};
  CHECK_EQ(log.n, 6);
  for (int i = 0; i < 6; ++i) CHECK_EQ(log.ids[i], want[i]);
  runtime_delete(r);
}

struct single_data {
  FUTURE_CHAIN_ENTRY(struct countdown_future, only);
};
struct single_output {
  int unused;
};
FUTURE(single_future, struct single_data, struct single_output);

static void a_chain_of_one_sync_entry_is_not_async(void)
{
  struct runtime *r = runtime_new();
  struct completion_log log = {{0}, 0};
  struct single_future s;
  FUTURE_CHAIN_ENTRY_INIT(&s.data.only, countdown(20, 9, 0, &log), NULL, NULL);
  FUTURE_CHAIN_INIT(&s);
  struct countdown_future f10 = countdown(20, 10, 1, &log);
  struct countdown_future f11 = countdown(20, 11, 0, &log);
  struct future *futs[] = {FUTURE_AS_RUNNABLE(&s), FUTURE_AS_RUNNABLE(&f10), FUTURE_AS_RUNNABLE(&f11)};
  runtime_wait_multiple(r, futs, 3);
  CHECK_EQ(log.n, 3);
  CHECK_EQ(log.ids[0], 10);
  CHECK_EQ(log.ids[1], 9);
  CHECK_EQ(log.ids[2], 11);
  runtime_delete(r);
}

/* D3 and D4: miniasync never returned for these (or crashed in the sort). */
static void completed_and_duplicated_futures_return_at_once(void)
{
  struct runtime *r = runtime_new();
  struct countdown_future done;
  FUTURE_INIT_COMPLETE(&done);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&done));
  struct countdown_future f = countdown(3, 1, 0, NULL);
  struct future *futs[] = {FUTURE_AS_RUNNABLE(&done), FUTURE_AS_RUNNABLE(&f), FUTURE_AS_RUNNABLE(&f),
                           FUTURE_AS_RUNNABLE(&done)};
  runtime_wait_multiple(r, futs, 4);
  CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_COMPLETE);
  CHECK_EQ(f.data.polls_seen, 3);
  runtime_wait_multiple(r, futs, 4); /* all complete already */
  runtime_wait_multiple(r, futs, 0);
  runtime_delete(r);
}

static void many_futures_beyond_the_stack_buffer(void)
{
  struct runtime *r = runtime_new();
  enum { N = 300 };
  static struct countdown_future fs[N];
  static struct future *futs[N];
  for (int i = 0; i < N; ++i) {
    fs[i] = countdown(1 + i % 7, i, i % 2, NULL);
    futs[i] = FUTURE_AS_RUNNABLE(&fs[i]);
  }
  runtime_wait_multiple(r, futs, N);
  for (int i = 0; i < N; ++i) {
    CHECK_EQ(FUTURE_STATE(&fs[i]), FUTURE_STATE_COMPLETE);
    CHECK(futs[i] == FUTURE_AS_RUNNABLE(&fs[i]));
  }
  runtime_delete(r);
}

/* An external future: complete once `done` is set by another thread, which
 * then calls the waker it was given (publish, then wake). */
struct external {
  atomic_int done;
  atomic_int registered;
  pthread_mutex_t m;
  struct future_waker waker;
};
struct ext_data {
  struct external *ext;
};
struct ext_output {
  int unused;
};
FUTURE(ext_future, struct ext_data, struct ext_output);

static enum future_state ext_task(struct future_context *ctx, struct future_notifier *n)
{
  struct external *e = ((struct ext_data *)future_context_get_data(ctx))->ext;
  if (atomic_load(&e->done)) return FUTURE_STATE_COMPLETE;
  if (n) {
    n->notifier_used = FUTURE_NOTIFIER_WAKER;
    pthread_mutex_lock(&e->m);
    e->waker = n->waker;
    pthread_mutex_unlock(&e->m);
    atomic_store(&e->registered, 1);
  }
  if (atomic_load(&e->done)) return FUTURE_STATE_COMPLETE;
  return FUTURE_STATE_RUNNING;
}

static struct ext_future ext_future(struct external *e)
{
  struct ext_future f;
  f.data.ext = e;
  FUTURE_INIT(&f, ext_task);
  return f;
}

struct completer {
  struct external *ext;
  uint64_t delay_ns;
  uint64_t completed_at;
};

static void *complete_later(void *arg)
{
  struct completer *c = (struct completer *)arg;
  while (!atomic_load(&c->ext->registered)) sched_yield();
  if (c->delay_ns) {
    struct timespec ts = {(time_t)(c->delay_ns / 1000000000u), (long)(c->delay_ns % 1000000000u)};
    nanosleep(&ts, NULL);
  }
  c->completed_at = mt_now_ns();
  atomic_store(&c->ext->done, 1);
  pthread_mutex_lock(&c->ext->m);
  struct future_waker w = c->ext->waker;
  pthread_mutex_unlock(&c->ext->m);
  FUTURE_WAKER_WAKE(&w);
  return NULL;
}

static void external_init(struct external *e)
{
  atomic_init(&e->done, 0);
  atomic_init(&e->registered, 0);
  pthread_mutex_init(&e->m, NULL);
}

/* D2/D6: the waiting thread sleeps (it burns no CPU for 50 ms) and returns
 * promptly when the waker fires. */
static void wait_parks_and_returns_when_the_waker_fires(void)
{
  struct runtime *r = runtime_new();
  struct external e;
  external_init(&e);
  struct ext_future f = ext_future(&e);
  struct completer c = {&e, 50 * 1000000u, 0};
  pthread_t t;
  pthread_create(&t, NULL, complete_later, &c);
  uint64_t cpu0 = mt_thread_cpu_ns();
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  uint64_t back = mt_now_ns();
  uint64_t cpu = mt_thread_cpu_ns() - cpu0;
  pthread_join(t, NULL);
  printf("  woke %.1f us after the waker; %.2f ms CPU while waiting 50 ms\n",
         (double)(back - c.completed_at) / 1e3, (double)cpu / 1e6);
  CHECK(back - c.completed_at < 60u * 1000000u); /* a lost wake: the 100 ms safety timeout */
  CHECK(cpu < 25u * 1000000u);
  pthread_mutex_destroy(&e.m);
  runtime_delete(r);
}

/* D2: no lost wakes. Each round completes at a random moment relative to
 * the runtime's spin and sleep; a lost wake would cost the 100 ms safety
 * timeout (miniasync: 1 ms each). */
static void no_wake_is_lost(void)
{
  struct runtime *r = runtime_new();
  uint64_t worst = 0, start = mt_now_ns();
  unsigned seed = 12345;
  for (int i = 0; i < 400; ++i) {
    struct external e;
    external_init(&e);
    struct ext_future f = ext_future(&e);
    seed = seed * 1103515245u + 12345u;
    struct completer c = {&e, (seed >> 8) % 200000u, 0};
    pthread_t t;
    pthread_create(&t, NULL, complete_later, &c);
    runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
    uint64_t lat = mt_now_ns() - c.completed_at;
    pthread_join(t, NULL);
    pthread_mutex_destroy(&e.m);
    if (lat > worst) worst = lat;
  }
  printf("  400 rounds in %.1f ms, worst wake-up %.1f us\n", (double)(mt_now_ns() - start) / 1e6,
         (double)worst / 1e3);
  CHECK(worst < 50u * 1000000u);
  runtime_delete(r);
}

/* A waker called after its runtime was deleted touches only memory that
 * stays valid (wait objects are recycled, never freed). */
static void a_late_waker_after_runtime_delete_is_harmless(void)
{
  struct runtime *r = runtime_new();
  struct external e;
  external_init(&e);
  struct ext_future f = ext_future(&e);
  struct completer c = {&e, 1000000u, 0};
  pthread_t t;
  pthread_create(&t, NULL, complete_later, &c);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  pthread_join(t, NULL);
  runtime_delete(r);
  FUTURE_WAKER_WAKE(&e.waker); /* late and duplicated */
  FUTURE_WAKER_WAKE(&e.waker);
  struct runtime *r2 = runtime_new(); /* may reuse the wait object: a spurious wake at most */
  struct countdown_future g = countdown(2, 1, 0, NULL);
  runtime_wait(r2, FUTURE_AS_RUNNABLE(&g));
  runtime_delete(r2);
  pthread_mutex_destroy(&e.m);
}

struct waiter_arg {
  struct runtime *r;
  struct external *e;
};
static void *wait_on_shared(void *arg)
{
  struct waiter_arg *w = (struct waiter_arg *)arg;
  struct ext_future f = ext_future(w->e);
  runtime_wait(w->r, FUTURE_AS_RUNNABLE(&f));
  return NULL;
}

/* Two threads waiting on one runtime each get their wake (miniasync's
 * shared condvar could wake the wrong one). */
static void two_threads_wait_on_one_runtime(void)
{
  struct runtime *r = runtime_new();
  struct external e1, e2;
  external_init(&e1);
  external_init(&e2);
  struct waiter_arg a1 = {r, &e1}, a2 = {r, &e2};
  pthread_t w1, w2, c1, c2;
  pthread_create(&w1, NULL, wait_on_shared, &a1);
  pthread_create(&w2, NULL, wait_on_shared, &a2);
  struct completer k1 = {&e1, 20000000u, 0}, k2 = {&e2, 40000000u, 0};
  uint64_t t0 = mt_now_ns();
  pthread_create(&c1, NULL, complete_later, &k1);
  pthread_create(&c2, NULL, complete_later, &k2);
  pthread_join(w1, NULL);
  pthread_join(w2, NULL);
  pthread_join(c1, NULL);
  pthread_join(c2, NULL);
  CHECK(mt_now_ns() - t0 < 130u * 1000000u); /* a lost wake: 40 + 100 ms */
  pthread_mutex_destroy(&e1.m);
  pthread_mutex_destroy(&e2.m);
  runtime_delete(r);
}

int main(void)
{
  RUN(async_futures_are_polled_first);
  RUN(chains_are_ordered_by_their_first_unprocessed_entry);
  RUN(a_chain_of_one_sync_entry_is_not_async);
  RUN(completed_and_duplicated_futures_return_at_once);
  RUN(many_futures_beyond_the_stack_buffer);
  RUN(wait_parks_and_returns_when_the_waker_fires);
  RUN(no_wake_is_lost);
  RUN(a_late_waker_after_runtime_delete_is_harmless);
  RUN(two_threads_wait_on_one_runtime);
  return 0;
}
