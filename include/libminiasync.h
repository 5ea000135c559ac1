/* SPDX-License-Identifier: MIT */
/* libminiasync.h: the miniasync-compatible API (futures, runtime, virtual
 * data movers), a drop-in for Intel's discontinued miniasync 0.2.1. Build
 * with `pkg-config --cflags --libs libminiasync`. See docs/miniasync.md. */
#ifndef LIBMINIASYNC_H
#define LIBMINIASYNC_H 1

#include <stddef.h>
#include <stdio.h>

#include "libminiasync/future.h"
#include "libminiasync/vdm.h"
#include "libminiasync/data_mover_threads.h"
#include "libminiasync/data_mover_sync.h"
#include "libminiasync/runtime.h"

#endif /* LIBMINIASYNC_H */
