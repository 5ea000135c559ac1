// SPDX-License-Identifier: MIT
// async/testing.hpp: C++20 wrapper over async/testing.h: a test body run on
// a fresh runtime under seeded schedules 1..N until one fails, and the seed
// that replays the failure. Include it on its own; it includes async.hpp.
//
//   #include "async/testing.hpp"
//   auto r = async::testing::explore(100, [](async::runtime& rt) {
//     ... spawn fibers on rt, rt.run() ...
//     return outcome_is_right;                 // false: this seed failed
//   });
//   if (!r) std::printf("fails under seed %llu\n", (unsigned long long)r.failing_seed);
//
// In GoogleTest, return `!::testing::Test::HasFailure()` from a body that
// uses EXPECT_*; to show that a bug *is* found, return the check's result
// instead (an EXPECT failing inside would fail the test). docs/testing.md.
#ifndef ASYNC_TESTING_HPP
#define ASYNC_TESTING_HPP

#include <cstdint>
#include <cstdio>
#include <exception>
#include <type_traits>
#include <utility>

#include "../async.hpp"
#include "testing.h"

namespace async::testing {

// What explore() found.
struct explore_result {
  std::uint64_t failing_seed = 0;  // the first seed whose run failed; 0: none did

  // True when every run passed.
  explicit operator bool() const noexcept { return failing_seed == 0; }
};

// Runs `body(rt)` on a fresh async::runtime made from `cfg` with
// schedule_seed 1, 2, ..., `runs` (async_explore: only $ASYNC_SCHEDULE_SEED
// when that is set), until a run fails: `body` returns false, or throws (the
// exception's what() is printed). The failing seed and how to replay it go
// to stderr. The runtime is shut down after each run. Not a fiber call.
// Throws async::error: einval for runs == 0 or a bad ASYNC_SCHEDULE_SEED.
template <typename F>
  requires std::is_invocable_r_v<bool, F&, runtime&>
explore_result explore(std::uint64_t runs, F&& body, const config& cfg = config{}) {
  struct call {
    std::remove_reference_t<F>* body;
    static int run(const async_config_t* c, void* user) {
      try {
        runtime rt(*c);
        return (*static_cast<call*>(user)->body)(rt) ? 0 : 1;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "async::testing::explore: the body threw: %s\n", e.what());
      } catch (...) {
        std::fputs("async::testing::explore: the body threw\n", stderr);
      }
      return 1;
    }
  } c{&body};
  const async_config_t native = cfg.native();
  explore_result r;
  const async_status_t st = async_explore(&native, runs, &call::run, &c, &r.failing_seed);
  if (st != ASYNC_OK) detail::throw_status(st, "async::testing::explore");
  return r;
}

}  // namespace async::testing

#endif  // ASYNC_TESTING_HPP
