// SPDX-License-Identifier: MIT
// record_pool.h: the bounded pool the movers allocate their per-operation
// records from. miniasync's pool reclaimed space only in allocation order,
// so one never-completed future blocked every later one (D11 in docs/miniasync.md); this
// one reuses any freed slot at once. Still bounded, as callers rely on:
// past `capacity` live records alloc() fails and vdm_* returns an
// out-of-memory future. Records belong to the pool, not to the thread that
// allocated them, so a future may be created on one thread and completed on
// another that outlives it (miniasync issue #107).
//
// Lock-free: a Treiber stack of slot indices with a 32-bit tag against ABA,
// plus a bump index for slots never used yet. Storage comes in chunks that
// live as long as the pool, so a racing pop only ever reads a `next` entry
// that exists.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace miniasync {

class record_pool {
 public:
  // Slots of `record_size` bytes (8-aligned, 16-aligned when asked), at most
  // `capacity` live. init() returns false when out of memory.
  bool init(size_t record_size, uint32_t capacity) noexcept;
  void destroy() noexcept;
  void* alloc() noexcept;
  void free(void* record) noexcept;
  // Records allocated and not freed.
  uint32_t live() const noexcept { return live_.load(std::memory_order_acquire); }
  uint32_t capacity() const noexcept { return capacity_; }

 private:
  static constexpr uint32_t chunk_shift = 12;  // 4096 slots per chunk
  static constexpr uint32_t chunk_slots = 1u << chunk_shift;
  static constexpr size_t header = 16;          // the slot index, then the record
  char* slot(uint32_t i) const noexcept {
    return chunks_[i >> chunk_shift].load(std::memory_order_acquire) +
           size_t(i & (chunk_slots - 1)) * slot_size_;
  }
  bool ensure_chunk(uint32_t i) noexcept;
  void free_index_(uint32_t i) noexcept;

  size_t slot_size_ = 0;
  uint32_t capacity_ = 0;
  uint32_t nchunks_ = 0;
  std::atomic<char*>* chunks_ = nullptr;
  std::atomic<uint32_t>* next_ = nullptr;     // next_[i]: index+1 below i on the stack
  alignas(64) std::atomic<uint64_t> head_{0};  // tag << 32 | (index + 1); 0: empty
  std::atomic<uint32_t> bump_{0};              // slots handed out at least once
  std::atomic<uint32_t> live_{0};
  std::mutex grow_;
};

// The capacity for a mover: `fallback`, or MINIASYNC_MAX_PENDING from the
// environment when set (1 .. 16M).
uint32_t pool_capacity_from_env(uint32_t fallback) noexcept;

}  // namespace miniasync
