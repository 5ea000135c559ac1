// SPDX-License-Identifier: MIT
// alloc.cpp: the allocator in place (async_set_allocator) and the count of
// blocks it has out, which decides when it may be replaced.
#include "alloc.h"

#include <atomic>
#include <cstdlib>

#include "alloc_hook.h"

namespace async::detail {
namespace {

static_assert(heap_max_align == ASYNC_ALLOCATOR_MAX_ALIGN);

void* default_alloc(std::size_t size, std::size_t align, void* /*ctx*/) noexcept {
  if (align <= alignof(std::max_align_t)) return std::malloc(size);
  void* p = nullptr;
  return posix_memalign(&p, align, size) == 0 ? p : nullptr;
}

void default_free(void* p, std::size_t /*size*/, void* /*ctx*/) noexcept { std::free(p); }

constexpr async_allocator_t default_allocator = {default_alloc, default_free, nullptr};

// Written only by heap_set_allocator, which async.h allows only while no
// other thread uses the library: read without a lock.
async_allocator_t g_allocator = default_allocator;

// Blocks out from g_allocator: replacing it while any is out would give
// them back to an allocator that never handed them out.
std::atomic<std::size_t> g_blocks_out{0};

}  // namespace

void* heap_alloc(std::size_t size, std::size_t align) noexcept {
  void* p = g_allocator.alloc(size, align, g_allocator.ctx);
  if (p != nullptr) g_blocks_out.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void heap_free(void* p, std::size_t size) noexcept {
  if (p == nullptr) return;
  g_blocks_out.fetch_sub(1, std::memory_order_release);
  g_allocator.free(p, size, g_allocator.ctx);
}

async_status_t heap_set_allocator(const async_allocator_t* a) noexcept {
  if (a != nullptr && (a->alloc == nullptr || a->free == nullptr)) return ASYNC_EINVAL;
  if (g_blocks_out.load(std::memory_order_acquire) != 0) return ASYNC_ESTATE;
  g_allocator = a != nullptr ? *a : default_allocator;
  return ASYNC_OK;
}

}  // namespace async::detail
