// SPDX-License-Identifier: MIT
// signal_owner.h: which signals a handler of the library may take over: the
// ones async_signal_wait catches (src/io/signal_catch.cpp) and the dump
// signal (dump_signal.cpp).
#pragma once

#include <csignal>

namespace async::detail {

inline bool handler_may_own(int signo) noexcept {
  if (signo <= 0 || signo >= NSIG) return false;
  switch (signo) {
    case SIGKILL:
    case SIGSTOP:
    // A handler that returns from a fault runs the faulting instruction
    // again; the stack-overflow report (src/stack) owns SIGSEGV besides.
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
      return false;
    default:
      break;
  }
#if defined(SIGRTMIN)
  // The real-time signals the C library keeps for its threads (glibc: 32
  // and 33; musl: 32 to 34) lie between the standard ones and SIGRTMIN.
  if (signo >= 32 && signo < SIGRTMIN) return false;
#endif
  return true;
}

}  // namespace async::detail
