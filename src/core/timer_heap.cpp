// SPDX-License-Identifier: MIT
// timer_heap.cpp: arming, popping and compacting timers (timer_heap.h).
#include "timer_heap.h"

#include <new>

#include "alloc.h"
#include "../arch/assert.h"

namespace async::detail {

bool timer_heap::init(std::size_t tasks) noexcept {
  // Live entries: at most every task and the root, tasks + 1. Stale ones:
  // only a disarm makes one, and after a disarm they are at most as many as
  // the live ones (else it compacts), so at most tasks + 1 too (pops may
  // leave them outnumbering the live ones, but do not add any).
  capacity_ = 2 * (tasks + 1);
  items_ = new_array<timer_entry>(capacity_);
  size_ = live_ = 0;
  return items_ != nullptr;
}

void timer_heap::destroy() noexcept {
  delete_array(items_, capacity_);
  items_ = nullptr;
  size_ = live_ = capacity_ = 0;
}

void timer_heap::arm(task* t, std::uint64_t deadline_ns) noexcept {
  ASYNC_ASSERT(!t->timer_armed && size_ < capacity_);
  t->timer_armed = true;
  t->deadline_ns = deadline_ns;
  t->timer_seq = next_seq_++;
  items_[size_] = timer_entry(deadline_ns, t->timer_seq, t);
  sift_up(size_++);
  ++live_;
}

task* timer_heap::pop() noexcept {
  drop_stale_top();
  task* t = items_[0].t;
  remove_top();
  t->timer_armed = false;
  if (--live_ == 0) size_ = 0;
  return t;
}

void timer_heap::remove_top() noexcept {
  if (--size_ == 0) return;
  items_[0] = items_[size_];
  sift_down(0);
}

void timer_heap::compact() noexcept {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < size_; ++i) {
    if (!stale(items_[i])) items_[kept++] = items_[i];
  }
  ASYNC_ASSERT(kept == live_);
  size_ = kept;
  // Floyd's bottom-up build: every parent, last first.
  for (std::size_t i = size_ / 2; i-- > 0;) sift_down(i);
}

void timer_heap::sift_up(std::size_t i) noexcept {
  const timer_entry e = items_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(e, items_[parent])) break;
    items_[i] = items_[parent];
    i = parent;
  }
  items_[i] = e;
}

void timer_heap::sift_down(std::size_t i) noexcept {
  const timer_entry e = items_[i];
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size_) break;
    if (child + 1 < size_ && before(items_[child + 1], items_[child])) ++child;
    if (!before(items_[child], e)) break;
    items_[i] = items_[child];
    i = child;
  }
  items_[i] = e;
}

}  // namespace async::detail
