// SPDX-License-Identifier: MIT
// scheduler_test.cpp: the deterministic FIFO rules of the contract (§4),
// asserted as whole traces.
#include "support/runtime_fixture.h"

namespace {

using Trace = std::vector<std::string>;

class SchedulerTest : public async_test::RuntimeTest {};

TEST_F(SchedulerTest, YieldRunsFibersInSpawnOrder) {
  for (const char* name : {"a", "b"}) {
    spawn([this, name] {
      for (int i = 0; i < 3; ++i) {
        trace.push_back(std::string(name) + std::to_string(i));
        EXPECT_EQ(async_yield(), ASYNC_OK);
      }
    });
  }
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (Trace{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

}  // namespace
