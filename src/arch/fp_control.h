// SPDX-License-Identifier: MIT
// fp_control.h: the FP control state a fresh fiber starts with: the state
// the driving thread had when it began running the runtime (captured once
// per run or top-level await), written into the fiber's first frame. Not the
// dispatcher's state: whichever fiber happens to dispatch it must not leak
// into it. Only with ASYNC_FIBER_SAVE_X87; otherwise the state belongs to the
// thread.
#pragma once

#include <cstdint>
#include <cstring>

#include "context_offsets.h"

namespace async::detail {

struct fp_control {
#if ASYNC_FIBER_SAVE_X87 && defined(__x86_64__)
  std::uint32_t mxcsr;
  std::uint16_t x87cw;
#elif ASYNC_FIBER_SAVE_X87 && defined(__aarch64__)
  std::uint64_t fpcr;
#endif
};

inline fp_control fp_control_capture() noexcept {
  fp_control c{};
#if ASYNC_FIBER_SAVE_X87 && defined(__x86_64__)
  __asm__ volatile("stmxcsr %0" : "=m"(c.mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(c.x87cw));  // fnstcw: no wait for pending x87 faults
#elif ASYNC_FIBER_SAVE_X87 && defined(__aarch64__)
  __asm__ volatile("mrs %0, fpcr" : "=r"(c.fpcr));
#endif
  return c;
}

// Writes `c` into the saved frame at `sp` (a context made by ctx_make).
inline void fp_control_apply(void* sp, const fp_control& c) noexcept {
  char* frame = static_cast<char*>(sp);
#if ASYNC_FIBER_SAVE_X87 && defined(__x86_64__)
  std::memcpy(frame + ASYNC_CTX_MXCSR, &c.mxcsr, sizeof c.mxcsr);
  std::memcpy(frame + ASYNC_CTX_X87CW, &c.x87cw, sizeof c.x87cw);
#elif ASYNC_FIBER_SAVE_X87 && defined(__aarch64__)
  std::memcpy(frame + ASYNC_CTX_FPCR, &c.fpcr, sizeof c.fpcr);
#else
  (void)frame, (void)c;
#endif
}

}  // namespace async::detail
