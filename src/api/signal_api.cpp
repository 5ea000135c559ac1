// SPDX-License-Identifier: MIT
// signal_api.cpp: the extern "C" boundary of async/signal.h: checks the
// arguments and the caller (every misuse before anything is held), then
// waits (src/io/signal.h).
#include "../core/runtime.h"
#include "../io/signal.h"
#include "async.h"

using namespace async::detail;

extern "C" {

ASYNC_API async_status_t async_signal_wait_until(const int* signals, size_t count, int* signo,
                                                 uint64_t deadline_ns) noexcept {
  if (signo != nullptr) *signo = 0;
  if (signals == nullptr || signo == nullptr || count == 0) return ASYNC_EINVAL;
  for (size_t i = 0; i < count; ++i) {
    if (!signal_waitable(signals[i])) return ASYNC_EINVAL;
  }
  task* self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  const wait_mode mode = deadline_ns == ASYNC_NO_DEADLINE ? wait_mode::forever : wait_mode::until;
  return signal_wait(self, signals, count, *signo, mode, deadline_ns);
}

ASYNC_API async_status_t async_signal_wait(const int* signals, size_t count, int* signo) noexcept {
  return async_signal_wait_until(signals, count, signo, ASYNC_NO_DEADLINE);
}

}  // extern "C"
