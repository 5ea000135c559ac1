// SPDX-License-Identifier: MIT
// registry.cpp: the live runtimes, a list under one process-wide mutex. Taken
// only on slow paths: runtime init and shutdown, and operations on a runtime
// from a thread that does not own it (spawn, await, cancel by handle).
#include "registry.h"

#include "runtime.h"

namespace async::detail {
namespace {

// Never destroyed: threads may still shut runtimes down during exit.
checked_mutex* g_lock = new checked_mutex;

}  // namespace

// The newest live runtime. Extern with a plain name so a debugger finds it:
// `p async::detail::runtime_registry_head`.
runtime* runtime_registry_head = nullptr;

checked_mutex& registry_lock() noexcept { return *g_lock; }

void registry_add(runtime* rt) noexcept {
  rt->reg_prev = nullptr;
  rt->reg_next = runtime_registry_head;
  if (runtime_registry_head != nullptr) runtime_registry_head->reg_prev = rt;
  runtime_registry_head = rt;
}

void registry_remove(runtime* rt) noexcept {
  if (rt->reg_prev != nullptr) {
    rt->reg_prev->reg_next = rt->reg_next;
  } else {
    runtime_registry_head = rt->reg_next;
  }
  if (rt->reg_next != nullptr) rt->reg_next->reg_prev = rt->reg_prev;
  rt->reg_next = rt->reg_prev = nullptr;
}

bool registry_contains(const runtime* rt) noexcept {
  for (const runtime* r = runtime_registry_head; r != nullptr; r = r->reg_next) {
    if (r == rt) return true;
  }
  return false;
}

constinit thread_local runtime* tls_owned __attribute__((tls_model("initial-exec"))) = nullptr;

void owned_add(runtime* rt) noexcept {
  rt->owned_next = tls_owned;
  tls_owned = rt;
}

void owned_remove(runtime* rt) noexcept {
  for (runtime** p = &tls_owned; *p != nullptr; p = &(*p)->owned_next) {
    if (*p == rt) {
      *p = rt->owned_next;
      return;
    }
  }
}

void registry_for_each(void (*fn)(runtime& rt, void* ctx), void* ctx) noexcept {
  checked_guard guard(registry_lock());
  for (runtime* r = runtime_registry_head; r != nullptr; r = r->reg_next) fn(*r, ctx);
}

runtime* registry_find(const async_runtime_t* handle) noexcept {
  if (handle == nullptr) return nullptr;
  for (runtime* r = runtime_registry_head; r != nullptr; r = r->reg_next) {
    if (r->handle == handle && handle->impl == r) return r;
  }
  return nullptr;
}

}  // namespace async::detail
