// SPDX-License-Identifier: MIT
// cpp_config_test.cpp: the C++ API's config (async/runtime.hpp): its defaults are the C
// defaults, setters chain and convert to async_config_t, the runtime uses it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "async.hpp"
#include "support/cpp_api_fixture.h"
#include "support/seeded.h"

namespace {

using namespace std::chrono_literals;
using namespace async_test;

class CppConfigTest : public LeakCheckedTest {};

TEST_F(CppConfigTest, DefaultsAreTheCDefaults) {
  constexpr async::config cfg;
  static_assert(cfg.task_capacity() == ASYNC_DEFAULT_TASK_CAPACITY);
  EXPECT_EQ(cfg.fiber_capacity(), ASYNC_DEFAULT_FIBER_CAPACITY);
  EXPECT_EQ(cfg.fiber_stack_size(), ASYNC_DEFAULT_FIBER_STACK_SIZE);
  EXPECT_EQ(cfg.max_events(), ASYNC_DEFAULT_MAX_EVENTS);
  EXPECT_TRUE(cfg.guard_pages());
  const async_config_t c = cfg;
  EXPECT_EQ(c.task_capacity, 256u);
  EXPECT_EQ(c.fiber_capacity, 64u);
  EXPECT_EQ(c.fiber_stack_size, 64u * 1024u);
  EXPECT_EQ(c.max_events, 64u);
  EXPECT_EQ(c.flags, 0u);
  EXPECT_EQ(c.backend, ASYNC_BACKEND_DEFAULT);
}

TEST_F(CppConfigTest, SettersChainAndConvertToTheCConfig) {
  const auto cfg =
      async::config{}.task_capacity(8).fiber_capacity(3).fiber_stack_size(48 * 1024).max_events(7).guard_pages(false);
  EXPECT_EQ(cfg.task_capacity(), 8u);
  EXPECT_EQ(cfg.fiber_capacity(), 3u);
  EXPECT_EQ(cfg.fiber_stack_size(), 48u * 1024u);
  EXPECT_EQ(cfg.max_events(), 7u);
  EXPECT_FALSE(cfg.guard_pages());
  const async_config_t c = cfg.native();
  EXPECT_EQ(c.task_capacity, 8u);
  EXPECT_EQ(c.fiber_capacity, 3u);
  EXPECT_EQ(c.fiber_stack_size, 48u * 1024u);
  EXPECT_EQ(c.max_events, 7u);
  EXPECT_EQ(c.flags, ASYNC_CONFIG_NO_GUARD_PAGES);
  EXPECT_EQ(c.backend, ASYNC_BACKEND_DEFAULT);
}

TEST_F(CppConfigTest, TheRuntimeUsesTheConfig) {
  async::runtime rt(async::config{}.fiber_stack_size(48 * 1024).guard_pages(false).task_capacity(1));
  auto f = async::spawn(rt, [] { return 1; });
  EXPECT_EQ(outcome_of([&] { (void)async::spawn(rt, [] {}); }), "error EFULL");
  EXPECT_EQ(f.join(), 1);
  const async::runtime_stats s = rt.stats();
  EXPECT_EQ(s.stack_bytes, 48u * 1024u);
  EXPECT_EQ(s.guard_bytes, 0u);
}

TEST_F(CppConfigTest, ZeroSizesMeanTheCDefaults) {
  async::runtime rt(async::config{}.task_capacity(0).fiber_capacity(0).fiber_stack_size(0).max_events(0));
  EXPECT_EQ(rt.stats().stack_bytes, ASYNC_DEFAULT_FIBER_STACK_SIZE);
  std::vector<async::fiber<void>> fibers;
  for (unsigned i = 0; i < ASYNC_DEFAULT_TASK_CAPACITY; ++i) fibers.push_back(async::spawn(rt, [] {}));
  EXPECT_EQ(outcome_of([&] { (void)async::spawn(rt, [] {}); }), "error EFULL");
  EXPECT_EQ(rt.run(), async::status::ok);
  for (auto& f : fibers) f.join();
}

}  // namespace
