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

static_assert(ASYNC_CTX_TOP_ZONE % 16 == 0, "the trampoline must keep the stack 16-aligned");
static_assert(ASYNC_CTX_FRAME_SIZE <= ASYNC_CTX_TOP_ZONE,
              "a fresh frame must fit in the zone the trampoline keeps free");

}  // namespace async::detail
