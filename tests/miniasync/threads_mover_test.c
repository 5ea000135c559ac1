/* SPDX-License-Identifier: MIT */
/* threads_mover_test.c: the threads mover (libminiasync/data_mover_threads.h:
 * memcpy_threads, memmove_threads, memset_threads, vdm_operation_future_poll)
 * and the fixes (docs/miniasync.md) for D2 (publish before wake), D7 (shutdown), D8 (parameters),
 * D9 (FLUSH), D10 (full queue), D12 (replacement functions), #107 (create on
 * one thread, poll on another). Runs under TSan in CI. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "mini_test.h"

static unsigned rnd(unsigned *seed)
{
  *seed = *seed * 1103515245u + 12345u;
  return *seed >> 8;
}

static void memcpy_batches_of_100(void)
{
  struct data_mover_threads *dmt = data_mover_threads_default();
  CHECK(dmt != NULL);
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  struct runtime *r = runtime_new();
  enum { N = 100 };
  static struct vdm_operation_future fs[N];
  struct future *futs[N];
  static char *src[N], *dst[N];
  size_t sizes[] = {10, 1024, 128, 7, 1024, 0};
  unsigned seed = 7;
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < N; ++i) {
      size_t n = sizes[round] ? sizes[round] : 1 + rnd(&seed) % (1u << 20);
      src[i] = malloc(n);
      dst[i] = calloc(1, n);
      for (size_t k = 0; k < n; k += 97) src[i][k] = (char)(i + k);
      src[i][n - 1] = (char)round;
      fs[i] = vdm_memcpy(vdm, dst[i], src[i], n, 0);
      futs[i] = FUTURE_AS_RUNNABLE(&fs[i]);
      CHECK_EQ(future_has_property(futs[i], FUTURE_PROPERTY_ASYNC), 1);
    }
    runtime_wait_multiple(r, futs, N);
    for (int i = 0; i < N; ++i) {
      size_t n = fs[i].data.operation.data.memcpy.n;
      CHECK_EQ(fs[i].output.result, VDM_SUCCESS);
      CHECK(fs[i].output.output.memcpy.dest == dst[i]);
      CHECK(memcmp(dst[i], src[i], n) == 0);
      free(src[i]);
      free(dst[i]);
    }
  }
  CHECK_EQ(vdm_is_supported(vdm, VDM_F_MEM_DURABLE), 0);
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}

static void memmove_and_memset_in_halves(void)
{
  struct data_mover_threads *dmt = data_mover_threads_default();
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  struct runtime *r = runtime_new();
  size_t n = 8u << 20;
  char *a = malloc(n), *b = malloc(n);
  struct vdm_operation_future f[4];
  f[0] = vdm_memset(vdm, a, 'x', n / 2, 0);
  f[1] = vdm_memset(vdm, a + n / 2, 'y', n / 2, 0);
  f[2] = vdm_memset(vdm, b, 'z', n, 0);
  struct future *futs[] = {FUTURE_AS_RUNNABLE(&f[0]), FUTURE_AS_RUNNABLE(&f[1]), FUTURE_AS_RUNNABLE(&f[2])};
  runtime_wait_multiple(r, futs, 3);
  CHECK(a[0] == 'x' && a[n / 2 - 1] == 'x' && a[n / 2] == 'y' && a[n - 1] == 'y' && b[n - 1] == 'z');
  /* Overlapping memmove: shift the buffer by a quarter. */
  f[3] = vdm_memmove(vdm, a + n / 4, a, n / 2, 0);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f[3]));
  CHECK(a[n / 4] == 'x' && a[n / 4 + n / 2 - 1] == 'x' && a[n / 4 + n / 2] == 'y');
  CHECK_EQ(f[3].output.type, VDM_OPERATION_MEMMOVE);
  free(a);
  free(b);
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}

/* The vdm_operation_future_poll test: busy polling (NULL notifier) works. */
static void busy_polling_works(void)
{
  struct data_mover_threads *dmt = data_mover_threads_default();
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  char src[512], dst[512];
  memset(src, 7, sizeof src);
  struct vdm_operation_future f = vdm_memcpy(vdm, dst, src, sizeof src, 0);
  FUTURE_BUSY_POLL(&f);
  CHECK(memcmp(src, dst, sizeof src) == 0);
  data_mover_threads_delete(dmt);
}

/* D8: miniasync accepted 0 threads and 0 entries and then hung. */
static void parameters_are_validated(void)
{
  CHECK(data_mover_threads_new(0, 128, FUTURE_NOTIFIER_WAKER) == NULL);
  CHECK(data_mover_threads_new(1, 0, FUTURE_NOTIFIER_WAKER) == NULL);
  CHECK(data_mover_threads_new(1, 16, (enum future_notifier_type)7) == NULL);
  struct data_mover_threads *dmt = data_mover_threads_new(2, 3, FUTURE_NOTIFIER_WAKER); /* rounded to 4 */
  CHECK(dmt != NULL);
  char src[64] = "three", dst[64];
  struct vdm_operation_future f = vdm_memcpy(data_mover_threads_get_vdm(dmt), dst, src, 64, 0);
  struct runtime *r = runtime_new();
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  CHECK(strcmp(dst, "three") == 0);
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}

/* D10: with a one-entry queue and many futures in flight, miniasync's
 * starts failed silently and each retry slept 1 ms; ours overflow into a
 * list and the batch completes at the speed of the copies. */
static void a_full_queue_overflows_instead_of_stalling(void)
{
  struct data_mover_threads *dmt = data_mover_threads_new(1, 1, FUTURE_NOTIFIER_WAKER);
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  struct runtime *r = runtime_new();
  enum { N = 500 };
  static struct vdm_operation_future fs[N];
  struct future *futs[N];
  static char src[N][64], dst[N][64];
  for (int i = 0; i < N; ++i) {
    memset(src[i], i & 0x7f, 64);
    fs[i] = vdm_memcpy(vdm, dst[i], src[i], 64, 0);
    futs[i] = FUTURE_AS_RUNNABLE(&fs[i]);
  }
  uint64_t t0 = mt_now_ns();
  runtime_wait_multiple(r, futs, N);
  uint64_t dt = mt_now_ns() - t0;
  printf("  %d copies through a 1-entry queue in %.2f ms\n", N, (double)dt / 1e6);
  for (int i = 0; i < N; ++i) CHECK(memcmp(src[i], dst[i], 64) == 0);
  CHECK(dt < 250u * 1000000u); /* miniasync: >= N ms */
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}

/* D2: the result is published before the waker is called. The waker looks
 * at the future's state from the worker thread (it sleeps there a little
 * too): in miniasync's order the main thread would poll in that window and
 * find the copy unfinished. */
struct probe {
  atomic_int fired;
};
static void probe_wake(void *data)
{
  struct probe *p = (struct probe *)data;
  atomic_store(&p->fired, 1);
  usleep(2000); /* hold the worker between the wake and whatever follows it */
}

static void the_waker_runs_after_the_result_is_published(void)
{
  struct data_mover_threads *dmt = data_mover_threads_default();
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  for (int i = 0; i < 20; ++i) {
    char src[256], dst[256];
    memset(src, i, sizeof src);
    struct probe p;
    atomic_init(&p.fired, 0);
    struct future_notifier n;
    memset(&n, 0, sizeof n);
    n.waker.data = &p;
    n.waker.wake = probe_wake;
    struct vdm_operation_future f = vdm_memcpy(vdm, dst, src, sizeof src, 0);
    enum future_state s = future_poll(FUTURE_AS_RUNNABLE(&f), &n);
    CHECK_EQ(n.notifier_used, FUTURE_NOTIFIER_WAKER);
    if (s == FUTURE_STATE_COMPLETE) continue;
    while (!atomic_load(&p.fired)) sched_yield();
    /* Woken: the very next poll must find the copy complete. */
    CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), &n), FUTURE_STATE_COMPLETE);
    CHECK(memcmp(src, dst, sizeof src) == 0);
  }
  data_mover_threads_delete(dmt);
}

static void the_poller_notifier_points_at_the_completion_word(void)
{
  struct data_mover_threads *dmt = data_mover_threads_new(1, 8, FUTURE_NOTIFIER_POLLER);
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  char src[4096], dst[4096];
  memset(src, 3, sizeof src);
  struct future_notifier n;
  memset(&n, 0, sizeof n);
  struct vdm_operation_future f = vdm_memcpy(vdm, dst, src, sizeof src, 0);
  if (future_poll(FUTURE_AS_RUNNABLE(&f), &n) != FUTURE_STATE_COMPLETE) {
    CHECK_EQ(n.notifier_used, FUTURE_NOTIFIER_POLLER);
    CHECK(n.poller.ptr_to_monitor != NULL);
    while (__atomic_load_n(n.poller.ptr_to_monitor, __ATOMIC_ACQUIRE) == 0) sched_yield();
    CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), &n), FUTURE_STATE_COMPLETE);
  }
  CHECK(memcmp(src, dst, sizeof src) == 0);
  data_mover_threads_delete(dmt);
}

/* D9: FLUSH completes (miniasync called exit(1) from the worker). */
static void flush_completes(void)
{
  struct data_mover_threads *dmt = data_mover_threads_default();
  char buf[50] = "durable";
  struct vdm_operation_future f = vdm_flush(data_mover_threads_get_vdm(dmt), buf, sizeof buf, 0);
  struct runtime *r = runtime_new();
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  CHECK_EQ(f.output.result, VDM_SUCCESS);
  CHECK_EQ(f.output.type, VDM_OPERATION_FLUSH);
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}

/* D12: replacement functions get the flags; NULL restores libc; a NULL
 * return reports an error instead of being ignored. */
static atomic_uint seen_flags;
static void *my_memcpy(void *d, const void *s, size_t n, unsigned flags)
{
  atomic_store(&seen_flags, flags);
  return memcpy(d, s, n);
}
static void *failing_memset(void *d, int c, size_t n, unsigned flags)
{
  (void)d, (void)c, (void)n, (void)flags;
  return NULL;
}

static void replacement_functions(void)
{
  struct data_mover_threads *dmt = data_mover_threads_new(2, 16, FUTURE_NOTIFIER_WAKER);
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  struct runtime *r = runtime_new();
  data_mover_threads_set_memcpy_fn(dmt, my_memcpy);
  data_mover_threads_set_memset_fn(dmt, failing_memset);
  char a[32] = "flags", b[32];
  struct vdm_operation_future f = vdm_memcpy(vdm, b, a, sizeof a, VDM_F_NO_CACHE_HINT);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  CHECK_EQ(atomic_load(&seen_flags), VDM_F_NO_CACHE_HINT);
  CHECK(strcmp(b, "flags") == 0);
  f = vdm_memset(vdm, b, 0, sizeof b, 0);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  CHECK_EQ(f.output.result, VDM_ERROR_JOB_CORRUPTED);
  data_mover_threads_set_memset_fn(dmt, NULL);
  data_mover_threads_set_memcpy_fn(dmt, NULL);
  f = vdm_memset(vdm, b, 0, sizeof b, 0);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  CHECK_EQ(f.output.result, VDM_SUCCESS);
  CHECK_EQ(b[0], 0);
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}

/* #107: created on a thread that exits, completed on another. */
struct maker {
  struct vdm *vdm;
  struct vdm_operation_future f;
  char src[128], dst[128];
};
static void *make_future(void *arg)
{
  struct maker *m = (struct maker *)arg;
  memset(m->src, 9, sizeof m->src);
  m->f = vdm_memcpy(m->vdm, m->dst, m->src, sizeof m->src, 0);
  return NULL;
}

static void futures_cross_threads(void)
{
  struct data_mover_threads *dmt = data_mover_threads_default();
  static struct maker m[8];
  struct runtime *r = runtime_new();
  for (int i = 0; i < 8; ++i) {
    m[i].vdm = data_mover_threads_get_vdm(dmt);
    pthread_t t;
    pthread_create(&t, NULL, make_future, &m[i]);
    pthread_join(t, NULL);
  }
  for (int i = 0; i < 8; ++i) {
    runtime_wait(r, FUTURE_AS_RUNNABLE(&m[i].f));
    CHECK(memcmp(m[i].src, m[i].dst, sizeof m[i].src) == 0);
  }
  runtime_delete(r);
  data_mover_threads_delete(dmt);
}

/* D7: delete with queued and never-started futures: they complete with an
 * error when polled, without touching freed memory; delete returns with
 * more than 1024 workers. */
static atomic_int gate;
static void *slow_memcpy(void *d, const void *s, size_t n, unsigned flags)
{
  (void)flags;
  while (!atomic_load(&gate)) usleep(100);
  return memcpy(d, s, n);
}

static void delete_with_pending_futures_is_clean(void)
{
  struct data_mover_threads *dmt = data_mover_threads_new(1, 4, FUTURE_NOTIFIER_WAKER);
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  data_mover_threads_set_memcpy_fn(dmt, slow_memcpy);
  atomic_store(&gate, 0);
  char src[16] = "x", dst[6][16];
  struct vdm_operation_future f[6];
  for (int i = 0; i < 6; ++i) f[i] = vdm_memcpy(vdm, dst[i], src, sizeof src, 0);
  for (int i = 0; i < 5; ++i) future_poll(FUTURE_AS_RUNNABLE(&f[i]), NULL); /* started; f[5] is not */
  usleep(2000);
  atomic_store(&gate, 1); /* the running copy may finish; the queued ones are failed */
  data_mover_threads_delete(dmt);
  for (int i = 0; i < 6; ++i) {
    FUTURE_BUSY_POLL(&f[i]);
    CHECK(f[i].output.result == VDM_SUCCESS || f[i].output.result == VDM_ERROR_JOB_CORRUPTED);
  }
  CHECK_EQ(f[5].output.result, VDM_ERROR_JOB_CORRUPTED);

  struct data_mover_threads *many = data_mover_threads_new(1030, 64, FUTURE_NOTIFIER_WAKER);
  CHECK(many != NULL);
  data_mover_threads_delete(many);
}

/* Small operations with the default functions run inside op_start (the
 * future completes in the poll that starts it); larger ones, and any with
 * a replacement function, go to a worker. MINIASYNC_THREADS_INLINE_MAX
 * sets the limit (read when the mover is created). */
static void small_default_operations_complete_at_start(void)
{
  struct data_mover_threads *dmt = data_mover_threads_default();
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  static char src[8192], dst[8192];
  memset(src, 5, sizeof src);
  struct future_notifier n;
  memset(&n, 0, sizeof n);
  struct vdm_operation_future f = vdm_memcpy(vdm, dst, src, 4096, 0);
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), &n), FUTURE_STATE_COMPLETE);
  CHECK_EQ(f.output.result, VDM_SUCCESS);
  CHECK(f.output.output.memcpy.dest == dst);
  CHECK(memcmp(src, dst, 4096) == 0);
  struct vdm_operation_future g = vdm_memset(vdm, dst, 1, 100, 0);
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&g), &n), FUTURE_STATE_COMPLETE);
  CHECK_EQ(dst[99], 1);
  /* Larger: a worker runs it. */
  struct runtime *r = runtime_new();
  f = vdm_memmove(vdm, dst + 1, dst, 8000, 0);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  CHECK_EQ(f.output.result, VDM_SUCCESS);
  CHECK_EQ(dst[100], 1);
  runtime_delete(r);
  data_mover_threads_delete(dmt);

  setenv("MINIASYNC_THREADS_INLINE_MAX", "0", 1);
  dmt = data_mover_threads_new(1, 4, FUTURE_NOTIFIER_POLLER);
  unsetenv("MINIASYNC_THREADS_INLINE_MAX");
  vdm = data_mover_threads_get_vdm(dmt);
  f = vdm_memcpy(vdm, dst, src, 1, 0);
  if (future_poll(FUTURE_AS_RUNNABLE(&f), &n) != FUTURE_STATE_COMPLETE) {
    CHECK_EQ(n.notifier_used, FUTURE_NOTIFIER_POLLER);
    FUTURE_BUSY_POLL(&f);
  }
  CHECK_EQ(f.output.result, VDM_SUCCESS);
  data_mover_threads_delete(dmt);
}

static void run_all(void)
{
  RUN(memcpy_batches_of_100);
  RUN(memmove_and_memset_in_halves);
  RUN(busy_polling_works);
  RUN(parameters_are_validated);
  RUN(a_full_queue_overflows_instead_of_stalling);
  RUN(the_waker_runs_after_the_result_is_published);
  RUN(the_poller_notifier_points_at_the_completion_word);
  RUN(flush_completes);
  RUN(replacement_functions);
  RUN(futures_cross_threads);
  RUN(delete_with_pending_futures_is_clean);
}

int main(void)
{
  RUN(small_default_operations_complete_at_start);
  run_all();
  /* Again with every operation going to the workers. */
  setenv("MINIASYNC_THREADS_INLINE_MAX", "0", 1);
  printf("-- MINIASYNC_THREADS_INLINE_MAX=0\n");
  run_all();
  return 0;
}
