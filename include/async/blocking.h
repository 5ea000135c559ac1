/* SPDX-License-Identifier: MIT */
/* async/blocking.h: blocking calls run on a pool of threads, so that only
 * the calling fiber waits: any function (async_run_blocking), name
 * resolution (async_getaddrinfo) and regular-file I/O (async_pread,
 * async_pwrite, async_fsync), which epoll and kqueue cannot make
 * non-blocking. Included by async.h; do not include it on its own.
 *
 * The pool. One per process, shared by every runtime. The calling fiber
 * queues its call (a record on its own stack: nothing is allocated per call)
 * and parks; its runtime keeps running its other fibers; a worker thread
 * runs the call and wakes the fiber through its runtime, on which it resumes
 * (fibers never migrate). Calls start in the order they were queued, from
 * all runtimes together. Workers start when a call finds none idle, up to a
 * bound (the environment variable ASYNC_BLOCKING_THREADS, a positive number
 * up to 4096, read at the pool's first use; default 64); a call queued while
 * every worker is busy waits for the first to finish. A worker idle for
 * ASYNC_BLOCKING_IDLE_MS milliseconds (default 10000) exits. Workers block
 * every asynchronous signal (faults such as SIGSEGV still reach their
 * handlers), so signals meant for the program go to its own threads.
 *
 * Common rules:
 * - Inside a fiber only: ASYNC_ESTATE outside fibers (a thread that drives
 *   no runtime, or the driving thread itself), with nothing run.
 * - A call returns only after the work has finished on its worker, so the
 *   arguments (buffers, `user`) may live on the fiber's stack.
 * - Cancellation cannot interrupt a call in progress: a fiber cancelled while
 *   it waits gets ASYNC_ECANCELED once the work has finished (it was done
 *   all the same: see each call). A fiber cancelled before the call gets
 *   ASYNC_ECANCELED at once, with nothing run.
 * - A runtime's shutdown (async_runtime_shutdown, async_group_shutdown)
 *   waits, on its thread, for every call of its fibers still on a worker to
 *   finish; the fibers are then dropped as usual.
 * - ASYNC_ENOMEM when the pool has no worker and cannot start one (the
 *   system refused a thread), with nothing run.
 * - ASYNC_EIO for an error of the operating system: the call sets the
 *   calling thread's errno to it just before it returns, as a system call
 *   would (read it before any other call that may change it). */
#ifndef ASYNC_BLOCKING_H
#define ASYNC_BLOCKING_H

#ifndef ASYNC_H
#error "include <async.h>, not <async/blocking.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct addrinfo;

/* Run fn(user) on a worker of the pool; the calling fiber parks until fn has
 * returned. fn runs on another thread: it must not call this library's
 * fiber calls (it is in no fiber), and must not unwind (a C++ exception
 * escaping it ends the process). Returns ASYNC_OK; ASYNC_ECANCELED (before:
 * fn not run; while it ran: after fn returned); ASYNC_EINVAL for a NULL fn;
 * ASYNC_ESTATE outside a fiber; ASYNC_ENOMEM. */
ASYNC_API async_status_t async_run_blocking(async_fn fn, void *user) ASYNC_NOEXCEPT;

/* getaddrinfo(3) on a worker: the same arguments (node or service may be
 * NULL as there, hints too), the same results. On ASYNC_OK `*res` holds the
 * list, which the caller frees with freeaddrinfo(3). On failure `*res` is
 * NULL. ASYNC_EIO when getaddrinfo failed: `*gai_error` (when gai_error is
 * not NULL) is its EAI_* code (gai_strerror(3) explains it; EAI_SYSTEM:
 * errno holds the error); it is 0 otherwise. ASYNC_ECANCELED (a list
 * resolved meanwhile has been freed); ASYNC_EINVAL for a NULL res;
 * ASYNC_ESTATE outside a fiber; ASYNC_ENOMEM. */
ASYNC_API async_status_t async_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                                           struct addrinfo **res, int *gai_error) ASYNC_NOEXCEPT;

/* Read up to `len` bytes at `offset` of the file `fd` into `buf` (pread(2)
 * on a worker; the fd's file position is not used or changed). Short reads
 * are repeated, so fewer than `len` bytes come back only at end of file:
 * `*n` (always set; n may not be NULL) says how many. End of file is
 * ASYNC_OK with *n == 0; so is len == 0 (one pread of 0 bytes is still made,
 * so a bad fd is reported). Any fd pread accepts works, but a call that
 * blocks (a pipe or socket in blocking mode) holds its worker meanwhile.
 * ASYNC_EIO with errno EBADF (closed fd, or not open for reading), EISDIR,
 * ESPIPE (a pipe or socket), EIO, ... (*n: the bytes read before the
 * error); ASYNC_ECANCELED (the bytes were read all the same: *n);
 * ASYNC_EINVAL for a NULL n, a NULL buf with len > 0, len > SSIZE_MAX,
 * offset > INT64_MAX, or offset + len past INT64_MAX (checked before
 * anything is read); ASYNC_ESTATE outside a fiber; ASYNC_ENOMEM. */
ASYNC_API async_status_t async_pread(int fd, void *buf, size_t len, uint64_t offset, size_t *n)
    ASYNC_NOEXCEPT;

/* Write all `len` bytes of `buf` at `offset` of `fd` (pwrite(2) on a
 * worker, short writes repeated; a file opened with O_APPEND appends, as
 * pwrite does on Linux). `*n` (always set) says how many were written: len
 * on ASYNC_OK, fewer on an error (e.g. ENOSPC, EFBIG part-way). Errors,
 * cancellation and argument checks as for async_pread (EBADF also for an fd
 * not open for writing). */
ASYNC_API async_status_t async_pwrite(int fd, const void *buf, size_t len, uint64_t offset, size_t *n)
    ASYNC_NOEXCEPT;

/* fsync(2) of `fd` on a worker: returns once the file's data and metadata
 * have reached the storage device. ASYNC_EIO with errno EBADF, EIO, ENOSPC,
 * EINVAL (an fd that cannot be synced), ...; ASYNC_ECANCELED (synced all the
 * same); ASYNC_ESTATE outside a fiber; ASYNC_ENOMEM. */
ASYNC_API async_status_t async_fsync(int fd) ASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_BLOCKING_H */
