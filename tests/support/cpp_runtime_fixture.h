// SPDX-License-Identifier: MIT
// cpp_runtime_fixture.h: a private async::runtime per test for the C++ API
// suites, made on first use from cfg_. LeakCheckedTest's TearDown proves a
// clean end (leak_check.h) before it shuts the runtime down.
#pragma once

#include <optional>

#include "async.hpp"
#include "leak_check.h"

namespace async_test {

class CppRuntimeFixture : public LeakCheckedTest {
 protected:
  // Tests may adjust the config before the first rt().
  async::config cfg_ = async::config{}.fiber_stack_size(64 * 1024);

  async::runtime& rt() {
    if (!rt_) rt_.emplace(cfg_);
    return *rt_;
  }

  void shut_down_runtimes() override { rt_.reset(); }

 private:
  std::optional<async::runtime> rt_;
};

}  // namespace async_test
