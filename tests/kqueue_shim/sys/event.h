/* SPDX-License-Identifier: MIT */
/* sys/event.h: a test-only stand-in for the BSD/macOS kqueue header, so that
 * src/io/backend_kqueue.cpp builds and runs on Linux over epoll
 * (kqueue_shim.c). It is not a kqueue: docs/platforms.md lists what it cannot
 * prove. Only on the include path of -DASYNC_KQUEUE_SHIM=ON builds and of the
 * shim's own test; never installed.
 *
 * The layout of struct kevent and every constant are Apple's
 * (xnu bsd/sys/event.h); FreeBSD 12+ adds a 64-bit `data` and `ext[4]`, which
 * is why callers must fill events with EV_SET, never positionally. */
#ifndef ASYNC_KQUEUE_SHIM_SYS_EVENT_H
#define ASYNC_KQUEUE_SHIM_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Filters (negative, as in every kqueue). The shim implements READ, WRITE
 * and USER; any other is refused with EINVAL. */
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_AIO (-3)
#define EVFILT_VNODE (-4)
#define EVFILT_PROC (-5)
#define EVFILT_SIGNAL (-6)
#define EVFILT_TIMER (-7)
#define EVFILT_MACHPORT (-8)
#define EVFILT_FS (-9)
#define EVFILT_USER (-10)
#define EVFILT_VM (-12)
#define EVFILT_EXCEPT (-15)

/* Actions and flags in kevent.flags. */
#define EV_ADD 0x0001      /* add the knote, or modify it (and enable it) */
#define EV_DELETE 0x0002   /* delete the knote */
#define EV_ENABLE 0x0004   /* deliver its events */
#define EV_DISABLE 0x0008  /* keep it, deliver nothing */
#define EV_ONESHOT 0x0010  /* delete it after its first delivery */
#define EV_CLEAR 0x0020    /* reset its state after delivery (edge-triggered) */
#define EV_RECEIPT 0x0040  /* report this change's result as an EV_ERROR event */
#define EV_DISPATCH 0x0080 /* disable it after each delivery */
#define EV_UDATA_SPECIFIC 0x0100
#define EV_VANISHED 0x0200
#define EV_SYSFLAGS 0xF000
#define EV_FLAG0 0x1000
#define EV_FLAG1 0x2000
#define EV_ERROR 0x4000 /* returned: the change failed, data = errno (0 for a receipt) */
#define EV_EOF 0x8000   /* returned: end of file or hang-up; fflags may hold an errno */

/* EVFILT_USER: fflags of a change. */
#define NOTE_FFNOP 0x00000000
#define NOTE_FFAND 0x40000000
#define NOTE_FFOR 0x80000000
#define NOTE_FFCOPY 0xc0000000
#define NOTE_FFCTRLMASK 0xc0000000
#define NOTE_FFLAGSMASK 0x00ffffff
#define NOTE_TRIGGER 0x01000000

/* EVFILT_READ/WRITE: a low-water mark in data. Accepted, ignored by the shim. */
#define NOTE_LOWAT 0x00000001

struct kevent {
  uintptr_t ident; /* the fd for READ/WRITE; any number for USER */
  int16_t filter;  /* EVFILT_* */
  uint16_t flags;  /* EV_* */
  uint32_t fflags; /* filter-specific (NOTE_*), or an errno with EV_EOF */
  intptr_t data;   /* filter-specific: bytes readable; errno with EV_ERROR */
  void *udata;     /* passed through untouched */
};

#define EV_SET(kevp, a, b, c, d, e, f)             \
  do {                                             \
    struct kevent *async_shim_kevp_ = (kevp);      \
    async_shim_kevp_->ident = (uintptr_t)(a);      \
    async_shim_kevp_->filter = (int16_t)(b);       \
    async_shim_kevp_->flags = (uint16_t)(c);       \
    async_shim_kevp_->fflags = (uint32_t)(d);      \
    async_shim_kevp_->data = (intptr_t)(e);        \
    async_shim_kevp_->udata = (void *)(f);         \
  } while (0)

/* A new kqueue: a real fd (close(2) ends it). -1 with errno on failure. */
int kqueue(void);

/* Applies `nchanges` changes, then (when nevents > 0) waits up to `timeout`
 * (NULL: forever) for events. Returns the number of entries written to
 * `eventlist`, 0 on timeout, -1 with errno (EINTR, EBADF, ...). A change that
 * fails is reported in `eventlist` with EV_ERROR when there is room, else the
 * call fails with its errno; EV_RECEIPT reports successes the same way
 * (data 0). When any such entry was written, the call returns at once. */
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_KQUEUE_SHIM_SYS_EVENT_H */
