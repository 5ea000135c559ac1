// SPDX-License-Identifier: MIT
// alloc_failure_test.cpp: async_set_allocator's promise (async.h, "memory";
// docs/allocation.md) for groups, spawn, I/O registration and fiber-local
// values: each allocation an operation makes, failed in turn, gives
// ASYNC_ENOMEM with nothing changed and nothing leaked, and the runtime
// works afterwards; the operations that allocate nothing ask for nothing
// even when every allocation would fail. Runtime and channel init: the C
// test (c_alloc_test.c).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "async.h"
#include "async/io.h"
#include "async/sync.h"
#include "support/seeded.h"
#include "support/counting_allocator.h"

namespace {

class AllocFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // ESTATE here: an earlier test in this process left library memory out.
    ASSERT_EQ(counting_allocator_install(), ASYNC_OK);
  }

  void TearDown() override {
    EXPECT_EQ(counting_allocator_stats().live_blocks, 0);
    EXPECT_EQ(counting_allocator_stats().live_bytes, 0);
    EXPECT_EQ(counting_allocator_stats().bad_frees, 0);
    EXPECT_EQ(counting_allocator_stats().bad_aligns, 0);
    EXPECT_EQ(async_set_allocator(nullptr), ASYNC_OK);
  }

  // How many allocations a runtime init makes (none failed).
  long runtime_allocations() {
    async_runtime_t rt;
    counting_allocator_fail_after(-1);
    EXPECT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
    const long n = counting_allocator_stats().attempts;
    async_runtime_shutdown(&rt);
    return n;
  }

  static void expect_clean(const fail_each_result_t& r) {
    EXPECT_EQ(r.wrong_status, -1) << "the first failure answered with another status than ENOMEM";
    EXPECT_EQ(r.leaked, -1) << "the first failure after which blocks stayed out";
    EXPECT_EQ(r.missed, -1) << "the first failure the operation never asked for";
  }

};

// --- groups -------------------------------------------------------------------

struct group_case {
  async_group_t g;
  async_channel_t results;
};

void send_one(void* user) {
  auto* c = static_cast<group_case*>(user);
  (void)async_channel_send(&c->results, reinterpret_cast<void*>(std::uintptr_t{1}));
}

TEST_F(AllocFailureTest, GroupInitFailsEachAllocationWithEnomemAndLeavesNothing) {
  const long per_runtime = runtime_allocations();
  group_case c{};
  const fail_each_result_t r = fail_each_allocation(
      [](void* arg) { return async_group_init(&static_cast<group_case*>(arg)->g, 2, nullptr); }, nullptr,
      &c);
  expect_clean(r);
  // The CPU list (one or more), the group, its four arrays, then each
  // thread's runtime.
  EXPECT_GE(r.allocations, 1 + 1 + 4 + 2 * per_runtime);
  ASSERT_GE(r.allocations, 0);

  // The group works: 10 fibers over its runtimes each send one message.
  ASSERT_EQ(async_channel_init(&c.results, async_group_runtime(&c.g, 0), 0, 0), ASYNC_OK);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(async_group_spawn(&c.g, send_one, &c).status, ASYNC_OK);
  std::uintptr_t sum = 0;
  for (int i = 0; i < 10; ++i) {
    void* msg = nullptr;
    ASSERT_EQ(async_channel_recv_blocking(&c.results, &msg), ASYNC_OK);
    sum += reinterpret_cast<std::uintptr_t>(msg);
  }
  EXPECT_EQ(sum, 10u);
  EXPECT_EQ(async_group_wait(&c.g), ASYNC_OK);
  async_channel_shutdown(&c.results);
  async_group_shutdown(&c.g);
}

// --- spawn ------------------------------------------------------------------------

std::string g_trace;

void note_index(void* user) { g_trace += std::to_string(reinterpret_cast<std::uintptr_t>(user)) + " "; }

std::string indices_below(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += std::to_string(i) + " ";
  return s;
}

TEST_F(AllocFailureTest, SpawnAsksTheAllocatorForNothingAsTheStackPoolGrows) {
  async_runtime_t rt;
  async_config_t cfg{};
  cfg.fiber_capacity = 4;  // the 200 fibers below need new stacks, many times over
  ASSERT_EQ(async_runtime_init(&rt, &cfg), ASYNC_OK);
  counting_allocator_fail_after(0);  // every allocation from here on fails
  constexpr int fibers = 200;
  async_fiber_handle_t h[fibers];
  g_trace.clear();
  for (int i = 0; i < fibers; ++i) {
    h[i] = async_spawn_with(&rt, note_index, reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)));
    ASSERT_EQ(h[i].status, ASYNC_OK);
  }
  ASSERT_EQ(async_runtime_run(&rt), ASYNC_OK);
  for (auto& f : h) EXPECT_EQ(async_await(f), ASYNC_OK);
  EXPECT_EQ(counting_allocator_stats().attempts, 0);
  if (!async_test::seeded_by_environment()) {
    EXPECT_EQ(g_trace, indices_below(fibers));
  }
  async_runtime_shutdown(&rt);
}

// --- I/O registration -------------------------------------------------------------

struct pipe_case {
  async_io_t r{}, w{};
  std::string trace;
};

void pipe_reader(void* user) {
  auto* c = static_cast<pipe_case*>(user);
  char buf[8] = {};
  std::size_t n = 0;
  c->trace += "read ";
  EXPECT_EQ(async_read_exact(&c->r, buf, 5, &n), ASYNC_OK);
  c->trace += std::string(buf, n) + " ";
}

void pipe_writer(void* user) {
  auto* c = static_cast<pipe_case*>(user);
  std::size_t n = 0;
  c->trace += "write ";
  EXPECT_EQ(async_write_all(&c->w, "hello", 5, &n), ASYNC_OK);
}

TEST_F(AllocFailureTest, IoRegisterAndWaitAskTheAllocatorForNothing) {
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pipe_case c;
  counting_allocator_fail_after(0);  // every allocation from here on fails
  ASSERT_EQ(async_io_register_with(&rt, &c.r, fds[0]), ASYNC_OK);
  ASSERT_EQ(async_io_register_with(&rt, &c.w, fds[1]), ASYNC_OK);
  // The reader waits on the empty pipe first: a fiber parked on an fd.
  async_fiber_handle_t reader = async_spawn_with(&rt, pipe_reader, &c);
  async_fiber_handle_t writer = async_spawn_with(&rt, pipe_writer, &c);
  ASSERT_EQ(async_runtime_run(&rt), ASYNC_OK);
  EXPECT_EQ(async_await(reader), ASYNC_OK);
  EXPECT_EQ(async_await(writer), ASYNC_OK);
  if (!async_test::seeded_by_environment()) {
    EXPECT_EQ(c.trace, "read write hello ");
  }
  EXPECT_EQ(counting_allocator_stats().attempts, 0);
  EXPECT_EQ(async_io_close(&c.r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&c.w), ASYNC_OK);
  async_runtime_shutdown(&rt);
}

// --- fiber-local values -------------------------------------------------------------

struct fls_case {
  async_fls_key_t keys[12];
  fail_each_result_t first, grown;
  std::string after_failure;  // what async_fls_get saw after each failed set
};

int g_values[12];

void set_values(void* user) {
  auto* c = static_cast<fls_case*>(user);
  // The fiber's first value: its block of entries.
  c->first = fail_each_allocation(
      [](void* arg) { return async_fls_set(static_cast<fls_case*>(arg)->keys[0], &g_values[0]); },
      [](void* arg) {
        auto* fc = static_cast<fls_case*>(arg);
        fc->after_failure += async_fls_get(fc->keys[0]) == nullptr ? "unset " : "set ";
      },
      c);
  for (int i = 1; i < 8; ++i) EXPECT_EQ(async_fls_set(c->keys[i], &g_values[i]), ASYNC_OK);
  // The ninth key outgrows the block: a larger one, the values moved over.
  c->grown = fail_each_allocation(
      [](void* arg) { return async_fls_set(static_cast<fls_case*>(arg)->keys[11], &g_values[11]); },
      [](void* arg) {
        auto* fc = static_cast<fls_case*>(arg);
        fc->after_failure += async_fls_get(fc->keys[7]) == &g_values[7] ? "kept " : "lost ";
      },
      c);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(async_fls_get(c->keys[i]), &g_values[i]) << i;
  EXPECT_EQ(async_fls_get(c->keys[11]), &g_values[11]);
}

TEST_F(AllocFailureTest, FlsSetFailsEachAllocationWithEnomemAndKeepsTheValues) {
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  fls_case c{};
  for (auto& k : c.keys) ASSERT_EQ(async_fls_create(&k, nullptr), ASYNC_OK);
  async_fiber_handle_t f = async_spawn_with(&rt, set_values, &c);
  ASSERT_EQ(async_runtime_run(&rt), ASYNC_OK);
  EXPECT_EQ(async_await(f), ASYNC_OK);
  EXPECT_EQ(c.first.allocations, 1);
  expect_clean(c.first);
  EXPECT_EQ(c.grown.allocations, 1);
  expect_clean(c.grown);
  EXPECT_EQ(c.after_failure, "unset kept ");
  for (auto& k : c.keys) EXPECT_EQ(async_fls_delete(k), ASYNC_OK);
  async_runtime_shutdown(&rt);
}

}  // namespace
