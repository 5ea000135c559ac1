// SPDX-License-Identifier: MIT
// blocking_api.cpp: the extern "C" boundary of the blocking pool
// (async/blocking.h): async_run_blocking and async_getaddrinfo. Arguments
// are checked here, before anything is queued.
#include <netdb.h>

#include <cerrno>

#include "../core/blocking_pool.h"
#include "async.h"

using namespace async::detail;

extern "C" ASYNC_API async_status_t async_run_blocking(async_fn fn, void* user) noexcept {
  if (fn == nullptr) return ASYNC_EINVAL;
  task* self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  return run_blocking(self, fn, user);
}

namespace {

// One getaddrinfo call, on the fiber's stack.
struct resolve_call {
  const char* node;
  const char* service;
  const addrinfo* hints;
  addrinfo* res = nullptr;
  int rc = 0;
  int err = 0;  // errno for EAI_SYSTEM
};

void resolve_job(void* p) noexcept {
  auto* c = static_cast<resolve_call*>(p);
  c->rc = ::getaddrinfo(c->node, c->service, c->hints, &c->res);
  if (c->rc == EAI_SYSTEM) c->err = errno;
  if (c->rc != 0) c->res = nullptr;  // not promised by every libc
}

}  // namespace

extern "C" ASYNC_API async_status_t async_getaddrinfo(const char* node, const char* service,
                                                      const struct addrinfo* hints, struct addrinfo** res,
                                                      int* gai_error) noexcept {
  if (gai_error != nullptr) *gai_error = 0;
  if (res == nullptr) return ASYNC_EINVAL;
  *res = nullptr;
  task* self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  resolve_call c{node, service, hints};
  const async_status_t st = run_blocking(self, resolve_job, &c);
  if (st != ASYNC_OK) {
    // Cancelled while it ran: the list it may have made is not handed out.
    if (c.res != nullptr) ::freeaddrinfo(c.res);
    return st;
  }
  if (c.rc != 0) {
    if (gai_error != nullptr) *gai_error = c.rc;
    if (c.rc == EAI_SYSTEM) errno = c.err;
    return ASYNC_EIO;
  }
  *res = c.res;
  return ASYNC_OK;
}
