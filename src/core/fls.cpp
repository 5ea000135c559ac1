// SPDX-License-Identifier: MIT
// fls.cpp: fiber-local storage. The key table is process-wide and written
// under a mutex (create and delete are rare); a fiber's get and set read it
// with one atomic load each and never lock, so fibers of every runtime use
// their values without touching a shared cache line for writing. Values live
// in the calling fiber's own block, which only that fiber touches.
#include "fls.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <new>

#include "alloc.h"
#include "runtime.h"
#include "task.h"

namespace async::detail {
namespace {

// A key id is (generation << slot_bits) | (slot + 1): never 0, and a slot
// index outside the table for 0 and most forged ids.
constexpr unsigned slot_bits = 16;
constexpr std::uint64_t slot_mask = (std::uint64_t{1} << slot_bits) - 1;
// Generations are odd while the slot's key is live, even while it is free:
// create and delete each add one, so the key check is one comparison of the
// slot's generation with the key's. A slot whose generation would outgrow the
// id's bits is retired (never reused) instead of wrapping onto old keys.
constexpr std::uint64_t max_generation = (std::uint64_t{1} << (64 - slot_bits)) - 1;

static_assert(ASYNC_FLS_KEYS_MAX < slot_mask, "slot + 1 must fit in the id's slot bits");
static_assert(std::has_single_bit(ASYNC_FLS_KEYS_MAX) && ASYNC_FLS_KEYS_MAX >= fls_block_min,
              "blocks double from fls_block_min up to exactly ASYNC_FLS_KEYS_MAX");
static_assert(sizeof(fls_block) % alignof(fls_entry) == 0, "entries follow the header aligned");

// Destructors run in at most this many rounds (pthread's
// PTHREAD_DESTRUCTOR_ITERATIONS is 4 as well): a destructor that always sets
// a value again cannot keep its fiber from ending.
constexpr int destructor_rounds = 4;

// Spare smallest blocks a runtime keeps: enough for a steady stream of
// fibers using FLS to allocate nothing; a burst beyond it returns the rest to
// the allocator.
constexpr std::size_t blocks_kept = 64;

struct key_slot {
  std::atomic<std::uint64_t> generation{0};
  // Written before the generation that makes the key live (release), read
  // between two loads of the generation (fls_end_fiber): a destructor read
  // while the key was live is that key's.
  std::atomic<void (*)(void*)> destructor{nullptr};
};

constinit key_slot g_keys[ASYNC_FLS_KEYS_MAX];
constinit std::mutex g_keys_lock;

inline std::uint32_t slot_of(std::uint64_t id) noexcept {
  // id 0 gives UINT32_MAX: out of every range.
  return static_cast<std::uint32_t>(id & slot_mask) - 1u;
}
inline std::uint64_t generation_of(std::uint64_t id) noexcept { return id >> slot_bits; }

// The destructor of key `id` when it is live; false when it is not.
bool live_destructor(std::uint64_t id, void (**destructor)(void*)) noexcept {
  const std::uint32_t slot = slot_of(id);
  if (slot >= ASYNC_FLS_KEYS_MAX) return false;
  key_slot& s = g_keys[slot];
  const std::uint64_t gen = generation_of(id);
  if (s.generation.load(std::memory_order_acquire) != gen || (gen & 1) == 0) return false;
  void (*d)(void*) = s.destructor.load(std::memory_order_acquire);
  // A delete and a create may have come between the loads: then `d` may be
  // the new key's, and the generation has moved on (the acquire above keeps
  // this load after it).
  if (s.generation.load(std::memory_order_relaxed) != gen) return false;
  *destructor = d;
  return true;
}

// --- blocks --------------------------------------------------------------------
// One allocation holds the header and its entries, so alloc.h's new_array
// (for arrays sized by users) does not fit; the size is at most a few KiB and
// cannot overflow. A failure is ASYNC_ENOMEM.

std::size_t block_bytes(std::uint32_t capacity) noexcept {
  return sizeof(fls_block) + capacity * sizeof(fls_entry);
}

void free_block(fls_block* b) noexcept { heap_free(b, block_bytes(b->capacity)); }

fls_block* allocate_block(std::uint32_t capacity) noexcept {
  void* p = heap_alloc(block_bytes(capacity), alignof(fls_block));
  if (p == nullptr) return nullptr;
  auto* b = new (p) fls_block{capacity, nullptr};
  std::memset(static_cast<void*>(b->entries()), 0, capacity * sizeof(fls_entry));
  return b;
}

// A block for a fiber's first value: a spare one when the runtime has it.
fls_block* take_block(runtime& rt, std::uint32_t capacity) noexcept {
  if (capacity == fls_block_min) {
    if (fls_block* b = rt.fls_spare.head) {
      rt.fls_spare.head = b->next_free;
      --rt.fls_spare.count;
      b->next_free = nullptr;
      return b;
    }
  }
  return allocate_block(capacity);
}

// Spare blocks are kept zeroed, so that taking one costs no more than a pop.
void give_block(runtime& rt, fls_block* b) noexcept {
  if (b->capacity == fls_block_min && rt.fls_spare.count < blocks_kept) {
    std::memset(static_cast<void*>(b->entries()), 0, b->capacity * sizeof(fls_entry));
    b->next_free = rt.fls_spare.head;
    rt.fls_spare.head = b;
    ++rt.fls_spare.count;
    return;
  }
  free_block(b);
}

// Gives `self` a block with an entry for `slot` (its first, or a larger one
// holding its values so far); nullptr, with nothing changed, when out of
// memory.
[[gnu::noinline]] fls_block* grow(task* self, std::uint32_t slot) noexcept {
  const std::uint32_t capacity = std::max(fls_block_min, std::bit_ceil(slot + 1u));
  fls_block* b = take_block(*self->rt, capacity);
  if (b == nullptr) return nullptr;
  if (fls_block* old = self->fls) {
    std::memcpy(static_cast<void*>(b->entries()), old->entries(), old->capacity * sizeof(fls_entry));
    give_block(*self->rt, old);
  }
  self->fls = b;
  return b;
}

}  // namespace

// --- keys ------------------------------------------------------------------------

async_status_t fls_key_create(void (*destructor)(void*), std::uint64_t* id) noexcept {
  std::lock_guard<std::mutex> guard(g_keys_lock);
  // The lowest free slot: fibers' blocks stay small while few keys exist.
  for (std::uint32_t slot = 0; slot < ASYNC_FLS_KEYS_MAX; ++slot) {
    key_slot& s = g_keys[slot];
    const std::uint64_t gen = s.generation.load(std::memory_order_relaxed);
    if ((gen & 1) != 0 || gen >= max_generation) continue;  // live, or retired
    s.destructor.store(destructor, std::memory_order_release);
    s.generation.store(gen + 1, std::memory_order_release);
    *id = ((gen + 1) << slot_bits) | (slot + 1u);
    return ASYNC_OK;
  }
  return ASYNC_EFULL;
}

async_status_t fls_key_delete(std::uint64_t id) noexcept {
  const std::uint32_t slot = slot_of(id);
  if (slot >= ASYNC_FLS_KEYS_MAX) return ASYNC_EINVAL;
  const std::uint64_t gen = generation_of(id);
  std::lock_guard<std::mutex> guard(g_keys_lock);
  key_slot& s = g_keys[slot];
  if (s.generation.load(std::memory_order_relaxed) != gen || (gen & 1) == 0) return ASYNC_EINVAL;
  // Values set under the key stay in fibers' blocks, unreachable: a get
  // compares the entry's key id, and the destructor pass checks the key.
  s.generation.store(gen + 1, std::memory_order_release);
  return ASYNC_OK;
}

bool fls_key_live(std::uint64_t id) noexcept {
  const std::uint32_t slot = slot_of(id);
  if (slot >= ASYNC_FLS_KEYS_MAX) return false;
  const std::uint64_t gen = generation_of(id);
  return (gen & 1) != 0 && g_keys[slot].generation.load(std::memory_order_acquire) == gen;
}

// --- values --------------------------------------------------------------------

void* fls_get(const task* self, std::uint64_t id) noexcept {
  const fls_block* b = self->fls;
  const std::uint32_t slot = slot_of(id);
  if (b == nullptr || slot >= b->capacity) return nullptr;
  const fls_entry& e = b->entries()[slot];
  // A value left by an earlier key of the same slot is not this key's.
  return e.key_id == id ? e.value : nullptr;
}

async_status_t fls_set(task* self, std::uint64_t id, void* value) noexcept {
  const std::uint32_t slot = slot_of(id);
  fls_block* b = self->fls;
  if (b == nullptr || slot >= b->capacity) [[unlikely]] {
    // Every entry the block lacks reads as NULL already.
    if (value == nullptr) return ASYNC_OK;
    b = grow(self, slot);
    if (b == nullptr) return ASYNC_ENOMEM;
  }
  b->entries()[slot] = fls_entry{value, id};
  return ASYNC_OK;
}

void fls_end_fiber(task* self) noexcept {
  for (int round = 0; round < destructor_rounds; ++round) {
    bool found = false;
    // self->fls is read again for every entry: a destructor's set may have
    // replaced the block with a larger one.
    for (std::uint32_t i = 0; i < self->fls->capacity; ++i) {
      fls_entry& e = self->fls->entries()[i];
      if (e.value == nullptr) continue;
      void (*destructor)(void*) = nullptr;
      if (!live_destructor(e.key_id, &destructor)) continue;  // its key was deleted: dropped
      void* value = e.value;
      e.value = nullptr;  // before the call: the destructor sees its key unset
      found = true;
      if (destructor != nullptr) destructor(value);
    }
    if (!found) break;
  }
  // Values set in the last round are dropped with the block.
  fls_block* b = self->fls;
  self->fls = nullptr;
  give_block(*self->rt, b);
}

void fls_release_all(runtime& rt) noexcept {
  for (std::size_t i = 0; i < rt.task_capacity; ++i) {
    task& t = rt.tasks[i];
    if (t.fls != nullptr) {
      free_block(t.fls);
      t.fls = nullptr;
    }
  }
  while (fls_block* b = rt.fls_spare.head) {
    rt.fls_spare.head = b->next_free;
    free_block(b);
  }
  rt.fls_spare.count = 0;
}

}  // namespace async::detail
