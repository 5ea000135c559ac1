// SPDX-License-Identifier: MIT
// registry.h: every live runtime of the process. A thread that holds only a
// user's async_runtime_t (or a runtime pointer it saved earlier) may touch
// the runtime only while the registry says it is alive, under the registry's
// lock: shutdown takes the runtime out under that lock before freeing
// anything, so a runtime found here stays alive until the lock is released.
// Also what tells an initialised async_runtime_t from stale caller memory
// (async_runtime_init refuses to overwrite a live one), and where dumps and
// debugger scripts find every runtime (`async::detail::runtime_registry_head`,
// linked through runtime::reg_next).
#pragma once

#include <memory>
#include <type_traits>

#include "async.h"
#include "checked_mutex.h"

namespace async::detail {

struct runtime;

checked_mutex& registry_lock() noexcept;

// Under registry_lock().
void registry_add(runtime* rt) noexcept ASYNC_TS_REQUIRES(registry_lock());
void registry_remove(runtime* rt) noexcept ASYNC_TS_REQUIRES(registry_lock());
bool registry_contains(const runtime* rt) noexcept ASYNC_TS_REQUIRES(registry_lock());
// The live runtime `handle` names, or nullptr. The handle's memory is only
// read (its impl pointer), never trusted.
runtime* registry_find(const async_runtime_t* handle) noexcept ASYNC_TS_REQUIRES(registry_lock());

// Calls fn(rt, ctx) for each live runtime, newest first, taking the lock
// itself: fn must not create or destroy a runtime.
void registry_for_each(void (*fn)(runtime& rt, void* ctx), void* ctx) noexcept ASYNC_TS_EXCLUDES(registry_lock());

// As registry_for_each, with any callable.
template <typename F>
void registry_for_each(F&& f) noexcept {
  using callable = std::remove_reference_t<F>;
  registry_for_each([](runtime& rt, void* ctx) { (*static_cast<callable*>(ctx))(rt); },
                    const_cast<void*>(static_cast<const void*>(std::addressof(f))));
}

// The runtimes the calling thread owns, newest first: how a call learns that
// a handle is its own without the lock (and without reading memory that
// another thread may be freeing). Owner thread only.
// The newest live runtime, linked through runtime::reg_next; under the lock.
extern runtime* runtime_registry_head ASYNC_TS_GUARDED_BY(registry_lock());

extern thread_local constinit runtime* tls_owned __attribute__((tls_model("initial-exec")));
void owned_add(runtime* rt) noexcept;
void owned_remove(runtime* rt) noexcept;
// `handle`'s runtime if the calling thread owns it, else nullptr.
inline runtime* owned_find(const async_runtime_t* handle) noexcept;

}  // namespace async::detail
