// SPDX-License-Identifier: MIT
// fls.h: fiber-local storage (async_fls_*, include/async/sync.h).
//
// Keys are slots of one process-wide table; a key's id carries its slot and
// the slot's generation when it was made, so a deleted key never matches
// again, even after its slot is reused. Values live in a block per fiber
// (task::fls), allocated on its first non-NULL set and recycled by its
// runtime. docs/design.md, "Fiber-local storage", says why.
#pragma once

#include <cstddef>
#include <cstdint>

#include "async.h"

namespace async::detail {

struct task;
struct runtime;

// One value of one fiber. `key_id` is the id of the key it was set under: a
// slot reused by a newer key does not inherit it.
struct fls_entry {
  void* value;
  std::uint64_t key_id;
};

// A fiber's values, indexed by key slot. The entries follow the header in
// the same allocation (entries()).
struct fls_block {
  std::uint32_t capacity;  // entries: a power of two, fls_block_min to ASYNC_FLS_KEYS_MAX
  fls_block* next_free;    // in runtime::fls_cache while unused

  fls_entry* entries() noexcept { return reinterpret_cast<fls_entry*>(this + 1); }
  const fls_entry* entries() const noexcept { return reinterpret_cast<const fls_entry*>(this + 1); }
};

// The smallest block, the one recycled: most fibers use few keys, and keys
// are handed out lowest slot first.
inline constexpr std::uint32_t fls_block_min = 8;

// Blocks of the smallest size that a runtime keeps for its next fibers.
// Owner thread only: a fiber's block is touched only by the fiber itself,
// and fibers run on their runtime's owner thread.
struct fls_cache {
  fls_block* head = nullptr;
  std::size_t count = 0;
};

// --- keys (any thread) --------------------------------------------------------

// ASYNC_OK with *id set; ASYNC_EFULL when every slot is in use.
async_status_t fls_key_create(void (*destructor)(void*), std::uint64_t* id) noexcept;
// ASYNC_OK; ASYNC_EINVAL when `id` is not a live key.
async_status_t fls_key_delete(std::uint64_t id) noexcept;
// Whether `id` names a live key. Lock-free.
bool fls_key_live(std::uint64_t id) noexcept;

// --- values (the calling fiber `self`, on its runtime's owner thread) -------

// The value of a live key `id`; nullptr when never set.
void* fls_get(const task* self, std::uint64_t id) noexcept;
// Sets the value of a live key `id`. ASYNC_OK, or ASYNC_ENOMEM (nothing
// changed) when the block could not be had or grown.
async_status_t fls_set(task* self, std::uint64_t id, void* value) noexcept;

// The fiber's function has returned and self->fls is set: runs the
// destructors (on the fiber's stack: they may suspend), then gives the block
// back to the runtime.
void fls_end_fiber(task* self) noexcept;

// Runtime shutdown: frees the blocks of fibers that never ended (without
// their destructors: their stacks are gone) and the runtime's spare blocks.
void fls_release_all(runtime& rt) noexcept;

}  // namespace async::detail
