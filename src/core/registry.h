// SPDX-License-Identifier: MIT
// registry.h: every live runtime of the process, in one mutex-protected
// intrusive list (runtime::registry links them). A runtime is added when
// runtime_create has made it and removed when runtime_destroy takes it apart.
// Uses: telling a live runtime from stale or never-initialised caller memory
// (async_runtime_init refuses to overwrite a live one), dumping every runtime,
// and debugger scripts, which walk the list from `runtime_registry_head`.
// Not on any hot path: only init and shutdown take the lock.
#pragma once

#include <memory>
#include <type_traits>

namespace async::detail {

struct runtime;

// The links of one runtime in the registry; guarded by the registry's lock.
struct registry_link {
  runtime* prev = nullptr;
  runtime* next = nullptr;
};

// Adds `rt` (not yet registered).
void registry_add(runtime* rt) noexcept;
// Removes `rt` (registered).
void registry_remove(runtime* rt) noexcept;
// Whether `rt` points at a registered runtime. Any pointer value may be
// asked about (it is only compared, never dereferenced).
bool registry_contains(const runtime* rt) noexcept;
// Calls fn(rt, ctx) for each registered runtime, newest first, under the
// registry's lock: fn must not create or destroy a runtime.
void registry_for_each(void (*fn)(runtime& rt, void* ctx), void* ctx) noexcept;

// As registry_for_each, with any callable.
template <typename F>
void registry_for_each(F&& f) noexcept {
  using callable = std::remove_reference_t<F>;
  registry_for_each([](runtime& rt, void* ctx) { (*static_cast<callable*>(ctx))(rt); },
                    const_cast<void*>(static_cast<const void*>(std::addressof(f))));
}

}  // namespace async::detail
