// SPDX-License-Identifier: MIT
// socket.h: making sockets for the calls of include/async/io.h's "sockets"
// section: address parsing and the socket(2)/bind(2)/listen(2) steps. Plain
// POSIX, no runtime: src/api/socket_api.cpp checks the arguments and
// registers what these make.
#ifndef ASYNC_IO_SOCKET_H
#define ASYNC_IO_SOCKET_H

#include <sys/socket.h>

#include <cstdint>

namespace async::detail {

// A socket address and its length, as the OS calls take them.
struct socket_address {
  sockaddr_storage storage;
  socklen_t len;
};

// Numeric IPv4 or IPv6 text, or "localhost" (127.0.0.1), and a port; false
// for anything else.
bool parse_ip(const char* host, std::uint16_t port, socket_address& out) noexcept;

// A filesystem path as an AF_UNIX address; false for an empty path or one
// too long for sun_path.
bool parse_unix(const char* path, socket_address& out) noexcept;

// A new non-blocking, close-on-exec socket of `type` in addr's family, bound
// to `addr` and, for SOCK_STREAM, listening with `backlog`. Returns the fd,
// or -1 with `*err` the errno; then nothing stays open and an AF_UNIX path
// bound is unlinked again.
int open_bound(const sockaddr* addr, socklen_t len, int type, int backlog, int* err) noexcept;

// Unlinks the path of an AF_UNIX address bound by open_bound (a listener
// given up after all); nothing for other families.
void unlink_bound(const sockaddr* addr, socklen_t len) noexcept;

// A new non-blocking, close-on-exec stream socket in `family`, or -1 with
// `*err` the errno.
int open_stream(int family, int* err) noexcept;

}  // namespace async::detail

#endif
