// SPDX-License-Identifier: MIT
// scheduler.cpp: dispatching, switching, and the end of a fiber.
//
// One scheduler turn: the running fiber queues or parks itself and calls
// pick_next, which pops the head of the run queue (taking timers, ready I/O
// and what other threads sent once per pass over the fibers that were
// runnable when the pass began) and switches straight to it. When nothing is
// runnable it blocks in the driver until the earliest timer is due, an fd is
// ready or another thread sends something; when nothing is pending at all,
// the root (the thread that called run or await) is woken: idle (ASYNC_OK)
// or blocked forever (ASYNC_EDEADLK).
#include <cxxabi.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "../arch/context.h"
#include "fiber.h"
#include "fls.h"
#include "remote.h"
#include "runtime.h"
#include "schedule.h"

namespace async::detail {

constinit thread_local task* tls_current __attribute__((tls_model("initial-exec"))) = nullptr;
constinit thread_local eh_globals* tls_eh_globals __attribute__((tls_model("initial-exec"))) = nullptr;
constinit thread_local char tls_thread_marker __attribute__((tls_model("initial-exec"))) = 0;

namespace {

// Idle stacks kept hot (not madvised) when the runtime goes idle.
constexpr std::size_t hot_stacks_kept = 16;

eh_globals* thread_eh_globals() noexcept {
  eh_globals* eh = tls_eh_globals;
  if (eh == nullptr) {
    eh = reinterpret_cast<eh_globals*>(abi::__cxa_get_globals());
    tls_eh_globals = eh;
  }
  return eh;
}

void expire_timers(runtime& rt, std::uint64_t now) noexcept {
  while (!rt.timers.empty() && rt.timers.top()->deadline_ns <= now) wake(rt.timers.pop(), ASYNC_ETIMEDOUT);
}

// Nothing is runnable or pending: the root's wait is over.
task* wake_root(runtime& rt) noexcept {
  task* root = &rt.root;
  ASYNC_ASSERT(root->state == task_state::parked);
  if (root->wait_list != nullptr) {
    root->wait_list->remove(root);
    root->wait_list = nullptr;
  }
  const bool idle = (rt.root_waits == root_wait::idle && rt.live == 0) || rt.root_waits == root_wait::stopped;
  root->wake_status = idle ? ASYNC_OK : ASYNC_EDEADLK;
  root->state = task_state::running;
  return root;
}

void note_stack_owner(stack_slot* s, const task* t) noexcept { s->owner = t; }

// A fresh fiber is about to run: give it a pooled stack unless it has one.
// Inlined: it is on the path of every fiber's first dispatch.
[[gnu::always_inline]] inline bool assign_stack(runtime& rt, task* t) noexcept {
  if (t->stack != nullptr || t->user_stack_lo != nullptr) return true;
  stack_slot* s = rt.pool.take();
  if (s == nullptr) return false;
  --rt.fresh_pooled;
  t->stack = s;
  note_stack_owner(s, t);
  return true;
}

// Hands an ending fiber's stack to the first fiber waiting for one, or back
// to the pool. Safe while still running on it: the stack is written only
// when its next fiber's context is made, and that happens either after this
// fiber has switched away or, when the next fiber runs at once, in the zone
// above this fiber's frames (ASYNC_CTX_TOP_ZONE). Inlined into end_fiber.
[[gnu::always_inline]] inline void release_stack(runtime& rt, stack_slot* s) noexcept {
  if (task* w = rt.stack_waiters.pop_front()) {
    w->wait_list = nullptr;
    --rt.fresh_pooled;
    w->stack = s;
    note_stack_owner(s, w);
    w->state = task_state::runnable;
    rt.run_queue.push_back(w);
  } else {
    rt.pool.give(s);
  }
}

void free_record(runtime& rt, task* t) noexcept {
  t->state = task_state::free;
  t->fn = nullptr;
  t->user = nullptr;
  give_record(rt, t);
}

[[noreturn]] void fiber_main(void* arg) noexcept;

}  // namespace

void after_arrival_slow(runtime& rt, task* self) noexcept {
  san_after_switch(self->san, rt.san_prev);
  if (task* dead = rt.dead) {
    rt.dead = nullptr;
    san_on_destroy(dead->san);
    shstk_release(dead->shstk);
  }
}

namespace {

// Every fiber's entry (defined below, after the code that ends a fiber).
[[noreturn]] void fiber_main(void* arg) noexcept;

// Makes the context of a fiber about to run for the first time (pick_next
// calls it when it picks one). Inlined there: one call less on every
// fiber's first dispatch.
[[gnu::always_inline]] inline void prepare_context(runtime& rt, task* t) noexcept {
  char* lo;
  std::size_t size;
  if (t->user_stack_lo != nullptr) {
    lo = t->user_stack_lo;
    size = t->user_stack_size;
    t->valgrind_id = valgrind_register_stack(lo, size);
  } else {
    lo = t->stack->lo;
    size = rt.pool.stack_bytes();
  }
  san_on_create(t->san, lo, size, false);
  char* top = t->user_stack_lo != nullptr ? lo + size : rt.pool.top(t->stack);
  t->sp = ctx_make(top, fiber_main, t, rt.fp_initial);
  if (!shstk_prepare(t->shstk, t->sp, size)) {
    // Only with CET shadow stacks active, when the kernel refuses one more
    // shadow stack: the fiber cannot run safely, and it cannot be refused
    // any more (it was accepted at spawn).
    std::fputs("async: cannot map a shadow stack for a fiber; aborting\n", stderr);
    std::abort();
  }
}


}  // namespace

// Whether the root must keep waiting although nothing is runnable: a group's
// thread waits for its stop; everyone waits for timers, I/O and other threads.
bool something_pending(const runtime& rt) noexcept {
  return rt.io_waiting != 0 || !rt.timers.empty() || rt.in.maybe_nonempty() ||
         (rt.root_waits == root_wait::stopped && !rt.stop);
}

namespace {

// Virtual time, nothing runnable, a timer pending: instead of blocking until
// the earliest deadline, take what is ready now (fds, the inbox) without
// waiting, and only when that makes nothing runnable move the clock to the
// earliest deadline. So ready I/O and what other threads sent always come
// before the jump, and nothing that could arrive later (an fd not ready
// yet, a message not sent yet) holds the clock back: docs/design.md,
// "Virtual time", says what that means for real I/O with timeouts.
void advance_virtual_clock(runtime& rt) noexcept {
  wait_for_work(rt, 0);
  if (!rt.run_queue.empty() || rt.stop || rt.timers.empty()) return;
  const std::uint64_t deadline = rt.timers.top()->deadline_ns;
  if (deadline > rt.vnow) rt.vnow = deadline;
}

// The loop of pick_next_slow, made twice: FIFO takes the head, a seeded
// runtime asks its schedule (one instantiation each, so that the FIFO one
// carries no test of the seed).
template <bool seeded>
task* pick_in_pass(runtime& rt) noexcept {
  for (;;) {
    if (rt.pass_left == 0) {
      // A new pass: collect what is due, without blocking. (With nothing
      // runnable the blocking wait below does it in the same system call;
      // right after that wait, the pass it filled needs no second one.)
      if (!rt.just_polled && !rt.run_queue.empty()) {
        if (rt.io_waiting != 0 && rt.io_registered != 0) rt.drv->wait(rt, 0);
        if (rt.in.maybe_nonempty()) take_inbox(rt);
      }
      // A group's stop ends the drive at once, whoever took it from the
      // inbox (this pass, a wait, or async_park's look at the inbox before
      // it parks); what is left is dropped by the shutdown that follows.
      if (rt.stop) [[unlikely]] return wake_root(rt);
      rt.just_polled = false;
      if (!rt.timers.empty()) expire_timers(rt, clock_ns(rt));
      rt.pass_left = rt.run_queue.size();
    }
    if (task* t = seeded ? schedule_take(rt) : rt.run_queue.pop_front()) {
      if (rt.pass_left != 0) --rt.pass_left;
      // (The root runs on the thread's stack. It has no context before its
      // first switch away, and can be woken before that by the inbox.)
      if (t->sp == nullptr && t != &rt.root) {
        if (!assign_stack(rt, t)) {
          t->state = task_state::stack_wait;
          rt.stack_waiters.push_back(t);
          t->wait_list = &rt.stack_waiters;
          continue;
        }
        // Its first run: the context is made here, so that a switch never
        // has to ask (pick_next's fast path only returns started fibers).
        prepare_context(rt, t);
      }
      t->state = task_state::running;
      return t;
    }
    rt.pass_left = 0;
    // A stop taken mid-pass (by async_park, say) must not be slept through:
    // nothing else may ever come to end the wait below.
    if (rt.stop) [[unlikely]] return wake_root(rt);
    if (rt.free_starved.load(std::memory_order_relaxed)) share_all_records(rt);
    if (something_pending(rt)) {
      if (rt.virtual_clock && !rt.timers.empty()) [[unlikely]] {
        advance_virtual_clock(rt);
      } else {
        // Block in the driver, at most until the earliest timer. Every such
        // wait ends early when another thread sends something.
        std::uint64_t timeout = UINT64_MAX;
        if (!rt.timers.empty()) {
          const std::uint64_t deadline = rt.timers.top()->deadline_ns;
          const std::uint64_t now = real_now_ns();
          timeout = deadline > now ? deadline - now : 0;
        }
        wait_for_work(rt, timeout);
      }
      if (rt.stop) [[unlikely]] return wake_root(rt);
      rt.just_polled = true;
      if (!rt.timers.empty()) expire_timers(rt, clock_ns(rt));
      continue;
    }
    return wake_root(rt);
  }
}

}  // namespace

task* pick_next_slow(runtime& rt) noexcept {
  if (rt.sched == nullptr) [[likely]] return pick_in_pass<false>(rt);
  // Seeded: the countdown lives in the schedule between picks (schedule.h).
  rt.pass_left = rt.sched->pass_left;
  task* t = pick_in_pass<true>(rt);
  rt.sched->pass_left = rt.pass_left;
  rt.pass_left = 0;
  return t;
}

namespace {

// Records how `t` ended, wakes its awaiters, hands its stack on and frees its
// record. For a fiber that ends running, the stack is still the one it runs
// on (see release_stack). Inlined into fiber_finish, the path of every
// fiber's end.
[[gnu::always_inline]] inline void end_fiber(runtime& rt, task* t, async_status_t outcome) noexcept {
  t->state = task_state::done;
  t->outcome = outcome;
  while (task* w = t->awaiters.pop_front()) {
    // An await is completed only here, has no deadline and nothing to
    // withdraw (wait_abort is for waits other threads complete): a plain wake.
    ASYNC_ASSERT(w->wait_abort == nullptr && !w->timer_armed);
    w->wait_list = nullptr;
    wake_plain(w, outcome);
  }
  if (!rt.remote_awaits.empty()) [[unlikely]] answer_remote_awaits(rt, t);
  --rt.live;
  if (rt.group != nullptr) [[unlikely]] {
    rt.ended.store(rt.ended.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (rt.live == 0) group_runtime_idle(rt);
  }
  if (stack_slot* s = t->stack) {
    t->stack = nullptr;
    release_stack(rt, s);
  } else if (t->sp == nullptr && t->user_stack_lo == nullptr) {
    --rt.fresh_pooled;  // never started: it was counted as needing a stack
  }
  valgrind_deregister_stack(t->valgrind_id);
  t->valgrind_id = 0;
  free_record(rt, t);
}

// The running fiber has ended: records it, wakes its awaiters, hands its
// stack on, and switches away for good. Inlined into fiber_main: reached by
// a `call`, it would leave a return-stack-predictor entry that nothing pops
// (the switch away is a jump; docs/design.md, "Context switch").
[[noreturn, gnu::always_inline]] inline void fiber_finish(task* self) noexcept {
  runtime& rt = *self->rt;
  end_fiber(rt, self, self->cancelled ? ASYNC_ECANCELED : ASYNC_OK);

  task* next = pick_next(rt);
  if (dead_fibers_need_release) rt.dead = self;  // released by whoever runs next
  before_switch(rt, self, next, true);
  ctx_jump_from_end(next->sp);
}

[[noreturn]] void fiber_main(void* arg) noexcept {
  task* self = static_cast<task*>(arg);
  after_arrival(*self->rt, self);
  // A C++ exception escaping a fiber function ends here, in std::terminate
  // (this function is noexcept): nothing may unwind into the trampoline.
  self->fn(self->user);
  // Fiber-local destructors run here, while the fiber is still itself (on
  // its stack, its awaiters not yet woken): they may suspend like its code.
  if (self->fls != nullptr) [[unlikely]] fls_end_fiber(self);
  fiber_finish(self);
}

}  // namespace

void finish_unstarted(task* t, async_status_t outcome) noexcept {
  async_fn discard = t->on_discard;
  t->on_discard = nullptr;
  void* user = t->user;
  end_fiber(*t->rt, t, outcome);
  // Last: the callback may spawn, which could reuse this very record.
  if (discard != nullptr) discard(user);
}

async_status_t drive(runtime& rt) noexcept {
  task* root = &rt.root;
  rt.driving = true;
  rt.eh = thread_eh_globals();
  // Fresh fibers start with the FP control state the driving thread has now.
  // Read once per drive, not per spawn: reading MXCSR costs several ns on
  // some CPUs (stmxcsr is microcoded).
  rt.fp_initial = fp_control_capture();
  tls_current = root;
  root->state = task_state::parked;
  task* next = pick_next(rt);
  if (next != root) switch_to(root, next);
  tls_current = nullptr;
  rt.driving = false;
  rt.pool.trim(hot_stacks_kept);
  rt.drv->end_drive(rt);
  return root->wake_status;
}

}  // namespace async::detail
