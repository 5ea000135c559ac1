/* SPDX-License-Identifier: MIT */
/* async/status.h: the one list of status codes; the enum, async_status_name()
 * and async_strerror() are all generated from it so they cannot drift. */
#ifndef ASYNC_STATUS_H
#define ASYNC_STATUS_H

/* X(name, value, text). Codes are the library's own fixed numbers, not errno
 * values (those differ between Linux and macOS). 0 is success so that
 * `return async_run();` from main exits 0; every error is negative. */
#define ASYNC_STATUS_MAP(X)                                                        \
  X(OK, 0, "success")                                                              \
  X(EINVAL, -1, "invalid argument or misuse")                                      \
  X(ENOMEM, -2, "out of memory or no fiber stack could be had")                    \
  X(EFULL, -3, "a fixed capacity is exhausted")                                    \
  X(ECLOSED, -4, "closed")                                                         \
  X(ECANCELED, -5, "canceled")                                                     \
  X(ETIMEDOUT, -6, "timed out")                                                    \
  X(EAGAIN, -7, "would block")                                                     \
  X(EIO, -8, "operating system I/O error")                                         \
  X(ESTATE, -9, "wrong state (e.g. not in a fiber, or run re-entered)")           \
  X(EDEADLK, -10, "fibers are blocked forever")

#define ASYNC_STATUS_ENUM_ENTRY_(name, value, text) ASYNC_##name = (value),

typedef enum async_status { ASYNC_STATUS_MAP(ASYNC_STATUS_ENUM_ENTRY_) } async_status_t;

#endif
