// SPDX-License-Identifier: MIT
// registry.cpp: the list of live runtimes (see registry.h).
#include "registry.h"

#include <mutex>

#include "runtime.h"

namespace async::detail {

namespace {
std::mutex g_registry_lock;
}  // namespace

// The newest live runtime; the list goes on through runtime::registry.next.
// Extern and unmangled-simple so a debugger finds it:
// `p async::detail::runtime_registry_head`.
runtime* runtime_registry_head = nullptr;

void registry_add(runtime* rt) noexcept {
  std::lock_guard<std::mutex> guard(g_registry_lock);
  rt->registry.prev = nullptr;
  rt->registry.next = runtime_registry_head;
  if (runtime_registry_head != nullptr) runtime_registry_head->registry.prev = rt;
  runtime_registry_head = rt;
}

void registry_remove(runtime* rt) noexcept {
  std::lock_guard<std::mutex> guard(g_registry_lock);
  if (rt->registry.prev != nullptr) {
    rt->registry.prev->registry.next = rt->registry.next;
  } else {
    runtime_registry_head = rt->registry.next;
  }
  if (rt->registry.next != nullptr) rt->registry.next->registry.prev = rt->registry.prev;
  rt->registry = registry_link{};
}

bool registry_contains(const runtime* rt) noexcept {
  std::lock_guard<std::mutex> guard(g_registry_lock);
  for (const runtime* r = runtime_registry_head; r != nullptr; r = r->registry.next) {
    if (r == rt) return true;
  }
  return false;
}

void registry_for_each(void (*fn)(runtime& rt, void* ctx), void* ctx) noexcept {
  std::lock_guard<std::mutex> guard(g_registry_lock);
  for (runtime* r = runtime_registry_head; r != nullptr; r = r->registry.next) fn(*r, ctx);
}

}  // namespace async::detail
