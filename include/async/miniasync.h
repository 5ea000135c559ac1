/* SPDX-License-Identifier: MIT */
/* async/miniasync.h: miniasync futures awaited from fibers (the bridge).
 * Part of libasync (it needs only the inline parts of libminiasync.h, so
 * libasync does not link libminiasync; the movers themselves come from
 * libminiasync). Valid C99 and C++.
 *
 * async_await_future() polls the future with a waker that unparks the
 * calling fiber (async_unpark(), from any thread: a mover's worker), and
 * parks the fiber between polls, so its thread runs other fibers meanwhile.
 * A future that asks to be polled (FUTURE_NOTIFIER_NONE) is re-polled after
 * a yield, and after a few rounds after short timed parks (16 us .. 1 ms).
 *
 * Late wakes are harmless: the waker's data is a small record that names the
 * fiber by handle and is never freed (only recycled); when the await ends
 * the handle in it is cleared under the record's lock, so a waker that
 * fires afterwards (a duplicate, or a mover holding on to it) unparks
 * nobody, and no unpark can still be running on the fiber's runtime once
 * the await has returned. */
#ifndef ASYNC_MINIASYNC_H
#define ASYNC_MINIASYNC_H

#include "../async.h"
#include "../libminiasync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Inside a fiber: poll `fut` until it is COMPLETE, parking between polls.
 * Returns ASYNC_OK once COMPLETE (the output is then readable; for a vdm
 * future check output.result); ASYNC_EINVAL for NULL; ASYNC_ESTATE outside a
 * fiber; ASYNC_ECANCELED when the calling fiber is (or becomes) cancelled.
 * On ASYNC_ECANCELED the future is left as it is: an operation already
 * started (a vdm copy) goes on in the background and the future still owns
 * its mover record. The caller may poll it to completion later
 * (FUTURE_BUSY_POLL, runtime_wait, or await it again from another fiber;
 * wakes for it may then not come, because the threads mover keeps the first
 * waker it was given, so prefer FUTURE_BUSY_POLL, or runtime_wait, which
 * copes with missing wakes by timed re-polls), and must keep the operation's
 * buffers valid until then. A cancelled fiber gets ASYNC_ECANCELED at once,
 * without the future being polled. */
ASYNC_API async_status_t async_await_future(struct future *fut) ASYNC_NOEXCEPT;

/* Inside a fiber: run one mover operation and wait for it. Returns ASYNC_OK;
 * ASYNC_ENOMEM when the mover has no record free (an out-of-memory future);
 * ASYNC_EIO when it failed (VDM_ERROR_JOB_CORRUPTED); ASYNC_EINVAL for a
 * NULL vdm; ASYNC_ESTATE outside a fiber; ASYNC_ECANCELED when the caller
 * is cancelled. Cancelled before the call: nothing is done. Cancelled while
 * waiting: the operation's future lives in this call, so the call first
 * waits for the operation to finish (blocking its thread, not parking, for
 * as long as the copy takes) and then returns ASYNC_ECANCELED; the buffers
 * are no longer in use when it returns. */
ASYNC_API async_status_t async_vdm_memcpy(struct vdm *vdm, void *dest, const void *src, size_t n,
                                          uint64_t flags) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_vdm_memmove(struct vdm *vdm, void *dest, const void *src, size_t n,
                                           uint64_t flags) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_vdm_memset(struct vdm *vdm, void *str, int c, size_t n, uint64_t flags)
    ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_vdm_flush(struct vdm *vdm, void *dest, size_t n, uint64_t flags)
    ASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_MINIASYNC_H */
