// SPDX-License-Identifier: MIT
// io.h: registered fds and the fibers waiting on them (io.cpp), and the
// driver the scheduler blocks in (driver.cpp, implementing core/driver.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "../core/driver.h"
#include "../core/remote.h"
#include "../core/intrusive_list.h"
#include "../core/task.h"
#include "async.h"
#include "backend.h"

namespace async::detail {

struct runtime;

enum class io_state : std::uint8_t {
  zeroed = 0,  // as the user handed it over: never registered
  open,        // registered with rt
  closed,      // closed by async_io_close
  detached,    // its runtime was shut down while it was open; fd still open
};

enum class io_kind : std::uint8_t {
  socket,        // written with send(MSG_NOSIGNAL)
  stream,        // pipe, fifo, tty, ...: SIGPIPE is blocked around writes
  always_ready,  // the poller cannot watch it (a regular file): never parks
};

// The private layout of async_io_t. Lives in the user's memory; the poller's
// events carry its address.
struct io_record {
  runtime* rt;
  io_record* next;  // the runtime's registered ios, so shutdown can detach them
  io_record* prev;
  task_list readers;  // fibers waiting to read (or accept), FIFO
  task_list writers;  // fibers waiting to write (or connect), FIFO
  int fd;
  int last_errno;
  io_state state;
  io_kind kind;
  // Readiness as last known (io_readable / io_writable bits): set by the
  // poller's edges, cleared when the kernel says EAGAIN or, for streams, when
  // a read or write comes back short (the buffer was drained or filled), so
  // the next call parks at once instead of making a system call that would
  // only say EAGAIN. Starts "ready": the first call always tries.
  std::uint8_t ready;
  std::uint8_t ready_for_good;  // bits of `ready` never cleared again: after a
                                // hang-up or error no edge would follow
  bool short_io_drains;  // a pipe, fifo or stream socket (not a datagram, not a tty)
};
static_assert(sizeof(io_record) <= sizeof(async_io_t), "async_io_t too small");
static_assert(alignof(io_record) <= alignof(async_io_t), "async_io_t misaligned");

inline io_record* record_of(async_io_t* io) noexcept { return reinterpret_cast<io_record*>(io); }
inline const io_record* record_of(const async_io_t* io) noexcept {
  return reinterpret_cast<const io_record*>(io);
}



// Who blocked SIGPIPE in the driving thread for the writes to pipes.
enum class sigpipe_hold : std::uint8_t { none, by_us, by_caller };

// How register learns what it needs about an fd: a freshly accepted socket is
// known to be a non-blocking socket, which saves three system calls.
enum class fd_origin { user, accepted_socket };

// The driver's state for one runtime (runtime::io).
struct driver_state {
  poller poll;
  intrusive_list<io_record> ios;  // registered ios, newest first
  sigpipe_hold sigpipe = sigpipe_hold::none;  // for writes to pipes, this drive
  std::uint64_t signals_held = 0;  // signals its fibers waited for (signal.h), until shutdown
};

// --- io.cpp -------------------------------------------------------------------

async_status_t io_register(runtime& rt, io_record& io, int fd, fd_origin origin) noexcept;
async_status_t io_close(io_record& io) noexcept;
// The drive ends: the thread's SIGPIPE mask is given back (see io.cpp).
void sigpipe_end_drive(runtime& rt) noexcept;
// Deregisters (an open io), wakes its waiters with ECLOSED and marks it
// closed; returns the fd, which stays open.
int io_release(io_record& io) noexcept;
// Called by the backend for each ready fd: wakes its waiters in FIFO order.
void io_ready(void* cookie, unsigned bits, void* rt) noexcept;
// The runtime is being destroyed: every io still open is detached.
void io_detach_all(runtime& rt) noexcept;

// The blocking calls; `self` runs on io.rt. `n` is never null.
async_status_t io_read(task* self, io_record& io, void* buf, std::size_t len, std::size_t* n,
                       std::uint64_t deadline) noexcept;
async_status_t io_write(task* self, io_record& io, const void* buf, std::size_t len,
                        std::size_t* n, std::uint64_t deadline) noexcept;
// One datagram: `from`/`fromlen` both null or both set (checked by the caller).
async_status_t io_recvfrom(task* self, io_record& io, void* buf, std::size_t len, std::size_t* n,
                           struct sockaddr* from, unsigned* fromlen, std::uint64_t deadline) noexcept;
async_status_t io_sendto(task* self, io_record& io, const void* buf, std::size_t len, std::size_t* n,
                         const struct sockaddr* to, unsigned tolen, std::uint64_t deadline) noexcept;
async_status_t io_accept(task* self, io_record& io, int* fd, std::uint64_t deadline) noexcept;
async_status_t io_connect(task* self, io_record& io, const struct sockaddr* addr, unsigned len,
                          std::uint64_t deadline) noexcept;
// Waits until the fd is readable (`write` false) or writable.
async_status_t io_wait_ready(task* self, io_record& io, bool write, std::uint64_t deadline) noexcept;

// --- driver.cpp: the driver_ops of core/driver.h ---------------------------

}  // namespace async::detail
