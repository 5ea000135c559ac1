// SPDX-License-Identifier: MIT
// record_reuse_test.cpp: free records are reused oldest freed first
// (include/async.h, async_fiber_handle_t), through the batches the owner
// takes from the shared free list (src/core/fiber.cpp, "records"): every
// spawn's slot is checked against a FIFO model of the free records, fed
// with the order in which fibers actually end.
#include <cstdint>
#include <deque>
#include <thread>

#include "support/runtime_fixture.h"

namespace {

constexpr std::size_t kCapacity = 256;  // large enough for batches of 32 (docs/design.md)
constexpr std::size_t kCacheMax = 32;

class RecordReuseTest : public async_test::RuntimeTest {
 protected:
  void SetUp() override {
    async_test::RuntimeTest::SetUp();
    cfg_.task_capacity = kCapacity;
    for (std::uint32_t s = 0; s < kCapacity; ++s) free_model_.push_back(s);
  }

  // A fiber that notes its own slot when it ends.
  static void note_end(void* self) { static_cast<RecordReuseTest*>(self)->ended_.push_back(async_self().slot); }

  // A spawn from this (the owning) thread, outside fibers: it must take the
  // record the model says was freed longest ago.
  void spawn_expecting_oldest() {
    const async_fiber_handle_t h = async_spawn_with(runtime(), note_end, this);
    ASSERT_EQ(h.status, ASYNC_OK);
    take_expected(h);
  }

  // The same from another thread (a foreign spawn); its status. It takes
  // the oldest record the owner has shared, which may come after the up to
  // 2 x 32 in the owner's own cache and recent frees (docs/design.md,
  // "Spawning from another thread").
  async_status_t spawn_from_another_thread() {
    async_fiber_handle_t h{};
    async_runtime_t* rt = runtime();
    std::thread([&] { h = async_spawn_with(rt, note_end, this); }).join();
    if (h.status != ASYNC_OK) return h.status;
    std::size_t position = 0;
    while (position < free_model_.size() && free_model_[position] != h.slot) ++position;
    EXPECT_LE(position, 2 * kCacheMax) << "foreign spawn took slot " << h.slot;
    if (position < free_model_.size()) free_model_.erase(free_model_.begin() + static_cast<std::ptrdiff_t>(position));
    return h.status;
  }

  // Runs the runtime until idle; the records of the fibers that ended are
  // free again, newest last, in the order they ended.
  void run_and_free() {
    ASSERT_EQ(run(), ASYNC_OK);
    for (std::uint32_t s : ended_) free_model_.push_back(s);
    ended_.clear();
  }

 private:
  void take_expected(const async_fiber_handle_t& h) {
    ASSERT_FALSE(free_model_.empty());
    EXPECT_EQ(h.slot, free_model_.front()) << "spawn " << spawns_;
    free_model_.pop_front();
    ++spawns_;
  }

  std::deque<std::uint32_t> free_model_;
  std::vector<std::uint32_t> ended_;
  int spawns_ = 0;
};

TEST_F(RecordReuseTest, OneAtATimeTheTableCyclesInFreeOrder) {
  for (std::size_t i = 0; i < 3 * kCapacity + 17; ++i) {
    spawn_expecting_oldest();
    run_and_free();
  }
}

TEST_F(RecordReuseTest, BurstsOfEveryLengthKeepTheOrder) {
  // Bursts of 1 to 40 spawns before each run: refills of the owner's cache
  // fall mid-burst, and its recent frees are flushed in batches of every size.
  for (int round = 0; round < 3; ++round) {
    for (int burst = 1; burst <= 40; ++burst) {
      for (int i = 0; i < burst; ++i) spawn_expecting_oldest();
      run_and_free();
    }
  }
}

TEST_F(RecordReuseTest, AForeignSpawnTakingABatchsFirstRecordKeepsTheOrder) {
  // The foreign spawn takes the first record of the shared list's first
  // batch, so the owner's next refills cannot cut whole batches: each walks.
  ASSERT_EQ(spawn_from_another_thread(), ASYNC_OK);
  for (std::size_t i = 0; i < 2 * kCapacity + 5; ++i) {
    spawn_expecting_oldest();
    if (i % 50 == 0) {
      ASSERT_EQ(spawn_from_another_thread(), ASYNC_OK);
    }
    run_and_free();
  }
}

TEST_F(RecordReuseTest, RecordsTheOwnerGivesBackToStarvedForeignSpawnsComeFirst) {
  // 225 fibers spawned: the shared list is empty and the owner's cache holds
  // the last 31 free records. A foreign spawn is refused at the call...
  for (int i = 0; i < 225; ++i) spawn_expecting_oldest();
  EXPECT_EQ(spawn_from_another_thread(), ASYNC_EFULL);
  // ...and the owner gives its cache back (in front: it holds the oldest)
  // at its next idle moment, here the end of the run.
  run_and_free();
  ASSERT_EQ(spawn_from_another_thread(), ASYNC_OK);
  for (std::size_t i = 0; i < kCapacity + 40; ++i) {
    spawn_expecting_oldest();
    run_and_free();
  }
}

}  // namespace
