// SPDX-License-Identifier: MIT
// async/miniasync.hpp: async::await for miniasync futures (C++20), on top of
// async/miniasync.h. Inside a fiber:
//
//   auto f = vdm_memcpy(vdm, dst, src, n, 0);
//   vdm_operation_output& out = async::await(f);   // parks this fiber only
//
// Throws async::cancelled when the fiber is cancelled (the future is then
// left as async_await_future documents), async::error for other statuses.
#pragma once

#include <cstddef>
#include <type_traits>

#include "../async.hpp"
#include "miniasync.h"

namespace async {

// Awaits any future; returns when it is COMPLETE.
inline void await(struct future& fut) {
  async_status_t st = async_await_future(&fut);
  if (st != ASYNC_OK) [[unlikely]] detail::throw_status(st, "async::await(future)");
}

// Awaits a FUTURE()-declared future and returns its output. Checks at
// compile time the layout the accessors rely on (the output right after the
// data, both at most 8-aligned), which miniasync never checked.
template <class Future>
  requires requires(Future f) { f.base; f.data; f.output; }
auto& await(Future& fut) {
  static_assert(std::is_same_v<decltype(fut.base), struct future>, "not a FUTURE() type");
  static_assert(offsetof(Future, data) == sizeof(struct future), "data must follow base");
  static_assert(offsetof(Future, output) == offsetof(Future, data) + sizeof(fut.data),
                "output must follow data without padding (miniasync layout rule)");
  static_assert(alignof(decltype(fut.data)) <= 8 && alignof(decltype(fut.output)) <= 8,
                "data and output must need at most 8-byte alignment");
  await(fut.base);
  return fut.output;
}

}  // namespace async
