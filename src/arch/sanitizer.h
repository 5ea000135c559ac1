// SPDX-License-Identifier: MIT
// sanitizer.h: what AddressSanitizer, ThreadSanitizer and Valgrind must be
// told about fiber switches and fiber stacks (docs/low_level.md,
// Sanitizers and fiber switches). Switched on
// automatically when the build is instrumented; otherwise every hook is an
// empty inline function and costs nothing.
#pragma once

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASYNC_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define ASYNC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(ASYNC_ASAN)
#define ASYNC_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(ASYNC_TSAN)
#define ASYNC_TSAN 1
#endif
#ifndef ASYNC_ASAN
#define ASYNC_ASAN 0
#endif
#ifndef ASYNC_TSAN
#define ASYNC_TSAN 0
#endif

#if ASYNC_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if ASYNC_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef ASYNC_WITH_VALGRIND
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#define ASYNC_WITH_VALGRIND 1
#endif
#endif
#endif
#ifndef ASYNC_WITH_VALGRIND
#define ASYNC_WITH_VALGRIND 0
#endif
#if ASYNC_WITH_VALGRIND
#include <valgrind/valgrind.h>
#endif

// The switch hooks must be inlined into their caller even at -O0: a call
// that returns after __tsan_switch_to_fiber would pop a frame from the new
// fiber's (empty) TSan shadow stack.
#define ASYNC_SAN_INLINE inline __attribute__((always_inline))

namespace async::detail {

// Per-context sanitizer state; empty unless a sanitizer is on.
struct san_context {
#if ASYNC_ASAN
  void* asan_fake_stack = nullptr;  // ASan's fake stack of this context while parked
  const void* stack_lo = nullptr;   // bounds given to ASan when switching here
  std::size_t stack_size = 0;
#endif
#if ASYNC_TSAN
  void* tsan_fiber = nullptr;  // __tsan_create_fiber, or the thread's own for a root
#endif
};

// A context is created on [lo, lo + size).
inline void san_on_create(san_context& c, const void* lo, std::size_t size, bool is_root) noexcept {
#if ASYNC_ASAN
  c.stack_lo = lo;
  c.stack_size = size;
  c.asan_fake_stack = nullptr;
  // Frames that were live at a fiber's final switch never returned, so their
  // redzones are still poisoned in a reused pooled stack.
  if (!is_root && lo != nullptr) __asan_unpoison_memory_region(lo, size);
#endif
#if ASYNC_TSAN
  c.tsan_fiber = is_root ? __tsan_get_current_fiber() : __tsan_create_fiber(0);
#endif
  (void)c, (void)lo, (void)size, (void)is_root;
}

// Immediately before switching from `from` to `to`. `from_ends` when `from`
// will never run again (ASan then frees its fake stack).
ASYNC_SAN_INLINE void san_before_switch(san_context& from, san_context& to, bool from_ends) noexcept {
#if ASYNC_ASAN
  __sanitizer_start_switch_fiber(from_ends ? nullptr : &from.asan_fake_stack, to.stack_lo,
                                 to.stack_size);
#endif
#if ASYNC_TSAN
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
  (void)from, (void)to, (void)from_ends;
}

// Right after arriving in `self` (also at a fresh fiber's first instruction).
// `prev` is the context that switched here; a root context learns its stack
// bounds from it the first time, since the runtime did not allocate them.
ASYNC_SAN_INLINE void san_after_switch(san_context& self, san_context* prev) noexcept {
#if ASYNC_ASAN
  const void* old_lo = nullptr;
  std::size_t old_size = 0;
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, &old_lo, &old_size);
  if (prev != nullptr && prev->stack_lo == nullptr) {
    prev->stack_lo = old_lo;
    prev->stack_size = old_size;
  }
#endif
  (void)self, (void)prev;
}

// After the last switch away from a finished context (never while on it).
inline void san_on_destroy(san_context& c) noexcept {
#if ASYNC_TSAN
  if (c.tsan_fiber != nullptr) __tsan_destroy_fiber(c.tsan_fiber);
  c.tsan_fiber = nullptr;
#endif
  (void)c;
}

// Valgrind: a stack the program switches onto must be registered, or memcheck
// takes the jump between adjacent stacks for a huge frame and reports false
// errors. Register the usable range (not the guard), lowest address first.
inline unsigned valgrind_register_stack(void* lo, std::size_t size) noexcept {
#if ASYNC_WITH_VALGRIND
  return VALGRIND_STACK_REGISTER(lo, static_cast<char*>(lo) + size);
#else
  (void)lo, (void)size;
  return 0;
#endif
}

inline void valgrind_deregister_stack(unsigned id) noexcept {
#if ASYNC_WITH_VALGRIND
  if (id != 0) VALGRIND_STACK_DEREGISTER(id);
#else
  (void)id;
#endif
}

}  // namespace async::detail
