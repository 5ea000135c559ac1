// SPDX-License-Identifier: MIT
// signal.h: fibers waiting for POSIX signals (async/signal.h), in two parts:
// catching (signal_catch.cpp: the handler, the dispositions, the pipe and
// the library's thread that reads it) and waiting (signal.cpp: the kept
// deliveries and the waiting fibers, served in the order their waits began
// through the wait protocol of core/sync_wait.h). docs/design.md,
// "Signals", has the argument.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../core/home_guard.h"
#include "async.h"

namespace async::detail {

struct runtime;
struct task;

// Signals as bits of a mask: bit signo - 1 (Linux has 64 signals).
inline constexpr std::uint64_t signal_bit(int signo) noexcept { return std::uint64_t{1} << (signo - 1); }

// --- the API's side ---------------------------------------------------------

// Whether a fiber may wait for `signo` (async/signal.h lists the refusals).
bool signal_waitable(int signo) noexcept;

// Waits for one of `signals` (each waitable, count > 0) on behalf of the
// running fiber `self`; sets `signo` on ASYNC_OK, 0 otherwise. The first
// wait for a signal makes self's runtime hold it until signal_release.
async_status_t signal_wait(task* self, const int* signals, std::size_t count, int& signo,
                           wait_mode mode, std::uint64_t deadline_ns) noexcept;

// A runtime is shut down (its waits withdrawn already): it gives back the
// signals it held, restoring the saved disposition of those nobody holds now.
void signal_release(std::uint64_t held) noexcept;

// --- between catching and waiting ---------------------------------------------

// signal_catch.cpp: makes the runtime whose mask is `held` hold every signal
// of `want` too (installing the handler, and starting the library's thread,
// at the first hold in the process). All or nothing: ASYNC_OK, ASYNC_EIO (no
// pipe), ASYNC_ENOMEM (no thread), ASYNC_EINVAL (the system refused a handler).
async_status_t signal_hold(std::uint64_t& held, std::uint64_t want) noexcept;
// signal_catch.cpp: the deliveries of `signo` the handler recorded since the
// last call, taken (reset to 0).
std::uint64_t signal_take_arrived(int signo) noexcept;

// signal.cpp: moves recorded deliveries to the kept counts and hands them to
// the oldest waits that list them (the library's thread, after each byte).
void signal_dispatch() noexcept;
// signal.cpp: forgets the kept deliveries of `signo` (nobody holds it now).
void signal_drop_kept(int signo) noexcept;

}  // namespace async::detail
