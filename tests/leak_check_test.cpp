// SPDX-License-Identifier: MIT
// leak_check_test.cpp: the shared teardown (support/leak_check.h) fails when
// something is left behind: each check fires on a runtime that holds what it
// looks for, and stays quiet on one that does not; the whole TearDown reports
// a leaked fiber, runtime and fd together. Failures are captured, not
// reported, and asserted as a whole list.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "async.h"
#include "async/io.h"
#include "support/leak_check.h"

namespace {

using Failures = std::vector<std::string>;

// What a failure message says was left, in a word.
std::string left_behind(const std::string& message) {
  for (const char* what : {"a fiber is still alive", "a stack is still in use", "a timer is still pending",
                           "an io is still registered", "is still alive after the fixture", "a file descriptor leaked"}) {
    if (message.find(what) != std::string::npos) return what;
  }
  return message;
}

// The failures `fn` raises on this thread, in order; none reaches the test.
template <class F>
Failures failures_of(F&& fn) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter capture(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    fn();
  }
  Failures out;
  for (int i = 0; i < results.size(); ++i) out.push_back(left_behind(results.GetTestPartResult(i).message()));
  return out;
}

void nothing(void*) {}

// A fixture whose SetUp and TearDown a test calls itself.
class probe_fixture : public async_test::LeakCheckedTest {
 public:
  void TestBody() override {}
  void set_up() { SetUp(); }
  void tear_down() { TearDown(); }
};

class LeakCheckTest : public async_test::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    ASSERT_EQ(async_runtime_init(&rt_, nullptr), ASYNC_OK);
  }
  void shut_down_runtimes() override { async_runtime_shutdown(&rt_); }

  async_runtime_t rt_{};
};

TEST_F(LeakCheckTest, AnIdleRuntimePasses) {
  EXPECT_EQ(failures_of([&] { async_test::expect_runtime_idle(&rt_); }), Failures{});
}

TEST_F(LeakCheckTest, AFiberNeverRunIsStillAlive) {
  async_spawn_with(&rt_, nothing, nullptr);
  EXPECT_EQ(failures_of([&] { async_test::expect_runtime_idle(&rt_); }), Failures{"a fiber is still alive"});
  EXPECT_EQ(failures_of([&] { async_test::expect_runtime_idle(&rt_, true); }), Failures{})
      << "fibers left blocked on purpose are not reported";
  EXPECT_EQ(async_runtime_run(&rt_), ASYNC_OK);
}

// Checked from a fiber while another sleeps: both alive, both stacks in use,
// the sleep's timer pending. The checker then cancels the sleeper.
TEST_F(LeakCheckTest, ASleepingFiberHoldsItsStackAndATimer) {
  struct state {
    async_runtime_t* rt;
    bool asleep = false;
    async_fiber_handle_t sleeper{};
    Failures seen;
  } st{&rt_, false, {}, {}};
  st.sleeper = async_spawn_with(
      &rt_,
      [](void* p) {
        auto* s = static_cast<state*>(p);
        s->asleep = true;
        EXPECT_EQ(async_sleep_ms(3'600'000), ASYNC_ECANCELED);
      },
      &st);
  async_spawn_with(
      &rt_,
      [](void* p) {
        auto* s = static_cast<state*>(p);
        while (!s->asleep) async_yield();  // a seeded schedule may run this first
        s->seen = failures_of([&] { async_test::expect_runtime_idle(s->rt); });
        EXPECT_EQ(async_cancel(s->sleeper), ASYNC_OK);
      },
      &st);
  EXPECT_EQ(async_runtime_run(&rt_), ASYNC_OK);
  EXPECT_EQ(st.seen, (Failures{"a fiber is still alive", "a stack is still in use", "a timer is still pending"}));
}

TEST_F(LeakCheckTest, ARegisteredIoAndItsFdAreReported) {
  const async_test::leak_baseline base;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  async_io_t io{};
  ASSERT_EQ(async_io_register_with(&rt_, &io, fds[0]), ASYNC_OK);
  EXPECT_EQ(failures_of([&] { async_test::expect_runtime_idle(&rt_, true); }), Failures{"an io is still registered"});
  EXPECT_EQ(async_io_close(&io), ASYNC_OK);
  EXPECT_EQ(failures_of([&] { async_test::expect_fds_as_at(base); }), Failures{"a file descriptor leaked"});
  close(fds[1]);
  EXPECT_EQ(failures_of([&] { async_test::expect_runtime_idle(&rt_); }), Failures{});
  EXPECT_EQ(failures_of([&] { async_test::expect_fds_as_at(base); }), Failures{});
}

TEST_F(LeakCheckTest, ARuntimeLeftAliveIsReportedAndTheGlobalOneIsChecked) {
  const async_test::leak_baseline base;
  async_runtime_t other{};
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  EXPECT_EQ(failures_of([&] { async_test::expect_no_runtime_made_since(base); }),
            Failures{"is still alive after the fixture"});
  async_runtime_shutdown(&other);
  EXPECT_EQ(failures_of([&] { async_test::expect_no_runtime_made_since(base); }), Failures{});

  // The global runtime is one the thread owns, so TearDown checks it too.
  async_spawn(nothing, nullptr);
  const std::vector<async_runtime_t*> owned = async_test::owned_runtimes();
  EXPECT_EQ(owned, (std::vector<async_runtime_t*>{async_global(), &rt_}));
  EXPECT_EQ(failures_of([&] { async_test::expect_runtime_idle(async_global()); }), Failures{"a fiber is still alive"});
  EXPECT_EQ(async_run(), ASYNC_OK);
}

// The whole teardown, on a test that leaves a runtime with a fiber never run
// and an open pipe: the fiber, the runtime and both fds are reported.
TEST_F(LeakCheckTest, TearDownReportsEverythingATestLeftBehind) {
  probe_fixture probe;
  probe.set_up();
  async_runtime_t leaked{};
  ASSERT_EQ(async_runtime_init(&leaked, nullptr), ASYNC_OK);
  async_spawn_with(&leaked, nothing, nullptr);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_EQ(failures_of([&] { probe.tear_down(); }),
            (Failures{"a fiber is still alive", "is still alive after the fixture", "a file descriptor leaked"}));
  EXPECT_EQ(async_runtime_run(&leaked), ASYNC_OK);
  async_runtime_shutdown(&leaked);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
