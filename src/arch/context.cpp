// SPDX-License-Identifier: MIT
// context.cpp: builds the initial frame of a fresh fiber, in the layout of
// context_offsets.h, so that the first switch "returns" into the trampoline.
#include "context.h"

#include <cstring>

#include "fp_control.h"

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

void* ctx_make(void* stack_top, ctx_entry_fn entry, void* arg, const fp_control& fp) noexcept {
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // Zero the 16 bytes above the frame: the trampoline runs with rsp there,
  // and naive stack scanners stop at zeros rather than at stale data.
  std::memset(reinterpret_cast<void*>(top - 16), 0, 16);
  char* frame = reinterpret_cast<char*>(top - 16 - ASYNC_CTX_FRAME_SIZE);
  std::memset(frame, 0, ASYNC_CTX_FRAME_SIZE);
  fp_control_apply(frame, fp);
  put(frame, ASYNC_CTX_R12, arg);
  put(frame, ASYNC_CTX_R13, reinterpret_cast<void*>(entry));
  put(frame, ASYNC_CTX_RET, reinterpret_cast<void*>(&async_impl_ctx_trampoline));
  return frame;
}
#elif defined(__aarch64__)
// Frame order (context_arm64.S): x19..x28, x29, x30, d8..d15, fpcr, pad.
// A fresh frame carries the entry function in x19 and its argument in x20;
// the trampoline moves them to blr and x0.
static_assert(ASYNC_CTX_X19 == 0, "the frame starts with x19");
static_assert(ASYNC_CTX_X29 == ASYNC_CTX_X19 + 80, "x19..x28, then x29");
static_assert(ASYNC_CTX_X30 == ASYNC_CTX_X29 + 8, "x29 and x30 form one ldp pair");
static_assert(ASYNC_CTX_D8 == ASYNC_CTX_X30 + 8, "d8..d15 follow x30");
static_assert(ASYNC_CTX_FPCR == ASYNC_CTX_D8 + 64, "fpcr follows d15");
static_assert(ASYNC_CTX_FRAME_SIZE == ASYNC_CTX_FPCR + 16, "fpcr and its pad end the frame");
static_assert(ASYNC_CTX_FRAME_SIZE % 16 == 0, "sp must stay 16-aligned");

void* ctx_make(void* stack_top, ctx_entry_fn entry, void* arg, const fp_control& fp) noexcept {
  constexpr std::size_t entry_slot = ASYNC_CTX_X19;    // x19
  constexpr std::size_t arg_slot = ASYNC_CTX_X19 + 8;  // x20
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // Zero the 16 bytes above the frame: the trampoline starts with sp there,
  // and naive stack scanners stop at zeros rather than at stale data.
  std::memset(reinterpret_cast<void*>(top - 16), 0, 16);
  char* frame = reinterpret_cast<char*>(top - 16 - ASYNC_CTX_FRAME_SIZE);
  // Zeroes x29 (the frame-record chain ends at 0), the other callee-saved
  // registers, the pad, and the fpcr slot when it is unused.
  std::memset(frame, 0, ASYNC_CTX_FRAME_SIZE);
  fp_control_apply(frame, fp);
  put(frame, entry_slot, reinterpret_cast<void*>(entry));
  put(frame, arg_slot, arg);
  put(frame, ASYNC_CTX_X30, reinterpret_cast<void*>(&async_impl_ctx_trampoline));
  return frame;
}
#endif

}  // namespace async::detail
