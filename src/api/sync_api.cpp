// SPDX-License-Identifier: MIT
// sync_api.cpp: the extern "C" boundary of async/sync.h: checks the object
// and the caller, then calls the core (src/core/sync.h).
#include <new>

#include "../core/sync.h"
#include "async.h"

using namespace async::detail;

namespace {

// The usable state behind a user struct, or nullptr (NULL, never
// initialised, or destroyed: destroy clears the magic).
template <class State, class User>
State* usable(User* obj, std::uint64_t magic) noexcept {
  if (obj == nullptr) return nullptr;
  auto* s = reinterpret_cast<State*>(obj->impl);
  return s->magic == magic ? s : nullptr;
}

// Makes a usable object in `obj`, which must not hold one already.
template <class State, class User>
async_status_t init_state(User* obj, std::uint64_t magic) noexcept {
  if (obj == nullptr) return ASYNC_EINVAL;
  if (reinterpret_cast<State*>(obj->impl)->magic == magic) return ASYNC_ESTATE;
  home_guard_setup();
  auto* s = new (static_cast<void*>(obj->impl)) State{};
  home_guard_init(s->g, thread_token(), false);
  s->magic = magic;
  return ASYNC_OK;
}

wait_mode mode_for(std::uint64_t deadline_ns) noexcept {
  return deadline_ns == ASYNC_NO_DEADLINE ? wait_mode::forever : wait_mode::until;
}

// A blocking call: the calling fiber, or nullptr outside fibers (ESTATE).
task* blocking_caller() noexcept { return current_fiber(); }

async_status_t lock_mutex(async_mutex_t* m, std::uint64_t deadline_ns) noexcept {
  auto* s = usable<mutex_state>(m, mutex_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  task* self = blocking_caller();
  if (self == nullptr) return ASYNC_ESTATE;
  return mutex_lock(*s, self, mode_for(deadline_ns), deadline_ns, true);
}

// Out of line, so that the fast paths inlined into the entry points save no
// registers.
[[gnu::noinline]] async_status_t unlock_mutex(mutex_state& s, task* self) noexcept { return mutex_unlock(s, self); }
[[gnu::noinline]] async_status_t lock_mutex_slow(mutex_state& s, task* self) noexcept {
  return mutex_lock(s, self, wait_mode::forever, 0, true);
}

async_status_t wait_cond(async_cond_t* c, async_mutex_t* m, std::uint64_t deadline_ns) noexcept {
  auto* cs = usable<cond_state>(c, cond_magic);
  auto* ms = usable<mutex_state>(m, mutex_magic);
  if (cs == nullptr || ms == nullptr) return ASYNC_EINVAL;
  task* self = blocking_caller();
  if (self == nullptr) return ASYNC_ESTATE;
  return cond_wait(*cs, *ms, self, mode_for(deadline_ns), deadline_ns);
}

async_status_t acquire_sem(async_sem_t* s, std::uint64_t deadline_ns) noexcept {
  auto* ss = usable<sem_state>(s, sem_magic);
  if (ss == nullptr) return ASYNC_EINVAL;
  task* self = blocking_caller();
  if (self == nullptr) return ASYNC_ESTATE;
  return sem_acquire(*ss, self, mode_for(deadline_ns), deadline_ns);
}

async_status_t wait_waitgroup(async_waitgroup_t* wg, std::uint64_t deadline_ns) noexcept {
  auto* s = usable<waitgroup_state>(wg, waitgroup_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  task* self = blocking_caller();
  if (self == nullptr) return ASYNC_ESTATE;
  return waitgroup_wait(*s, self, mode_for(deadline_ns), deadline_ns);
}

async_status_t lock_rwlock(async_rwlock_t* rw, std::uintptr_t want, std::uint64_t deadline_ns) noexcept {
  auto* s = usable<rwlock_state>(rw, rwlock_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  task* self = blocking_caller();
  if (self == nullptr) return ASYNC_ESTATE;
  return rwlock_lock(*s, self, want, mode_for(deadline_ns), deadline_ns);
}

async_status_t try_lock_rwlock(async_rwlock_t* rw, std::uintptr_t want) noexcept {
  auto* s = usable<rwlock_state>(rw, rwlock_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return rwlock_lock(*s, current_fiber(), want, wait_mode::never, 0);
}

}  // namespace

// --- mutex ----------------------------------------------------------------------

ASYNC_API async_status_t async_mutex_init(async_mutex_t* m) noexcept { return init_state<mutex_state>(m, mutex_magic); }

ASYNC_API async_status_t async_mutex_destroy(async_mutex_t* m) noexcept {
  auto* s = usable<mutex_state>(m, mutex_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return destroy_state(*s, [](const mutex_state& st) { return !st.owner.empty(); });
}

ASYNC_API async_status_t async_mutex_lock(async_mutex_t* m) noexcept {
  auto* s = usable<mutex_state>(m, mutex_magic);
  task* self = current_fiber();
  if (s == nullptr) return ASYNC_EINVAL;
  if (self == nullptr) return ASYNC_ESTATE;
  if (mutex_lock_fast(*s, self)) [[likely]] return ASYNC_OK;
  return lock_mutex_slow(*s, self);
}

ASYNC_API async_status_t async_mutex_lock_until(async_mutex_t* m, uint64_t deadline_ns) noexcept {
  return lock_mutex(m, deadline_ns);
}

ASYNC_API async_status_t async_mutex_try_lock(async_mutex_t* m) noexcept {
  auto* s = usable<mutex_state>(m, mutex_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return mutex_try_lock(*s, current_fiber());
}

ASYNC_API async_status_t async_mutex_unlock(async_mutex_t* m) noexcept {
  auto* s = usable<mutex_state>(m, mutex_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  task* self = current_fiber();
  if (self != nullptr && mutex_unlock_fast(*s, self)) [[likely]] return ASYNC_OK;
  return unlock_mutex(*s, self);
}

// --- condition variable --------------------------------------------------------------

ASYNC_API async_status_t async_cond_init(async_cond_t* c) noexcept { return init_state<cond_state>(c, cond_magic); }

ASYNC_API async_status_t async_cond_destroy(async_cond_t* c) noexcept {
  auto* s = usable<cond_state>(c, cond_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return destroy_state(*s, [](const cond_state&) { return false; });
}

ASYNC_API async_status_t async_cond_wait(async_cond_t* c, async_mutex_t* m) noexcept {
  return wait_cond(c, m, ASYNC_NO_DEADLINE);
}

ASYNC_API async_status_t async_cond_wait_until(async_cond_t* c, async_mutex_t* m, uint64_t deadline_ns) noexcept {
  return wait_cond(c, m, deadline_ns);
}

ASYNC_API async_status_t async_cond_signal(async_cond_t* c) noexcept {
  auto* s = usable<cond_state>(c, cond_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  cond_signal(*s, false);
  return ASYNC_OK;
}

ASYNC_API async_status_t async_cond_broadcast(async_cond_t* c) noexcept {
  auto* s = usable<cond_state>(c, cond_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  cond_signal(*s, true);
  return ASYNC_OK;
}

// --- semaphore ----------------------------------------------------------------------

ASYNC_API async_status_t async_sem_init(async_sem_t* s, unsigned count) noexcept {
  const async_status_t st = init_state<sem_state>(s, sem_magic);
  if (st == ASYNC_OK) reinterpret_cast<sem_state*>(s->impl)->count = count;
  return st;
}

ASYNC_API async_status_t async_sem_destroy(async_sem_t* s) noexcept {
  auto* ss = usable<sem_state>(s, sem_magic);
  if (ss == nullptr) return ASYNC_EINVAL;
  return destroy_state(*ss, [](const sem_state&) { return false; });
}

ASYNC_API async_status_t async_sem_acquire(async_sem_t* s) noexcept { return acquire_sem(s, ASYNC_NO_DEADLINE); }

ASYNC_API async_status_t async_sem_acquire_until(async_sem_t* s, uint64_t deadline_ns) noexcept {
  return acquire_sem(s, deadline_ns);
}

ASYNC_API async_status_t async_sem_try_acquire(async_sem_t* s) noexcept {
  auto* ss = usable<sem_state>(s, sem_magic);
  if (ss == nullptr) return ASYNC_EINVAL;
  return sem_acquire(*ss, nullptr, wait_mode::never, 0);
}

ASYNC_API async_status_t async_sem_release(async_sem_t* s) noexcept {
  auto* ss = usable<sem_state>(s, sem_magic);
  if (ss == nullptr) return ASYNC_EINVAL;
  return sem_release(*ss);
}

// --- wait group -----------------------------------------------------------------------

ASYNC_API async_status_t async_waitgroup_init(async_waitgroup_t* wg) noexcept {
  return init_state<waitgroup_state>(wg, waitgroup_magic);
}

ASYNC_API async_status_t async_waitgroup_destroy(async_waitgroup_t* wg) noexcept {
  auto* s = usable<waitgroup_state>(wg, waitgroup_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return destroy_state(*s, [](const waitgroup_state&) { return false; });
}

ASYNC_API async_status_t async_waitgroup_add(async_waitgroup_t* wg, long delta) noexcept {
  auto* s = usable<waitgroup_state>(wg, waitgroup_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return waitgroup_add(*s, delta);
}

ASYNC_API async_status_t async_waitgroup_done(async_waitgroup_t* wg) noexcept { return async_waitgroup_add(wg, -1); }

ASYNC_API async_status_t async_waitgroup_wait(async_waitgroup_t* wg) noexcept {
  return wait_waitgroup(wg, ASYNC_NO_DEADLINE);
}

ASYNC_API async_status_t async_waitgroup_wait_until(async_waitgroup_t* wg, uint64_t deadline_ns) noexcept {
  return wait_waitgroup(wg, deadline_ns);
}

// --- reader-writer lock --------------------------------------------------------------

ASYNC_API async_status_t async_rwlock_init(async_rwlock_t* rw) noexcept { return init_state<rwlock_state>(rw, rwlock_magic); }

ASYNC_API async_status_t async_rwlock_destroy(async_rwlock_t* rw) noexcept {
  auto* s = usable<rwlock_state>(rw, rwlock_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return destroy_state(*s, [](const rwlock_state& st) { return !st.writer.empty() || st.readers != 0; });
}

ASYNC_API async_status_t async_rwlock_rdlock(async_rwlock_t* rw) noexcept {
  return lock_rwlock(rw, rw_reader, ASYNC_NO_DEADLINE);
}

ASYNC_API async_status_t async_rwlock_rdlock_until(async_rwlock_t* rw, uint64_t deadline_ns) noexcept {
  return lock_rwlock(rw, rw_reader, deadline_ns);
}

ASYNC_API async_status_t async_rwlock_try_rdlock(async_rwlock_t* rw) noexcept { return try_lock_rwlock(rw, rw_reader); }

ASYNC_API async_status_t async_rwlock_wrlock(async_rwlock_t* rw) noexcept {
  return lock_rwlock(rw, rw_writer, ASYNC_NO_DEADLINE);
}

ASYNC_API async_status_t async_rwlock_wrlock_until(async_rwlock_t* rw, uint64_t deadline_ns) noexcept {
  return lock_rwlock(rw, rw_writer, deadline_ns);
}

ASYNC_API async_status_t async_rwlock_try_wrlock(async_rwlock_t* rw) noexcept { return try_lock_rwlock(rw, rw_writer); }

ASYNC_API async_status_t async_rwlock_unlock(async_rwlock_t* rw) noexcept {
  auto* s = usable<rwlock_state>(rw, rwlock_magic);
  if (s == nullptr) return ASYNC_EINVAL;
  return rwlock_unlock(*s, current_fiber());
}

// --- once -------------------------------------------------------------------------------

ASYNC_API async_status_t async_once(async_once_t* once, void (*fn)(void* user), void* user) noexcept {
  if (once == nullptr || fn == nullptr) return ASYNC_EINVAL;
  return once_run(*reinterpret_cast<once_state*>(once->impl), current_fiber(), fn, user);
}
