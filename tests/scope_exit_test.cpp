// SPDX-License-Identifier: MIT
// scope_exit_test.cpp: the scope guard (src/util/scope_exit.h) on its own
// (internal): its cleanup runs once on every way out of the scope, and not
// at all once released.
#include <gtest/gtest.h>

#include <string>

#include "util/scope_exit.h"

namespace {

using async::detail::scope_exit;

// Takes "a", then "b"; fails at `fail_at` (0: never). Each failure gives
// back what was taken, as stack_pool::map_slab does.
bool take_two(std::string& log, int fail_at) {
  log += "take;";
  scope_exit undo([&]() noexcept { log += "undo;"; });
  if (fail_at == 1) return false;
  log += "more;";
  if (fail_at == 2) return false;
  undo.release();
  log += "keep;";
  return true;
}

TEST(ScopeExitTest, CleanupRunsOnceOnEveryEarlyReturn) {
  std::string log;
  EXPECT_FALSE(take_two(log, 1));
  EXPECT_EQ(log, "take;undo;");
  log.clear();
  EXPECT_FALSE(take_two(log, 2));
  EXPECT_EQ(log, "take;more;undo;");
}

TEST(ScopeExitTest, ReleasedGuardLeavesWhatWasTaken) {
  std::string log;
  EXPECT_TRUE(take_two(log, 0));
  EXPECT_EQ(log, "take;more;keep;");
}

TEST(ScopeExitTest, CleanupRunsWhenTheScopeEndsNormally) {
  int runs = 0;
  {
    scope_exit count([&]() noexcept { ++runs; });
    EXPECT_EQ(runs, 0);
  }
  EXPECT_EQ(runs, 1);
}

}  // namespace
