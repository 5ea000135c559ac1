// SPDX-License-Identifier: MIT
// registry.h: every live runtime of the process. A thread that holds only a
// user's async_runtime_t (or a runtime pointer it saved earlier) may touch
// the runtime only while the registry says it is alive, under the registry's
// lock: shutdown takes the runtime out under that lock before freeing
// anything, so a runtime found here stays alive until the lock is released.
// Also what tells an initialised async_runtime_t from stale caller memory.
#pragma once

#include <mutex>

#include "async.h"

namespace async::detail {

struct runtime;

std::mutex& registry_lock() noexcept;

// Under registry_lock().
void registry_add(runtime* rt) noexcept;
void registry_remove(runtime* rt) noexcept;
bool registry_contains(const runtime* rt) noexcept;
// The live runtime `handle` names, or nullptr. The handle's memory is only
// read (its impl pointer), never trusted.
runtime* registry_find(const async_runtime_t* handle) noexcept;

// The runtimes the calling thread owns, newest first: how a call learns that
// a handle is its own without the lock (and without reading memory that
// another thread may be freeing). Owner thread only.
extern thread_local constinit runtime* tls_owned __attribute__((tls_model("initial-exec")));
void owned_add(runtime* rt) noexcept;
void owned_remove(runtime* rt) noexcept;
// `handle`'s runtime if the calling thread owns it, else nullptr.
runtime* owned_find(const async_runtime_t* handle) noexcept;

}  // namespace async::detail
