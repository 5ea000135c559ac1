// SPDX-License-Identifier: MIT
// context_frame.h: the saved-context frame of each architecture as a struct,
// checked field by field against the offsets in context_offsets.h that the
// .S files use. The assembly cannot include a struct, and C++ cannot read
// the .S files' pushes, so these asserts are where the two meet: a field
// moved in one place and not the other fails the build.
#pragma once

#include <cstddef>
#include <cstdint>

#include "context_offsets.h"

namespace async::detail {

#if defined(__x86_64__)
// Low to high, as context_x86_64.S pushes it (rbp first, r15 last, after
// the return address that the call pushed).
struct ctx_frame {
#if ASYNC_CTX_SHSTK
  std::uint64_t ssp;  // the shadow stack pointer the context resumes with
#endif
#if ASYNC_FIBER_SAVE_X87
  std::uint32_t mxcsr;   // stmxcsr / ldmxcsr
  std::uint16_t x87_cw;  // fnstcw / fldcw
  std::uint16_t fpu_pad;
#endif
  std::uint64_t r15;
  std::uint64_t r14;
  std::uint64_t r13;  // fresh frame: the entry function
  std::uint64_t r12;  // fresh frame: its argument
  std::uint64_t rbx;
  std::uint64_t rbp;
  std::uint64_t ret;  // where the context resumes (fresh frame: the trampoline)
};

#if ASYNC_CTX_SHSTK
static_assert(offsetof(ctx_frame, ssp) == ASYNC_CTX_SSP);
#endif
#if ASYNC_FIBER_SAVE_X87
static_assert(offsetof(ctx_frame, mxcsr) == ASYNC_CTX_MXCSR);
static_assert(offsetof(ctx_frame, x87_cw) == ASYNC_CTX_X87CW);
#endif
static_assert(offsetof(ctx_frame, r15) == ASYNC_CTX_R15);
static_assert(offsetof(ctx_frame, r14) == ASYNC_CTX_R14);
static_assert(offsetof(ctx_frame, r13) == ASYNC_CTX_R13);
static_assert(offsetof(ctx_frame, r12) == ASYNC_CTX_R12);
static_assert(offsetof(ctx_frame, rbx) == ASYNC_CTX_RBX);
static_assert(offsetof(ctx_frame, rbp) == ASYNC_CTX_RBP);
static_assert(offsetof(ctx_frame, ret) == ASYNC_CTX_RET);
static_assert(sizeof(ctx_frame) == ASYNC_CTX_FRAME_SIZE, "the return address ends the frame");

#elif defined(__aarch64__)
// Low to high, as context_arm64.S stores it (stp pairs from sp up).
struct ctx_frame {
  std::uint64_t x19;  // fresh frame: the entry function
  std::uint64_t x20;  // fresh frame: its argument
  std::uint64_t x21;
  std::uint64_t x22;
  std::uint64_t x23;
  std::uint64_t x24;
  std::uint64_t x25;
  std::uint64_t x26;
  std::uint64_t x27;
  std::uint64_t x28;
  std::uint64_t x29;  // frame pointer (0 in a fresh frame: the chain ends)
  std::uint64_t x30;  // where the context resumes (`ret`)
  std::uint64_t d8;
  std::uint64_t d9;
  std::uint64_t d10;
  std::uint64_t d11;
  std::uint64_t d12;
  std::uint64_t d13;
  std::uint64_t d14;
  std::uint64_t d15;
  std::uint64_t fpcr;  // used with ASYNC_FIBER_SAVE_X87; the slot stays either way
  std::uint64_t pad;   // keeps sp 16-aligned
};

static_assert(offsetof(ctx_frame, x19) == ASYNC_CTX_X19);
static_assert(offsetof(ctx_frame, x29) == ASYNC_CTX_X29);
static_assert(offsetof(ctx_frame, x30) == ASYNC_CTX_X30, "x29 and x30 form one ldp pair");
static_assert(offsetof(ctx_frame, d8) == ASYNC_CTX_D8);
static_assert(offsetof(ctx_frame, fpcr) == ASYNC_CTX_FPCR);
static_assert(sizeof(ctx_frame) == ASYNC_CTX_FRAME_SIZE, "fpcr and its pad end the frame");
static_assert(ASYNC_CTX_FRAME_SIZE % 16 == 0, "sp must stay 16-aligned");
#endif

}  // namespace async::detail
