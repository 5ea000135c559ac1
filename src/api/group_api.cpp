// SPDX-License-Identifier: MIT
// group_api.cpp: the extern "C" boundary for runtime groups.
#include "../core/fiber.h"
#include "../core/group.h"
#include "../core/remote.h"
#include "../core/runtime.h"
#include "async.h"

using namespace async::detail;

namespace {

group_impl* group_of(const async_group_t* g) noexcept {
  return g != nullptr ? static_cast<group_impl*>(g->impl) : nullptr;
}

}  // namespace

extern "C" {

ASYNC_API async_status_t async_group_init(async_group_t* g, size_t threads, const async_config_t* cfg) noexcept {
  if (g == nullptr) return ASYNC_EINVAL;
  const async_status_t st = group_create(g, threads, cfg);
  if (st != ASYNC_OK) g->impl = nullptr;
  return st;
}

ASYNC_API size_t async_group_size(const async_group_t* g) noexcept {
  const group_impl* impl = group_of(g);
  return impl != nullptr ? impl->size : 0;
}

ASYNC_API async_runtime_t* async_group_runtime(async_group_t* g, size_t i) noexcept {
  group_impl* impl = group_of(g);
  return impl != nullptr && i < impl->size ? &impl->handles[i] : nullptr;
}

ASYNC_API async_fiber_handle_t async_group_spawn_ex(async_group_t* g, async_fn fn, void* user,
                                                    const async_spawn_options_t* opts) noexcept {
  group_impl* impl = group_of(g);
  if (impl == nullptr || fn == nullptr) {
    async_fiber_handle_t h{};
    h.status = ASYNC_EINVAL;
    return h;
  }
  if (!spawn_options_valid(opts)) {
    async_fiber_handle_t h{};
    h.status = ASYNC_EINVAL;
    return h;
  }
  // The group keeps its runtimes alive until its shutdown: no registry here.
  runtime& rt = group_place(*impl);
  if (owned_by_caller(rt)) return spawn_fiber(rt, fn, user, opts);
  return spawn_foreign(rt, fn, user, opts);
}

ASYNC_API async_fiber_handle_t async_group_spawn(async_group_t* g, async_fn fn, void* user) noexcept {
  return async_group_spawn_ex(g, fn, user, nullptr);
}

ASYNC_API async_status_t async_group_wait(async_group_t* g) noexcept {
  group_impl* impl = group_of(g);
  if (impl == nullptr) return ASYNC_EINVAL;
  if (group_owns_thread(*impl)) return ASYNC_ESTATE;
  return group_wait(*impl);
}

ASYNC_API void async_group_shutdown(async_group_t* g) noexcept {
  group_impl* impl = group_of(g);
  if (impl == nullptr || group_owns_thread(*impl)) return;
  g->impl = nullptr;
  group_destroy(impl);
}

}  // extern "C"
