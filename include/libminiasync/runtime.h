/* SPDX-License-Identifier: MIT */
/* libminiasync/runtime.h: the runtime that waits for futures, compatible with
 * miniasync 0.2.1.
 *
 * runtime_wait_multiple() polls the futures in passes, futures with
 * FUTURE_PROPERTY_ASYNC first (stable, re-evaluated every pass; the caller's
 * array is not reordered), and returns when every one is COMPLETE, including
 * futures that were COMPLETE already or are listed twice. Between passes it
 * spins briefly and then sleeps until a waker it handed out is called; it
 * never sleeps while a future asked to be polled (FUTURE_NOTIFIER_NONE).
 * Several threads may wait on one runtime at once. */
#ifndef RUNTIME_H
#define RUNTIME_H 1

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct runtime;

/* NULL when out of memory. */
struct runtime *runtime_new(void) MINIASYNC_NOEXCEPT;
/* No thread may be waiting on it. */
void runtime_delete(struct runtime *runtime) MINIASYNC_NOEXCEPT;
/* Returns when `fut` is COMPLETE. */
void runtime_wait(struct runtime *runtime, struct future *fut) MINIASYNC_NOEXCEPT;
/* Returns when every one of futs[0..nfuts) is COMPLETE. */
void runtime_wait_multiple(struct runtime *runtime, struct future *futs[],
			   size_t nfuts) MINIASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* RUNTIME_H */
