// SPDX-License-Identifier: MIT
// timer_heap.h: a binary min-heap of armed timers keyed by (deadline,
// sequence), so timers that expire together fire in deadline order, then in
// the order they were set (docs/design.md, order rule 3). Each task has at most one
// timer; it stores its heap index, which makes removal O(log n). Storage is
// allocated once, for every task the runtime can hold.
#pragma once

#include <cstddef>
#include <cstdint>

#include "task.h"

namespace async::detail {

class timer_heap {
 public:
  bool init(std::size_t capacity) noexcept;
  void destroy() noexcept;

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  task* top() const noexcept { return items_[0]; }

  // Arms t's timer at deadline_ns; t must not be armed.
  void arm(task* t, std::uint64_t deadline_ns) noexcept;
  // Disarms t's timer if armed.
  void disarm(task* t) noexcept;
  // Removes and returns the earliest timer (the heap must not be empty).
  task* pop() noexcept;

 private:
  static bool before(const task* a, const task* b) noexcept {
    return a->deadline_ns != b->deadline_ns ? a->deadline_ns < b->deadline_ns
                                            : a->timer_seq < b->timer_seq;
  }
  void place(std::size_t i, task* t) noexcept {
    items_[i] = t;
    t->timer_index = static_cast<std::uint32_t>(i);
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;

  task** items_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace async::detail
