// SPDX-License-Identifier: MIT
// channel.h: bounded FIFO channels of pointers (contract §6). The state lives
// in the user's async_channel_t; the ring buffer is allocated at init. Parked
// senders and receivers wait on two FIFO lists; a message meets a parked
// receiver directly, and a receiver that frees a slot pulls the first parked
// sender's message into the buffer, so FIFO order holds across both.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime.h"

namespace async::detail {

struct channel {
  std::uint64_t magic;         // channel_magic while usable
  runtime* rt;
  async_runtime_t* rt_handle;  // to tell whether rt still exists at shutdown
  std::uint64_t rt_id_base;
  void** buffer;               // capacity slots (nullptr for capacity 0)
  std::size_t capacity;
  std::size_t head;            // oldest buffered message
  std::size_t count;
  std::size_t max_waiters;     // 0: no bound
  task_list senders;           // xfer: the message
  task_list receivers;         // xfer: void** destination
  bool closed;
};

inline constexpr std::uint64_t channel_magic = 0x6173796e63636831;  // "asyncch1"

// How a channel operation may wait.
enum class wait_mode { never, forever, until };

async_status_t channel_init(async_channel_t* ch, runtime& rt, std::size_t capacity,
                            std::size_t max_waiters) noexcept;
// `self` is the calling fiber, or nullptr outside fibers (mode must be never).
async_status_t channel_send(channel& c, task* self, void* msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept;
async_status_t channel_recv(channel& c, task* self, void** msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept;
async_status_t channel_close(channel& c) noexcept;
void channel_shutdown(channel& c) noexcept;

}  // namespace async::detail
