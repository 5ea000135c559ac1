// SPDX-License-Identifier: MIT
// timer_heap.h: a binary min-heap of armed timers keyed by (deadline,
// sequence), so timers that expire together fire in deadline order, then in
// the order they were set (docs/design.md, order rule 3). Each task has at
// most one armed timer.
//
// Disarming is lazy. Most timers never fire: a server arms a read timeout for
// every request and disarms it when the request comes, and removing an entry
// from the middle of a heap sifts through every level, reading a task record
// at each step (242 instructions per request in examples/http_server at 500
// connections, 14 % of its user instructions). Here a disarm only clears the task's
// `timer_armed`; its entry stays, stale, until it reaches the top (where
// top() and pop() drop it) or until stale entries outnumber live ones, when
// one pass drops them all and rebuilds the heap (O(n) for at least n/2
// entries: O(1) per disarm). Entries carry their own keys, so sifting reads
// no task record. The order timers fire in is the same as with eager
// removal: it depends only on the live entries' keys, which are unique.
//
// Storage is allocated once, 2 x (tasks + 1) entries (timer_heap::init says
// why that is enough), and left untouched until used.
#pragma once

#include <cstddef>
#include <cstdint>

#include "task.h"

namespace async::detail {

struct timer_entry {
  std::uint64_t deadline_ns;
  std::uint64_t seq;  // the arm's timer_seq: the entry is live while its task's matches
  task* t;
  // Left uninitialised: new_array then writes nothing, and the pages of a
  // heap that is never used fill no memory.
  timer_entry() noexcept {}  // NOLINT(modernize-use-equals-default): = default would zero them
  timer_entry(std::uint64_t d, std::uint64_t s, task* task) noexcept : deadline_ns(d), seq(s), t(task) {}
};

class timer_heap {
 public:
  // Room for the timers of `tasks` tasks.
  bool init(std::size_t tasks) noexcept;
  void destroy() noexcept;

  // Armed timers (stale entries are not counted).
  bool empty() const noexcept { return live_ == 0; }
  std::size_t size() const noexcept { return live_; }
  // Entries, stale ones included, and the room for them (for tests).
  std::size_t entries() const noexcept { return size_; }
  std::size_t room() const noexcept { return capacity_; }
  // The task whose timer expires first (the heap must not be empty).
  task* top() noexcept {
    drop_stale_top();
    return items_[0].t;
  }

  // Arms t's timer at deadline_ns; t must not be armed.
  void arm(task* t, std::uint64_t deadline_ns) noexcept;
  // Disarms t's timer if armed.
  void disarm(task* t) noexcept {
    if (!t->timer_armed) return;
    t->timer_armed = false;
    if (--live_ == 0) {
      size_ = 0;  // every entry left is stale
    } else if (size_ - live_ > live_) {
      compact();
    }
  }
  // Removes the earliest timer and returns its task, disarmed (the heap must
  // not be empty).
  task* pop() noexcept;

 private:
  static bool before(const timer_entry& a, const timer_entry& b) noexcept {
    return a.deadline_ns != b.deadline_ns ? a.deadline_ns < b.deadline_ns : a.seq < b.seq;
  }
  static bool stale(const timer_entry& e) noexcept { return !e.t->timer_armed || e.t->timer_seq != e.seq; }
  void drop_stale_top() noexcept {
    while (stale(items_[0])) remove_top();
  }
  void remove_top() noexcept;
  void compact() noexcept;
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;

  timer_entry* items_ = nullptr;
  std::size_t size_ = 0;  // entries, stale ones included
  std::size_t live_ = 0;  // entries whose task is armed with them
  std::size_t capacity_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace async::detail
