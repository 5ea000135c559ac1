// SPDX-License-Identifier: MIT
// async/group.hpp: async::group, runtimes on threads of their own (RAII over
// async_group_*), and spawn onto them.
#ifndef ASYNC_GROUP_HPP
#define ASYNC_GROUP_HPP

#include <cstddef>
#include <utility>

#include "fiber.hpp"
#include "status.hpp"

namespace async {

// Runtimes on threads of their own, one per thread (async_group_*): RAII.
// Fibers never move between runtimes; spawn(group&, f) places each fiber on
// the runtime with the fewest live fibers, and its fiber<T> can be joined
// (and cancelled) from any thread, exceptions included. The destructor stops
// the threads and drops fibers still alive (async_group_shutdown).
class group {
 public:
  // `threads` 0: as many as the CPUs the process may use. Throws
  // async::error: einval for a bad config, enomem, eio.
  explicit group(std::size_t threads = 0, const config& cfg = config{}) {
    const async_config_t c = cfg.native();
    const async_status_t st = async_group_init(&g_, threads, &c);
    if (st != ASYNC_OK) detail::throw_status(st, "async::group");
  }
  ~group() { async_group_shutdown(&g_); }

  group(const group&) = delete;
  group& operator=(const group&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return async_group_size(&g_); }

  // Blocks the calling thread until no fiber of the group is alive (after a
  // spin of up to 20 us, as async_group_wait). Throws async::error(estate)
  // from one of the group's own threads.
  void wait() {
    const async_status_t st = async_group_wait(&g_);
    if (st != ASYNC_OK) detail::throw_status(st, "async::group::wait");
  }

  // Runtime i (nullptr past the end), for the C calls that take one.
  [[nodiscard]] async_runtime_t* native_runtime(std::size_t i) noexcept { return async_group_runtime(&g_, i); }
  [[nodiscard]] async_group_t* native() noexcept { return &g_; }

 private:
  async_group_t g_{};
};

// As spawn(f), on the group's least loaded runtime (async_group_spawn_ex).
template <class F>
  requires detail::spawnable<F>
fiber<detail::spawn_result_t<F>> spawn(group& g, F&& f) {
  async_group_t* native = g.native();
  return detail::spawn_with(std::forward<F>(f), "async::spawn",
                            [native](async_fn fn, void* user, const async_spawn_options_t* opts) {
                              return async_group_spawn_ex(native, fn, user, opts);
                            });
}

// As spawn(f), on the group's runtime `i` (async::error einval past the end).
template <class F>
  requires detail::spawnable<F>
fiber<detail::spawn_result_t<F>> spawn(group& g, std::size_t i, F&& f) {
  async_runtime_t* rt = g.native_runtime(i);
  if (rt == nullptr) throw error(status::einval, "async::spawn");
  return detail::spawn_on(rt, std::forward<F>(f), "async::spawn");
}

}  // namespace async

#endif  // ASYNC_GROUP_HPP
