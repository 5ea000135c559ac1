// SPDX-License-Identifier: MIT
// async/io.hpp: C++20 wrappers over the fiber-blocking I/O of async/io.h:
// an RAII owner of a registered fd (io_handle), TCP streams and listeners,
// and pipes. It adds RAII, std::chrono timeouts and std::error_code errors,
// never behaviour the C calls lack: read async/io.h for the model (a call
// suspends only the calling fiber; several fibers may wait on one handle,
// woken in the order they began waiting; nothing raises SIGPIPE). POSIX only
// (sockets). Sockets are made by the C calls of async/io.h's "sockets"
// section (async_tcp_listen, async_socket_connect_until, ...), so they
// behave as there. Include it on its own; it includes async.hpp:
//
//   #include "async/io.hpp"
//   auto listener = async::tcp_listener::bind("127.0.0.1", 0);
//   async::tcp_stream s = listener.accept();           // inside a fiber
//   std::byte buf[4096];
//   while (std::size_t n = s.read_some(buf)) s.write_all({buf, n});
//
// Threads: as in C, a handle is used by the fibers of its runtime and, for
// the calls that do not suspend (close, release, endpoints, options), by
// the thread that owns the runtime. Nothing here is synchronised.
//
// Errors. Every call that can fail comes in two forms:
//  - The throwing form throws async::io_error for an error of the operating
//    system (status eio: ECONNREFUSED, ECONNRESET, EPIPE, ...): its code() is
//    status::eio and os_error() the errno as a std::system_category() code.
//    Every other failure throws async::error with the async::status as
//    code(): etimedout (a timed call ran out), eclosed (the handle was
//    closed, while waiting or before; for read_exact also end of file before
//    the buffer was full), einval (an empty, moved-from or closed handle, an
//    address that does not parse, a handle of another runtime than the
//    calling fiber's), estate (a suspending call outside any fiber, or from a
//    thread that does not own the runtime), enomem.
//  - The form taking a trailing `std::error_code& ec` throws nothing for
//    these: it clears ec on success, and on failure sets ec to the errno as a
//    std::system_category() code for an OS error (so
//    `ec == std::errc::connection_refused` works) or to the async::status
//    otherwise (`ec == async::status::etimedout`). It suits the expected
//    failures of a hot path: timeouts, a peer that went away. Its result (a
//    byte count) is still meaningful on failure: how much was done before.
// End of file is not an error: read_some returns 0.
//
// Cancellation surfaces as an exception in both forms, as everywhere in
// async.hpp: a call that suspends throws async::cancelled once the calling
// fiber is cancelled (before or while it waits; no data was consumed or
// written by that call then, and the handle stays usable), so the fiber's
// stack unwinds.
//
// Timeouts: each suspending call has a _for form taking a std::chrono
// duration (rounded up to whole nanoseconds) and an _until form taking a
// std::chrono::steady_clock time point (an absolute deadline, so retries do
// not stretch the total wait; on Linux steady_clock is the runtime's clock).
// A deadline already past still tries the operation once, without waiting.
// Running out is status::etimedout; nothing was transferred by the call that
// timed out, except by read_exact/write_all, whose ec form says how much.
#ifndef ASYNC_IO_HPP
#define ASYNC_IO_HPP

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ranges>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "../async.hpp"
#include "resolve.hpp"

namespace async {

// ------------------------------------------------------------------- errors

// An error of the operating system (status::eio). code() is status::eio, as
// for every async::error; os_error() is the errno in std::system_category().
// what() is "<call>: <strerror text>".
class io_error : public error {
 public:
  io_error(int os_errno, const char* where)
      : error(status::eio, (std::string(where) + ": " + std::system_category().message(os_errno)).c_str()),
        os_(os_errno, std::system_category()) {}

  [[nodiscard]] const std::error_code& os_error() const noexcept { return os_; }

 private:
  std::error_code os_;
};

// ------------------------------------------------------------------ buffers

namespace detail {
template <class T>
concept byte_like = std::same_as<std::remove_cv_t<T>, std::byte> || std::same_as<std::remove_cv_t<T>, char> ||
                    std::same_as<std::remove_cv_t<T>, unsigned char> ||
                    std::same_as<std::remove_cv_t<T>, signed char>;

template <class R>
concept byte_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                     byte_like<std::ranges::range_value_t<R>>;

template <class R>
concept char_array = std::is_array_v<std::remove_reference_t<R>> &&
                     std::same_as<std::remove_cv_t<std::remove_extent_t<std::remove_reference_t<R>>>, char>;
}  // namespace detail

// Bytes to read into: a pointer and a size. Converts implicitly from any
// contiguous, sized range of std::byte, char, signed or unsigned char with
// non-const elements (an array, std::array, std::vector, std::string,
// std::span: the whole of it), or is made from ({pointer, size}).
class mutable_buffer {
 public:
  constexpr mutable_buffer() noexcept = default;
  constexpr mutable_buffer(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  template <class R>
    requires detail::byte_range<R> && (!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>)
  constexpr mutable_buffer(R&& r) noexcept  // NOLINT(google-explicit-constructor)
      : data_(std::ranges::data(r)), size_(std::ranges::size(r)) {}

  [[nodiscard]] constexpr void* data() const noexcept { return data_; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// Bytes to write: a pointer and a size. Converts implicitly from what
// mutable_buffer does (the whole range), from ranges of const bytes, from a
// std::string_view, and from a C string (a char array or pointer: up to its
// NUL, so "ping" is 4 bytes; give {pointer, size} for binary data in a char
// array).
class const_buffer {
 public:
  constexpr const_buffer() noexcept = default;
  constexpr const_buffer(const void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  constexpr const_buffer(mutable_buffer b) noexcept  // NOLINT(google-explicit-constructor)
      : data_(b.data()), size_(b.size()) {}
  constexpr const_buffer(std::string_view s) noexcept  // NOLINT(google-explicit-constructor)
      : data_(s.data()), size_(s.size()) {}
  constexpr const_buffer(const char* s) noexcept  // NOLINT(google-explicit-constructor)
      : const_buffer(std::string_view(s)) {}
  template <class R>
    requires detail::byte_range<R> && (!detail::char_array<R>)
  constexpr const_buffer(R&& r) noexcept  // NOLINT(google-explicit-constructor)
      : data_(std::ranges::data(r)), size_(std::ranges::size(r)) {}

  [[nodiscard]] constexpr const void* data() const noexcept { return data_; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }

 private:
  const void* data_ = nullptr;
  std::size_t size_ = 0;
};

// ----------------------------------------------------------------- endpoint

// An IP address (numeric text: "127.0.0.1", "::1") and a port.
struct endpoint {
  std::string address;
  std::uint16_t port = 0;

  // "127.0.0.1:8080", or "[::1]:8080" for IPv6.
  [[nodiscard]] std::string to_string() const {
    const bool v6 = address.find(':') != std::string::npos;
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  }
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

namespace detail {
// A socket address as the C calls take it.
struct sock_addr {
  sockaddr_storage storage{};
  unsigned len = sizeof storage;
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// `text` as a NUL-terminated string in `buf` (N bytes); false when it does
// not fit or holds a NUL (which the C calls would cut it at).
template <std::size_t N>
bool to_c_string(std::string_view text, char (&buf)[N]) noexcept {
  if (text.size() >= N || text.find('\0') != std::string_view::npos) return false;
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  return true;
}

// A numeric IPv4 or IPv6 literal, or "localhost" (127.0.0.1), without a
// lookup (async_addr_ip; bind uses it, connect looks names up through the
// blocking pool, async/resolve.hpp).
inline bool parse_address(std::string_view host, std::uint16_t port, sock_addr& out) noexcept {
  char text[ASYNC_ADDR_IP_MAX + 1];
  out = sock_addr{};
  return to_c_string(host, text) && async_addr_ip(text, port, out.get(), &out.len) == ASYNC_OK;
}

inline endpoint to_endpoint(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return endpoint{text, ntohs(v4->sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return endpoint{text, ntohs(v6->sin6_port)};
  }
  return endpoint{};
}

inline std::uint64_t no_deadline() noexcept { return UINT64_MAX; }

// Sets ec for the C status `st` of a call on `io`; throws cancelled for
// ECANCELED (cancellation is an exception in both forms).
inline void set_error(std::error_code& ec, async_status_t st, const async_io_t* io) {
  if (st == ASYNC_OK) {
    ec.clear();
  } else if (st == ASYNC_EIO) {
    ec.assign(async_io_errno(io), std::system_category());
  } else if (st == ASYNC_ECANCELED) {
    throw cancelled();
  } else {
    ec = make_error_code(static_cast<status>(st));
  }
}

// Throws what the throwing form throws for the C status `st` of a call on
// `io` (io_error with its errno for EIO).
[[noreturn]] inline void throw_io(async_status_t st, const async_io_t* io, const char* where) {
  if (st == ASYNC_EIO) throw io_error(async_io_errno(io), where);
  throw_status(st, where);
}

// Throws the std::error_code `ec` set by an ec form, as the throwing form.
[[noreturn]] inline void throw_ec(const std::error_code& ec, const char* where) {
  if (ec.category() == std::system_category()) throw io_error(ec.value(), where);
  if (ec.category() == resolve_category()) throw resolve_error(ec.value(), where);
  throw_status(static_cast<async_status_t>(ec.value()), where);
}
}  // namespace detail

// ---------------------------------------------------------------- io_handle

// Owns one fd registered with a runtime (an async_io_t) and closes it.
// Move-only. The async_io_t lives on the heap (the C object must not move
// while registered), so a move is two pointer copies and a handle may move
// while fibers wait on it.
//
// Closing: close() (or the destructor) deregisters and closes the fd
// (async_io_close); fibers parked on the handle wake with status::eclosed.
// The handle's storage lives on until the handle is destroyed, so a fiber
// may close a handle another fiber is waiting on. Destroy (or move-assign
// over) a handle only when no fiber is inside one of its calls, and, if it
// is still open, on the runtime's thread.
class io_handle {
 public:
  io_handle() noexcept = default;  // owns nothing: calls fail with einval

  // Registers `fd` (async_io_register) on the calling fiber's runtime, or
  // outside fibers on the calling thread's global runtime, and puts it in
  // non-blocking mode. The handle takes the fd in every case: when the
  // constructor throws, the fd has been closed (as std::shared_ptr deletes
  // its pointer when its constructor throws). Throws async::io_error (e.g.
  // EBADF), async::error: einval for fd < 0, estate from a thread that does
  // not own the runtime, enomem; std::bad_alloc.
  explicit io_handle(int fd) : io_handle(nullptr, fd) {}
  // The same on the runtime `rt`.
  io_handle(runtime& rt, int fd) : io_handle(rt.native(), fd) {}

  io_handle(io_handle&& other) noexcept : io_(std::move(other.io_)) {}
  io_handle& operator=(io_handle&& other) noexcept {
    if (this != &other) {
      reset();
      io_ = std::move(other.io_);
    }
    return *this;
  }
  ~io_handle() { reset(); }

  // True while it owns an fd that is registered (not closed, not moved from).
  [[nodiscard]] bool is_open() const noexcept { return async_io_fd(io_.get()) >= 0; }
  explicit operator bool() const noexcept { return is_open(); }

  // The fd while open, else -1. Use it for socket options and the like;
  // do not close it and do not read or write it around the handle.
  [[nodiscard]] int native_handle() const noexcept { return async_io_fd(io_.get()); }

  // The C object, for async/io.h calls (nullptr once moved from).
  [[nodiscard]] async_io_t* native() noexcept { return io_.get(); }
  [[nodiscard]] const async_io_t* native() const noexcept { return io_.get(); }

  // Closes the fd (async_io_close); does not suspend. Fibers waiting on the
  // handle wake with status::eclosed, in the order they began waiting.
  // Throws async::error: einval when not open (closed already, moved from),
  // estate from a thread that does not own the runtime; async::io_error when
  // close(2) reports an error (the fd is closed all the same).
  void close() {
    std::error_code ec;
    close(ec);
    if (ec) detail::throw_ec(ec, "async::io_handle::close");
  }
  void close(std::error_code& ec) noexcept {
    if (io_ == nullptr) {
      ec = make_error_code(status::einval);
      return;
    }
    const async_status_t st = async_io_close(io_.get());
    if (st == ASYNC_OK) {
      ec.clear();
    } else if (st == ASYNC_EIO) {
      ec.assign(async_io_errno(io_.get()), std::system_category());
    } else {
      ec = make_error_code(static_cast<status>(st));
    }
  }

  // Gives up the fd without closing it (async_io_release: deregistered,
  // still non-blocking) and leaves the handle empty. Fibers waiting on the
  // handle wake with eclosed. Returns -1 (and empties the handle) when it was
  // not open. Throws async::error(estate) from a thread that does not own the
  // runtime (the handle is unchanged then).
  [[nodiscard]] int release() {
    int fd = -1;
    if (is_open()) {
      const async_status_t st = async_io_release(io_.get(), &fd);
      if (st != ASYNC_OK) detail::throw_status(st, "async::io_handle::release");
    }
    io_.reset();
    return fd;
  }

  // --- reading -------------------------------------------------------------

  // One read of up to buf.size() bytes (async_read): suspends until some
  // data, end of file or an error is there. Returns the byte count; 0 means
  // end of file (or an empty buffer). The ec form returns 0 on failure.
  std::size_t read_some(mutable_buffer buf) { return read_some_at(buf, detail::no_deadline(), "async::read_some"); }
  std::size_t read_some(mutable_buffer buf, std::error_code& ec) {
    return read_some_at(buf, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  std::size_t read_some_for(mutable_buffer buf, const std::chrono::duration<Rep, Period>& d) {
    return read_some_at(buf, after(d), "async::read_some_for");
  }
  template <class Rep, class Period>
  std::size_t read_some_for(mutable_buffer buf, const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    return read_some_at(buf, after(d), ec);
  }
  template <class Duration>
  std::size_t read_some_until(mutable_buffer buf,
                              const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return read_some_at(buf, detail::deadline_ns(t), "async::read_some_until");
  }
  template <class Duration>
  std::size_t read_some_until(mutable_buffer buf, const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                              std::error_code& ec) {
    return read_some_at(buf, detail::deadline_ns(t), ec);
  }

  // Fills the whole buffer, as many reads as it takes (async_read_exact).
  // End of file first is status::eclosed. The ec form returns the bytes
  // read and stored before a failure (buf.size() on success): nothing read
  // is lost.
  void read_exact(mutable_buffer buf) { read_exact_at(buf, detail::no_deadline(), "async::read_exact"); }
  std::size_t read_exact(mutable_buffer buf, std::error_code& ec) {
    return read_exact_at(buf, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  void read_exact_for(mutable_buffer buf, const std::chrono::duration<Rep, Period>& d) {
    read_exact_at(buf, after(d), "async::read_exact_for");
  }
  template <class Rep, class Period>
  std::size_t read_exact_for(mutable_buffer buf, const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    return read_exact_at(buf, after(d), ec);
  }
  template <class Duration>
  void read_exact_until(mutable_buffer buf, const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    read_exact_at(buf, detail::deadline_ns(t), "async::read_exact_until");
  }
  template <class Duration>
  std::size_t read_exact_until(mutable_buffer buf,
                               const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                               std::error_code& ec) {
    return read_exact_at(buf, detail::deadline_ns(t), ec);
  }

  // --- writing -------------------------------------------------------------

  // One write of up to buf.size() bytes (async_write): suspends until the fd
  // takes some. Returns how many went (a partial write is success). A peer
  // that has gone is an io_error (or ec) with EPIPE or ECONNRESET, never a
  // SIGPIPE. The ec form returns 0 on failure.
  std::size_t write_some(const_buffer buf) { return write_some_at(buf, detail::no_deadline(), "async::write_some"); }
  std::size_t write_some(const_buffer buf, std::error_code& ec) {
    return write_some_at(buf, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  std::size_t write_some_for(const_buffer buf, const std::chrono::duration<Rep, Period>& d) {
    return write_some_at(buf, after(d), "async::write_some_for");
  }
  template <class Rep, class Period>
  std::size_t write_some_for(const_buffer buf, const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    return write_some_at(buf, after(d), ec);
  }
  template <class Duration>
  std::size_t write_some_until(const_buffer buf,
                               const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return write_some_at(buf, detail::deadline_ns(t), "async::write_some_until");
  }
  template <class Duration>
  std::size_t write_some_until(const_buffer buf, const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                               std::error_code& ec) {
    return write_some_at(buf, detail::deadline_ns(t), ec);
  }

  // Writes the whole buffer, as many writes as it takes (async_write_all).
  // The ec form returns the bytes written before a failure (buf.size() on
  // success).
  void write_all(const_buffer buf) { write_all_at(buf, detail::no_deadline(), "async::write_all"); }
  std::size_t write_all(const_buffer buf, std::error_code& ec) {
    return write_all_at(buf, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  void write_all_for(const_buffer buf, const std::chrono::duration<Rep, Period>& d) {
    write_all_at(buf, after(d), "async::write_all_for");
  }
  template <class Rep, class Period>
  std::size_t write_all_for(const_buffer buf, const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    return write_all_at(buf, after(d), ec);
  }
  template <class Duration>
  void write_all_until(const_buffer buf, const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    write_all_at(buf, detail::deadline_ns(t), "async::write_all_until");
  }
  template <class Duration>
  std::size_t write_all_until(const_buffer buf, const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                              std::error_code& ec) {
    return write_all_at(buf, detail::deadline_ns(t), ec);
  }

  // --- readiness -----------------------------------------------------------

  // Suspends until the fd is readable (or at end of file, or in error)
  // without reading (async_io_wait_readable), for code that calls the OS
  // itself. Readiness is edge-triggered underneath: read until the OS says
  // EAGAIN before waiting again. Timed forms as above.
  void wait_readable() { wait_at(false, detail::no_deadline(), "async::wait_readable"); }
  void wait_readable(std::error_code& ec) { wait_at(false, detail::no_deadline(), ec); }
  template <class Rep, class Period>
  void wait_readable_for(const std::chrono::duration<Rep, Period>& d) {
    wait_at(false, after(d), "async::wait_readable_for");
  }
  template <class Rep, class Period>
  void wait_readable_for(const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    wait_at(false, after(d), ec);
  }
  // The same for writability.
  void wait_writable() { wait_at(true, detail::no_deadline(), "async::wait_writable"); }
  void wait_writable(std::error_code& ec) { wait_at(true, detail::no_deadline(), ec); }
  template <class Rep, class Period>
  void wait_writable_for(const std::chrono::duration<Rep, Period>& d) {
    wait_at(true, after(d), "async::wait_writable_for");
  }
  template <class Rep, class Period>
  void wait_writable_for(const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    wait_at(true, after(d), ec);
  }

 protected:
  // Takes `fd`: registers it on `rt` (nullptr: the calling fiber's or the
  // global runtime), closing it when that fails.
  io_handle(async_runtime_t* rt, int fd) {
    std::error_code ec;
    io_ = adopt(rt, fd, ec);
    if (ec) detail::throw_ec(ec, "async::io_handle");
  }

  // Registers `fd` on `rt` (nullptr: the calling fiber's or the global
  // runtime) in a new C object; on failure closes fd, sets ec and returns
  // nullptr. Throws only std::bad_alloc (fd closed).
  static std::unique_ptr<async_io_t> adopt(async_runtime_t* rt, int fd, std::error_code& ec) {
    if (fd < 0) {
      ec = make_error_code(status::einval);
      return nullptr;
    }
    std::unique_ptr<async_io_t> io;
    try {
      io.reset(new async_io_t{});
    } catch (...) {
      ::close(fd);
      throw;
    }
    const async_status_t st = rt != nullptr ? async_io_register_with(rt, io.get(), fd)
                                            : async_io_register(io.get(), fd);
    if (st != ASYNC_OK) {
      if (st == ASYNC_EIO) {
        ec.assign(async_io_errno(io.get()), std::system_category());
      } else {
        ec = make_error_code(static_cast<status>(st));
      }
      ::close(fd);
      return nullptr;
    }
    ec.clear();
    return io;
  }

  // Adopts a C object already registered (by async_accept_io or one of
  // the socket-making C calls).
  explicit io_handle(std::unique_ptr<async_io_t> io) noexcept : io_(std::move(io)) {}

  // Runs `make(io)`, a C call that makes a socket in the zeroed C object
  // `io` (async_tcp_listen, async_socket_connect_until, ...). Returns the
  // object, or nullptr with ec set (errno for ASYNC_EIO; nothing is open
  // then). Throws async::cancelled for ASYNC_ECANCELED, std::bad_alloc.
  template <class Make>
  static std::unique_ptr<async_io_t> make_socket(Make make, std::error_code& ec) {
    auto io = std::make_unique<async_io_t>();
    detail::set_error(ec, make(io.get()), io.get());
    if (ec) return nullptr;
    return io;
  }

  // The same for the throwing forms: throws what they throw for a failure.
  template <class Make>
  static std::unique_ptr<async_io_t> make_socket(Make make, const char* where) {
    std::error_code ec;
    auto io = make_socket(make, ec);
    if (ec) detail::throw_ec(ec, where);
    return io;
  }

  template <class Rep, class Period>
  static std::uint64_t after(const std::chrono::duration<Rep, Period>& d) noexcept {
    return detail::deadline_after_ns(detail::to_ns(d));
  }

  std::size_t read_some_at(mutable_buffer buf, std::uint64_t deadline, const char* where) {
    std::size_t n = 0;
    const async_status_t st = async_read_until(io_.get(), buf.data(), buf.size(), &n, deadline);
    if (st != ASYNC_OK) [[unlikely]] detail::throw_io(st, io_.get(), where);
    return n;
  }
  std::size_t read_some_at(mutable_buffer buf, std::uint64_t deadline, std::error_code& ec) {
    std::size_t n = 0;
    detail::set_error(ec, async_read_until(io_.get(), buf.data(), buf.size(), &n, deadline), io_.get());
    return n;
  }
  void read_exact_at(mutable_buffer buf, std::uint64_t deadline, const char* where) {
    const async_status_t st = async_read_exact_until(io_.get(), buf.data(), buf.size(), nullptr, deadline);
    if (st != ASYNC_OK) [[unlikely]] detail::throw_io(st, io_.get(), where);
  }
  std::size_t read_exact_at(mutable_buffer buf, std::uint64_t deadline, std::error_code& ec) {
    std::size_t n = 0;
    detail::set_error(ec, async_read_exact_until(io_.get(), buf.data(), buf.size(), &n, deadline), io_.get());
    return n;
  }
  std::size_t write_some_at(const_buffer buf, std::uint64_t deadline, const char* where) {
    std::size_t n = 0;
    const async_status_t st = async_write_until(io_.get(), buf.data(), buf.size(), &n, deadline);
    if (st != ASYNC_OK) [[unlikely]] detail::throw_io(st, io_.get(), where);
    return n;
  }
  std::size_t write_some_at(const_buffer buf, std::uint64_t deadline, std::error_code& ec) {
    std::size_t n = 0;
    detail::set_error(ec, async_write_until(io_.get(), buf.data(), buf.size(), &n, deadline), io_.get());
    return n;
  }
  void write_all_at(const_buffer buf, std::uint64_t deadline, const char* where) {
    const async_status_t st = async_write_all_until(io_.get(), buf.data(), buf.size(), nullptr, deadline);
    if (st != ASYNC_OK) [[unlikely]] detail::throw_io(st, io_.get(), where);
  }
  std::size_t write_all_at(const_buffer buf, std::uint64_t deadline, std::error_code& ec) {
    std::size_t n = 0;
    detail::set_error(ec, async_write_all_until(io_.get(), buf.data(), buf.size(), &n, deadline), io_.get());
    return n;
  }
  async_status_t wait_status(bool write, std::uint64_t deadline) noexcept {
    return write ? async_io_wait_writable_until(io_.get(), deadline)
                 : async_io_wait_readable_until(io_.get(), deadline);
  }
  void wait_at(bool write, std::uint64_t deadline, const char* where) {
    const async_status_t st = wait_status(write, deadline);
    if (st != ASYNC_OK) [[unlikely]] detail::throw_io(st, io_.get(), where);
  }
  void wait_at(bool write, std::uint64_t deadline, std::error_code& ec) {
    detail::set_error(ec, wait_status(write, deadline), io_.get());
  }

 private:
  void reset() noexcept {
    // Closes an open io and also one detached by its runtime's shutdown
    // (whose fd is still open); EINVAL for one closed already is harmless.
    if (io_ != nullptr) (void)async_io_close(io_.get());
    io_.reset();
  }

  std::unique_ptr<async_io_t> io_;
};

// --------------------------------------------------------------- tcp_stream

class tcp_listener;

// A connected TCP socket: an io_handle with connect, half-close, options and
// endpoints. Reads, writes and their timeouts are io_handle's; read_some
// returning 0 is the peer's end of stream (it called shutdown_write or
// closed).
class tcp_stream : public io_handle {
 public:
  tcp_stream() noexcept = default;  // no socket
  // Adopts a connected socket fd (registered as io_handle(fd) does).
  explicit tcp_stream(int fd) : io_handle(fd) {}
  tcp_stream(runtime& rt, int fd) : io_handle(rt, fd) {}

  // Connects to `host` on `port`, suspending until the connection is
  // established (async_connect). `host` is a numeric IPv4 or IPv6 literal
  // or a name ("localhost" included): a name is resolved
  // through the blocking pool (async_getaddrinfo; the fiber waits, its
  // runtime runs on) and each address it gives is tried in getaddrinfo's
  // order until one connects. The timed forms have one deadline for all of
  // it: the lookup itself cannot be interrupted, but no address after the
  // first is tried once the deadline has passed, and an attempt that times
  // out ends the call. Inside
  // a fiber only; the stream is registered on the calling fiber's runtime.
  // Throws async::io_error with ECONNREFUSED, ENETUNREACH, ... when every
  // attempt failed (the last attempt's error); async::resolve_error when the
  // name does not resolve (the ec form: its EAI_* code in
  // async::resolve_category()); async::error: einval for a host that is
  // neither an address nor a well-formed name (detail::is_host_name: "",
  // "1.2.3", "::g", text with spaces), estate outside a fiber, etimedout (timed forms); async::cancelled.
  // Nothing stays open when it throws.
  static tcp_stream connect(std::string_view host, std::uint16_t port) {
    return connect_at(host, port, detail::no_deadline(), "async::tcp_stream::connect");
  }
  static tcp_stream connect(std::string_view host, std::uint16_t port, std::error_code& ec) {
    return connect_at(host, port, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  static tcp_stream connect_for(std::string_view host, std::uint16_t port,
                                const std::chrono::duration<Rep, Period>& d) {
    return connect_at(host, port, after(d), "async::tcp_stream::connect_for");
  }
  template <class Rep, class Period>
  static tcp_stream connect_for(std::string_view host, std::uint16_t port,
                                const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    return connect_at(host, port, after(d), ec);
  }
  template <class Duration>
  static tcp_stream connect_until(std::string_view host, std::uint16_t port,
                                  const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return connect_at(host, port, detail::deadline_ns(t), "async::tcp_stream::connect_until");
  }
  template <class Duration>
  static tcp_stream connect_until(std::string_view host, std::uint16_t port,
                                  const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                                  std::error_code& ec) {
    return connect_at(host, port, detail::deadline_ns(t), ec);
  }
  // The same to an endpoint.
  static tcp_stream connect(const endpoint& to) { return connect(to.address, to.port); }
  static tcp_stream connect(const endpoint& to, std::error_code& ec) { return connect(to.address, to.port, ec); }

  // Ends the sending direction (shutdown(2), SHUT_WR): the peer reads end of
  // stream once it has read what was sent; this side can still read. Does
  // not suspend. Throws async::io_error (ENOTCONN), async::error(einval)
  // when not open.
  void shutdown_write() {
    std::error_code ec;
    shutdown_write(ec);
    if (ec) detail::throw_ec(ec, "async::tcp_stream::shutdown_write");
  }
  void shutdown_write(std::error_code& ec) noexcept {
    if (!is_open()) {
      ec = make_error_code(status::einval);
    } else if (::shutdown(native_handle(), SHUT_WR) != 0) {
      ec.assign(errno, std::system_category());
    } else {
      ec.clear();
    }
  }

  // TCP_NODELAY on or off (Nagle's algorithm off or on). Does not suspend.
  // Throws async::io_error, async::error(einval) when not open.
  void set_nodelay(bool on) {
    const int v = on ? 1 : 0;
    set_option(IPPROTO_TCP, TCP_NODELAY, v, "async::tcp_stream::set_nodelay");
  }
  [[nodiscard]] bool nodelay() const { return get_option(IPPROTO_TCP, TCP_NODELAY, "async::tcp_stream::nodelay") != 0; }

  // This side's and the peer's address (getsockname(2), getpeername(2)).
  // Throws async::io_error (ENOTCONN for the peer of an unconnected socket),
  // async::error(einval) when not open.
  [[nodiscard]] endpoint local_endpoint() const { return name_of(false, "async::tcp_stream::local_endpoint"); }
  [[nodiscard]] endpoint remote_endpoint() const { return name_of(true, "async::tcp_stream::remote_endpoint"); }

 private:
  friend class tcp_listener;
  explicit tcp_stream(std::unique_ptr<async_io_t> io) noexcept : io_handle(std::move(io)) {}

  static tcp_stream connect_at(std::string_view host, std::uint16_t port, std::uint64_t deadline,
                               const char* where) {
    std::error_code ec;
    tcp_stream s = connect_at(host, port, deadline, ec);
    if (ec) detail::throw_ec(ec, where);
    return s;
  }
  static tcp_stream connect_at(std::string_view host, std::uint16_t port, std::uint64_t deadline,
                               std::error_code& ec) {
    detail::sock_addr addr;
    // "localhost" is a name here, looked up like any other: the system
    // decides whether it means 127.0.0.1, ::1 or both, in which order.
    const bool literal = host != "localhost" && detail::parse_address(host, port, addr);
    if (!literal && !detail::is_host_name(host)) {
      ec = make_error_code(status::einval);
      return {};
    }
    if (async_self().status != ASYNC_OK) {  // before a socket is made or a name looked up
      ec = make_error_code(status::estate);
      return {};
    }
    if (literal) return connect_one(addr.get(), addr.len, deadline, ec);
    detail::addrinfo_ptr list = detail::resolve_stream(host, port, ec);
    if (ec) return {};
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
      // The first address is tried even past the deadline, as every timed
      // call tries once; later ones only before it.
      if (ai != list.get() && deadline != detail::no_deadline() && async_now_ns() >= deadline) {
        ec = make_error_code(status::etimedout);
        return {};
      }
      tcp_stream s = connect_one(ai->ai_addr, ai->ai_addrlen, deadline, ec);
      // Success, or the deadline: either ends the call.
      if (!ec || ec == status::etimedout) return s;
    }
    return {};  // ec: the last attempt's error
  }

  // One attempt: a new socket connected to `to` (async_socket_connect_until).
  static tcp_stream connect_one(const sockaddr* to, socklen_t len, std::uint64_t deadline, std::error_code& ec) {
    auto io = make_socket(
        [&](async_io_t* c) { return async_socket_connect_until(c, to, static_cast<unsigned>(len), deadline); }, ec);
    return io ? tcp_stream(std::move(io)) : tcp_stream();
  }

  void set_option(int level, int name, int value, const char* where) {
    if (!is_open()) throw error(status::einval, where);
    if (::setsockopt(native_handle(), level, name, &value, sizeof value) != 0) throw io_error(errno, where);
  }
  int get_option(int level, int name, const char* where) const {
    if (!is_open()) throw error(status::einval, where);
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(native_handle(), level, name, &value, &len) != 0) throw io_error(errno, where);
    return value;
  }
  endpoint name_of(bool peer, const char* where) const {
    if (!is_open()) throw error(status::einval, where);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int r = peer ? ::getpeername(native_handle(), reinterpret_cast<sockaddr*>(&ss), &len)
                       : ::getsockname(native_handle(), reinterpret_cast<sockaddr*>(&ss), &len);
    if (r != 0) throw io_error(errno, where);
    return detail::to_endpoint(ss);
  }
};

// ------------------------------------------------------------- tcp_listener

// A listening TCP socket. Accepted streams are registered on the listener's
// runtime.
class tcp_listener : public io_handle {
 public:
  tcp_listener() noexcept = default;  // no socket

  // A socket bound to `address` (a numeric IPv4 or IPv6 literal, "localhost"
  // for 127.0.0.1; "0.0.0.0" or "::" for every interface) and `port` (0: the
  // kernel picks a free one, see local_endpoint().port), with SO_REUSEADDR,
  // listening with `backlog`, registered on the calling fiber's runtime (or
  // outside fibers the thread's global runtime), or on `rt`. Does not
  // suspend (async_tcp_listen). Throws async::io_error (EADDRINUSE, EACCES,
  // ...), async::error: einval for an address that does not parse or a
  // negative backlog, estate from a thread that does not own the runtime.
  // Nothing stays open when it throws.
  static tcp_listener bind(std::string_view address, std::uint16_t port, int backlog = 512) {
    return bind_on(nullptr, address, port, backlog);
  }
  static tcp_listener bind(runtime& rt, std::string_view address, std::uint16_t port, int backlog = 512) {
    return bind_on(rt.native(), address, port, backlog);
  }

  // Suspends until a connection arrives and returns it as a stream, non-
  // blocking and close-on-exec, registered on the listener's runtime
  // (async_accept_io). Connections aborted before they were accepted are
  // skipped. Out of file descriptors (EMFILE, ENFILE) is an io_error at
  // once: the caller decides how to back off. The ec forms return an empty
  // stream on failure.
  tcp_stream accept() { return accept_at(detail::no_deadline(), "async::tcp_listener::accept"); }
  tcp_stream accept(std::error_code& ec) { return accept_at(detail::no_deadline(), ec); }
  template <class Rep, class Period>
  tcp_stream accept_for(const std::chrono::duration<Rep, Period>& d) {
    return accept_at(after(d), "async::tcp_listener::accept_for");
  }
  template <class Rep, class Period>
  tcp_stream accept_for(const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    return accept_at(after(d), ec);
  }
  template <class Duration>
  tcp_stream accept_until(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return accept_at(detail::deadline_ns(t), "async::tcp_listener::accept_until");
  }
  template <class Duration>
  tcp_stream accept_until(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                          std::error_code& ec) {
    return accept_at(detail::deadline_ns(t), ec);
  }

  // The bound address (getsockname(2)); its port is the one the kernel
  // picked for port 0. Throws async::io_error, async::error(einval) when not
  // open.
  [[nodiscard]] endpoint local_endpoint() const {
    if (!is_open()) throw error(status::einval, "async::tcp_listener::local_endpoint");
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(native_handle(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      throw io_error(errno, "async::tcp_listener::local_endpoint");
    }
    return detail::to_endpoint(ss);
  }

 private:
  explicit tcp_listener(std::unique_ptr<async_io_t> io) noexcept : io_handle(std::move(io)) {}

  // async_tcp_listen(_with).
  static tcp_listener bind_on(async_runtime_t* rt, std::string_view address, std::uint16_t port, int backlog) {
    char host[ASYNC_ADDR_IP_MAX + 1];
    if (!detail::to_c_string(address, host)) throw error(status::einval, "async::tcp_listener::bind");
    return tcp_listener(make_socket(
        [&](async_io_t* io) {
          return rt != nullptr ? async_tcp_listen_with(rt, io, host, port, backlog)
                               : async_tcp_listen(io, host, port, backlog);
        },
        "async::tcp_listener::bind"));
  }

  tcp_stream accept_at(std::uint64_t deadline, const char* where) {
    std::error_code ec;
    tcp_stream s = accept_at(deadline, ec);
    if (ec) detail::throw_ec(ec, where);
    return s;
  }
  tcp_stream accept_at(std::uint64_t deadline, std::error_code& ec) {
    auto client = std::make_unique<async_io_t>();
    detail::set_error(ec, async_accept_io_until(native(), client.get(), deadline), native());
    if (ec) return {};
    return tcp_stream(std::move(client));
  }
};

// -------------------------------------------------------------------- pipes

namespace detail {
struct pipe_maker;
}  // namespace detail

// The read end of a pipe: io_handle's reading calls only.
class pipe_reader : private io_handle {
 public:
  pipe_reader() noexcept = default;
  explicit pipe_reader(int fd) : io_handle(fd) {}
  pipe_reader(runtime& rt, int fd) : io_handle(rt, fd) {}

  using io_handle::close;
  using io_handle::is_open;
  using io_handle::native;
  using io_handle::native_handle;
  using io_handle::operator bool;
  using io_handle::read_exact;
  using io_handle::read_exact_for;
  using io_handle::read_exact_until;
  using io_handle::read_some;
  using io_handle::read_some_for;
  using io_handle::read_some_until;
  using io_handle::release;
  using io_handle::wait_readable;
  using io_handle::wait_readable_for;

 private:
  friend struct detail::pipe_maker;
  pipe_reader(async_runtime_t* rt, int fd) : io_handle(rt, fd) {}
};

// The write end of a pipe: io_handle's writing calls only. Writing after
// the reader has gone is an io_error (or ec) with EPIPE, never a SIGPIPE.
class pipe_writer : private io_handle {
 public:
  pipe_writer() noexcept = default;
  explicit pipe_writer(int fd) : io_handle(fd) {}
  pipe_writer(runtime& rt, int fd) : io_handle(rt, fd) {}

  using io_handle::close;
  using io_handle::is_open;
  using io_handle::native;
  using io_handle::native_handle;
  using io_handle::operator bool;
  using io_handle::release;
  using io_handle::wait_writable;
  using io_handle::wait_writable_for;
  using io_handle::write_all;
  using io_handle::write_all_for;
  using io_handle::write_all_until;
  using io_handle::write_some;
  using io_handle::write_some_for;
  using io_handle::write_some_until;

 private:
  friend struct detail::pipe_maker;
  pipe_writer(async_runtime_t* rt, int fd) : io_handle(rt, fd) {}
};

// Both ends of a new pipe: `auto [r, w] = async::make_pipe();`.
struct pipe_ends {
  pipe_reader reader;
  pipe_writer writer;
};

namespace detail {
struct pipe_maker {
  static pipe_ends make(async_runtime_t* rt) {
    int fds[2];
#if defined(__linux__)
    if (::pipe2(fds, O_CLOEXEC) != 0) throw io_error(errno, "async::make_pipe");
#else
    if (::pipe(fds) != 0) throw io_error(errno, "async::make_pipe");
    (void)::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    (void)::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
    pipe_reader r;
    try {
      r = pipe_reader(rt, fds[0]);
    } catch (...) {
      ::close(fds[1]);
      throw;
    }
    pipe_writer w(rt, fds[1]);  // r closes the read end if this throws
    return pipe_ends{std::move(r), std::move(w)};
  }
};
}  // namespace detail

// A new pipe (pipe(2), both ends close-on-exec and non-blocking),
// registered on the calling fiber's runtime (outside fibers: the thread's
// global runtime) or on `rt`. Does not suspend. Throws async::io_error
// (EMFILE, ...), async::error(estate) from a thread that does not own the
// runtime. Nothing stays open when it throws.
inline pipe_ends make_pipe() { return detail::pipe_maker::make(nullptr); }
inline pipe_ends make_pipe(runtime& rt) { return detail::pipe_maker::make(rt.native()); }

}  // namespace async

// =========================================================================
// Datagrams and local sockets: udp_socket, unix_stream, unix_listener.
// A section of its own, with its own includes, from here to the end.
// =========================================================================

#include <sys/stat.h>
#include <sys/un.h>

namespace async {

namespace detail {
// A sockaddr_un for a filesystem path (async_addr_unix): false for an
// empty path, one with a NUL in it, or one too long for sun_path (with its
// terminating NUL).
inline bool parse_unix_path(std::string_view path, sock_addr& out) noexcept {
  char text[sizeof(sockaddr_un{}.sun_path)];
  out = sock_addr{};
  return to_c_string(path, text) && async_addr_unix(text, out.get(), &out.len) == ASYNC_OK;
}

// The errno or status of a failure before any C call, as an ec form sets it.
inline void set_errno(std::error_code& ec, int err) noexcept { ec.assign(err, std::system_category()); }
}  // namespace detail

// --------------------------------------------------------------- udp_socket

// A UDP socket: whole datagrams to and from endpoints (async_sendto,
// async_recvfrom). Each send_to sends one datagram and each recv_from takes
// one. Errors, ec forms, timeouts and cancellation as at the top of this
// header.
//
//   auto s = async::udp_socket::bind("127.0.0.1", 0);    // a free port
//   async::endpoint from;
//   char buf[1500];
//   std::size_t n = s.recv_from(buf, from);              // inside a fiber
//   s.send_to({buf, n}, from);                           // echo it back
//
// After connect(peer), io_handle's read_some and write_some receive and
// send datagrams of that peer only (recv(2), send(2): one datagram each).
class udp_socket : public io_handle {
 public:
  udp_socket() noexcept = default;  // no socket
  // Adopts a datagram socket fd (registered as io_handle(fd) does).
  explicit udp_socket(int fd) : io_handle(fd) {}
  udp_socket(runtime& rt, int fd) : io_handle(rt, fd) {}

  // A UDP socket bound to `address` (a numeric IPv4 or IPv6 literal,
  // "localhost" for 127.0.0.1, "0.0.0.0" or "::" for every interface) and
  // `port` (0: the kernel picks one, see local_endpoint().port), registered
  // on the calling fiber's runtime (outside fibers: the thread's global
  // runtime), or on `rt`. No SO_REUSEADDR: a second socket on a bound port
  // is EADDRINUSE. Does not suspend. Throws async::io_error (EADDRINUSE,
  // EADDRNOTAVAIL for an address that is not local, ...), async::error:
  // einval for an address that does not parse, estate from a thread that
  // does not own the runtime. Nothing stays open when it throws.
  static udp_socket bind(std::string_view address, std::uint16_t port) { return bind_on(nullptr, address, port); }
  static udp_socket bind(runtime& rt, std::string_view address, std::uint16_t port) {
    return bind_on(rt.native(), address, port);
  }

  // Sends buf as one datagram to `to` (whose address must be of the
  // socket's family), suspending while the socket cannot take it. Returns
  // buf.size(): a datagram goes whole or not at all. Larger than UDP allows
  // (65507 bytes over IPv4) is an io_error (ec) with EMSGSIZE. An endpoint
  // whose address does not parse is einval. The ec form returns 0 on
  // failure.
  std::size_t send_to(const_buffer buf, const endpoint& to) {
    return send_to_at(buf, to, detail::no_deadline(), "async::udp_socket::send_to");
  }
  std::size_t send_to(const_buffer buf, const endpoint& to, std::error_code& ec) {
    return send_to_at(buf, to, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  std::size_t send_to_for(const_buffer buf, const endpoint& to, const std::chrono::duration<Rep, Period>& d) {
    return send_to_at(buf, to, after(d), "async::udp_socket::send_to_for");
  }
  template <class Rep, class Period>
  std::size_t send_to_for(const_buffer buf, const endpoint& to, const std::chrono::duration<Rep, Period>& d,
                          std::error_code& ec) {
    return send_to_at(buf, to, after(d), ec);
  }
  template <class Duration>
  std::size_t send_to_until(const_buffer buf, const endpoint& to,
                            const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return send_to_at(buf, to, detail::deadline_ns(t), "async::udp_socket::send_to_until");
  }
  template <class Duration>
  std::size_t send_to_until(const_buffer buf, const endpoint& to,
                            const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                            std::error_code& ec) {
    return send_to_at(buf, to, detail::deadline_ns(t), ec);
  }

  // Suspends until a datagram is there, stores it in buf and its sender in
  // `from`, and returns the bytes stored. One datagram per call: one longer
  // than buf is truncated to buf.size() bytes (the rest is discarded; the
  // count never exceeds buf.size(), so a caller that must detect truncation
  // passes a buffer one byte longer than the longest datagram it accepts).
  // A zero-length datagram returns 0: not an end of anything. `from` is
  // assigned on success only. The ec form returns 0 on failure.
  std::size_t recv_from(mutable_buffer buf, endpoint& from) {
    return recv_from_at(buf, from, detail::no_deadline(), "async::udp_socket::recv_from");
  }
  std::size_t recv_from(mutable_buffer buf, endpoint& from, std::error_code& ec) {
    return recv_from_at(buf, from, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  std::size_t recv_from_for(mutable_buffer buf, endpoint& from, const std::chrono::duration<Rep, Period>& d) {
    return recv_from_at(buf, from, after(d), "async::udp_socket::recv_from_for");
  }
  template <class Rep, class Period>
  std::size_t recv_from_for(mutable_buffer buf, endpoint& from, const std::chrono::duration<Rep, Period>& d,
                            std::error_code& ec) {
    return recv_from_at(buf, from, after(d), ec);
  }
  template <class Duration>
  std::size_t recv_from_until(mutable_buffer buf, endpoint& from,
                              const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return recv_from_at(buf, from, detail::deadline_ns(t), "async::udp_socket::recv_from_until");
  }
  template <class Duration>
  std::size_t recv_from_until(mutable_buffer buf, endpoint& from,
                              const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                              std::error_code& ec) {
    return recv_from_at(buf, from, detail::deadline_ns(t), ec);
  }

  // Sets the default peer (connect(2) on a datagram socket: no handshake,
  // so it does not suspend and works outside fibers too). Afterwards
  // read_some/write_some exchange datagrams with that peer only, and the
  // kernel drops datagrams from anyone else. Throws async::io_error,
  // async::error(einval) for an endpoint that does not parse or a handle
  // that is not open.
  void connect(const endpoint& peer) {
    std::error_code ec;
    connect(peer, ec);
    if (ec) detail::throw_ec(ec, "async::udp_socket::connect");
  }
  void connect(const endpoint& peer, std::error_code& ec) noexcept {
    detail::sock_addr addr;
    if (!is_open() || !detail::parse_address(peer.address, peer.port, addr)) {
      ec = make_error_code(status::einval);
    } else if (::connect(native_handle(), addr.get(), addr.len) != 0) {
      detail::set_errno(ec, errno);
    } else {
      ec.clear();
    }
  }

  // The bound address (getsockname(2)); its port is the one the kernel
  // picked for port 0. Throws async::io_error, async::error(einval) when not
  // open.
  [[nodiscard]] endpoint local_endpoint() const {
    if (!is_open()) throw error(status::einval, "async::udp_socket::local_endpoint");
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(native_handle(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      throw io_error(errno, "async::udp_socket::local_endpoint");
    }
    return detail::to_endpoint(ss);
  }

 private:
  explicit udp_socket(std::unique_ptr<async_io_t> io) noexcept : io_handle(std::move(io)) {}

  // async_socket_bind_dgram(_with) on the parsed address.
  static udp_socket bind_on(async_runtime_t* rt, std::string_view address, std::uint16_t port) {
    detail::sock_addr addr;
    if (!detail::parse_address(address, port, addr)) throw error(status::einval, "async::udp_socket::bind");
    return udp_socket(make_socket(
        [&](async_io_t* io) {
          return rt != nullptr ? async_socket_bind_dgram_with(rt, io, addr.get(), addr.len)
                               : async_socket_bind_dgram(io, addr.get(), addr.len);
        },
        "async::udp_socket::bind"));
  }

  std::size_t send_to_at(const_buffer buf, const endpoint& to, std::uint64_t deadline, const char* where) {
    std::error_code ec;
    const std::size_t n = send_to_at(buf, to, deadline, ec);
    if (ec) detail::throw_ec(ec, where);
    return n;
  }
  std::size_t send_to_at(const_buffer buf, const endpoint& to, std::uint64_t deadline, std::error_code& ec) {
    detail::sock_addr addr;
    if (!detail::parse_address(to.address, to.port, addr)) {
      ec = make_error_code(status::einval);
      return 0;
    }
    std::size_t n = 0;
    detail::set_error(ec,
                      async_sendto_until(native(), buf.data(), buf.size(), &n, addr.get(),
                                         static_cast<unsigned>(addr.len), deadline),
                      native());
    return n;
  }
  std::size_t recv_from_at(mutable_buffer buf, endpoint& from, std::uint64_t deadline, const char* where) {
    std::error_code ec;
    const std::size_t n = recv_from_at(buf, from, deadline, ec);
    if (ec) detail::throw_ec(ec, where);
    return n;
  }
  std::size_t recv_from_at(mutable_buffer buf, endpoint& from, std::uint64_t deadline, std::error_code& ec) {
    sockaddr_storage ss{};
    unsigned len = sizeof ss;
    std::size_t n = 0;
    detail::set_error(ec,
                      async_recvfrom_until(native(), buf.data(), buf.size(), &n, reinterpret_cast<sockaddr*>(&ss),
                                           &len, deadline),
                      native());
    if (!ec) from = detail::to_endpoint(ss);
    return n;
  }
};

// -------------------------------------------------------------- unix_stream

class unix_listener;

// A connected Unix stream socket (AF_UNIX, SOCK_STREAM): an io_handle with
// connect by path and half-close. Reads, writes and their timeouts are
// io_handle's, as for tcp_stream; read_some returning 0 is the peer's end
// of stream.
class unix_stream : public io_handle {
 public:
  unix_stream() noexcept = default;  // no socket
  // Adopts a connected socket fd (e.g. one end of a socketpair(2)).
  explicit unix_stream(int fd) : io_handle(fd) {}
  unix_stream(runtime& rt, int fd) : io_handle(rt, fd) {}

  // Connects to the socket bound to the filesystem `path` (async_connect).
  // Inside a fiber only; the stream is registered on the calling fiber's
  // runtime. A Unix connect completes or fails at once: io_error with
  // ENOENT (no such path), ECONNREFUSED (nobody listens there), EACCES, and
  // on Linux EAGAIN when the listener's backlog is full (see async_connect);
  // async::error: einval for an empty path, one with a NUL or one longer
  // than sockaddr_un allows, estate outside a fiber; async::cancelled.
  // Nothing stays open when it throws. The timed forms exist for symmetry
  // with tcp_stream (a past deadline still tries once).
  static unix_stream connect(std::string_view path) {
    return connect_at(path, detail::no_deadline(), "async::unix_stream::connect");
  }
  static unix_stream connect(std::string_view path, std::error_code& ec) {
    return connect_at(path, detail::no_deadline(), ec);
  }
  template <class Rep, class Period>
  static unix_stream connect_for(std::string_view path, const std::chrono::duration<Rep, Period>& d) {
    return connect_at(path, after(d), "async::unix_stream::connect_for");
  }
  template <class Rep, class Period>
  static unix_stream connect_for(std::string_view path, const std::chrono::duration<Rep, Period>& d,
                                 std::error_code& ec) {
    return connect_at(path, after(d), ec);
  }
  template <class Duration>
  static unix_stream connect_until(std::string_view path,
                                   const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return connect_at(path, detail::deadline_ns(t), "async::unix_stream::connect_until");
  }
  template <class Duration>
  static unix_stream connect_until(std::string_view path,
                                   const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                                   std::error_code& ec) {
    return connect_at(path, detail::deadline_ns(t), ec);
  }

  // Ends the sending direction (shutdown(2), SHUT_WR): the peer reads end of
  // stream once it has read what was sent; this side can still read. Does
  // not suspend. Throws async::io_error, async::error(einval) when not open.
  void shutdown_write() {
    std::error_code ec;
    shutdown_write(ec);
    if (ec) detail::throw_ec(ec, "async::unix_stream::shutdown_write");
  }
  void shutdown_write(std::error_code& ec) noexcept {
    if (!is_open()) {
      ec = make_error_code(status::einval);
    } else if (::shutdown(native_handle(), SHUT_WR) != 0) {
      detail::set_errno(ec, errno);
    } else {
      ec.clear();
    }
  }

 private:
  friend class unix_listener;
  explicit unix_stream(std::unique_ptr<async_io_t> io) noexcept : io_handle(std::move(io)) {}

  static unix_stream connect_at(std::string_view path, std::uint64_t deadline, const char* where) {
    std::error_code ec;
    unix_stream s = connect_at(path, deadline, ec);
    if (ec) detail::throw_ec(ec, where);
    return s;
  }
  static unix_stream connect_at(std::string_view path, std::uint64_t deadline, std::error_code& ec) {
    detail::sock_addr addr;
    if (!detail::parse_unix_path(path, addr)) {
      ec = make_error_code(status::einval);
      return {};
    }
    // async_socket_connect_until: ESTATE outside a fiber, before a socket is made.
    auto io = make_socket(
        [&](async_io_t* c) { return async_socket_connect_until(c, addr.get(), addr.len, deadline); }, ec);
    return io ? unix_stream(std::move(io)) : unix_stream();
  }
};

// ------------------------------------------------------------ unix_listener

// A listening Unix stream socket bound to a filesystem path. Accepted
// streams are registered on the listener's runtime.
//
// Who removes the path: the listener. bind creates the socket file and
// never removes an existing one (a path that exists, even a stale socket
// left by a process that died, is EADDRINUSE: the caller decides whether
// removing it is safe). close() and the destructor remove the file, if the
// path still names the socket this listener created (same device and
// inode: a file someone put there since is left alone), then close the fd.
// release() hands the fd over and leaves the file to the caller, as does
// io_handle::close() called through a base reference (the destructor still
// removes the file then). A moved-from listener owns no path.
class unix_listener : public io_handle {
 public:
  unix_listener() noexcept = default;  // no socket, no path
  unix_listener(unix_listener&& other) noexcept
      : io_handle(std::move(other)), path_(std::move(other.path_)), dev_(other.dev_), ino_(other.ino_) {
    other.path_.clear();
  }
  unix_listener& operator=(unix_listener&& other) noexcept {
    if (this != &other) {
      remove_path();
      io_handle::operator=(std::move(other));
      path_ = std::move(other.path_);
      other.path_.clear();
      dev_ = other.dev_;
      ino_ = other.ino_;
    }
    return *this;
  }
  ~unix_listener() { remove_path(); }

  // A socket bound to `path`, listening with `backlog`, registered on the
  // calling fiber's runtime (outside fibers: the thread's global runtime),
  // or on `rt`. Does not suspend. Throws async::io_error (EADDRINUSE when the
  // path exists, ENOENT when its directory does not, EACCES, ...),
  // async::error: einval for an empty path, one with a NUL or one longer than
  // sockaddr_un allows, estate from a thread that does not own the runtime.
  // Nothing stays open, and no file stays behind, when it throws.
  static unix_listener bind(std::string_view path, int backlog = 512) { return bind_on(nullptr, path, backlog); }
  static unix_listener bind(runtime& rt, std::string_view path, int backlog = 512) {
    return bind_on(rt.native(), path, backlog);
  }

  // Suspends until a connection arrives and returns it (async_accept_io),
  // registered on the listener's runtime; as tcp_listener::accept. The ec
  // forms return an empty stream on failure.
  unix_stream accept() { return accept_at(detail::no_deadline(), "async::unix_listener::accept"); }
  unix_stream accept(std::error_code& ec) { return accept_at(detail::no_deadline(), ec); }
  template <class Rep, class Period>
  unix_stream accept_for(const std::chrono::duration<Rep, Period>& d) {
    return accept_at(after(d), "async::unix_listener::accept_for");
  }
  template <class Rep, class Period>
  unix_stream accept_for(const std::chrono::duration<Rep, Period>& d, std::error_code& ec) {
    return accept_at(after(d), ec);
  }
  template <class Duration>
  unix_stream accept_until(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t) {
    return accept_at(detail::deadline_ns(t), "async::unix_listener::accept_until");
  }
  template <class Duration>
  unix_stream accept_until(const std::chrono::time_point<std::chrono::steady_clock, Duration>& t,
                           std::error_code& ec) {
    return accept_at(detail::deadline_ns(t), ec);
  }

  // The path this listener will remove ("" when it owns none).
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  // Removes the path (as described above), then closes the fd as
  // io_handle::close does; the errors are io_handle::close's.
  void close() {
    remove_path();
    io_handle::close();
  }
  void close(std::error_code& ec) noexcept {
    remove_path();
    io_handle::close(ec);
  }

  // Gives up the fd (io_handle::release) and the path: the file stays.
  [[nodiscard]] int release() {
    const int fd = io_handle::release();
    path_.clear();
    return fd;
  }

 private:
  explicit unix_listener(std::unique_ptr<async_io_t> io) noexcept : io_handle(std::move(io)) {}

  // async_socket_listen(_with), then the identity of the file it made, so
  // that only that file is ever removed.
  static unix_listener bind_on(async_runtime_t* rt, std::string_view path, int backlog) {
    detail::sock_addr addr;
    if (!detail::parse_unix_path(path, addr)) throw error(status::einval, "async::unix_listener::bind");
    std::string owned(path);
    unix_listener l(make_socket(
        [&](async_io_t* io) {
          return rt != nullptr ? async_socket_listen_with(rt, io, addr.get(), addr.len, backlog)
                               : async_socket_listen(io, addr.get(), addr.len, backlog);
        },
        "async::unix_listener::bind"));
    struct stat st {};
    if (::stat(owned.c_str(), &st) != 0) {
      const int err = errno;
      ::unlink(owned.c_str());  // the file the listener just made
      throw io_error(err, "async::unix_listener::bind");  // l closes the socket
    }
    l.path_ = std::move(owned);
    l.dev_ = st.st_dev;
    l.ino_ = st.st_ino;
    return l;
  }

  // Unlinks path_ if it still names the socket bind created; forgets it.
  void remove_path() noexcept {
    if (path_.empty()) return;
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev_ && st.st_ino == ino_) {
      ::unlink(path_.c_str());
    }
    path_.clear();
  }

  unix_stream accept_at(std::uint64_t deadline, const char* where) {
    std::error_code ec;
    unix_stream s = accept_at(deadline, ec);
    if (ec) detail::throw_ec(ec, where);
    return s;
  }
  unix_stream accept_at(std::uint64_t deadline, std::error_code& ec) {
    auto client = std::make_unique<async_io_t>();
    detail::set_error(ec, async_accept_io_until(native(), client.get(), deadline), native());
    if (ec) return {};
    return unix_stream(std::move(client));
  }

  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace async

#endif  // ASYNC_IO_HPP
