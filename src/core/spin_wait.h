// SPDX-License-Identifier: MIT
// spin_wait.h: the bounded spin of a thread waiting for another one (the
// inbox of a runtime that is about to sleep, a group's end in
// async_group_wait): cheaper than a sleep and a wake when the answer comes
// within microseconds, and bounded so that an idle thread still sleeps.
#pragma once

#include <cstdint>
#include <thread>

#include "../arch/cpu_relax.h"
#include "clock.h"

namespace async::detail {

// Spins until `done()` returns true or `limit_ns` has passed on the real
// clock (real even under virtual time), pausing the CPU between tries and
// reading the clock every 16 of them. With `yield_every_ns`, the spinner
// gives its CPU to any other runnable thread that often (0: never): on a
// machine with fewer CPUs than busy threads, a spinner that kept its CPU
// could starve the very thread it waits for. Returns whether done() did.
template <class Done>
bool spin_until(Done done, std::uint64_t limit_ns, std::uint64_t yield_every_ns) noexcept {
  const std::uint64_t t0 = real_now_ns();
  std::uint64_t yielded = t0;
  for (unsigned i = 1; !done(); ++i) {
    cpu_relax();
    if ((i & 15) != 0) continue;
    const std::uint64_t now = real_now_ns();
    if (now - t0 >= limit_ns) return false;
    if (yield_every_ns != 0 && now - yielded >= yield_every_ns) {
      std::this_thread::yield();
      yielded = now;
    }
  }
  return true;
}

}  // namespace async::detail
