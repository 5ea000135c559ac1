/* SPDX-License-Identifier: MIT */
/* async/sync.h: fiber synchronisation (mutex, condition variable, semaphore,
 * wait group, reader-writer lock, once) and fiber-local storage. Included by
 * async.h; do not include it on its own.
 *
 * Common rules for every object here:
 * - It lives in caller memory: init makes it usable, destroy ends it. Nothing
 *   is allocated by init or after it. Do not move or copy an initialised
 *   object. Init expects memory that is zeroed or holds a destroyed object
 *   (ASYNC_ESTATE for one initialised already: it is left untouched); every
 *   call on memory that was not initialised, or was destroyed, returns
 *   ASYNC_EINVAL (NULL too).
 * - Any fiber of any runtime may use it, and any thread may make the
 *   non-blocking calls (try_lock, try_acquire, try_rdlock, try_wrlock,
 *   unlock, release, signal, broadcast, add, done). A blocking call outside a
 *   fiber (a plain thread, or a thread driving a runtime between fibers)
 *   returns ASYNC_ESTATE (async_once has its own rule).
 * - FIFO: waiters are served in the order they began waiting, across
 *   runtimes. No barging: a mutex or semaphore unit that waiters want is
 *   handed to the first of them directly (it becomes runnable holding it), so
 *   a later caller cannot overtake it, even on the same runtime.
 * - Each blocking call has an _until form taking an absolute deadline on
 *   async_now_ns()'s clock: ASYNC_ETIMEDOUT when it passes first (a deadline
 *   already past still tries once, without waiting); ASYNC_NO_DEADLINE means
 *   none. A timeout and a hand-off race: whichever the object's lock sees
 *   first wins, so a call that returns ASYNC_ETIMEDOUT holds nothing new.
 * - A fiber cancelled (async_cancel) before or while it waits gets
 *   ASYNC_ECANCELED and holds nothing it did not hold before the call. A
 *   cancelled fiber that need not wait still succeeds (an uncontended lock).
 * - Waiting on an object, a fiber is "waiting for another thread" (its
 *   runtime keeps waiting instead of reporting ASYNC_EDEADLK) once a thread
 *   other than the one that initialised the object has used it. Until then a
 *   runtime whose fibers all wait on such objects (a lock-order cycle, a
 *   semaphore nobody releases) reports ASYNC_EDEADLK from run or await, as
 *   for any fiber blocked forever. Initialise objects that several threads
 *   use from any of those threads: the first use from a second thread marks
 *   it shared for good (then every call takes a short spin lock; before, the
 *   initialising thread takes none).
 * - Destroy returns ASYNC_ESTATE (the object stays usable) while a fiber
 *   waits on it or while it is held (a locked mutex or rwlock, a wait group
 *   whose counter is not zero is fine). Destroy only when no call on it is in
 *   progress or will come.
 * - A runtime's shutdown takes its parked fibers off every object (they do
 *   not get what they waited for). A mutex held by a fiber that never ends
 *   stays locked, as a pthread mutex held by a thread that exited. */
#ifndef ASYNC_SYNC_H
#define ASYNC_SYNC_H

#ifndef ASYNC_H
#error "include <async.h>, not <async/sync.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- mutex */

typedef struct async_mutex {
  void *impl[8]; /* private */
} async_mutex_t;

ASYNC_API async_status_t async_mutex_init(async_mutex_t *m) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_mutex_destroy(async_mutex_t *m) ASYNC_NOEXCEPT;

/* Take the mutex, parking the calling fiber while another fiber or thread
 * holds it. ASYNC_OK; ASYNC_EDEADLK when the calling fiber holds it already
 * (not recursive); ASYNC_ECANCELED, ASYNC_ETIMEDOUT (_until), ASYNC_ESTATE,
 * ASYNC_EINVAL as the common rules. */
ASYNC_API async_status_t async_mutex_lock(async_mutex_t *m) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_mutex_lock_until(async_mutex_t *m, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;

/* Take it if free and nobody waits: ASYNC_OK, else ASYNC_EAGAIN (also when
 * the caller holds it). From a plain thread (or a runtime's driving thread
 * between fibers) the thread holds it, and only that thread may unlock it. */
ASYNC_API async_status_t async_mutex_try_lock(async_mutex_t *m) ASYNC_NOEXCEPT;

/* Release it; the first waiter, if any, is made runnable holding it.
 * ASYNC_OK; ASYNC_ESTATE when the caller (fiber, or thread outside fibers)
 * does not hold it. */
ASYNC_API async_status_t async_mutex_unlock(async_mutex_t *m) ASYNC_NOEXCEPT;

/* ----------------------------------------------------- condition variable */

typedef struct async_cond {
  void *impl[8]; /* private */
} async_cond_t;

ASYNC_API async_status_t async_cond_init(async_cond_t *c) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_cond_destroy(async_cond_t *c) ASYNC_NOEXCEPT;

/* Atomically release `m` (held by the calling fiber) and park until a signal
 * or broadcast wakes this waiter; then take `m` again (waiting in its FIFO
 * like any locker) and return. ASYNC_OK; ASYNC_ETIMEDOUT (_until: the
 * deadline passed before a signal chose this waiter), ASYNC_ECANCELED
 * (cancelled before or while waiting): both with `m` held again.
 * ASYNC_ESTATE when the fiber does not hold `m` (or outside a fiber),
 * ASYNC_EINVAL for an unusable c or m. There are no spurious wake-ups, but
 * another fiber may run between the signal and the return: check the
 * condition in a loop. */
ASYNC_API async_status_t async_cond_wait(async_cond_t *c, async_mutex_t *m) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_cond_wait_until(async_cond_t *c, async_mutex_t *m, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;

/* Wake the longest waiter (signal) or every waiter, in the order they began
 * waiting (broadcast). Nothing happens when none waits. ASYNC_OK. */
ASYNC_API async_status_t async_cond_signal(async_cond_t *c) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_cond_broadcast(async_cond_t *c) ASYNC_NOEXCEPT;

/* -------------------------------------------------------------- semaphore */

typedef struct async_sem {
  void *impl[8]; /* private */
} async_sem_t;

/* A counting semaphore holding `count` units. */
ASYNC_API async_status_t async_sem_init(async_sem_t *s, unsigned count) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_sem_destroy(async_sem_t *s) ASYNC_NOEXCEPT;

/* Take one unit, parking while none is left (or while earlier waiters wait). */
ASYNC_API async_status_t async_sem_acquire(async_sem_t *s) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_sem_acquire_until(async_sem_t *s, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;
/* ASYNC_OK, or ASYNC_EAGAIN when no unit is free (or fibers wait for one). */
ASYNC_API async_status_t async_sem_try_acquire(async_sem_t *s) ASYNC_NOEXCEPT;
/* Give one unit back: to the first waiter when one waits. ASYNC_EFULL (and
 * nothing changes) when the count would exceed UINT_MAX. */
ASYNC_API async_status_t async_sem_release(async_sem_t *s) ASYNC_NOEXCEPT;

/* -------------------------------------------------------------- wait group */

typedef struct async_waitgroup {
  void *impl[8]; /* private */
} async_waitgroup_t;

ASYNC_API async_status_t async_waitgroup_init(async_waitgroup_t *wg) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_waitgroup_destroy(async_waitgroup_t *wg) ASYNC_NOEXCEPT;

/* Add `delta` (may be negative) to the counter. When it reaches zero, every
 * waiter is woken, in the order they began waiting. ASYNC_EINVAL (and
 * nothing changes) when the counter would go below zero or overflow. */
ASYNC_API async_status_t async_waitgroup_add(async_waitgroup_t *wg, long delta) ASYNC_NOEXCEPT;
/* async_waitgroup_add(wg, -1). */
ASYNC_API async_status_t async_waitgroup_done(async_waitgroup_t *wg) ASYNC_NOEXCEPT;
/* Park until the counter is zero (ASYNC_OK at once when it is; outside a
 * fiber ASYNC_ESTATE, as every blocking call). */
ASYNC_API async_status_t async_waitgroup_wait(async_waitgroup_t *wg) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_waitgroup_wait_until(async_waitgroup_t *wg, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;

/* ---------------------------------------------------- reader-writer lock */

/* Fair: readers and writers are served in the order they began waiting. A
 * reader arriving while a writer waits queues behind it (writers do not
 * starve); a writer's release admits every reader at the head of the queue
 * together. Readers are not tracked one by one: a fiber holding a read lock
 * that asks for another while a writer waits deadlocks. */
typedef struct async_rwlock {
  void *impl[10]; /* private */
} async_rwlock_t;

ASYNC_API async_status_t async_rwlock_init(async_rwlock_t *rw) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_rwlock_destroy(async_rwlock_t *rw) ASYNC_NOEXCEPT;

/* Shared (read) lock: ASYNC_OK, or the common statuses. ASYNC_EDEADLK when
 * the calling fiber holds the write lock. */
ASYNC_API async_status_t async_rwlock_rdlock(async_rwlock_t *rw) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_rwlock_rdlock_until(async_rwlock_t *rw, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_rwlock_try_rdlock(async_rwlock_t *rw) ASYNC_NOEXCEPT;
/* Exclusive (write) lock: as the mutex's lock, lock_until and try_lock. */
ASYNC_API async_status_t async_rwlock_wrlock(async_rwlock_t *rw) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_rwlock_wrlock_until(async_rwlock_t *rw, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_rwlock_try_wrlock(async_rwlock_t *rw) ASYNC_NOEXCEPT;
/* Release the write lock when the caller holds it, else one read lock.
 * ASYNC_ESTATE when neither is held. */
ASYNC_API async_status_t async_rwlock_unlock(async_rwlock_t *rw) ASYNC_NOEXCEPT;

/* ------------------------------------------------------------------ once */

/* Static initialisation only: `static async_once_t once = ASYNC_ONCE_INIT;`
 * (or zeroed memory). It needs no destroy. */
typedef struct async_once {
  void *impl[8]; /* private */
} async_once_t;

#define ASYNC_ONCE_INIT \
  {                     \
    { 0 }               \
  }

/* Run fn(user) exactly once per `once`, whoever calls first; the others park
 * until it has returned (fn may suspend: it runs on its caller's fiber).
 * ASYNC_OK once fn has returned. A waiter cancelled while it waits gets
 * ASYNC_ECANCELED (fn still runs to its end in the fiber that called it
 * first; a later call returns ASYNC_OK at once). Outside a fiber, a call runs fn itself when nobody has started it
 * and returns ASYNC_ESTATE only when it would have to wait for a fiber's fn.
 * fn calling async_once on the same `once` returns ASYNC_EDEADLK there. If
 * the fiber running fn never returns (its runtime is shut down meanwhile),
 * the once stays unfinished and its waiters wait until their own runtimes
 * are shut down.
 * ASYNC_EINVAL for NULL once or fn. */
ASYNC_API async_status_t async_once(async_once_t *once, void (*fn)(void *user), void *user)
    ASYNC_NOEXCEPT;

/* --------------------------------------------------- fiber-local storage */

/* A key names one value per fiber. Keys are process-wide: a fiber of any
 * runtime has its own value for every key. At most ASYNC_FLS_KEYS_MAX keys
 * exist at once. Create and delete may be called from any thread (they take
 * a short lock); get and set never lock and touch only the calling fiber's
 * values. The key is checked first: ASYNC_EINVAL for a key that is not live,
 * in a fiber or not. */
#define ASYNC_FLS_KEYS_MAX 256u

typedef struct async_fls_key {
  uint64_t id; /* private: slot and generation; 0 is never a valid key */
} async_fls_key_t;

/* Create a key. `destructor` (may be NULL) runs when a fiber that holds a
 * non-NULL value for the key returns from its function, with the value (set
 * to NULL before the call). It runs on that fiber's stack, as that fiber
 * (async_self), before the fiber's awaiters are woken: it may suspend, and a
 * cancelled fiber's destructors see the cancellation. Destructors that set
 * values again make another round, up to 4 rounds; values still set after
 * the last are dropped. A fiber that never ends (dropped by its runtime's
 * shutdown) gets no destructor calls: its stack is gone, and the shutdown
 * frees its values' storage. ASYNC_OK; ASYNC_EFULL when ASYNC_FLS_KEYS_MAX
 * keys exist; ASYNC_EINVAL for NULL key. */
ASYNC_API async_status_t async_fls_create(async_fls_key_t *key, void (*destructor)(void *value))
    ASYNC_NOEXCEPT;
/* Delete a key: values still set are dropped without their destructor (as
 * pthread_key_delete); later gets return NULL, sets ASYNC_EINVAL. A
 * destructor that a fiber's end had already begun still runs to its end. The
 * slot may be reused by a later create (a new key, never equal to this one,
 * which never sees this key's values). ASYNC_OK; ASYNC_EINVAL for a key that
 * is not live. Any thread. */
ASYNC_API async_status_t async_fls_delete(async_fls_key_t key) ASYNC_NOEXCEPT;
/* The calling fiber's value (NULL at first); NULL outside fibers and for a
 * key that is not live. */
ASYNC_API void *async_fls_get(async_fls_key_t key) ASYNC_NOEXCEPT;
/* Set the calling fiber's value. ASYNC_OK; ASYNC_EINVAL for a key that is
 * not live; ASYNC_ESTATE outside a fiber; ASYNC_ENOMEM (nothing changes)
 * when the fiber's values need storage that cannot be allocated: a small
 * block per fiber, made by its first non-NULL value (and enlarged by a later
 * one while more than 8 keys exist), recycled by its runtime. Setting NULL
 * never allocates. */
ASYNC_API async_status_t async_fls_set(async_fls_key_t key, void *value) ASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_SYNC_H */
