// SPDX-License-Identifier: MIT
// cpp_status_test.cpp: the C++ API's statuses (async/status.hpp): codes as std::error_code
// with the C values and messages, comparable with std::errc; async::error and
// async::cancelled carry theirs.
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

TEST(CppStatusTest, EveryCodeHasTheCValueAndTheCMessage) {
  std::vector<int> seen;
#define CHECK_CODE(code_name, code_value, code_text)                          \
  {                                                                           \
    const std::error_code ec = static_cast<async::status>(ASYNC_##code_name); \
    EXPECT_EQ(ec.value(), code_value);                                        \
    EXPECT_EQ(&ec.category(), &async::category());                            \
    EXPECT_EQ(ec.message(), async_strerror(ASYNC_##code_name));               \
    EXPECT_EQ(ec.message(), code_text);                                       \
    seen.push_back(code_value);                                               \
  }
  ASYNC_STATUS_MAP(CHECK_CODE)
#undef CHECK_CODE
  EXPECT_EQ(seen.size(), 11u);
  EXPECT_STREQ(async::category().name(), "async");
  EXPECT_EQ(async::category().message(12345), "unknown status");
  EXPECT_EQ(async::category().message(12345), async_strerror(static_cast<async_status_t>(-11)));
  EXPECT_EQ(static_cast<int>(async::status::ecanceled), ASYNC_ECANCELED);
  EXPECT_EQ(static_cast<int>(async::status::edeadlk), ASYNC_EDEADLK);
}

TEST(CppStatusTest, StatusesAreErrorCodesComparableWithStdErrc) {
  static_assert(std::is_error_code_enum_v<async::status>);
  std::error_code ec = async::status::etimedout;
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec, async::status::etimedout);
  EXPECT_NE(ec, async::status::eagain);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_NE(ec, std::errc::invalid_argument);
  EXPECT_FALSE(std::error_code(async::status::ok));
  EXPECT_EQ(make_error_code(async::status::einval), std::errc::invalid_argument);
  EXPECT_EQ(make_error_code(async::status::enomem), std::errc::not_enough_memory);
  EXPECT_EQ(make_error_code(async::status::ecanceled), std::errc::operation_canceled);
  EXPECT_EQ(make_error_code(async::status::eagain), std::errc::resource_unavailable_try_again);
  EXPECT_EQ(make_error_code(async::status::eio), std::errc::io_error);
  EXPECT_EQ(make_error_code(async::status::edeadlk), std::errc::resource_deadlock_would_occur);
  // Codes without a portable meaning stay in their own category.
  for (async::status s : {async::status::efull, async::status::eclosed, async::status::estate}) {
    const std::error_condition cond = make_error_code(s).default_error_condition();
    EXPECT_EQ(&cond.category(), &async::category());
    EXPECT_EQ(cond.value(), static_cast<int>(s));
  }
}

TEST(CppStatusTest, ErrorAndCancelledCarryTheirStatus) {
  const async::error e(async::status::efull, "async::spawn");
  EXPECT_EQ(e.code(), async::status::efull);
  EXPECT_EQ(e.status_code(), async::status::efull);
  EXPECT_STREQ(e.what(), "async::spawn: a fixed capacity is exhausted");
  const async::cancelled c;
  EXPECT_EQ(c.code(), async::status::ecanceled);
  EXPECT_EQ(c.code(), std::errc::operation_canceled);
  EXPECT_STREQ(c.what(), "canceled");
  static_assert(std::is_base_of_v<std::system_error, async::error>);
  static_assert(std::is_base_of_v<async::error, async::cancelled>);
}

}  // namespace
