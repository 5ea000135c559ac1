// SPDX-License-Identifier: MIT
// channel.cpp: the channel operations and select (see channel.h).
#include "channel.h"

#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "alloc.h"
#include "clock.h"
#include "home_guard.h"
#include "registry.h"
#include "remote.h"

namespace async::detail {

static_assert(sizeof(channel) <= sizeof(async_channel_t::impl), "channel state must fit async_channel_t");
static_assert(alignof(channel) <= alignof(void*), "async_channel_t is pointer-aligned");
static_assert(sizeof(select_node) <= sizeof(async_select_case_t::impl), "a select node must fit its case");
static_assert(alignof(select_node) <= alignof(void*), "async_select_case_t is pointer-aligned");

namespace {

constexpr std::size_t none = SIZE_MAX;
constexpr std::size_t withdrawn = SIZE_MAX - 1;  // select_call::chosen after a timer or cancel

// --- thread waiters ------------------------------------------------------------

// A thread blocked in a channel call waits on a word of a task record on its
// own stack (rt == nullptr), linked like a parked fiber.
bool thread_sleep(std::atomic<std::uint32_t>& word, std::uint64_t deadline_ns) noexcept {
#if defined(__linux__)
  timespec ts{};
  timespec* tp = nullptr;
  if (deadline_ns != UINT64_MAX) {
    ts.tv_sec = static_cast<time_t>(deadline_ns / 1000000000u);
    ts.tv_nsec = static_cast<long>(deadline_ns % 1000000000u);
    tp = &ts;
  }
  // Absolute, CLOCK_MONOTONIC (async_now_ns's clock).
  const long r = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                         0u, tp, nullptr, FUTEX_BITSET_MATCH_ANY);
  return !(r == -1 && errno == ETIMEDOUT);
#else
  if (deadline_ns == UINT64_MAX) {
    word.wait(0, std::memory_order_acquire);
    return true;
  }
  if (real_now_ns() >= deadline_ns) return false;
  timespec ts{0, 50000};
  nanosleep(&ts, nullptr);
  return true;
#endif
}

// --- the buffer ------------------------------------------------------------------

// Under the guard: the home thread's ring (buffer, head, count) until the
// channel is shared, then the held channel_ring (channel_ring.h). `home`:
// entered on the home fast path, so not shared and without a channel_ring
// (the home operations skip the load).
channel_ring* ring_of(const channel& c) noexcept { return c.ring.load(std::memory_order_relaxed); }

std::size_t buffered(const channel& c, bool home = false) noexcept {
  if (!home) [[unlikely]] {
    if (const channel_ring* r = ring_of(c)) return ring_count(*r);
  }
  return c.count;
}

// The home thread's ring (no channel_ring): head + count < 2 x capacity, so
// one conditional subtraction wraps an index (a division costs more).
[[gnu::always_inline]] inline void home_push(channel& c, void* msg) noexcept {
  std::size_t i = c.head + c.count;
  if (i >= c.capacity) i -= c.capacity;
  c.buffer[i] = msg;
  ++c.count;
}

[[gnu::always_inline]] inline void* home_pop(channel& c) noexcept {
  void* msg = c.buffer[c.head];
  c.head = c.head + 1 == c.capacity ? 0 : c.head + 1;
  --c.count;
  return msg;
}

void buffer_push(channel& c, void* msg, bool home = false) noexcept {
  if (!home) [[unlikely]] {
    if (channel_ring* r = ring_of(c)) {
      ring_push_held(*r, msg);
      return;
    }
  }
  home_push(c, msg);
}

void* buffer_pop(channel& c, bool home = false) noexcept {
  if (!home) [[unlikely]] {
    if (channel_ring* r = ring_of(c)) return ring_pop_held(*r);
  }
  return home_pop(c);
}

// Held, unbuffered: takes the message a spinning sender has on offer (it
// waited longer than any parked sender: those parked after the offer was
// made). Not once closed: the close refused what was out, and an offer
// published after it is taken back by its sender, undelivered.
[[gnu::noinline]] bool take_offer(channel& c, void** msg) noexcept {
  channel_ring* r = ring_of(c);
  if (r == nullptr || r->capacity != 0 || c.closed) return false;
  return offer_answer(*r, offer_word::taken, msg);
}

// The first operation under the lock of a shared channel replaces its
// buffer with a channel_ring holding the same messages (unbuffered: a
// channel_ring with only an offer word). Nobody touches the buffer without
// the lock any more: the home thread takes it too once the channel is
// shared. Out of memory, the buffer stays, and so does every operation under
// the lock; the next one tries again.
[[gnu::noinline]] channel_ring* make_ring(channel& c) noexcept {
  if (c.closed || c.magic != channel_magic) return nullptr;
  channel_ring* r = ring_new(c.capacity, c.count, [&c](std::size_t i) { return c.buffer[(c.head + i) % c.capacity]; });
  if (r == nullptr) return nullptr;
  delete_array(c.buffer, c.capacity);
  c.buffer = nullptr;
  c.head = c.count = 0;
  c.ring.store(r, std::memory_order_release);
  return r;
}

// Entering and leaving a channel (any thread): on the lock path, the ring is
// held while the lock is, and given back to the lock-free operations when
// nobody waits on the channel and it is open.
void hold_ring(channel& c) noexcept {
  channel_ring* r = ring_of(c);
  if (r == nullptr) r = make_ring(c);
  if (r != nullptr) ring_hold(*r);
}

void unhold_ring(channel& c) noexcept {
  channel_ring* r = ring_of(c);
  if (r != nullptr && !c.closed && c.senders.empty() && c.receivers.empty() && c.sel_linked == 0) ring_release(*r);
}

[[gnu::always_inline]] inline bool chan_enter(channel& c) noexcept {
  const bool home = enter(c.g);
  if (!home) [[unlikely]] hold_ring(c);
  return home;
}

// chan_enter's shared half, for a caller that tried the home path first.
void chan_enter_shared(channel& c) noexcept {
  enter_shared(c.g);
  hold_ring(c);
}

[[gnu::always_inline]] inline void chan_leave(channel& c, bool home) noexcept {
  if (!home) [[unlikely]] unhold_ring(c);
  leave(c.g, home);
}

// The lock of a shared channel, for a thread that is not in a fiber.
void chan_lock(channel& c) noexcept ASYNC_TS_NO_ANALYSIS {
  guard_lock(c.g);
  hold_ring(c);
}

void chan_unlock(channel& c) noexcept ASYNC_TS_NO_ANALYSIS {
  unhold_ring(c);
  c.g.lock.unlock();
}

struct chan_guard {
  channel& c;
  bool home;
  explicit chan_guard(channel& ch) noexcept : c(ch), home(chan_enter(ch)) {}
  ~chan_guard() { chan_leave(c, home); }
  chan_guard(const chan_guard&) = delete;
  chan_guard& operator=(const chan_guard&) = delete;
};

// A fiber that finds a shared channel's ring full (sending) or empty
// (receiving) while its runtime has nothing else to run keeps trying it for
// up to the runtime's spin limit (docs/design.md, "The spin before
// sleeping") before it takes the lock and parks. A parked waiter holds the
// ring (channel_ring.h), so every message of a stream would then be a
// hand-off under the lock and a wake across threads; spinning, the other
// side's next operation stays lock-free and this one takes what piled up.
// It stops at once when the ring is held (a waiter, a close) or the inbox
// has something for the runtime, and yields ring_first_yield_ns after its
// first clock read and then every spin_yield_ns (remote.h: the other side
// may be waiting for this very CPU, and a ping-pong between runtimes that
// share one CPU pays this spin at every hop).
//
// Each round polls first and pauses after, and the clock is read every 16
// polls, first after 16, not on entry (the limit counts from there): most
// spins end sooner, and a pause or a clock read (tens of nanoseconds here)
// before the poll delays the one that sees the other side's move
// (docs/benchmarks.md, "Spinners named by their runtime").
// The first yield of a ring spin: this long after its first clock read
// (which comes 16 polls in: 400 ns here, where `pause` takes 25 ns, but
// 100-200 ns on a CPU with a short one), so that a spin across two CPUs,
// which ends within a round trip (about 100 ns), does not make a system
// call on such a CPU either.
inline constexpr std::uint64_t ring_first_yield_ns = 250;

template <class Attempt>
[[gnu::noinline]] bool spin_on_ring(runtime& rt, Attempt attempt) noexcept {
  if (!rt.run_queue.empty()) return false;
  std::uint64_t start = 0;
  std::uint64_t yielded = 0;
  for (unsigned i = 1;; ++i) {
    const ring_try got = attempt();
    if (got != ring_try::busy) return got == ring_try::done;
    cpu_relax();
    if ((i & 15) != 0) continue;
    if (rt.in.maybe_nonempty()) return false;
    const std::uint64_t now = real_now_ns();
    if (start == 0) start = now;
    if (now - start >= rt.inbox_spin_ns) return false;
    if (now >= (yielded == 0 ? start + ring_first_yield_ns : yielded + spin_yield_ns)) {
      sched_yield();
      yielded = now;
    }
  }
}

// A fiber spinning on a ring, named in its runtime: a channel's shutdown
// (which may come from another thread while fibers wait on the channel, and
// wakes them) frees the ring only once no runtime names it. A count in the
// ring did this before, at two locked operations on a line that both sides
// of a ping-pong wrote, for every spin (12-15 ns of a 100-ns round trip
// across threads; docs/benchmarks.md, "Spinners named by their runtime").
// The name is a plain store on the owner's own line: the shutdown's
// barrier_all_threads() makes it visible to the shutdown's scan, unless the
// spin began after the shutdown did (a call racing the shutdown: docs/
// design.md, "Who may free a ring"). The spin never switches fibers, so one
// name per runtime is enough.
struct ring_spinner {
  runtime& rt;
  ring_spinner(runtime& owner, const channel_ring& ring) noexcept : rt(owner) {
    ASYNC_ASSERT(rt.spinning_ring.load(std::memory_order_relaxed) == nullptr);
    // Release: what the call did before is in the past of a shutdown that sees the name.
    rt.spinning_ring.store(&ring, std::memory_order_release);
    light_barrier();
  }
  ~ring_spinner() { rt.spinning_ring.store(nullptr, std::memory_order_release); }
  ring_spinner(const ring_spinner&) = delete;
  ring_spinner& operator=(const ring_spinner&) = delete;
};

// The lock-free attempts, before any lock: they succeed only on a shared
// channel's ring while nobody waits on it (channel_ring.h). `spinner`: the
// calling fiber, when it may wait (nullptr: one attempt).
[[gnu::always_inline]] inline bool try_send_lock_free(channel& c, void* msg, task* spinner) noexcept {
  if (c.capacity == 0) return false;  // unbuffered: send_by_offer
  channel_ring* r = c.ring.load(std::memory_order_acquire);
  if (r == nullptr) return false;
  const ring_try got = ring_try_push(*r, msg);
  if (got != ring_try::busy || spinner == nullptr) return got == ring_try::done;
  ring_spinner named(*spinner->rt, *r);
  return spin_on_ring(*spinner->rt, [r, msg] { return ring_try_push(*r, msg); });
}

[[gnu::always_inline]] inline bool try_recv_lock_free(channel& c, void** msg, task* spinner) noexcept {
  channel_ring* r = c.ring.load(std::memory_order_acquire);
  if (r == nullptr) return false;
  if (c.capacity == 0) {
    const ring_try got = offer_try_take(*r, msg);
    if (got != ring_try::busy || spinner == nullptr) return got == ring_try::done;
    ring_spinner named(*spinner->rt, *r);
    return spin_on_ring(*spinner->rt, [r, msg] { return offer_try_take(*r, msg); });
  }
  const ring_try got = ring_try_pop(*r, msg);
  if (got != ring_try::busy || spinner == nullptr) return got == ring_try::done;
  ring_spinner named(*spinner->rt, *r);
  return spin_on_ring(*spinner->rt, [r, msg] { return ring_try_pop(*r, msg); });
}

// A send on a shared unbuffered channel, by a fiber that may wait while its
// runtime has nothing else to run: the message goes on offer (one at a time)
// and the fiber spins until a receiver takes it, so a receiver that spins
// too meets it without the lock or a wake. Returns ASYNC_OK (taken),
// ASYNC_ECLOSED (a close refused it), or ASYNC_EAGAIN once the caller holds
// the channel's lock and the message is not on offer (it never was, or it
// was taken back after the spin): the send goes on as any other.
[[gnu::noinline]] async_status_t send_by_offer(channel& c, channel_ring& r, runtime& rt, void* msg) noexcept {
  using namespace offer_word;
  ring_spinner named(rt, r);
  std::uint64_t gen = 0;
  const ring_try first = offer_try_place(r, msg, gen);
  const bool placed =
      first == ring_try::done ||
      (first == ring_try::busy && spin_on_ring(rt, [&r, msg, &gen] { return offer_try_place(r, msg, gen); }));
  if (!placed) {
    chan_enter_shared(c);
    return ASYNC_EAGAIN;
  }
  // Until answered, the word is this offer out (the held bit aside).
  const std::uint64_t offered = make(gen, out);
  const auto word = [&r] { return r.offer.word.load(std::memory_order_acquire) & ~held; };
  (void)spin_on_ring(rt, [&word, offered] { return word() != offered ? ring_try::done : ring_try::busy; });
  if (word() == offered) {
    std::uint64_t w = offered;
    if (r.offer.word.compare_exchange_strong(w, make(gen, free_slot), std::memory_order_acq_rel)) {
      chan_enter_shared(c);  // taken back
      return ASYNC_EAGAIN;
    }
    if ((w & ~held) == offered) {
      // Held with the offer out: under the lock it is either still out
      // (taken back now) or was answered by the holder.
      chan_enter_shared(c);
      if (word() == offered) {
        r.offer.word.store(make(gen, free_slot) | held, std::memory_order_release);
        return ASYNC_EAGAIN;
      }
      chan_leave(c, false);
    }
  }
  return offer_refused(word(), gen) ? ASYNC_ECLOSED : ASYNC_OK;
}

// A shared channel's send or receive: done lock-free (send: its status;
// receive: true), or under the lock with the ring held (send: ASYNC_EAGAIN;
// receive: false). Out of line: the home fast path stays small. A cancelled
// fiber that may wait gets ECANCELED under the lock instead.
[[gnu::noinline]] async_status_t send_shared_first(channel& c, task* self, void* msg, wait_mode mode) noexcept {
  const bool may_wait = self != nullptr && mode != wait_mode::never;
  if (!(may_wait && self->cancelled)) {
    if (try_send_lock_free(c, msg, may_wait ? self : nullptr)) return ASYNC_OK;
    // Buffered, a spin that ended must not touch the ring again (a shutdown
    // may have freed it once the spin left): c.capacity, not the ring's.
    if (may_wait && c.capacity == 0 && self->rt->run_queue.empty()) {
      if (channel_ring* r = c.ring.load(std::memory_order_acquire)) return send_by_offer(c, *r, *self->rt, msg);
    }
  }
  chan_enter_shared(c);
  return ASYNC_EAGAIN;
}

[[gnu::noinline]] bool recv_shared_first(channel& c, task* self, void** msg, wait_mode mode) noexcept {
  const bool may_wait = self != nullptr && mode != wait_mode::never;
  if (!(may_wait && self->cancelled) && try_recv_lock_free(c, msg, may_wait ? self : nullptr)) return true;
  chan_enter_shared(c);
  return false;
}

// --- completing a waiter ---------------------------------------------------------

plain_wait* wait_of(const task* t) noexcept { return static_cast<plain_wait*>(t->xfer); }

// --- select nodes -------------------------------------------------------------

select_node* node_of(async_select_case_t& sc) noexcept { return reinterpret_cast<select_node*>(sc.impl); }

async_select_case_t& case_of(select_node* n) noexcept {
  return *reinterpret_cast<async_select_case_t*>(reinterpret_cast<char*>(n) - offsetof(async_select_case_t, impl));
}

// Whether the node's select still waits: neither completed (by this or
// another channel) nor withdrawn by its timer or a cancel.
bool select_live(const select_node* n) noexcept {
  return n->call->chosen.load(std::memory_order_acquire) == none;
}

// Takes the node's select for its case; false when something else did.
bool claim(select_node* n) noexcept {
  select_call& call = *n->call;
  std::size_t expected = none;
  const auto index = static_cast<std::size_t>(&case_of(n) - call.cases);
  return call.chosen.compare_exchange_strong(expected, index, std::memory_order_acq_rel);
}

void sel_push(channel& c, select_list& l, select_node* n) noexcept {
  l.push_back(n);
  n->ticket.store(++c.tickets, std::memory_order_relaxed);
  ++c.sel_linked;
}

// Takes `n` off `l` but leaves its ticket set: for a node whose select the
// caller completes, the ticket is cleared last (sel_release), after the wake.
void sel_unlink(channel& c, select_list& l, select_node* n) noexcept {
  l.remove(n);
  --c.sel_linked;
}

// The node is off its list and nobody will touch it again: its select may
// return once it sees this (and otherwise takes the channel's guard first).
void sel_release(select_node* n) noexcept { n->ticket.store(0, std::memory_order_release); }

void sel_remove(channel& c, select_list& l, select_node* n) noexcept {
  sel_unlink(c, l, n);
  sel_release(n);
}

// The first live node of `l`; dead ones met on the way are unlinked.
select_node* sel_first_live(channel& c, select_list& l) noexcept {
  while (select_node* n = l.head) {
    if (select_live(n)) return n;
    sel_remove(c, l, n);
  }
  return nullptr;
}

// Wakes the select of node `n` (claimed and unlinked) with `st`.
void complete(channel& c, select_node* n, async_status_t st) noexcept { deliver(c.g, n->call->self, st); }

// --- parked counterparts ------------------------------------------------------

std::uint64_t ticket_of(const task* t) noexcept { return wait_of(t)->ticket; }

// The parked waiter one side of the channel serves first: the plain one or
// the select case that began waiting first. Both null when none waits. A
// select case returned is claimed: the caller completes it.
struct peer {
  task* t = nullptr;
  select_node* n = nullptr;
  explicit operator bool() const noexcept { return t != nullptr || n != nullptr; }
};

[[gnu::noinline]] peer first_peer_mixed(channel& c, task_list& plain, select_list& sel) noexcept {
  for (;;) {
    select_node* n = sel_first_live(c, sel);
    task* t = plain.head;
    if (n == nullptr || (t != nullptr && ticket_of(t) < n->ticket.load(std::memory_order_relaxed))) {
      return peer{t, nullptr};
    }
    if (claim(n)) return peer{nullptr, n};
    sel_remove(c, sel, n);  // another channel's operation completed its select meanwhile
  }
}

inline peer first_peer(channel& c, task_list& plain, select_list& sel) noexcept {
  if (c.sel_linked == 0) [[likely]] return peer{plain.head, nullptr};
  return first_peer_mixed(c, plain, sel);
}

[[gnu::noinline]] void give_select(channel& c, select_node* n, void* msg) noexcept {
  sel_unlink(c, c.sel_receivers, n);
  case_of(n).msg = msg;
  complete(c, n, ASYNC_OK);
  sel_release(n);
}

[[gnu::noinline]] void* take_select(channel& c, select_node* n) noexcept {
  sel_unlink(c, c.sel_senders, n);
  void* msg = case_of(n).msg;
  complete(c, n, ASYNC_OK);
  sel_release(n);
  return msg;
}

// The last write to a completed plain waiter, after its wake: from here on
// its wait record may be gone. A waiter that runs again and still sees its
// list set takes the channel's guard first (which the completer holds until
// after this store), so it never leaves before the completer is done with it.
inline void release_wait(plain_wait* w) noexcept { w->list.store(nullptr, std::memory_order_release); }

// Gives `msg` to the parked receiver `r`, which becomes runnable with ASYNC_OK.
inline void give(channel& c, peer r, void* msg) noexcept {
  if (r.t != nullptr) [[likely]] {
    c.receivers.pop_front();  // r.t is the head
    plain_wait* w = wait_of(r.t);
    *static_cast<void**>(w->xfer) = msg;
    deliver(c.g, r.t, ASYNC_OK);
    release_wait(w);
    return;
  }
  give_select(c, r.n, msg);
}

// Takes the message of the parked sender `s`, which becomes runnable with ASYNC_OK.
inline void* take(channel& c, peer s) noexcept {
  if (s.t != nullptr) [[likely]] {
    c.senders.pop_front();  // s.t is the head
    plain_wait* w = wait_of(s.t);
    void* msg = w->xfer;
    deliver(c.g, s.t, ASYNC_OK);
    release_wait(w);
    return msg;
  }
  return take_select(c, s.n);
}

// --- withdrawing a wait (timers, cancels, a runtime's shutdown) -----------------

// task::wait_abort of a plain channel wait.
bool plain_abort(task* t, bool /*detach*/) noexcept {
  plain_wait* w = wait_of(t);
  // Completed already: its channel may even be gone; the wake is on its way.
  if (w->list.load(std::memory_order_acquire) == nullptr) return false;
  channel& c = *w->ch;
  chan_guard g(c);
  task_list* l = w->list.load(std::memory_order_relaxed);
  if (l == nullptr) return false;
  l->remove(t);
  w->list.store(nullptr, std::memory_order_relaxed);
  return true;
}

// Unlinks every node of `call` still linked.
void unlink_all(select_call& call) noexcept {
  for (std::size_t i = 0; i < call.n; ++i) {
    async_select_case_t& sc = call.cases[i];
    select_node* node = node_of(sc);
    if (sc.ch == nullptr || node->ticket.load(std::memory_order_acquire) == 0) continue;
    channel& c = channel_of(sc.ch);
    chan_guard g(c);
    if (node->ticket.load(std::memory_order_relaxed) != 0) {
      sel_remove(c, sc.op == ASYNC_SELECT_SEND ? c.sel_senders : c.sel_receivers, node);
    }
  }
}

// task::wait_abort of a select.
bool select_abort(task* t, bool detach) noexcept {
  select_call& call = *static_cast<select_call*>(t->xfer);
  std::size_t expected = none;
  const bool won = call.chosen.compare_exchange_strong(expected, withdrawn, std::memory_order_acq_rel);
  if (detach) unlink_all(call);  // the fiber will never run again to do it
  return won;
}

// --- the operations without waiting -------------------------------------------

// A send on an open channel: ASYNC_OK (handed to the parked receiver that
// waited longest, plain or select, or buffered) or ASYNC_EAGAIN.
[[gnu::noinline]] async_status_t send_ready(channel& c, void* msg) noexcept {
  if (peer r = first_peer(c, c.receivers, c.sel_receivers)) {  // parked only while the buffer is empty
    give(c, r, msg);
    return ASYNC_OK;
  }
  if (buffered(c) < c.capacity) {
    buffer_push(c, msg);
    return ASYNC_OK;
  }
  return ASYNC_EAGAIN;
}

// ASYNC_OK, ASYNC_ECLOSED (closed and drained) or ASYNC_EAGAIN.
[[gnu::noinline]] async_status_t recv_ready(channel& c, void** msg) noexcept {
  if (buffered(c) != 0) {
    *msg = buffer_pop(c);
    if (peer s = first_peer(c, c.senders, c.sel_senders)) {  // its message takes the freed slot, in order
      buffer_push(c, take(c, s));
    }
    return ASYNC_OK;
  }
  if (take_offer(c, msg)) return ASYNC_OK;  // unbuffered: from a spinning sender, or a parked one
  if (peer s = first_peer(c, c.senders, c.sel_senders)) {  // unbuffered: take it from the sender
    *msg = take(c, s);
    return ASYNC_OK;
  }
  return c.closed ? ASYNC_ECLOSED : ASYNC_EAGAIN;
}

bool has_room_for_waiter(const channel& c) noexcept {
  return c.max_waiters == 0 || c.senders.size() + c.receivers.size() + c.sel_linked < c.max_waiters;
}

// Leaves `c` and returns `st`.
[[gnu::always_inline]] inline async_status_t done(channel& c, bool home, async_status_t st) noexcept {
  chan_leave(c, home);
  return st;
}

// Parks `self` on `list` with `xfer`, until woken or `deadline_ns`. Entered
// with c's guard, which it leaves.
[[gnu::always_inline]] inline async_status_t wait_in(channel& c, bool home, task* self, task_list& list, void* xfer,
                                                     wait_mode mode, std::uint64_t deadline_ns) noexcept {
  if (self->cancelled) return done(c, home, ASYNC_ECANCELED);
  if (!has_room_for_waiter(c)) return done(c, home, ASYNC_EFULL);
  plain_wait w{xfer, c.tickets, &c, &list};
  self->xfer = &w;
  self->state = task_state::parked;
  self->wait = &list == &c.senders ? wait_kind::chan_send : wait_kind::chan_recv;
  list.push_back(self);
  self->wait_abort = &plain_abort;
  runtime& rt = *self->rt;
  if (mode == wait_mode::until) rt.timers.arm(self, deadline_ns);
  // On a shared channel the fiber waits for other threads: its runtime must
  // keep waiting for them instead of reporting a deadlock.
  const bool foreign = !home;
  if (foreign) begin_foreign_wait(rt);
  chan_leave(c, home);
  const async_status_t st = park(self);
  if (foreign) end_foreign_wait(rt);
  self->wait_abort = nullptr;
  // Completed by another thread that may not be done with `w` yet (see
  // release_wait): wait for it through the channel's guard.
  if (w.list.load(std::memory_order_acquire) != nullptr) [[unlikely]] {
    leave(c.g, enter(c.g));
  }
  return st;
}

// channel_send and channel_recv while select cases are parked on the channel.
[[gnu::noinline]] async_status_t send_mixed(channel& c, bool home, task* self, void* msg, wait_mode mode,
                                            std::uint64_t deadline_ns) noexcept {
  const async_status_t st = send_ready(c, msg);
  if (st == ASYNC_OK || mode == wait_mode::never) return done(c, home, st);
  return wait_in(c, home, self, c.senders, msg, mode, deadline_ns);
}

[[gnu::noinline]] async_status_t recv_mixed(channel& c, bool home, task* self, void** msg, wait_mode mode,
                                            std::uint64_t deadline_ns) noexcept {
  const async_status_t st = recv_ready(c, msg);
  if (st != ASYNC_EAGAIN || mode == wait_mode::never) return done(c, home, st);
  return wait_in(c, home, self, c.receivers, msg, mode, deadline_ns);
}

// A thread (not a fiber) waits on `list`; entered holding c's lock (the
// channel is shared), which it leaves. Unchecked by -Wthread-safety: the lock
// is released through done()/leave(), which skip it on the home fast path.
async_status_t thread_wait_in(channel& c, task_list& list, void* xfer, wait_mode mode,
                              std::uint64_t deadline_ns) noexcept ASYNC_TS_NO_ANALYSIS {
  // A plain thread: its deadlines are on the real clock, virtual time or not.
  if (mode == wait_mode::until && deadline_ns <= real_now_ns()) return done(c, false, ASYNC_ETIMEDOUT);
  if (!has_room_for_waiter(c)) return done(c, false, ASYNC_EFULL);
  task self{};  // rt == nullptr: a thread; remote.node.pending is its word
  plain_wait w{xfer, c.tickets, &c, &list};
  self.xfer = &w;
  self.state = task_state::parked;
  list.push_back(&self);
  chan_unlock(c);
  std::atomic<std::uint32_t>& word = self.remote.node.pending;
  const std::uint64_t deadline = mode == wait_mode::until ? deadline_ns : UINT64_MAX;
  while (word.load(std::memory_order_acquire) == 0) {
    if (!thread_sleep(word, deadline)) break;  // timed out: the lock decides below
  }
  // Under the lock: whoever completed us did so (and is done with `self`)
  // before we get it; if nobody did, we leave the list ourselves.
  chan_lock(c);
  struct unlocker {
    channel& c;
    ~unlocker() { chan_unlock(c); }
  } u{c};
  if (w.list.load(std::memory_order_relaxed) != nullptr) {
    list.remove(&self);
    w.list.store(nullptr, std::memory_order_relaxed);
    return ASYNC_ETIMEDOUT;
  }
  return self.wake_status;
}

// Enters every distinct channel of the cases, in address order (so two
// selects never wait for each other). Channels of other home threads are
// made shared first, while nothing is held.
void enter_all(async_select_case_t* cases, std::size_t n) noexcept {
  const void* me = thread_token();
  for (std::size_t i = 0; i < n; ++i) {
    if (cases[i].ch == nullptr) continue;
    channel& c = channel_of(cases[i].ch);
    if (c.g.home != me) ensure_shared(c.g);
  }
  channel* last = nullptr;
  for (;;) {
    channel* next = nullptr;
    for (std::size_t i = 0; i < n; ++i) {
      if (cases[i].ch == nullptr) continue;
      channel* c = &channel_of(cases[i].ch);
      if ((last == nullptr || c > last) && (next == nullptr || c < next)) next = c;
    }
    if (next == nullptr) return;
    chan_enter(*next);
    last = next;
  }
}

void leave_all(async_select_case_t* cases, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (cases[i].ch == nullptr) continue;
    bool first = true;
    for (std::size_t j = 0; j < i && first; ++j) first = cases[j].ch != cases[i].ch;
    if (first) {
      channel& c = channel_of(cases[i].ch);
      chan_leave(c, entered_at_home(c.g));
    }
  }
}

// Wakes every waiter on one side of a closing channel with ASYNC_ECLOSED, in
// the order they began waiting: the plain ones on `plain`, the select cases
// on `sel` (dead select nodes met on the way are unlinked).
void close_side(channel& c, task_list& plain, select_list& sel) noexcept {
  while (peer p = first_peer(c, plain, sel)) {
    if (p.t != nullptr) {
      plain.remove(p.t);
      plain_wait* w = wait_of(p.t);
      deliver(c.g, p.t, ASYNC_ECLOSED);
      release_wait(w);
    } else {
      sel_unlink(c, sel, p.n);
      complete(c, p.n, ASYNC_ECLOSED);
      sel_release(p.n);
    }
  }
}

async_status_t close_entered(channel& c) noexcept {
  if (c.closed) return ASYNC_ECLOSED;
  c.closed = true;
  // A spinning sender's offer is refused like a parked sender's message.
  channel_ring* r = ring_of(c);
  if (r != nullptr && r->capacity == 0) (void)offer_answer(*r, offer_word::refused, nullptr);
  // Senders first; their messages are not delivered. Receivers are parked
  // only on an empty buffer: nothing is left to drain. Afterwards no select
  // node is linked on the closed channel (a select finds it ready).
  close_side(c, c.senders, c.sel_senders);
  close_side(c, c.receivers, c.sel_receivers);
  return ASYNC_OK;
}

}  // namespace

checked_mutex& channel_lists_lock() noexcept {
  static checked_mutex* lock = new checked_mutex;  // never destroyed: used at thread exit
  return *lock;
}

async_status_t channel_init(async_channel_t* ch, runtime& rt, std::size_t capacity,
                            std::size_t max_waiters, bool shared) noexcept {
  home_guard_setup();  // before any operation on any channel
  void** buffer = nullptr;
  if (capacity != 0) {
    buffer = new_array<void*>(capacity);  // nullptr also when the size overflows
    if (buffer == nullptr) return ASYNC_ENOMEM;
  }
  auto* c = new (static_cast<void*>(ch->impl)) channel{};
  c->rt = &rt;
  c->buffer = buffer;
  c->capacity = capacity;
  c->max_waiters = static_cast<std::uint32_t>(max_waiters < UINT32_MAX ? max_waiters : UINT32_MAX);
  home_guard_init(c->g, rt.owner, shared);
  c->magic = channel_magic;
  ch->capacity = capacity;
  checked_guard guard(channel_lists_lock());
  rt.channels.push_front(c);
  return ASYNC_OK;
}

namespace {

// channel_send after its home fast path: a shared channel, select cases
// parked, a closed channel, a cancelled caller, a timed waiter, a full
// buffer (parks). Out of line, so that the fast path makes no call (and
// saves no registers). Before select existed, the plain operations were
// this path alone; the test of sel_linked hands everything to the *_mixed
// paths when select cases are parked on the channel.
[[gnu::noinline]] async_status_t send_general(channel& c, bool home, task* self, void* msg, wait_mode mode,
                                              std::uint64_t deadline_ns) noexcept {
  if (!home) {
    const async_status_t st = send_shared_first(c, self, msg, mode);
    if (st != ASYNC_EAGAIN) return st;
  }
  if (c.closed) return done(c, home, ASYNC_ECLOSED);
  if (self != nullptr && self->cancelled && mode != wait_mode::never) return done(c, home, ASYNC_ECANCELED);
  if (c.sel_linked != 0) [[unlikely]] return send_mixed(c, home, self, msg, mode, deadline_ns);
  if (task* r = c.receivers.pop_front()) {  // parked only while the buffer is empty
    plain_wait* w = wait_of(r);
    *static_cast<void**>(w->xfer) = msg;
    home ? wake_plain(r, ASYNC_OK) : deliver_shared(r, ASYNC_OK);
    release_wait(w);
    return done(c, home, ASYNC_OK);
  }
  if (buffered(c, home) < c.capacity) {
    buffer_push(c, msg, home);
    return done(c, home, ASYNC_OK);
  }
  if (mode == wait_mode::never) return done(c, home, ASYNC_EAGAIN);
  // OK: a receiver took the message (or pulled it into the buffer);
  // ECLOSED / ECANCELED / ETIMEDOUT: we left the list, undelivered.
  return wait_in(c, home, self, c.senders, msg, mode, deadline_ns);
}

// channel_recv after its home fast path, as send_general.
[[gnu::noinline]] async_status_t recv_general(channel& c, bool home, task* self, void** msg, wait_mode mode,
                                              std::uint64_t deadline_ns) noexcept {
  if (!home && recv_shared_first(c, self, msg, mode)) return ASYNC_OK;
  if (self != nullptr && self->cancelled && mode != wait_mode::never) return done(c, home, ASYNC_ECANCELED);
  if (c.sel_linked != 0) [[unlikely]] return recv_mixed(c, home, self, msg, mode, deadline_ns);
  if (buffered(c, home) != 0) {
    *msg = buffer_pop(c, home);
    if (task* s = c.senders.pop_front()) {  // its message takes the freed slot, in order
      plain_wait* w = wait_of(s);
      buffer_push(c, w->xfer, home);
      home ? wake_plain(s, ASYNC_OK) : deliver_shared(s, ASYNC_OK);
      release_wait(w);
    }
    return done(c, home, ASYNC_OK);
  }
  if (!home && take_offer(c, msg)) return done(c, home, ASYNC_OK);
  if (task* s = c.senders.pop_front()) {  // unbuffered: take it from the sender
    plain_wait* w = wait_of(s);
    *msg = w->xfer;
    home ? wake_plain(s, ASYNC_OK) : deliver_shared(s, ASYNC_OK);
    release_wait(w);
    return done(c, home, ASYNC_OK);
  }
  if (c.closed) return done(c, home, ASYNC_ECLOSED);
  if (mode == wait_mode::never) return done(c, home, ASYNC_EAGAIN);
  return wait_in(c, home, self, c.receivers, msg, mode, deadline_ns);
}

// Whether an operation entered on the home fast path may complete without
// leaving it: no select case parked, and the caller not cancelled (a
// cancelled fiber that may wait gets ECANCELED from the general path).
[[gnu::always_inline]] inline bool home_plain(const channel& c, const task* self, wait_mode mode) noexcept {
  return c.sel_linked == 0 && !(self != nullptr && self->cancelled && mode != wait_mode::never);
}

// The home fast path's wait (the general path with everything known but the
// room for a waiter): parks `self` on `list`, as wait_in.
[[gnu::noinline]] async_status_t wait_home(channel& c, task* self, task_list& list, void* xfer, wait_mode mode,
                                           std::uint64_t deadline_ns) noexcept {
  return wait_in(c, true, self, list, xfer, mode, deadline_ns);
}

// Takes the parked plain waiter `t` off the head of `list`; returns its wait.
[[gnu::always_inline]] inline plain_wait* take_head(task_list& list, task* t) noexcept {
  list.pop_front();
  return wait_of(t);
}

}  // namespace

// The plain calls' fast paths: on the home thread, with no select case
// parked, a message meets the parked counterpart (untimed) or the buffer,
// without a call; everything else is the general path.
async_status_t channel_send(channel& c, task* self, void* msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept {
  const bool home = try_enter_home(c.g);
  if (home && !c.closed && home_plain(c, self, mode)) [[likely]] {
    if (task* r = c.receivers.head) {  // parked only while the buffer is empty
      if (!r->timer_armed) [[likely]] {
        plain_wait* w = take_head(c.receivers, r);
        *static_cast<void**>(w->xfer) = msg;
        wake_untimed(r, ASYNC_OK);
        release_wait(w);
        return done(c, true, ASYNC_OK);
      }
    } else if (c.count < c.capacity) {
      home_push(c, msg);
      return done(c, true, ASYNC_OK);
    } else if (mode != wait_mode::never) {
      // OK: a receiver took the message (or pulled it into the buffer);
      // ECLOSED / ECANCELED / ETIMEDOUT: we left the list, undelivered.
      return wait_home(c, self, c.senders, msg, mode, deadline_ns);
    }
  }
  return send_general(c, home, self, msg, mode, deadline_ns);
}

async_status_t channel_recv(channel& c, task* self, void** msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept {
  const bool home = try_enter_home(c.g);
  if (home && home_plain(c, self, mode)) [[likely]] {
    task* s = c.senders.head;
    if (s == nullptr || !s->timer_armed) [[likely]] {
      if (c.count != 0) {
        *msg = home_pop(c);
        if (s != nullptr) {  // its message takes the freed slot, in order
          plain_wait* w = take_head(c.senders, s);
          home_push(c, w->xfer);
          wake_untimed(s, ASYNC_OK);
          release_wait(w);
        }
        return done(c, true, ASYNC_OK);
      }
      if (s != nullptr) {  // unbuffered: take it from the sender
        plain_wait* w = take_head(c.senders, s);
        *msg = w->xfer;
        wake_untimed(s, ASYNC_OK);
        release_wait(w);
        return done(c, true, ASYNC_OK);
      }
      if (!c.closed && mode != wait_mode::never) return wait_home(c, self, c.receivers, msg, mode, deadline_ns);
    }
  }
  return recv_general(c, home, self, msg, mode, deadline_ns);
}

// Unchecked as thread_wait_in: done() releases the lock taken here.
async_status_t channel_send_thread(channel& c, void* msg, wait_mode mode,
                                   std::uint64_t deadline_ns) noexcept ASYNC_TS_NO_ANALYSIS {
  ensure_shared(c.g);  // a blocked thread is woken only by the shared paths
  if (try_send_lock_free(c, msg, nullptr)) return ASYNC_OK;
  chan_lock(c);
  if (c.closed) return done(c, false, ASYNC_ECLOSED);
  const async_status_t st = send_ready(c, msg);
  if (st == ASYNC_OK || mode == wait_mode::never) return done(c, false, st);
  return thread_wait_in(c, c.senders, msg, mode, deadline_ns);
}

// Unchecked as thread_wait_in.
async_status_t channel_recv_thread(channel& c, void** msg, wait_mode mode,
                                   std::uint64_t deadline_ns) noexcept ASYNC_TS_NO_ANALYSIS {
  ensure_shared(c.g);
  if (try_recv_lock_free(c, msg, nullptr)) return ASYNC_OK;
  chan_lock(c);
  const async_status_t st = recv_ready(c, msg);
  if (st != ASYNC_EAGAIN || mode == wait_mode::never) return done(c, false, st);
  return thread_wait_in(c, c.receivers, msg, mode, deadline_ns);
}

async_status_t channel_close(channel& c) noexcept {
  const bool home = chan_enter(c);
  return done(c, home, close_entered(c));
}

void channel_shutdown(channel& c) noexcept {
  channel_ring* r = nullptr;
  {
    // The lists' lock first, then the channel's guard: the order the
    // runtime's shutdown takes them in (channel_detach_all), so either runs first.
    checked_guard lists(channel_lists_lock());
    // Every waiter left is a fiber of a live runtime (a runtime's shutdown
    // takes its fibers off every channel) or a blocked thread: all are woken.
    const bool home = chan_enter(c);
    if (!c.closed) (void)close_entered(c);
    if (c.magic == channel_magic) {
      // Still attached: out of the runtime's list, which its shutdown walks.
      // (A detached channel's runtime is gone.)
      c.rt->channels.remove(&c);
    }
    delete_array(c.buffer, c.capacity);
    c.buffer = nullptr;
    r = c.ring.exchange(nullptr, std::memory_order_relaxed);
    c.rt = nullptr;
    c.magic = 0;
    leave(c.g, home);
  }
  // Fibers still spinning on the ring see it held (closed) and leave; one
  // may take the channel's lock on its way out, so wait holding nothing.
  if (r != nullptr) {
    barrier_all_threads();  // every spinner's name is visible (ring_spinner)
    for (unsigned i = 0; ring_has_spinner(r); ++i) {
      cpu_relax();
      if (i >= 64) sched_yield();
    }
    ring_delete(r);
  }
}

bool ring_has_spinner(const channel_ring* r) noexcept {
  bool found = false;
  registry_for_each([r, &found](runtime& rt) {
    found = found || rt.spinning_ring.load(std::memory_order_acquire) == r;
  });
  return found;
}

void channel_detach_all(runtime& rt) noexcept {
  checked_guard lists(channel_lists_lock());
  while (channel* c = rt.channels.pop_front()) {
    c->next = c->prev = nullptr;
    const bool home = chan_enter(*c);
    if (!c->closed) (void)close_entered(*c);
    c->rt = nullptr;
    c->magic = channel_detached_magic;
    chan_leave(*c, home);
  }
}

async_status_t channel_select(async_select_case_t* cases, std::size_t n, std::size_t* chosen, task* self,
                              wait_mode mode, std::uint64_t deadline_ns) noexcept {
  if (chosen != nullptr) *chosen = none;
  bool enabled = false;
  for (std::size_t i = 0; i < n; ++i) {
    cases[i].status = ASYNC_EAGAIN;
    enabled = enabled || cases[i].ch != nullptr;
  }
  if (self != nullptr && self->cancelled && mode != wait_mode::never) return ASYNC_ECANCELED;

  // Every channel is held from the scan to the parking, so no operation on
  // any of them can come in between and be missed.
  enter_all(cases, n);
  // The first ready case in argument order.
  for (std::size_t i = 0; i < n; ++i) {
    async_select_case_t& sc = cases[i];
    if (sc.ch == nullptr) continue;
    channel& c = channel_of(sc.ch);
    async_status_t st;
    if (sc.op == ASYNC_SELECT_SEND) {
      st = c.closed ? ASYNC_ECLOSED : send_ready(c, sc.msg);
    } else {
      st = recv_ready(c, &sc.msg);
    }
    if (st != ASYNC_EAGAIN) {
      leave_all(cases, n);
      sc.status = st;
      if (chosen != nullptr) *chosen = i;
      return st;
    }
  }
  async_status_t early = ASYNC_OK;
  if (mode == wait_mode::never) {
    early = ASYNC_EAGAIN;
  } else if (mode == wait_mode::until && deadline_ns <= clock_ns(*self->rt)) {
    early = ASYNC_ETIMEDOUT;
  } else if (!enabled && mode == wait_mode::forever) {
    early = ASYNC_EINVAL;  // would wait forever
  }
  if (early != ASYNC_OK) {
    leave_all(cases, n);
    return early;
  }

  // Park one node per enabled case, each on its channel's select list.
  select_call call{self, cases, n, {none}};
  bool foreign = false;
  for (std::size_t i = 0; i < n; ++i) {
    async_select_case_t& sc = cases[i];
    if (sc.ch == nullptr) continue;
    channel& c = channel_of(sc.ch);
    select_node* node = node_of(sc);
    node->call = &call;
    if (!has_room_for_waiter(c)) {
      for (std::size_t j = 0; j < i; ++j) {
        if (cases[j].ch == nullptr) continue;
        channel& cj = channel_of(cases[j].ch);
        sel_remove(cj, cases[j].op == ASYNC_SELECT_SEND ? cj.sel_senders : cj.sel_receivers, node_of(cases[j]));
      }
      leave_all(cases, n);
      return ASYNC_EFULL;
    }
    sel_push(c, sc.op == ASYNC_SELECT_SEND ? c.sel_senders : c.sel_receivers, node);
    foreign = foreign || c.g.shared.load(std::memory_order_relaxed);
  }
  self->xfer = &call;
  self->state = task_state::parked;
  self->wait = wait_kind::select;
  self->wait_abort = &select_abort;
  runtime& rt = *self->rt;
  if (mode == wait_mode::until) rt.timers.arm(self, deadline_ns);
  if (foreign) begin_foreign_wait(rt);
  leave_all(cases, n);
  const async_status_t st = park(self);
  if (foreign) end_foreign_wait(rt);
  self->wait_abort = nullptr;

  // Leave every channel the operation that woke us did not already unlink us from.
  unlink_all(call);
  const std::size_t got = call.chosen.load(std::memory_order_acquire);
  if (got >= withdrawn) return st;  // ECANCELED, ETIMEDOUT: nothing done
  cases[got].status = st;
  if (chosen != nullptr) *chosen = got;
  return st;
}

}  // namespace async::detail
