// SPDX-License-Identifier: MIT
// async.hpp: the C++20 API of the async fiber runtime. It is header-only and
// built only on async.h: it adds RAII, typed results, exceptions and
// std::chrono, never behaviour that the C API lacks. Read async.h for the
// model (one thread per runtime, a deterministic FIFO scheduler, cooperative
// cancellation); this header says how each call maps onto it.
//
// Threads: as in C, a runtime and its fibers are used from the thread that
// created the runtime. The objects below are not synchronised: a fiber<T> is
// joined, cancelled, detached and destroyed on that thread.
//
// Errors: a call that fails throws async::error (a std::system_error whose
// code() is an async::status), except the few that return [[nodiscard]]
// async::status as the C call does (runtime::run, async::run), and the
// channel<T> calls, which report closed, timed out and would-block without
// throwing (see channel<T>). Every status is a std::error_code in the
// category async::category().
//
// Cancellation surfaces as an exception: every call here that suspends the
// calling fiber (this_fiber::yield, sleep_for, sleep_until, fiber<T>::join,
// the blocking and timed channel<T> calls, the locks and waits of
// async/sync.hpp) throws async::cancelled once the
// calling fiber has been cancelled, so the fiber's stack unwinds and its
// destructors run. The fiber then ends as
// cancelled if async::cancelled escapes its callable. Code that catches
// async::cancelled and goes on keeps getting it from every suspending call,
// so a cancelled fiber cannot block again.
//
// Exceptions never reach the C layer: the trampoline that runs a callable on
// its fiber catches everything the callable throws, on the fiber's stack, and
// keeps it for fiber<T>::join(). (The C core switches the C++ runtime's
// per-thread exception state with each fiber, so a fiber may suspend inside a
// catch block.)
#ifndef ASYNC_HPP
#define ASYNC_HPP

// The concepts, one header each; every one of them also compiles alone.
#include "async/status.hpp"   // async::status, async::error, async::cancelled
#include "async/time.hpp"     // std::chrono to runtime-clock deadlines
#include "async/runtime.hpp"  // async::config, async::runtime, async::run
#include "async/fiber.hpp"    // async::spawn, async::fiber<T>, this_fiber
#include "async/group.hpp"    // async::group
#include "async/channel.hpp"  // async::channel<T>
#include "async/select.hpp"   // async::select and its cases
#include "async/sync.hpp"     // mutex, condition_variable, ... (async/sync.h)

#endif  // ASYNC_HPP
