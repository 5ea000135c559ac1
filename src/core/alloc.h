// SPDX-License-Identifier: MIT
// alloc.h: the library's heap. Every heap allocation the library makes goes
// through heap_alloc/heap_free, and so through the allocator that
// async_set_allocator installed (docs/allocation.md); what still does not is
// listed in async.h, at async_set_allocator.
//
// Failure is a null pointer, never an exception: nothing here may throw
// across the C boundary. Sizes that would overflow are refused before the
// allocator sees them, so every array sized by the user (task table, timer
// heap, channel buffer) comes from new_array.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace async::detail {

// ASYNC_ALLOCATOR_MAX_ALIGN (async.h; alloc.cpp checks they agree). Not
// included from there: the kqueue backend, which allocates through here,
// compiles with nothing but POSIX and the standard library (.ci/portable.sh).
inline constexpr std::size_t heap_max_align = 64;

// `size` bytes aligned to `align` (a power of two, at most
// heap_max_align) from the installed allocator; nullptr when it
// has none to give.
void* heap_alloc(std::size_t size, std::size_t align) noexcept;
// Gives back what heap_alloc returned, with the size it was asked for.
// nullptr does nothing.
void heap_free(void* p, std::size_t size) noexcept;

// Whether `n` objects of type T can be asked for at all: their size stays
// within PTRDIFF_MAX (no object may be larger).
template <typename T>
constexpr bool array_size_ok(std::size_t n) noexcept {
  return n <= static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(T);
}

// The bytes an array of n T takes; an empty one takes one element, so that
// the allocator is never asked for zero bytes.
template <typename T>
constexpr std::size_t array_bytes(std::size_t n) noexcept {
  return sizeof(T) * (n != 0 ? n : 1);
}

template <typename T>
constexpr void check_heap_type() noexcept {
  static_assert(alignof(T) <= heap_max_align, "async.h promises allocators no larger alignment");
  static_assert(std::is_nothrow_default_constructible_v<T>, "a failed constructor could not be reported");
}

// A value-initialised T{}, or nullptr when out of memory.
template <typename T>
T* heap_new() noexcept {
  check_heap_type<T>();
  void* p = heap_alloc(sizeof(T), alignof(T));
  return p != nullptr ? ::new (p) T{} : nullptr;
}

template <typename T>
void heap_delete(T* p) noexcept {
  if (p == nullptr) return;
  p->~T();
  heap_free(p, sizeof(T));
}

// n value-initialised T, or nullptr when out of memory or when n * sizeof(T)
// is too large.
template <typename T>
T* new_array(std::size_t n) noexcept {
  check_heap_type<T>();
  if (!array_size_ok<T>(n)) return nullptr;
  auto* p = static_cast<T*>(heap_alloc(array_bytes<T>(n), alignof(T)));
  if (p == nullptr) return nullptr;
  for (std::size_t i = 0; i < n; ++i) ::new (static_cast<void*>(p + i)) T();
  return p;
}

// Frees what new_array(n) returned; the caller says n, as the allocator is
// told the size.
template <typename T>
void delete_array(T* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  for (std::size_t i = 0; i < n; ++i) p[i].~T();
  heap_free(p, array_bytes<T>(n));
}

// An owning pointer to a new_array, for members that own one.
template <typename T>
struct array_deleter {
  std::size_t n = 0;
  void operator()(T* p) const noexcept { delete_array(p, n); }
};
template <typename T>
using heap_array = std::unique_ptr<T[], array_deleter<T>>;

template <typename T>
heap_array<T> make_heap_array(std::size_t n) noexcept {
  return heap_array<T>(new_array<T>(n), array_deleter<T>{n});
}

// For the standard containers the library uses: failure throws
// std::bad_alloc, which the caller catches (a container cannot return null).
template <typename T>
struct heap_allocator {
  using value_type = T;
  heap_allocator() noexcept = default;
  template <typename U>
  heap_allocator(const heap_allocator<U>& /*other*/) noexcept {}
  T* allocate(std::size_t n) {
    if (!array_size_ok<T>(n)) throw std::bad_array_new_length();
    void* p = heap_alloc(array_bytes<T>(n), alignof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept { heap_free(p, array_bytes<T>(n)); }
  template <typename U>
  bool operator==(const heap_allocator<U>& /*other*/) const noexcept {
    return true;
  }
};

}  // namespace async::detail
