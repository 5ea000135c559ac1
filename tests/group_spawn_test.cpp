// SPDX-License-Identifier: MIT
// group_spawn_test.cpp: what a plain thread spawning batches onto a group
// relies on. A runtime fed by spawns from another thread spins briefly for
// more before it sleeps, once per burst (docs/design.md, "The spin after
// spawns"): after the burst the group must sleep again. A runtime that runs
// out of fibers wakes async_group_wait only when the whole group has (the
// last one to run out does): the wait must still return, whichever runtime
// runs out last and however their ends interleave.
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "async.h"
#include "gtest/gtest.h"
#include "support/leak_check.h"

namespace {

struct group_guard {
  async_group_t g{};
  ~group_guard() { async_group_shutdown(&g); }
};

double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

std::atomic<int> g_ran{0};

void count(void*) { g_ran.fetch_add(1, std::memory_order_relaxed); }

// Sleeps `user` microseconds (the pointer is the number; a fiber sleep: its
// runtime blocks meanwhile).
void nap(void* user) {
  async_sleep_ns(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(user)) * 1000u);
  g_ran.fetch_add(1, std::memory_order_relaxed);
}

class GroupSpawnTest : public async_test::LeakCheckedTest {};

TEST_F(GroupSpawnTest, AGroupFedByBurstsOfSpawnsSleepsAfterTheLastOne) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  g_ran.store(0);
  for (int burst = 0; burst < 20; ++burst) {
    for (int i = 0; i < 200; ++i) ASSERT_EQ(async_group_spawn(&gg.g, count, nullptr).status, ASYNC_OK);
    ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);
  }
  EXPECT_EQ(g_ran.load(), 20 * 200);
  // The spins after the last burst are long over after 20 ms; two threads
  // still spinning would use about 600 ms of CPU in the next 300 ms. Loose
  // on purpose (as AnIdleGroupSleeps): it tells sleeping from spinning.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double a = process_cpu_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used_ms = process_cpu_ms() - a;
  EXPECT_LT(used_ms, 150.0) << "a group of 2 used " << used_ms << " ms of CPU in 300 ms after its last spawn";
}

TEST_F(GroupSpawnTest, WaitReturnsWhenTheLastRuntimeRunsOutWhicheverItIs) {
  group_guard gg;
  ASSERT_EQ(async_group_init(&gg.g, 2, nullptr), ASYNC_OK);
  g_ran.store(0);
  int spawned = 0;
  for (int round = 0; round < 200; ++round) {
    // One runtime gets a fiber that naps (0-99 us, varying), the other
    // empty ones: each runtime in turn is the last to run out, and often
    // both run out at about the same time.
    const uintptr_t us = static_cast<uintptr_t>((round * 37) % 100);
    async_runtime_t* napper = async_group_runtime(&gg.g, static_cast<size_t>(round % 2));
    async_runtime_t* other = async_group_runtime(&gg.g, static_cast<size_t>(1 - round % 2));
    ASSERT_EQ(async_spawn_with(napper, nap, reinterpret_cast<void*>(us)).status, ASYNC_OK);
    for (int i = 0; i < round % 5; ++i) ASSERT_EQ(async_spawn_with(other, count, nullptr).status, ASYNC_OK);
    spawned += 1 + round % 5;
    ASSERT_EQ(async_group_wait(&gg.g), ASYNC_OK);  // hangs (ctest's timeout) if a wake was lost
    ASSERT_EQ(g_ran.load(), spawned) << "round " << round;
  }
}

}  // namespace
