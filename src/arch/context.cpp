// SPDX-License-Identifier: MIT
// context.cpp: builds the initial frame of a fresh fiber, in the layout of
// context_offsets.h, so that the first switch "returns" into the trampoline.
#include "context.h"

#include <cstring>

#include "context_frame.h"
#include "fp_control.h"

namespace async::detail {
namespace {

template <typename T>
void put(char* frame, std::size_t offset, T value) noexcept {
  std::memcpy(frame + offset, &value, sizeof value);
}

}  // namespace

#if defined(__x86_64__)
// The frame's layout is checked field by field in context_frame.h.
void* ctx_make(void* stack_top, ctx_entry_fn entry, void* arg, const fp_control& fp) noexcept {
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // Zero the 16 bytes above the frame: the trampoline runs with rsp there,
  // and naive stack scanners stop at zeros rather than at stale data.
  std::memset(reinterpret_cast<void*>(top - 16), 0, 16);
  char* frame = reinterpret_cast<char*>(top - 16 - ASYNC_CTX_FRAME_SIZE);
  std::memset(frame, 0, ASYNC_CTX_FRAME_SIZE);
  fp_control_apply(frame, fp);
  put(frame, offsetof(ctx_frame, r12), arg);
  put(frame, offsetof(ctx_frame, r13), reinterpret_cast<void*>(entry));
  put(frame, offsetof(ctx_frame, ret), reinterpret_cast<void*>(&async_impl_ctx_trampoline));
  return frame;
}
#elif defined(__aarch64__)
// A fresh frame carries the entry function in x19 and its argument in x20;
// the trampoline moves them to blr and x0. The frame's layout is checked
// field by field in context_frame.h.
void* ctx_make(void* stack_top, ctx_entry_fn entry, void* arg, const fp_control& fp) noexcept {
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // Zero the 16 bytes above the frame: the trampoline starts with sp there,
  // and naive stack scanners stop at zeros rather than at stale data.
  std::memset(reinterpret_cast<void*>(top - 16), 0, 16);
  char* frame = reinterpret_cast<char*>(top - 16 - ASYNC_CTX_FRAME_SIZE);
  // Zeroes x29 (the frame-record chain ends at 0), the other callee-saved
  // registers, the pad, and the fpcr slot when it is unused.
  std::memset(frame, 0, ASYNC_CTX_FRAME_SIZE);
  fp_control_apply(frame, fp);
  put(frame, offsetof(ctx_frame, x19), reinterpret_cast<void*>(entry));
  put(frame, offsetof(ctx_frame, x20), arg);
  put(frame, offsetof(ctx_frame, x30), reinterpret_cast<void*>(&async_impl_ctx_trampoline));
  return frame;
}
#endif

}  // namespace async::detail
