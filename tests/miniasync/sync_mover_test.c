/* SPDX-License-Identifier: MIT */
#include "mini_test.h" /* first: it sets _POSIX_C_SOURCE */
/* sync_mover_test.c: the synchronous mover and the vdm inline layer
 * (libminiasync/vdm.h, data_mover_sync.h; memmove, memset, the record
 * pool), and the fixes (docs/miniasync.md, D<n>)
 * for D1 (vdm_is_supported), D9 (FLUSH), D11 (record reuse), D7 (delete with
 * pending futures). */
#include <string.h>


static void memmove_handles_overlap(void)
{
  struct data_mover_sync *dms = data_mover_sync_new();
  CHECK(dms != NULL);
  struct vdm *vdm = data_mover_sync_get_vdm(dms);
  char src[] = "teststring", dst[sizeof src] = {0};
  struct vdm_operation_future f = vdm_memmove(vdm, dst, src, sizeof src, 0);
  CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_IDLE);
  FUTURE_BUSY_POLL(&f);
  CHECK(strcmp(dst, src) == 0);
  CHECK_EQ(f.output.type, VDM_OPERATION_MEMMOVE);
  CHECK_EQ(f.output.result, VDM_SUCCESS);
  CHECK(f.output.output.memmove.dest == dst);
  size_t sizes[] = {4, 12, 1024};
  for (int s = 0; s < 3; ++s) {
    size_t n = sizes[s];
    char buf[2048], ref[2048];
    for (size_t i = 0; i < n; ++i) buf[i] = ref[i] = (char)('a' + i % 26);
    memmove(ref + n / 4, ref, n / 2);
    f = vdm_memmove(vdm, buf + n / 4, buf, n / 2, 0);
    FUTURE_BUSY_POLL(&f);
    CHECK(memcmp(buf, ref, n) == 0);
  }
  CHECK_EQ(vdm_is_supported(vdm, VDM_F_MEM_DURABLE), 0);
  CHECK_EQ(vdm_is_supported(vdm, VDM_F_NO_CACHE_HINT), 0);
  data_mover_sync_delete(dms);
}

static void memset_sets_only_its_range(void)
{
  struct data_mover_sync *dms = data_mover_sync_new();
  struct vdm *vdm = data_mover_sync_get_vdm(dms);
  int values[] = {'!', 'a', 'X', 0xA5, 0x5A};
  for (int v = 0; v < 5; ++v) {
    char buf[] = "0123456789";
    struct vdm_operation_future f = vdm_memset(vdm, buf, values[v], 5, 0);
    FUTURE_BUSY_POLL(&f);
    for (int i = 0; i < 5; ++i) CHECK_EQ((unsigned char)buf[i], values[v]);
    CHECK(strcmp(buf + 5, "56789") == 0);
    CHECK(f.output.output.memset.str == buf);
    CHECK_EQ(f.output.type, VDM_OPERATION_MEMSET);
  }
  data_mover_sync_delete(dms);
}

/* D9: miniasync printed a message and called exit(1). */
static void flush_completes(void)
{
  struct data_mover_sync *dms = data_mover_sync_new();
  struct vdm *vdm = data_mover_sync_get_vdm(dms);
  char buf[50] = "persist me";
  struct vdm_operation_future f = vdm_flush(vdm, buf, sizeof buf, 0);
  struct runtime *r = runtime_new();
  runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
  CHECK_EQ(f.output.type, VDM_OPERATION_FLUSH);
  CHECK_EQ(f.output.result, VDM_SUCCESS);
  runtime_delete(r);
  data_mover_sync_delete(dms);
}

/* D1: bitwise capability test (miniasync's && answered 0,1,1,1 / 0,0,0,0 /
 * 0,0,0,0 / 1,1,1,1 for capability 1 / 2 / 3 / 0 and caps 0..3). */
static void is_supported_tests_every_bit(void)
{
  struct vdm v;
  memset(&v, 0, sizeof v);
  for (unsigned caps = 0; caps < 4; ++caps) {
    v.capabilities = caps;
    for (unsigned cap = 0; cap < 4; ++cap) CHECK_EQ(vdm_is_supported(&v, cap) != 0, (caps & cap) == cap);
  }
}

/* The vdm test's "strdup" chain: allocate, then copy into the allocation. */
struct alloc_data {
  size_t n;
};
struct alloc_output {
  void *ptr;
};
FUTURE(alloc_future, struct alloc_data, struct alloc_output);

static enum future_state alloc_task(struct future_context *ctx, struct future_notifier *n)
{
  if (n) n->notifier_used = FUTURE_NOTIFIER_NONE;
  struct alloc_data *d = (struct alloc_data *)future_context_get_data(ctx);
  ((struct alloc_output *)future_context_get_output(ctx))->ptr = malloc(d->n);
  return FUTURE_STATE_COMPLETE;
}

struct strdup_data {
  FUTURE_CHAIN_ENTRY(struct alloc_future, alloc);
  FUTURE_CHAIN_ENTRY_LAST(struct vdm_operation_future, copy);
  struct vdm *vdm; /* trailing fields, for the lazy init */
  char *src;
  size_t n;
};
struct strdup_output {
  char *copy;
  size_t n;
};
FUTURE(strdup_future, struct strdup_data, struct strdup_output);

static void alloc_to_copy(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct alloc_output *a = (struct alloc_output *)future_context_get_output(lhs);
  struct vdm_operation_data *op = (struct vdm_operation_data *)future_context_get_data(rhs);
  op->operation.data.memcpy.dest = a->ptr; /* patched before the copy starts */
}

static void copy_to_output(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct vdm_operation_data *op = (struct vdm_operation_data *)future_context_get_data(lhs);
  struct vdm_operation_output *out = (struct vdm_operation_output *)future_context_get_output(lhs);
  CHECK_EQ(out->result, VDM_SUCCESS);
  struct strdup_output *so = (struct strdup_output *)future_context_get_output(rhs);
  so->copy = (char *)op->operation.data.memcpy.dest;
  so->n = op->operation.data.memcpy.n;
}

static void init_copy(void *future, struct future_context *chain_ctx, void *arg)
{
  (void)arg;
  struct strdup_data *d = (struct strdup_data *)future_context_get_data(chain_ctx);
  struct vdm_operation_future f = vdm_memcpy(d->vdm, NULL, d->src, d->n, 0);
  memcpy(future, &f, sizeof f);
}

static void strdup_chain(int lazy)
{
  struct data_mover_sync *dms = data_mover_sync_new();
  struct vdm *vdm = data_mover_sync_get_vdm(dms);
  char text[] = "Hello, chained futures";
  struct strdup_future f;
  f.data.vdm = vdm;
  f.data.src = text;
  f.data.n = sizeof text;
  struct alloc_future a;
  a.data.n = sizeof text;
  FUTURE_INIT(&a, alloc_task);
  FUTURE_CHAIN_ENTRY_INIT(&f.data.alloc, a, alloc_to_copy, NULL);
  if (lazy)
    FUTURE_CHAIN_ENTRY_LAZY_INIT(&f.data.copy, init_copy, NULL, copy_to_output, NULL);
  else
    FUTURE_CHAIN_ENTRY_INIT(&f.data.copy, vdm_memcpy(vdm, NULL, text, sizeof text, 0), copy_to_output, NULL);
  FUTURE_CHAIN_INIT(&f);
  FUTURE_BUSY_POLL(&f);
  CHECK(strcmp(f.output.copy, text) == 0);
  CHECK_EQ(f.output.n, sizeof text);
  free(f.output.copy);
  data_mover_sync_delete(dms);
}

static void strdup_chain_eager(void) { strdup_chain(0); }
static void strdup_chain_lazy(void) { strdup_chain(1); }

/* The record pool is bounded (unpolled futures end in an out-of-memory
 * future) and, D11, any completed future's record is reused at once, not
 * only the oldest one's. */
static void pending_records_are_bounded_and_any_freed_one_is_reused(void)
{
  struct data_mover_sync *dms = data_mover_sync_new();
  struct vdm *vdm = data_mover_sync_get_vdm(dms);
  size_t cap = 1u << 19, n = 0;
  struct vdm_operation_future *fs = malloc(cap * sizeof *fs);
  CHECK(fs != NULL);
  char src[8] = "abcdefg", dst[8];
  for (;;) {
    CHECK(n < cap);
    fs[n] = vdm_memcpy(vdm, dst, src, sizeof src, 0);
    if (FUTURE_STATE(&fs[n]) == FUTURE_STATE_COMPLETE) break;
    ++n;
  }
  struct vdm_operation_future *oom = &fs[n];
  CHECK_EQ(oom->output.result, VDM_ERROR_OUT_OF_MEMORY);
  CHECK(oom->base.task == NULL && oom->data.data == NULL);
  CHECK(oom->base.has_property == NULL); /* the sync mover has none: D4 */
  printf("  %zu pending futures fit\n", n);
  /* Complete one from the middle: a new future fits again. */
  FUTURE_BUSY_POLL(&fs[n / 2]);
  CHECK_EQ(fs[n / 2].output.result, VDM_SUCCESS);
  struct vdm_operation_future again = vdm_memcpy(vdm, dst, src, sizeof src, 0);
  CHECK_EQ(FUTURE_STATE(&again), FUTURE_STATE_IDLE);
  memset(dst, 0, sizeof dst);
  FUTURE_BUSY_POLL(&again);
  CHECK_EQ(again.output.result, VDM_SUCCESS);
  CHECK(memcmp(dst, src, sizeof src) == 0);
  /* The oldest too, as miniasync's tests expect. */
  FUTURE_BUSY_POLL(&fs[0]);
  again = vdm_memcpy(vdm, dst, src, sizeof src, 0);
  CHECK_EQ(FUTURE_STATE(&again), FUTURE_STATE_IDLE);
  FUTURE_BUSY_POLL(&again);
  /* D7: deleting the mover with futures pending; polling them afterwards
   * reports an error and touches no freed memory. */
  data_mover_sync_delete(dms);
  FUTURE_BUSY_POLL(&fs[1]);
  CHECK_EQ(fs[1].output.result, VDM_ERROR_JOB_CORRUPTED);
  free(fs);
}

static void synchronous_aliases_work(void)
{
  struct vdm *vdm = vdm_synchronous_new();
  CHECK(vdm != NULL);
  char a[4] = "abc", b[4] = {0};
  struct vdm_operation_future f = vdm_memcpy(vdm, b, a, 4, 0);
  FUTURE_BUSY_POLL(&f);
  CHECK(strcmp(a, b) == 0);
  vdm_synchronous_delete(vdm);
}

int main(void)
{
  RUN(memmove_handles_overlap);
  RUN(memset_sets_only_its_range);
  RUN(flush_completes);
  RUN(is_supported_tests_every_bit);
  RUN(strdup_chain_eager);
  RUN(strdup_chain_lazy);
  RUN(pending_records_are_bounded_and_any_freed_one_is_reused);
  RUN(synchronous_aliases_work);
  return 0;
}
