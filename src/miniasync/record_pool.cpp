// SPDX-License-Identifier: MIT
// record_pool.cpp: see record_pool.h.
#include "record_pool.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace miniasync {

bool record_pool::init(size_t record_size, uint32_t capacity) noexcept {
  slot_size_ = (header + record_size + 15) & ~size_t(15);
  capacity_ = capacity;
  nchunks_ = static_cast<uint32_t>((uint64_t{capacity} + chunk_slots - 1) >> chunk_shift);  // no 32-bit wrap
  chunks_ = static_cast<std::atomic<char*>*>(std::calloc(nchunks_, sizeof(std::atomic<char*>)));
  // calloc of a large array maps zero pages lazily: untouched indices cost nothing.
  next_ = static_cast<std::atomic<uint32_t>*>(std::calloc(capacity, sizeof(std::atomic<uint32_t>)));
  if (!chunks_ || !next_) {
    destroy();
    return false;
  }
  for (uint32_t c = 0; c < nchunks_; ++c) new (&chunks_[c]) std::atomic<char*>(nullptr);
  return true;
}

void record_pool::destroy() noexcept {
  if (chunks_)
    for (uint32_t c = 0; c < nchunks_; ++c) std::free(chunks_[c].load(std::memory_order_relaxed));
  std::free(chunks_);
  std::free(next_);
  chunks_ = nullptr;
  next_ = nullptr;
}

bool record_pool::ensure_chunk(uint32_t i) noexcept {
  std::atomic<char*>& c = chunks_[i >> chunk_shift];
  if (c.load(std::memory_order_acquire)) return true;
  std::lock_guard<std::mutex> lk(grow_);
  if (c.load(std::memory_order_relaxed)) return true;
  uint32_t first = i & ~(chunk_slots - 1);
  uint32_t n = capacity_ - first < chunk_slots ? capacity_ - first : chunk_slots;
  char* mem = static_cast<char*>(std::aligned_alloc(64, (size_t(n) * slot_size_ + 63) & ~size_t(63)));
  if (!mem) return false;
  for (uint32_t k = 0; k < n; ++k) {
    uint32_t index = first + k;
    std::memcpy(mem + size_t(k) * slot_size_, &index, sizeof index);
  }
  c.store(mem, std::memory_order_release);
  return true;
}

void* record_pool::alloc() noexcept {
  uint64_t h = head_.load(std::memory_order_acquire);
  while (uint32_t top = uint32_t(h)) {
    uint32_t below = next_[top - 1].load(std::memory_order_relaxed);
    uint64_t nh = (((h >> 32) + 1) << 32) | below;
    if (head_.compare_exchange_weak(h, nh, std::memory_order_acquire, std::memory_order_acquire)) {
      live_.fetch_add(1, std::memory_order_relaxed);
      return slot(top - 1) + header;
    }
  }
  uint32_t i = bump_.load(std::memory_order_relaxed);
  do {
    if (i >= capacity_) return nullptr;
  } while (!bump_.compare_exchange_weak(i, i + 1, std::memory_order_relaxed));
  if (!ensure_chunk(i)) {
    free_index_(i);
    return nullptr;
  }
  live_.fetch_add(1, std::memory_order_relaxed);
  return slot(i) + header;
}

void record_pool::free(void* record) noexcept {
  uint32_t i;
  std::memcpy(&i, static_cast<char*>(record) - header, sizeof i);
  live_.fetch_sub(1, std::memory_order_release);
  free_index_(i);
}

void record_pool::free_index_(uint32_t i) noexcept {
  uint64_t h = head_.load(std::memory_order_relaxed);
  for (;;) {
    next_[i].store(uint32_t(h), std::memory_order_relaxed);
    uint64_t nh = (((h >> 32) + 1) << 32) | (i + 1);
    if (head_.compare_exchange_weak(h, nh, std::memory_order_release, std::memory_order_relaxed)) return;
  }
}

uint32_t pool_capacity_from_env(uint32_t fallback) noexcept {
  const char* s = std::getenv("MINIASYNC_MAX_PENDING");
  if (!s || !*s) return fallback;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0' || v < 1 || v > (16u << 20)) return fallback;
  return uint32_t(v);
}

}  // namespace miniasync
