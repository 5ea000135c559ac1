// SPDX-License-Identifier: MIT
// poll.cpp: choosing the backend, and the poll step of the scheduler.
//
// The owner blocks in the poller only while fibers wait on ios or in
// async_park (rt.io_waiting); timers alone sleep in clock_nanosleep. Another
// thread's unpark (remote.cpp) queues itself, then notifies the poller only
// if the owner has said it is about to sleep: the two sides write their flag
// and then read the other's, both sequentially consistent, so at least one of
// them sees the other (no lost wake) and bursts cost one notify per sleep.
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "../core/runtime.h"
#include "io.h"

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

}  // namespace

async_status_t poller_open(runtime& rt, std::uint32_t backend) noexcept {
  const backend_ops* ops = choose_backend(backend);
  if (ops == nullptr) return ASYNC_EINVAL;
  rt.poll.ops = ops;
  if (!ops->open(rt.poll, rt.max_events)) return errno == ENOMEM ? ASYNC_ENOMEM : ASYNC_EIO;
  return ASYNC_OK;
}

void poller_close(runtime& rt) noexcept {
  if (rt.poll.ops != nullptr && rt.poll.fd >= 0) rt.poll.ops->close(rt.poll);
}

void poll_io(runtime& rt, std::uint64_t timeout_ns) noexcept {
  poller& p = rt.poll;
  if (timeout_ns != 0) {
    p.sleeping.store(true, std::memory_order_seq_cst);
    if (rt.inbox.nonempty.load(std::memory_order_seq_cst)) timeout_ns = 0;
  }
  p.ops->wait(p, timeout_ns, io_ready, &rt);
  if (p.sleeping.load(std::memory_order_relaxed)) {
    p.sleeping.store(false, std::memory_order_relaxed);
    p.notified.store(false, std::memory_order_relaxed);
  }
  take_unparks(rt);
}

}  // namespace async::detail
