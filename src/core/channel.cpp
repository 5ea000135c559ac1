// SPDX-License-Identifier: MIT
// channel.cpp: the channel operations (see channel.h).
#include "channel.h"

#include <new>

namespace async::detail {

static_assert(sizeof(channel) <= sizeof(async_channel_t::impl), "channel state must fit async_channel_t");
static_assert(alignof(channel) <= alignof(void*), "async_channel_t is pointer-aligned");

namespace {

bool has_room_for_waiter(const channel& c) noexcept {
  return c.max_waiters == 0 || c.senders.size + c.receivers.size < c.max_waiters;
}

// Parks `self` on `list` with `xfer`, until woken or `deadline_ns`.
async_status_t wait_in(channel& c, task* self, task_list& list, void* xfer, wait_mode mode,
                       std::uint64_t deadline_ns) noexcept {
  if (self->cancelled) return ASYNC_ECANCELED;
  if (!has_room_for_waiter(c)) return ASYNC_EFULL;
  self->xfer = xfer;
  wait_on(self, list);
  if (mode == wait_mode::until) c.rt->timers.arm(self, deadline_ns);
  return park(self);
}

// The first parked receiver gets `msg` directly and becomes runnable.
void hand_to_receiver(channel& c, void* msg) noexcept {
  task* r = c.receivers.pop_front();
  r->wait_list = nullptr;
  *static_cast<void**>(r->xfer) = msg;
  wake(r, ASYNC_OK);
}

}  // namespace

async_status_t channel_init(async_channel_t* ch, runtime& rt, std::size_t capacity,
                            std::size_t max_waiters) noexcept {
  void** buffer = nullptr;
  if (capacity != 0) {
    buffer = new (std::nothrow) void*[capacity];
    if (buffer == nullptr) return ASYNC_ENOMEM;
  }
  auto* c = new (static_cast<void*>(ch->impl)) channel{};
  c->rt = &rt;
  c->rt_handle = rt.handle;
  c->rt_id_base = rt.id_base;
  c->buffer = buffer;
  c->capacity = capacity;
  c->max_waiters = max_waiters;
  c->magic = channel_magic;
  ch->capacity = capacity;
  return ASYNC_OK;
}

async_status_t channel_send(channel& c, task* self, void* msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept {
  if (c.closed) return ASYNC_ECLOSED;
  if (self != nullptr && self->cancelled && mode != wait_mode::never) return ASYNC_ECANCELED;
  if (!c.receivers.empty()) {
    hand_to_receiver(c, msg);  // only when the buffer is empty: receivers park only then
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
  if (c.count != 0) {
    *msg = c.buffer[c.head];
    c.head = (c.head + 1) % c.capacity;
    --c.count;
    if (task* s = c.senders.pop_front()) {  // its message takes the freed slot, in order
      s->wait_list = nullptr;
      c.buffer[(c.head + c.count) % c.capacity] = s->xfer;
      ++c.count;
      wake(s, ASYNC_OK);
    }
    return ASYNC_OK;
  }
  if (task* s = c.senders.pop_front()) {  // unbuffered: take it from the sender
    s->wait_list = nullptr;
    *msg = s->xfer;
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
  while (task* s = c.senders.pop_front()) {
    s->wait_list = nullptr;
    wake(s, ASYNC_ECLOSED);
  }
  // Receivers are parked only on an empty buffer: nothing is left to drain.
  while (task* r = c.receivers.pop_front()) {
    r->wait_list = nullptr;
    wake(r, ASYNC_ECLOSED);
  }
  return ASYNC_OK;
}

void channel_shutdown(channel& c) noexcept {
  // Parked fibers are woken only if their runtime still exists; after the
  // runtime's own shutdown its records (and so the lists) are gone.
  const bool runtime_alive = c.rt_handle->impl == c.rt && c.rt->id_base == c.rt_id_base;
  if (runtime_alive && !c.closed) channel_close(c);
  delete[] c.buffer;
  c.magic = 0;
}

}  // namespace async::detail
