// SPDX-License-Identifier: MIT
// stack_test.cpp: the stack pool seen through the C API: lazy allocation,
// reuse, fiber_capacity (fibers wait in spawn order for a stack), guard pages
// and user-provided stacks.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <map>

#include "support/runtime_fixture.h"

namespace {

using Trace = std::vector<std::string>;

class StackTest : public async_test::RuntimeTest {};

TEST_F(StackTest, StacksAreMappedLazilyAndReused) {
  EXPECT_EQ(stats().stacks_allocated, 0u);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) ASSERT_EQ(spawn([] { async_yield(); }).status, ASYNC_OK);
    ASSERT_EQ(run(), ASYNC_OK);
  }
  async_runtime_stats_t s = stats();
  EXPECT_LE(s.stacks_allocated, 64u);  // never more than fiber_capacity
  EXPECT_GT(s.stacks_allocated, 0u);
  const std::size_t warm = s.stacks_allocated;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(spawn([] { async_yield(); }).status, ASYNC_OK);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(stats().stacks_allocated, warm) << "a warm pool maps nothing more";
}

TEST_F(StackTest, FibersBeyondFiberCapacityWaitForAStackInSpawnOrder) {
  ASYNC_FIFO_ONLY();
  cfg_.fiber_capacity = 2;
  for (const char* name : {"a", "b", "c", "d"}) {
    spawn([this, name] {
      trace.push_back(std::string(name) + " starts");
      async_yield();
      trace.push_back(std::string(name) + " ends");
    });
  }
  ASSERT_EQ(run(), ASYNC_OK);
  // c and d find no stack on their first dispatch and wait; a's and b's
  // stacks go to them, in spawn order, when a and b end.
  EXPECT_EQ(trace, (Trace{"a starts", "b starts", "a ends", "b ends", "c starts", "d starts",
                          "c ends", "d ends"}));
  EXPECT_EQ(stats().stacks_allocated, 2u);
}

TEST_F(StackTest, AFiberWaitingForAStackCanBeCancelled) {
  ASYNC_FIFO_ONLY();
  cfg_.fiber_capacity = 1;
  async_fiber_handle_t first = spawn([this] {
    trace.push_back("first parks");
    async_yield();
    async_yield();
    trace.push_back("first ends");
  });
  async_fiber_handle_t second = spawn([this] { trace.push_back("second must not run"); });
  // The canceller brings its own stack: the only pooled one is first's.
  std::vector<char> own_stack(64 * 1024);
  async_spawn_options_t opts{};
  opts.stack = own_stack.data();
  opts.stack_size = own_stack.size();
  spawn([&] {
    // `second` was dispatched once and is waiting for first's stack.
    EXPECT_EQ(stats().fibers_waiting_stack, 1u);
    EXPECT_EQ(async_cancel(second), ASYNC_OK);
    EXPECT_EQ(stats().fibers_waiting_stack, 0u);
    trace.push_back("cancelled second");
  }, &opts);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"first parks", "cancelled second", "first ends"}));
  EXPECT_EQ(async_await(first), ASYNC_OK);
  EXPECT_EQ(async_await(second), ASYNC_ECANCELED);
}

TEST_F(StackTest, WaitingForAStackForeverIsADeadlock) {
  ASYNC_FIFO_ONLY();
  cfg_.fiber_capacity = 1;
  async_fiber_handle_t starved{};
  spawn([&] { trace.push_back("holder: " + std::string(async_status_name(async_await(starved)))); });
  starved = spawn([this] { trace.push_back("starved ran"); });
  EXPECT_EQ(run(), ASYNC_EDEADLK);  // the holder waits for a fiber that waits for its stack
  EXPECT_EQ(stats().fibers_waiting_stack, 1u);
  ASSERT_EQ(async_cancel(starved), ASYNC_OK);
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"holder: ECANCELED"}));
}

TEST_F(StackTest, EveryPooledStackHasAGuardPage) {
  spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  async_runtime_stats_t s = stats();
  EXPECT_EQ(s.guard_bytes, static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_TRUE(s.guard_method == ASYNC_GUARD_MADVISE || s.guard_method == ASYNC_GUARD_MPROTECT)
      << s.guard_method;
  EXPECT_EQ(s.stack_bytes, 64u * 1024u);
}

TEST_F(StackTest, GuardPagesCanBeTurnedOff) {
  cfg_.flags = ASYNC_CONFIG_NO_GUARD_PAGES;
  spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(stats().guard_bytes, 0u);
  EXPECT_EQ(stats().guard_method, ASYNC_GUARD_NONE);
}

// write(2) from an address reports EFAULT instead of faulting: a safe probe.
bool readable(const void* p) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const bool ok = write(fds[1], p, 1) == 1;
  close(fds[0]);
  close(fds[1]);
  return ok;
}

TEST_F(StackTest, GuardPageLiesJustBelowTheStack) {
  cfg_.fiber_stack_size = 16 * 1024;
  std::uintptr_t local = 0;
  spawn([&] {
    char probe = 0;
    local = reinterpret_cast<std::uintptr_t>(&probe);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  // The fiber's first frames lie in the top page of its stack.
  const std::uintptr_t top = (local + page) & ~(page - 1);
  const std::uintptr_t lo = top - 16 * 1024;
  EXPECT_TRUE(readable(reinterpret_cast<const void*>(lo)));
  EXPECT_TRUE(readable(reinterpret_cast<const void*>(top - 1)));
  EXPECT_FALSE(readable(reinterpret_cast<const void*>(lo - 1)));
  EXPECT_FALSE(readable(reinterpret_cast<const void*>(lo - page)));
}

// Pooled stacks are colored: each begins 0-960 bytes below the top of its
// mapping, 16 offsets a cache line apart in turn, so the same frame of
// different fibers falls in different cache sets.
TEST_F(StackTest, PooledStacksBeginAtSixteenOffsetsACacheLineApart) {
  cfg_.fiber_capacity = 32;
  std::vector<std::uintptr_t> frames;
  for (int i = 0; i < 32; ++i) {
    spawn([&] {
      char probe = 0;
      frames.push_back(reinterpret_cast<std::uintptr_t>(&probe));
      // Keeps its stack until every fiber has taken one (in any order a
      // seeded schedule picks), so the 32 frames lie on 32 stacks.
      while (frames.size() < 32) async_yield();
    });
  }
  ASSERT_EQ(run(), ASYNC_OK);
  ASSERT_EQ(frames.size(), 32u);
  const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  // The same frame, at the same depth below each stack's start: 32 stacks
  // give each of the 16 offsets in the page twice, a line apart.
  std::map<std::uintptr_t, int> offsets;
  for (std::uintptr_t f : frames) ++offsets[f % page];
  ASSERT_EQ(offsets.size(), 16u);
  const std::uintptr_t lowest = offsets.begin()->first;
  std::uintptr_t expected = lowest;
  for (const auto& [offset, count] : offsets) {
    EXPECT_EQ(offset, expected);
    EXPECT_EQ(count, 2) << "offset " << offset;
    expected += 64;
  }
}

TEST_F(StackTest, StackSizeIsRoundedUpToPages) {
  cfg_.fiber_stack_size = 20000;
  spawn([] {});
  ASSERT_EQ(run(), ASYNC_OK);
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(stats().stack_bytes, (20000 + page - 1) / page * page);
}

TEST_F(StackTest, UserProvidedStackIsUsedAndNotCounted) {
  cfg_.fiber_capacity = 1;
  std::vector<char> stack(64 * 1024);
  async_spawn_options_t opts{};
  opts.stack = stack.data();
  opts.stack_size = stack.size();
  opts.name = "on my stack";
  char* where = nullptr;
  spawn([&] {
    char probe = 0;
    where = &probe;
    async_yield();
  }, &opts);
  spawn([] { async_yield(); });  // still gets the one pooled stack
  ASSERT_EQ(run(), ASYNC_OK);
  ASSERT_NE(where, nullptr);
  EXPECT_GE(where, stack.data());
  EXPECT_LT(where, stack.data() + stack.size());
  EXPECT_EQ(stats().stacks_allocated, 1u);
}

}  // namespace
