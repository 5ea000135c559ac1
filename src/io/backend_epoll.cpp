// SPDX-License-Identifier: MIT
// backend_epoll.cpp: the Linux poller. Each fd is added once, for both
// directions, edge-triggered (EPOLLET), with the io record as data.ptr; the
// wake-up channel is an eventfd, level-triggered, whose data.ptr is null.
#include "backend.h"

#if defined(__linux__)

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace async::detail {
namespace {

epoll_event* events_of(poller& p) noexcept { return static_cast<epoll_event*>(p.events); }

bool epoll_open(poller& p, std::size_t max_events) noexcept {
  p.events = new_array<epoll_event>(max_events);
  if (p.events == nullptr) {
    errno = ENOMEM;
    return false;
  }
  p.max_events = max_events;
  p.fd = epoll_create1(EPOLL_CLOEXEC);
  if (p.fd >= 0) p.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p.wake_fd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    if (epoll_ctl(p.fd, EPOLL_CTL_ADD, p.wake_fd, &ev) == 0) return true;
  }
  const int err = errno;
  if (p.wake_fd >= 0) close(p.wake_fd);
  if (p.fd >= 0) close(p.fd);
  delete_array(events_of(p), p.max_events);
  p.fd = p.wake_fd = -1;
  p.events = nullptr;
  errno = err;
  return false;
}

void epoll_close_poller(poller& p) noexcept {
  if (p.wake_fd >= 0) close(p.wake_fd);
  if (p.fd >= 0) close(p.fd);
  delete_array(events_of(p), p.max_events);
  p.fd = p.wake_fd = -1;
  p.events = nullptr;
}

add_result epoll_add(poller& p, int fd, void* cookie) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = cookie;
  if (epoll_ctl(p.fd, EPOLL_CTL_ADD, fd, &ev) == 0) return add_result::ok;
  // Regular files and some devices: epoll refuses them, they never block.
  return errno == EPERM ? add_result::not_pollable : add_result::failed;
}

void epoll_remove(poller& p, int fd) noexcept {
  epoll_event ev{};  // ignored, but kernels before 2.6.9 wanted non-null
  epoll_ctl(p.fd, EPOLL_CTL_DEL, fd, &ev);
}

void drain_wake(poller& p) noexcept {
  std::uint64_t count;
  while (read(p.wake_fd, &count, sizeof count) < 0 && errno == EINTR) {
  }
}

int wait_events(poller& p, std::uint64_t timeout_ns) noexcept {
  const int max = static_cast<int>(p.max_events);
  if (timeout_ns == 0) return epoll_wait(p.fd, events_of(p), max, 0);
  if (timeout_ns == UINT64_MAX) return epoll_wait(p.fd, events_of(p), max, -1);
  // epoll_pwait2 (Linux 5.11) takes nanoseconds; epoll_wait only whole
  // milliseconds, rounded up so a timer is never polled for early in a loop
  // of zero-length waits.
  static std::atomic<bool> have_pwait2{true};  // false once the kernel said ENOSYS
  if (have_pwait2.load(std::memory_order_relaxed)) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1000000000u);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1000000000u);
    const int n = epoll_pwait2(p.fd, events_of(p), max, &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2.store(false, std::memory_order_relaxed);
  }
  const std::uint64_t ms = (timeout_ns + 999999u) / 1000000u;
  return epoll_wait(p.fd, events_of(p), max, ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms));
}

std::size_t epoll_wait_ready(poller& p, std::uint64_t timeout_ns,
                             void (*ready)(void*, unsigned, void*), void* ctx) noexcept {
  const int n = wait_events(p, timeout_ns);
  std::size_t delivered = 0;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events_of(p)[i];
    if (ev.data.ptr == nullptr) {
      drain_wake(p);
      continue;
    }
    unsigned bits = 0;
    if ((ev.events & (EPOLLIN | EPOLLRDHUP)) != 0) bits |= io_readable;
    if ((ev.events & EPOLLRDHUP) != 0) bits |= io_read_closed;
    if ((ev.events & EPOLLOUT) != 0) bits |= io_writable;
    if ((ev.events & (EPOLLERR | EPOLLHUP)) != 0) bits |= io_failed;
    ready(ev.data.ptr, bits, ctx);
    ++delivered;
  }
  return delivered;  // n < 0: EINTR (or a bug); the caller simply polls again
}

void epoll_notify(poller& p) noexcept {
  const std::uint64_t one = 1;
  while (write(p.wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

constexpr backend_ops epoll_ops = {
    "epoll", epoll_open, epoll_close_poller, epoll_add, epoll_remove, epoll_wait_ready, epoll_notify,
};

}  // namespace

const backend_ops* epoll_backend() noexcept { return &epoll_ops; }

}  // namespace async::detail

#else

namespace async::detail {
const backend_ops* epoll_backend() noexcept { return nullptr; }
}  // namespace async::detail

#endif
