// SPDX-License-Identifier: MIT
// cpp_api_fixture.h: what the C++ API suites (cpp_runtime_test.cpp,
// cpp_fiber_test.cpp, cpp_cancel_test.cpp, cpp_sleep_test.cpp) share: a
// private runtime per test with 32 KiB stacks and a trace, how a call ended
// as text, and callables that log or count their own lifetime.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "async.hpp"
#include "cpp_runtime_fixture.h"

namespace async_test {

using Trace = std::vector<std::string>;

// What a call ended with: "ok", "cancelled", "error EINVAL" (an async::error
// and its status), or "other: <what>".
template <class Fn>
std::string outcome_of(Fn&& fn) {
  try {
    fn();
    return "ok";
  } catch (const async::cancelled&) {
    return "cancelled";
  } catch (const async::error& e) {
    return std::string("error ") + async_status_name(static_cast<async_status_t>(e.status_code()));
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
}

// Logs its destruction, unless moved from.
struct guard {
  Trace* trace;
  std::string name;
  guard(Trace& t, std::string n) : trace(&t), name(std::move(n)) {}
  guard(guard&& o) noexcept : trace(std::exchange(o.trace, nullptr)), name(std::move(o.name)) {}
  guard& operator=(guard&&) = delete;
  ~guard() {
    if (trace != nullptr) trace->push_back("~" + name);
  }
};

// Counts live copies, to prove callables are destroyed.
struct counted {
  int* live;
  explicit counted(int& l) : live(&l) { ++*live; }
  counted(const counted& o) : live(o.live) { ++*live; }
  counted(counted&& o) noexcept : live(o.live) { ++*live; }
  counted& operator=(const counted&) = delete;
  ~counted() { --*live; }
};

// A custom exception type, to check that join rethrows it as it was thrown.
struct parse_error : std::runtime_error {
  int line;
  parse_error(const std::string& what, int l) : std::runtime_error(what), line(l) {}
};

class CppApiFixture : public CppRuntimeFixture {
 protected:
  CppApiFixture() { cfg_ = async::config{}.fiber_stack_size(32 * 1024); }

  Trace trace;
};

}  // namespace async_test
