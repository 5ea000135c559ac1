// SPDX-License-Identifier: MIT
// io.cpp: registered fds and the fibers that wait on them.
//
// A call makes its system call while the io is known ready in its direction
// and parks, on the io's reader or writer list, once the kernel says EAGAIN
// (or a short read or write on a stream says the buffer ran empty or full);
// the poller's edge (io_ready) marks the io ready again and wakes the whole
// list in FIFO order, and each fiber retries. A wait also ends by its deadline
// (the task's timer: ETIMEDOUT), by async_io_close (ECLOSED) or by a cancel
// (ECANCELED); wake() takes the fiber out of whichever it was not woken by.
#include "io.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "../core/fiber.h"
#include "../core/runtime.h"

namespace async::detail {
namespace {

void link_io(runtime& rt, io_record& io) noexcept {
  rt.io->ios.push_front(&io);
  ++rt.io_registered;
}

void unlink_io(runtime& rt, io_record& io) noexcept {
  rt.io->ios.remove(&io);
  --rt.io_registered;
}

void wake_all(task_list& list, async_status_t st) noexcept {
  while (task* t = list.head) wake(t, st);
}

bool set_nonblocking(int fd) noexcept {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  return (flags & O_NONBLOCK) != 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

async_status_t os_error(io_record& io, int err) noexcept {
  io.last_errno = err;
  return ASYNC_EIO;
}

// Parks `self` on one of io's lists until the io is ready again, the
// deadline passes, the io is closed or the fiber is cancelled. OK means
// "retry": readiness is a hint, never a promise.
async_status_t wait_for(task* self, io_record& io, task_list& list, std::uint64_t deadline) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  runtime& rt = *self->rt;
  if (deadline != no_deadline && deadline <= clock_ns(rt)) return ASYNC_ETIMEDOUT;
  if (io.kind == io_kind::always_ready) {
    // No poller event will ever come (a device that says EAGAIN but cannot
    // be polled): let the others run, then retry.
    io.ready = io_readable | io_writable;
    return yield_fiber(self);
  }
  if (deadline != no_deadline) rt.timers.arm(self, deadline);
  wait_on(self, list, &list == &io.readers ? wait_kind::io_read : wait_kind::io_write);
  ++rt.io_waiting;
  const async_status_t st = park(self);
  --rt.io_waiting;
  // Woken by readiness, but closed by another fiber before this one ran.
  if (st == ASYNC_OK && io.state != io_state::open) return ASYNC_ECLOSED;
  return st;
}

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

sigset_t sigpipe_set() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return set;
}

// Takes the SIGPIPE a failed write just raised on this thread (blocked, so
// it is pending) before anyone can see it.
void discard_pending_sigpipe() noexcept {
  const sigset_t set = sigpipe_set();
  const timespec zero{};
  while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE || errno == EINTR) {
  }
}

// write(2) on a pipe or other non-socket without ever raising SIGPIPE
// (docs/low_level.md, SIGPIPE). The signal is blocked in the driving thread from the
// runtime's first such write until the drive ends (sigpipe_end_drive), not
// around every write: that would cost two more system calls per write. One
// a write raises is consumed at once.
ssize_t write_no_sigpipe(runtime& rt, int fd, const void* buf, std::size_t len) noexcept {
  if (rt.io->sigpipe == sigpipe_hold::none) {
    const sigset_t set = sigpipe_set();
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &set, &old);
    rt.io->sigpipe = sigismember(&old, SIGPIPE) == 1 ? sigpipe_hold::by_caller : sigpipe_hold::by_us;
  }
  // Blocked by the caller: a SIGPIPE already pending is theirs, not ours.
  bool was_pending = false;
  if (rt.io->sigpipe == sigpipe_hold::by_caller) {
    sigset_t pending;
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE) == 1;
  }
  const ssize_t r = write(fd, buf, len);
  const int err = errno;
  if (r < 0 && err == EPIPE && !was_pending) discard_pending_sigpipe();
  errno = err;
  return r;
}

ssize_t write_once(io_record& io, const void* buf, std::size_t len) noexcept {
  if (io.kind == io_kind::socket) {
#ifdef MSG_NOSIGNAL
    return send(io.fd, buf, len, MSG_NOSIGNAL);
#else
    return send(io.fd, buf, len, 0);  // SO_NOSIGPIPE was set at register
#endif
  }
  if (io.kind == io_kind::stream) return write_no_sigpipe(*io.rt, io.fd, buf, len);
  return write(io.fd, buf, len);
}

// Whether the fd is ready now (level), without waiting: for the calls whose
// own system call does not tell (connect, readiness waits).
bool ready_now(int fd, bool write) noexcept {
  pollfd p{};
  p.fd = fd;
  p.events = write ? POLLOUT : POLLIN;
  int r;
  while ((r = ::poll(&p, 1, 0)) < 0 && errno == EINTR) {
  }
  return r > 0;
}

// The kernel said (or implied) "would block" in direction `bit`: the next
// call waits for an edge first, unless the io hung up, after which no edge
// comes and calls no longer block.
void forget_ready(io_record& io, unsigned bit) noexcept {
  io.ready = static_cast<std::uint8_t>(io.ready & ~(bit & ~io.ready_for_good));
}

bool is_stream_socket(int fd) noexcept {
  int type = 0;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

// After a stream's read or write of `done` of `wanted` bytes: a short count
// means the kernel buffer ran empty (read) or full (write) just now. Zero is
// not short: end of file stays readable.
void note_short(io_record& io, std::size_t done, std::size_t wanted, unsigned bit) noexcept {
  if (io.short_io_drains && done != 0 && done < wanted) forget_ready(io, bit);
}

int accept_nonblocking(int fd) noexcept {
#if defined(__linux__) || defined(__FreeBSD__)
  return accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
  const int c = accept(fd, nullptr, nullptr);
  if (c < 0) return c;
  if (fcntl(c, F_SETFD, FD_CLOEXEC) != 0 || !set_nonblocking(c)) {
    const int err = errno;
    close(c);
    errno = err;
    return -1;
  }
  return c;
#endif
}

}  // namespace

async_status_t io_register(runtime& rt, io_record& io, int fd, fd_origin origin) noexcept {
  io_kind kind = io_kind::socket;
  bool short_io_drains = true;  // an accepted socket is a stream socket
  if (origin == fd_origin::user) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !set_nonblocking(fd)) return os_error(io, errno);
    kind = S_ISSOCK(st.st_mode) ? io_kind::socket : io_kind::stream;
    short_io_drains = S_ISFIFO(st.st_mode) || (S_ISSOCK(st.st_mode) && is_stream_socket(fd));
  }
#ifdef SO_NOSIGPIPE
  if (kind == io_kind::socket) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  }
#endif
  switch (rt.io->poll.ops->add(rt.io->poll, fd, &io)) {
    case add_result::ok:
      break;
    case add_result::not_pollable:
      kind = io_kind::always_ready;
      break;
    case add_result::failed:
      return os_error(io, errno);
  }
  io.rt = &rt;
  io.readers = task_list{};
  io.writers = task_list{};
  io.fd = fd;
  io.last_errno = 0;
  io.kind = kind;
  io.ready = io_readable | io_writable;
  io.ready_for_good = 0;
  io.short_io_drains = short_io_drains && kind != io_kind::always_ready;
  io.state = io_state::open;
  link_io(rt, io);
  return ASYNC_OK;
}

void sigpipe_end_drive(runtime& rt) noexcept {
  if (rt.io->sigpipe == sigpipe_hold::by_us) {
    // Whatever SIGPIPE this thread raised meanwhile (a raw write in a fiber)
    // is discarded with ours: unblocking would deliver it, late.
    discard_pending_sigpipe();
    const sigset_t set = sigpipe_set();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
  rt.io->sigpipe = sigpipe_hold::none;
}

int io_release(io_record& io) noexcept {
  const int fd = io.fd;
  if (io.state == io_state::open) {
    runtime& rt = *io.rt;
    // Deregister first: the poller tracks the open file, which a dup of the
    // fd would keep alive (and firing) after close.
    if (io.kind != io_kind::always_ready) rt.io->poll.ops->remove(rt.io->poll, fd);
    unlink_io(rt, io);
    wake_all(io.readers, ASYNC_ECLOSED);
    wake_all(io.writers, ASYNC_ECLOSED);
  }
  io.state = io_state::closed;
  io.rt = nullptr;
  io.fd = -1;
  return fd;
}

async_status_t io_close(io_record& io) noexcept {
  const int fd = io_release(io);
  // POSIX leaves the fd's state unspecified after EINTR from close; on Linux
  // and the BSDs it is closed. Never retry: the number may be reused already.
  if (close(fd) != 0 && errno != EINTR) return os_error(io, errno);
  return ASYNC_OK;
}

void io_ready(void* cookie, unsigned bits, void*) noexcept {
  auto* io = static_cast<io_record*>(cookie);
  if ((bits & io_failed) != 0) io->ready_for_good = io_readable | io_writable;
  if ((bits & io_read_closed) != 0) io->ready_for_good |= io_readable;
  if ((bits & (io_readable | io_failed)) != 0) {
    io->ready |= io_readable;
    wake_all(io->readers, ASYNC_OK);
  }
  if ((bits & (io_writable | io_failed)) != 0) {
    io->ready |= io_writable;
    wake_all(io->writers, ASYNC_OK);
  }
}

void io_detach_all(runtime& rt) noexcept {
  while (io_record* io = rt.io->ios.head) {
    unlink_io(rt, *io);
    io->readers = task_list{};
    io->writers = task_list{};
    io->rt = nullptr;
    io->state = io_state::detached;
  }
}

namespace {

// The loop of every call that moves data: try the system call while the io
// is known ready, park until an edge when it is not. `op` returns the
// syscall's result with errno; `bit` is the direction. A deadline already
// past still gets one try, even when the io is known not ready.
template <typename Op>
async_status_t transfer(task* self, io_record& io, unsigned bit, std::size_t len, std::size_t* n,
                        std::uint64_t deadline, Op op) noexcept {
  *n = 0;
  if (self->cancelled) return ASYNC_ECANCELED;
  task_list& waiters = bit == io_readable ? io.readers : io.writers;
  bool tried = false;
  for (;;) {
    if ((io.ready & bit) != 0) {
      tried = true;
      const ssize_t r = op();
      if (r >= 0) {
        *n = static_cast<std::size_t>(r);
        note_short(io, *n, len, bit);
        return ASYNC_OK;
      }
      if (errno == EINTR) continue;
      if (!would_block(errno)) return os_error(io, errno);
      forget_ready(io, bit);
    }
    const async_status_t st = wait_for(self, io, waiters, deadline);
    if (st == ASYNC_ETIMEDOUT && !tried) {
      io.ready |= bit;  // the one try a past deadline still gets
      continue;
    }
    if (st != ASYNC_OK) return st;
  }
}

}  // namespace

async_status_t io_read(task* self, io_record& io, void* buf, std::size_t len, std::size_t* n,
                       std::uint64_t deadline) noexcept {
  return transfer(self, io, io_readable, len, n, deadline, [&] { return read(io.fd, buf, len); });
}

async_status_t io_write(task* self, io_record& io, const void* buf, std::size_t len,
                        std::size_t* n, std::uint64_t deadline) noexcept {
  return transfer(self, io, io_writable, len, n, deadline, [&] { return write_once(io, buf, len); });
}

// One datagram each (recvfrom/sendto move whole datagrams); on a stream
// socket they move bytes like io_read/io_write, and transfer's short-count
// rule applies as there.
async_status_t io_recvfrom(task* self, io_record& io, void* buf, std::size_t len, std::size_t* n,
                           struct sockaddr* from, unsigned* fromlen, std::uint64_t deadline) noexcept {
  socklen_t alen = fromlen != nullptr ? static_cast<socklen_t>(*fromlen) : 0;
  const async_status_t st = transfer(self, io, io_readable, len, n, deadline, [&] {
    // Re-armed on every try: a failed try may have written it.
    alen = fromlen != nullptr ? static_cast<socklen_t>(*fromlen) : 0;
    return recvfrom(io.fd, buf, len, 0, from, from != nullptr ? &alen : nullptr);
  });
  if (st == ASYNC_OK && fromlen != nullptr) *fromlen = static_cast<unsigned>(alen);
  return st;
}

async_status_t io_sendto(task* self, io_record& io, const void* buf, std::size_t len, std::size_t* n,
                         const struct sockaddr* to, unsigned tolen, std::uint64_t deadline) noexcept {
  return transfer(self, io, io_writable, len, n, deadline, [&] {
#ifdef MSG_NOSIGNAL
    return sendto(io.fd, buf, len, MSG_NOSIGNAL, to, static_cast<socklen_t>(tolen));
#else
    return sendto(io.fd, buf, len, 0, to, static_cast<socklen_t>(tolen));  // SO_NOSIGPIPE set at register
#endif
  });
}

async_status_t io_accept(task* self, io_record& io, int* fd, std::uint64_t deadline) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  for (;;) {
    const int c = accept_nonblocking(io.fd);
    if (c >= 0) {
      *fd = c;
      return ASYNC_OK;
    }
    // A connection that died in the backlog, or a signal: try the next one.
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if (!would_block(errno)) return os_error(io, errno);
    const async_status_t st = wait_for(self, io, io.readers, deadline);
    if (st != ASYNC_OK) return st;
  }
}

async_status_t io_connect(task* self, io_record& io, const struct sockaddr* addr, unsigned len,
                          std::uint64_t deadline) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  if (connect(io.fd, addr, static_cast<socklen_t>(len)) == 0) return ASYNC_OK;
  // EINTR: the connection goes on asynchronously, as with EINPROGRESS.
  if (errno != EINPROGRESS && errno != EINTR) return os_error(io, errno);
  do {
    const async_status_t st = wait_for(self, io, io.writers, deadline);
    if (st != ASYNC_OK) return st;
  } while (!ready_now(io.fd, true));
  int err = 0;
  socklen_t err_len = sizeof err;
  if (getsockopt(io.fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
  return err == 0 ? ASYNC_OK : os_error(io, err);
}

async_status_t io_wait_ready(task* self, io_record& io, bool write, std::uint64_t deadline) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  if (io.kind == io_kind::always_ready) return ASYNC_OK;
  // The poller reports edges: one that came while nobody waited is gone, so
  // ask for the level first. An edge after this check is queued for us.
  while (!ready_now(io.fd, write)) {
    const async_status_t st = wait_for(self, io, write ? io.writers : io.readers, deadline);
    if (st != ASYNC_OK) return st;
  }
  return ASYNC_OK;
}

}  // namespace async::detail
