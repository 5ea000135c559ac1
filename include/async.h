/* SPDX-License-Identifier: MIT */
/* async.h: the C API of the async fiber runtime. It is the only header a C
 * program includes; it is valid C99 and C11 and compiles as C++ too.
 *
 * A runtime runs fibers (stackful coroutines) on one thread, in a
 * deterministic FIFO order. Fibers switch only where they call into this
 * library: async_yield(), async_await(), the sleeps, the blocking channel
 * calls and selects, the I/O calls and async_park() (async/io.h). Nothing here is preemptive.
 *
 * Threads: a runtime is driven by the thread that created it ("its owner"),
 * and its fibers run only there. Other threads may spawn on it
 * (async_spawn_with), await and cancel its fibers, unpark them, and use its
 * channels; those requests join the runtime at its next pass boundary.
 * Everything else on a runtime (run, stats, shutdown, the I/O calls) is for
 * its owner: other threads get ASYNC_ESTATE unless the comment says
 * otherwise. The global runtime is per thread: every thread that uses the
 * short forms (async_spawn, async_run) gets its own. A group
 * (async_group_init) runs one runtime per thread for using every core.
 * docs/design.md, "Crossing threads", has the rules. */
#ifndef ASYNC_H
#define ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "async/status.h"
#include "async/version.h"

#ifndef ASYNC_API
#if defined(__GNUC__) || defined(__clang__)
#define ASYNC_API __attribute__((visibility("default")))
#else
#define ASYNC_API
#endif
#endif

/* In C++ every call of this API is noexcept, as its definition is: no
 * exception ever leaves the library through it (a callback that throws
 * inside a call ends the program with std::terminate). Nothing in C. */
#ifndef ASYNC_NOEXCEPT
#ifdef __cplusplus
#define ASYNC_NOEXCEPT noexcept
#else
#define ASYNC_NOEXCEPT
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status */

/* A short English sentence for a status ("canceled"); never NULL. Unknown
 * values give "unknown status". */
ASYNC_API const char *async_strerror(async_status_t status) ASYNC_NOEXCEPT;

/* The status's name without the prefix ("ECANCELED"); never NULL. */
ASYNC_API const char *async_status_name(async_status_t status) ASYNC_NOEXCEPT;

/* ------------------------------------------------------------ configuration */

/* Flags for async_config_t.flags. */
#define ASYNC_CONFIG_NO_GUARD_PAGES 0x1u /* pooled stacks get no guard page */
#define ASYNC_CONFIG_PIN_THREADS 0x2u    /* groups: thread i runs on the i-th CPU
                                            the process may use (modulo their
                                            number); ignored by single runtimes */
#define ASYNC_CONFIG_VIRTUAL_TIME 0x4u   /* the runtime's clock is virtual (below) */

/* ASYNC_CONFIG_VIRTUAL_TIME: the runtime keeps its own clock, for tests and
 * simulations. async_now_ns() in its fibers (and on its thread while it runs
 * them), every sleep, and every deadline and timeout its fibers pass read that
 * clock. It starts at the real clock (CLOCK_MONOTONIC) at async_runtime_init
 * and moves only when no fiber is runnable: the runtime then takes the I/O
 * that is ready and what other threads sent, without waiting, and when that
 * makes no fiber runnable either, the clock jumps straight to the earliest
 * deadline and those timers fire. An hour of sleeps and timeouts takes as
 * long as the fibers' own work; the wake order is the real clock's (deadline,
 * then the order the timers were set). With no timer pending the runtime
 * waits for I/O and other threads in real time, as without the flag.
 * What follows from "the clock jumps when nothing is ready now":
 * - A timeout on real I/O, or on a wait for another thread (async_park_until_ns,
 *   a cross-runtime channel, a group's inbox), fires as soon as nothing else
 *   is runnable, however soon the fd or the other thread would have answered;
 *   a back-off loop of async_park_until_ns(async_now_ns() + d) spins the CPU,
 *   its clock gaining d a turn, until the answer comes. Likewise, while a
 *   fiber waits in async_run_blocking, the other fibers' timers fire at once.
 * - A fiber that polls with async_yield() for a sleeper's result keeps the
 *   clock still (something is always runnable): the sleeper never wakes.
 * - Plain threads keep the real clock: async_now_ns() outside a running
 *   runtime, the *_blocking_until channel calls, async_run_blocking's pool.
 *   Since the virtual clock starts at the real one, a deadline computed
 *   before the first run is as far ahead on either; once the virtual clock
 *   has jumped, compute deadlines inside the fibers.
 * - In a group every runtime has a clock of its own.
 * A runtime whose fibers touch no real I/O and no other thread runs the same
 * way, and reads the same clock differences, every time. C++:
 * async::config{}.virtual_time(true); its _for timeouts are exact, a
 * steady_clock time point keeps its distance from now. docs/virtual_time.md. */

/* Runtime configuration. `async_config_t cfg = {0};` gives every default, and
 * a zero field always means "the default". A NULL config means all defaults. */
typedef struct async_config {
  size_t task_capacity;    /* 0 -> 256: most fibers alive at once (spawned, not
                              finished). Spawning past it returns a handle
                              whose status is ASYNC_EFULL; nothing is queued.
                              At most UINT32_MAX - 1 (ASYNC_EINVAL above). */
  size_t fiber_capacity;   /* 0 -> 64: most fibers holding a stack at once (the
                              pool's size). A fiber only needs a stack from its
                              first run to its end; fibers past the capacity are
                              accepted and wait, in spawn order, for a stack. */
  size_t fiber_stack_size; /* 0 -> 64 KiB, rounded up to the page size; at
                              least ASYNC_MIN_STACK_SIZE. A guard page is added
                              below every pooled stack. A fiber's stack begins
                              up to 960 bytes below the top (an offset per
                              stack, so that fibers' hottest stack lines fall
                              in different cache sets): that much of the size
                              may go unused. Rounded up and with
                              its guard, at most PTRDIFF_MAX (ASYNC_EINVAL
                              above, e.g. SIZE_MAX); a size that fits but
                              cannot be mapped fails the spawn (ASYNC_ENOMEM). */
  size_t max_events;       /* 0 -> 64: events taken from the poller per wait;
                              at most 1 << 20 (ASYNC_EINVAL above). */
  uint32_t flags;          /* ASYNC_CONFIG_* bits; 0 -> guard pages on. */
  uint32_t backend;        /* ASYNC_BACKEND_*: the I/O poller. 0 -> the
                              environment variable ASYNC_BACKEND ("epoll" or
                              "kqueue") if set, else the platform's own. */
  uint64_t schedule_seed;  /* 0 -> the environment variable
                              ASYNC_SCHEDULE_SEED (unsigned decimal or 0x
                              hex; 0 there too means FIFO) if set, else FIFO:
                              the run queue in order, as documented for every
                              call. Non-zero: a seeded schedule (below, "Seeded
                              schedules"): each pick of the next fiber is a
                              pseudo-random choice among the runnable ones.
                              A value ASYNC_SCHEDULE_SEED cannot parse makes
                              init return ASYNC_EINVAL. */
  uint32_t schedule_pct_depth; /* with a seed: 0 -> uniform random picks;
                              d >= 1 -> PCT of depth d (below); at most
                              ASYNC_SCHEDULE_PCT_MAX_DEPTH (ASYNC_EINVAL
                              above). Ignored without a seed. */
  uint32_t schedule_pct_steps; /* PCT only: 0 -> 100: the picks among which
                              its d - 1 priority change points are drawn. */
} async_config_t;

/* Seeded schedules: hunting order bugs.
 *
 * A seeded runtime keeps every rule but one: which runnable fiber runs next.
 * Fibers still suspend only where they do under FIFO (blocking calls,
 * yields, ends); at each such point the runtime picks the next fiber from
 * the runnable ones with a generator seeded by schedule_seed, instead of
 * taking the oldest. Every pick considers the whole run queue, so fibers
 * woken together (by one event, one I/O readiness, one channel close, timers
 * expiring together, messages arriving from other threads in one batch)
 * run in a seeded order too. The same program under the same seed makes the
 * same picks, byte for byte; different seeds explore different
 * interleavings. async/testing.h runs a test under many seeds and prints
 * the one that fails (docs/testing.md).
 *
 * Exact replay needs the same inputs at the same picks. Real time is not
 * one: which timers are due at a pick depends on the wall clock, so a
 * program that sleeps or waits with deadlines replays exactly only under
 * virtual time (ASYNC_CONFIG_VIRTUAL_TIME, where this build has it), and
 * one that does I/O or hears from other threads only as far as those
 * arrive at the same picks. Group runtimes: each runtime i of a group gets
 * its own seed, derived from the group's seed and i, so each replays its
 * own picks (cross-thread timing is not replayed).
 *
 * PCT (probabilistic concurrency testing, Burckhardt et al., ASPLOS 2010, as
 * in Coyote and shuttle), chosen with schedule_pct_depth = d: every fiber
 * gets a random priority when it first becomes runnable and the
 * highest-priority runnable fiber always runs; at d - 1 change points, picks
 * drawn at random among the first schedule_pct_steps, the fiber that was
 * running drops below every other. A yield also drops the yielding fiber
 * below every other (as shuttle does), so that a yield loop cannot starve
 * the fiber it waits for. PCT finds a bug of depth d (d orderings that must
 * all happen) with probability at least 1 / (n * k^(d-1)) per run, for n
 * fibers and k picks.
 *
 * Cost: none for FIFO runtimes (the fast pick never looks at the seed); a
 * seeded pick walks the run queue (linear in its length). */
#define ASYNC_SCHEDULE_PCT_MAX_DEPTH 64u
#define ASYNC_SCHEDULE_PCT_DEFAULT_STEPS 100u

/* I/O pollers for async_config_t.backend. A backend this build lacks (kqueue
 * on Linux, epoll elsewhere) makes async_runtime_init return ASYNC_EINVAL, as
 * does an unknown ASYNC_BACKEND value in the environment. */
#define ASYNC_BACKEND_DEFAULT 0u
#define ASYNC_BACKEND_EPOLL 1u
#define ASYNC_BACKEND_KQUEUE 2u

#define ASYNC_DEFAULT_TASK_CAPACITY 256u
#define ASYNC_DEFAULT_FIBER_CAPACITY 64u
#define ASYNC_DEFAULT_FIBER_STACK_SIZE (64u * 1024u)
#define ASYNC_DEFAULT_MAX_EVENTS 64u

/* ------------------------------------------------------------------- memory */

/* Where the library's heap memory comes from (docs/allocation.md). One
 * allocator for the whole process, not one per runtime: a group allocates
 * before its runtimes exist, and a channel can outlive its runtime and give
 * its buffer back after it.
 * alloc: `size` bytes (never 0) aligned to `align` (a power of two, at most
 * ASYNC_ALLOCATOR_MAX_ALIGN), or NULL when there are none to give: the call
 * that needed them then returns ASYNC_ENOMEM, with nothing changed and
 * nothing leaked. It must not longjmp or throw through the library.
 * free: gives back a block this allocator returned (never NULL), with the
 * size it was asked for.
 * Both are called from any thread that calls into the library, including
 * the threads of a group, at the same time: they must be thread-safe. `ctx`
 * is passed to both as it is. */
typedef struct async_allocator {
  void *(*alloc)(size_t size, size_t align, void *ctx);
  void (*free)(void *p, size_t size, void *ctx);
  void *ctx;
} async_allocator_t;

/* The largest `align` the library asks an allocator for (a cache line: the
 * runtime's shared fields live on lines of their own). */
#define ASYNC_ALLOCATOR_MAX_ALIGN 64u

/* Install `a` (copied: it need not outlive the call) as the allocator of the
 * library's heap memory; NULL restores the default (malloc, posix_memalign
 * above alignof(max_align_t), free).
 * What goes through it: everything the library allocates on the heap for a
 * runtime (its record, task table, timer heap, poller event buffer, seeded
 * schedule, fiber-local value blocks), a group (its record, thread and
 * runtime arrays, its CPU list) and a channel (its buffer). Spawn, yield,
 * await, channel send and receive, select, the sync primitives and the I/O
 * calls (registration included) allocate nothing on the heap; neither do the
 * blocking pool and the signal calls (their state is static).
 * What does not: fiber stacks (mapped with mmap by the stack pool, not heap
 * memory) and the stack pool's record of each mapping it makes (operator
 * new, a few bytes per stack; its failure is ASYNC_ENOMEM all the same);
 * threads (the group's std::thread start records, with operator new; the
 * stacks and records the C library makes for every thread); records kept
 * for the whole process once made: cross-thread await records (64 at a
 * time), async_await_future's wake records (async/miniasync.h), the mutexes
 * guarding the runtime registry and the channel lists; the C++ wrappers
 * (async.hpp and the headers under async/ it includes), which allocate in
 * your program with operator new; and the miniasync library (libminiasync.h).
 * Call it only while no other thread uses the library. Returns ASYNC_OK;
 * ASYNC_EINVAL for an allocator whose alloc or free is NULL; ASYNC_ESTATE
 * while memory from the allocator in place is still out (a runtime, the
 * global runtime of any thread, a group, or a channel not shut down, also one
 * whose runtime is gone): the allocator in place is left as it is. */
ASYNC_API async_status_t async_set_allocator(const async_allocator_t *a) ASYNC_NOEXCEPT;

/* ----------------------------------------------------------------- runtimes */

/* A runtime. Declare it in your own memory (`async_runtime_t rt;`), give it to
 * async_runtime_init(), and do not move or copy it while it is initialised:
 * fiber handles point at it. Its contents are private. */
typedef struct async_runtime {
  void *impl; /* private */
} async_runtime_t;

/* Make `rt` usable. Allocates the task table; stacks come later, lazily.
 * The calling thread becomes the runtime's owner.
 * Returns ASYNC_OK; ASYNC_EINVAL for a NULL rt, a config with unknown flags,
 * an unknown or unavailable backend, a stack size below
 * ASYNC_MIN_STACK_SIZE or above its limit (see fiber_stack_size), a
 * task_capacity, max_events or schedule_pct_depth above its limit, or an
 * ASYNC_SCHEDULE_SEED value in the environment that is not a number;
 * ASYNC_ENOMEM (also for a task_capacity whose table cannot be allocated);
 * ASYNC_EIO when the poller could not be created (out of file descriptors);
 * ASYNC_ESTATE when `rt` already holds a live runtime (initialised and not
 * shut down; from any thread): that runtime is left untouched. `rt` need not
 * be zeroed first: its old contents are only compared against the live
 * runtimes. On any other error `rt` names no runtime: later calls on it
 * return ASYNC_EINVAL. */
ASYNC_API async_status_t async_runtime_init(async_runtime_t *rt, const async_config_t *cfg)
    ASYNC_NOEXCEPT;

/* Run fibers until the runtime is idle: nothing runnable, no timer and no I/O
 * pending. Does not suspend (it is not a fiber call); blocks the thread while
 * fibers sleep.
 * Returns ASYNC_OK when every fiber has ended; ASYNC_EDEADLK when fibers are
 * still blocked and nothing can wake them (they stay intact: shutdown releases
 * them); ASYNC_ESTATE inside a fiber, when re-entered, or from a thread that
 * does not own the runtime; ASYNC_EINVAL for a NULL or uninitialised rt. */
ASYNC_API async_status_t async_runtime_run(async_runtime_t *rt) ASYNC_NOEXCEPT;

/* Release everything: fibers that never finished are dropped without running
 * further (their stacks are unwound by nobody: no destructor runs), stacks are
 * unmapped, memory is freed. `rt` may then be initialised again. Calling it on
 * a runtime that is not initialised does nothing. Must not be called from one
 * of the runtime's own fibers or while it runs (it then does nothing). */
ASYNC_API void async_runtime_shutdown(async_runtime_t *rt) ASYNC_NOEXCEPT;

/* The name of the I/O poller the runtime uses: "epoll" or "kqueue"; NULL for
 * a NULL or uninitialised rt. Safe from any thread while rt is initialised. */
ASYNC_API const char *async_runtime_backend(async_runtime_t *rt) ASYNC_NOEXCEPT;

/* Statistics, for tests and diagnostics. */
typedef struct async_runtime_stats {
  size_t fibers_live;      /* spawned and not finished */
  size_t fibers_runnable;  /* in the run queue */
  size_t fibers_waiting_stack; /* dispatched but waiting for a pooled stack */
  size_t stacks_allocated; /* pooled stacks that exist (mapped) */
  size_t stacks_in_use;    /* held by running or parked fibers */
  size_t stack_bytes;      /* usable bytes per pooled stack */
  size_t guard_bytes;      /* guard bytes under each pooled stack (0: off) */
  size_t mappings;         /* memory mappings (VMAs) the stack pool holds */
  size_t timers_pending;   /* sleeping fibers and armed deadlines */
  size_t io_registered;    /* registered ios not yet closed */
  size_t io_waiting;       /* fibers parked on I/O, in async_park, or awaiting
                              a fiber of another runtime */
  uint64_t switches;       /* context switches made so far */
  int guard_method;        /* ASYNC_GUARD_NONE, _MADVISE or _MPROTECT (below) */
  int reserved;
} async_runtime_stats_t;

/* async_runtime_stats_t.guard_method: how the pool's stacks are guarded. */
#define ASYNC_GUARD_NONE 0     /* no guard pages (ASYNC_CONFIG_NO_GUARD_PAGES),
                                  or no stack mapped yet */
#define ASYNC_GUARD_MADVISE 1  /* MADV_GUARD_INSTALL (Linux 6.13+): guards
                                  inside the slab's one mapping */
#define ASYNC_GUARD_MPROTECT 2 /* mprotect(PROT_NONE): each guard splits the
                                  mapping (two per stack) */

/* Fill `out`. Returns ASYNC_OK; ASYNC_EINVAL (NULL or uninitialised rt, NULL
 * out); ASYNC_ESTATE from a thread that does not own the runtime. */
ASYNC_API async_status_t async_runtime_stats(async_runtime_t *rt, async_runtime_stats_t *out)
    ASYNC_NOEXCEPT;

/* Write a text dump of the runtime's fibers to `fd`, for debugging
 * (docs/debugging.md). Does not suspend; writes with write(2), retried on
 * EINTR and short writes (a pipe's reader must keep up or the call blocks).
 * Thread: the runtime's owner only (from one of its fibers or outside them),
 * because it reads the runtime's fibers without locks. The text is a header
 * line, then one line per fiber (ended fibers not yet recycled included),
 * in task-table order:
 *
 *   runtime <serial> clock_ns=<now> fibers=<live>
 *     <id> "<name>" <state> fn=<entry> stack=<depth>/<size>
 *
 * The header is `key=value` pairs after the runtime's number; more keys may
 * be appended, so parse it by key. <now> is the runtime's clock: virtual
 * under ASYNC_CONFIG_VIRTUAL_TIME, which adds the key `virtual_time=1`. A
 * seeded runtime adds `seed=<its seed>` (a group's runtime: its derived
 * seed) and, under PCT, `pct_depth=<d>`. <id> is the fiber's number within its
 * runtime (what `info fibers` in gdb shows). <state> is `running`,
 * `runnable`, `stack` (waiting for a pooled stack), `done`, or what the
 * fiber is parked in: `sleep <ms>ms` (time left, rounded up), `await <id>`
 * (a fiber of this runtime) or `await <serial>.<id>` (of another),
 * `channel send|recv <async_channel_t address>`, `select cases=<n>`,
 * `io read|write fd=<fd>`, `park`, `mutex|cond|sem|waitgroup|rwlock|once
 * <object address>`, `signal` (async_signal_wait), `blocking` (a
 * blocking-pool call); a timed wait other than sleep adds ` timeout=<ms>ms`.
 * <entry> is the entry function's symbol when dladdr finds it (exported
 * symbols), else its address. <depth> is the fiber's current stack depth,
 * from the top of its stack to its saved stack pointer (to the dump's frame
 * for the running fiber), not the most it ever used; `-` for a fiber that
 * has no stack yet.
 * Returns ASYNC_OK; ASYNC_EINVAL for a NULL or uninitialised rt (NULL does
 * not mean the global runtime: pass async_global()) or a negative fd;
 * ASYNC_ESTATE from a thread that does not own the runtime, or from an
 * on_discard callback during its shutdown; ASYNC_EIO when a
 * write failed (a closed fd, EBADF, EPIPE: with SIGPIPE at its default a
 * closed pipe ends the process first). */
ASYNC_API async_status_t async_runtime_dump(async_runtime_t *rt, int fd) ASYNC_NOEXCEPT;

/* The global runtime: the calling thread's default runtime, created with the
 * defaults on first use unless async_global_init() came first.
 * async_global_init() returns ASYNC_ESTATE once the global runtime exists
 * (after first use), ASYNC_EINVAL for a bad config, ASYNC_ENOMEM. */
ASYNC_API async_status_t async_global_init(const async_config_t *cfg) ASYNC_NOEXCEPT;

/* The calling thread's global runtime, created if needed; NULL only when it
 * could not be created (out of memory). */
ASYNC_API async_runtime_t *async_global(void) ASYNC_NOEXCEPT;

/* async_runtime_run(async_global()), as an int for `return async_run();`. */
ASYNC_API int async_run(void) ASYNC_NOEXCEPT;

/* Shut the calling thread's global runtime down; a later use creates a fresh
 * one (and async_global_init() may be called again first). */
ASYNC_API void async_global_shutdown(void) ASYNC_NOEXCEPT;

/* ------------------------------------------------------------------- fibers */

typedef void (*async_fn)(void *user);

/* Names a fiber. Check `status` after every spawn. A handle stays valid after
 * its fiber ends: awaiting it returns the fiber's outcome until the fiber's
 * record is reused by a later spawn. Free records are reused oldest-freed
 * first, so the outcome stays readable for at least as many further spawns as
 * there were free records when the fiber ended (task_capacity minus the live
 * fibers); after that the handle is stale and calls return ASYNC_EINVAL. A
 * zeroed handle names no fiber. */
typedef struct async_fiber_handle {
  async_status_t status;    /* ASYNC_OK when the fiber was created, else why not */
  uint32_t slot;            /* private: the fiber's record */
  uint64_t id;              /* private: unique per runtime; 0 names no fiber */
  async_runtime_t *runtime; /* the fiber's runtime */
} async_fiber_handle_t;

/* Queue `fn(user)` as a new fiber. It does not run yet: it first runs when the
 * scheduler reaches it, in spawn order. Inside a fiber it spawns on that
 * fiber's runtime; outside, on the calling thread's global runtime.
 * FP control state (rounding mode, FTZ/DAZ, exception masks: MXCSR and the
 * x87 control word, FPCR on arm64): a fiber starts with the state the
 * driving thread had when it began running the runtime (async_runtime_run,
 * async_run or a top-level async_await), whoever spawned it; from then on
 * the state is the fiber's own and survives its switches. Built with
 * -DASYNC_FIBER_SAVE_X87=0, the state belongs to the thread instead.
 * handle.status: ASYNC_OK; ASYNC_EINVAL for a NULL fn; ASYNC_EFULL past
 * task_capacity (nothing changes); ASYNC_ENOMEM when no stack could be mapped
 * or guarded (a message on stderr says why, once per runtime); ASYNC_ESTATE
 * while the runtime is being shut down. */
ASYNC_API async_fiber_handle_t async_spawn(async_fn fn, void *user) ASYNC_NOEXCEPT;

/* async_spawn on the runtime `rt`. ASYNC_EINVAL for a NULL or uninitialised rt.
 * Any thread: from a thread that does not own rt the fiber is queued to the
 * runtime's inbox and joins its run queue at its next pass boundary (when the
 * owner drives it). ASYNC_EFULL is still known at the call, but may come while
 * up to 64 free records sit in the owner's local cache (it shares them at its
 * next idle moment); a fiber for which no stack can then be had ends with
 * outcome ASYNC_ENOMEM (its on_discard is called) instead of failing here. */
ASYNC_API async_fiber_handle_t async_spawn_with(async_runtime_t *rt, async_fn fn, void *user)
    ASYNC_NOEXCEPT;

/* Extra options for async_spawn_ex(). Zero every field you do not set. */
typedef struct async_spawn_options {
  void *stack;       /* a stack you own (its lowest address), or NULL for a pooled
                        stack. Your stack is not guarded and must stay valid
                        until the fiber ends; it is not counted in
                        fiber_capacity. */
  size_t stack_size; /* bytes at `stack`; at least ASYNC_MIN_STACK_SIZE */
  const char *name;  /* for diagnostics (overflow report, debugger); kept as a
                        pointer, so it must outlive the fiber. May be NULL. */
  async_fn on_discard; /* called with `user` when fn will never run or never
                        return: the fiber was cancelled before it started
                        (called from async_cancel), or the runtime was shut
                        down while the fiber was unfinished (called from
                        async_runtime_shutdown; a started fiber's stack is
                        then dropped without unwinding). Never called for a
                        fiber whose fn returned. Called at most once. Must
                        not block. During a shutdown, calls on the runtime
                        being shut down return ASYNC_ESTATE (async_cancel
                        only marks the fiber). May be NULL. */
} async_spawn_options_t;

/* The smallest stack a fiber may have, pooled (fiber_stack_size) or your own. */
#define ASYNC_MIN_STACK_SIZE (16u * 1024u)

/* async_spawn with options. `rt` NULL means the current fiber's runtime or the
 * global one, as async_spawn. A NULL `opts` is the same as async_spawn.
 * Additional status: ASYNC_EINVAL when `stack_size` is below the minimum,
 * only one of stack/stack_size is given, or stack + stack_size wraps around
 * the address space (e.g. stack_size SIZE_MAX). */
ASYNC_API async_fiber_handle_t async_spawn_ex(async_runtime_t *rt, async_fn fn, void *user,
                                              const async_spawn_options_t *opts) ASYNC_NOEXCEPT;

/* Wait for the fiber `h` to end.
 * Inside a fiber: suspends the caller until `h` ends. Outside any fiber:
 * drives h's runtime (runs its fibers on this thread) until `h` ends, so main
 * may spawn and await. Several fibers may await one fiber.
 * A fiber of another runtime (driven by another thread, e.g. a group's): a
 * fiber parks until it ends, a thread that does not own h's runtime blocks
 * until it ends; the answer comes from h's runtime, so it comes when that
 * runtime is driven.
 * Returns ASYNC_OK when `h` ran to its end; ASYNC_ECANCELED when `h` was
 * cancelled, when h's runtime was shut down while `h` had not ended (across
 * runtimes), or (inside a fiber) when the caller itself is cancelled;
 * ASYNC_EINVAL for a handle that names no fiber, a stale one, one whose
 * runtime was shut down, the caller itself, or (inside a fiber) a fiber of
 * another runtime that this thread owns too (it could not run meanwhile);
 * ASYNC_EDEADLK (outside a fiber, on its own runtime) when `h` can never
 * end; ASYNC_ESTATE (outside a fiber, on its own runtime) when the runtime is
 * already being run; ASYNC_ENOMEM when no request could be allocated for an
 * await across runtimes. */
ASYNC_API async_status_t async_await(async_fiber_handle_t h) ASYNC_NOEXCEPT;

/* Cancel `h`, cooperatively. If it has not started it never runs, and its
 * awaiters get ASYNC_ECANCELED. If it is suspended in a blocking call of this
 * library (await, sleep, waiting for a stack, I/O, channel) that call returns
 * ASYNC_ECANCELED at once; from then on every blocking call it makes returns
 * ASYNC_ECANCELED without blocking, so it unwinds by itself. A fiber may
 * cancel itself. Does not suspend.
 * Any thread: from a thread that does not own h's runtime the cancel is
 * queued and takes effect at the runtime's next pass boundary (a fiber that
 * ends first is not affected; a stale handle is then ignored).
 * Returns ASYNC_OK (also when `h` already ended); ASYNC_EINVAL for a handle
 * that names no fiber, is stale (on the owner's thread), or whose runtime was
 * shut down. */
ASYNC_API async_status_t async_cancel(async_fiber_handle_t h) ASYNC_NOEXCEPT;

/* Move the calling fiber to the tail of the run queue and run the others.
 * (Under a seeded schedule the next pick may choose the caller again.)
 * Returns ASYNC_OK; ASYNC_ECANCELED (without yielding) in a cancelled fiber;
 * ASYNC_ESTATE outside a fiber. */
ASYNC_API async_status_t async_yield(void) ASYNC_NOEXCEPT;

/* Suspend the calling fiber for at least `ms` milliseconds (the runtime's
 * clock: CLOCK_MONOTONIC, or virtual under ASYNC_CONFIG_VIRTUAL_TIME).
 * Fibers whose sleeps end together wake in deadline order, then in the order
 * they began sleeping. 0 sleeps until the next time the scheduler looks at
 * its timers (at most one pass over the run queue).
 * Returns ASYNC_OK; ASYNC_ECANCELED; ASYNC_ESTATE outside a fiber. */
ASYNC_API async_status_t async_sleep_ms(uint64_t ms) ASYNC_NOEXCEPT;

/* As async_sleep_ms, in nanoseconds. */
ASYNC_API async_status_t async_sleep_ns(uint64_t ns) ASYNC_NOEXCEPT;

/* Suspend the calling fiber until async_now_ns() >= deadline_ns (an absolute
 * time, so retries never stretch a wait). A deadline already past sleeps as
 * async_sleep_ms(0) does. Returns as async_sleep_ms. */
ASYNC_API async_status_t async_sleep_until_ns(uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Now on the clock timers use, in nanoseconds: in a fiber, or on a thread
 * while it runs a runtime, that runtime's clock (virtual under
 * ASYNC_CONFIG_VIRTUAL_TIME); anywhere else CLOCK_MONOTONIC. Any thread. */
ASYNC_API uint64_t async_now_ns(void) ASYNC_NOEXCEPT;

/* 1 when async_now_ns() reads a virtual clock here (in a fiber of, or on the
 * thread running, a runtime made with ASYNC_CONFIG_VIRTUAL_TIME), else 0.
 * Any thread. The C++ header uses it to convert steady_clock time points. */
ASYNC_API int async_now_is_virtual(void) ASYNC_NOEXCEPT;

/* 1 when the calling fiber has been cancelled, 0 otherwise (and outside fibers). */
ASYNC_API int async_is_cancelled(void) ASYNC_NOEXCEPT;

/* The calling fiber's handle. Outside any fiber: a handle whose status is
 * ASYNC_ESTATE and which names no fiber. */
ASYNC_API async_fiber_handle_t async_self(void) ASYNC_NOEXCEPT;

/* ------------------------------------------------------------------- groups */

/* A group: one runtime per thread, each driven by a thread the group owns,
 * for using every core. Fibers never move between runtimes: each runs its
 * whole life on the thread of the runtime it was spawned on, in that
 * runtime's deterministic FIFO order (or its seeded order: a seeded cfg gives
 * runtime i its own seed, derived from the seed and i; "Seeded schedules").
 * Work crosses runtimes only through explicit calls (spawn on another
 * runtime, await, cancel, channels, unpark), which join the target runtime's
 * run queue at a pass boundary.
 * Declare it in your own memory; do not move or copy it while initialised. */
typedef struct async_group {
  void *impl; /* private */
} async_group_t;

/* Start `threads` threads (0: as many as the CPUs the process may run on,
 * its affinity mask), each owning one runtime made from `cfg` (NULL: the
 * defaults; ASYNC_CONFIG_PIN_THREADS pins them) and driving it until
 * async_group_shutdown. Idle threads sleep in their poller, after spinning
 * for work from another thread: 2 to 50 us, adapted to how soon other
 * threads' answers came lately (docs/design.md, "The spin before
 * sleeping"); an idle group soon spins 2 us per idle moment and costs no CPU.
 * Returns once every runtime exists: ASYNC_OK; ASYNC_EINVAL for a NULL g or
 * a bad cfg (as async_runtime_init); ASYNC_ENOMEM when memory or a thread
 * could not be had; ASYNC_EIO when a poller could not be made. On error
 * nothing is left running and `g` names no group. */
ASYNC_API async_status_t async_group_init(async_group_t *g, size_t threads, const async_config_t *cfg)
    ASYNC_NOEXCEPT;

/* The number of runtimes (threads); 0 for a NULL or uninitialised group. */
ASYNC_API size_t async_group_size(const async_group_t *g) ASYNC_NOEXCEPT;

/* Runtime `i` of the group, NULL past the end (or for a NULL or
 * uninitialised group). Usable with every _with call from any thread:
 * async_spawn_with, async_channel_init. Owned by the group: never pass it to
 * async_runtime_run or async_runtime_shutdown (they return ASYNC_ESTATE or do
 * nothing: another thread owns it). */
ASYNC_API async_runtime_t *async_group_runtime(async_group_t *g, size_t i) ASYNC_NOEXCEPT;

/* Spawn `fn(user)` on the group's runtime with the fewest live fibers (ties:
 * round-robin order; spawns made at the same moment from several threads may
 * break their ties from the same runtime). Any thread, fiber or not. From a fiber of one of the
 * group's runtimes the fiber may land on that same runtime. handle.status as
 * async_spawn_with: ASYNC_EFULL when the chosen runtime has no free record;
 * ASYNC_EINVAL for a NULL fn or a NULL or uninitialised group. The handle
 * can be awaited and cancelled from any thread. */
ASYNC_API async_fiber_handle_t async_group_spawn(async_group_t *g, async_fn fn, void *user)
    ASYNC_NOEXCEPT;

/* async_group_spawn with async_spawn_ex's options (a stack of your own, a
 * name, on_discard); a NULL opts is the same as async_group_spawn.
 * Additional statuses as async_spawn_ex. */
ASYNC_API async_fiber_handle_t async_group_spawn_ex(async_group_t *g, async_fn fn, void *user,
                                                    const async_spawn_options_t *opts)
    ASYNC_NOEXCEPT;

/* Block the calling thread until no fiber of the group is alive (spawned on
 * any of its runtimes, by anyone, and not ended). Fibers blocked forever
 * (waiting on each other across runtimes, or for what never comes) keep it
 * waiting: deadlock across threads is not detected, because another thread
 * outside the group could always still wake them. The thread spins up to
 * 20 us first (calling sched_yield every 2 us), since a batch of short
 * fibers often ends within it, then sleeps until the last runtime to run out
 * of fibers wakes it.
 * Returns ASYNC_OK; ASYNC_EINVAL for a NULL or uninitialised group;
 * ASYNC_ESTATE from one of the group's own threads (it would wait for
 * itself). */
ASYNC_API async_status_t async_group_wait(async_group_t *g) ASYNC_NOEXCEPT;

/* Stop every thread and release every runtime, as async_runtime_shutdown
 * does for one: fibers still alive are dropped (on_discard is called on their
 * runtime's thread), and awaits of them from elsewhere return
 * ASYNC_ECANCELED. No other thread may use the group or its runtimes during
 * or after the call (a handle or channel of them then returns ASYNC_EINVAL).
 * Does nothing for a NULL or uninitialised group, or when called from one of
 * the group's own threads. `g` may then be initialised again. */
ASYNC_API void async_group_shutdown(async_group_t *g) ASYNC_NOEXCEPT;

/* ----------------------------------------------------------------- channels */

/* A bounded FIFO channel of pointers between fibers of any runtimes and
 * plain threads. Declare it in your own memory and give it to
 * async_channel_init(); do not move or copy it while initialised. All storage
 * is allocated by init; send and recv allocate nothing. A message handed to a
 * parked receiver goes straight to it (no buffer round trip).
 * Threads: fibers of any runtime may send, receive and select on one
 * channel; a plain thread (not in a fiber) uses the try_ calls and the
 * _blocking calls below, which block the thread. Wakes cross threads. While
 * only the thread that owns the channel's runtime has used it, operations
 * take no lock; the first use from any other thread makes the channel
 * shared for good (each operation then takes a short lock). Until then, a
 * runtime whose fibers wait only on such channels reports ASYNC_EDEADLK from
 * run/await (nothing it knows of can wake them); initialise a channel from
 * the thread that will use it, or a group's runtime, to avoid that.
 * Lifetime: shut a channel down (from any thread) when no call on it is in
 * progress or will come. Shut channels down before their runtime. A
 * runtime's shutdown takes its own parked fibers off every channel (their
 * operations do not happen), and closes and detaches every channel still
 * initialised on it: threads and fibers of other runtimes waiting on it get
 * ASYNC_ECLOSED, later calls return ASYNC_EINVAL (as on an io whose runtime
 * is gone), and async_channel_shutdown still frees its buffer, so call it all
 * the same. */
typedef struct async_channel {
  size_t capacity; /* read-only: buffered messages, fixed by init (0: rendezvous) */
  void *impl[24];  /* private */
} async_channel_t;

/* Make `ch` usable on runtime `rt` with room for `capacity` buffered messages
 * (0: unbuffered: a send completes when a receiver takes the message) and at
 * most `max_waiters` fibers and threads parked on it at once, senders and
 * receivers together (0: no bound). Any thread may call it, for any live
 * runtime (from a thread that does not own rt the channel is shared at
 * once). Returns ASYNC_OK; ASYNC_EINVAL for NULL ch, NULL, uninitialised or
 * shut down rt; ASYNC_ENOMEM when the buffer cannot be allocated, also for a
 * capacity whose size in bytes overflows (SIZE_MAX, 1 << 61); ASYNC_ESTATE
 * when `ch` is initialised already (not shut down: it is left untouched). On
 * any other error `ch` is unusable (calls return ASYNC_EINVAL).
 * Once shared, a channel's senders and receivers take no lock while nobody
 * waits on it; a fiber that would wait on it, while its runtime has nothing
 * else to run, first retries for up to the runtime's spin limit (2 to 50 us,
 * as for an idle group thread) so that a stream between threads does not pay
 * a wake per message. Unbuffered, such a sender puts its message on offer
 * and a receiver that spins takes it; a try send still needs a parked
 * receiver, and an offer makes a select's receive case ready. A deadline
 * that passes during the spin is acted on when it ends (docs/design.md,
 * "Channels across threads"). */
ASYNC_API async_status_t async_channel_init(async_channel_t *ch, async_runtime_t *rt, size_t capacity,
                                            size_t max_waiters) ASYNC_NOEXCEPT;

/* Send `msg` (any pointer, NULL included). Suspends the calling fiber while
 * the channel is full (or, unbuffered, until a receiver takes it). Parked
 * senders are served in FIFO order.
 * Returns ASYNC_OK once the message is buffered or taken; ASYNC_ECLOSED when
 * the channel is closed (before or while waiting: the message is not
 * delivered); ASYNC_ECANCELED when the fiber is cancelled (not delivered);
 * ASYNC_EFULL when max_waiters fibers are parked already; ASYNC_ESTATE
 * outside a fiber (a thread uses async_channel_send_blocking); ASYNC_EINVAL
 * for an unusable channel. The fiber may belong to any runtime. */
ASYNC_API async_status_t async_channel_send(async_channel_t *ch, void *msg) ASYNC_NOEXCEPT;

/* Receive the oldest message into *msg. Suspends the calling fiber while the
 * channel is empty. Parked receivers are served in FIFO order.
 * Returns ASYNC_OK; ASYNC_ECLOSED once the channel is closed and drained;
 * ASYNC_ECANCELED when the fiber is cancelled while waiting (a message already
 * handed to it before the cancel stays its result: ASYNC_OK); ASYNC_EFULL,
 * ASYNC_ESTATE, ASYNC_EINVAL (also for NULL msg) as async_channel_send. */
ASYNC_API async_status_t async_channel_recv(async_channel_t *ch, void **msg) ASYNC_NOEXCEPT;

/* As send and recv, but give up at `deadline_ns` (async_now_ns() clock) with
 * ASYNC_ETIMEDOUT; nothing is delivered or taken then. */
ASYNC_API async_status_t async_channel_send_until(async_channel_t *ch, void *msg, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_channel_recv_until(async_channel_t *ch, void **msg, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;

/* Non-blocking send and recv: ASYNC_EAGAIN where the blocking call would
 * suspend. Usable from any thread, inside and outside fibers. Other statuses
 * as the blocking calls. */
ASYNC_API async_status_t async_channel_try_send(async_channel_t *ch, void *msg) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_channel_try_recv(async_channel_t *ch, void **msg) ASYNC_NOEXCEPT;

/* For plain threads (not inside a fiber): send and receive as
 * async_channel_send / async_channel_recv, blocking the calling thread (not
 * suspending a fiber) while the channel is full / empty, with the same FIFO
 * order among parked fibers and threads. The _until forms give up at
 * `deadline_ns` (async_now_ns() clock) with ASYNC_ETIMEDOUT (nothing
 * delivered or taken). Returns ASYNC_OK; ASYNC_ECLOSED (closed before or
 * while waiting; recv: closed and drained); ASYNC_ETIMEDOUT; ASYNC_EFULL
 * when max_waiters are parked already; ASYNC_EINVAL for an unusable channel
 * (or NULL msg to recv); ASYNC_ESTATE when called from inside a fiber, or
 * from a thread while it drives a runtime. The channel becomes shared. Do not
 * block the thread that owns a runtime whose fibers must answer: they cannot
 * run meanwhile. */
ASYNC_API async_status_t async_channel_send_blocking(async_channel_t *ch, void *msg) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_channel_recv_blocking(async_channel_t *ch, void **msg)
    ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_channel_send_blocking_until(async_channel_t *ch, void *msg, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_channel_recv_blocking_until(async_channel_t *ch, void **msg, uint64_t deadline_ns)
    ASYNC_NOEXCEPT;

/* Close: further sends return ASYNC_ECLOSED, parked senders (fibers and
 * threads) are woken with ASYNC_ECLOSED (their messages are not delivered),
 * receivers drain what is buffered and then get ASYNC_ECLOSED. Does not
 * suspend; any thread may call it.
 * Returns ASYNC_OK; ASYNC_ECLOSED when already closed; ASYNC_EINVAL. */
ASYNC_API async_status_t async_channel_close(async_channel_t *ch) ASYNC_NOEXCEPT;

/* Close if needed, wake every parked fiber and thread with ASYNC_ECLOSED, and
 * release the storage. Any thread may call it, once no other call on the
 * channel is in progress or to come (a call that comes later returns
 * ASYNC_EINVAL). Shutting down twice does nothing. Buffered messages are
 * dropped (they are the caller's pointers). On a detached channel (its
 * runtime was shut down) it only releases the storage. */
ASYNC_API void async_channel_shutdown(async_channel_t *ch) ASYNC_NOEXCEPT;

/* ------------------------------------------------------------------- select */

/* What a select case does. */
#define ASYNC_SELECT_SEND 1 /* send `msg` on `ch` */
#define ASYNC_SELECT_RECV 2 /* receive from `ch` into `msg` */

/* *chosen when no case was chosen. */
#define ASYNC_SELECT_NONE SIZE_MAX

/* One operation of a select: fill ch, op and (to send) msg. The array of
 * cases is the select's own storage while it runs: keep it alive and do not
 * touch it until the call returns.                                          */
typedef struct async_select_case {
  async_channel_t *ch;   /* NULL: the case is disabled (skipped, never chosen) */
  int op;                /* ASYNC_SELECT_SEND or ASYNC_SELECT_RECV */
  async_status_t status; /* out: see async_select */
  void *msg;             /* send: the message; recv: out, the message received */
  void *impl[4];         /* private */
} async_select_case_t;

/* Wait until one of `n` channel operations can be done, do that one only,
 * and set *chosen to its index (chosen may be NULL).
 *
 * A case is ready when its operation would complete without suspending: a
 * send when a receiver is parked (plain, or a select's recv case) or the
 * buffer has room; a recv when a message is buffered or a sender is parked
 * (plain, or a select's send case). A case on a closed channel is ready too,
 * and fails: a send with ASYNC_ECLOSED (nothing delivered), a recv with
 * ASYNC_ECLOSED once the buffer is drained (like a plain recv). When several
 * cases are ready, the first in argument order is chosen, so a program runs
 * the same way every time. When none is, the calling fiber parks on every
 * channel of its cases at once, and the first operation of another fiber or
 * thread (or close) that can complete one of them completes it, exactly as for a parked
 * plain sender or receiver: a message sent to a parked recv case is written
 * to its msg, a parked send case's message is taken by a receiver or pulled
 * into a freed buffer slot. Only that case happens; the others do nothing.
 *
 * Order: on each side of a channel, parked plain calls and parked select
 * cases together are served in the order they began waiting. Unbuffered
 * (rendezvous) channels work with select on either side, including a
 * selecting sender meeting a selecting receiver. A select never meets its own
 * cases (a send and a recv case on one unbuffered channel do not pair up).
 * The same channel may appear in several cases.
 *
 * Suspends (unless a case is ready). Inside a fiber of any runtime; the
 * cases' channels may belong to any runtimes (and be used by other threads).
 * A timeout or cancel that comes after another thread completed a case
 * loses: that case is the result.
 * Returns, and stores in the chosen case's status:
 *   ASYNC_OK       case *chosen was done (recv: its msg holds the message);
 *   ASYNC_ECLOSED  case *chosen's channel is closed (send: not delivered;
 *                  recv: closed and drained; msg is left unchanged).
 * Or, with *chosen = ASYNC_SELECT_NONE and nothing sent or received:
 *   ASYNC_ECANCELED the fiber is cancelled (before or while waiting; a case
 *                  completed before the cancel stays the result: ASYNC_OK);
 *   ASYNC_EFULL    a channel of a case has max_waiters fibers parked already
 *                  (each parked case counts as one waiter on its channel);
 *   ASYNC_ESTATE   outside a fiber;
 *   ASYNC_EINVAL   cases is NULL while n > 0; a case with an unusable channel
 *                  (never initialised, shut down), or an op other than
 *                  ASYNC_SELECT_SEND/RECV (those cases get status
 *                  ASYNC_EINVAL); or no case is enabled (n == 0 or every ch
 *                  NULL): such a select could only wait forever (use
 *                  async_select_until to sleep).
 * Every case not chosen gets status ASYNC_EAGAIN, except the ASYNC_EINVAL
 * ones above.                                                                */
ASYNC_API async_status_t async_select(async_select_case_t *cases, size_t n, size_t *chosen)
    ASYNC_NOEXCEPT;

/* As async_select, but give up at `deadline_ns` (async_now_ns() clock) with
 * ASYNC_ETIMEDOUT, nothing done. A deadline that has passed makes it a try:
 * a ready case is still chosen, and otherwise it returns ASYNC_ETIMEDOUT
 * without suspending. With no case enabled it sleeps until the deadline
 * (ASYNC_ETIMEDOUT) instead of returning ASYNC_EINVAL.                      */
ASYNC_API async_status_t async_select_until(async_select_case_t *cases, size_t n, size_t *chosen,
                                            uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* As async_select, but never suspends: ASYNC_EAGAIN (nothing done) when no
 * case is ready, also when none is enabled. Usable from any thread, inside
 * and outside fibers.                                                       */
ASYNC_API async_status_t async_try_select(async_select_case_t *cases, size_t n, size_t *chosen)
    ASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#include "async/io.h"
#include "async/blocking.h"
#include "async/signal.h"
#include "async/sync.h"

#endif /* ASYNC_H */
