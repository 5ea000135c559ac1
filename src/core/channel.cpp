// SPDX-License-Identifier: MIT
// channel.cpp: the channel operations and select (see channel.h).
#include "channel.h"

#include <cstddef>
#include <new>

#include "alloc.h"

namespace async::detail {

static_assert(sizeof(channel) <= sizeof(async_channel_t::impl), "channel state must fit async_channel_t");
static_assert(alignof(channel) <= alignof(void*), "async_channel_t is pointer-aligned");
static_assert(sizeof(select_node) <= sizeof(async_select_case_t::impl), "a select node must fit its case");
static_assert(alignof(select_node) <= alignof(void*), "async_select_case_t is pointer-aligned");

namespace {

constexpr std::size_t none = SIZE_MAX;

// --- select nodes -------------------------------------------------------------

select_node* node_of(async_select_case_t& sc) noexcept { return reinterpret_cast<select_node*>(sc.impl); }

async_select_case_t& case_of(select_node* n) noexcept {
  return *reinterpret_cast<async_select_case_t*>(reinterpret_cast<char*>(n) - offsetof(async_select_case_t, impl));
}

// Whether the node's select still waits: neither completed nor woken by its
// timer or a cancel. Its fiber unlinks its nodes first thing when it runs
// again, so until then "still parked" is exactly "still waiting".
bool select_live(const select_node* n) noexcept {
  return n->call->chosen == none && n->call->self->state == task_state::parked;
}

void sel_push(channel& c, select_list& l, select_node* n) noexcept {
  n->next = nullptr;
  n->prev = l.tail;
  if (l.tail != nullptr) {
    l.tail->next = n;
  } else {
    l.head = n;
  }
  l.tail = n;
  n->ticket = ++c.tickets;
  ++c.sel_linked;
}

void sel_remove(channel& c, select_list& l, select_node* n) noexcept {
  if (n->prev != nullptr) {
    n->prev->next = n->next;
  } else {
    l.head = n->next;
  }
  if (n->next != nullptr) {
    n->next->prev = n->prev;
  } else {
    l.tail = n->prev;
  }
  n->next = n->prev = nullptr;
  n->ticket = 0;
  --c.sel_linked;
}

// The first live node of `l`; dead ones met on the way are unlinked.
select_node* sel_first_live(channel& c, select_list& l) noexcept {
  while (select_node* n = l.head) {
    if (select_live(n)) return n;
    sel_remove(c, l, n);
  }
  return nullptr;
}

// Completes a parked select with the case of node `n` (already unlinked).
void complete(select_node* n, async_status_t st) noexcept {
  select_call& call = *n->call;
  call.chosen = static_cast<std::size_t>(&case_of(n) - call.cases);
  wake(call.self, st);
}

// --- parked counterparts ------------------------------------------------------

std::uint64_t ticket_of(const task* t) noexcept { return static_cast<const plain_wait*>(t->xfer)->ticket; }

// The parked waiter one side of the channel serves first: the plain one or
// the select case that began waiting first. Both null when none waits.
struct peer {
  task* t = nullptr;
  select_node* n = nullptr;
  explicit operator bool() const noexcept { return t != nullptr || n != nullptr; }
};

[[gnu::noinline]] peer first_peer_mixed(channel& c, task_list& plain, select_list& sel) noexcept {
  select_node* n = sel_first_live(c, sel);
  task* t = plain.head;
  if (n == nullptr || (t != nullptr && ticket_of(t) < n->ticket)) return peer{t, nullptr};
  return peer{nullptr, n};
}

inline peer first_peer(channel& c, task_list& plain, select_list& sel) noexcept {
  if (c.sel_linked == 0) [[likely]] return peer{plain.head, nullptr};
  return first_peer_mixed(c, plain, sel);
}

[[gnu::noinline]] void give_select(channel& c, select_node* n, void* msg) noexcept {
  sel_remove(c, c.sel_receivers, n);
  case_of(n).msg = msg;
  complete(n, ASYNC_OK);
}

[[gnu::noinline]] void* take_select(channel& c, select_node* n) noexcept {
  sel_remove(c, c.sel_senders, n);
  void* msg = case_of(n).msg;
  complete(n, ASYNC_OK);
  return msg;
}

// Gives `msg` to the parked receiver `r`, which becomes runnable with ASYNC_OK.
inline void give(channel& c, peer r, void* msg) noexcept {
  if (r.t != nullptr) [[likely]] {
    c.receivers.pop_front();  // r.t is the head
    r.t->wait_list = nullptr;
    *static_cast<void**>(static_cast<plain_wait*>(r.t->xfer)->xfer) = msg;
    wake(r.t, ASYNC_OK);
    return;
  }
  give_select(c, r.n, msg);
}

// Takes the message of the parked sender `s`, which becomes runnable with ASYNC_OK.
inline void* take(channel& c, peer s) noexcept {
  if (s.t != nullptr) [[likely]] {
    c.senders.pop_front();  // s.t is the head
    s.t->wait_list = nullptr;
    void* msg = static_cast<plain_wait*>(s.t->xfer)->xfer;
    wake(s.t, ASYNC_OK);
    return msg;
  }
  return take_select(c, s.n);
}

// --- the operations without waiting -------------------------------------------

// A send on an open channel: ASYNC_OK (handed to the parked receiver that
// waited longest, plain or select, or buffered) or ASYNC_EAGAIN.
[[gnu::noinline]] async_status_t send_ready(channel& c, void* msg) noexcept {
  if (peer r = first_peer(c, c.receivers, c.sel_receivers)) {  // parked only while the buffer is empty
    give(c, r, msg);
    return ASYNC_OK;
  }
  if (c.count < c.capacity) {
    c.buffer[(c.head + c.count) % c.capacity] = msg;
    ++c.count;
    return ASYNC_OK;
  }
  return ASYNC_EAGAIN;
}

// ASYNC_OK, ASYNC_ECLOSED (closed and drained) or ASYNC_EAGAIN.
[[gnu::noinline]] async_status_t recv_ready(channel& c, void** msg) noexcept {
  if (c.count != 0) {
    *msg = c.buffer[c.head];
    c.head = (c.head + 1) % c.capacity;
    --c.count;
    if (peer s = first_peer(c, c.senders, c.sel_senders)) {  // its message takes the freed slot, in order
      c.buffer[(c.head + c.count) % c.capacity] = take(c, s);
      ++c.count;
    }
    return ASYNC_OK;
  }
  if (peer s = first_peer(c, c.senders, c.sel_senders)) {  // unbuffered: take it from the sender
    *msg = take(c, s);
    return ASYNC_OK;
  }
  return c.closed ? ASYNC_ECLOSED : ASYNC_EAGAIN;
}

bool has_room_for_waiter(const channel& c) noexcept {
  return c.max_waiters == 0 || c.senders.size + c.receivers.size + c.sel_linked < c.max_waiters;
}

// Parks `self` on `list` with `xfer`, until woken or `deadline_ns`.
[[gnu::always_inline]] inline async_status_t wait_in(channel& c, task* self, task_list& list, void* xfer, wait_mode mode,
                       std::uint64_t deadline_ns) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  if (!has_room_for_waiter(c)) return ASYNC_EFULL;
  plain_wait w{xfer, c.tickets};
  self->xfer = &w;
  wait_on(self, list);
  if (mode == wait_mode::until) c.rt->timers.arm(self, deadline_ns);
  return park(self);
}

// channel_send and channel_recv while select cases are parked on the channel.
[[gnu::noinline]] async_status_t send_mixed(channel& c, task* self, void* msg, wait_mode mode,
                                            std::uint64_t deadline_ns) noexcept {
  const async_status_t st = send_ready(c, msg);
  if (st == ASYNC_OK || mode == wait_mode::never) return st;
  return wait_in(c, self, c.senders, msg, mode, deadline_ns);
}

[[gnu::noinline]] async_status_t recv_mixed(channel& c, task* self, void** msg, wait_mode mode,
                                            std::uint64_t deadline_ns) noexcept {
  const async_status_t st = recv_ready(c, msg);
  if (st != ASYNC_EAGAIN || mode == wait_mode::never) return st;
  return wait_in(c, self, c.receivers, msg, mode, deadline_ns);
}

}  // namespace

async_status_t channel_init(async_channel_t* ch, runtime& rt, std::size_t capacity,
                            std::size_t max_waiters) noexcept {
  void** buffer = nullptr;
  if (capacity != 0) {
    buffer = new_array<void*>(capacity);  // nullptr also when the size overflows
    if (buffer == nullptr) return ASYNC_ENOMEM;
  }
  auto* c = new (static_cast<void*>(ch->impl)) channel{};
  c->rt = &rt;
  c->next = rt.channels;
  c->prev = nullptr;
  if (rt.channels != nullptr) rt.channels->prev = c;
  rt.channels = c;
  c->buffer = buffer;
  c->capacity = capacity;
  c->max_waiters = max_waiters;
  c->magic = channel_magic;
  ch->capacity = capacity;
  return ASYNC_OK;
}

// The plain calls' fast paths: as before select existed, plus one test of
// sel_linked that hands everything to the *_mixed paths when select cases
// are parked on the channel.
async_status_t channel_send(channel& c, task* self, void* msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept {
  if (c.closed) return ASYNC_ECLOSED;
  if (self != nullptr && self->cancelled && mode != wait_mode::never) return ASYNC_ECANCELED;
  if (c.sel_linked != 0) [[unlikely]] return send_mixed(c, self, msg, mode, deadline_ns);
  if (task* r = c.receivers.pop_front()) {  // parked only while the buffer is empty
    r->wait_list = nullptr;
    *static_cast<void**>(static_cast<plain_wait*>(r->xfer)->xfer) = msg;
    wake(r, ASYNC_OK);
    return ASYNC_OK;
  }
  if (c.count < c.capacity) {
    c.buffer[(c.head + c.count) % c.capacity] = msg;
    ++c.count;
    return ASYNC_OK;
  }
  if (mode == wait_mode::never) return ASYNC_EAGAIN;
  // OK: a receiver took the message (or pulled it into the buffer);
  // ECLOSED / ECANCELED / ETIMEDOUT: wake() took us off the list, undelivered.
  return wait_in(c, self, c.senders, msg, mode, deadline_ns);
}

async_status_t channel_recv(channel& c, task* self, void** msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept {
  if (self != nullptr && self->cancelled && mode != wait_mode::never) return ASYNC_ECANCELED;
  if (c.sel_linked != 0) [[unlikely]] return recv_mixed(c, self, msg, mode, deadline_ns);
  if (c.count != 0) {
    *msg = c.buffer[c.head];
    c.head = (c.head + 1) % c.capacity;
    --c.count;
    if (task* s = c.senders.pop_front()) {  // its message takes the freed slot, in order
      s->wait_list = nullptr;
      c.buffer[(c.head + c.count) % c.capacity] = static_cast<plain_wait*>(s->xfer)->xfer;
      ++c.count;
      wake(s, ASYNC_OK);
    }
    return ASYNC_OK;
  }
  if (task* s = c.senders.pop_front()) {  // unbuffered: take it from the sender
    s->wait_list = nullptr;
    *msg = static_cast<plain_wait*>(s->xfer)->xfer;
    wake(s, ASYNC_OK);
    return ASYNC_OK;
  }
  if (c.closed) return ASYNC_ECLOSED;
  if (mode == wait_mode::never) return ASYNC_EAGAIN;
  return wait_in(c, self, c.receivers, msg, mode, deadline_ns);
}

async_status_t channel_close(channel& c) noexcept {
  if (c.closed) return ASYNC_ECLOSED;
  c.closed = true;
  // Woken in the order they began waiting, senders first. Their messages are
  // not delivered. Receivers are parked only on an empty buffer: nothing is
  // left to drain. Dead select nodes are unlinked on the way, so no node is
  // linked on a closed channel (a select finds a closed channel ready).
  while (peer s = first_peer(c, c.senders, c.sel_senders)) {
    if (s.t != nullptr) {
      c.senders.remove(s.t);
      s.t->wait_list = nullptr;
      wake(s.t, ASYNC_ECLOSED);
    } else {
      sel_remove(c, c.sel_senders, s.n);
      complete(s.n, ASYNC_ECLOSED);
    }
  }
  while (peer r = first_peer(c, c.receivers, c.sel_receivers)) {
    if (r.t != nullptr) {
      c.receivers.remove(r.t);
      r.t->wait_list = nullptr;
      wake(r.t, ASYNC_ECLOSED);
    } else {
      sel_remove(c, c.sel_receivers, r.n);
      complete(r.n, ASYNC_ECLOSED);
    }
  }
  return ASYNC_OK;
}

void channel_shutdown(channel& c) noexcept {
  // Parked fibers are woken only while the runtime exists: a detached
  // channel's runtime, and its records, are gone.
  if (c.magic == channel_magic) {
    if (!c.closed) channel_close(c);
    if (c.prev != nullptr) {
      c.prev->next = c.next;
    } else {
      c.rt->channels = c.next;
    }
    if (c.next != nullptr) c.next->prev = c.prev;
  }
  delete[] c.buffer;
  c.buffer = nullptr;
  c.rt = nullptr;
  c.magic = 0;
}

void channel_detach_all(runtime& rt) noexcept {
  while (channel* c = rt.channels) {
    rt.channels = c->next;
    c->senders = task_list{};
    c->receivers = task_list{};
    c->sel_senders = select_list{};
    c->sel_receivers = select_list{};
    c->sel_linked = 0;
    c->next = c->prev = nullptr;
    c->rt = nullptr;
    c->magic = channel_detached_magic;
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
      sc.status = st;
      if (chosen != nullptr) *chosen = i;
      return st;
    }
  }
  if (mode == wait_mode::never) return ASYNC_EAGAIN;
  if (mode == wait_mode::until && deadline_ns <= now_ns()) return ASYNC_ETIMEDOUT;
  if (!enabled && mode == wait_mode::forever) return ASYNC_EINVAL;  // would wait forever

  // Park one node per enabled case, each on its channel's select list.
  select_call call{self, cases, none};
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
      return ASYNC_EFULL;
    }
    sel_push(c, sc.op == ASYNC_SELECT_SEND ? c.sel_senders : c.sel_receivers, node);
  }
  self->state = task_state::parked;
  if (mode == wait_mode::until) self->rt->timers.arm(self, deadline_ns);
  const async_status_t st = park(self);

  // Leave every channel the operation that woke us did not already unlink us from.
  for (std::size_t i = 0; i < n; ++i) {
    async_select_case_t& sc = cases[i];
    select_node* node = node_of(sc);
    if (sc.ch == nullptr || node->ticket == 0) continue;
    channel& c = channel_of(sc.ch);
    sel_remove(c, sc.op == ASYNC_SELECT_SEND ? c.sel_senders : c.sel_receivers, node);
  }
  if (call.chosen == none) return st;  // ECANCELED, ETIMEDOUT: nothing done
  cases[call.chosen].status = st;
  if (chosen != nullptr) *chosen = call.chosen;
  return st;
}

}  // namespace async::detail
