// SPDX-License-Identifier: MIT
// channel_ring_test.cpp: the lock-free buffer of a shared channel
// (core/channel_ring.h): FIFO over many laps for every kind of capacity
// (1 included, where a naive sequence number cannot tell "full" from "free"),
// the lock holder's exclusion of lock-free operations, an unbuffered
// channel's offer word, and a stress of
// lock-free senders and receivers racing a lock holder that takes messages
// too: nothing lost, duplicated or reordered. Run under TSan too.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/channel_ring.h"
#include "gtest/gtest.h"

namespace {

using async::detail::channel_ring;
using async::detail::ring_count;
using async::detail::ring_delete;
using async::detail::ring_hold;
using async::detail::ring_new;
using async::detail::ring_pop_held;
using async::detail::ring_push_held;
using async::detail::ring_release;
using async::detail::ring_try;
using async::detail::ring_try_pop;
using async::detail::ring_try_push;

void* msg(std::uintptr_t v) { return reinterpret_cast<void*>(v); }
std::uintptr_t val(void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// A released, empty ring.
channel_ring* empty_ring(std::size_t capacity) {
  channel_ring* r = ring_new(capacity, 0, [](std::size_t) { return msg(0); });
  if (r != nullptr) ring_release(*r);
  return r;
}

class RingCapacity : public ::testing::TestWithParam<std::size_t> {};

TEST_P(RingCapacity, FillsToItsCapacityAndDrainsInOrderLapAfterLap) {
  const std::size_t cap = GetParam();
  channel_ring* r = empty_ring(cap);
  ASSERT_NE(r, nullptr);
  std::uintptr_t next_in = 1, next_out = 1;
  for (int lap = 0; lap < 5; ++lap) {
    for (std::size_t i = 0; i < cap; ++i) ASSERT_EQ(ring_try_push(*r, msg(next_in++)), ring_try::done);
    EXPECT_EQ(ring_try_push(*r, msg(999)), ring_try::busy) << "full at " << cap;
    EXPECT_EQ(ring_count(*r), cap);
    // Half out and half in again, so the next lap starts mid-ring.
    for (std::size_t i = 0; i < (cap + 1) / 2; ++i) {
      void* m = nullptr;
      ASSERT_EQ(ring_try_pop(*r, &m), ring_try::done);
      EXPECT_EQ(val(m), next_out++);
    }
    for (std::size_t i = 0; i < (cap + 1) / 2; ++i) ASSERT_EQ(ring_try_push(*r, msg(next_in++)), ring_try::done);
    for (std::size_t i = 0; i < cap; ++i) {
      void* m = nullptr;
      ASSERT_EQ(ring_try_pop(*r, &m), ring_try::done);
      EXPECT_EQ(val(m), next_out++);
    }
    void* m = nullptr;
    EXPECT_EQ(ring_try_pop(*r, &m), ring_try::busy) << "empty at " << cap;
    EXPECT_EQ(ring_count(*r), 0u);
  }
  ring_delete(r);
}

INSTANTIATE_TEST_SUITE_P(Capacities, RingCapacity, ::testing::Values(1, 2, 3, 7, 64, 1000, 1024));

TEST(ChannelRing, StartsWithTheBufferedMessagesOldestFirstAndHeld) {
  const std::uintptr_t buffered[3] = {10, 11, 12};
  channel_ring* r = ring_new(5, 3, [&](std::size_t i) { return msg(buffered[i]); });
  ASSERT_NE(r, nullptr);
  void* m = nullptr;
  EXPECT_EQ(ring_try_pop(*r, &m), ring_try::held);  // made under the channel's lock
  EXPECT_EQ(ring_count(*r), 3u);
  ring_release(*r);
  for (std::uintptr_t want : {10u, 11u, 12u}) {
    ASSERT_EQ(ring_try_pop(*r, &m), ring_try::done);
    EXPECT_EQ(val(m), want);
  }
  ring_delete(r);
}

TEST(ChannelRing, AHeldRingRefusesLockFreeOperationsAndTheHolderSeesExactCounts) {
  channel_ring* r = empty_ring(4);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(ring_try_push(*r, msg(1)), ring_try::done);
  ring_hold(*r);
  ring_hold(*r);  // idempotent: a holder that finds it held by a waiter's earlier hold
  void* m = nullptr;
  EXPECT_EQ(ring_try_push(*r, msg(2)), ring_try::held);
  EXPECT_EQ(ring_try_pop(*r, &m), ring_try::held);
  EXPECT_EQ(ring_count(*r), 1u);
  ring_push_held(*r, msg(2));
  ring_push_held(*r, msg(3));
  EXPECT_EQ(ring_count(*r), 3u);
  EXPECT_EQ(val(ring_pop_held(*r)), 1u);
  EXPECT_EQ(ring_count(*r), 2u);
  ring_release(*r);
  ASSERT_EQ(ring_try_push(*r, msg(4)), ring_try::done);
  for (std::uintptr_t want : {2u, 3u, 4u}) {
    ASSERT_EQ(ring_try_pop(*r, &m), ring_try::done);
    EXPECT_EQ(val(m), want);
  }
  ring_delete(r);
}

// Both ways of placing an offer: one write where the CPU has a pair
// compare-exchange (the default here on x86_64), three steps elsewhere
// (and under TSan); they share the word, so they may alternate.
using placer = ring_try (*)(channel_ring&, void*, std::uint64_t&);
class ChannelOffer : public ::testing::TestWithParam<std::pair<placer, placer>> {};

TEST_P(ChannelOffer, AnUnbufferedRingCarriesOneOfferAtATimeAndItsHolderAnswersIt) {
  using async::detail::offer_answer;
  using async::detail::offer_refused;
  using async::detail::offer_try_take;
  namespace ow = async::detail::offer_word;
  const placer place_first = GetParam().first, place_next = GetParam().second;
  channel_ring* r = empty_ring(0);
  ASSERT_NE(r, nullptr);
  const auto state = [r] { return ow::state_of(r->offer.word.load()); };
  void* m = nullptr;
  EXPECT_EQ(offer_try_take(*r, &m), ring_try::busy);  // nothing on offer
  std::uint64_t g1 = 99, g2 = 99;
  ASSERT_EQ(place_first(*r, msg(1), g1), ring_try::done);
  EXPECT_EQ(g1, 1u);
  EXPECT_EQ(r->offer.word.load(), ow::make(1, ow::out));
  EXPECT_EQ(place_next(*r, msg(2), g2), ring_try::busy);  // one at a time
  ASSERT_EQ(offer_try_take(*r, &m), ring_try::done);
  EXPECT_EQ(val(m), 1u);
  EXPECT_EQ(r->offer.word.load(), ow::make(1, ow::taken));
  EXPECT_FALSE(offer_refused(r->offer.word.load(), g1));       // its sender's answer
  EXPECT_EQ(offer_try_take(*r, &m), ring_try::busy);           // answered: not out any more
  // A taken word is free for the next offer, which has the next generation:
  // a taker that read the first one's word cannot take the second with it,
  // and the first one's sender, looking late, still reads its answer.
  ASSERT_EQ(place_next(*r, msg(2), g2), ring_try::done);
  EXPECT_EQ(g2, 2u);
  std::uint64_t stale = ow::make(g1, ow::out);
  EXPECT_FALSE(r->offer.word.compare_exchange_strong(stale, ow::make(g1, ow::taken)));
  EXPECT_NE(r->offer.word.load(), ow::make(g1, ow::out));
  EXPECT_FALSE(offer_refused(r->offer.word.load(), g1));
  // Held: nothing is placed or taken lock-free; the holder answers the offer
  // out (refused, as a close does), keeping the held bit.
  ring_hold(*r);
  EXPECT_EQ(offer_try_take(*r, &m), ring_try::held);
  std::uint64_t g3 = 0;
  EXPECT_EQ(place_first(*r, msg(3), g3), ring_try::held);
  EXPECT_EQ(place_next(*r, msg(3), g3), ring_try::held);
  m = nullptr;
  ASSERT_TRUE(offer_answer(*r, ow::refused, &m));
  EXPECT_EQ(val(m), 2u);
  EXPECT_EQ(state(), ow::refused);
  EXPECT_EQ(r->offer.word.load() & ow::held, ow::held);
  EXPECT_TRUE(offer_refused(r->offer.word.load() & ~ow::held, g2));
  EXPECT_FALSE(offer_refused(r->offer.word.load() & ~ow::held, g1));  // the older offer was taken
  EXPECT_FALSE(offer_answer(*r, ow::taken, &m));  // none out now
  ring_delete(r);
  // A refused word is never free again (a close keeps the ring held); a
  // word taken back is, and the next offer still gets a new generation.
  r = empty_ring(0);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(place_first(*r, msg(4), g1), ring_try::done);
  std::uint64_t back = ow::make(g1, ow::out);
  ASSERT_TRUE(r->offer.word.compare_exchange_strong(back, ow::make(g1, ow::free_slot)));  // as send_by_offer
  ASSERT_EQ(place_next(*r, msg(5), g2), ring_try::done);
  EXPECT_EQ(g2, g1 + 1);
  ASSERT_EQ(offer_try_take(*r, &m), ring_try::done);
  EXPECT_EQ(val(m), 5u);
  ring_delete(r);
}

INSTANTIATE_TEST_SUITE_P(
    Placements, ChannelOffer,
    ::testing::Values(std::make_pair(&async::detail::offer_try_place, &async::detail::offer_try_place),
                      std::make_pair(&async::detail::offer_try_place_in_steps, &async::detail::offer_try_place_in_steps),
                      std::make_pair(&async::detail::offer_try_place, &async::detail::offer_try_place_in_steps),
                      std::make_pair(&async::detail::offer_try_place_in_steps, &async::detail::offer_try_place)));

// Two lock-free senders and one lock-free receiver, and a "lock holder"
// thread that holds the ring now and then: while held, the count must not
// move (every position counted is done or finishing), and the holder takes
// the oldest message itself. Every message is taken exactly once, and each
// taker sees each sender's messages in order.
TEST(ChannelRing, LockFreeSidesRacingAHolderLoseDuplicateAndReorderNothing) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr std::uint64_t per_sender = 20000;
#else
  constexpr std::uint64_t per_sender = 400000;
#endif
  channel_ring* r = empty_ring(5);  // small and not a power of two: full and empty often, % positions
  ASSERT_NE(r, nullptr);
  std::mutex lock;  // the channel's lock: one holder at a time
  std::atomic<int> sending{2};
  std::vector<std::uint8_t> taken[2];
  for (auto& t : taken) t.assign(per_sender + 1, 0);
  std::atomic<bool> ordered{true}, count_moved{false};
  struct last_seen {
    std::uint64_t of[2] = {0, 0};
  };
  std::mutex taken_lock;
  auto record = [&](last_seen& last, void* m) {
    const std::uintptr_t s = val(m) >> 32, i = val(m) & 0xffffffffu;
    if (i <= last.of[s]) ordered = false;
    last.of[s] = i;
    std::lock_guard<std::mutex> g(taken_lock);
    ++taken[s][i];
  };
  auto sender = [&](std::uintptr_t s) {
    for (std::uint64_t i = 1; i <= per_sender;) {
      if (ring_try_push(*r, msg(s << 32 | i)) == ring_try::done) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
    sending.fetch_sub(1);
  };
  std::atomic<bool> done{false};
  std::thread receiver([&] {
    last_seen last;
    void* m = nullptr;
    while (!done.load()) {
      if (ring_try_pop(*r, &m) == ring_try::done) record(last, m);
    }
  });
  std::thread holder([&] {
    last_seen last;
    while (!done.load()) {
      std::lock_guard<std::mutex> g(lock);
      ring_hold(*r);
      const std::uint64_t n = ring_count(*r);
      for (int spin = 0; spin < 100; ++spin) std::atomic_signal_fence(std::memory_order_seq_cst);
      if (ring_count(*r) != n) count_moved = true;
      if (n != 0) record(last, ring_pop_held(*r));
      ring_release(*r);
      std::this_thread::yield();
    }
  });
  std::thread s0(sender, 0), s1(sender, 1);
  s0.join();
  s1.join();
  // Drain what is left, then stop the takers.
  for (;;) {
    std::lock_guard<std::mutex> g(lock);
    ring_hold(*r);
    const bool empty = ring_count(*r) == 0;
    ring_release(*r);
    if (empty) break;
  }
  done = true;
  receiver.join();
  holder.join();
  EXPECT_TRUE(ordered.load());
  EXPECT_FALSE(count_moved.load());
  for (int s = 0; s < 2; ++s) {
    std::uint64_t missing = 0, twice = 0;
    for (std::uint64_t i = 1; i <= per_sender; ++i) {
      missing += taken[s][i] == 0;
      twice += taken[s][i] > 1;
    }
    EXPECT_EQ(missing, 0u) << "sender " << s;
    EXPECT_EQ(twice, 0u) << "sender " << s;
  }
  ring_delete(r);
}

// Unbuffered, raced: three senders that place offers both ways (one write
// and three steps, alternating), wait a little for an answer and take the
// offer back as send_by_offer does (lock-free, or under the lock when the
// word is held), two lock-free receivers, and a holder that holds the word
// now and then, answers an offer itself, and part-way closes the channel
// (refusing the offer out). Each sender's answer must be the truth: a
// message whose sender heard "taken" was received exactly once, one whose
// sender heard "refused" (or found the channel closed) never.
TEST(ChannelOffer, RacingSendersReceiversAndAHolderAnswerEverySenderTruly) {
  using async::detail::offer_answer;
  using async::detail::offer_refused;
  using async::detail::offer_try_place;
  using async::detail::offer_try_place_in_steps;
  using async::detail::offer_try_take;
  namespace ow = async::detail::offer_word;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr std::uint64_t per_sender = 10000;
#else
  constexpr std::uint64_t per_sender = 100000;
#endif
  constexpr int senders = 3;
  constexpr std::uint64_t total = senders * per_sender;
  channel_ring* r = empty_ring(0);
  ASSERT_NE(r, nullptr);
  std::mutex lock;      // the channel's lock
  bool closed = false;  // under `lock`
  enum answer : std::uint8_t { none, ok, eclosed };
  std::vector<answer> answers(total + 1, none);     // each slot written by its sender only
  std::vector<std::atomic<int>> received(total + 1);  // takers of each message
  std::atomic<std::uint64_t> answered{0};
  std::atomic<int> sending{senders};
  const auto word = [r] { return r->offer.word.load(std::memory_order_acquire) & ~ow::held; };
  const auto release_unless_closed = [&] {
    if (!closed) ring_release(*r);
  };
  auto sender = [&](std::uint64_t id) {
    for (std::uint64_t i = 0; i < per_sender; ++i) {
      const std::uint64_t v = id * per_sender + i + 1;
      answer a = none;
      while (a == none) {
        std::uint64_t gen = 0;
        const ring_try placed = (i + id) % 2 == 0 ? offer_try_place(*r, msg(v), gen)
                                                  : offer_try_place_in_steps(*r, msg(v), gen);
        if (placed != ring_try::done) {
          std::lock_guard<std::mutex> g(lock);  // as send_by_offer: on to the lock path
          if (closed) a = eclosed;
          continue;
        }
        const std::uint64_t offered = ow::make(gen, ow::out);
        for (std::uint64_t k = 0; k < v % 7 * 20 && word() == offered; ++k) async::detail::cpu_relax();
        if (word() == offered) {
          std::uint64_t w = offered;
          if (r->offer.word.compare_exchange_strong(w, ow::make(gen, ow::free_slot), std::memory_order_acq_rel)) {
            continue;  // taken back: try again
          }
          if ((w & ~ow::held) == offered) {
            std::lock_guard<std::mutex> g(lock);
            ring_hold(*r);
            if (word() == offered) {  // taken back under the lock
              r->offer.word.store(ow::make(gen, ow::free_slot) | ow::held, std::memory_order_release);
              if (closed) a = eclosed;
              release_unless_closed();
              continue;
            }
            release_unless_closed();
          }
        }
        a = offer_refused(word(), gen) ? eclosed : ok;
      }
      answers[v] = a;
      answered.fetch_add(1);
    }
    sending.fetch_sub(1);
  };
  auto receiver = [&] {
    void* m = nullptr;
    while (sending.load() != 0) {
      if (offer_try_take(*r, &m) == ring_try::done) received[val(m)].fetch_add(1);
      async::detail::cpu_relax();
    }
  };
  std::thread holder([&] {
    for (unsigned n = 1; sending.load() != 0; ++n) {
      {
        std::lock_guard<std::mutex> g(lock);
        ring_hold(*r);
        void* m = nullptr;
        if (n % 3 == 0 && offer_answer(*r, ow::taken, &m)) received[val(m)].fetch_add(1);
        if (!closed && answered.load() >= total / 2) {
          closed = true;
          (void)offer_answer(*r, ow::refused, nullptr);
        }
        for (int k = 0; k < 50; ++k) async::detail::cpu_relax();
        release_unless_closed();
      }
      for (int k = 0; k < 50; ++k) async::detail::cpu_relax();
    }
  });
  std::vector<std::thread> threads;
  for (std::uint64_t id = 0; id < senders; ++id) threads.emplace_back(sender, id);
  threads.emplace_back(receiver);
  threads.emplace_back(receiver);
  for (auto& t : threads) t.join();
  holder.join();
  EXPECT_TRUE(closed);
  std::uint64_t oks = 0, refusals = 0, wrong = 0;
  for (std::uint64_t v = 1; v <= total; ++v) {
    const int n = received[v].load();
    if (answers[v] == ok) {
      ++oks;
      wrong += n != 1;
    } else {
      ++refusals;
      wrong += answers[v] != eclosed || n != 0;
    }
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(oks, 0u);
  EXPECT_GT(refusals, 0u);
  ring_delete(r);
}

}  // namespace
