// SPDX-License-Identifier: MIT
// fls_test.cpp: fiber-local storage where C++ is handier than C11 (the C
// API's checks are in c_fls_test.c): a destructor whose set grows the block under
// the destructor pass, cancelled fibers, ASYNC_ENOMEM (from an allocator
// installed with async_set_allocator that refuses on request), and keys
// created and deleted by threads while fibers of a group use them.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "async.h"
#include "gtest/gtest.h"
#include "support/runtime_fixture.h"

namespace {

// Set by a test around the one call that must find memory short; per thread,
// so that other threads' allocations are never refused.
thread_local bool refuse_allocations = false;

void* refusing_alloc(std::size_t size, std::size_t align, void* /*ctx*/) {
  if (refuse_allocations) return nullptr;
  return std::aligned_alloc(align, (size + align - 1) / align * align);
}

void plain_free(void* p, std::size_t /*size*/, void* /*ctx*/) { std::free(p); }

// Under the sanitizers everything is 5-20x slower: fewer rounds.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int stress_scale = 10;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int stress_scale = 10;
#else
constexpr int stress_scale = 1;
#endif
#else
constexpr int stress_scale = 1;
#endif

// Keys made by a test, deleted at its end whatever happens.
struct keys_guard {
  std::vector<async_fls_key_t> keys;
  async_fls_key_t make(void (*destructor)(void*)) {
    async_fls_key_t k{};
    EXPECT_EQ(async_fls_create(&k, destructor), ASYNC_OK);
    keys.push_back(k);
    return k;
  }
  ~keys_guard() {
    for (const async_fls_key_t& k : keys) (void)async_fls_delete(k);
  }
};

// A value for the destructors below: it names itself in `trace` and may set
// another key's value from its destructor.
struct traced {
  std::vector<std::string>* trace;
  std::string name;
  const async_fls_key_t* then_key = nullptr;
  traced* then_value = nullptr;
};

void trace_destructor(void* value) {
  auto* t = static_cast<traced*>(value);
  t->trace->push_back("dtor " + t->name);
  if (t->then_key != nullptr) {
    EXPECT_EQ(async_fls_set(*t->then_key, t->then_value), ASYNC_OK);
  }
}

using FlsTest = async_test::RuntimeTest;

// The refusing allocator, installed before the runtime exists (the fixture
// makes it at the first spawn) and removed after the fixture destroyed it.
class FlsEnomemTest : public async_test::RuntimeTest {
 protected:
  void SetUp() override {
    const async_allocator_t refusing = {refusing_alloc, plain_free, nullptr};
    ASSERT_EQ(async_set_allocator(&refusing), ASYNC_OK);
  }
  void TearDown() override {
    RuntimeTest::TearDown();
    EXPECT_EQ(async_set_allocator(nullptr), ASYNC_OK);
  }
};

// A fiber with one value has the smallest block; the destructor of that
// value sets one for a key far beyond it, so the block is replaced while the
// destructor pass walks it. The new value's destructor still runs (in the
// same round when its slot is after the first key's), once.
TEST_F(FlsTest, DestructorThatGrowsTheBlockMidPass) {
  keys_guard kg;
  std::vector<async_fls_key_t> keys;
  for (int i = 0; i < 40; ++i) keys.push_back(kg.make(trace_destructor));
  traced late{&trace, "late"};
  traced first{&trace, "first", &keys.back(), &late};
  spawn([&] {
    ASSERT_EQ(async_fls_set(keys.front(), &first), ASYNC_OK);
    trace.push_back("end");
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"end", "dtor first", "dtor late"}));
}

// A cancelled fiber still ends by returning: its destructors run, and what
// they call sees the cancellation (a yield returns ASYNC_ECANCELED at once).
TEST_F(FlsTest, CancelledFiberRunsItsDestructors) {
  ASYNC_FIFO_ONLY();
  keys_guard kg;
  static std::vector<std::string>* out;
  out = &trace;
  const async_fls_key_t key = kg.make([](void* value) {
    out->push_back(std::string("dtor ") + static_cast<const char*>(value));
    out->push_back(async_status_name(async_yield()));
  });
  async_fiber_handle_t sleeper = spawn([&] {
    EXPECT_EQ(async_fls_set(key, const_cast<char*>("v")), ASYNC_OK);
    trace.push_back(async_status_name(async_sleep_ms(60000)));
  });
  spawn([&] { EXPECT_EQ(async_cancel(sleeper), ASYNC_OK); });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_await(sleeper), ASYNC_ECANCELED);
  EXPECT_EQ(trace, (std::vector<std::string>{"ECANCELED", "dtor v", "ECANCELED"}));
}

// ASYNC_ENOMEM for a fiber's first block and for a larger one: nothing
// changes, and the next set (memory back) works.
TEST_F(FlsEnomemTest, SetReportsEnomemAndChangesNothing) {
  keys_guard kg;
  static int destructor_calls;
  destructor_calls = 0;
  // 16 keys: at least one lies beyond the smallest block's 8 entries.
  std::vector<async_fls_key_t> keys;
  for (int i = 0; i < 16; ++i) keys.push_back(kg.make([](void*) { ++destructor_calls; }));
  int values[16] = {};
  spawn([&] {
    refuse_allocations = true;
    EXPECT_EQ(async_fls_set(keys[0], &values[0]), ASYNC_ENOMEM);
    EXPECT_EQ(async_fls_set(keys[0], nullptr), ASYNC_OK);  // NULL needs no block
    refuse_allocations = false;
    EXPECT_EQ(async_fls_get(keys[0]), nullptr);
    ASSERT_EQ(async_fls_set(keys[0], &values[0]), ASYNC_OK);
    refuse_allocations = true;
    int refused = 0;
    for (int i = 1; i < 16; ++i) {
      const async_status_t st = async_fls_set(keys[i], &values[i]);
      if (st == ASYNC_ENOMEM) {
        ++refused;
        EXPECT_EQ(async_fls_get(keys[i]), nullptr);
      } else {
        EXPECT_EQ(st, ASYNC_OK);
      }
    }
    refuse_allocations = false;
    EXPECT_GE(refused, 1);
    for (int i = 1; i < 16; ++i) ASSERT_EQ(async_fls_set(keys[i], &values[i]), ASYNC_OK);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(async_fls_get(keys[i]), &values[i]);
  });
  ASSERT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(destructor_calls, 16);
}

// Threads create and delete keys while fibers on two runtimes get and set
// them. Each value encodes the key it was set under and the fiber: a get may
// only ever return NULL or the caller's own value for that very key (never
// another fiber's, never one left under an earlier key of the same slot).
// Run under TSan by the tsan stage: the key table is read without a lock.
constexpr int churn_slots = 4;
std::atomic<std::uint64_t> churn_ids[churn_slots];
std::atomic<int> churn_bad{0};
std::atomic<int> churn_cycles{0};  // keys replaced by the churning threads
std::atomic<int> stable_dtor_calls{0};
async_fls_key_t stable_key;

void* expected_value(std::uint64_t key_id, std::uint64_t fiber_id) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>((key_id * 0x9e3779b97f4a7c15u) ^ fiber_id) | 1u);
}

void churn_fiber(void* user) {
  const int rounds = *static_cast<int*>(user);
  const std::uint64_t me = async_self().id;
  if (async_fls_set(stable_key, expected_value(stable_key.id, me)) != ASYNC_OK) churn_bad.fetch_add(1);
  // At least `rounds`, and on until the churners have replaced keys while
  // this fiber ran (progress, not time: the fibers are quicker than threads
  // making keys).
  const int churn_start = churn_cycles.load();
  for (int r = 0; r < rounds || churn_cycles.load() - churn_start < rounds / 10; ++r) {
    for (auto& slot : churn_ids) {
      const async_fls_key_t k{slot.load(std::memory_order_acquire)};
      void* got = async_fls_get(k);
      if (got != nullptr && got != expected_value(k.id, me)) churn_bad.fetch_add(1);
      const async_status_t st = async_fls_set(k, expected_value(k.id, me));
      if (st != ASYNC_OK && st != ASYNC_EINVAL) churn_bad.fetch_add(1);
    }
    if (async_fls_get(stable_key) != expected_value(stable_key.id, me)) churn_bad.fetch_add(1);
    async_yield();
  }
}

class FlsStressTest : public async_test::LeakCheckedTest {};

TEST_F(FlsStressTest, KeysChurnWhileGroupFibersUseThem) {
  churn_bad = 0;  // (--gtest_repeat)
  churn_cycles = 0;
  stable_dtor_calls = 0;
  ASSERT_EQ(async_fls_create(&stable_key, [](void*) { stable_dtor_calls.fetch_add(1); }), ASYNC_OK);
  std::atomic<bool> stop{false};
  std::vector<std::thread> churners;
  for (int t = 0; t < 2; ++t) {
    churners.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (int j = t; j < churn_slots; j += 2) {
          async_fls_key_t k{};
          // The destructor sees only values fibers set (all odd, never NULL).
          auto check = [](void* v) {
            if ((reinterpret_cast<std::uintptr_t>(v) & 1u) == 0) churn_bad.fetch_add(1);
          };
          if (async_fls_create(&k, check) != ASYNC_OK) {
            churn_bad.fetch_add(1);
            continue;
          }
          const async_fls_key_t old{churn_ids[j].exchange(k.id, std::memory_order_acq_rel)};
          if (old.id != 0 && async_fls_delete(old) != ASYNC_OK) churn_bad.fetch_add(1);
          churn_cycles.fetch_add(1);
        }
        std::this_thread::yield();
      }
    });
  }
  async_group_t g{};
  ASSERT_EQ(async_group_init(&g, 2, nullptr), ASYNC_OK);
  constexpr int fibers = 32;
  int rounds = 2000 / stress_scale;
  for (int i = 0; i < fibers; ++i) {
    ASSERT_EQ(async_spawn_with(async_group_runtime(&g, static_cast<size_t>(i % 2)), churn_fiber, &rounds).status,
              ASYNC_OK);
  }
  EXPECT_EQ(async_group_wait(&g), ASYNC_OK);
  async_group_shutdown(&g);
  stop.store(true);
  for (std::thread& t : churners) t.join();
  for (auto& slot : churn_ids) {
    const async_fls_key_t k{slot.exchange(0)};
    if (k.id != 0) {
      EXPECT_EQ(async_fls_delete(k), ASYNC_OK);
    }
  }
  EXPECT_EQ(churn_bad.load(), 0);
  EXPECT_EQ(stable_dtor_calls.load(), fibers);
  EXPECT_EQ(async_fls_delete(stable_key), ASYNC_OK);
}

}  // namespace
