// SPDX-License-Identifier: MIT
// channel.h: bounded FIFO channels of pointers (include/async.h) and the select
// over several of their operations. The state lives in the user's
// async_channel_t; the ring buffer is allocated at init, and replaced by a
// channel_ring (channel_ring.h) once the channel is shared. Parked senders and
// receivers wait on two FIFO lists; a message meets a parked receiver
// directly, and a receiver that frees a slot pulls the first parked sender's
// message into the buffer, so FIFO order holds across both. A select parks
// one node per case (in the case's private words) on a second pair of lists;
// whoever could complete a case completes it directly, as for a plain waiter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "channel_ring.h"
#include "home_guard.h"
#include "intrusive_list.h"
#include "runtime.h"

namespace async::detail {

struct select_call;

// One case of a parked select, linked on its channel's sel_senders or
// sel_receivers. Lives in async_select_case_t::impl.
struct select_node {
  select_node* next;
  select_node* prev;
  select_call* call;     // the select it belongs to (on the selecting fiber's stack)
  // Arrival order on its channel; 0 while not linked. Written under the
  // channel's guard; read without it by the select's own thread, to learn
  // whether the node is still linked (the last write of an unlink, release).
  std::atomic<std::uint64_t> ticket;
};

// Parked select cases, FIFO. A node stays linked after its select was woken
// (by another case, a timer or a cancel) until its fiber runs again, or until
// an operation on the channel finds it and unlinks it: see select_live().
using select_list = intrusive_list<select_node>;

// A select that is parked: what an operation completing one of its cases
// needs to find the case and wake the fiber.
struct select_call {
  task* self;
  async_select_case_t* cases;
  std::size_t n;
  // The completed case; SIZE_MAX while none, SIZE_MAX - 1 once withdrawn
  // (timer, cancel). Whoever moves it from SIZE_MAX (compare-exchange)
  // decides: cases on channels of several threads race for it.
  std::atomic<std::size_t> chosen;
};

// A plain sender or receiver while parked: task::xfer points here (on its
// stack). Arrival order between plain waiters and select nodes on one side of
// a channel: a plain waiter went first iff its ticket is below the node's.
// Only linking a node advances channel::tickets, so parking a plain waiter
// only reads it.
struct channel;
struct plain_wait {
  void* xfer;            // the message to send, or the void** to receive into
  std::uint64_t ticket;  // channel::tickets when it parked
  channel* ch;
  // The channel list it is on; nullptr once taken off by whoever completed
  // it (under the channel's guard). Read without the guard by its own thread
  // (a withdrawal, a runtime's shutdown) to know whether the channel is
  // still to be touched.
  std::atomic<task_list*> list;
};

struct channel {
  std::uint64_t magic;         // channel_magic while usable
  runtime* rt;                 // its home runtime; nullptr once detached
  channel* next;               // in rt->channels (under channel_lists_lock()),
  channel* prev;               // so the runtime's shutdown can detach it
  void** buffer;               // capacity slots (nullptr for capacity 0, and once `ring` replaced it)
  std::size_t capacity;
  // The buffer once the channel is shared (channel_ring.h; capacity 0: its
  // offer word only), made at the first operation under the lock; nullptr
  // before. Read without the lock by every thread's lock-free attempt.
  std::atomic<channel_ring*> ring;
  std::size_t head;            // oldest buffered message
  std::size_t count;
  std::uint32_t max_waiters;   // 0: no bound (larger bounds are clamped: never reached)
  bool closed;
  task_list senders;           // xfer: plain_wait with the message
  task_list receivers;         // xfer: plain_wait with the void** destination
  select_list sel_senders;     // parked select send cases
  select_list sel_receivers;   // parked select recv cases
  std::size_t sel_linked;      // nodes on both select lists (max_waiters counts them)
  std::uint64_t tickets;       // select nodes ever linked: the last node's ticket
  // Who may touch the fields above (home_guard.h; docs/design.md,
  // "Channels across threads"): the home thread (the owner of rt when init
  // ran) alone without a lock until the first operation from another thread.
  home_guard g;
};

inline constexpr std::uint64_t channel_magic = 0x6173796e63636831;  // "asyncch1"
// A channel whose runtime was shut down while it was initialised: closed and
// unusable (calls return EINVAL; one already past that check sees it closed),
// but async_channel_shutdown still frees its buffer.
inline constexpr std::uint64_t channel_detached_magic = 0x6173796e63636430;  // "asynccd0"

// `shared`: made shared at once (init from a thread other than rt's owner).
async_status_t channel_init(async_channel_t* ch, runtime& rt, std::size_t capacity,
                            std::size_t max_waiters, bool shared) noexcept;
// `self` is the calling fiber, or nullptr outside fibers (mode must be never).
async_status_t channel_send(channel& c, task* self, void* msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept;
async_status_t channel_recv(channel& c, task* self, void** msg, wait_mode mode,
                            std::uint64_t deadline_ns) noexcept;
// Any thread (shared channels): close and shutdown too.
async_status_t channel_close(channel& c) noexcept;
// Guards every runtime's list of channels (runtime::channels): init,
// shutdown and a runtime's shutdown may come from any thread.
checked_mutex& channel_lists_lock() noexcept;
// Frees an initialised channel, attached (closing it first) or detached.
void channel_shutdown(channel& c) noexcept;
// Whether a fiber of any live runtime spins on `r` (runtime::spinning_ring;
// takes registry_lock()): what a shutdown waits out before freeing the ring.
bool ring_has_spinner(const channel_ring* r) noexcept;
// The runtime is being destroyed (its own fibers are off every channel
// already): every channel still initialised on it is closed, which wakes the
// waiters of other threads with ECLOSED, and detached.
void channel_detach_all(runtime& rt) noexcept;
// A thread that is not in a fiber blocks until done, `deadline_ns` (mode
// until) or close. Never mode is as channel_send / channel_recv.
async_status_t channel_send_thread(channel& c, void* msg, wait_mode mode, std::uint64_t deadline_ns) noexcept;
async_status_t channel_recv_thread(channel& c, void** msg, wait_mode mode, std::uint64_t deadline_ns) noexcept;

// The channel state behind a case's `ch` (already checked usable).
inline channel& channel_of(async_channel_t* ch) noexcept { return *reinterpret_cast<channel*>(ch->impl); }

// Runs a select whose cases were checked (usable channels of any runtime,
// or NULL; valid ops). `self` as for channel_send. Sets *chosen and every
// case's status.
async_status_t channel_select(async_select_case_t* cases, std::size_t n, std::size_t* chosen, task* self,
                              wait_mode mode, std::uint64_t deadline_ns) noexcept;

}  // namespace async::detail
