// SPDX-License-Identifier: MIT
// stack_pool.h: pooled fiber stacks with a guard page under each. The only
// code that maps, protects or advises memory. Stacks are mapped lazily in
// slabs, handed out and taken back LIFO in O(1) without allocating, and
// returned to the OS with madvise when the runtime goes idle, never unmapped
// one by one.
#pragma once

#include <cstddef>
#include <cstdint>

#include "async.h"

namespace async::detail {

// One pooled stack. The pool owns these records; a fiber holds a pointer.
struct stack_slot {
  stack_slot* next_free = nullptr;  // free list link (LIFO)
  char* lo = nullptr;               // lowest usable byte; the guard lies below
  // Who holds the stack, for the overflow report (written on take): what
  // the core registered with overflow_describe_owners says what it is. One
  // pointer, not the owner's id, name and entry: the slot stays 32 bytes,
  // and it is part of every fiber's memory (docs/benchmarks.md, RSS).
  const void* owner = nullptr;
  unsigned valgrind_id = 0;
  // Bytes left unused at the top: the fiber's stack begins that far below
  // it. Stacks are mapped at page multiples, so without it every fiber's
  // hottest lines (its first frames and its saved context) would sit at the
  // same offset in a page, in the same few sets of the CPU's caches; with
  // many fibers in turn they evicted each other (stack_color).
  std::uint16_t color = 0;
  bool dirty = false;  // touched since the last madvise
};

// The colors: consecutive stacks begin 64 bytes (a cache line) apart in
// their top page, 16 offsets in turn, so at most 960 bytes of a stack go
// unused (async.h, fiber_stack_size). Measured: 1000 fibers yielding in
// turn, 11 % faster; spawn+await in batches of 1000, 4 % (docs/benchmarks.md).
inline constexpr std::size_t stack_color_step = 64;
inline constexpr std::size_t stack_colors = 16;
inline std::uint16_t stack_color(std::size_t index) noexcept {
  return static_cast<std::uint16_t>((index % stack_colors) * stack_color_step);
}

static_assert(sizeof(stack_slot) <= 32, "a stack's record is part of every fiber's memory");

// The values are async_runtime_stats_t.guard_method's (async.h).
enum class guard_method : int {
  none = ASYNC_GUARD_NONE,
  madv_guard_install = ASYNC_GUARD_MADVISE,
  mprotect = ASYNC_GUARD_MPROTECT,
};

class stack_pool {
 public:
  // stack_bytes is rounded up to the page size; capacity bounds the stacks.
  // Maps nothing yet. False (nothing changed) when a stack, rounded up and
  // with its guard, would exceed PTRDIFF_MAX bytes: no mapping could hold it.
  [[nodiscard]] bool init(std::size_t stack_bytes, std::size_t capacity, bool guards) noexcept;
  // Unmaps everything. Stacks still held by fibers become invalid.
  void destroy() noexcept;

  // A free stack, or nullptr when none is mapped and free (use ensure_free).
  stack_slot* take() noexcept {
    stack_slot* s = free_;
    if (s != nullptr) {
      free_ = s->next_free;
      --free_count_;
      dirty_free_ -= s->dirty;
      s->dirty = true;
    }
    return s;
  }
  void give(stack_slot* s) noexcept {
    s->next_free = free_;
    free_ = s;
    ++free_count_;
    dirty_free_ += s->dirty;
  }

  // Maps more stacks until `wanted` are free, or the capacity is reached.
  // ASYNC_OK when at least as many as the capacity allows are free;
  // ASYNC_ENOMEM (with a message on stderr, once per pool) when memory or a
  // guard could not be had.
  async_status_t ensure_free(std::size_t wanted) noexcept {
    if (free_count_ >= wanted || allocated_ >= capacity_) return ASYNC_OK;
    return grow(wanted);
  }

  // Returns the memory of idle stacks beyond the `keep` most recently used to
  // the OS (MADV_DONTNEED); guards stay in place.
  void trim(std::size_t keep) noexcept {
    if (dirty_free_ > keep) trim_slow(keep);
  }

  // Where the fiber's stack begins: below the mapping's top by the slot's color.
  char* top(const stack_slot* s) const noexcept { return s->lo + stack_bytes_ - s->color; }
  std::size_t stack_bytes() const noexcept { return stack_bytes_; }
  std::size_t guard_bytes() const noexcept { return guard_bytes_; }
  std::size_t allocated() const noexcept { return allocated_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t free_count() const noexcept { return free_count_; }
  std::size_t mappings() const noexcept { return mappings_; }
  guard_method method() const noexcept { return method_; }

 private:
  struct slab;
  // Cold and out of line: with LTO, inlining them would give every spawn
  // their stack frame and register saves.
  [[gnu::cold, gnu::noinline]] async_status_t grow(std::size_t wanted) noexcept;
  [[gnu::cold, gnu::noinline]] async_status_t map_slab(std::size_t slots) noexcept;
  [[gnu::cold, gnu::noinline]] void trim_slow(std::size_t keep) noexcept;
  void report_once(const char* what, int err) noexcept;

  slab* slabs_ = nullptr;
  stack_slot* free_ = nullptr;
  std::size_t free_count_ = 0;
  std::size_t allocated_ = 0;
  // Apart from free_count_, which changes with it: adjacent, g++ merged both
  // updates into one 16-byte load and store (see runtime::pass_left).
  std::size_t dirty_free_ = 0;  // free stacks touched since their last madvise
  std::size_t capacity_ = 0;
  std::size_t stack_bytes_ = 0;
  std::size_t guard_bytes_ = 0;
  std::size_t mappings_ = 0;
  guard_method method_ = guard_method::none;
  bool reported_ = false;
};

// The page size, read once.
std::size_t page_size() noexcept;

}  // namespace async::detail
