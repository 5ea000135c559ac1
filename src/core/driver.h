// SPDX-License-Identifier: MIT
// driver.h: what the scheduler needs from the I/O layer, and nothing more
// (the shape of tokio's driver park/unpark). Core declares it; src/io
// implements it (io/driver.cpp) and core never includes io: the scheduler
// blocks in wait(), any thread ends that wait with notify(), and the driver
// keeps its own state (the poller, the registered ios) behind runtime::io.
#pragma once

#include <cstdint>

#include "async.h"

namespace async::detail {

struct runtime;
struct task;
struct driver_state;  // the driver's per-runtime state, defined in src/io

struct driver_ops {
  // Makes rt.io (config value, else $ASYNC_BACKEND, else the platform's
  // poller). ASYNC_EINVAL for an unknown or absent backend, ASYNC_EIO when
  // the kernel objects could not be made, ASYNC_ENOMEM.
  async_status_t (*open)(runtime& rt, std::uint32_t backend);
  // Detaches every io still registered (their fds stay open) and frees rt.io.
  void (*close)(runtime& rt);
  // Wakes the fibers whose I/O is ready; blocks up to `timeout_ns` for some
  // (0: never; UINT64_MAX: no limit) unless notify() is or was called.
  void (*wait)(runtime& rt, std::uint64_t timeout_ns);
  // Any thread: makes a blocked wait(), or the next one, return.
  void (*notify)(runtime& rt);
  // The thread's drive of rt ends (io gives back the signal mask it took).
  void (*end_drive)(runtime& rt);
  // "epoll", "kqueue".
  const char* (*name)(const runtime& rt);
  // The fd a fiber parked in an I/O wait (wait_kind io_read / io_write)
  // waits on. Reads the io's record only: dumps call it from a signal
  // handler too.
  int (*wait_fd)(const task& t);
};

// The driver runtimes use (src/io/driver.cpp).
const driver_ops& io_driver() noexcept;

}  // namespace async::detail
