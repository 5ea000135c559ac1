/* SPDX-License-Identifier: MIT */
/* counting_allocator.h: an allocator for async_set_allocator that counts
 * what the library takes and gives back, checks every free against its
 * allocation, and fails the Nth allocation on request; and the loop that
 * fails an operation's allocations one after the other (tests of
 * docs/allocation.md's promise: ASYNC_ENOMEM, nothing leaked). C11, shared
 * by the C and the C++ tests. */
#ifndef ASYNC_TEST_COUNTING_ALLOCATOR_H
#define ASYNC_TEST_COUNTING_ALLOCATOR_H

#include <stddef.h>

#include "async.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the allocator has seen since it was installed. */
typedef struct counting_allocator_stats {
  long attempts;    /* calls of alloc since the last fail_after, the failed one included */
  long live_blocks; /* allocated and not yet freed */
  long live_bytes;
  long bad_frees;   /* of a block not out, or with another size than asked */
  long bad_aligns;  /* an align that is no power of two or above the limit, or size 0 */
} counting_allocator_stats_t;

/* Zeroes the counts and installs the allocator with async_set_allocator;
 * returns its status (ASYNC_ESTATE while another allocator has memory out). */
async_status_t counting_allocator_install(void);

counting_allocator_stats_t counting_allocator_stats(void);

/* The next allocations succeed until `n` more have been asked for; the
 * (n+1)th gets NULL (n = -1: none fails). Counts attempts from 0 again. */
void counting_allocator_fail_after(long n);

/* The outcome of failing an operation's allocations one after the other. */
typedef struct fail_each_result {
  long allocations;   /* how many the operation made when none failed; -1: never succeeded */
  long wrong_status;  /* the first n whose failure returned another status than ENOMEM; -1: none */
  long leaked;        /* the first n after which blocks stayed out; -1: none */
  long missed;        /* the first n whose failure the operation never asked for; -1: none */
} fail_each_result_t;

/* For n = 0, 1, 2, ...: fails the operation's (n+1)th allocation, and
 * checks it returned ASYNC_ENOMEM with no block left out, until it succeeds
 * (then it stays done: the caller undoes it). `undo_failed` (may be NULL)
 * runs after each failure, before the leak check, for what the operation
 * leaves to its caller. */
fail_each_result_t fail_each_allocation(async_status_t (*attempt)(void *arg), void (*undo_failed)(void *arg),
                                        void *arg);

#ifdef __cplusplus
}
#endif

#endif
