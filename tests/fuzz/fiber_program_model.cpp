// SPDX-License-Identifier: MIT
// fiber_program_model.cpp: the reference model behind fiber_program_fuzz.cpp.
// It runs a fiber program as a plain simulation: a run queue of fiber
// numbers, wait lists, a virtual clock. Each rule below is the documented one
// and says where it is documented (include/async.h, include/async/sync.h,
// docs/design.md, docs/virtual_time.md):
//
// - Run queue: FIFO. A spawned fiber is queued at the tail and first runs
//   when it reaches the head (async_spawn). A yield moves the caller to the
//   tail (async_yield). A fiber made runnable by anything (a channel
//   operation, a close, an unlock, a cancel, the end of a fiber it awaits, a
//   timer) is appended to the tail at that moment (design.md, "One
//   scheduler turn", "The end of a fiber").
// - Virtual time: the clock moves only when nothing is runnable; it then
//   jumps to the earliest deadline and every timer due fires, in (deadline,
//   order set) (async.h at ASYNC_CONFIG_VIRTUAL_TIME; async_sleep_ms). Sleeps
//   and timeouts here are at least 1 ms, so no timer is ever due before a
//   jump. A timed wait whose timer fires returns ASYNC_ETIMEDOUT with nothing
//   done; one completed first has its timer disarmed (the _until calls of
//   async.h and sync.h; design.md, "Channels").
// - Channels (async.h, design.md "Channels", "Select"): a send hands its
//   message to the longest-parked receiver, else buffers it, else parks; a
//   receive takes the oldest buffered message and pulls the longest-parked
//   sender's message into the freed slot, or (unbuffered) takes a parked
//   sender's message, else parks. Plain waiters and select cases on one side
//   of a channel are served in the order they parked. Close wakes the parked
//   senders (first, in order) and then the receivers with ASYNC_ECLOSED;
//   receivers still drain the buffer. Select does the first ready case in
//   argument order, else parks one case per enabled channel, in case order,
//   and the first completion of any case is the only one. With no case
//   enabled select returns ASYNC_EINVAL and select_until sleeps to its
//   deadline.
// - Cancel (async_cancel, sync.h common rules): a fiber that never ran never
//   will (its awaiters get ASYNC_ECANCELED, its on_discard runs); a parked
//   one is woken with ASYNC_ECANCELED and nothing done; a runnable one (its
//   wait already completed) keeps that result. From then on blocking calls
//   return ASYNC_ECANCELED without blocking: yield, sleep, recv and select
//   before looking at anything, send after its closed check, await unless
//   its target has ended already, and a mutex lock only when it would have
//   to wait. A fiber that returns after being cancelled ends with outcome
//   ASYNC_ECANCELED ("The end of a fiber").
// - Mutex (sync.h): FIFO hand-off: unlock makes the first waiter the holder
//   and runnable. Relocking is ASYNC_EDEADLK, unlocking what one does not
//   hold ASYNC_ESTATE. A mutex held by a fiber that ends stays held.
// - Await: the target's outcome at once if it has ended; ASYNC_EINVAL for a
//   handle that names no fiber or the caller itself; else it waits, and the
//   awaiters are woken in the order they began waiting.
// - run returns ASYNC_OK when every fiber ended, ASYNC_EDEADLK when some are
//   blocked with nothing to wake them.
//
// Where the documents are silent the model follows src/: the order of the
// checks in a cancelled fiber (send: closed first; recv: cancel first, even
// with a message buffered; await: an ended target's outcome first; lock:
// ASYNC_EDEADLK first), a mutex held by a fiber that returned (stays held,
// as one held by a fiber that never ends), and a try_recv from outside the
// fibers after the run (a parked sender's message is pulled in, as for any
// receive).
#include "fiber_program_model.h"

#include <algorithm>
#include <deque>

namespace fiber_program {

namespace {

enum class state { unspawned, fresh, runnable, running, parked, done };
enum class waits { nothing, sleep, channel, select, mutex, await };

constexpr std::uint8_t no_case = 0xff;
constexpr std::uint64_t ns_per_ms = 1000000;

struct fiber {
  state st = state::unspawned;
  bool cancelled = false;
  bool started = false;
  bool returned = false;
  int pc = 0;
  int outcome = ASYNC_OK;
  waits on = waits::nothing;
  bool armed = false;  // its timer: a sleep's or a timed wait's
  std::uint64_t deadline = 0;
  std::uint64_t timer_order = 0;
  // The result of the step it is suspended in, recorded when it runs again.
  event pending{};
  bool yielded = false;  // pending status decided when it runs: cancelled or not
  std::deque<int> awaiters;
};

// A parked plain call (select_case < 0) or one case of a parked select.
struct waiter {
  int fiber;
  int select_case;
  std::uint64_t message;  // senders: what they send
};

struct channel {
  int capacity = 0;
  bool closed = false;
  std::deque<std::uint64_t> buffer;
  std::deque<waiter> senders, receivers;
};

struct mutex {
  int holder = -1;  // a fiber number, or -1 when free
  std::deque<int> waiters;
};

struct result {
  bool parked;
  int status;
  std::uint8_t chosen;
  std::uint64_t message;
};

constexpr result parked{true, ASYNC_OK, 0, 0};
constexpr result done_with(int status, std::uint64_t message = 0) { return {false, status, 0, message}; }

class model {
 public:
  explicit model(const program& p) : p_(p) {
    for (int c = 0; c < p.channels; ++c) ch_[c].capacity = p.capacity[c];
  }

  outcome run() {
    spawn(0);
    for (;;) {
      if (queue_.empty() && !fire_timers()) break;
      if (queue_.empty()) continue;
      const int g = queue_.front();
      queue_.pop_front();
      dispatch(g);
    }
    out_.run_status = ASYNC_OK;
    for (int g = 0; g < p_.fibers; ++g) {
      if (f_[g].st != state::unspawned && f_[g].st != state::done) out_.run_status = ASYNC_EDEADLK;
    }
    for (int c = 0; c < p_.channels; ++c) {
      for (;;) {
        const result r = receive(-1, c, false);
        if (r.status != ASYNC_OK) break;
        out_.drained[c].push_back(r.message);
      }
    }
    for (int m = 0; m < p_.mutexes; ++m) out_.held[m] = mx_[m].holder >= 0;
    for (int g = 0; g < p_.fibers; ++g) out_.unfinished[g] = f_[g].st != state::unspawned && !f_[g].returned;
    return out_;
  }

 private:
  void record(int g, const event& e) {
    out_.trace.push_back(e);
    if (e.kind == event_kind::step) ++f_[g].pc;
  }

  event step_event(int g, int status, std::uint8_t chosen, std::uint64_t message) const {
    return {event_kind::step, static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(f_[g].pc), chosen, status,
            message};
  }

  void spawn(int g) {
    f_[g].st = state::fresh;
    queue_.push_back(g);
  }

  // Runs fiber g from where it stopped until it parks, yields or returns.
  void dispatch(int g) {
    fiber& me = f_[g];
    me.st = state::running;
    if (!me.started) {
      me.started = true;
      record(g, {event_kind::start, static_cast<std::uint8_t>(g), 0, 0, ASYNC_OK, 0});
    }
    if (me.on != waits::nothing || me.yielded) {
      if (me.yielded) me.pending.status = me.cancelled ? ASYNC_ECANCELED : ASYNC_OK;
      me.on = waits::nothing;
      me.yielded = false;
      record(g, me.pending);
    }
    while (me.pc < static_cast<int>(p_.ops[g].size())) {
      const result r = execute(g, p_.ops[g][me.pc]);
      if (r.parked) return;
      record(g, step_event(g, r.status, r.chosen, r.message));
    }
    finish(g, me.cancelled ? ASYNC_ECANCELED : ASYNC_OK);
    me.returned = true;
    record(g, {event_kind::end, static_cast<std::uint8_t>(g), 0, 0, ASYNC_OK, 0});
  }

  void finish(int g, int outcome) {
    f_[g].st = state::done;
    f_[g].outcome = outcome;
    while (!f_[g].awaiters.empty()) {
      const int a = f_[g].awaiters.front();
      f_[g].awaiters.pop_front();
      wake(a, outcome, 0, 0);
    }
  }

  // Parks g on `on`, with a timer when `timeout_ms` is not 0.
  result park(int g, waits on, int timeout_ms = 0) {
    fiber& me = f_[g];
    me.st = state::parked;
    me.on = on;
    if (timeout_ms != 0) {
      me.armed = true;
      me.deadline = now_ + static_cast<std::uint64_t>(timeout_ms) * ns_per_ms;
      me.timer_order = timers_set_++;
    }
    return parked;
  }

  // Makes a parked fiber runnable with the result of its step: withdrawn from
  // every list it is on, appended to the run queue.
  void wake(int g, int status, std::uint8_t chosen, std::uint64_t message) {
    fiber& w = f_[g];
    for (int c = 0; c < p_.channels; ++c) {
      auto mine = [g](const waiter& x) { return x.fiber == g; };
      std::erase_if(ch_[c].senders, mine);
      std::erase_if(ch_[c].receivers, mine);
    }
    for (int m = 0; m < p_.mutexes; ++m) std::erase(mx_[m].waiters, g);
    for (int t = 0; t < p_.fibers; ++t) std::erase(f_[t].awaiters, g);
    w.pending = step_event(g, status, chosen, message);
    w.armed = false;
    w.st = state::runnable;
    queue_.push_back(g);
  }

  // Completes a parked waiter that an operation took from a channel's list.
  void complete(const waiter& w, int status, std::uint64_t message) {
    const bool select = w.select_case >= 0;
    wake(w.fiber, status, select ? static_cast<std::uint8_t>(w.select_case) : 0, message);
  }

  bool fire_timers() {
    std::uint64_t earliest = UINT64_MAX;
    for (int g = 0; g < p_.fibers; ++g) {
      if (f_[g].armed) earliest = std::min(earliest, f_[g].deadline);
    }
    if (earliest == UINT64_MAX) return false;
    now_ = earliest;
    std::vector<int> due;
    for (int g = 0; g < p_.fibers; ++g) {
      if (f_[g].armed && f_[g].deadline == now_) due.push_back(g);
    }
    std::sort(due.begin(), due.end(), [this](int a, int b) { return f_[a].timer_order < f_[b].timer_order; });
    for (int g : due) {
      const waits on = f_[g].on;
      wake(g, on == waits::sleep ? ASYNC_OK : ASYNC_ETIMEDOUT, on == waits::select ? no_case : 0, 0);
    }
    return true;
  }

  // A send by fiber g (-1: outside fibers); `block` false for try_send;
  // `timeout_ms` for send_until.
  result send(int g, int c, std::uint64_t message, bool block, int timeout_ms = 0) {
    channel& k = ch_[c];
    if (k.closed) return done_with(ASYNC_ECLOSED);
    if (block && f_[g].cancelled) return done_with(ASYNC_ECANCELED);
    if (!k.receivers.empty()) {
      const waiter r = k.receivers.front();
      k.receivers.pop_front();
      complete(r, ASYNC_OK, message);
      return done_with(ASYNC_OK);
    }
    if (static_cast<int>(k.buffer.size()) < k.capacity) {
      k.buffer.push_back(message);
      return done_with(ASYNC_OK);
    }
    if (!block) return done_with(ASYNC_EAGAIN);
    k.senders.push_back({g, -1, message});
    return park(g, waits::channel, timeout_ms);
  }

  // A receive by fiber g (-1: outside fibers); `block` false for try_recv;
  // `timeout_ms` for recv_until.
  result receive(int g, int c, bool block, int timeout_ms = 0) {
    channel& k = ch_[c];
    if (block && f_[g].cancelled) return done_with(ASYNC_ECANCELED);
    if (const result r = receive_ready(c); r.status != ASYNC_EAGAIN || !block) return r;
    k.receivers.push_back({g, -1, 0});
    return park(g, waits::channel, timeout_ms);
  }

  result receive_ready(int c) {
    channel& k = ch_[c];
    if (!k.buffer.empty()) {
      const std::uint64_t message = k.buffer.front();
      k.buffer.pop_front();
      if (!k.senders.empty()) {
        const waiter s = k.senders.front();
        k.senders.pop_front();
        k.buffer.push_back(s.message);
        complete(s, ASYNC_OK, 0);
      }
      return done_with(ASYNC_OK, message);
    }
    if (!k.senders.empty()) {
      const waiter s = k.senders.front();
      k.senders.pop_front();
      complete(s, ASYNC_OK, 0);
      return done_with(ASYNC_OK, s.message);
    }
    return done_with(k.closed ? ASYNC_ECLOSED : ASYNC_EAGAIN);
  }

  result close(int c) {
    channel& k = ch_[c];
    if (k.closed) return done_with(ASYNC_ECLOSED);
    k.closed = true;
    for (std::deque<waiter>* side : {&k.senders, &k.receivers}) {
      while (!side->empty()) {
        const waiter w = side->front();
        side->pop_front();
        complete(w, ASYNC_ECLOSED, 0);
      }
    }
    return done_with(ASYNC_OK);
  }

  result select(int g, std::uint8_t arg, int timeout_ms) {
    const int pc = f_[g].pc;
    if (f_[g].cancelled) return {false, ASYNC_ECANCELED, no_case, 0};
    bool enabled = false;
    for (int i = 0; i < 2; ++i) {
      const select_case sc = select_case_of(arg, i, p_.channels);
      if (!sc.enabled) continue;
      enabled = true;
      result r = sc.send ? (ch_[sc.channel].closed ? done_with(ASYNC_ECLOSED)
                                                    : send(g, sc.channel, message_of(g, pc), false))
                         : receive_ready(sc.channel);
      if (r.status == ASYNC_EAGAIN) continue;
      r.chosen = static_cast<std::uint8_t>(i);
      if (sc.send || r.status != ASYNC_OK) r.message = 0;
      return r;
    }
    // Nothing enabled: select refuses to wait for ever, select_until sleeps.
    if (!enabled && timeout_ms == 0) return {false, ASYNC_EINVAL, no_case, 0};
    for (int i = 0; i < 2; ++i) {
      const select_case sc = select_case_of(arg, i, p_.channels);
      if (!sc.enabled) continue;
      channel& k = ch_[sc.channel];
      (sc.send ? k.senders : k.receivers).push_back({g, i, sc.send ? message_of(g, pc) : 0});
    }
    return park(g, waits::select, timeout_ms);
  }

  result lock(int g, int m, int timeout_ms) {
    mutex& x = mx_[m];
    if (x.holder < 0) {
      x.holder = g;
      return done_with(ASYNC_OK);
    }
    if (x.holder == g) return done_with(ASYNC_EDEADLK);
    if (f_[g].cancelled) return done_with(ASYNC_ECANCELED);
    x.waiters.push_back(g);
    return park(g, waits::mutex, timeout_ms);
  }

  result unlock(int g, int m) {
    mutex& x = mx_[m];
    if (x.holder != g) return done_with(ASYNC_ESTATE);
    x.holder = -1;
    if (!x.waiters.empty()) {
      x.holder = x.waiters.front();
      x.waiters.pop_front();
      wake(x.holder, ASYNC_OK, 0, 0);
    }
    return done_with(ASYNC_OK);
  }

  bool names_fiber(int t) const { return t < p_.fibers && f_[t].st != state::unspawned; }

  result await(int g, int t) {
    if (!names_fiber(t) || t == g) return done_with(ASYNC_EINVAL);
    if (f_[t].st == state::done) return done_with(f_[t].outcome);
    if (f_[g].cancelled) return done_with(ASYNC_ECANCELED);
    f_[t].awaiters.push_back(g);
    return park(g, waits::await);
  }

  result cancel(int t) {
    if (!names_fiber(t)) return done_with(ASYNC_EINVAL);
    fiber& x = f_[t];
    x.cancelled = true;
    if (x.st == state::fresh) {  // never ran: it never will
      std::erase(queue_, t);
      finish(t, ASYNC_ECANCELED);
    } else if (x.st == state::parked) {
      wake(t, ASYNC_ECANCELED, x.on == waits::select ? no_case : 0, 0);
    }
    return done_with(ASYNC_OK);
  }

  result execute(int g, const step& s) {
    fiber& me = f_[g];
    switch (s.code) {
      case op::spawn:
        spawn(s.arg);
        return done_with(ASYNC_OK);
      case op::yield:
        if (me.cancelled) return done_with(ASYNC_ECANCELED);
        me.st = state::runnable;
        me.yielded = true;
        me.pending = step_event(g, ASYNC_OK, 0, 0);
        queue_.push_back(g);
        return parked;
      case op::sleep:
        if (me.cancelled) return done_with(ASYNC_ECANCELED);
        return park(g, waits::sleep, s.arg);
      case op::send: return send(g, s.arg, message_of(g, me.pc), true);
      case op::recv: return receive(g, s.arg, true);
      case op::try_send: return send(g, s.arg, message_of(g, me.pc), false);
      case op::try_recv: return receive(g, s.arg, false);
      case op::select: return select(g, s.arg, 0);
      case op::close: return close(s.arg);
      case op::cancel: return cancel(s.arg);
      case op::await: return await(g, s.arg);
      case op::lock: return lock(g, s.arg, 0);
      case op::unlock: return unlock(g, s.arg);
      case op::send_until:
        return send(g, object_of(s.arg), message_of(g, me.pc), true, timeout_ms_of(s.arg));
      case op::recv_until: return receive(g, object_of(s.arg), true, timeout_ms_of(s.arg));
      case op::lock_until: return lock(g, object_of(s.arg), timeout_ms_of(s.arg));
      case op::select_until: return select(g, s.arg, select_timeout_ms);
      case op::end:
      case op::count: break;
    }
    return done_with(ASYNC_EINVAL);
  }

  const program& p_;
  fiber f_[max_fibers];
  channel ch_[max_channels];
  mutex mx_[max_mutexes];
  std::deque<int> queue_;
  std::uint64_t now_ = 0;
  std::uint64_t timers_set_ = 0;
  outcome out_;
};

}  // namespace

outcome run_model(const program& p) { return model(p).run(); }

}  // namespace fiber_program
