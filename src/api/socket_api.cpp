// SPDX-License-Identifier: MIT
// socket_api.cpp: the extern "C" boundary of include/async/io.h's "sockets"
// section. Every check the header names comes before a socket is made, so a
// call that fails on its arguments or its thread leaves nothing behind; the
// OS steps are src/io/socket.cpp's, registration is async_io_register_with's.
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "../core/fiber.h"
#include "../core/runtime.h"
#include "../io/io.h"
#include "../io/socket.h"
#include "async.h"

using namespace async::detail;

namespace {

bool is_zeroed(const async_io_t* io) noexcept {
  static constexpr async_io_t zero{};
  return std::memcmp(io, &zero, sizeof zero) == 0;
}

// The checks every call shares: a zeroed io and a usable address.
async_status_t check_io_and_address(const async_io_t* io, const sockaddr* addr, unsigned addrlen) noexcept {
  if (io == nullptr || !is_zeroed(io) || addr == nullptr) return ASYNC_EINVAL;
  return addrlen == 0 || addrlen > sizeof(sockaddr_storage) ? ASYNC_EINVAL : ASYNC_OK;
}

// The runtime a call without _with registers on: the calling fiber's, else
// the thread's global one (nullptr when that cannot be made).
async_runtime_t* default_runtime() noexcept {
  task* self = current_fiber();
  return self != nullptr ? self->rt->handle : async_global();
}

// Whether the caller may register an io on `rt` (async_io_register_with's
// checks, made before a socket exists).
async_status_t check_runtime(async_runtime_t* rt) noexcept {
  const runtime* r = runtime_of(rt);
  if (r == nullptr) return rt == nullptr ? ASYNC_ENOMEM : ASYNC_EINVAL;
  return owned_by_caller(*r) && !r->closing ? ASYNC_OK : ASYNC_ESTATE;
}

// Reports the errno of an OS step on the still unregistered io.
async_status_t os_failure(async_io_t* io, int err) noexcept {
  record_of(io)->last_errno = err;
  return ASYNC_EIO;
}

// Registers the new socket `fd` in `io` on `rt`; on failure closes it,
// keeping register's errno in `io`.
async_status_t adopt(async_runtime_t* rt, async_io_t* io, int fd) noexcept {
  const async_status_t st = async_io_register_with(rt, io, fd);
  if (st != ASYNC_OK) close(fd);
  return st;
}

async_status_t open_on(async_runtime_t* rt, async_io_t* io, const sockaddr* addr, unsigned addrlen, int type,
                       int backlog) noexcept {
  async_status_t st = check_io_and_address(io, addr, addrlen);
  if (st == ASYNC_OK && backlog < 0) st = ASYNC_EINVAL;
  if (st == ASYNC_OK) st = check_runtime(rt);
  if (st != ASYNC_OK) return st;
  int err = 0;
  const int fd = open_bound(addr, addrlen, type, backlog, &err);
  if (fd < 0) return os_failure(io, err);
  st = adopt(rt, io, fd);
  if (st != ASYNC_OK) unlink_bound(addr, addrlen);
  return st;
}

// Fills addr/addrlen from a parsed address when it fits.
async_status_t copy_out(const socket_address& parsed, sockaddr* addr, unsigned* addrlen) noexcept {
  if (*addrlen < parsed.len) return ASYNC_EINVAL;
  std::memcpy(addr, &parsed.storage, parsed.len);
  *addrlen = parsed.len;
  return ASYNC_OK;
}

// Parses `host` and `port` as async_addr_ip does, then calls
// `then(addr, addrlen)`.
template <typename Then>
async_status_t on_ip(const char* host, uint16_t port, Then then) noexcept {
  sockaddr_storage ss;
  unsigned len = sizeof ss;
  auto* addr = reinterpret_cast<sockaddr*>(&ss);
  const async_status_t st = async_addr_ip(host, port, addr, &len);
  return st == ASYNC_OK ? then(addr, len) : st;
}

}  // namespace

extern "C" {

ASYNC_API async_status_t async_addr_ip(const char* host, uint16_t port, struct sockaddr* addr,
                                       unsigned* addrlen) noexcept {
  if (host == nullptr || addr == nullptr || addrlen == nullptr) return ASYNC_EINVAL;
  if (strnlen(host, ASYNC_ADDR_IP_MAX + 1) > ASYNC_ADDR_IP_MAX) return ASYNC_EINVAL;
  socket_address parsed;
  return parse_ip(host, port, parsed) ? copy_out(parsed, addr, addrlen) : ASYNC_EINVAL;
}

ASYNC_API async_status_t async_addr_unix(const char* path, struct sockaddr* addr, unsigned* addrlen) noexcept {
  if (path == nullptr || addr == nullptr || addrlen == nullptr) return ASYNC_EINVAL;
  socket_address parsed;
  return parse_unix(path, parsed) ? copy_out(parsed, addr, addrlen) : ASYNC_EINVAL;
}

ASYNC_API async_status_t async_socket_listen_with(async_runtime_t* rt, async_io_t* io, const struct sockaddr* addr,
                                                  unsigned addrlen, int backlog) noexcept {
  if (rt == nullptr) return ASYNC_EINVAL;
  return open_on(rt, io, addr, addrlen, SOCK_STREAM, backlog);
}

ASYNC_API async_status_t async_socket_listen(async_io_t* io, const struct sockaddr* addr, unsigned addrlen,
                                             int backlog) noexcept {
  return open_on(default_runtime(), io, addr, addrlen, SOCK_STREAM, backlog);
}

ASYNC_API async_status_t async_socket_bind_dgram_with(async_runtime_t* rt, async_io_t* io,
                                                      const struct sockaddr* addr, unsigned addrlen) noexcept {
  if (rt == nullptr) return ASYNC_EINVAL;
  return open_on(rt, io, addr, addrlen, SOCK_DGRAM, 0);
}

ASYNC_API async_status_t async_socket_bind_dgram(async_io_t* io, const struct sockaddr* addr,
                                                 unsigned addrlen) noexcept {
  return open_on(default_runtime(), io, addr, addrlen, SOCK_DGRAM, 0);
}

ASYNC_API async_status_t async_socket_connect_until(async_io_t* io, const struct sockaddr* addr, unsigned addrlen,
                                                    uint64_t deadline_ns) noexcept {
  async_status_t st = check_io_and_address(io, addr, addrlen);
  if (st != ASYNC_OK) return st;
  task* self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  if (self->cancelled) return ASYNC_ECANCELED;
  int err = 0;
  const int fd = open_stream(addr->sa_family, &err);
  if (fd < 0) return os_failure(io, err);
  st = adopt(self->rt->handle, io, fd);
  if (st != ASYNC_OK) return st;
  st = async_connect_until(io, addr, addrlen, deadline_ns);
  if (st != ASYNC_OK) {
    // Keep why it failed across the close, which may set an errno of its own.
    const int why = async_io_errno(io);
    (void)async_io_close(io);
    std::memset(io, 0, sizeof *io);
    record_of(io)->last_errno = why;
  }
  return st;
}

ASYNC_API async_status_t async_socket_connect(async_io_t* io, const struct sockaddr* addr,
                                              unsigned addrlen) noexcept {
  return async_socket_connect_until(io, addr, addrlen, ASYNC_NO_DEADLINE);
}

ASYNC_API async_status_t async_tcp_listen_with(async_runtime_t* rt, async_io_t* io, const char* host, uint16_t port,
                                               int backlog) noexcept {
  return on_ip(host, port, [&](const sockaddr* addr, unsigned len) {
    return async_socket_listen_with(rt, io, addr, len, backlog);
  });
}

ASYNC_API async_status_t async_tcp_listen(async_io_t* io, const char* host, uint16_t port, int backlog) noexcept {
  return on_ip(host, port, [&](const sockaddr* addr, unsigned len) {
    return async_socket_listen(io, addr, len, backlog);
  });
}

ASYNC_API async_status_t async_tcp_connect_until(async_io_t* io, const char* host, uint16_t port,
                                                 uint64_t deadline_ns) noexcept {
  return on_ip(host, port, [&](const sockaddr* addr, unsigned len) {
    return async_socket_connect_until(io, addr, len, deadline_ns);
  });
}

ASYNC_API async_status_t async_tcp_connect(async_io_t* io, const char* host, uint16_t port) noexcept {
  return async_tcp_connect_until(io, host, port, ASYNC_NO_DEADLINE);
}

}  // extern "C"
