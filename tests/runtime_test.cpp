// SPDX-License-Identifier: MIT
// runtime_test.cpp: runtimes, their configuration, the per-thread global
// runtime, status texts, and the misuse each returns a status for.
#include <set>
#include <thread>

#include "support/runtime_fixture.h"

namespace {

using Trace = std::vector<std::string>;

class RuntimeTest : public async_test::LeakCheckedTest {};

TEST_F(RuntimeTest, NullAndZeroConfigsGiveTheDefaults) {
  async_config_t zero{};
  const async_config_t* configs[] = {nullptr, &zero};
  for (const async_config_t* cfg : configs) {
    async_runtime_t rt;
    ASSERT_EQ(async_runtime_init(&rt, cfg), ASYNC_OK);
    std::vector<async_fiber_handle_t> handles;
    for (unsigned i = 0; i < ASYNC_DEFAULT_TASK_CAPACITY; ++i) {
      handles.push_back(async_spawn_with(&rt, [](void*) { async_yield(); }, nullptr));
      ASSERT_EQ(handles.back().status, ASYNC_OK) << i;
    }
    EXPECT_EQ(async_spawn_with(&rt, [](void*) {}, nullptr).status, ASYNC_EFULL);
    ASSERT_EQ(async_runtime_run(&rt), ASYNC_OK);
    async_runtime_stats_t s{};
    ASSERT_EQ(async_runtime_stats(&rt, &s), ASYNC_OK);
    EXPECT_EQ(s.stack_bytes, ASYNC_DEFAULT_FIBER_STACK_SIZE);
    EXPECT_EQ(s.stacks_allocated, ASYNC_DEFAULT_FIBER_CAPACITY);
    async_runtime_shutdown(&rt);
  }
}

TEST_F(RuntimeTest, BadConfigsAreRefused) {
  async_runtime_t rt;
  rt.impl = &rt;  // garbage, as in an uninitialised variable
  async_config_t cfg{};
  cfg.backend = 99;
  EXPECT_EQ(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
  EXPECT_EQ(rt.impl, nullptr);  // a failed init leaves a runtime that names nothing
  EXPECT_EQ(async_runtime_run(&rt), ASYNC_EINVAL);
  cfg = async_config_t{};
  cfg.flags = 0x80;
  EXPECT_EQ(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
  cfg = async_config_t{};
  cfg.fiber_stack_size = ASYNC_MIN_STACK_SIZE - 1;
  EXPECT_EQ(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
  EXPECT_EQ(rt.impl, nullptr);
  EXPECT_EQ(async_runtime_init(nullptr, nullptr), ASYNC_EINVAL);
}

TEST_F(RuntimeTest, InitOfALiveRuntimeIsRefusedFromAnyThread) {
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  void* impl = rt.impl;
  EXPECT_EQ(async_runtime_init(&rt, nullptr), ASYNC_ESTATE);
  async_status_t from_other = ASYNC_OK;
  std::thread([&] { from_other = async_runtime_init(&rt, nullptr); }).join();
  EXPECT_EQ(from_other, ASYNC_ESTATE);
  EXPECT_EQ(rt.impl, impl);
  EXPECT_EQ(async_spawn_with(&rt, [](void*) {}, nullptr).status, ASYNC_OK);
  EXPECT_EQ(async_runtime_run(&rt), ASYNC_OK);
  async_runtime_shutdown(&rt);
  EXPECT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  async_runtime_shutdown(&rt);
}

TEST_F(RuntimeTest, CallsOnNullOrUninitialisedRuntimesAreInvalid) {
  async_runtime_t zeroed{};
  async_runtime_stats_t s{};
  EXPECT_EQ(async_runtime_run(nullptr), ASYNC_EINVAL);
  EXPECT_EQ(async_runtime_run(&zeroed), ASYNC_EINVAL);
  EXPECT_EQ(async_runtime_stats(nullptr, &s), ASYNC_EINVAL);
  EXPECT_EQ(async_runtime_stats(&zeroed, &s), ASYNC_EINVAL);
  async_runtime_shutdown(nullptr);  // nothing happens
  async_runtime_shutdown(&zeroed);
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  EXPECT_EQ(async_runtime_stats(&rt, nullptr), ASYNC_EINVAL);
  async_runtime_shutdown(&rt);
}

TEST_F(RuntimeTest, ShutdownFromInsideItsOwnFiberDoesNothing) {
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  async_spawn_with(&rt, [](void* p) { async_runtime_shutdown(static_cast<async_runtime_t*>(p)); }, &rt);
  ASSERT_EQ(async_runtime_run(&rt), ASYNC_OK);
  EXPECT_NE(rt.impl, nullptr);
  async_runtime_shutdown(&rt);
  EXPECT_EQ(rt.impl, nullptr);
}

class GlobalRuntimeTest : public async_test::LeakCheckedTest {};

TEST_F(GlobalRuntimeTest, IsCreatedOnFirstUseAndInitAfterThatIsWrongState) {
  async_global_shutdown();  // a clean slate for this thread
  async_config_t cfg{};
  cfg.task_capacity = 2;
  ASSERT_EQ(async_global_init(&cfg), ASYNC_OK);
  EXPECT_EQ(async_global_init(nullptr), ASYNC_ESTATE);
  async_runtime_t* rt = async_global();
  ASSERT_NE(rt, nullptr);
  EXPECT_EQ(async_spawn([](void*) {}, nullptr).runtime, rt);
  EXPECT_EQ(async_spawn([](void*) {}, nullptr).status, ASYNC_OK);
  EXPECT_EQ(async_spawn([](void*) {}, nullptr).status, ASYNC_EFULL);  // cfg was used
  EXPECT_EQ(async_run(), ASYNC_OK);
  async_global_shutdown();
  EXPECT_EQ(async_global_init(nullptr), ASYNC_OK);  // a later use starts afresh
  async_global_shutdown();
  async_spawn([](void*) {}, nullptr);  // creates it with defaults
  EXPECT_EQ(async_global_init(nullptr), ASYNC_ESTATE);
  EXPECT_EQ(async_run(), ASYNC_OK);
  async_global_shutdown();
}

TEST_F(GlobalRuntimeTest, ShutDownThroughItsPointerItStartsAfresh) {
  async_global_shutdown();
  async_runtime_t* rt = async_global();
  ASSERT_NE(rt, nullptr);
  async_runtime_shutdown(rt);
  EXPECT_EQ(rt->impl, nullptr);
  async_fiber_handle_t h = async_spawn([](void*) {}, nullptr);
  EXPECT_EQ(h.status, ASYNC_OK);
  EXPECT_EQ(async_run(), ASYNC_OK);
  async_global_shutdown();
}

TEST_F(GlobalRuntimeTest, EachThreadHasItsOwn) {
  std::set<async_runtime_t*> runtimes;
  std::vector<std::string> outputs(3);
  std::vector<std::thread> threads;
  std::vector<async_runtime_t*> seen(3);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([t, &seen, &outputs] {
      struct ctx {
        std::string* out;
        int id;
      } c{&outputs[t], t};
      for (int f = 0; f < 2; ++f) {
        async_spawn(
            [](void* p) {
              auto* x = static_cast<ctx*>(p);
              for (int i = 0; i < 3; ++i) {
                *x->out += std::to_string(x->id);
                async_yield();
              }
            },
            &c);
      }
      seen[t] = async_global();
      EXPECT_EQ(async_run(), ASYNC_OK);
      async_global_shutdown();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(outputs[t], std::string(6, static_cast<char>('0' + t)));
    runtimes.insert(seen[t]);
  }
  EXPECT_EQ(runtimes.size(), 3u);
}

TEST(StatusTest, EveryCodeHasANameAndADistinctText) {
  std::set<std::string> texts;
  const async_status_t all[] = {ASYNC_OK,       ASYNC_EINVAL,    ASYNC_ENOMEM, ASYNC_EFULL,
                                ASYNC_ECLOSED,  ASYNC_ECANCELED, ASYNC_ETIMEDOUT,
                                ASYNC_EAGAIN,   ASYNC_EIO,       ASYNC_ESTATE, ASYNC_EDEADLK};
  for (async_status_t st : all) {
    EXPECT_STRNE(async_strerror(st), "unknown status");
    texts.insert(async_strerror(st));
  }
  EXPECT_EQ(texts.size(), std::size(all));
  EXPECT_EQ(ASYNC_OK, 0);
  EXPECT_STREQ(async_status_name(ASYNC_ECANCELED), "ECANCELED");
  EXPECT_STREQ(async_strerror(ASYNC_ECANCELED), "canceled");
  // Unknown values are tested from C (c_api_test.c): in C++ an enum value
  // outside the enumerators' range cannot even be formed.
}

TEST(ClockTest, NowIsMonotonic) {
  uint64_t a = async_now_ns();
  uint64_t b = async_now_ns();
  EXPECT_LE(a, b);
  EXPECT_GT(a, 0u);
}

}  // namespace
