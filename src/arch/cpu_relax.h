// SPDX-License-Identifier: MIT
// cpu_relax.h: the pause instruction for the inside of a spin loop. It tells
// the CPU the loop waits on another thread's store (x86 `pause`, arm64
// `yield`), which frees the core's resources for the sibling hyperthread and
// avoids the memory-order flush on exit. Every spin in the library uses it.
#pragma once

namespace async::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

}  // namespace async::detail
