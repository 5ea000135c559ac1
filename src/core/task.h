// SPDX-License-Identifier: MIT
// task.h: the record of one fiber, and the list that queues them.
// Records live in the runtime's task table (allocated at init) and are
// recycled oldest first; nothing is allocated per spawn.
#pragma once

#include <cstddef>
#include <cstdint>

#include <atomic>
#include <type_traits>

#include "../arch/sanitizer.h"
#include "../arch/shadow_stack.h"
#include "async.h"
#include "inbox.h"
#include "intrusive_list.h"

namespace async::detail {

struct fls_block;
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

// The queues of tasks, through task::next / task::prev. A task is in at most
// one at a time: the run queue, a wait list, or a free list.
using task_list = intrusive_list<task, true>;

// libstdc++ / libc++abi keep the exception being handled and the count of
// uncaught exceptions per thread (__cxa_get_globals). A fiber parked in a
// catch block must keep its own, so they are switched with the fiber.
struct eh_globals {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

// What a parked fiber waits for, for dumps and debuggers (docs/debugging.md):
// the state and the wait list alone cannot tell a select from a sleep or a
// timed channel wait. Written once per park, next to the state; never read on
// a hot path. The object waited on is found from the fields the wait sets
// anyway (xfer, wait_list), so this costs one byte store and no space: the
// byte sits in what was padding. Values are fixed: async_gdb.py knows them.
enum class wait_kind : std::uint8_t {
  none = 0,        // not parked (running, runnable, stack_wait, free)
  sleep = 1,       // async_sleep: deadline_ns
  await = 2,       // a fiber of this runtime: wait_list is its awaiters
  await_remote = 3,  // a fiber of another runtime: xfer is the await_request
  chan_send = 4,   // xfer: plain_wait (its channel)
  chan_recv = 5,
  select = 6,      // xfer: select_call
  io_read = 7,     // wait_list: the io_record's readers
  io_write = 8,    // wait_list: the io_record's writers
  park = 9,        // async_park
  mutex = 10,      // xfer: sync_wait (object: the async_mutex_t)
  cond = 11,
  sem = 12,
  waitgroup = 13,
  rwlock = 14,
  once = 15,
  signal = 16,     // async_signal_wait
  blocking = 17,   // a blocking-pool call: xfer is the job
};

// Bits of remote_events::node.pending: what other threads asked of a record.
enum : std::uint32_t {
  remote_spawn = 1u,   // a foreign spawn reserved the record and filled it in
  remote_unpark = 2u,  // async_unpark from another thread
  remote_cancel = 4u,  // async_cancel from another thread
  remote_wake = 8u,    // another thread completed the record's channel wait:
                       // wake it with task::wake_status (written before the bit)
};

// Requests from other threads about one task record. They live in the record,
// so asking never allocates and never fails; requests coalesce while the node
// waits in the inbox. The ids are the highest each request named: a record's
// ids only grow (task::id), so a request for an earlier fiber of the record
// can never hide one for its current fiber, and the owner drops it on sight.
struct remote_events {
  inbox_node node;                           // in the inbox while pending != 0
  std::atomic<std::uint64_t> unpark_id{0};
  std::atomic<std::uint64_t> cancel_id{0};
};

// 64-byte aligned, and ordered by who writes what: a spawn from another
// thread (remote.cpp, spawn_foreign) writes only the first two lines (the
// inbox node and the free-list links; what the new fiber runs and its
// handle's slot and id), so the record costs it two cache-line transfers,
// not four.
struct alignas(64) task {
  remote_events remote;  // first: the inbox node leads to the task (task_of)
  void* sp = nullptr;  // saved context while not running; nullptr before the first run
  task* next = nullptr;
  task* prev = nullptr;
  runtime* rt = nullptr;
  // What handles name: id_base + slot + 1 + k * task_capacity for the k-th
  // fiber of this record, so ids are unique per runtime and grow per record.
  // A free record keeps its last fiber's id. Written by the owner only.
  std::uint64_t id = 0;
  async_fn fn = nullptr;
  void* user = nullptr;
  async_fn on_discard = nullptr;  // async_spawn_options_t::on_discard
  char* user_stack_lo = nullptr;  // a stack the user owns, or nullptr (then `stack`)
  std::size_t user_stack_size = 0;
  const char* name = nullptr;
  std::uint32_t slot = 0;                     // index in the task table
  bool timer_armed = false;                   // a timer of this task is in the heap (timer_heap.h)
  void* xfer = nullptr;  // parked on a channel: the message to send, or where to
                         // receive; awaiting a fiber of another runtime: the request
  stack_slot* stack = nullptr;     // pooled stack, from the first run to the end
  task_list awaiters;              // fibers (or the root) waiting for this one to end
  task_list* wait_list = nullptr;  // the list this task is parked in, if any
  // Parked in a wait that other threads may complete (a channel or a select,
  // channel.cpp): wake() for a timer, a cancel (and a runtime's shutdown,
  // with detach) first asks it to withdraw the wait. False: another thread
  // completed it already and its wake is on the way (the timer or cancel
  // loses). nullptr for every other wait.
  bool (*wait_abort)(task* t, bool detach) = nullptr;
  std::uint64_t deadline_ns = 0;   // timer, when armed
  std::uint64_t timer_seq = 0;     // timers with equal deadlines fire in this order
  // Fiber-local values (fls.h): allocated by the fiber's first non-NULL
  // async_fls_set, released when it ends; nullptr for most fibers.
  fls_block* fls = nullptr;
  eh_globals eh{};
  async_status_t wake_status = ASYNC_OK;  // what the blocking call returns
  async_status_t outcome = ASYNC_OK;      // how the fiber ended
  task_state state = task_state::free;
  bool cancelled = false;
  bool unpark_token = false;  // an async_unpark came while it was not in async_park
  wait_kind wait = wait_kind::none;  // meaningful while parked only
  unsigned valgrind_id = 0;  // user stacks only
  san_context san;
  shstk_context shstk;
  // A free record that heads a batch of the shared free list (fiber.cpp,
  // "records"): the batch's length and last record, so that the owner takes
  // the batch whole without walking it. 0 and nullptr on every other record.
  // Owner only, under free_lock: a foreign spawn that takes a batch's head
  // leaves them (it writes only the first two lines), and the owner clears
  // them when the record is freed again.
  std::uint32_t batch_size = 0;
  task* batch_last = nullptr;
};

static_assert(std::is_standard_layout_v<task>, "task_of needs remote first in a standard-layout task");
// What a foreign spawn touches (remote.cpp, spawn_foreign; fiber.cpp,
// fill_record) stays in the record's first two cache lines.
constexpr bool in_first_two_lines(std::size_t offset, std::size_t size) noexcept { return offset + size <= 128; }
static_assert(in_first_two_lines(offsetof(task, prev), sizeof(task*)) &&
                  in_first_two_lines(offsetof(task, id), sizeof(std::uint64_t)) &&
                  in_first_two_lines(offsetof(task, fn), sizeof(async_fn)) &&
                  in_first_two_lines(offsetof(task, user), sizeof(void*)) &&
                  in_first_two_lines(offsetof(task, on_discard), sizeof(async_fn)) &&
                  in_first_two_lines(offsetof(task, user_stack_lo), sizeof(char*)) &&
                  in_first_two_lines(offsetof(task, user_stack_size), sizeof(std::size_t)) &&
                  in_first_two_lines(offsetof(task, name), sizeof(const char*)) &&
                  in_first_two_lines(offsetof(task, slot), sizeof(std::uint32_t)),
              "a field a foreign spawn writes or reads left the record's first two cache lines");
#if !ASYNC_ASAN && !ASYNC_TSAN && !ASYNC_CTX_SHSTK
// A parked fiber's memory budget (docs/benchmarks.md) counts the record; the
// sanitizers' and shadow stacks' per-fiber state comes on top of it.
static_assert(sizeof(task) <= 256, "task grew past 256 bytes");
#endif

// The task whose remote_events node `n` is.
inline task* task_of(inbox_node* n) noexcept { return reinterpret_cast<task*>(n); }

}  // namespace async::detail
