// SPDX-License-Identifier: MIT
// io_api.cpp: the extern "C" boundary for fiber-blocking I/O and park/unpark.
// Every misuse the header names returns its status here, before any system
// call: a zeroed io is never mistaken for fd 0.
#include <unistd.h>

#include <cstring>

#include "../core/fiber.h"
#include "../core/runtime.h"
#include "../io/io.h"
#include "async.h"

using namespace async::detail;

namespace {

bool is_zeroed(const async_io_t* io) noexcept {
  static constexpr async_io_t zero{};
  return std::memcmp(io, &zero, sizeof zero) == 0;
}

// Checks a blocking call on `io`: the io is open and the caller is one of
// its runtime's fibers.
async_status_t enter(async_io_t* io, io_record*& rec, task*& self) noexcept {
  if (io == nullptr) return ASYNC_EINVAL;
  rec = record_of(io);
  if (rec->state != io_state::open) return ASYNC_EINVAL;
  self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  return self->rt == rec->rt ? ASYNC_OK : ASYNC_EINVAL;
}

async_status_t register_on(async_runtime_t* rt, async_io_t* io, int fd) noexcept {
  runtime* r = runtime_of(rt);
  if (r == nullptr || io == nullptr || fd < 0 || !is_zeroed(io)) return ASYNC_EINVAL;
  if (!owned_by_caller(*r) || r->closing) return ASYNC_ESTATE;
  return io_register(*r, *record_of(io), fd, fd_origin::user);
}

// The checks of one read or write, then `op(self, rec)`.
template <typename Op>
async_status_t move_once(async_io_t* io, const void* buf, size_t len, size_t* n, Op op) noexcept {
  if (n == nullptr) return ASYNC_EINVAL;
  *n = 0;
  if (buf == nullptr && len != 0) return ASYNC_EINVAL;
  io_record* rec;
  task* self;
  const async_status_t st = enter(io, rec, self);
  return st == ASYNC_OK ? op(self, *rec) : st;
}

async_status_t read_exact(async_io_t* io, void* buf, size_t len, size_t* n, uint64_t deadline) noexcept {
  size_t done = 0;
  io_record* rec;
  task* self;
  async_status_t st = enter(io, rec, self);
  while (st == ASYNC_OK && done < len) {
    size_t got;
    st = io_read(self, *rec, static_cast<char*>(buf) + done, len - done, &got, deadline);
    if (st == ASYNC_OK && got == 0) st = ASYNC_ECLOSED;  // end of file first
    done += got;
  }
  if (n != nullptr) *n = done;
  return st;
}

async_status_t write_all(async_io_t* io, const void* buf, size_t len, size_t* n, uint64_t deadline) noexcept {
  size_t done = 0;
  io_record* rec;
  task* self;
  async_status_t st = enter(io, rec, self);
  // One write even for len 0, so the call still reports a dead peer or a close.
  while (st == ASYNC_OK && (done < len || len == 0)) {
    size_t put;
    st = io_write(self, *rec, static_cast<const char*>(buf) + done, len - done, &put, deadline);
    done += put;
    if (len == 0) break;
  }
  if (n != nullptr) *n = done;
  return st;
}

async_status_t accept_raw(async_io_t* listener, int* fd, uint64_t deadline) noexcept {
  if (fd == nullptr) return ASYNC_EINVAL;
  io_record* rec;
  task* self;
  const async_status_t st = enter(listener, rec, self);
  return st == ASYNC_OK ? io_accept(self, *rec, fd, deadline) : st;
}

async_status_t accept_registered(async_io_t* listener, async_io_t* client, uint64_t deadline) noexcept {
  if (client == nullptr || !is_zeroed(client)) return ASYNC_EINVAL;
  io_record* rec;
  task* self;
  async_status_t st = enter(listener, rec, self);
  if (st != ASYNC_OK) return st;
  int fd = -1;
  st = io_accept(self, *rec, &fd, deadline);
  if (st != ASYNC_OK) return st;
  st = io_register(*rec->rt, *record_of(client), fd, fd_origin::accepted_socket);
  if (st != ASYNC_OK) {
    // Nothing registered: report why on the listener, drop the connection.
    rec->last_errno = record_of(client)->last_errno;
    std::memset(client, 0, sizeof *client);
    close(fd);
  }
  return st;
}

async_status_t wait_ready(async_io_t* io, bool write, uint64_t deadline) noexcept {
  io_record* rec;
  task* self;
  const async_status_t st = enter(io, rec, self);
  return st == ASYNC_OK ? io_wait_ready(self, *rec, write, deadline) : st;
}

}  // namespace

extern "C" {

ASYNC_API async_status_t async_io_register(async_io_t* io, int fd) noexcept {
  task* self = current_fiber();
  return register_on(self != nullptr ? self->rt->handle : async_global(), io, fd);
}

ASYNC_API async_status_t async_io_register_with(async_runtime_t* rt, async_io_t* io, int fd) noexcept {
  return register_on(rt, io, fd);
}

ASYNC_API async_status_t async_read_until(async_io_t* io, void* buf, size_t len, size_t* n,
                                          uint64_t deadline_ns) noexcept {
  return move_once(io, buf, len, n, [&](task* self, io_record& rec) {
    return io_read(self, rec, buf, len, n, deadline_ns);
  });
}

ASYNC_API async_status_t async_read(async_io_t* io, void* buf, size_t len, size_t* n) noexcept {
  return async_read_until(io, buf, len, n, no_deadline);
}

ASYNC_API async_status_t async_write_until(async_io_t* io, const void* buf, size_t len, size_t* n,
                                           uint64_t deadline_ns) noexcept {
  return move_once(io, buf, len, n, [&](task* self, io_record& rec) {
    return io_write(self, rec, buf, len, n, deadline_ns);
  });
}

ASYNC_API async_status_t async_write(async_io_t* io, const void* buf, size_t len, size_t* n) noexcept {
  return async_write_until(io, buf, len, n, no_deadline);
}

ASYNC_API async_status_t async_read_exact_until(async_io_t* io, void* buf, size_t len, size_t* n,
                                                uint64_t deadline_ns) noexcept {
  if (n != nullptr) *n = 0;
  if (buf == nullptr && len != 0) return ASYNC_EINVAL;
  return read_exact(io, buf, len, n, deadline_ns);
}

ASYNC_API async_status_t async_read_exact(async_io_t* io, void* buf, size_t len, size_t* n) noexcept {
  return async_read_exact_until(io, buf, len, n, no_deadline);
}

ASYNC_API async_status_t async_write_all_until(async_io_t* io, const void* buf, size_t len, size_t* n,
                                               uint64_t deadline_ns) noexcept {
  if (n != nullptr) *n = 0;
  if (buf == nullptr && len != 0) return ASYNC_EINVAL;
  return write_all(io, buf, len, n, deadline_ns);
}

ASYNC_API async_status_t async_write_all(async_io_t* io, const void* buf, size_t len, size_t* n) noexcept {
  return async_write_all_until(io, buf, len, n, no_deadline);
}

ASYNC_API async_status_t async_accept_io(async_io_t* listener, async_io_t* client) noexcept {
  return accept_registered(listener, client, no_deadline);
}

ASYNC_API async_status_t async_accept_io_until(async_io_t* listener, async_io_t* client,
                                               uint64_t deadline_ns) noexcept {
  return accept_registered(listener, client, deadline_ns);
}

ASYNC_API async_status_t async_accept(async_io_t* listener, int* fd) noexcept {
  return accept_raw(listener, fd, no_deadline);
}

ASYNC_API async_status_t async_accept_until(async_io_t* listener, int* fd, uint64_t deadline_ns) noexcept {
  return accept_raw(listener, fd, deadline_ns);
}

ASYNC_API async_status_t async_connect_until(async_io_t* io, const struct sockaddr* addr,
                                             unsigned addrlen, uint64_t deadline_ns) noexcept {
  if (addr == nullptr) return ASYNC_EINVAL;
  io_record* rec;
  task* self;
  const async_status_t st = enter(io, rec, self);
  return st == ASYNC_OK ? io_connect(self, *rec, addr, addrlen, deadline_ns) : st;
}

ASYNC_API async_status_t async_connect(async_io_t* io, const struct sockaddr* addr, unsigned addrlen) noexcept {
  return async_connect_until(io, addr, addrlen, no_deadline);
}

// --- datagrams: the checks of move_once, plus the address pairs' ---------------

ASYNC_API async_status_t async_recvfrom_until(async_io_t* io, void* buf, size_t len, size_t* n,
                                              struct sockaddr* from, unsigned* fromlen,
                                              uint64_t deadline_ns) noexcept {
  if (n != nullptr) *n = 0;
  if ((from == nullptr) != (fromlen == nullptr)) return ASYNC_EINVAL;
  return move_once(io, buf, len, n, [&](task* self, io_record& rec) {
    return io_recvfrom(self, rec, buf, len, n, from, fromlen, deadline_ns);
  });
}

ASYNC_API async_status_t async_recvfrom(async_io_t* io, void* buf, size_t len, size_t* n,
                                        struct sockaddr* from, unsigned* fromlen) noexcept {
  return async_recvfrom_until(io, buf, len, n, from, fromlen, no_deadline);
}

ASYNC_API async_status_t async_sendto_until(async_io_t* io, const void* buf, size_t len, size_t* n,
                                            const struct sockaddr* to, unsigned tolen,
                                            uint64_t deadline_ns) noexcept {
  if (n != nullptr) *n = 0;
  if ((to == nullptr) != (tolen == 0)) return ASYNC_EINVAL;
  return move_once(io, buf, len, n, [&](task* self, io_record& rec) {
    return io_sendto(self, rec, buf, len, n, to, tolen, deadline_ns);
  });
}

ASYNC_API async_status_t async_sendto(async_io_t* io, const void* buf, size_t len, size_t* n,
                                      const struct sockaddr* to, unsigned tolen) noexcept {
  return async_sendto_until(io, buf, len, n, to, tolen, no_deadline);
}

ASYNC_API async_status_t async_io_wait_readable(async_io_t* io) noexcept { return wait_ready(io, false, no_deadline); }

ASYNC_API async_status_t async_io_wait_readable_until(async_io_t* io, uint64_t deadline_ns) noexcept {
  return wait_ready(io, false, deadline_ns);
}

ASYNC_API async_status_t async_io_wait_writable(async_io_t* io) noexcept { return wait_ready(io, true, no_deadline); }

ASYNC_API async_status_t async_io_wait_writable_until(async_io_t* io, uint64_t deadline_ns) noexcept {
  return wait_ready(io, true, deadline_ns);
}

namespace {

// Checks that `io` may be closed or released by the caller.
async_status_t may_end(async_io_t* io) noexcept {
  if (io == nullptr) return ASYNC_EINVAL;
  const io_record* rec = record_of(io);
  if (rec->state == io_state::open) return owned_by_caller(*rec->rt) ? ASYNC_OK : ASYNC_ESTATE;
  return rec->state == io_state::detached ? ASYNC_OK : ASYNC_EINVAL;
}

}  // namespace

ASYNC_API async_status_t async_io_close(async_io_t* io) noexcept {
  const async_status_t st = may_end(io);
  return st == ASYNC_OK ? io_close(*record_of(io)) : st;
}

ASYNC_API async_status_t async_io_release(async_io_t* io, int* fd) noexcept {
  if (fd == nullptr) return ASYNC_EINVAL;
  const async_status_t st = may_end(io);
  if (st == ASYNC_OK) *fd = io_release(*record_of(io));
  return st;
}

ASYNC_API int async_io_errno(const async_io_t* io) noexcept { return io != nullptr ? record_of(io)->last_errno : 0; }

ASYNC_API int async_io_fd(const async_io_t* io) noexcept {
  if (io == nullptr) return -1;
  const io_record* rec = record_of(io);
  return rec->state == io_state::open ? rec->fd : -1;
}

ASYNC_API async_status_t async_park(void) noexcept {
  task* self = current_fiber();
  return self != nullptr ? park_fiber(self, no_deadline) : ASYNC_ESTATE;
}

ASYNC_API async_status_t async_park_until_ns(uint64_t deadline_ns) noexcept {
  task* self = current_fiber();
  return self != nullptr ? park_fiber(self, deadline_ns) : ASYNC_ESTATE;
}

ASYNC_API async_status_t async_unpark(async_fiber_handle_t h) noexcept {
  runtime* r = runtime_of(h.runtime);
  if (r == nullptr || h.id == 0) return ASYNC_EINVAL;
  // From any thread: only what is fixed at init is read here (the table's
  // size, the id base), never a task record. A slot past the table is
  // forged. Ids are id_base | counter, and id bases grow with every runtime
  // made, so an id below this runtime's base names a fiber of an earlier
  // runtime initialised in the same struct. (Not `!=`: a counter past 2^40
  // spawns carries into the base bits, and its fibers must stay unparkable.)
  if (h.slot >= r->task_capacity || h.id <= r->id_base) return ASYNC_EINVAL;
  return unpark_fiber(*r, h.slot, h.id);
}

ASYNC_API const char* async_runtime_backend(async_runtime_t* rt) noexcept {
  runtime* r = runtime_of(rt);
  return r != nullptr ? r->drv->name(*r) : nullptr;
}

}  // extern "C"
