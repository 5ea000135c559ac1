// SPDX-License-Identifier: MIT
// group.h: a group of runtimes, one per thread (group.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "async.h"
#include "inbox.h"

namespace async::detail {

struct runtime;

struct group_impl {
  std::size_t size = 0;
  async_runtime_t* handles = nullptr;  // the runtimes' user structs, owned here
  runtime** rts = nullptr;             // their runtimes, set before init returns
  std::thread* threads = nullptr;
  inbox_node* stops = nullptr;         // one stop message per runtime
  async_config_t cfg{};
  // Each on a line of its own, apart from the fields above, which every
  // spawn reads: `next` is written by spawners at every spawn, `epoch` by
  // the group's threads whenever one runs out of fibers. On one line they
  // bounced it between three threads (docs/benchmarks.md, "Foreign spawns
  // without false sharing, and fldcw skipped").
  alignas(64) std::atomic<std::size_t> next{0};  // round-robin cursor for ties
  // For async_group_wait: bumped when a runtime runs out of fibers; waiters
  // sleep on it (futex) and count themselves so idle runtimes skip the wake.
  alignas(64) std::atomic<std::uint32_t> epoch{0};
  std::atomic<std::uint32_t> waiters{0};
  // Shutdown: the stops are all sent (and their wakes made), so the threads
  // may destroy their runtimes (not before: the sender still uses them).
  alignas(64) std::atomic<bool> stops_sent{false};
  // Shutdown: set before the first stop is sent. From then on a runtime that
  // runs out of fibers wakes the waiters without scanning the others (which
  // their threads may be destroying); and a thread destroys its runtime only
  // once every runtime's thread has stopped driving (`drained` of
  // `to_drain`), so no scan begun before the stops still reads it.
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> drained{0};
  std::atomic<std::size_t> to_drain{0};
  // Start-up: each thread reports its runtime's init status.
  std::atomic<std::size_t> started{0};
  std::atomic<async_status_t> init_status{ASYNC_OK};
};

async_status_t group_create(async_group_t* g, std::size_t threads, const async_config_t* cfg) noexcept;
void group_destroy(group_impl* g) noexcept;
// Where a group spawn goes: fewest live fibers, ties in round-robin order.
runtime& group_place(group_impl& g) noexcept;
async_status_t group_wait(group_impl& g) noexcept;
// Whether the calling thread is one of g's.
bool group_owns_thread(const group_impl& g) noexcept;

}  // namespace async::detail
