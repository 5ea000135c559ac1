// SPDX-License-Identifier: MIT
// sync.h: the state of the synchronisation objects of async/sync.h, which
// lives in the user's structs, and their operations. Every field below the
// guard is touched only inside it (home_guard.h); waiting is sync_wait.h's.
// `self` is the calling fiber (nullptr outside fibers: only the calls that
// never wait accept that).
#pragma once

#include <atomic>
#include <cstdint>

#include "async.h"
#include "home_guard.h"
#include "runtime.h"
#include "sync_wait.h"

namespace async::detail {

// Who holds a mutex or a write lock: a fiber (by id, unique in the process)
// or a thread outside fibers (by thread_token()); both empty when free.
struct holder {
  std::uint64_t fiber = 0;
  const void* thread = nullptr;

  bool empty() const noexcept { return (fiber | reinterpret_cast<std::uintptr_t>(thread)) == 0; }
  bool operator==(const holder&) const noexcept = default;
};

// The caller's identity as a holder.
inline holder holder_of(const task* self) noexcept {
  return self != nullptr ? holder{self->id, nullptr} : holder{0, thread_token()};
}

inline constexpr std::uint64_t mutex_magic = 0x6173796e636d7478;    // "asyncmtx"
inline constexpr std::uint64_t cond_magic = 0x6173796e63636e64;     // "asynccnd"
inline constexpr std::uint64_t sem_magic = 0x6173796e6373656d;      // "asyncsem"
inline constexpr std::uint64_t waitgroup_magic = 0x6173796e63776770; // "asyncwgp"
inline constexpr std::uint64_t rwlock_magic = 0x6173796e6372776c;   // "asyncrwl"

struct mutex_state {
  std::uint64_t magic;
  home_guard g;
  task_list waiters;
  holder owner;
};

struct cond_state {
  std::uint64_t magic;
  home_guard g;
  task_list waiters;
};

struct sem_state {
  std::uint64_t magic;
  home_guard g;
  task_list waiters;
  unsigned count;
};

struct waitgroup_state {
  std::uint64_t magic;
  home_guard g;
  task_list waiters;
  long counter;
};

struct rwlock_state {
  std::uint64_t magic;
  home_guard g;
  task_list waiters;  // sync_wait::want: rw_writer or rw_reader
  holder writer;
  std::size_t readers;
};

inline constexpr std::uintptr_t rw_reader = 0;
inline constexpr std::uintptr_t rw_writer = 1;

// async_once_t: zero is its initial state (ASYNC_ONCE_INIT), so its guard
// starts with no home thread, shared at the first call.
enum : std::uint32_t { once_new = 0, once_running = 1, once_done = 2 };
struct once_state {
  std::atomic<std::uint32_t> state;
  home_guard g;
  task_list waiters;
  holder runner;
};

static_assert(sizeof(mutex_state) <= sizeof(async_mutex_t), "mutex state must fit async_mutex_t");
static_assert(sizeof(cond_state) <= sizeof(async_cond_t), "cond state must fit async_cond_t");
static_assert(sizeof(sem_state) <= sizeof(async_sem_t), "sem state must fit async_sem_t");
static_assert(sizeof(waitgroup_state) <= sizeof(async_waitgroup_t), "waitgroup state must fit");
static_assert(sizeof(rwlock_state) <= sizeof(async_rwlock_t), "rwlock state must fit async_rwlock_t");
static_assert(sizeof(once_state) <= sizeof(async_once_t), "once state must fit async_once_t");

// --- mutex (mutex.cpp) --------------------------------------------------------

// The home thread's uncontended paths, inlined into the C entry points: one
// pass through the guard without a call. False: not done (shared, held,
// waited on, or not the caller's): the full operation decides.
[[gnu::always_inline]] inline bool home_enter(home_guard& g) noexcept {
  g.in_op.store(1, std::memory_order_relaxed);
  if (home_fence_needed.load(std::memory_order_relaxed)) [[unlikely]] {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  return !g.shared.load(std::memory_order_acquire);
}

[[gnu::always_inline]] inline bool mutex_lock_fast(mutex_state& m, const task* self) noexcept {
  if (m.g.home != thread_token()) return false;
  const bool done = home_enter(m.g) && m.owner.empty();
  if (done) m.owner.fiber = self->id;
  m.g.in_op.store(0, std::memory_order_release);
  return done;
}

[[gnu::always_inline]] inline bool mutex_unlock_fast(mutex_state& m, const task* self) noexcept {
  if (m.g.home != thread_token()) return false;
  const bool done = home_enter(m.g) && m.owner.fiber == self->id && m.waiters.empty();
  if (done) m.owner.fiber = 0;
  m.g.in_op.store(0, std::memory_order_release);
  return done;
}

async_status_t mutex_lock(mutex_state& m, task* self, wait_mode mode, std::uint64_t deadline_ns,
                          bool cancellable) noexcept;
async_status_t mutex_try_lock(mutex_state& m, task* self) noexcept;
async_status_t mutex_unlock(mutex_state& m, task* self) noexcept;
// Releases m, held by `self` (checked by the caller, inside the guard).
void mutex_release_entered(mutex_state& m) noexcept;

// --- condition variable (cond.cpp) ---------------------------------------------
async_status_t cond_wait(cond_state& c, mutex_state& m, task* self, wait_mode mode, std::uint64_t deadline_ns) noexcept;
// One waiter (all: every waiter), in the order they began waiting.
void cond_signal(cond_state& c, bool all) noexcept;

// --- semaphore, wait group (semaphore.cpp, waitgroup.cpp) ---------------------
async_status_t sem_acquire(sem_state& s, task* self, wait_mode mode, std::uint64_t deadline_ns) noexcept;
async_status_t sem_release(sem_state& s) noexcept;
async_status_t waitgroup_add(waitgroup_state& wg, long delta) noexcept;
async_status_t waitgroup_wait(waitgroup_state& wg, task* self, wait_mode mode, std::uint64_t deadline_ns) noexcept;

// --- reader-writer lock (rwlock.cpp) --------------------------------------------
async_status_t rwlock_lock(rwlock_state& rw, task* self, std::uintptr_t want, wait_mode mode,
                           std::uint64_t deadline_ns) noexcept;
async_status_t rwlock_unlock(rwlock_state& rw, task* self) noexcept;

// --- once (once.cpp) ---------------------------------------------------------------
async_status_t once_run(once_state& o, task* self, void (*fn)(void*), void* user) noexcept;

// Every object's destroy: ASYNC_ESTATE while fibers wait on it or busy(s)
// says it is held, else it is no longer usable (calls return ASYNC_EINVAL).
template <class State, class Busy>
async_status_t destroy_state(State& s, Busy busy) noexcept {
  op_guard og(s.g);
  if (!s.waiters.empty() || busy(s)) return ASYNC_ESTATE;
  s.magic = 0;
  return ASYNC_OK;
}

}  // namespace async::detail
