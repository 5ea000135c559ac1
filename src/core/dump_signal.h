// SPDX-License-Identifier: MIT
// dump_signal.h: ASYNC_DUMP_SIGNAL, the signal on which every runtime of the
// process writes its dump to stderr (docs/debugging.md).
#pragma once

namespace async::detail {

// The dump signal's number, 0 when ASYNC_DUMP_SIGNAL is unset or invalid.
// The first call reads the environment and installs the handler (runtime
// creation makes it); later calls only read. Such a signal cannot also be
// waited for (async_signal_wait refuses it: signal_catch.cpp).
int dump_signal_number() noexcept;

}  // namespace async::detail
