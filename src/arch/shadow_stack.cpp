// SPDX-License-Identifier: MIT
// shadow_stack.cpp: a CET shadow stack per fiber (docs/low_level.md). Compiled
// only with ASYNC_FIBER_SHADOW_STACK=1 (Linux x86_64); empty otherwise.
//
// With shadow stacks active, every ret pops the normal stack and the shadow
// stack and faults (#CP, SIGSEGV with SEGV_CPERR) when the two differ, so a
// fiber cannot run on the shadow stack of the thread. Each fiber gets one
// from map_shadow_stack, with a restore token at its top; before the fiber
// first runs, async_impl_shstk_seed (context_x86_64.S) pushes onto it the
// address the fiber's first ret will pop (async_impl_shstk_landing, which
// jumps to the trampoline), and the initial frame is patched to match. The
// switch then moves between shadow stacks with rstorssp/saveprevssp.
//
// When shadow stacks are off (no CET in the CPU, no kernel support, or not
// enabled by the loader), nothing is mapped, every saved SSP stays 0 and the
// switch runs no CET instruction but rdsspq, which is a no-op then.
#include "shadow_stack.h"

#if ASYNC_CTX_SHSTK

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "assert.h"

// Debian 12's kernel headers (linux-libc-dev 6.1) predate these (Linux 6.6).
#ifndef __NR_map_shadow_stack
#define __NR_map_shadow_stack 453  // x86_64; not 451, which is cachestat
#endif
#ifndef SHADOW_STACK_SET_TOKEN
#define SHADOW_STACK_SET_TOKEN 0x1  // the only flag x86 accepts
#endif
#ifndef ARCH_SHSTK_STATUS
#define ARCH_SHSTK_STATUS 0x5005
#endif
#ifndef ARCH_SHSTK_SHSTK
#define ARCH_SHSTK_SHSTK (1ULL << 0)
#endif

extern "C" {
// context_x86_64.S: seeds the fresh shadow stack whose kernel restore token
// is at `restore_token`; returns its new SSP, or 0 (and does nothing) when
// the calling thread runs without shadow stacks.
void* async_impl_shstk_seed(void* restore_token);
// The address the seeding pushes: it jumps to async_impl_ctx_trampoline.
void async_impl_shstk_landing();
}

namespace async::detail {
namespace {

std::size_t page_bytes() noexcept {
  static const std::size_t page = [] {
    const long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::size_t>(p) : std::size_t{4096};
  }();
  return page;
}

bool detect() noexcept {
  // The same test the switch makes, so that this code and the assembly can
  // never disagree about whether CET instructions may run.
  const bool on = shstk_read_ssp() != 0;
#if ASYNC_DEBUG_CHECKS
  // Cross-check with the kernel. EINVAL (kernels before 6.6 or built without
  // CONFIG_X86_USER_SHADOW_STACK, like Debian 12's) tells nothing; an answer
  // must agree with the CPU's.
  unsigned long long features = 0;
  if (syscall(SYS_arch_prctl, ARCH_SHSTK_STATUS, &features) == 0) {
    ASYNC_ASSERT(((features & ARCH_SHSTK_SHSTK) != 0) == on);
  }
#endif
  return on;
}

void* map_shadow_stack(std::size_t size) noexcept {
  const long r = syscall(__NR_map_shadow_stack, 0UL, size, static_cast<unsigned long>(SHADOW_STACK_SET_TOKEN));
  return r == -1 ? nullptr : reinterpret_cast<void*>(r);
}

std::uint64_t load_u64(std::uintptr_t address) noexcept {
  // Shadow-stack memory is readable with ordinary loads (PROT_READ); only
  // CALL, RET and the CET instructions may write it.
  std::uint64_t v;
  std::memcpy(&v, reinterpret_cast<const void*>(address), sizeof v);
  return v;
}

template <typename T>
void put(void* frame, std::size_t offset, T value) noexcept {
  std::memcpy(static_cast<char*>(frame) + offset, &value, sizeof value);
}

}  // namespace

bool shstk_active() noexcept {
  static const bool active = detect();
  return active;
}

bool shstk_prepare(shstk_context& c, void* sp, std::size_t stack_bytes) noexcept {
  if (!shstk_active()) return true;  // never map when inactive (docs/low_level.md)
  shstk_release(c);                  // a leftover would only leak
  const std::size_t size = shstk_size_for(stack_bytes, page_bytes());
  void* mapped = map_shadow_stack(size);
  if (mapped == nullptr) return false;
  const auto base = reinterpret_cast<std::uintptr_t>(mapped);
  // rstorssp faults (#CP) on anything but the token we expect; check it
  // first, so that a kernel that behaves differently gives a clean failure.
  const std::uintptr_t token = shstk_token_address(base, size);
  if (load_u64(token) != shstk_token_value(base, size)) {
    munmap(mapped, size);
    return false;
  }
  void* ssp = async_impl_shstk_seed(reinterpret_cast<void*>(token));
  if (ssp == nullptr) {
    // This thread runs without shadow stacks although the process's first
    // reading said otherwise (only possible if a thread disabled them): its
    // switches skip CET instructions, so the fiber needs none.
    munmap(mapped, size);
    return true;
  }
#if ASYNC_DEBUG_CHECKS
  // What the seeding must have left: the landing on top, where the kernel's
  // token was, and the restore token for that SSP in the slot below.
  const auto new_ssp = reinterpret_cast<std::uintptr_t>(ssp);
  ASYNC_ASSERT(new_ssp == shstk_seeded_ssp(base, size));
  ASYNC_ASSERT(load_u64(new_ssp) == reinterpret_cast<std::uintptr_t>(&async_impl_shstk_landing));
  ASYNC_ASSERT(load_u64(new_ssp - shstk_entry_bytes) == (static_cast<std::uint64_t>(new_ssp) | 1u));
#endif
  c.base = mapped;
  c.size = size;
  // The first switch into the fiber restores this SSP and rets to the
  // landing, which is the entry on top of the new shadow stack.
  put(sp, ASYNC_CTX_SSP, ssp);
  put(sp, ASYNC_CTX_RET, reinterpret_cast<void*>(&async_impl_shstk_landing));
  return true;
}

void shstk_release(shstk_context& c) noexcept {
  if (c.base == nullptr) return;
  munmap(c.base, c.size);
  c.base = nullptr;
  c.size = 0;
}

}  // namespace async::detail

#endif  // ASYNC_CTX_SHSTK
