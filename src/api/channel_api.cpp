// SPDX-License-Identifier: MIT
// channel_api.cpp: the extern "C" boundary for channels: checks the channel,
// the thread and the fiber, then calls src/core/channel.cpp.

#include "../core/channel.h"
#include "../core/registry.h"
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

// Checks for a call that may suspend: ESTATE outside a fiber, else OK with
// *self set. The fiber may belong to any runtime.
async_status_t blocking_context(task** self) noexcept {
  task* t = current_fiber();
  if (t == nullptr) return ASYNC_ESTATE;
  *self = t;
  return ASYNC_OK;
}

async_status_t send(async_channel_t* ch, void* msg, wait_mode mode, uint64_t deadline_ns) noexcept {
  channel* c = usable(ch);
  if (c == nullptr) return ASYNC_EINVAL;
  task* self = nullptr;
  if (mode != wait_mode::never) {
    if (const async_status_t st = blocking_context(&self); st != ASYNC_OK) return st;
  }
  return channel_send(*c, self, msg, mode, deadline_ns);
}

async_status_t recv(async_channel_t* ch, void** msg, wait_mode mode, uint64_t deadline_ns) noexcept {
  channel* c = usable(ch);
  if (c == nullptr || msg == nullptr) return ASYNC_EINVAL;
  task* self = nullptr;
  if (mode != wait_mode::never) {
    if (const async_status_t st = blocking_context(&self); st != ASYNC_OK) return st;
  }
  return channel_recv(*c, self, msg, mode, deadline_ns);
}

// The thread-blocking calls: never inside a fiber, nor in a thread while it
// drives a runtime (a fiber's callback).
async_status_t send_thread(async_channel_t* ch, void* msg, wait_mode mode, uint64_t deadline_ns) noexcept {
  channel* c = usable(ch);
  if (c == nullptr) return ASYNC_EINVAL;
  if (tls_current != nullptr) return ASYNC_ESTATE;
  return channel_send_thread(*c, msg, mode, deadline_ns);
}

async_status_t recv_thread(async_channel_t* ch, void** msg, wait_mode mode, uint64_t deadline_ns) noexcept {
  channel* c = usable(ch);
  if (c == nullptr || msg == nullptr) return ASYNC_EINVAL;
  if (tls_current != nullptr) return ASYNC_ESTATE;
  return channel_recv_thread(*c, msg, mode, deadline_ns);
}

// Checks every case: usable channels (of any runtimes), valid ops. Marks
// each bad case ASYNC_EINVAL.
async_status_t select(async_select_case_t* cases, size_t n, size_t* chosen, wait_mode mode,
                      uint64_t deadline_ns) noexcept {
  if (chosen != nullptr) *chosen = ASYNC_SELECT_NONE;
  if (cases == nullptr && n != 0) return ASYNC_EINVAL;
  task* self = current_fiber();
  if (mode != wait_mode::never && self == nullptr) return ASYNC_ESTATE;
  bool bad = false;
  for (size_t i = 0; i < n; ++i) cases[i].status = ASYNC_EAGAIN;
  for (size_t i = 0; i < n; ++i) {
    async_select_case_t& sc = cases[i];
    if (sc.ch == nullptr) continue;
    if (usable(sc.ch) == nullptr || (sc.op != ASYNC_SELECT_SEND && sc.op != ASYNC_SELECT_RECV)) {
      sc.status = ASYNC_EINVAL;
      bad = true;
    }
  }
  if (bad) return ASYNC_EINVAL;
  if (mode == wait_mode::never) self = nullptr;  // never parks: any context may try
  return channel_select(cases, n, chosen, self, mode, deadline_ns);
}

}  // namespace

extern "C" {

ASYNC_API async_status_t async_channel_init(async_channel_t* ch, async_runtime_t* rt, size_t capacity,
                                            size_t max_waiters) noexcept {
  if (ch == nullptr) return ASYNC_EINVAL;
  // A live channel is linked in its runtime's list: initialising it again
  // would corrupt the list (and leak the buffer). Left untouched.
  if (reinterpret_cast<channel*>(ch->impl)->magic == channel_magic) return ASYNC_ESTATE;
  reinterpret_cast<channel*>(ch->impl)->magic = 0;  // unusable unless init succeeds
  if (runtime* r = owned_find(rt)) return channel_init(ch, *r, capacity, max_waiters, false);
  // Another thread's runtime: shared from the start (the home thread is
  // rt's owner all the same). The registry keeps it alive meanwhile.
  checked_guard guard(registry_lock());
  runtime* r = registry_find(rt);
  if (r == nullptr) return ASYNC_EINVAL;
  return channel_init(ch, *r, capacity, max_waiters, true);
}

ASYNC_API async_status_t async_channel_send(async_channel_t* ch, void* msg) noexcept {
  return send(ch, msg, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_channel_recv(async_channel_t* ch, void** msg) noexcept {
  return recv(ch, msg, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_channel_send_until(async_channel_t* ch, void* msg, uint64_t deadline_ns) noexcept {
  return send(ch, msg, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_channel_recv_until(async_channel_t* ch, void** msg, uint64_t deadline_ns) noexcept {
  return recv(ch, msg, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_channel_try_send(async_channel_t* ch, void* msg) noexcept {
  return send(ch, msg, wait_mode::never, 0);
}

ASYNC_API async_status_t async_channel_try_recv(async_channel_t* ch, void** msg) noexcept {
  return recv(ch, msg, wait_mode::never, 0);
}

ASYNC_API async_status_t async_channel_send_blocking(async_channel_t* ch, void* msg) noexcept {
  return send_thread(ch, msg, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_channel_recv_blocking(async_channel_t* ch, void** msg) noexcept {
  return recv_thread(ch, msg, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_channel_send_blocking_until(async_channel_t* ch, void* msg, uint64_t deadline_ns) noexcept {
  return send_thread(ch, msg, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_channel_recv_blocking_until(async_channel_t* ch, void** msg, uint64_t deadline_ns) noexcept {
  return recv_thread(ch, msg, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_channel_close(async_channel_t* ch) noexcept {
  channel* c = usable(ch);
  if (c == nullptr) return ASYNC_EINVAL;
  return channel_close(*c);
}

ASYNC_API void async_channel_shutdown(async_channel_t* ch) noexcept {
  if (ch == nullptr) return;
  auto* c = reinterpret_cast<channel*>(ch->impl);
  // Usable, or detached by its runtime's shutdown: either way it holds a buffer.
  if (c->magic == channel_magic || c->magic == channel_detached_magic) channel_shutdown(*c);
}

ASYNC_API async_status_t async_select(async_select_case_t* cases, size_t n, size_t* chosen) noexcept {
  return select(cases, n, chosen, wait_mode::forever, 0);
}

ASYNC_API async_status_t async_select_until(async_select_case_t* cases, size_t n, size_t* chosen,
                                            uint64_t deadline_ns) noexcept {
  return select(cases, n, chosen, wait_mode::until, deadline_ns);
}

ASYNC_API async_status_t async_try_select(async_select_case_t* cases, size_t n, size_t* chosen) noexcept {
  return select(cases, n, chosen, wait_mode::never, 0);
}

}  // extern "C"
