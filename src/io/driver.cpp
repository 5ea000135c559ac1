// SPDX-License-Identifier: MIT
// driver.cpp: the I/O driver of core/driver.h: choosing the backend, and
// waiting in it. The scheduler decides when to wait and for how long, and
// handles what other threads send (core/remote.cpp); here a wait only asks
// the poller and wakes the fibers whose fds are ready (io_ready).
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "../core/alloc.h"
#include "../core/runtime.h"
#include "io.h"
#include "signal.h"

namespace async::detail {
namespace {

const backend_ops* backend_named(const char* name) noexcept {
  if (std::strcmp(name, "epoll") == 0) return epoll_backend();
  if (std::strcmp(name, "kqueue") == 0) return kqueue_backend();
  return nullptr;
}

// The platform's own backend.
const backend_ops* native_backend() noexcept {
  const backend_ops* ops = epoll_backend();
  return ops != nullptr ? ops : kqueue_backend();
}

const backend_ops* choose_backend(std::uint32_t backend) noexcept {
  switch (backend) {
    case ASYNC_BACKEND_EPOLL:
      return epoll_backend();
    case ASYNC_BACKEND_KQUEUE:
      return kqueue_backend();
    default:
      break;
  }
  const char* env = std::getenv("ASYNC_BACKEND");
  if (env != nullptr && env[0] != '\0') return backend_named(env);
  return native_backend();
}

async_status_t driver_open(runtime& rt, std::uint32_t backend) noexcept {
  const backend_ops* ops = choose_backend(backend);
  if (ops == nullptr) return ASYNC_EINVAL;
  auto* io = heap_new<driver_state>();
  if (io == nullptr) return ASYNC_ENOMEM;
  io->poll.ops = ops;
  if (!ops->open(io->poll, rt.max_events)) {
    const async_status_t st = errno == ENOMEM ? ASYNC_ENOMEM : ASYNC_EIO;
    heap_delete(io);
    return st;
  }
  rt.io = io;
  return ASYNC_OK;
}

void driver_close(runtime& rt) noexcept {
  driver_state* io = rt.io;
  if (io == nullptr) return;
  io_detach_all(rt);
  // Its fibers' signal waits were withdrawn with the other waits.
  signal_release(io->signals_held);
  if (io->poll.fd >= 0) io->poll.ops->close(io->poll);
  heap_delete(io);
  rt.io = nullptr;
}

void driver_wait(runtime& rt, std::uint64_t timeout_ns) noexcept {
  poller& p = rt.io->poll;
  p.ops->wait(p, timeout_ns, io_ready, &rt);
}

void driver_notify(runtime& rt) noexcept {
  poller& p = rt.io->poll;
  p.ops->notify(p);
}

void driver_end_drive(runtime& rt) noexcept {
  if (rt.io->sigpipe != sigpipe_hold::none) sigpipe_end_drive(rt);
}

const char* driver_name(const runtime& rt) noexcept { return rt.io->poll.ops->name; }

// The wait list is one of the io_record's two (io.cpp, wait_for).
int driver_wait_fd(const task& t) {
  const auto* list = reinterpret_cast<const char*>(t.wait_list);
  const std::size_t at = t.wait == wait_kind::io_read ? offsetof(io_record, readers) : offsetof(io_record, writers);
  return reinterpret_cast<const io_record*>(list - at)->fd;
}

constexpr driver_ops io_driver_ops = {
    driver_open, driver_close, driver_wait, driver_notify, driver_end_drive, driver_name, driver_wait_fd,
};

}  // namespace

const driver_ops& io_driver() noexcept { return io_driver_ops; }

}  // namespace async::detail
