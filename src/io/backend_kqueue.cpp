// SPDX-License-Identifier: MIT
// backend_kqueue.cpp: the kqueue poller (macOS, FreeBSD and the other BSDs),
// behind backend.h. It is not a port layer: everything about fibers is
// io.cpp's. On Linux it is built only in test builds, over the epoll-based
// shim in tests/kqueue_shim (-DASYNC_KQUEUE_SHIM=ON); what that cannot prove
// is in docs/platforms.md.
//
// Only <sys/event.h> and POSIX headers: the file must compile unchanged
// against the macOS SDK and FreeBSD's headers (.ci/run checks the include
// list). struct kevent differs between them (FreeBSD 12+: 64-bit data and
// ext[4]), so every kevent is filled with EV_SET, never positionally.
#include "backend.h"

#if ASYNC_HAVE_KQUEUE

#include <errno.h>
#include <fcntl.h>
#include <sys/event.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <new>

namespace async::detail {
namespace {

// The ident of the EVFILT_USER knote notify() triggers. User knotes have
// their own namespace: this is not fd 0.
constexpr uintptr_t wake_ident = 0;

struct kevent* event_buffer(poller& p) noexcept { return static_cast<struct kevent*>(p.events); }

// Applies `n` changes with EV_RECEIPT, so each gets its own result, and
// stores the errno of each (0: applied) in `errs`. False if kevent itself
// failed.
bool apply_changes(int kq, struct kevent* changes, int n, int* errs) noexcept {
  struct kevent results[2];
  if (n > 2) return false;
  for (int i = 0; i < n; ++i) changes[i].flags |= EV_RECEIPT;
  struct timespec zero = {0, 0};
  int got;
  do got = kevent(kq, changes, n, results, n, &zero);
  while (got < 0 && errno == EINTR);  // changes are applied even then (kevent(2))
  if (got < 0) return false;
  for (int i = 0; i < n; ++i) errs[i] = 0;
  for (int i = 0; i < got; ++i) {
    if (!(results[i].flags & EV_ERROR)) continue;
    for (int j = 0; j < n; ++j) {
      if (results[i].filter == changes[j].filter) errs[j] = static_cast<int>(results[i].data);
    }
  }
  return true;
}

bool kq_open(poller& p, std::size_t max_events) {
  if (max_events == 0 || max_events > 1u << 20) {
    errno = EINVAL;
    return false;
  }
  int kq = kqueue();
  if (kq < 0) return false;
  // A kqueue is not inherited by fork() anyway; this keeps it out of exec'd
  // programs where a kqueue fd could be inherited (and the shim's epoll fd).
  (void)fcntl(kq, F_SETFD, FD_CLOEXEC);
  struct kevent wake;
  EV_SET(&wake, wake_ident, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  int err = 0;
  if (!apply_changes(kq, &wake, 1, &err) || err != 0) {
    int saved = err != 0 ? err : errno;
    close(kq);
    errno = saved;
    return false;
  }
  auto* events = new_array<struct kevent>(max_events);
  if (!events) {
    close(kq);
    errno = ENOMEM;
    return false;
  }
  p.fd = kq;
  p.wake_fd = -1;
  p.events = events;
  p.max_events = max_events;
  return true;
}

void kq_close(poller& p) {
  if (p.fd >= 0) close(p.fd);
  delete_array(event_buffer(p), p.max_events);
  p.fd = -1;
  p.events = nullptr;
  p.max_events = 0;
}

// Errors with which a kqueue refuses a kind of fd rather than failing:
// EINVAL (macOS: devices without a kqueue filter, e.g. some ttys), ENODEV
// (FreeBSD: a device without d_kqfilter), EOPNOTSUPP, and EPERM (epoll's
// refusal, seen through the Linux test shim).
bool refuses_kind(int err) noexcept {
  return err == EINVAL || err == ENODEV || err == EOPNOTSUPP || err == ENOTSUP || err == EPERM;
}

add_result kq_add(poller& p, int fd, void* cookie) {
  struct stat st;
  if (fstat(fd, &st) < 0) return add_result::failed;
  // A real kqueue accepts regular files (always ready; EVFILT_READ's data is
  // the bytes left to end of file) while epoll refuses them. Answer
  // not_pollable here without asking, so that both backends treat files
  // alike: io.cpp never parks on them.
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return add_result::not_pollable;
  // Register only the directions the fd is open for: the read end of a pipe
  // takes no EVFILT_WRITE on some kernels, and a call in the other direction
  // fails at once (EBADF) without waiting.
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return add_result::failed;
  int mode = fl & O_ACCMODE;
  struct kevent changes[2];
  int n = 0;
  if (mode != O_WRONLY) EV_SET(&changes[n++], fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, cookie);
  if (mode != O_RDONLY) EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, cookie);
  int errs[2] = {0, 0};
  if (!apply_changes(p.fd, changes, n, errs)) return add_result::failed;
  int err = 0;
  for (int i = 0; i < n; ++i) {
    // EPIPE (FreeBSD): EVFILT_WRITE on a pipe whose reader is gone. The
    // first write fails with EPIPE without waiting, so nothing is missed.
    if (errs[i] == EPIPE && changes[i].filter == EVFILT_WRITE) continue;
    if (errs[i] != 0 && err == 0) err = errs[i];
  }
  if (err == 0) return add_result::ok;
  // Undo the half that went in.
  struct kevent undo[2];
  int m = 0;
  for (int i = 0; i < n; ++i) {
    if (errs[i] == 0) EV_SET(&undo[m++], fd, changes[i].filter, EV_DELETE, 0, 0, nullptr);
  }
  int ignored[2];
  if (m > 0) (void)apply_changes(p.fd, undo, m, ignored);
  errno = err;
  return refuses_kind(err) ? add_result::not_pollable : add_result::failed;
}

void kq_remove(poller& p, int fd) {
  // Both filters; ENOENT for the one add() did not register (or for an fd
  // it refused) is expected and ignored, as is everything else: there is
  // nothing a caller about to close the fd could do about it.
  struct kevent changes[2];
  EV_SET(&changes[0], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
  EV_SET(&changes[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  int errs[2];
  int saved = errno;
  (void)apply_changes(p.fd, changes, 2, errs);
  errno = saved;
}

std::size_t kq_wait(poller& p, std::uint64_t timeout_ns,
                    void (*ready)(void* cookie, unsigned bits, void* ctx), void* ctx) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ns != UINT64_MAX) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1000000000u);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1000000000u);
    tsp = &ts;
  }
  struct kevent* ev = event_buffer(p);
  int got = kevent(p.fd, nullptr, 0, ev, static_cast<int>(p.max_events), tsp);
  if (got <= 0) return 0;  // EINTR (or worse): io.cpp's loop calls again

  // READ and WRITE are separate knotes: merge them so that each fd is
  // reported once per wait, in the order its first event came, as epoll
  // does. The buffer holds the merged list: udata = cookie, fflags = bits.
  int out = 0;
  for (int i = 0; i < got; ++i) {
    const struct kevent& e = ev[i];
    unsigned bits = 0;
    if (e.filter == EVFILT_USER) continue;  // notify(): the wait returns, nothing more
    if (e.flags & EV_ERROR) {
      bits = io_failed;  // only changes report errors, and wait sends none
    } else if (e.filter == EVFILT_READ) {
      bits = io_readable;
      // EV_EOF: the peer shut down its writing side (a read returns 0);
      // fflags is the socket error, if any.
      if (e.flags & EV_EOF) bits |= io_read_closed;
      if ((e.flags & EV_EOF) && e.fflags != 0) bits |= io_failed;
    } else if (e.filter == EVFILT_WRITE) {
      bits = io_writable;
      // EV_EOF on the write side: nothing more can be sent (the reader is
      // gone, or we shut our own writing side), so a write fails at once
      // with EPIPE and never blocks. Not io_failed by itself: after our own
      // shutdown(SHUT_WR) reads must still wait for the peer's data (epoll
      // reports plain EPOLLOUT there). fflags is the socket error, if any.
      if ((e.flags & EV_EOF) && e.fflags != 0) bits |= io_failed;
    } else {
      continue;
    }
    void* cookie = e.udata;
    int j = 0;
    while (j < out && ev[j].udata != cookie) ++j;
    if (j < out) {
      ev[j].fflags |= bits;
    } else {
      EV_SET(&ev[out], 0, 0, 0, bits, 0, cookie);
      ++out;
    }
  }
  for (int i = 0; i < out; ++i) ready(ev[i].udata, ev[i].fflags, ctx);
  return static_cast<std::size_t>(out);
}

void kq_notify(poller& p) {
  int saved = errno;  // any thread calls this; leave its errno alone
  struct kevent ev;
  EV_SET(&ev, wake_ident, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  int r;
  do r = kevent(p.fd, &ev, 1, nullptr, 0, nullptr);
  while (r < 0 && errno == EINTR);
  errno = saved;
}

constexpr backend_ops kqueue_ops = {
    "kqueue", kq_open, kq_close, kq_add, kq_remove, kq_wait, kq_notify,
};

}  // namespace

const backend_ops* kqueue_backend() noexcept { return &kqueue_ops; }

}  // namespace async::detail

#else  // !ASYNC_HAVE_KQUEUE

namespace async::detail {
const backend_ops* kqueue_backend() noexcept { return nullptr; }
}  // namespace async::detail

#endif
