// SPDX-License-Identifier: MIT
// async/resolve.hpp: name resolution for C++ (async_getaddrinfo of
// async/blocking.h, which runs getaddrinfo(3) on the blocking pool): the
// error category of getaddrinfo's EAI_* codes, the exception for a name that
// does not resolve, and the lookup tcp_stream::connect uses for host names.
// Included by async/io.hpp; POSIX only.
#ifndef ASYNC_RESOLVE_HPP
#define ASYNC_RESOLVE_HPP

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "../async.hpp"

namespace async {

namespace detail {
class resolve_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int value) const override { return ::gai_strerror(value); }
};
}  // namespace detail

// The category of getaddrinfo's EAI_* codes (EAI_NONAME, EAI_SERVICE,
// EAI_AGAIN, ...): name() is "getaddrinfo", message() gai_strerror(3)'s text.
inline const std::error_category& resolve_category() noexcept {
  static const detail::resolve_category_impl instance;
  return instance;
}

// A name that did not resolve. code() is status::eio, as for every failure of
// the operating system; gai_error() is getaddrinfo's EAI_* code in
// resolve_category(). what() is "<call>: <gai_strerror text>".
class resolve_error : public error {
 public:
  resolve_error(int eai, const char* where)
      : error(status::eio, (std::string(where) + ": " + ::gai_strerror(eai)).c_str()),
        gai_(eai, resolve_category()) {}

  [[nodiscard]] const std::error_code& gai_error() const noexcept { return gai_; }

 private:
  std::error_code gai_;
};

namespace detail {
// Whether `host` may be looked up as a name: dot-separated labels of
// letters, digits and hyphens (RFC 1123, a final dot allowed), at most 253
// characters, not digits and dots only. Anything else (an address literal
// that did not parse, such as "1.2.3", which getaddrinfo would read as
// 1.2.0.3, or text with spaces) is refused without a lookup.
constexpr bool is_host_name(std::string_view host) noexcept {
  if (host.empty() || host.size() > 254 || (host.size() == 254 && host.back() != '.')) return false;
  bool letter = false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '.') {
      if (label == 0 && !(i == host.size() - 1 && i != 0)) return false;  // empty label
      if (label != 0 && host[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !digit && c != '-') return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
    letter = letter || alpha || c == '-';
  }
  if (label != 0 && host.back() == '-') return false;
  return letter;
}

struct addrinfo_deleter {
  void operator()(addrinfo* a) const noexcept { ::freeaddrinfo(a); }
};
using addrinfo_ptr = std::unique_ptr<addrinfo, addrinfo_deleter>;

// The stream-socket addresses of `host` (any family, in getaddrinfo's
// order) with `port`, looked up on the blocking pool: the calling fiber
// waits, its runtime runs on. On failure returns nullptr and sets ec: the
// EAI_* code in resolve_category(), the errno for EAI_SYSTEM, or the
// async::status (estate outside a fiber, enomem). Throws async::cancelled.
inline addrinfo_ptr resolve_stream(std::string_view host, std::uint16_t port, std::error_code& ec) {
  const std::string node(host);  // NUL-terminated for the C call
  const std::string service = std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai = 0;
  const async_status_t st = async_getaddrinfo(node.c_str(), service.c_str(), &hints, &res, &gai);
  if (st == ASYNC_OK) {
    ec.clear();
    return addrinfo_ptr(res);
  }
  if (st == ASYNC_ECANCELED) throw cancelled();
  if (st == ASYNC_EIO && gai == EAI_SYSTEM) {
    ec.assign(errno, std::system_category());
  } else if (st == ASYNC_EIO) {
    ec.assign(gai, resolve_category());
  } else {
    ec = make_error_code(static_cast<status>(st));
  }
  return nullptr;
}
}  // namespace detail

}  // namespace async

#endif  // ASYNC_RESOLVE_HPP
