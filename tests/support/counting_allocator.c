/* SPDX-License-Identifier: MIT */
/* counting_allocator.c: see counting_allocator.h. One allocator per process:
 * the library has one (async_set_allocator). */
#include "counting_allocator.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { blocks_max = 256 };

static struct {
  atomic_long attempts;
  atomic_long fail_at; /* the attempt (counted from 0) that gets NULL; -1: none */
  atomic_long live_blocks;
  atomic_long live_bytes;
  atomic_long bad_frees;
  atomic_long bad_aligns;
  atomic_flag lock; /* guards `out` (a group's threads allocate at once) */
  struct {
    void *p;
    size_t size;
  } out[blocks_max];
} c;

static void lock(void) {
  while (atomic_flag_test_and_set_explicit(&c.lock, memory_order_acquire)) {
  }
}

static void unlock(void) { atomic_flag_clear_explicit(&c.lock, memory_order_release); }

static void *counting_alloc(size_t size, size_t align, void *ctx) {
  (void)ctx;
  if (align == 0 || (align & (align - 1)) != 0 || align > ASYNC_ALLOCATOR_MAX_ALIGN || size == 0) {
    atomic_fetch_add(&c.bad_aligns, 1);
  }
  if (atomic_fetch_add(&c.attempts, 1) == atomic_load(&c.fail_at)) return NULL;
  /* aligned_alloc wants a size that is a multiple of the alignment. */
  void *p = aligned_alloc(align, (size + align - 1) / align * align);
  if (p == NULL) return NULL;
  int placed = 0;
  lock();
  for (int i = 0; i < blocks_max && !placed; ++i) {
    if (c.out[i].p == NULL) {
      c.out[i].p = p;
      c.out[i].size = size;
      placed = 1;
    }
  }
  unlock();
  if (!placed) atomic_fetch_add(&c.bad_frees, 1); /* the table is too small: fail the test */
  atomic_fetch_add(&c.live_blocks, 1);
  atomic_fetch_add(&c.live_bytes, (long)size);
  return p;
}

static void counting_free(void *p, size_t size, void *ctx) {
  (void)ctx;
  int found = 0;
  lock();
  for (int i = 0; i < blocks_max && !found; ++i) {
    if (c.out[i].p == p) {
      found = c.out[i].size == size;
      c.out[i].p = NULL;
    }
  }
  unlock();
  if (!found) atomic_fetch_add(&c.bad_frees, 1);
  atomic_fetch_sub(&c.live_blocks, 1);
  atomic_fetch_sub(&c.live_bytes, (long)size);
  free(p);
}

async_status_t counting_allocator_install(void) {
  memset(c.out, 0, sizeof c.out);
  atomic_store(&c.attempts, 0);
  atomic_store(&c.fail_at, -1);
  atomic_store(&c.live_blocks, 0);
  atomic_store(&c.live_bytes, 0);
  atomic_store(&c.bad_frees, 0);
  atomic_store(&c.bad_aligns, 0);
  atomic_flag_clear(&c.lock);
  const async_allocator_t a = {counting_alloc, counting_free, NULL};
  return async_set_allocator(&a);
}

counting_allocator_stats_t counting_allocator_stats(void) {
  counting_allocator_stats_t s;
  s.attempts = atomic_load(&c.attempts);
  s.live_blocks = atomic_load(&c.live_blocks);
  s.live_bytes = atomic_load(&c.live_bytes);
  s.bad_frees = atomic_load(&c.bad_frees);
  s.bad_aligns = atomic_load(&c.bad_aligns);
  return s;
}

void counting_allocator_fail_after(long n) {
  atomic_store(&c.attempts, 0);
  atomic_store(&c.fail_at, n);
}

fail_each_result_t fail_each_allocation(async_status_t (*attempt)(void *arg), void (*undo_failed)(void *arg),
                                        void *arg) {
  fail_each_result_t r = {-1, -1, -1, -1};
  const long blocks_before = atomic_load(&c.live_blocks);
  for (long n = 0; n < 10000; ++n) {
    counting_allocator_fail_after(n);
    const async_status_t st = attempt(arg);
    const long asked = atomic_load(&c.attempts);
    counting_allocator_fail_after(-1);
    if (st == ASYNC_OK) {
      /* Not failed, so it never asked for the (n+1)th: it makes n. */
      r.allocations = n;
      if (asked != n && r.missed < 0) r.missed = n;
      break;
    }
    if (undo_failed != NULL) undo_failed(arg);
    if (st != ASYNC_ENOMEM && r.wrong_status < 0) r.wrong_status = n;
    if (asked <= n && r.missed < 0) r.missed = n;
    if (atomic_load(&c.live_blocks) != blocks_before && r.leaked < 0) r.leaked = n;
  }
  return r;
}
