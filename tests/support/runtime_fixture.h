// SPDX-License-Identifier: MIT
// runtime_fixture.h: a private runtime per test, with C++ lambdas as fibers
// and a trace to assert whole interleavings. LeakCheckedTest's TearDown
// proves a clean end (leak_check.h) before it shuts the runtime down.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "async.h"
#include "leak_check.h"
#include "seeded.h"

namespace async_test {

class RuntimeTest : public LeakCheckedTest {
 protected:
  // Tests may adjust the config before the first spawn (runtime() inits lazily).
  async_config_t cfg_{};

  async_runtime_t* runtime() {
    if (!initialised_) {
      EXPECT_EQ(async_runtime_init(&rt_, &cfg_), ASYNC_OK);
      initialised_ = true;
    }
    return &rt_;
  }

  // Spawns a lambda on the test's runtime; the lambda lives until TearDown.
  async_fiber_handle_t spawn(std::function<void()> fn, const async_spawn_options_t* opts = nullptr) {
    bodies_.push_back(std::make_unique<std::function<void()>>(std::move(fn)));
    return async_spawn_ex(runtime(), &RuntimeTest::invoke, bodies_.back().get(), opts);
  }

  async_status_t run() { return async_runtime_run(runtime()); }

  async_runtime_stats_t stats() {
    async_runtime_stats_t s{};
    EXPECT_EQ(async_runtime_stats(runtime(), &s), ASYNC_OK);
    return s;
  }

  void shut_down_runtimes() override {
    if (!initialised_) return;
    async_runtime_shutdown(&rt_);
    EXPECT_EQ(rt_.impl, nullptr);
  }

  std::vector<std::string> trace;

 private:
  static void invoke(void* user) { (*static_cast<std::function<void()>*>(user))(); }

  async_runtime_t rt_{};
  bool initialised_ = false;
  std::vector<std::unique_ptr<std::function<void()>>> bodies_;
};

}  // namespace async_test
