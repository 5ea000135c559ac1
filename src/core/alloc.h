// SPDX-License-Identifier: MIT
// alloc.h: array allocation that reports failure instead of throwing. A
// `new (std::nothrow) T[n]` whose byte size overflows still throws
// std::bad_array_new_length (the size check is part of the new-expression,
// not of the nothrow operator new), which must never cross the C boundary:
// every array sized by the user (task table, timer heap, channel buffer)
// comes from here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace async::detail {

// Room for the array cookie a new[] of a non-trivially destructible T adds.
inline constexpr std::size_t array_cookie_room = 64;

// Whether `n` objects of type T can be asked for at all: their size, with a
// cookie, stays within PTRDIFF_MAX (no object may be larger).
template <typename T>
constexpr bool array_size_ok(std::size_t n) noexcept {
  return n <= (static_cast<std::size_t>(PTRDIFF_MAX) - array_cookie_room) / sizeof(T);
}

// new T[n], or nullptr when out of memory or when n * sizeof(T) is too large.
template <typename T>
T* new_array(std::size_t n) noexcept {
  if (!array_size_ok<T>(n)) return nullptr;
  return new (std::nothrow) T[n];
}

}  // namespace async::detail
