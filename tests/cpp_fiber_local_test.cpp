// SPDX-License-Identifier: MIT
// cpp_fiber_local_test.cpp: async::fiber_local<T> (async/sync.hpp): one value
// per fiber, made on first access, destroyed at the fiber's end on the
// fiber; reset; misuse outside fibers; and the lifetime rule that makes
// destroying a fiber_local while fibers hold values safe (their values are
// still destroyed when those fibers end, and the key is not leaked).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "async.hpp"
#include "support/cpp_runtime_fixture.h"
#include "support/seeded.h"

namespace {

using Trace = std::vector<std::string>;

// Values log their making and dropping, numbered in the order they were made.
Trace* g_trace = nullptr;
int g_made = 0;

struct tracked {
  int id = ++g_made;
  std::string text;
  tracked() { g_trace->push_back("make " + std::to_string(id)); }
  tracked(const tracked&) = delete;
  tracked& operator=(const tracked&) = delete;
  ~tracked() { g_trace->push_back("drop " + std::to_string(id)); }
};

class CppFiberLocalTest : public async_test::CppRuntimeFixture {
 protected:
  void SetUp() override {
    CppRuntimeFixture::SetUp();
    g_trace = &trace;
    g_made = 0;
  }

  void run_all() { ASSERT_EQ(rt().run(), async::status::ok); }

  void TearDown() override {
    CppRuntimeFixture::TearDown();
    g_trace = nullptr;
  }

  Trace trace;
};

TEST_F(CppFiberLocalTest, EachFiberHasItsOwnValueDestroyedWhenTheFiberEnds) {
  ASYNC_FIFO_ONLY();
  async::fiber_local<tracked> local;
  async::spawn(rt(), [&] {
    local->text = "a's";
    async::this_fiber::yield();
    trace.push_back("a sees " + (*local).text);
  }).detach();
  async::spawn(rt(), [&] {
    trace.push_back("b has a value: " + std::to_string(local.has_value()));
    local.get().text = "b's";
    async::this_fiber::yield();
    trace.push_back("b sees " + local->text);
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"make 1", "b has a value: 0", "make 2", "a sees a's", "drop 1", "b sees b's", "drop 2"}));
}

TEST_F(CppFiberLocalTest, ResetDestroysTheValueNowAndTheNextAccessMakesANewOne) {
  async::fiber_local<tracked> local;
  async::spawn(rt(), [&] {
    local.reset();  // no value: nothing happens
    tracked& first = local.get();
    trace.push_back("same object: " + std::to_string(&first == &local.get()));
    trace.push_back("native key holds it: " + std::to_string(async_fls_get(local.native()) != nullptr));
    local.reset();
    trace.push_back("after reset: " + std::to_string(local.has_value()));
    trace.push_back("new value " + std::to_string(local->id));
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"make 1", "same object: 1", "native key holds it: 1", "drop 1", "after reset: 0", "make 2",
                          "new value 2", "drop 2"}));
}

TEST_F(CppFiberLocalTest, OutsideFibersGetThrowsEstateAndMakesNothing) {
  async::fiber_local<tracked> local;
  try {
    (void)local.get();
    FAIL() << "get did not throw";
  } catch (const async::error& e) {
    EXPECT_EQ(e.code(), async::status::estate);
  }
  EXPECT_THROW((void)local->text, async::error);
  EXPECT_FALSE(local.has_value());
  local.reset();  // nothing to do
  EXPECT_TRUE(trace.empty());
}

// Throws from its constructor while `fail` is set.
bool g_fail = false;
struct flaky {
  int value = 5;
  flaky() {
    if (g_fail) throw std::runtime_error("no value today");
  }
};

TEST_F(CppFiberLocalTest, AConstructorThatThrowsLeavesNoValue) {
  async::fiber_local<flaky> local;
  async::spawn(rt(), [&] {
    g_fail = true;
    try {
      (void)local.get();
    } catch (const std::runtime_error& e) {
      trace.push_back(e.what());
    }
    trace.push_back("has a value: " + std::to_string(local.has_value()));
    g_fail = false;
    trace.push_back("then: " + std::to_string(local->value));
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"no value today", "has a value: 0", "then: 5"}));
}

TEST_F(CppFiberLocalTest, ValuesOutliveTheFiberLocalUntilTheirFibersEnd) {
  ASYNC_FIFO_ONLY();
  auto local = std::make_unique<async::fiber_local<tracked>>();
  async::spawn(rt(), [&] {
    (*local)->text = "a's";
    tracked& mine = local->get();
    async::this_fiber::yield();  // b destroys the fiber_local
    trace.push_back("a still has " + mine.text);
  }).detach();
  async::spawn(rt(), [&] {
    local.reset();
    trace.push_back("b destroyed the fiber_local");
  }).detach();
  run_all();
  EXPECT_EQ(trace, (Trace{"make 1", "b destroyed the fiber_local", "a still has a's", "drop 1"}));
}

TEST_F(CppFiberLocalTest, KeysAreNotLeaked) {
  // More fiber_locals than there are keys, destroyed before and after their
  // fibers end: each key must be deleted once its last value is gone.
  for (unsigned i = 0; i < 2 * ASYNC_FLS_KEYS_MAX; ++i) {
    auto local = std::make_unique<async::fiber_local<int>>();
    const bool early = i % 2 == 0;
    async::spawn(rt(), [&] {
      **local = static_cast<int>(i);
      if (early) local.reset();
    }).detach();
    run_all();
  }
  SUCCEED();  // each construction above would have thrown efull had a key leaked
}

TEST_F(CppFiberLocalTest, PastTheKeyLimitConstructionThrowsEfullAndDestroyingFreesTheKeys) {
  std::vector<std::unique_ptr<async::fiber_local<int>>> locals;
  auto fill = [&] {
    try {
      for (;;) locals.push_back(std::make_unique<async::fiber_local<int>>());
    } catch (const async::error& e) {
      EXPECT_EQ(e.code(), async::status::efull);
    }
    return locals.size();
  };
  const std::size_t n = fill();  // every key not used elsewhere in the process
  EXPECT_GT(n, 0u);
  EXPECT_LE(n, ASYNC_FLS_KEYS_MAX);
  locals.clear();
  EXPECT_EQ(fill(), n);  // each destroyed fiber_local gave its key back
  locals.clear();
}

// Its destructor sets a value of another fiber_local: the C layer runs
// another round of destructors for it.
async::fiber_local<tracked>* g_other = nullptr;
struct chained {
  ~chained() {
    g_trace->push_back("drop chained");
    (*g_other)->text = "set by a destructor";
  }
};

TEST_F(CppFiberLocalTest, ADestructorMayGiveTheFiberAnotherValue) {
  async::fiber_local<tracked> other;
  async::fiber_local<chained> first;
  g_other = &other;
  async::spawn(rt(), [&] {
    (void)first.get();
    trace.push_back("fiber ends");
  }).detach();
  run_all();
  g_other = nullptr;
  EXPECT_EQ(trace, (Trace{"fiber ends", "drop chained", "make 1", "drop 1"}));
}

}  // namespace
