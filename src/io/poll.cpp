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

// Before blocking while fibers sit in async_park, spin this long (bounded by
// the timeout) for an unpark to land in the inbox. Unparks from other
// threads often follow the park within microseconds (a data mover's worker
// finishing a small copy); catching them here spares the eventfd write and
// the wake-up of a sleeping thread, which costs 5-20 us or more on a loaded
// 2-CPU machine. Fibers waiting only on ios or timers do not spin. True
// when an unpark came: the poll is then non-blocking and never says it
// sleeps, so unparkers arriving meanwhile do not write the eventfd either.
constexpr std::uint64_t park_spin_ns = 5000;

bool spin_for_unpark(runtime& rt, std::uint64_t timeout_ns) noexcept {
  const std::uint64_t limit = timeout_ns < park_spin_ns ? timeout_ns : park_spin_ns;
  const std::uint64_t t0 = now_ns();
  for (unsigned i = 1; !rt.inbox.nonempty.load(std::memory_order_acquire); ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
    if ((i & 15) == 0 && now_ns() - t0 >= limit) return false;
  }
  return true;
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
  if (timeout_ns != 0 && !rt.parkers.empty() && spin_for_unpark(rt, timeout_ns)) timeout_ns = 0;
  if (timeout_ns != 0) {
    p.sleeping.store(true, std::memory_order_seq_cst);
    if (rt.inbox.nonempty.load(std::memory_order_seq_cst)) timeout_ns = 0;
  }
  // A non-blocking poll with no io registered could only report the wake
  // channel, and the inbox is read below anyway: skip the system call (a
  // notify left in the eventfd ends the next blocking wait early, at worst).
  if (timeout_ns != 0 || rt.io_registered != 0) p.ops->wait(p, timeout_ns, io_ready, &rt);
  if (p.sleeping.load(std::memory_order_relaxed)) p.sleeping.store(false, std::memory_order_relaxed);
  // Cleared after every wait, a non-blocking one too: that one may drain a
  // notify too (one sent for an earlier sleep and written late), and a
  // `notified` left set with nothing pending would make every later
  // unparker skip its notify while the owner blocks: a lost wake (seen as a
  // hang in mini.bridge_test under TSan). Clearing early costs at most a
  // spurious wake-up.
  if (p.notified.load(std::memory_order_relaxed)) p.notified.store(false, std::memory_order_relaxed);
  take_unparks(rt);
}

}  // namespace async::detail
