// SPDX-License-Identifier: MIT
// fls_internal_test.cpp: how a runtime recycles fiber-local storage blocks
// (src/core/fls.cpp): fibers one after another reuse one block (no
// allocation in a steady state), a reused block holds nothing of its last
// fiber, only the smallest blocks are kept, and at most 64 of them.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/fls.h"
#include "core/runtime.h"
#include "support/seeded.h"
#include "support/leak_check.h"

namespace {

using async::detail::current_fiber;
using async::detail::fls_block;
using async::detail::runtime_of;

struct runtime_guard {
  async_runtime_t rt{};
  runtime_guard() { EXPECT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK); }
  ~runtime_guard() { async_runtime_shutdown(&rt); }
  std::size_t spare() { return runtime_of(&rt)->fls_spare.count; }
};

struct key_guard {
  async_fls_key_t key{};
  explicit key_guard(void (*destructor)(void*) = nullptr) {
    EXPECT_EQ(async_fls_create(&key, destructor), ASYNC_OK);
  }
  ~key_guard() { (void)async_fls_delete(key); }
  key_guard(const key_guard&) = delete;
  key_guard& operator=(const key_guard&) = delete;
};

struct probe {
  async_fls_key_t key;
  const async_fls_key_t* other = nullptr;  // read after the fiber has its block
  void* seen = nullptr;                    // other's value then
  fls_block* block = nullptr;              // the block the fiber got (compared, not read:
  std::uint32_t capacity = 0;              // it is gone or reused once the fiber ends)
};

void set_and_note_block(void* user) {
  auto* p = static_cast<probe*>(user);
  EXPECT_EQ(async_fls_set(p->key, p), ASYNC_OK);
  p->block = current_fiber()->fls;
  p->capacity = p->block->capacity;
  if (p->other != nullptr) {
    p->seen = async_fls_get(*p->other);
    EXPECT_EQ(async_fls_set(*p->other, p), ASYNC_OK);
  }
}

const async_fls_key_t* forever_key;
void forever(void* value) { (void)async_fls_set(*forever_key, value); }

class FlsInternalTest : public async_test::LeakCheckedTest {};

TEST_F(FlsInternalTest, SequentialFibersReuseOneCleanBlock) {
  runtime_guard g;
  // Its destructor sets the value again every round: after the last round
  // the value is still set when the block goes back, and must not leak into
  // the block's next fiber (which reads it once it has the block).
  key_guard first;
  key_guard kg(forever);
  forever_key = &kg.key;
  std::vector<probe> probes(100, probe{first.key, &kg.key});
  for (probe& p : probes) {
    ASSERT_EQ(async_await(async_spawn_with(&g.rt, set_and_note_block, &p)), ASYNC_OK);
  }
  for (const probe& p : probes) {
    EXPECT_EQ(p.block, probes[0].block);
    EXPECT_EQ(p.seen, nullptr);
  }
  EXPECT_EQ(g.spare(), 1u);
}

TEST_F(FlsInternalTest, LargerBlocksAreNotKept) {
  runtime_guard g;
  std::vector<key_guard> keys(9);
  // Nine live keys: one of them lies beyond the smallest block's entries.
  const async_fls_key_t* high = nullptr;
  for (const key_guard& k : keys) {
    if ((k.key.id & 0xffff) - 1 >= async::detail::fls_block_min) high = &k.key;
  }
  ASSERT_NE(high, nullptr);
  probe p{*high};
  ASSERT_EQ(async_await(async_spawn_with(&g.rt, set_and_note_block, &p)), ASYNC_OK);
  EXPECT_GT(p.capacity, async::detail::fls_block_min);
  EXPECT_EQ(g.spare(), 0u);
}

void set_and_yield(void* user) {
  EXPECT_EQ(async_fls_set(*static_cast<async_fls_key_t*>(user), user), ASYNC_OK);
  async_yield();
}

TEST_F(FlsInternalTest, AtMost64SpareBlocks) {
  ASYNC_FIFO_ONLY();
  runtime_guard g;
  key_guard kg;
  // 100 fibers hold a block at once; 64 of them are kept when they end.
  for (int i = 0; i < 100; ++i) ASSERT_EQ(async_spawn_with(&g.rt, set_and_yield, &kg.key).status, ASYNC_OK);
  ASSERT_EQ(async_runtime_run(&g.rt), ASYNC_OK);
  EXPECT_EQ(g.spare(), 64u);
}

}  // namespace
