// SPDX-License-Identifier: MIT
// context.h: the C++ view of the assembly context switch (context_*.S).
// Nothing above this layer knows registers; it sees a context as a saved
// stack pointer and three calls: make, swap, jump.
#pragma once

#include <cstddef>
#include <cstdint>

#include "context_offsets.h"
#include "fp_control.h"

extern "C" {
// Saves the running context into *save_sp and resumes load_sp.
void async_impl_ctx_swap(void** save_sp, void* load_sp);
// Resumes load_sp, abandoning the running context. Never returns.
[[noreturn]] void async_impl_ctx_jump(void* load_sp);
// The outermost frame of every fiber; not called directly.
void async_impl_ctx_trampoline();
}

namespace async::detail {

using ctx_entry_fn = void (*)(void* arg);

// Builds a fresh context at the top of a stack: the first swap or jump to
// the returned stack pointer calls entry(arg) on that stack, with the FP
// control state `fp` (MXCSR + x87 CW, or FPCR; see fp_control.h). entry must
// never return. stack_top need not be aligned; the frame is written in the
// ASYNC_CTX_TOP_ZONE + 16 bytes below it.
void* ctx_make(void* stack_top, ctx_entry_fn entry, void* arg, const fp_control& fp) noexcept;

// Bytes at the top of a stack that ctx_make writes and fibers never use.
inline constexpr std::size_t ctx_reserved_top_bytes = ASYNC_CTX_TOP_ZONE + 16 + 16;

// The switches the return-stack predictor cannot get right (into a fresh
// fiber, out of an ended one) are made without `call` and `ret` where
// context_offsets.h allows (ASYNC_CTX_FRESH_UNCALLED, ASYNC_CTX_END_UNCALLED;
// docs/design.md, "Context switch").
#if ASYNC_CTX_FRESH_UNCALLED
#define ASYNC_CTX_STR2(x) #x
#define ASYNC_CTX_STR(x) ASYNC_CTX_STR2(x)
#define ASYNC_CTX_ASM_SYM(name) ASYNC_CTX_STR(__USER_LABEL_PREFIX__) #name
#endif

// async_impl_ctx_jump for a context that ends (a finished fiber), reached by
// a jump (async_impl_ctx_jump_uncalled): a call that never returns would
// leave a predictor entry behind.
[[noreturn, gnu::always_inline]] inline void ctx_jump_from_end(void* load_sp) noexcept {
#if ASYNC_CTX_END_UNCALLED
  asm volatile("jmp " ASYNC_CTX_ASM_SYM(async_impl_ctx_jump_uncalled) : : "D"(load_sp) : "memory");
  __builtin_unreachable();
#else
  async_impl_ctx_jump(load_sp);
#endif
}

// Whether the context at load_sp has never run (made by ctx_make): its
// first switch "returns" into the trampoline.
inline bool ctx_is_fresh(void* load_sp) noexcept {
#if ASYNC_CTX_FRESH_UNCALLED
  return static_cast<void* const*>(load_sp)[ASYNC_CTX_RET / sizeof(void*)] ==
         reinterpret_cast<void*>(&async_impl_ctx_trampoline);
#else
  (void)load_sp;
  return false;
#endif
}

// async_impl_ctx_swap into a fresh context (ctx_is_fresh), without a `call`:
// the return address is pushed and the switch entered by a jump, and it
// leaves by an indirect jump to the trampoline, so the return-stack
// predictor is neither pushed nor popped. A `ret` into the trampoline always
// missed, and the entry of that call, left on the predictor, made the
// switching context's way back miss too once the fiber ended. Inline: the
// only user, switch_to, also calls async_impl_ctx_swap out of line in its
// other branch, so every function it is inlined into is not a leaf and
// keeps nothing below the stack pointer (the x86_64 red zone is for leaf
// functions) where the push goes. Every register a call may change is declared
// clobbered. The context saved here may be resumed by any switch: its frame
// is the swap's.
[[gnu::always_inline]] inline void ctx_swap_into_fresh(void** save_sp, void* load_sp) noexcept {
#if ASYNC_CTX_FRESH_UNCALLED
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "jmp " ASYNC_CTX_ASM_SYM(async_impl_ctx_swap_jumped) "\n"
      "1:"
      : "+D"(save_sp), "+S"(load_sp)
      :
      : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
        "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
#if defined(__APX_F__)
        "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23", "r24", "r25", "r26", "r27", "r28",
        "r29", "r30", "r31",
#endif
#if defined(__AVX512F__)
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
        "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5",
        "k6", "k7",
#endif
        "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "cc", "memory");
#else
  async_impl_ctx_swap(save_sp, load_sp);
#endif
}

static_assert(ASYNC_CTX_TOP_ZONE % 16 == 0, "the trampoline must keep the stack 16-aligned");
static_assert(ASYNC_CTX_FRAME_SIZE <= ASYNC_CTX_TOP_ZONE,
              "a fresh frame must fit in the zone the trampoline keeps free");

}  // namespace async::detail
