// SPDX-License-Identifier: MIT
// fls_api.cpp: the extern "C" boundary for fiber-local storage: checks the
// key, then the fiber, then calls src/core/fls.cpp. A key is checked first
// everywhere (ASYNC_EINVAL even outside a fiber), as a channel is.
#include "../core/fls.h"
#include "../core/runtime.h"
#include "async.h"

using namespace async::detail;

extern "C" {

ASYNC_API async_status_t async_fls_create(async_fls_key_t* key, void (*destructor)(void* value)) noexcept {
  if (key == nullptr) return ASYNC_EINVAL;
  std::uint64_t id = 0;
  const async_status_t st = fls_key_create(destructor, &id);
  if (st == ASYNC_OK) key->id = id;
  return st;
}

ASYNC_API async_status_t async_fls_delete(async_fls_key_t key) noexcept { return fls_key_delete(key.id); }

ASYNC_API void* async_fls_get(async_fls_key_t key) noexcept {
  task* self = current_fiber();
  if (self == nullptr || !fls_key_live(key.id)) return nullptr;
  return fls_get(self, key.id);
}

ASYNC_API async_status_t async_fls_set(async_fls_key_t key, void* value) noexcept {
  if (!fls_key_live(key.id)) return ASYNC_EINVAL;
  task* self = current_fiber();
  if (self == nullptr) return ASYNC_ESTATE;
  return fls_set(self, key.id, value);
}

}  // extern "C"
