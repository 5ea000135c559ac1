// SPDX-License-Identifier: MIT
// dump.cpp: formatting a runtime dump (dump.h). Everything here is a plain
// read of the owner's data and the async-signal-safe dump_writer, except
// dladdr, which only the `symbols` path calls.
#include "dump.h"

#include <dlfcn.h>

#include <cstddef>

#include "channel.h"
#include "remote.h"
#include "schedule.h"
#include "sync_wait.h"

namespace async::detail {
namespace {

// Ids are printed without the runtime's id_base (serial << 40), which only
// makes them unique across runtimes: "runtime 2" lines say whose they are.
constexpr std::uint64_t local_id_mask = (std::uint64_t{1} << 40) - 1;

const char* kind_name(wait_kind k) noexcept {
  switch (k) {
    case wait_kind::none: return "parked";
    case wait_kind::sleep: return "sleep";
    case wait_kind::await: return "await";
    case wait_kind::await_remote: return "await";
    case wait_kind::chan_send: return "channel send";
    case wait_kind::chan_recv: return "channel recv";
    case wait_kind::select: return "select";
    case wait_kind::io_read: return "io read";
    case wait_kind::io_write: return "io write";
    case wait_kind::park: return "park";
    case wait_kind::mutex: return "mutex";
    case wait_kind::cond: return "cond";
    case wait_kind::sem: return "sem";
    case wait_kind::waitgroup: return "waitgroup";
    case wait_kind::rwlock: return "rwlock";
    case wait_kind::once: return "once";
    case wait_kind::signal: return "signal";
    case wait_kind::blocking: return "blocking";
  }
  return "parked";
}

// Milliseconds from `now` to `deadline`, rounded up (a wait with 0.2 ms left
// is not over); 0 once past.
std::uint64_t ms_left(std::uint64_t deadline, std::uint64_t now) noexcept {
  return deadline > now ? (deadline - now + 999'999) / 1'000'000 : 0;
}

// What a parked fiber waits on, after its kind.
void write_wait_object(const runtime& rt, const task& t, dump_writer& w) noexcept {
  switch (t.wait) {
    case wait_kind::await: {
      // wait_list is the target's awaiters.
      const auto* target = reinterpret_cast<const task*>(reinterpret_cast<const char*>(t.wait_list) -
                                                         offsetof(task, awaiters));
      w.put(' ').dec(target->id - rt.id_base);
      return;
    }
    case wait_kind::await_remote: {
      const std::uint64_t id = await_remote_target(t);
      w.put(' ').dec(id >> 40).put('.').dec(id & local_id_mask);
      return;
    }
    case wait_kind::chan_send:
    case wait_kind::chan_recv: {
      // The user's async_channel_t holds the channel in its impl.
      const channel* c = static_cast<const plain_wait*>(t.xfer)->ch;
      w.put(' ').ptr(reinterpret_cast<const char*>(c) - offsetof(async_channel_t, impl));
      return;
    }
    case wait_kind::select:
      w.str(" cases=").dec(static_cast<const select_call*>(t.xfer)->n);
      return;
    case wait_kind::io_read:
    case wait_kind::io_write:
      w.str(" fd=").dec(static_cast<std::uint64_t>(rt.drv->wait_fd(t)));
      return;
    case wait_kind::mutex:
    case wait_kind::cond:
    case wait_kind::sem:
    case wait_kind::waitgroup:
    case wait_kind::rwlock:
    case wait_kind::once:
      // The object's state is the start of the user's struct (sync_api.cpp).
      w.put(' ').ptr(sync_wait_of(&t)->object);
      return;
    case wait_kind::none:
    case wait_kind::sleep:
    case wait_kind::park:
    case wait_kind::signal:
    case wait_kind::blocking:
      return;
  }
}

void write_state(const runtime& rt, const task& t, std::uint64_t now, dump_writer& w) noexcept {
  switch (t.state) {
    case task_state::running: w.str("running"); return;
    case task_state::runnable: w.str("runnable"); return;
    case task_state::stack_wait: w.str("stack"); return;
    case task_state::done: w.str("done"); return;
    case task_state::free: return;
    case task_state::parked: break;
  }
  w.str(kind_name(t.wait));
  write_wait_object(rt, t, w);
  if (t.timer_armed) {
    const std::uint64_t ms = ms_left(t.deadline_ns, now);
    if (t.wait == wait_kind::sleep) {
      w.put(' ').dec(ms).str("ms");
    } else {
      w.str(" timeout=").dec(ms).str("ms");
    }
  }
}

void write_entry(const task& t, dump_writer& w, bool symbols) noexcept {
  const void* fn = reinterpret_cast<const void*>(t.fn);
  Dl_info info{};
  if (symbols && dladdr(fn, &info) != 0 && info.dli_sname != nullptr && info.dli_saddr == fn) {
    w.str(info.dli_sname);
  } else {
    w.ptr(fn);
  }
}

// The fiber's current depth: from the top of its stack down to its saved
// stack pointer, or to `here` for the running fiber when `here` lies on its
// stack. "-" for a fiber that has no stack yet.
void write_stack(const runtime& rt, const task& t, const void* here, dump_writer& w) noexcept {
  const char* lo = nullptr;
  const char* top = nullptr;  // where the fiber's stack begins (a pooled one: below its color)
  std::size_t size = 0;
  if (t.user_stack_lo != nullptr) {
    lo = t.user_stack_lo;
    size = t.user_stack_size;
    top = lo + size;
  } else if (t.stack != nullptr) {
    lo = t.stack->lo;
    size = rt.pool.stack_bytes();
    top = rt.pool.top(t.stack);
  }
  w.str(" stack=");
  if (lo == nullptr) {
    w.put('-');
    return;
  }
  const char* at = t.state == task_state::running ? static_cast<const char*>(here) : static_cast<const char*>(t.sp);
  if (at != nullptr && at >= lo && at < top) {
    w.dec(static_cast<std::uint64_t>(top - at));
  } else {
    w.put('?');
  }
  w.put('/').dec(size);
}

}  // namespace

void dump_runtime(const runtime& rt, dump_writer& w, bool symbols) noexcept {
  const char here = 0;
  const std::uint64_t now = clock_ns(rt);
  // key=value pairs, so that later fields (a schedule seed) can be appended.
  w.str("runtime ").dec(rt.serial).str(" clock_ns=").dec(now).str(" fibers=").dec(rt.live);
  if (rt.sched != nullptr) {
    w.str(" seed=").dec(rt.sched->seed);
    if (rt.sched->depth != 0) w.str(" pct_depth=").dec(rt.sched->depth);
  }
  if (rt.virtual_clock) w.str(" virtual_time=1");
  w.put('\n');
  for (std::size_t i = 0; i < rt.task_capacity; ++i) {
    const task& t = rt.tasks[i];
    if (t.state == task_state::free) continue;
    w.str("  ").dec(t.id - rt.id_base).str(" \"");
    if (t.name != nullptr) w.str_bounded(t.name, 64);
    w.str("\" ");
    write_state(rt, t, now, w);
    w.str(" fn=");
    write_entry(t, w, symbols);
    write_stack(rt, t, &here, w);
    w.put('\n');
  }
}

}  // namespace async::detail
