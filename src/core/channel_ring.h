// SPDX-License-Identifier: MIT
// channel_ring.h: the buffer of a shared channel (one that fibers of several
// threads use), which senders and receivers of any thread fill and drain
// without the channel's lock while nobody waits on it.
//
// It is a bounded ring of positions (a sequence number per slot, as in
// D. Vyukov's bounded MPMC queue): the sender that moves `tail` from p to
// p + 1 owns slot p % capacity until it stores seq = 2p + 1 (full); the
// receiver that moves `head` from p to p + 1 owns it until it stores
// seq = 2(p + capacity) (free for that position). Doubling keeps "full at p"
// and "free for p + 1" apart when the capacity is 1.
// Senders write only `tail`'s line and receivers only `head`'s, so a stream
// between two threads moves slot lines, not a lock, between their caches.
//
// The channel's lock still decides everything else (parked waiters, select,
// close). Its holder sets `ring_held` in both `tail` and `head` (an atomic
// read-modify-write, ordered with every lock-free move of them): from then
// on no lock-free operation can move a position, so the holder sees exact
// counts, and each position it counts is either done or finishes within a
// few instructions (its owner moved the position before the bit was set);
// the holder waits for those few instructions. The bits stay set while
// anyone is parked on the channel or once it is closed, so every operation
// then goes through the lock and meets the waiters in FIFO order, and no
// wake is lost: a lock-free operation either moved its position before the
// holder looked (and the holder counts it) or fails and takes the lock.
//
// An unbuffered channel has no slots; its ring carries one offer slot
// instead (`offer`: a word and its message), through which a sender and a
// receiver that both spin meet without the lock (offer_word below). A bit of
// it holds it.
// docs/design.md, "Channels across threads", has the whole argument.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../arch/cpu_relax.h"
#include "../arch/pair_cas.h"
#include "alloc.h"

namespace async::detail {

struct ring_slot {
  std::atomic<std::uint64_t> seq;  // 2p: free for the sender of position p; 2p + 1: holds position p's message
  void* msg;
};

// Set in `tail` and `head` while the channel's lock holder owns the positions.
inline constexpr std::uint64_t ring_held = std::uint64_t{1} << 63;
// An unbuffered channel's offer word: a generation (bits 4-63, one per
// offer, so a stale compare-exchange fails), a state (bits 1-3) and the
// held bit (bit 0). A sender moves free or taken -> out with the next
// generation and its message in one write (pair_cas.h); where that is
// missing, in three steps: free or taken -> claimed with the next
// generation (the slot is its own), the message, claimed -> out. A receiver
// reads the message and moves out -> taken (or the lock holder: taken, or
// refused by a close). The sender leaves once the word is no longer its
// offer out, and writes nothing more: a taken word is free for the next
// offer (the sender's own write would be a line move between its answer
// and its next call). A sender taking its offer back moves out -> free,
// keeping the generation. Every move keeps the held bit as it finds it: a
// holder may set or clear it at any time.
namespace offer_word {
inline constexpr std::uint64_t held = 1;
enum : std::uint64_t { free_slot = 0, claimed = 1, out = 2, taken = 3, refused = 4 };
inline constexpr std::uint64_t state_of(std::uint64_t w) noexcept { return (w >> 1) & 7; }
inline constexpr std::uint64_t gen_of(std::uint64_t w) noexcept { return w >> 4; }
inline constexpr std::uint64_t make(std::uint64_t gen, std::uint64_t state) noexcept { return gen << 4 | state << 1; }
}  // namespace offer_word

struct channel_ring {
  alignas(64) std::atomic<std::uint64_t> tail;  // the next position to fill, | ring_held
  alignas(64) std::atomic<std::uint64_t> head;  // the next position to take, | ring_held
  // Capacity 0: the offer slot, its word (offer_word) and its message.
  alignas(64) word_and_pointer offer;
  alignas(64) ring_slot* slots;                 // read-only from here on
  std::uint64_t capacity;
  std::uint64_t mask;  // capacity - 1 when capacity is a power of two, else 0 (then: %)
  bool pow2;
};

inline ring_slot& ring_slot_at(const channel_ring& r, std::uint64_t pos) noexcept {
  return r.slots[r.pow2 ? (pos & r.mask) : (pos % r.capacity)];
}

// What a lock-free attempt did: `done`; `busy`: the ring is full (for a
// send) or empty (for a receive), or the slot's other side is not done yet;
// `held`: the lock holder owns the positions (someone waits, or the channel
// is closed). Either way but `done`, the caller may take the channel's lock.
enum class ring_try { done, busy, held };

// Lock-free: buffers `msg`.
inline ring_try ring_try_push(channel_ring& r, void* msg) noexcept {
  std::uint64_t pos = r.tail.load(std::memory_order_relaxed);
  for (;;) {
    if ((pos & ring_held) != 0) return ring_try::held;
    ring_slot& s = ring_slot_at(r, pos);
    const auto lag = static_cast<std::int64_t>(s.seq.load(std::memory_order_acquire) - 2 * pos);
    if (lag < 0) return ring_try::busy;  // a lap behind: full (or its reader is not done)
    if (lag > 0) {              // another sender took `pos`: look again
      pos = r.tail.load(std::memory_order_relaxed);
      continue;
    }
    if (r.tail.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
      s.msg = msg;
      s.seq.store(2 * pos + 1, std::memory_order_release);
      return ring_try::done;
    }
  }
}

// Lock-free: takes the oldest message.
inline ring_try ring_try_pop(channel_ring& r, void** msg) noexcept {
  std::uint64_t pos = r.head.load(std::memory_order_relaxed);
  for (;;) {
    if ((pos & ring_held) != 0) return ring_try::held;
    ring_slot& s = ring_slot_at(r, pos);
    const auto lag = static_cast<std::int64_t>(s.seq.load(std::memory_order_acquire) - (2 * pos + 1));
    if (lag < 0) return ring_try::busy;  // empty (or its sender is not done)
    if (lag > 0) {
      pos = r.head.load(std::memory_order_relaxed);
      continue;
    }
    if (r.head.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
      *msg = s.msg;
      s.seq.store(2 * (pos + r.capacity), std::memory_order_release);
      return ring_try::done;
    }
  }
}

// Lock-free, capacity 0: takes the message on offer, if any.
inline ring_try offer_try_take(channel_ring& r, void** msg) noexcept {
  using namespace offer_word;
  std::uint64_t w = r.offer.word.load(std::memory_order_acquire);
  for (;;) {
    if ((w & held) != 0) return ring_try::held;
    if (state_of(w) != out) return ring_try::busy;
    // Read before the claim: the sender leaves once the word says taken.
    // A message read for a generation that is gone fails the exchange.
    void* m = r.offer.pointer.load(std::memory_order_relaxed);
    if (r.offer.word.compare_exchange_weak(w, make(gen_of(w), taken), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      *msg = m;
      return ring_try::done;
    }
  }
}

// Whether an offer may be placed in word `w`: done when it is free (or its
// last offer taken) and not held.
inline ring_try offer_placeable(std::uint64_t w) noexcept {
  using namespace offer_word;
  if ((w & held) != 0) return ring_try::held;
  return state_of(w) == free_slot || state_of(w) == taken ? ring_try::done : ring_try::busy;
}

// Lock-free, capacity 0: puts `msg` on offer in three steps (claim, message,
// out). What offer_try_place does without pair_cas.
inline ring_try offer_try_place_in_steps(channel_ring& r, void* msg, std::uint64_t& gen) noexcept {
  using namespace offer_word;
  std::uint64_t w = r.offer.word.load(std::memory_order_relaxed);
  if (const ring_try from = offer_placeable(w); from != ring_try::done) return from;
  const std::uint64_t next = gen_of(w) + 1;
  if (!r.offer.word.compare_exchange_strong(w, make(next, claimed), std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
    return (w & held) != 0 ? ring_try::held : ring_try::busy;
  }
  gen = next;
  r.offer.pointer.store(msg, std::memory_order_relaxed);
  w = make(gen, claimed);
  while (!r.offer.word.compare_exchange_weak(w, make(gen, out) | (w & held), std::memory_order_release,
                                             std::memory_order_relaxed)) {
  }
  return ring_try::done;
}

// Lock-free, capacity 0: puts `msg` on offer when the slot is free (or its
// last offer taken); `gen` is then the offer's generation.
inline ring_try offer_try_place(channel_ring& r, void* msg, std::uint64_t& gen) noexcept {
#if ASYNC_HAVE_PAIR_CAS
  if (pair_cas_supported) [[likely]] {  // one write: free or taken -> out, with the message
    using namespace offer_word;
    std::uint64_t w = r.offer.word.load(std::memory_order_relaxed);
    if (const ring_try from = offer_placeable(w); from != ring_try::done) return from;
    const std::uint64_t next = gen_of(w) + 1;
    void* seen = r.offer.pointer.load(std::memory_order_relaxed);
    if (!pair_cas(r.offer, w, seen, make(next, out), msg)) return (w & held) != 0 ? ring_try::held : ring_try::busy;
    gen = next;
    return ring_try::done;
  }
#endif
  return offer_try_place_in_steps(r, msg, gen);
}

// The answer to offer `gen`, once the word is no longer that offer out:
// taken (or taken and followed by later offers), or refused by a close.
inline bool offer_refused(std::uint64_t word, std::uint64_t gen) noexcept {
  using namespace offer_word;
  return gen_of(word) == gen && state_of(word) == refused;
}

// --- under the channel's lock --------------------------------------------------

// Takes the positions (or the offer word) from the lock-free operations
// (idempotent).
inline void ring_hold(channel_ring& r) noexcept {
  if (r.capacity == 0) {
    r.offer.word.fetch_or(offer_word::held, std::memory_order_acq_rel);
    return;
  }
  r.tail.fetch_or(ring_held, std::memory_order_acq_rel);
  r.head.fetch_or(ring_held, std::memory_order_acq_rel);
}

// Gives them back: lock-free operations may run again.
inline void ring_release(channel_ring& r) noexcept {
  if (r.capacity == 0) {
    r.offer.word.fetch_and(~offer_word::held, std::memory_order_acq_rel);  // a sender may move it meanwhile
    return;
  }
  r.tail.store(r.tail.load(std::memory_order_relaxed) & ~ring_held, std::memory_order_release);
  r.head.store(r.head.load(std::memory_order_relaxed) & ~ring_held, std::memory_order_release);
}

// Messages buffered, counting those whose lock-free sender is still writing.
inline std::uint64_t ring_count(const channel_ring& r) noexcept {
  return (r.tail.load(std::memory_order_relaxed) & ~ring_held) - (r.head.load(std::memory_order_relaxed) & ~ring_held);
}

// Waits for the lock-free operation that owns `s` to finish (it already moved
// its position, so only a few instructions are left, unless its thread was
// preempted: then the CPU is given up).
inline void ring_await_seq(const ring_slot& s, std::uint64_t seq) noexcept {
  for (unsigned i = 0; s.seq.load(std::memory_order_acquire) != seq; ++i) {
    cpu_relax();
    if (i >= 64) sched_yield();
  }
}

// Held, with ring_count(r) < capacity.
inline void ring_push_held(channel_ring& r, void* msg) noexcept {
  const std::uint64_t pos = r.tail.load(std::memory_order_relaxed) & ~ring_held;
  ring_slot& s = ring_slot_at(r, pos);
  ring_await_seq(s, 2 * pos);
  s.msg = msg;
  s.seq.store(2 * pos + 1, std::memory_order_release);
  r.tail.store((pos + 1) | ring_held, std::memory_order_relaxed);
}

// Held, with ring_count(r) > 0.
inline void* ring_pop_held(channel_ring& r) noexcept {
  const std::uint64_t pos = r.head.load(std::memory_order_relaxed) & ~ring_held;
  ring_slot& s = ring_slot_at(r, pos);
  ring_await_seq(s, 2 * pos + 1);
  void* msg = s.msg;
  s.seq.store(2 * (pos + r.capacity), std::memory_order_release);
  r.head.store((pos + 1) | ring_held, std::memory_order_relaxed);
  return msg;
}

// Held, capacity 0: answers the offer out, if any, with `state` (taken: its
// message goes to *msg; refused: the channel was closed). False when none is out.
inline bool offer_answer(channel_ring& r, std::uint64_t state, void** msg) noexcept {
  using namespace offer_word;
  std::uint64_t w = r.offer.word.load(std::memory_order_acquire);
  // Held: only the offer's sender moves the word meanwhile, and not while it is out.
  if (state_of(w) != out) return false;
  if (msg != nullptr) *msg = r.offer.pointer.load(std::memory_order_relaxed);
  r.offer.word.store(make(gen_of(w), state) | held, std::memory_order_release);
  return true;
}

// A held ring of `capacity` slots holding `count` messages, the oldest first,
// read from `take(i)` (capacity 0: no slots, an offer word); nullptr when out
// of memory.
template <class Take>
channel_ring* ring_new(std::size_t capacity, std::size_t count, Take take) noexcept {
  auto* r = heap_new<channel_ring>();
  if (r == nullptr) return nullptr;
  r->offer.word.store(offer_word::held, std::memory_order_relaxed);
  if (capacity == 0) return r;  // an offer word only
  r->slots = new_array<ring_slot>(capacity);
  if (r->slots == nullptr) {
    heap_delete(r);
    return nullptr;
  }
  r->capacity = capacity;
  r->pow2 = (capacity & (capacity - 1)) == 0;
  r->mask = r->pow2 ? capacity - 1 : 0;
  for (std::size_t i = 0; i < capacity; ++i) {
    ring_slot& s = r->slots[i];
    if (i < count) {
      s.msg = take(i);
      s.seq.store(2 * i + 1, std::memory_order_relaxed);
    } else {
      s.seq.store(2 * i, std::memory_order_relaxed);
    }
  }
  r->head.store(ring_held, std::memory_order_relaxed);
  r->tail.store(count | ring_held, std::memory_order_relaxed);
  return r;
}

inline void ring_delete(channel_ring* r) noexcept {
  if (r == nullptr) return;
  delete_array(r->slots, r->capacity);
  heap_delete(r);
}

}  // namespace async::detail
