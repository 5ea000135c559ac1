// SPDX-License-Identifier: MIT
// shadow_stack.h: CET shadow stacks for fibers (ASYNC_FIBER_SHADOW_STACK=1,
// Linux x86_64 only; docs/low_level.md, docs/shadow_stacks.md). Each fiber then gets its own shadow
// stack, seeded so that the first switch into it returns to the trampoline.
// Whether shadow stacks are active is detected at run time: when they are
// not (always on Debian 12, and on every CPU without CET), nothing is mapped
// and the switch skips every CET instruction. Without the build flag every
// function here is an empty inline.
//
// The arithmetic (sizes, token address and value) and the SSP probe are
// defined in every build, so that they can be unit-tested on any machine.
#pragma once

#include <cstddef>
#include <cstdint>

#include "context_offsets.h"

namespace async::detail {

// A fiber's shadow stack, if it has one.
struct shstk_context {
#if ASYNC_CTX_SHSTK
  void* base = nullptr;  // from map_shadow_stack; nullptr when none
  std::size_t size = 0;
#endif
};

// --- Arithmetic (docs/low_level.md, Shadow stacks: mapping, tokens and size)

// One shadow-stack entry per call: 8 bytes, the return address.
inline constexpr std::size_t shstk_entry_bytes = 8;
// A normal stack of N bytes gets a shadow stack of N >> 1 bytes. Compiled
// code keeps rsp 16-aligned, so every frame that calls takes at least 16
// bytes of normal stack per 8-byte shadow entry: with half the size, the
// normal stack's guard page (and its clear overflow report) is always hit
// first. (glibc's makecontext uses N >> 5, which deep recursion through tiny
// frames can exhaust first.) Pages are touched lazily, so the extra size costs
// address space, not memory.
inline constexpr unsigned shstk_size_shift = 1;
// Signal handlers run on the interrupted shadow stack even with sigaltstack,
// and each delivery pushes two entries (a sigframe token and the restorer's
// return address): room for 16 nested deliveries, plus the two entries the
// seeding leaves (the landing and, below it, a restore token).
inline constexpr std::size_t shstk_signal_room = 16 * 2 * shstk_entry_bytes;
inline constexpr std::size_t shstk_seed_room = 2 * shstk_entry_bytes;

// The shadow-stack size for a fiber stack of `stack_bytes`: stack_bytes >> 5,
// rounded up to whole entries, plus the signal and seed room, rounded up to
// whole pages and at least one page. `page_bytes` must be a power of two.
constexpr std::size_t shstk_size_for(std::size_t stack_bytes, std::size_t page_bytes) noexcept {
  std::size_t bytes = stack_bytes >> shstk_size_shift;
  bytes = (bytes + shstk_entry_bytes - 1) & ~(shstk_entry_bytes - 1);
  bytes += shstk_signal_room + shstk_seed_room;
  bytes = (bytes + page_bytes - 1) & ~(page_bytes - 1);
  return bytes < page_bytes ? page_bytes : bytes;
}

// Where map_shadow_stack(SHADOW_STACK_SET_TOKEN) puts the restore token of a
// fresh shadow stack of `size` bytes at `base`: the topmost entry.
constexpr std::uintptr_t shstk_token_address(std::uintptr_t base, std::size_t size) noexcept {
  return base + size - shstk_entry_bytes;
}

// A restore token's value: the SSP it restores (the address just above the
// token) with bit 0 set for a 64-bit shadow stack.
constexpr std::uint64_t shstk_token_value(std::uintptr_t base, std::size_t size) noexcept {
  return static_cast<std::uint64_t>(base + size) | 1u;
}

// The SSP of a freshly seeded shadow stack: its one entry (the landing) is in
// the topmost slot, where the kernel's token was; the restore token for this
// SSP lies in the slot below.
constexpr std::uintptr_t shstk_seeded_ssp(std::uintptr_t base, std::size_t size) noexcept {
  return base + size - shstk_entry_bytes;
}

// --- Detection ------------------------------------------------------------

// The calling thread's shadow-stack pointer, or 0 when shadow stacks are off
// (or the CPU has no CET): rdsspq is then a no-op and the zeroed register
// keeps its 0. The only CET instruction that is safe to run in every case;
// the assembly switch makes the same test.
inline std::uintptr_t shstk_read_ssp() noexcept {
  std::uintptr_t ssp = 0;
#if defined(__x86_64__)
  __asm__ volatile("rdsspq %0" : "+r"(ssp));
#endif
  return ssp;
}

#if ASYNC_CTX_SHSTK
// True when shadow stacks are on (read once per process: only exec and the
// loader change it, and new threads inherit it).
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
