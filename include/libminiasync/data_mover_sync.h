/* SPDX-License-Identifier: MIT */
/* libminiasync/data_mover_sync.h: a mover that performs each operation on
 * the polling thread during the future's first poll (memcpy, memmove,
 * memset and flush: cache-line write-back of the range). Its futures are not
 * ASYNC and report FUTURE_NOTIFIER_NONE. Compatible with miniasync 0.2.1,
 * except that FLUSH works (miniasync's called exit(1)). */
#ifndef DATA_MOVER_SYNC_H
#define DATA_MOVER_SYNC_H 1

#include "vdm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct data_mover_sync;

/* NULL when out of memory. */
struct data_mover_sync *data_mover_sync_new(void) MINIASYNC_NOEXCEPT;
/* The mover's method table; never NULL. */
struct vdm *data_mover_sync_get_vdm(struct data_mover_sync *dms) MINIASYNC_NOEXCEPT;
/* Futures still pending afterwards complete with VDM_ERROR_JOB_CORRUPTED
 * when polled (they never touch freed memory). */
void data_mover_sync_delete(struct data_mover_sync *dms) MINIASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* DATA_MOVER_SYNC_H */
