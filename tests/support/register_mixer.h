// SPDX-License-Identifier: MIT
// register_mixer.h: a computation that keeps its state in callee-saved
// registers, for tests of the context switch (context_test.cpp,
// context_primitives_test.cpp).
#pragma once

#include <cstdint>

namespace async_test {

// Six values mixed together; the compiler keeps them in callee-saved
// registers across calls, so a switch that lost one would change the result.
struct mixer {
  std::uint64_t a = 1, b = 2, c = 3, d = 5, e = 7, g = 11;
  void step() noexcept {
    a += b;
    b ^= c;
    c += d;
    d ^= e;
    e += g;
    g ^= a;
  }
  std::uint64_t sum() const noexcept { return a + b + c + d + e + g; }
};

}  // namespace async_test
