// SPDX-License-Identifier: MIT
// leak_check.h: the one teardown every C++ suite that uses a runtime shares.
// After each test, LeakCheckedTest proves a clean end on the test's thread:
// every runtime the thread still owns (the fixture's own, the global one,
// any other the test made) has no fiber alive, no stack in use, no timer
// pending and no io registered; once the fixture has shut its runtimes down
// (and the global one), no runtime the test made is left; and the process
// has as many file descriptors open as when the test began.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "async.h"
#include "fd_count.h"

// src/api/owned_runtimes_api.cpp: exported for these checks, declared in no
// public header. Fills up to `cap` handles, returns how many there are.
extern "C" size_t async_internal_owned_runtimes(async_runtime_t** out, size_t cap) noexcept;

namespace async_test {

// The runtimes the calling thread owns, newest first.
inline std::vector<async_runtime_t*> owned_runtimes() {
  std::vector<async_runtime_t*> out(async_internal_owned_runtimes(nullptr, 0));
  out.resize(async_internal_owned_runtimes(out.data(), out.size()));
  return out;
}

// One EXPECT per thing `rt` still holds. With `fibers_may_live` (a test that
// leaves fibers blocked on purpose), only the io registrations are checked:
// blocked fibers hold their stacks and may hold deadlines.
inline void expect_runtime_idle(async_runtime_t* rt, bool fibers_may_live = false) {
  async_runtime_stats_t s{};
  ASSERT_EQ(async_runtime_stats(rt, &s), ASYNC_OK) << "runtime " << rt << " gives no stats";
  if (!fibers_may_live) {
    EXPECT_EQ(s.fibers_live, 0u) << "runtime " << rt << ": a fiber is still alive at the end of the test";
    EXPECT_EQ(s.stacks_in_use, 0u) << "runtime " << rt << ": a stack is still in use at the end of the test";
    EXPECT_EQ(s.timers_pending, 0u) << "runtime " << rt << ": a timer is still pending at the end of the test";
  }
  EXPECT_EQ(s.io_registered, 0u) << "runtime " << rt << ": an io is still registered at the end of the test";
}

// What a test starts from: the runtimes the thread owns and the open fds.
struct leak_baseline {
  std::vector<async_runtime_t*> runtimes = owned_runtimes();
  int fds = open_fd_count();
};

// The runtimes the thread owns now that it did not own at `base`.
inline std::vector<async_runtime_t*> runtimes_made_since(const leak_baseline& base) {
  std::vector<async_runtime_t*> made;
  for (async_runtime_t* rt : owned_runtimes()) {
    if (std::find(base.runtimes.begin(), base.runtimes.end(), rt) == base.runtimes.end()) made.push_back(rt);
  }
  return made;
}

inline void expect_no_runtime_made_since(const leak_baseline& base) {
  for (async_runtime_t* rt : runtimes_made_since(base)) {
    ADD_FAILURE() << "runtime " << rt << " the test made is still alive after the fixture shut its own down";
  }
}

inline void expect_fds_as_at(const leak_baseline& base) {
  EXPECT_EQ(open_fd_count(), base.fds) << "a file descriptor leaked (or one open at the start was closed)";
}

class LeakCheckedTest : public ::testing::Test {
 protected:
  // Starts without a global runtime, so that one the test creates is shut
  // down (and its fds closed) before the count, and an earlier test's is
  // not counted.
  void SetUp() override {
    async_global_shutdown();
    baseline_ = leak_baseline{};
  }

  void TearDown() override {
    for (async_runtime_t* rt : owned_runtimes()) expect_runtime_idle(rt, expect_live_fibers_at_end_);
    shut_down_runtimes();
    async_global_shutdown();
    expect_no_runtime_made_since(baseline_);
    expect_fds_as_at(baseline_);
  }

  // Where a fixture shuts down the runtimes it owns; after the idle checks,
  // before the runtime and fd counts.
  virtual void shut_down_runtimes() {}

  // Set when a test leaves fibers blocked on purpose (EDEADLK tests).
  bool expect_live_fibers_at_end_ = false;

  leak_baseline baseline_;
};

}  // namespace async_test
