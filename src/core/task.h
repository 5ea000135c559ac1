// SPDX-License-Identifier: MIT
// task.h: the record of one fiber, and the intrusive list that queues them.
// Records live in the runtime's task table (allocated at init) and are
// recycled oldest first; nothing is allocated per spawn.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../arch/sanitizer.h"
#include "../arch/shadow_stack.h"
#include "async.h"

namespace async::detail {

struct runtime;
struct stack_slot;
struct task;

enum class task_state : std::uint8_t {
  free,        // record unused; `outcome` keeps its last fiber's result
  runnable,    // in the run queue
  running,     // the current fiber of its runtime
  parked,      // suspended in a blocking call (see wait_list / timer)
  stack_wait,  // dispatched but waiting for a pooled stack
  done,        // ended (briefly, until the record is freed)
};

// A doubly linked intrusive list through task::next / task::prev. A task is
// in at most one list at a time: the run queue, a wait list, or the free list.
struct task_list {
  task* head = nullptr;
  task* tail = nullptr;
  std::size_t size = 0;

  bool empty() const noexcept { return head == nullptr; }
  inline void push_back(task* t) noexcept;
  inline task* pop_front() noexcept;
  inline void remove(task* t) noexcept;
};

// libstdc++ / libc++abi keep the exception being handled and the count of
// uncaught exceptions per thread (__cxa_get_globals). A fiber parked in a
// catch block must keep its own, so they are switched with the fiber.
struct eh_globals {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

inline constexpr std::uint32_t timer_unarmed = UINT32_MAX;

struct task {
  void* sp = nullptr;  // saved context while not running; nullptr before the first run
  task* next = nullptr;
  task* prev = nullptr;
  runtime* rt = nullptr;
  std::uint64_t id = 0;  // unique per runtime; what handles name
  async_fn fn = nullptr;
  void* user = nullptr;
  async_fn on_discard = nullptr;  // async_spawn_options_t::on_discard
  void* xfer = nullptr;  // parked on a channel: the message to send, or where to receive
  stack_slot* stack = nullptr;    // pooled stack, from the first run to the end
  char* user_stack_lo = nullptr;  // or a stack the user owns
  std::size_t user_stack_size = 0;
  task_list awaiters;              // fibers (or the root) waiting for this one to end
  task_list* wait_list = nullptr;  // the list this task is parked in, if any
  std::uint64_t deadline_ns = 0;   // timer, when armed
  std::uint64_t timer_seq = 0;     // timers with equal deadlines fire in this order
  std::uint32_t timer_index = timer_unarmed;  // position in the timer heap
  std::uint32_t slot = 0;                     // index in the task table
  const char* name = nullptr;
  eh_globals eh{};
  async_status_t wake_status = ASYNC_OK;  // what the blocking call returns
  async_status_t outcome = ASYNC_OK;      // how the fiber ended
  task_state state = task_state::free;
  bool cancelled = false;
  bool unpark_token = false;  // an async_unpark came while it was not in async_park
  unsigned valgrind_id = 0;  // user stacks only
  san_context san;
  shstk_context shstk;
};

inline void task_list::push_back(task* t) noexcept {
  t->next = nullptr;
  t->prev = tail;
  if (tail != nullptr) {
    tail->next = t;
  } else {
    head = t;
  }
  tail = t;
  ++size;
}

inline task* task_list::pop_front() noexcept {
  task* t = head;
  if (t != nullptr) {
    head = t->next;
    if (head != nullptr) {
      head->prev = nullptr;
    } else {
      tail = nullptr;
    }
    --size;
  }
  return t;
}

inline void task_list::remove(task* t) noexcept {
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
  --size;
}

}  // namespace async::detail
