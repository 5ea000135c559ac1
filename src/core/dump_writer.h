// SPDX-License-Identifier: MIT
// dump_writer.h: the formatter behind runtime dumps (dump.h). It must also
// work inside a signal handler (dump_signal.cpp), so it uses no snprintf, no
// malloc and no lock: text goes into a fixed buffer on the caller's stack and
// out with write(2), retried on EINTR and on short writes. Not a general
// formatter: strings, decimals and hex addresses are all a dump needs.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace async::detail {

class dump_writer {
 public:
  explicit dump_writer(int fd) noexcept : fd_(fd) {}
  dump_writer(const dump_writer&) = delete;
  dump_writer& operator=(const dump_writer&) = delete;

  dump_writer& str(const char* s) noexcept {
    while (*s != '\0') put(*s++);
    return *this;
  }
  // At most `max` bytes of a string someone else owns (a fiber's name):
  // a name that is not terminated where it should be cannot run away.
  dump_writer& str_bounded(const char* s, std::size_t max) noexcept {
    for (std::size_t i = 0; i < max && s[i] != '\0'; ++i) put(s[i]);
    return *this;
  }
  dump_writer& dec(std::uint64_t v) noexcept {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(digits[--n]);
    return *this;
  }
  dump_writer& hex(std::uintptr_t v) noexcept {
    str("0x");
    char digits[2 * sizeof v];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v != 0);
    while (n > 0) put(digits[--n]);
    return *this;
  }
  dump_writer& ptr(const void* p) noexcept { return hex(reinterpret_cast<std::uintptr_t>(p)); }
  dump_writer& put(char c) noexcept {
    if (used_ == sizeof buf_) flush();
    buf_[used_++] = c;
    return *this;
  }

  // Writes out what is buffered; false once any write failed (the rest is
  // then dropped: a dump is best effort, but the caller learns of it).
  bool flush() noexcept {
    std::size_t off = 0;
    while (ok_ && off < used_) {
      const ssize_t n = write(fd_, buf_ + off, used_ - off);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        ok_ = false;
        error_ = n < 0 ? errno : EIO;
      }
    }
    used_ = 0;
    return ok_;
  }
  bool ok() const noexcept { return ok_; }
  int error() const noexcept { return error_; }

 private:
  int fd_;
  bool ok_ = true;
  int error_ = 0;
  std::size_t used_ = 0;
  // Big enough that 10,000 fibers take a few hundred writes, small enough
  // for a signal handler running on a fiber's stack.
  char buf_[2048];
};

}  // namespace async::detail
