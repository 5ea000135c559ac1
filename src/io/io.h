// SPDX-License-Identifier: MIT
// io.h: registered fds and the fibers waiting on them (io.cpp), the poll step
// the scheduler calls (poll.cpp), and park/unpark across threads (remote.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

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

inline constexpr std::uint64_t no_deadline = UINT64_MAX;

// Who blocked SIGPIPE in the driving thread for the writes to pipes.
enum class sigpipe_hold : std::uint8_t { none, by_us, by_caller };

// How register learns what it needs about an fd: a freshly accepted socket is
// known to be a non-blocking socket, which saves three system calls.
enum class fd_origin { user, accepted_socket };

// Unparks other threads have asked for, until the owner takes them. Fibers
// are named by (slot, id), never by pointer, so a stale unpark finds nothing.
struct unpark_inbox {
  struct entry {
    std::uint32_t slot;
    std::uint64_t id;
  };
  std::mutex lock;
  std::vector<entry> entries;     // under lock
  std::vector<entry> taking;      // the owner's batch being applied (kept for its capacity)
  std::atomic<bool> nonempty{false};
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
async_status_t io_accept(task* self, io_record& io, int* fd, std::uint64_t deadline) noexcept;
async_status_t io_connect(task* self, io_record& io, const struct sockaddr* addr, unsigned len,
                          std::uint64_t deadline) noexcept;
// Waits until the fd is readable (`write` false) or writable.
async_status_t io_wait_ready(task* self, io_record& io, bool write, std::uint64_t deadline) noexcept;

// --- poll.cpp -----------------------------------------------------------------

// Picks and opens the runtime's poller (config value, else $ASYNC_BACKEND,
// else the platform's own). EINVAL for an unknown or absent backend, EIO when
// the kernel objects could not be made.
async_status_t poller_open(runtime& rt, std::uint32_t backend) noexcept;
void poller_close(runtime& rt) noexcept;
// Delivers ready fds and pending unparks; blocks up to `timeout_ns` when the
// run queue is empty (0: never blocks).
void poll_io(runtime& rt, std::uint64_t timeout_ns) noexcept;

// --- remote.cpp ---------------------------------------------------------------

async_status_t park_fiber(task* self, std::uint64_t deadline) noexcept;
// Thread-safe.
async_status_t unpark_fiber(runtime& rt, std::uint32_t slot, std::uint64_t id) noexcept;
// Applies the unparks other threads queued; owner thread only.
void take_unparks(runtime& rt) noexcept;

}  // namespace async::detail
