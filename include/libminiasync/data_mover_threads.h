/* SPDX-License-Identifier: MIT */
/* libminiasync/data_mover_threads.h: a mover that runs operations on a pool
 * of worker threads. Its futures are ASYNC; they notify with the type given
 * at creation (the default mover: FUTURE_NOTIFIER_WAKER). Compatible with
 * miniasync 0.2.1; see docs/miniasync.md for what differs (0 threads or 0
 * queue entries are rejected, other queue sizes are rounded up to a power of
 * two, a full queue overflows into a list instead of stalling, completion
 * is published before the waker is called, FLUSH works, delete is clean). */
#ifndef DATA_MOVER_THREADS_H
#define DATA_MOVER_THREADS_H 1

#include "vdm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Replacement copy functions; `flags` are the operation's VDM_F_* flags.
 * Each returns its first argument; NULL reports VDM_ERROR_JOB_CORRUPTED. */
typedef void *(*memcpy_fn)(void *dst, const void *src, size_t n, unsigned flags);
typedef void *(*memmove_fn)(void *dst, const void *src, size_t n, unsigned flags);
typedef void *(*memset_fn)(void *str, int c, size_t n, unsigned flags);

struct data_mover_threads;

/* `nthreads` workers (at least 1) and a submission queue of `ringbuf_size`
 * entries (at least 1, rounded up to a power of two). NULL when a parameter
 * is 0, desired_notifier is not a notifier type, or on failure. */
struct data_mover_threads *data_mover_threads_new(size_t nthreads,
	size_t ringbuf_size, enum future_notifier_type desired_notifier) MINIASYNC_NOEXCEPT;
/* data_mover_threads_new(12, 128, FUTURE_NOTIFIER_WAKER). */
struct data_mover_threads *data_mover_threads_default(void) MINIASYNC_NOEXCEPT;
struct vdm *data_mover_threads_get_vdm(struct data_mover_threads *dmt) MINIASYNC_NOEXCEPT;
/* Finishes the operations being executed, fails the queued ones (their
 * futures complete with VDM_ERROR_JOB_CORRUPTED and their wakers are
 * called), joins the workers and frees the mover. */
void data_mover_threads_delete(struct data_mover_threads *dmt) MINIASYNC_NOEXCEPT;
/* NULL restores the libc function. Safe while operations run: each
 * operation uses the function set when a worker takes it. */
void data_mover_threads_set_memcpy_fn(struct data_mover_threads *dmt, memcpy_fn op_memcpy)
    MINIASYNC_NOEXCEPT;
void data_mover_threads_set_memmove_fn(struct data_mover_threads *dmt, memmove_fn op_memmove)
    MINIASYNC_NOEXCEPT;
void data_mover_threads_set_memset_fn(struct data_mover_threads *dmt, memset_fn op_memset)
    MINIASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* DATA_MOVER_THREADS_H */
