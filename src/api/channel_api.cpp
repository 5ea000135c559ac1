// SPDX-License-Identifier: MIT
// channel_api.cpp: the extern "C" boundary for channels: checks the channel,
// the thread and the fiber, then calls src/core/channel.cpp.
#include "../core/channel.h"
#include "async.h"

using namespace async::detail;

namespace {

// The usable channel behind `ch`, or nullptr (NULL, never initialised, shut
// down, or detached by its runtime's shutdown: that changes the magic, so the
// check stays one comparison). Zeroed memory has no magic, so a zeroed
// channel is refused too.
channel* usable(async_channel_t* ch) noexcept {
  if (ch == nullptr) return nullptr;
  auto* c = reinterpret_cast<channel*>(ch->impl);
  return c->magic == channel_magic ? c : nullptr;
}

// Checks for a call that may suspend: EINVAL, ESTATE, or OK with *self set.
async_status_t blocking_context(const channel& c, task** self) noexcept {
  task* t = current_fiber();
  if (t == nullptr) return ASYNC_ESTATE;
  if (t->rt != c.rt) return ASYNC_EINVAL;  // a fiber of another runtime
  *self = t;
  return ASYNC_OK;
}

// Checks for a call that never suspends: any context on the owner thread.
async_status_t any_context(const channel& c, task** self) noexcept {
  if (!owned_by_caller(*c.rt)) return ASYNC_ESTATE;
  task* t = current_fiber();
  *self = t != nullptr && t->rt == c.rt ? t : nullptr;
  return ASYNC_OK;
}

async_status_t send(async_channel_t* ch, void* msg, wait_mode mode, uint64_t deadline_ns) noexcept {
  channel* c = usable(ch);
  if (c == nullptr) return ASYNC_EINVAL;
  task* self = nullptr;
  const async_status_t st = mode == wait_mode::never ? any_context(*c, &self) : blocking_context(*c, &self);
  return st == ASYNC_OK ? channel_send(*c, self, msg, mode, deadline_ns) : st;
}

async_status_t recv(async_channel_t* ch, void** msg, wait_mode mode, uint64_t deadline_ns) noexcept {
  channel* c = usable(ch);
  if (c == nullptr || msg == nullptr) return ASYNC_EINVAL;
  task* self = nullptr;
  const async_status_t st = mode == wait_mode::never ? any_context(*c, &self) : blocking_context(*c, &self);
  return st == ASYNC_OK ? channel_recv(*c, self, msg, mode, deadline_ns) : st;
}

// Checks every case: usable channels of one runtime (the calling fiber's,
// when blocking), valid ops. Marks each bad case ASYNC_EINVAL.
async_status_t select(async_select_case_t* cases, size_t n, size_t* chosen, wait_mode mode,
                      uint64_t deadline_ns) noexcept {
  if (chosen != nullptr) *chosen = ASYNC_SELECT_NONE;
  if (cases == nullptr && n != 0) return ASYNC_EINVAL;
  task* self = current_fiber();
  if (mode != wait_mode::never && self == nullptr) return ASYNC_ESTATE;
  runtime* rt = self != nullptr && mode != wait_mode::never ? self->rt : nullptr;
  bool bad = false;
  for (size_t i = 0; i < n; ++i) cases[i].status = ASYNC_EAGAIN;
  for (size_t i = 0; i < n; ++i) {
    async_select_case_t& sc = cases[i];
    if (sc.ch == nullptr) continue;
    channel* c = usable(sc.ch);
    if (rt == nullptr && c != nullptr) rt = c->rt;  // try: the runtime of the first channel
    if (c == nullptr || c->rt != rt || (sc.op != ASYNC_SELECT_SEND && sc.op != ASYNC_SELECT_RECV)) {
      sc.status = ASYNC_EINVAL;
      bad = true;
    }
  }
  if (bad) return ASYNC_EINVAL;
  if (mode == wait_mode::never) {
    if (rt != nullptr && !owned_by_caller(*rt)) return ASYNC_ESTATE;
    if (self != nullptr && self->rt != rt) self = nullptr;  // never parks: any fiber may try
  }
  return channel_select(cases, n, chosen, self, mode, deadline_ns);
}

}  // namespace

extern "C" {

ASYNC_API async_status_t async_channel_init(async_channel_t* ch, async_runtime_t* rt, size_t capacity,
                                            size_t max_waiters) {
  if (ch == nullptr) return ASYNC_EINVAL;
  // A live channel is linked in its runtime's list: initialising it again
  // would corrupt the list (and leak the buffer). Left untouched.
  if (reinterpret_cast<channel*>(ch->impl)->magic == channel_magic) return ASYNC_ESTATE;
  reinterpret_cast<channel*>(ch->impl)->magic = 0;  // unusable unless init succeeds
  runtime* r = runtime_of(rt);
  if (r == nullptr) return ASYNC_EINVAL;
  if (!owned_by_caller(*r)) return ASYNC_ESTATE;
  return channel_init(ch, *r, capacity, max_waiters);
}

ASYNC_API async_status_t async_channel_send(async_channel_t* ch, void* msg) {
  return send(ch, msg, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_channel_recv(async_channel_t* ch, void** msg) {
  return recv(ch, msg, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_channel_send_until(async_channel_t* ch, void* msg, uint64_t deadline_ns) {
  return send(ch, msg, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_channel_recv_until(async_channel_t* ch, void** msg, uint64_t deadline_ns) {
  return recv(ch, msg, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_channel_try_send(async_channel_t* ch, void* msg) {
  return send(ch, msg, wait_mode::never, 0);
}

ASYNC_API async_status_t async_channel_try_recv(async_channel_t* ch, void** msg) {
  return recv(ch, msg, wait_mode::never, 0);
}

ASYNC_API async_status_t async_channel_close(async_channel_t* ch) {
  channel* c = usable(ch);
  if (c == nullptr) return ASYNC_EINVAL;
  if (!owned_by_caller(*c->rt)) return ASYNC_ESTATE;
  return channel_close(*c);
}

ASYNC_API void async_channel_shutdown(async_channel_t* ch) {
  if (ch == nullptr) return;
  auto* c = reinterpret_cast<channel*>(ch->impl);
  // Usable, or detached by its runtime's shutdown: either way it holds a buffer.
  if (c->magic == channel_magic || c->magic == channel_detached_magic) channel_shutdown(*c);
}

ASYNC_API async_status_t async_select(async_select_case_t* cases, size_t n, size_t* chosen) {
  return select(cases, n, chosen, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_select_until(async_select_case_t* cases, size_t n, size_t* chosen,
                                            uint64_t deadline_ns) {
  return select(cases, n, chosen, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_try_select(async_select_case_t* cases, size_t n, size_t* chosen) {
  return select(cases, n, chosen, wait_mode::never, 0);
}

}  // extern "C"
