// SPDX-License-Identifier: MIT
// runtime_api.cpp: the extern "C" boundary for runtimes and the global
// runtime. Checks arguments and context, then calls into src/core.

#include "../core/dump.h"
#include "../core/fiber.h"
#include "../core/registry.h"
#include "../core/runtime.h"
#include "async.h"

using namespace async::detail;

namespace {

// The calling thread's global runtime. Plain data with initial-exec TLS, so
// that reaching it is one instruction (async_spawn does, every time); the
// shutdown at thread exit is registered separately, on creation.
struct global_runtime {
  async_runtime_t rt;
  bool created;
};

thread_local global_runtime g_global __attribute__((tls_model("initial-exec"))) = {{nullptr}, false};

struct global_reaper {
  bool armed = false;
  ~global_reaper() {
    if (armed) async_global_shutdown();
  }
};

void arm_reaper() noexcept {
  thread_local global_reaper reaper;
  reaper.armed = true;
}

}  // namespace

extern "C" {

ASYNC_API async_status_t async_runtime_init(async_runtime_t* rt, const async_config_t* cfg) noexcept {
  if (rt == nullptr) return ASYNC_EINVAL;
  if (runtime_is_live(rt)) return ASYNC_ESTATE;  // left as it is: no leak, no second runtime
  const async_status_t st = runtime_create(rt, cfg);
  if (st != ASYNC_OK) rt->impl = nullptr;  // names no runtime: later calls say EINVAL
  return st;
}

ASYNC_API async_status_t async_runtime_run(async_runtime_t* rt) noexcept {
  runtime* r = runtime_of(rt);
  if (r == nullptr) return ASYNC_EINVAL;
  // Inside a fiber, or re-entered from the scheduler: the thread is busy.
  if (!owned_by_caller(*r) || tls_current != nullptr || r->driving || r->closing) return ASYNC_ESTATE;
  return run_until_idle(*r);
}

ASYNC_API void async_runtime_shutdown(async_runtime_t* rt) noexcept {
  runtime* r = runtime_of(rt);
  if (r == nullptr || !owned_by_caller(*r) || r->driving || r->closing) return;
  runtime_destroy(r);
}

ASYNC_API async_status_t async_runtime_stats(async_runtime_t* rt, async_runtime_stats_t* out) noexcept {
  runtime* r = runtime_of(rt);
  if (r == nullptr || out == nullptr) return ASYNC_EINVAL;
  if (!owned_by_caller(*r)) return ASYNC_ESTATE;
  runtime_stats(*r, *out);
  return ASYNC_OK;
}

ASYNC_API async_status_t async_runtime_dump(async_runtime_t* rt, int fd) noexcept {
  if (rt == nullptr || fd < 0) return ASYNC_EINVAL;
  // The thread's own runtimes are found without the lock and without
  // trusting rt->impl; any other live one is somebody else's.
  const runtime* r = owned_find(rt);
  if (r == nullptr) {
    checked_guard guard(registry_lock());
    return registry_find(rt) != nullptr ? ASYNC_ESTATE : ASYNC_EINVAL;
  }
  if (r->closing) return ASYNC_ESTATE;
  dump_writer w(fd);
  dump_runtime(*r, w, true);
  return w.flush() ? ASYNC_OK : ASYNC_EIO;
}

ASYNC_API async_status_t async_global_init(const async_config_t* cfg) noexcept {
  if (g_global.created && g_global.rt.impl != nullptr) return ASYNC_ESTATE;
  async_status_t st = runtime_create(&g_global.rt, cfg);
  g_global.created = st == ASYNC_OK;
  if (g_global.created) arm_reaper();
  return st;
}

ASYNC_API async_runtime_t* async_global(void) noexcept {
  // Shut down through async_runtime_shutdown(async_global()): start afresh.
  if (g_global.created && g_global.rt.impl == nullptr) g_global.created = false;
  if (!g_global.created && async_global_init(nullptr) != ASYNC_OK) return nullptr;
  return &g_global.rt;
}

ASYNC_API int async_run(void) noexcept {
  async_runtime_t* rt = async_global();
  return rt != nullptr ? async_runtime_run(rt) : ASYNC_ENOMEM;
}

ASYNC_API void async_global_shutdown(void) noexcept {
  if (!g_global.created) return;
  async_runtime_shutdown(&g_global.rt);
  g_global.created = g_global.rt.impl != nullptr;  // still there if shutdown was refused
}

}  // extern "C"
