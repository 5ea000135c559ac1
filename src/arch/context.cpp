// SPDX-License-Identifier: MIT
// context.cpp: builds the initial frame of a fresh fiber, in the layout of
// context_offsets.h, so that the first switch "returns" into the trampoline.
#include "context.h"

#include <cstring>

namespace async::detail {
namespace {

template <typename T>
void put(char* frame, std::size_t offset, T value) noexcept {
  std::memcpy(frame + offset, &value, sizeof value);
}

}  // namespace

#if defined(__x86_64__)
static_assert(ASYNC_CTX_FRAME_SIZE == ASYNC_CTX_RET + 8, "the return address ends the frame");
static_assert(ASYNC_CTX_RBP == ASYNC_CTX_R15 + 40, "push order: rbp rbx r12 r13 r14 r15");

void* ctx_make(void* stack_top, ctx_entry_fn entry, void* arg) noexcept {
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // Zero the 16 bytes above the frame: the trampoline runs with rsp there,
  // and naive stack scanners stop at zeros rather than at stale data.
  std::memset(reinterpret_cast<void*>(top - 16), 0, 16);
  char* frame = reinterpret_cast<char*>(top - 16 - ASYNC_CTX_FRAME_SIZE);
  std::memset(frame, 0, ASYNC_CTX_FRAME_SIZE);
#if ASYNC_FIBER_SAVE_X87
  // A new fiber inherits the FP control state of its spawner, as a thread
  // inherits its creator's (Boost.Context's make_fcontext does the same).
  std::uint32_t mxcsr;
  std::uint16_t x87cw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(x87cw));
  put(frame, ASYNC_CTX_MXCSR, mxcsr);
  put(frame, ASYNC_CTX_X87CW, x87cw);
#endif
  put(frame, ASYNC_CTX_R12, arg);
  put(frame, ASYNC_CTX_R13, reinterpret_cast<void*>(entry));
  put(frame, ASYNC_CTX_RET, reinterpret_cast<void*>(&async_impl_ctx_trampoline));
  return frame;
}
#endif

}  // namespace async::detail
