// SPDX-License-Identifier: MIT
// registry_test.cpp: the process-wide list of live runtimes (src/core/
// registry.h): runtimes are in it from init to shutdown, and for_each visits
// each once.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/registry.h"
#include "core/runtime.h"
#include "support/leak_check.h"

namespace {

using async::detail::registry_contains;
using async::detail::registry_for_each;
using async::detail::runtime;
using async::detail::runtime_of;

std::vector<runtime*> registered() {
  std::vector<runtime*> all;
  registry_for_each([&](runtime& rt) { all.push_back(&rt); });
  return all;
}

class RegistryTest : public async_test::LeakCheckedTest {};

TEST_F(RegistryTest, RuntimesAreRegisteredFromInitToShutdown) {
  const std::size_t before = registered().size();
  async_runtime_t a, b, c;
  ASSERT_EQ(async_runtime_init(&a, nullptr), ASYNC_OK);
  ASSERT_EQ(async_runtime_init(&b, nullptr), ASYNC_OK);
  ASSERT_EQ(async_runtime_init(&c, nullptr), ASYNC_OK);
  runtime* ra = runtime_of(&a);
  runtime* rb = runtime_of(&b);
  runtime* rc = runtime_of(&c);
  EXPECT_TRUE(registry_contains(ra));
  EXPECT_TRUE(registry_contains(rb));
  EXPECT_TRUE(registry_contains(rc));
  EXPECT_FALSE(registry_contains(nullptr));
  EXPECT_FALSE(registry_contains(reinterpret_cast<runtime*>(&a)));  // compared, never read
  EXPECT_EQ(registered().size(), before + 3);

  async_runtime_shutdown(&b);  // from the middle of the list
  std::vector<runtime*> all = registered();
  EXPECT_EQ(all.size(), before + 2);
  EXPECT_EQ(std::count(all.begin(), all.end(), ra), 1);
  EXPECT_EQ(std::count(all.begin(), all.end(), rc), 1);
  EXPECT_FALSE(registry_contains(rb));

  async_runtime_shutdown(&c);  // the head
  async_runtime_shutdown(&a);
  EXPECT_EQ(registered().size(), before);
}

TEST_F(RegistryTest, AFailedInitRegistersNothing) {
  const std::size_t before = registered().size();
  async_runtime_t rt;
  async_config_t cfg{};
  cfg.fiber_stack_size = SIZE_MAX;
  EXPECT_EQ(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
  EXPECT_EQ(registered().size(), before);
}

}  // namespace
