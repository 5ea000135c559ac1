// SPDX-License-Identifier: MIT
// intrusive_list.h: the doubly linked list that runs through the objects it
// holds (their `next` and `prev` members), FIFO from head to tail. Linking
// never allocates and never fails, which is why the runtime's queues, a
// channel's waiters and a runtime's channels and ios are all this one list.
// An object is on at most one list through one pair of members at a time;
// the list neither owns nor initialises the objects.
#pragma once

#include <cstddef>

namespace async::detail {

// The element count, where a list keeps one (`Counted`): the run queue's and
// a channel's waiters' sizes are read on their paths; other lists stay two
// words.
template <bool Counted>
struct list_count {
  std::size_t n = 0;
  std::size_t get() const noexcept { return n; }
  void add(std::size_t k) noexcept { n += k; }
  void sub(std::size_t k) noexcept { n -= k; }
};

template <>
struct list_count<false> {
  void add(std::size_t) noexcept {}
  void sub(std::size_t) noexcept {}
};

template <class T, bool Counted = false>
struct intrusive_list {
  T* head = nullptr;
  T* tail = nullptr;
  [[no_unique_address]] list_count<Counted> count;

  bool empty() const noexcept { return head == nullptr; }

  std::size_t size() const noexcept
    requires Counted
  {
    return count.get();
  }

  void push_back(T* t) noexcept {
    t->next = nullptr;
    t->prev = tail;
    if (tail != nullptr) {
      tail->next = t;
    } else {
      head = t;
    }
    tail = t;
    count.add(1);
  }

  void push_front(T* t) noexcept {
    t->prev = nullptr;
    t->next = head;
    if (head != nullptr) {
      head->prev = t;
    } else {
      tail = t;
    }
    head = t;
    count.add(1);
  }

  // The head, taken off; nullptr when empty.
  T* pop_front() noexcept {
    T* t = head;
    if (t != nullptr) {
      head = t->next;
      if (head != nullptr) {
        head->prev = nullptr;
      } else {
        tail = nullptr;
      }
      count.sub(1);
    }
    return t;
  }

  // `t` must be on this list; its links are cleared.
  void remove(T* t) noexcept {
    if (t->prev != nullptr) {
      t->prev->next = t->next;
    } else {
      head = t->next;
    }
    if (t->next != nullptr) {
      t->next->prev = t->prev;
    } else {
      tail = t->prev;
    }
    t->next = t->prev = nullptr;
    count.sub(1);
  }

  // Moves all of `other` to the back of this list, in order; `other` is left
  // empty. Constant time.
  void splice_back(intrusive_list& other) noexcept {
    if (other.empty()) return;
    other.head->prev = tail;
    if (tail != nullptr) {
      tail->next = other.head;
    } else {
      head = other.head;
    }
    tail = other.tail;
    count.add(other.count_or_zero());
    other = intrusive_list{};
  }

  // The first min(n, size) elements (n >= 1), cut off into a list of their
  // own, in order. Walks them once.
  intrusive_list cut_front(std::size_t n) noexcept {
    if (empty()) return intrusive_list{};
    T* last = head;
    std::size_t k = 1;
    for (; k < n && last->next != nullptr; ++k) last = last->next;
    return cut_through(last, k);
  }

  // The elements from the head through `last`, which is on this list and
  // `k`-th from the head, cut off into a list of their own. Constant time.
  intrusive_list cut_through(T* last, std::size_t k) noexcept {
    intrusive_list out;
    out.head = head;
    out.tail = last;
    out.count.add(k);
    head = last->next;
    if (head != nullptr) {
      head->prev = nullptr;
    } else {
      tail = nullptr;
    }
    count.sub(k);
    last->next = nullptr;
    return out;
  }

 private:
  std::size_t count_or_zero() const noexcept {
    if constexpr (Counted) {
      return count.get();
    } else {
      return 0;
    }
  }
};

}  // namespace async::detail
