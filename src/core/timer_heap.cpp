// SPDX-License-Identifier: MIT
// timer_heap.cpp: inserting, removing and popping timers (timer_heap.h).
#include "timer_heap.h"

#include <new>

#include "alloc.h"
#include "../arch/assert.h"

namespace async::detail {

bool timer_heap::init(std::size_t capacity) noexcept {
  items_ = new_array<task*>(capacity);
  capacity_ = capacity;
  size_ = 0;
  return items_ != nullptr;
}

void timer_heap::destroy() noexcept {
  delete_array(items_, capacity_);
  items_ = nullptr;
  size_ = capacity_ = 0;
}

void timer_heap::arm(task* t, std::uint64_t deadline_ns) noexcept {
  ASYNC_ASSERT(t->timer_index == timer_unarmed && size_ < capacity_);
  t->deadline_ns = deadline_ns;
  t->timer_seq = next_seq_++;
  place(size_, t);
  sift_up(size_++);
}

void timer_heap::disarm(task* t) noexcept {
  std::size_t i = t->timer_index;
  if (i == timer_unarmed) return;
  t->timer_index = timer_unarmed;
  task* last = items_[--size_];
  if (i == size_) return;
  place(i, last);
  sift_up(i);
  sift_down(last->timer_index);
}

task* timer_heap::pop() noexcept {
  task* t = items_[0];
  disarm(t);
  return t;
}

void timer_heap::sift_up(std::size_t i) noexcept {
  task* t = items_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!before(t, items_[parent])) break;
    place(i, items_[parent]);
    i = parent;
  }
  place(i, t);
}

void timer_heap::sift_down(std::size_t i) noexcept {
  task* t = items_[i];
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size_) break;
    if (child + 1 < size_ && before(items_[child + 1], items_[child])) ++child;
    if (!before(items_[child], t)) break;
    place(i, items_[child]);
    i = child;
  }
  place(i, t);
}

}  // namespace async::detail
