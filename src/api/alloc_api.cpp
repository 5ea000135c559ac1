// SPDX-License-Identifier: MIT
// alloc_api.cpp: the extern "C" boundary for the allocator hook. (Not
// declared noexcept here: async.h declares it without, as every other call,
// and the two must agree; heap_set_allocator itself is noexcept.)
#include "../core/alloc_hook.h"
#include "async.h"

extern "C" {

ASYNC_API async_status_t async_set_allocator(const async_allocator_t* a) noexcept {
  return async::detail::heap_set_allocator(a);
}

}  // extern "C"
