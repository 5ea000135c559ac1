// SPDX-License-Identifier: MIT
// mover_common.h: what the sync and threads movers share: the object users
// hold (a struct vdm first, so a vdm pointer and the mover pointer are the
// same address), the output of a finished operation, running one operation
// inline, and retiring a mover whose futures are still pending.
#pragma once

#include "libminiasync/vdm.h"

namespace miniasync {

// The object returned by data_mover_*_new. Futures keep pointers to `vdm`,
// so when a mover is deleted with futures still pending the shell stays
// (see retire_shell) and only `core` is freed.
struct mover_shell {
  struct vdm vdm;  // first
  void* core;
};

// Fills a finished operation's output: its type, `result`, and the
// destination pointer as miniasync reports it.
void fill_output(const vdm_operation* op, vdm_operation_output* out, vdm_operation_result result) noexcept;

// Runs `op` on the calling thread with the libc functions (and flush_range
// for FLUSH). VDM_ERROR_JOB_CORRUPTED for an unknown operation type.
vdm_operation_result run_inline(const vdm_operation* op) noexcept;

// Writes the cache lines of [p, p+n) back to memory and fences.
void flush_range(const void* p, size_t n) noexcept;

// Turns `shell` into a tombstone whose operations touch no record: polling
// a future of the deleted mover completes it with VDM_ERROR_JOB_CORRUPTED,
// and a new future is an out-of-memory one. The shell is kept (reachable)
// for the rest of the process. The caller frees the core.
void retire_shell(mover_shell* shell) noexcept;

}  // namespace miniasync
