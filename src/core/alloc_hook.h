// SPDX-License-Identifier: MIT
// alloc_hook.h: replacing the allocator behind alloc.h (async_set_allocator).
#pragma once

#include "async.h"

namespace async::detail {

// Installs `a` (nullptr: the default). ASYNC_EINVAL for a missing function;
// ASYNC_ESTATE while memory from the allocator in place is still out.
async_status_t heap_set_allocator(const async_allocator_t* a) noexcept;

}  // namespace async::detail
