// SPDX-License-Identifier: MIT
// dump.h: the text of a runtime dump (async_runtime_dump, and the dump
// signal of dump_signal.cpp): a header line for the runtime, then one line
// per fiber. The format is documented in include/async.h and
// docs/debugging.md; tests compare it whole.
#pragma once

#include "dump_writer.h"
#include "runtime.h"

namespace async::detail {

// Writes rt's dump to `w`. Reads the runtime without changing it, so it must
// run on rt's owner thread (or with the owner stopped). `symbols`: name
// entry functions with dladdr, which is not async-signal-safe; without it
// they are printed as addresses.
void dump_runtime(const runtime& rt, dump_writer& w, bool symbols) noexcept;

}  // namespace async::detail
