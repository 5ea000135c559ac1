// SPDX-License-Identifier: MIT
// signal_catcher.h: the suites that wait for signals and count fds.
#pragma once

#include <gtest/gtest.h>

#include <csignal>

#include "async.h"
#include "async/signal.h"

namespace async_test {

// The first signal wait in the process starts the library's signal thread
// and its pipe (src/io/signal_catch.cpp), which stay until the process ends:
// a suite that waits for signals calls this before the baseline, so that
// the pipe is not counted as a leak of whichever of its tests runs first.
// One wait that times out at once, on a runtime of its own; the signal
// (the last real-time one, which no test sends) is let go at its shutdown.
inline void start_signal_catcher() {
  async_runtime_t rt{};
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  async_spawn_with(
      &rt,
      [](void*) {
        const int sig = SIGRTMAX;
        int signo = 0;
        EXPECT_EQ(async_signal_wait_until(&sig, 1, &signo, async_now_ns()), ASYNC_ETIMEDOUT);
      },
      nullptr);
  EXPECT_EQ(async_runtime_run(&rt), ASYNC_OK);
  async_runtime_shutdown(&rt);
}

}  // namespace async_test
