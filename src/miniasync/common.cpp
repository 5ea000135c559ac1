// SPDX-License-Identifier: MIT
// common.cpp: the parking lot behind word_wait/word_wake where there is no
// futex (not Linux).
#include "common.h"

#if !defined(__linux__)
namespace miniasync {
park_bucket& bucket_for(const void* p) noexcept {
  static park_bucket buckets[64];
  return buckets[(reinterpret_cast<uintptr_t>(p) >> 6) % 64];
}
}  // namespace miniasync
#endif
