// SPDX-License-Identifier: MIT
// owned_runtimes_api.cpp: `async_internal_owned_runtimes`, the handles of the
// runtimes the calling thread owns, for the test suite's teardown checks
// (tests/support/leak_check.h): after a test, every runtime still alive on
// the thread (the global one, any the test made and did not shut down) must
// be idle. Exported by cmake/async.map's async_* pattern but declared in no
// public header and not part of the C API: the runtimes a thread owns are
// otherwise not observable, and the suite links the shared library.
#include <cstddef>

#include "../core/registry.h"
#include "../core/runtime.h"
#include "async.h"

using namespace async::detail;

// Writes up to `cap` handles into `out`, newest runtime first, and returns how
// many runtimes the calling thread owns (more than `cap` when `out` was too
// small). Owner thread only, by construction: it reads the thread's own list.
extern "C" ASYNC_API size_t async_internal_owned_runtimes(async_runtime_t** out, size_t cap) noexcept {
  size_t n = 0;
  for (const runtime* r = tls_owned; r != nullptr; r = r->owned_next, ++n) {
    if (n < cap) out[n] = r->handle;
  }
  return n;
}
