// SPDX-License-Identifier: MIT
// backend.h: the one internal interface between the runtime and an OS
// poller. A backend only reports readiness; everything about fibers (who
// waits, in which order, deadlines) is io.cpp's. One file per backend:
// backend_epoll.cpp (Linux), backend_kqueue.cpp (macOS, the BSDs; on Linux
// only in test builds, over tests/kqueue_shim).
//
// The strategy every backend follows (docs/low_level.md, The poller strategy): an fd is
// registered once, for both directions, edge-triggered; I/O calls try the
// system call first and wait only after EAGAIN. An edge that arrives after
// the EAGAIN stays queued in the kernel until the next wait, so none is lost.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

// The backends take their event buffers from the library's heap (new_array).
#include "../core/alloc.h"

namespace async::detail {

// Readiness bits a backend reports for one registered fd.
enum : unsigned {
  io_readable = 1u,     // data, end of file, or a pending connection
  io_writable = 2u,
  io_failed = 4u,       // error or hang-up: wakes both directions, and neither
                        // direction will block again (calls fail or see EOF)
  io_read_closed = 8u,  // the peer shut its writing side: reads see EOF from
                        // now on and never block again (epoll EPOLLRDHUP,
                        // kqueue EV_EOF on the read filter)
};

// What add() can answer besides success.
enum class add_result { ok, not_pollable, failed };

struct poller;

// The method table of a backend. Every method but notify() is called only by
// the thread that owns the runtime.
struct backend_ops {
  const char* name;
  // Creates the kernel objects (the poll set and the wake-up channel) and an
  // event buffer of `max_events`. False with errno set on failure.
  bool (*open)(poller& p, std::size_t max_events);
  void (*close)(poller& p);
  // Watches `fd` for both directions; events carry `cookie`.
  // not_pollable: the OS cannot watch this kind of fd (a regular file).
  add_result (*add)(poller& p, int fd, void* cookie);
  // Stops watching `fd` (before it is closed: pollers track open files).
  void (*remove)(poller& p, int fd);
  // Waits until an fd is ready, notify() is called, or `timeout_ns` passes
  // (0: do not block; UINT64_MAX: no timeout), and calls
  // `ready(cookie, bits, ctx)` for each ready fd. Returns the number of fd
  // events delivered; a notify is absorbed and not counted.
  std::size_t (*wait)(poller& p, std::uint64_t timeout_ns,
                      void (*ready)(void* cookie, unsigned bits, void* ctx), void* ctx);
  // Thread-safe: makes a wait() that is blocked, or the next one, return.
  void (*notify)(poller& p);
};

// A poller instance. The backend keeps its kernel handles here.
struct poller {
  const backend_ops* ops = nullptr;
  int fd = -1;       // the epoll or kqueue fd
  int wake_fd = -1;  // the eventfd (epoll); kqueue uses EVFILT_USER instead
  void* events = nullptr;  // the backend's event buffer
  std::size_t max_events = 0;
};

// The backends this build has (nullptr when absent).
const backend_ops* epoll_backend() noexcept;
const backend_ops* kqueue_backend() noexcept;

}  // namespace async::detail
