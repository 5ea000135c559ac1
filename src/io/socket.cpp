// SPDX-License-Identifier: MIT
// socket.cpp: address parsing and the socket(2)/bind(2)/listen(2) steps of
// the socket calls (socket.h).
#include "socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace async::detail {

namespace {

// Closes `fd` keeping the errno that made us give up; returns -1.
int give_up(int fd, int* err) noexcept {
  *err = errno;
  close(fd);
  return -1;
}

// A new socket, non-blocking and close-on-exec, or -1 with errno set.
int new_socket(int family, int type) noexcept {
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
  return socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
  const int fd = socket(family, type, 0);
  if (fd < 0 || (fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_SETFL, O_NONBLOCK) == 0)) return fd;
  int err = 0;
  give_up(fd, &err);
  errno = err;
  return -1;
#endif
}

// Stores the socket address `sa` in `out`.
template <typename Sockaddr>
bool store(const Sockaddr& sa, socket_address& out) noexcept {
  std::memset(&out, 0, sizeof out);
  std::memcpy(&out.storage, &sa, sizeof sa);
  out.len = sizeof sa;
  return true;
}

}  // namespace

bool parse_ip(const char* host, std::uint16_t port, socket_address& out) noexcept {
  if (std::strcmp(host, "localhost") == 0) host = "127.0.0.1";
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) return store(v4, out);
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(port);
  return inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 && store(v6, out);
}

bool parse_unix(const char* path, socket_address& out) noexcept {
  std::memset(&out, 0, sizeof out);
  auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
  const std::size_t n = std::strlen(path);
  if (n == 0 || n >= sizeof un->sun_path) return false;
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path, n);
  out.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + 1);
  return true;
}

int open_bound(const sockaddr* addr, socklen_t len, int type, int backlog, int* err) noexcept {
  const int fd = new_socket(addr->sa_family, type);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  const bool ip = addr->sa_family == AF_INET || addr->sa_family == AF_INET6;
  const int one = 1;
  if (ip && type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return give_up(fd, err);
  }
  if (bind(fd, addr, len) != 0) return give_up(fd, err);
  if (type == SOCK_STREAM && listen(fd, backlog) != 0) {
    *err = errno;
    close(fd);
    unlink_bound(addr, len);
    return -1;
  }
  return fd;
}

void unlink_bound(const sockaddr* addr, socklen_t len) noexcept {
  if (addr->sa_family != AF_UNIX) return;
  // sun_path need not end in a NUL within `len`: copy it out to end it.
  char path[sizeof(sockaddr_un{}.sun_path) + 1] = {};
  const std::size_t at = offsetof(sockaddr_un, sun_path);
  const std::size_t n = len > at ? len - at : 0;
  std::memcpy(path, reinterpret_cast<const sockaddr_un*>(addr)->sun_path, n < sizeof path - 1 ? n : sizeof path - 1);
  if (path[0] != '\0') unlink(path);  // an abstract address (Linux) has no file
}

int open_stream(int family, int* err) noexcept {
  const int fd = new_socket(family, SOCK_STREAM);
  if (fd < 0) *err = errno;
  return fd;
}

}  // namespace async::detail
