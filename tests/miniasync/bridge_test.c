/* SPDX-License-Identifier: MIT */
/* bridge_test.c: miniasync futures awaited from fibers (async/miniasync.h):
 * the thread runs other fibers while one waits for a mover, many fibers
 * share a threads mover, NONE-futures are re-polled, misuse statuses,
 * cancellation, and late or duplicated wakes. Runs under TSan in CI. */
#define _GNU_SOURCE
#include <async/miniasync.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "mini_test.h"
#include "test_futures.h"

static struct vdm *threads_vdm;

/* ------------------------------------------------ other fibers keep running */
static atomic_int copy_done;
static int ticks_while_waiting;

static void copier(void *user)
{
  (void)user;
  size_t n = 16u << 20;
  char *src = malloc(n), *dst = malloc(n);
  memset(src, 0x3c, n);
  CHECK_EQ(async_vdm_memcpy(threads_vdm, dst, src, n, 0), ASYNC_OK);
  CHECK(memcmp(src, dst, n) == 0);
  atomic_store(&copy_done, 1);
  free(src);
  free(dst);
}
static void ticker(void *user)
{
  (void)user;
  while (!atomic_load(&copy_done)) {
    ++ticks_while_waiting;
    async_yield();
  }
}

static void other_fibers_run_while_one_awaits_a_copy(void)
{
  atomic_store(&copy_done, 0);
  ticks_while_waiting = 0;
  async_spawn(copier, NULL);
  async_spawn(ticker, NULL);
  CHECK_EQ(async_run(), 0);
  printf("  the other fiber ran %d times during a 16 MiB copy\n", ticks_while_waiting);
  CHECK(ticks_while_waiting > 1);
}

/* ------------------------------------------------------------ many fibers */
enum { FIBERS = 64 };
static char srcs[FIBERS][8192], dsts[FIBERS][8192];
static int finished;

static void worker(void *user)
{
  int i = (int)(intptr_t)user;
  for (int round = 0; round < 20; ++round) {
    memset(srcs[i], (i + round) & 0xff, sizeof srcs[i]);
    CHECK_EQ(async_vdm_memcpy(threads_vdm, dsts[i], srcs[i], sizeof srcs[i], 0), ASYNC_OK);
    CHECK(memcmp(srcs[i], dsts[i], sizeof srcs[i]) == 0);
    CHECK_EQ(async_vdm_memset(threads_vdm, dsts[i], 0, 100, 0), ASYNC_OK);
    CHECK_EQ(dsts[i][99], 0);
    CHECK_EQ(async_vdm_memmove(threads_vdm, dsts[i] + 1, dsts[i], 200, 0), ASYNC_OK);
    CHECK_EQ(async_vdm_flush(threads_vdm, dsts[i], 200, 0), ASYNC_OK);
  }
  ++finished;
}

static void many_fibers_share_one_threads_mover(void)
{
  finished = 0;
  for (int i = 0; i < FIBERS; ++i) CHECK_EQ(async_spawn(worker, (void *)(intptr_t)i).status, ASYNC_OK);
  CHECK_EQ(async_run(), 0);
  CHECK_EQ(finished, FIBERS);
}

/* ----------------------------------------------- futures that want polling */
static void await_countdown(void *user)
{
  (void)user;
  struct countdown_future f = countdown(300, 1, 0, NULL);
  CHECK_EQ(async_await_future(FUTURE_AS_RUNNABLE(&f)), ASYNC_OK);
  CHECK_EQ(f.data.polls_seen, 300);
  struct countdown_future done;
  FUTURE_INIT_COMPLETE(&done);
  CHECK_EQ(async_await_future(FUTURE_AS_RUNNABLE(&done)), ASYNC_OK);
  CHECK_EQ(async_await_future(NULL), ASYNC_EINVAL);
  CHECK_EQ(async_vdm_memcpy(NULL, NULL, NULL, 0, 0), ASYNC_EINVAL);
}

static void none_futures_are_repolled_and_misuse_is_refused(void)
{
  async_spawn(await_countdown, NULL);
  CHECK_EQ(async_run(), 0);
  struct countdown_future f = countdown(1, 1, 0, NULL);
  CHECK_EQ(async_await_future(FUTURE_AS_RUNNABLE(&f)), ASYNC_ESTATE); /* not in a fiber */
  CHECK_EQ(async_vdm_memcpy(threads_vdm, NULL, NULL, 0, 0), ASYNC_ESTATE);
}

/* ----------------------------------------------------------- cancellation */
static atomic_int gate;
static void *gated_memcpy(void *d, const void *s, size_t n, unsigned flags)
{
  (void)flags;
  while (!atomic_load(&gate)) usleep(200);
  return memcpy(d, s, n);
}

static struct vdm_operation_future pending;
static char csrc[64] = "cancelled but finished", cdst[64];
static async_status_t cancel_status, convenience_status;

static void awaits_forever(void *user)
{
  struct vdm *vdm = (struct vdm *)user;
  pending = vdm_memcpy(vdm, cdst, csrc, sizeof csrc, 0);
  cancel_status = async_await_future(FUTURE_AS_RUNNABLE(&pending));
  /* Cancelled from now on: the convenience call does nothing. */
  convenience_status = async_vdm_memcpy(vdm, cdst, csrc, sizeof csrc, 0);
}
static void canceller(void *user)
{
  async_fiber_handle_t *h = (async_fiber_handle_t *)user;
  async_sleep_ms(5);
  CHECK_EQ(async_cancel(*h), ASYNC_OK);
}

static void cancelling_the_awaiting_fiber(void)
{
  struct data_mover_threads *dmt = data_mover_threads_new(1, 8, FUTURE_NOTIFIER_WAKER);
  data_mover_threads_set_memcpy_fn(dmt, gated_memcpy);
  atomic_store(&gate, 0);
  async_fiber_handle_t h = async_spawn(awaits_forever, data_mover_threads_get_vdm(dmt));
  async_spawn(canceller, &h);
  CHECK_EQ(async_run(), 0);
  CHECK_EQ(cancel_status, ASYNC_ECANCELED);
  CHECK_EQ(convenience_status, ASYNC_ECANCELED);
  CHECK(FUTURE_STATE(&pending) != FUTURE_STATE_COMPLETE); /* still in flight */
  atomic_store(&gate, 1);
  FUTURE_BUSY_POLL(&pending); /* the caller finishes it; the old waker unparks nobody */
  CHECK_EQ(pending.output.result, VDM_SUCCESS);
  CHECK(strcmp(cdst, csrc) == 0);
  data_mover_threads_delete(dmt);
}

/* ------------------------------------------------- late and duplicate wakes */
struct noisy {
  atomic_int done;
  atomic_int registered;
  struct future_waker waker;
};
struct noisy_data {
  struct noisy *s;
};
struct noisy_output {
  int unused;
};
FUTURE(noisy_future, struct noisy_data, struct noisy_output);

static enum future_state noisy_task(struct future_context *ctx, struct future_notifier *n)
{
  struct noisy *s = ((struct noisy_data *)future_context_get_data(ctx))->s;
  if (atomic_load(&s->done)) return FUTURE_STATE_COMPLETE;
  if (n && !atomic_load(&s->registered)) {
    n->notifier_used = FUTURE_NOTIFIER_WAKER;
    s->waker = n->waker;
    atomic_store(&s->registered, 1);
  } else if (n) {
    n->notifier_used = FUTURE_NOTIFIER_WAKER;
  }
  return FUTURE_STATE_RUNNING;
}

static void *noisy_completer(void *arg)
{
  struct noisy *s = (struct noisy *)arg;
  while (!atomic_load(&s->registered)) sched_yield();
  FUTURE_WAKER_WAKE(&s->waker); /* early: nothing done yet */
  usleep(1000);
  atomic_store(&s->done, 1);
  FUTURE_WAKER_WAKE(&s->waker);
  FUTURE_WAKER_WAKE(&s->waker); /* duplicate */
  usleep(20000);
  FUTURE_WAKER_WAKE(&s->waker); /* late: the await is over */
  return NULL;
}

static int after_late_wake;
static void noisy_awaiter(void *user)
{
  struct noisy *s = (struct noisy *)user;
  struct noisy_future f;
  f.data.s = s;
  FUTURE_INIT(&f, noisy_task);
  CHECK_EQ(async_await_future(FUTURE_AS_RUNNABLE(&f)), ASYNC_OK);
  CHECK(atomic_load(&s->done));
  /* Later awaits work while the late wake arrives (at most a spurious park return). */
  struct countdown_future c = countdown(3, 1, 0, NULL);
  for (int i = 0; i < 30; ++i) {
    c = countdown(3, 1, 0, NULL);
    CHECK_EQ(async_await_future(FUTURE_AS_RUNNABLE(&c)), ASYNC_OK);
    async_sleep_ms(1);
  }
  after_late_wake = 1;
}

static void late_and_duplicate_wakes_are_harmless(void)
{
  struct noisy s;
  atomic_init(&s.done, 0);
  atomic_init(&s.registered, 0);
  pthread_t t;
  pthread_create(&t, NULL, noisy_completer, &s);
  async_spawn(noisy_awaiter, &s);
  CHECK_EQ(async_run(), 0);
  pthread_join(t, NULL);
  CHECK(after_late_wake);
}

int main(void)
{
  /* Every operation goes to the workers (small ones with the default
   * functions would complete at start, without the waker this exercises). */
  setenv("MINIASYNC_THREADS_INLINE_MAX", "0", 1);
  struct data_mover_threads *dmt = data_mover_threads_default();
  threads_vdm = data_mover_threads_get_vdm(dmt);
  RUN(other_fibers_run_while_one_awaits_a_copy);
  RUN(many_fibers_share_one_threads_mover);
  RUN(none_futures_are_repolled_and_misuse_is_refused);
  RUN(cancelling_the_awaiting_fiber);
  RUN(late_and_duplicate_wakes_are_harmless);
  data_mover_threads_delete(dmt);
  async_global_shutdown();
  return 0;
}
