// SPDX-License-Identifier: MIT
// async/blocking.hpp: C++20 wrappers over async/blocking.h, the calls that
// run on the process-wide blocking pool while only the calling fiber waits:
// run_blocking(f) for any callable, resolve() for host names, and
// async::file, an owned file descriptor with positioned reads and writes
// (read_at, write_at) and sync. Read async/blocking.h for the model (one
// pool, FIFO, a worker bound; a runtime's shutdown waits for its fibers'
// calls). POSIX only. Include it on its own; it includes async/io.hpp:
//
//   #include "async/blocking.hpp"
//   auto f = async::file::open("/var/log/app.log", O_RDONLY);  // inside a fiber
//   std::byte buf[4096];
//   std::size_t n = f.read_at(0, buf);                         // 0 at end of file
//
// Errors follow async/io.hpp: every call that can fail throws
// async::io_error for an error of the operating system (os_error() is the
// errno) and async::error for the rest (estate outside a fiber, einval,
// enomem), and has a form taking a trailing std::error_code& that throws
// none of these (errno codes in std::system_category(), the rest as
// async::status). Cancellation is async::cancelled in both forms: thrown
// once the call's work has finished on its worker (it was done all the
// same), or at once, with nothing done, when the fiber was cancelled
// before the call.
#ifndef ASYNC_BLOCKING_HPP
#define ASYNC_BLOCKING_HPP

#include <fcntl.h>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "io.hpp"

namespace async {

// ------------------------------------------------------------- run_blocking

// Runs f() on a worker of the blocking pool (async_run_blocking) and returns
// its result; the calling fiber waits, its runtime runs its other fibers. An
// exception f throws is rethrown here. f runs on another thread, in no fiber:
// it must not call the library's fiber calls, and what it touches must be
// safe to touch from there. Throws async::cancelled when the fiber was
// cancelled (before: f not run; while f ran: after f returned, its result or
// exception dropped); async::error: estate outside a fiber, enomem.
template <class F>
  requires std::invocable<F&>
std::invoke_result_t<F&> run_blocking(F&& f) {
  using R = std::invoke_result_t<F&>;
  static_assert(!std::is_reference_v<R>, "async::run_blocking returns values: return a pointer instead");
  struct call {
    F& f;
    std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
    std::exception_ptr error{};
    static void run(void* p) noexcept {
      auto* c = static_cast<call*>(p);
      try {
        if constexpr (std::is_void_v<R>) {
          c->f();
        } else {
          c->result.emplace(c->f());
        }
      } catch (...) {
        c->error = std::current_exception();
      }
    }
  } c{f};
  const async_status_t st = async_run_blocking(&call::run, &c);
  if (st != ASYNC_OK) [[unlikely]] detail::throw_status(st, "async::run_blocking");
  if (c.error) std::rethrow_exception(c.error);
  if constexpr (!std::is_void_v<R>) return std::move(*c.result);
}

// ------------------------------------------------------------------ resolve

// The addresses of `host` for a TCP connection to `port`, in getaddrinfo's
// order (async_getaddrinfo: the lookup runs on the blocking pool). Numeric
// literals come back as themselves. Throws async::resolve_error (its
// gai_error(): EAI_NONAME, EAI_AGAIN, ...) when the name does not resolve;
// async::io_error for EAI_SYSTEM; async::error: estate outside a fiber,
// enomem; async::cancelled.
inline std::vector<endpoint> resolve(std::string_view host, std::uint16_t port) {
  std::error_code ec;
  detail::addrinfo_ptr list = detail::resolve_stream(host, port, ec);
  if (ec) detail::throw_ec(ec, "async::resolve");
  std::vector<endpoint> out;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    sockaddr_storage ss{};
    if (ai->ai_addrlen > sizeof ss) continue;
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    out.push_back(detail::to_endpoint(ss));
  }
  return out;
}

// --------------------------------------------------------------------- file

// Owns a file descriptor (closed by the destructor) and reads and writes it
// at offsets through the blocking pool (async_pread, async_pwrite,
// async_fsync), so a fiber never blocks its thread on a disk. The fd's file
// position is never used or changed. Move-only. The calls that reach the
// pool suspend and work inside a fiber only; the others (close, release,
// native_handle) anywhere. One file may be used by fibers of any runtimes
// at once (each call is a system call of its own), but not closed while a
// call is in progress.
class file {
 public:
  file() noexcept = default;  // owns nothing: calls fail with einval
  // Adopts `fd` (closed by the destructor).
  explicit file(int fd) noexcept : fd_(fd) {}

  file(file&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  file& operator=(file&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~file() { reset(); }

  // open(2) of `path` with `flags` (O_CLOEXEC is added) and `mode` for
  // O_CREAT, run on the blocking pool (opening may block too: a network file
  // system, a FIFO). Throws async::io_error (ENOENT, EACCES, ...),
  // async::error: estate outside a fiber, enomem; async::cancelled (a file
  // opened meanwhile is closed).
  static file open(const std::string& path, int flags, mode_t mode = 0666) {
    std::error_code ec;
    file f = open(path, flags, mode, ec);
    if (ec) detail::throw_ec(ec, "async::file::open");
    return f;
  }
  static file open(const std::string& path, int flags, mode_t mode, std::error_code& ec) {
    struct call {
      const char* path;
      int flags;
      mode_t mode;
      int fd = -1;
      int err = 0;
      static void run(void* p) noexcept {
        auto* c = static_cast<call*>(p);
        do {
          c->fd = ::open(c->path, c->flags | O_CLOEXEC, c->mode);
        } while (c->fd < 0 && errno == EINTR);
        if (c->fd < 0) c->err = errno;
      }
    } c{path.c_str(), flags, mode};
    const async_status_t st = async_run_blocking(&call::run, &c);
    file f(c.fd);  // closes what a cancelled call opened
    if (st == ASYNC_ECANCELED) throw cancelled();
    if (st != ASYNC_OK) {
      ec = make_error_code(static_cast<status>(st));
      return {};
    }
    if (c.fd < 0) {
      ec.assign(c.err, std::system_category());
      return {};
    }
    ec.clear();
    return f;
  }

  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return is_open(); }
  // The fd while open, else -1.
  [[nodiscard]] int native_handle() const noexcept { return fd_; }

  // Closes the fd (close(2), on the calling thread; does not suspend).
  // Throws async::error(einval) when not open, async::io_error when close
  // reports an error (the fd is closed all the same).
  void close() {
    std::error_code ec;
    close(ec);
    if (ec) detail::throw_ec(ec, "async::file::close");
  }
  void close(std::error_code& ec) noexcept {
    if (fd_ < 0) {
      ec = make_error_code(status::einval);
      return;
    }
    const int r = ::close(std::exchange(fd_, -1));
    if (r != 0 && errno != EINTR) {  // after EINTR the fd is closed on Linux
      ec.assign(errno, std::system_category());
    } else {
      ec.clear();
    }
  }
  // Gives up the fd without closing it; -1 when not open.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Reads up to buf.size() bytes at `offset` (async_pread). Returns the byte
  // count: fewer than asked only at end of file, 0 at or past it. Throws
  // async::io_error (EBADF, EISDIR, EIO, ...), async::error: einval (not
  // open, a size or offset past what the kernel takes), estate; cancelled.
  // The ec form returns the bytes read before a failure.
  std::size_t read_at(std::uint64_t offset, mutable_buffer buf) {
    std::error_code ec;
    const std::size_t n = read_at(offset, buf, ec);
    if (ec) detail::throw_ec(ec, "async::file::read_at");
    return n;
  }
  std::size_t read_at(std::uint64_t offset, mutable_buffer buf, std::error_code& ec) {
    std::size_t n = 0;
    if (!check_open(ec)) return 0;
    set(ec, async_pread(fd_, buf.data(), buf.size(), offset, &n));
    return n;
  }

  // Writes all of buf at `offset` (async_pwrite). Throws as read_at (ENOSPC,
  // EFBIG, EBADF, ...). The ec form returns the bytes written (buf.size() on
  // success, fewer on a failure part-way).
  void write_at(std::uint64_t offset, const_buffer buf) {
    std::error_code ec;
    (void)write_at(offset, buf, ec);
    if (ec) detail::throw_ec(ec, "async::file::write_at");
  }
  std::size_t write_at(std::uint64_t offset, const_buffer buf, std::error_code& ec) {
    std::size_t n = 0;
    if (!check_open(ec)) return 0;
    set(ec, async_pwrite(fd_, buf.data(), buf.size(), offset, &n));
    return n;
  }

  // fsync(2) (async_fsync): returns once data and metadata are on the
  // device. Throws as read_at.
  void sync() {
    std::error_code ec;
    sync(ec);
    if (ec) detail::throw_ec(ec, "async::file::sync");
  }
  void sync(std::error_code& ec) {
    if (!check_open(ec)) return;
    set(ec, async_fsync(fd_));
  }

 private:
  bool check_open(std::error_code& ec) const noexcept {
    if (fd_ >= 0) return true;
    ec = make_error_code(status::einval);
    return false;
  }
  // ec for the C status `st`, whose errno (for ASYNC_EIO) is still fresh.
  static void set(std::error_code& ec, async_status_t st) {
    if (st == ASYNC_OK) {
      ec.clear();
    } else if (st == ASYNC_EIO) {
      ec.assign(errno, std::system_category());
    } else if (st == ASYNC_ECANCELED) {
      throw cancelled();
    } else {
      ec = make_error_code(static_cast<status>(st));
    }
  }
  void reset() noexcept {
    if (fd_ >= 0) (void)::close(std::exchange(fd_, -1));
  }

  int fd_ = -1;
};

}  // namespace async

#endif  // ASYNC_BLOCKING_HPP
