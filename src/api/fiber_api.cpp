// SPDX-License-Identifier: MIT
// fiber_api.cpp: the extern "C" boundary for fibers. Every misuse the
// header (include/async.h) names returns its status here and changes nothing else.

#include "../core/fiber.h"
#include "../core/registry.h"
#include "../core/remote.h"
#include "../core/runtime.h"
#include "async.h"

using namespace async::detail;

namespace {

async_fiber_handle_t failed(async_status_t st, async_runtime_t* rt) noexcept {
  async_fiber_handle_t h{};
  h.status = st;
  h.runtime = rt;
  return h;
}

[[gnu::noinline]] task* resolve_after_inbox(runtime& rt, const async_fiber_handle_t& h) noexcept {
  if (!id_of_runtime(rt, h.id) || !rt.in.maybe_nonempty()) return nullptr;
  take_inbox(rt);
  return resolve(rt, h);
}

// The task `h` names on rt, which the calling thread owns. A handle from a
// spawn made by another thread may name a record whose spawn still waits in
// the inbox: it is taken first.
inline task* resolve_owned(runtime& rt, const async_fiber_handle_t& h) noexcept {
  task* t = resolve(rt, h);
  return t != nullptr ? t : resolve_after_inbox(rt, h);
}

// Spawn, await and cancel on a runtime of another thread: found, and kept
// alive meanwhile, by the registry.
[[gnu::noinline]] async_fiber_handle_t spawn_elsewhere(async_runtime_t* rt, async_fn fn, void* user,
                                                       const async_spawn_options_t* opts) noexcept {
  checked_guard guard(registry_lock());
  runtime* r = registry_find(rt);
  if (r == nullptr) return failed(ASYNC_EINVAL, rt);
  return spawn_foreign(*r, fn, user, opts);
}

[[gnu::noinline]] async_status_t await_elsewhere(task* self, const async_fiber_handle_t& h) noexcept {
  if (self == nullptr && tls_current != nullptr) return ASYNC_ESTATE;  // the scheduler's own callbacks
  registry_lock().lock();  // released by await_across and await_from_thread
  runtime* r = registry_find(h.runtime);
  if (r == nullptr || h.slot >= r->task_capacity || !id_of_runtime(*r, h.id)) {
    registry_lock().unlock();
    return ASYNC_EINVAL;
  }
  if (self != nullptr) return await_across(self, *r, h.slot, h.id);
  return await_from_thread(*r, h.slot, h.id);
}

[[gnu::noinline]] async_status_t cancel_elsewhere(const async_fiber_handle_t& h) noexcept {
  checked_guard guard(registry_lock());
  runtime* r = registry_find(h.runtime);
  return r != nullptr ? cancel_foreign(*r, h.slot, h.id) : ASYNC_EINVAL;
}

}  // namespace

extern "C" {

ASYNC_API async_fiber_handle_t async_spawn_ex(async_runtime_t* rt, async_fn fn, void* user,
                                              const async_spawn_options_t* opts) noexcept {
  task* self = current_fiber();
  // The common case first: a fiber spawning onto its own runtime, which the
  // calling thread owns (a fiber runs only on its runtime's thread), so the
  // walk of the thread's runtimes is not needed.
  runtime* r = self != nullptr && (rt == nullptr || rt == self->rt->handle) ? self->rt : nullptr;
  if (r != nullptr) [[likely]] {
    rt = r->handle;
  } else {
    if (rt == nullptr) rt = async_global();
    if (rt == nullptr) return failed(ASYNC_ENOMEM, rt);
    r = owned_find(rt);
  }
  if (fn == nullptr) return failed(ASYNC_EINVAL, rt);
  if (!spawn_options_valid(opts)) return failed(ASYNC_EINVAL, rt);
  if (r != nullptr) [[likely]] {
    if (r->closing) return failed(ASYNC_ESTATE, rt);
    return spawn_fiber(*r, fn, user, opts);
  }
  return spawn_elsewhere(rt, fn, user, opts);
}

ASYNC_API async_fiber_handle_t async_spawn_with(async_runtime_t* rt, async_fn fn, void* user) noexcept {
  if (rt == nullptr) return failed(ASYNC_EINVAL, rt);
  return async_spawn_ex(rt, fn, user, nullptr);
}

ASYNC_API async_fiber_handle_t async_spawn(async_fn fn, void* user) noexcept {
  // async_spawn_ex's common case with no options known at compile time (no
  // option checks, one call less).
  task* self = current_fiber();
  if (self != nullptr && fn != nullptr && !self->rt->closing) [[likely]] return spawn_fiber(*self->rt, fn, user, nullptr);
  return async_spawn_ex(nullptr, fn, user, nullptr);
}

namespace {

// async_await past its common case. Out of line: the common case then
// saves no registers before its tail call.
[[gnu::noinline]] async_status_t await_general(task* self, async_fiber_handle_t h) noexcept {
  if (runtime* r = owned_find(h.runtime)) {
    if (self != nullptr) {
      // Another runtime of this thread could not run while this fiber waits.
      if (self->rt != r) return ASYNC_EINVAL;
      task* t = resolve_owned(*r, h);
      return t != nullptr ? await_in_fiber(self, t) : ASYNC_EINVAL;
    }
    if (tls_current != nullptr || r->driving || r->closing) return ASYNC_ESTATE;
    task* t = resolve_owned(*r, h);
    return t != nullptr ? await_from_outside(*r, t) : ASYNC_EINVAL;
  }
  return await_elsewhere(self, h);
}

}  // namespace

ASYNC_API async_status_t async_await(async_fiber_handle_t h) noexcept {
  task* self = current_fiber();
  // The common case first: a fiber awaiting a fiber of its own runtime.
  if (self != nullptr && h.runtime == self->rt->handle) [[likely]] {
    if (task* t = resolve(*self->rt, h)) [[likely]] return await_in_fiber(self, t);
  }
  return await_general(self, h);
}

ASYNC_API async_status_t async_cancel(async_fiber_handle_t h) noexcept {
  if (runtime* r = owned_find(h.runtime)) {
    task* t = resolve_owned(*r, h);
    if (t == nullptr) return ASYNC_EINVAL;
    cancel_fiber(t);
    return ASYNC_OK;
  }
  return cancel_elsewhere(h);
}

ASYNC_API async_status_t async_yield(void) noexcept {
  task* self = current_fiber();
  return self != nullptr ? yield_fiber(self) : ASYNC_ESTATE;
}

ASYNC_API async_status_t async_sleep_ns(uint64_t ns) noexcept {
  task* self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  const uint64_t now = clock_ns(*self->rt);
  const uint64_t deadline = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
  return sleep_until(self, deadline);
}

ASYNC_API async_status_t async_sleep_until_ns(uint64_t deadline_ns) noexcept {
  task* self = current_fiber();
  return self != nullptr ? sleep_until(self, deadline_ns) : ASYNC_ESTATE;
}

ASYNC_API async_status_t async_sleep_ms(uint64_t ms) noexcept {
  const uint64_t ns = ms > UINT64_MAX / 1000000u ? UINT64_MAX : ms * 1000000u;
  return async_sleep_ns(ns);
}

// In a fiber, or on the thread while it drives a runtime: that runtime's
// clock. Elsewhere (no runtime, or one not being driven) nothing says which
// runtime is meant: the real clock.
ASYNC_API uint64_t async_now_ns(void) noexcept {
  const task* t = tls_current;
  return t != nullptr ? clock_ns(*t->rt) : real_now_ns();
}

ASYNC_API int async_now_is_virtual(void) noexcept {
  const task* t = tls_current;
  return t != nullptr && t->rt->virtual_clock ? 1 : 0;
}

ASYNC_API int async_is_cancelled(void) noexcept {
  task* self = current_fiber();
  return self != nullptr && self->cancelled ? 1 : 0;
}

ASYNC_API async_fiber_handle_t async_self(void) noexcept {
  task* self = current_fiber();
  return self != nullptr ? make_handle(self) : failed(ASYNC_ESTATE, nullptr);
}

}  // extern "C"
