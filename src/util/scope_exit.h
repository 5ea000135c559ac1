// SPDX-License-Identifier: MIT
// scope_exit.h: a cleanup that runs when its scope is left, unless released
// first. For a function that takes several resources one after another and
// must give back the ones it holds on every early return, the cleanup is
// then written once (stack_pool::map_slab). Header only and free of the
// library's own headers, so every layer (stack, core, io, api) may use it.
#pragma once

#include <utility>

namespace async::detail {

template <typename F>
class scope_exit {
 public:
  explicit scope_exit(F cleanup) noexcept : cleanup_(std::move(cleanup)) {}
  scope_exit(const scope_exit&) = delete;
  scope_exit& operator=(const scope_exit&) = delete;
  ~scope_exit() {
    if (armed_) cleanup_();
  }

  // Keeps what the scope took: the cleanup will not run.
  void release() noexcept { armed_ = false; }

 private:
  F cleanup_;
  bool armed_ = true;
};

}  // namespace async::detail
