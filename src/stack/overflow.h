// SPDX-License-Identifier: MIT
// overflow.h: recognising a fiber stack overflow. Every slab of guarded
// stacks is registered in a fixed, lock-free table; a SIGSEGV/SIGBUS handler
// on an alternate signal stack looks the fault address up there and, when it
// lies in a guard page, prints which fiber overflowed before the process dies
// by the signal. Other faults go to the previous handler.
#pragma once

#include <cstddef>
#include <cstdint>

namespace async::detail {

struct stack_slot;

// What the report says of the holder of an overflowed stack.
struct stack_owner_info {
  std::uint64_t id = 0;          // the fiber's full id, as its handle shows it
  const char* name = nullptr;    // may be nullptr
  const void* entry = nullptr;   // its entry function
};
// Fills `out` for stack_slot::owner. Called from the signal handler, on the
// thread of the fiber that overflowed: plain reads of its record only.
using stack_owner_describer = void (*)(const void* owner, stack_owner_info& out) noexcept;
// Registers the describer (the core's, once; later calls replace it).
void overflow_describe_owners(stack_owner_describer describe) noexcept;

// Registers [base, base + slots * slot_bytes): each slot is a guard of
// guard_bytes followed by its stack; meta[i] describes slot i. Returns a
// registration index, or -1 when the table is full (the stacks still work;
// an overflow is then reported as a plain SIGSEGV).
int overflow_register(char* base, std::size_t slots, std::size_t slot_bytes,
                      std::size_t guard_bytes, stack_slot* meta) noexcept;
void overflow_unregister(int index) noexcept;

// Installs the process-wide handler (once) and an alternate signal stack on
// the calling thread when it has none. Safe to call repeatedly.
void overflow_install_on_this_thread() noexcept;

}  // namespace async::detail
