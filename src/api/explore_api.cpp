// SPDX-License-Identifier: MIT
// explore_api.cpp: async_explore (async/testing.h), a test run under one
// seeded schedule after another until one fails.
#include <cstdio>

#include "../core/schedule.h"
#include "async/testing.h"

extern "C" {

ASYNC_API async_status_t async_explore(const async_config_t* cfg, uint64_t runs, async_explore_fn body, void* user,
                                       uint64_t* failing_seed) noexcept {
  if (body == nullptr || failing_seed == nullptr || runs == 0) return ASYNC_EINVAL;
  *failing_seed = 0;
  // The seed the environment names (the config's own is replaced per run).
  std::uint64_t replay = 0;
  if (const async_status_t st = async::detail::schedule_seed_of(async_config_t{}, replay); st != ASYNC_OK) return st;
  const std::uint64_t first = replay != 0 ? replay : 1;
  const std::uint64_t last = replay != 0 ? replay : runs;
  async_config_t c{};
  if (cfg != nullptr) c = *cfg;
  for (std::uint64_t seed = first;; ++seed) {
    c.schedule_seed = seed;
    if (body(&c, user) != 0) {
      *failing_seed = seed;
      if (replay != 0) {
        std::fprintf(stderr, "async_explore: seed %llu (from ASYNC_SCHEDULE_SEED) failed\n",
                     static_cast<unsigned long long>(seed));
      } else {
        std::fprintf(stderr, "async_explore: seed %llu failed (run %llu of %llu)\n",
                     static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
                     static_cast<unsigned long long>(runs));
      }
      std::fprintf(stderr, "async_explore: replay: ASYNC_SCHEDULE_SEED=%llu <the same test>\n",
                   static_cast<unsigned long long>(seed));
      return ASYNC_OK;
    }
    if (seed == last) return ASYNC_OK;
  }
}

}  // extern "C"
