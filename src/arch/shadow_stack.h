// SPDX-License-Identifier: MIT
// shadow_stack.h: CET shadow stacks for fibers (ASYNC_FIBER_SHADOW_STACK=1,
// Linux x86_64 only; low-level.md §3). Each fiber then gets its own shadow
// stack, seeded so that the first switch into it returns to the trampoline.
// Whether shadow stacks are active is detected at run time: when they are
// not (always on Debian 12, and on every CPU without CET), nothing is mapped
// and the switch skips every CET instruction. Without the build flag every
// function here is an empty inline.
#pragma once

#include <cstddef>

#include "context_offsets.h"

namespace async::detail {

// A fiber's shadow stack, if it has one.
struct shstk_context {
#if ASYNC_CTX_SHSTK
  void* base = nullptr;  // from map_shadow_stack; nullptr when none
  std::size_t size = 0;
#endif
};

#if ASYNC_CTX_SHSTK
// True when the calling thread runs with shadow stacks on (read once).
bool shstk_active() noexcept;
// A fresh context was made at `sp` (ctx_make) for a stack of `stack_bytes`:
// when shadow stacks are active, map and seed one for it and patch the
// frame's SSP slot and return address. False when mapping failed.
bool shstk_prepare(shstk_context& c, void* sp, std::size_t stack_bytes) noexcept;
// The fiber has ended and been switched away from for good.
void shstk_release(shstk_context& c) noexcept;
#else
inline bool shstk_active() noexcept { return false; }
inline bool shstk_prepare(shstk_context&, void*, std::size_t) noexcept { return true; }
inline void shstk_release(shstk_context&) noexcept {}
#endif

}  // namespace async::detail
