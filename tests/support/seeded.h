// SPDX-License-Identifier: MIT
// seeded.h: tests and seeded schedules. .ci/seeds.sh runs the suites with
// ASYNC_SCHEDULE_SEED set, so that every runtime a test makes without a seed
// of its own picks its fibers at random (async.h, "Seeded schedules"). A
// test that asserts a FIFO order (a whole trace, who runs first) asserts
// what a seed legitimately changes: it opens with ASYNC_FIFO_ONLY() and is
// skipped there. Tests that hold under every order (outcomes, counts,
// statuses) run under seeds as they are.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace async_test {

// Whether the environment seeds runtimes whose config says 0.
inline bool seeded_by_environment() {
  const char* s = std::getenv("ASYNC_SCHEDULE_SEED");
  return s != nullptr && s[0] != '\0' && std::string(s) != "0";
}

// Sets an environment variable for one scope and restores what was there.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value, 1);
  }
  ~scoped_env() {
    if (had_) {
      setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::string old_;
  bool had_ = false;
};

}  // namespace async_test

// First statement of a test that asserts a FIFO order.
#define ASYNC_FIFO_ONLY()                                 \
  if (::async_test::seeded_by_environment()) GTEST_SKIP() << "asserts the FIFO order; ASYNC_SCHEDULE_SEED is set"
