// SPDX-License-Identifier: MIT
// file_api.cpp: the extern "C" boundary of file I/O through the blocking
// pool (async/blocking.h): async_pread, async_pwrite, async_fsync. Each call
// checks its arguments, then runs the system calls on a worker with a record
// on the fiber's stack; an error's errno travels back in the record and is
// set in the fiber's thread just before the return.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "../core/blocking_pool.h"
#include "async.h"

using namespace async::detail;

namespace {

struct file_call {
  int fd;
  char* buf;
  std::size_t len;
  std::uint64_t offset;
  std::size_t done = 0;
  int err = 0;
};

// Reads until len bytes, end of file or an error; one pread even for len 0.
void pread_job(void* p) noexcept {
  auto* c = static_cast<file_call*>(p);
  for (;;) {
    const ssize_t r = ::pread(c->fd, c->buf + c->done, c->len - c->done, static_cast<off_t>(c->offset + c->done));
    if (r < 0) {
      if (errno == EINTR) continue;
      c->err = errno;
      return;
    }
    c->done += static_cast<std::size_t>(r);
    if (r == 0 || c->done == c->len) return;  // end of file, or all read
  }
}

// Writes until len bytes or an error; one pwrite even for len 0.
void pwrite_job(void* p) noexcept {
  auto* c = static_cast<file_call*>(p);
  for (;;) {
    const ssize_t r = ::pwrite(c->fd, c->buf + c->done, c->len - c->done, static_cast<off_t>(c->offset + c->done));
    if (r < 0) {
      if (errno == EINTR) continue;
      c->err = errno;
      return;
    }
    c->done += static_cast<std::size_t>(r);
    if (c->done == c->len) return;
    if (r == 0) {  // no progress and no error: retrying could spin forever
      c->err = EIO;
      return;
    }
  }
}

void fsync_job(void* p) noexcept {
  auto* c = static_cast<file_call*>(p);
  while (::fsync(c->fd) != 0) {
    if (errno != EINTR) {
      c->err = errno;
      return;
    }
  }
}

// The checks both transfers share: the kernel's own limits (a count a
// ssize_t holds, an end offset an off_t holds), refused before any work.
bool range_ok(const void* buf, std::size_t len, std::uint64_t offset) noexcept {
  if (buf == nullptr && len != 0) return false;
  if (len > static_cast<std::size_t>(SSIZE_MAX)) return false;
  if (offset > static_cast<std::uint64_t>(INT64_MAX)) return false;
  return len <= static_cast<std::uint64_t>(INT64_MAX) - offset;
}

async_status_t run_file_call(async_fn job, file_call& c) noexcept {
  task* self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  const async_status_t st = run_blocking(self, job, &c);
  if (st != ASYNC_OK) return st;
  if (c.err != 0) {
    errno = c.err;
    return ASYNC_EIO;
  }
  return ASYNC_OK;
}

async_status_t transfer(async_fn job, int fd, const void* buf, std::size_t len, std::uint64_t offset,
                        std::size_t* n) noexcept {
  if (n == nullptr) return ASYNC_EINVAL;
  *n = 0;
  if (!range_ok(buf, len, offset)) return ASYNC_EINVAL;
  file_call c{fd, static_cast<char*>(const_cast<void*>(buf)), len, offset};
  const async_status_t st = run_file_call(job, c);
  *n = c.done;
  return st;
}

}  // namespace

extern "C" ASYNC_API async_status_t async_pread(int fd, void* buf, size_t len, uint64_t offset, size_t* n) noexcept {
  return transfer(pread_job, fd, buf, len, offset, n);
}

extern "C" ASYNC_API async_status_t async_pwrite(int fd, const void* buf, size_t len, uint64_t offset, size_t* n) noexcept {
  // pwrite_job only reads through the pointer.
  return transfer(pwrite_job, fd, buf, len, offset, n);
}

extern "C" ASYNC_API async_status_t async_fsync(int fd) noexcept {
  file_call c{fd, nullptr, 0, 0};
  return run_file_call(fsync_job, c);
}
