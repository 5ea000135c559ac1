// SPDX-License-Identifier: MIT
// pair_cas.h: one compare-exchange of two adjacent 8-byte words, a state word
// and the pointer it publishes (x86_64 `lock cmpxchg16b`), so that both move
// in a single write. An unbuffered channel's offer uses it (channel_ring.h):
// placed in three steps (claim, message, out), a receiver's poll that lands
// between them takes the line away from the sender mid-way, and the
// cross-thread ping-pong paid for it (docs/benchmarks.md, "One write per
// offer").
//
// The pair is read with two 8-byte atomic loads, and the state word alone is
// still moved by 8-byte atomic operations. That mix of sizes is a deliberate
// reliance beyond what the x86 manuals recommend (they ask for the same
// address and size for every locked access to a shared word) and beyond the
// C++ memory model, which has no name for it: it rests on both words being
// one aligned 16 bytes within one write-back cache line, where locked
// instructions of any size are atomic with respect to each other and to
// every other access.
// ThreadSanitizer does not see inline assembly, so instrumented builds (and
// other CPUs) take the three-step path; so does a CPU without cmpxchg16b
// (the first AMD64 ones).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sanitizer.h"

#if defined(__x86_64__) && !ASYNC_TSAN
#include <cpuid.h>
#define ASYNC_HAVE_PAIR_CAS 1
#else
#define ASYNC_HAVE_PAIR_CAS 0
#endif

namespace async::detail {

// The two words, 16-byte aligned, `word` first.
struct alignas(16) word_and_pointer {
  std::atomic<std::uint64_t> word;
  std::atomic<void*> pointer;
};
static_assert(offsetof(word_and_pointer, pointer) == 8 && sizeof(word_and_pointer) == 16,
              "cmpxchg16b compares the two words as one");

#if ASYNC_HAVE_PAIR_CAS

inline bool detect_pair_cas() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & bit_CMPXCHG16B) != 0;
}

// Read at static initialisation; a call before it (from another static
// initialiser) reads false and takes the three-step path, which works with
// the one-write path on the same word.
inline const bool pair_cas_supported = detect_pair_cas();

// If p is {word, pointer}, stores {new_word, new_pointer} and returns true;
// else loads p into word and pointer and returns false. A full barrier
// either way (a locked instruction).
inline bool pair_cas(word_and_pointer& p, std::uint64_t& word, void*& pointer, std::uint64_t new_word,
                     void* new_pointer) noexcept {
  bool swapped;
  __asm__ __volatile__("lock cmpxchg16b %[pair]"
                       : "=@ccz"(swapped), [pair] "+m"(p), "+a"(word), "+d"(pointer)
                       : "b"(new_word), "c"(new_pointer)
                       : "memory");
  return swapped;
}

#else

inline constexpr bool pair_cas_supported = false;

#endif

}  // namespace async::detail
