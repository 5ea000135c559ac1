// SPDX-License-Identifier: MIT
// group_stop_test.cpp: a group's stop ends its runtime's drive whoever takes
// it from the inbox. Here async_park's own look at the inbox takes it: the
// fiber waits until the stop is in its runtime's inbox (nothing else is sent
// there), then parks. The scheduler must still act on the stop; if it slept
// in the driver instead, nothing would ever wake it and the shutdown would
// never return (the test then hangs until ctest's timeout).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "arch/cpu_relax.h"
#include "async.h"
#include "core/runtime.h"

namespace {

std::atomic<async::detail::runtime*> g_rt{nullptr};
std::atomic<bool> g_started{false};
std::atomic<bool> g_parking{false};

void park_once_the_stop_is_in(void*) {
  async::detail::runtime* rt = g_rt.load();
  g_started.store(true);
  while (!rt->in.maybe_nonempty(std::memory_order_acquire)) async::detail::cpu_relax();
  g_parking.store(true);
  async_park();  // takes the stop from the inbox, then parks
}

TEST(GroupStopTest, AStopTakenByAsyncParkStillEndsTheDrive) {
  async_group_t g;
  ASSERT_EQ(async_group_init(&g, 1, nullptr), ASYNC_OK);
  g_rt.store(static_cast<async::detail::runtime*>(async_group_runtime(&g, 0)->impl));
  g_started.store(false);
  g_parking.store(false);
  ASSERT_EQ(async_spawn_with(async_group_runtime(&g, 0), park_once_the_stop_is_in, nullptr).status, ASYNC_OK);
  // Running, its spawn taken from the inbox: the stop is the next message.
  while (!g_started.load()) std::this_thread::yield();
  async_group_shutdown(&g);  // posts the stop the fiber waits for, then joins
  EXPECT_TRUE(g_parking.load()) << "the fiber saw the stop in its inbox and parked";
  EXPECT_EQ(g.impl, nullptr);
}

}  // namespace
