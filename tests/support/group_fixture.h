// SPDX-License-Identifier: MIT
// group_fixture.h: a group of two runtimes per test (async_group_init), for
// the suites that cross threads. LeakCheckedTest's TearDown (leak_check.h)
// checks the test's thread and, once the group is shut down, that no fd the
// group's runtimes opened is left.
#pragma once

#include <cstddef>

#include "async.h"
#include "leak_check.h"

namespace async_test {

class GroupRuntimeTest : public LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    ASSERT_EQ(async_group_init(&g_, 2, nullptr), ASYNC_OK);
  }
  void shut_down_runtimes() override { async_group_shutdown(&g_); }

  async_runtime_t* rt(std::size_t i) { return async_group_runtime(&g_, i); }

  // Spawns *f (which outlives the fiber) on the group's runtime i.
  template <class F>
  async_fiber_handle_t spawn_on(std::size_t i, F* f) {
    async_fiber_handle_t h = async_spawn_with(rt(i), [](void* p) { (*static_cast<F*>(p))(); }, f);
    EXPECT_EQ(h.status, ASYNC_OK);
    return h;
  }

  async_group_t g_{};
};

}  // namespace async_test
