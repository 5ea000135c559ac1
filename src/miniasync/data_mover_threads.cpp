// SPDX-License-Identifier: MIT
// data_mover_threads.cpp: the threads mover. op_start hands a record to a
// pool of worker threads through a lock-free bounded queue (Vyukov's MPMC
// ring), with a mutex-protected overflow list when the ring is full, so a
// start is never refused (miniasync retried it on every poll while telling
// the poller to wait for a wake that never came: D10 in docs/miniasync.md).
//
// A worker runs the operation, publishes completion (release store of the
// record's 64-bit `done` word, which is also the POLLER monitor word), then
// calls the waker, then marks the record retired. op_delete waits for
// `retired`, so no waker call is still running once a future is seen
// complete and its record freed (miniasync woke first and published after,
// so a woken poller could find nothing done and sleep 1 ms: D2).
//
// Idle workers (docs/miniasync.md, Performance: miniasync posted a semaphore per operation to 12
// threads, so on a 2-CPU machine most operations woke a thread that then
// fought the others for a CPU). Here at most one worker "searches" at a
// time: it either spins (a bounded ~50 us) for new work, or is a sleeper
// that was just woken to become that spinner (a pending wake). A producer
// wakes a sleeper only when nobody searches, so a burst of submissions costs
// one futex wake, not one per operation; the woken worker, once it finds
// work, hands the search on to one more sleeper if more is queued, while
// fewer workers run than there are CPUs. One future at a time is then a
// hand-off between two spinning threads, without a system call, and 64 in
// flight keep about one worker per CPU busy instead of waking all twelve.
// (A replacement function that blocks therefore sees at most about one
// worker per CPU start new work at a time; memcpy-like work is CPU-bound.)
#include "libminiasync/data_mover_threads.h"

#include <pthread.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#include "common.h"
#include "mover_common.h"
#include "record_pool.h"

namespace miniasync {
namespace {

// miniasync fitted about 18,724 pending thread-mover futures per creating
// thread; ours fit that many per mover (MINIASYNC_MAX_PENDING overrides).
constexpr uint32_t threads_default_capacity = 18724;
constexpr uint64_t worker_spin_ns = 50000;  // an idle worker spins this long before sleeping

// Operations of at most this many bytes that use the default (libc)
// functions run inside op_start, on the polling thread: a 4 KiB copy takes
// 0.1-0.3 us there, while handing it to a worker costs the submitting
// thread more than that by itself (cross-CPU cache-line transfers of the
// ring cell, the record and the wake word: a transfer alone measured
// 0.75-1.8 us on the 2-vCPU development VM), and the data stays in the
// submitter's cache. MINIASYNC_THREADS_INLINE_MAX overrides (0: never).
// Operations with a replacement function always go to the workers.
constexpr size_t threads_default_inline_max = 4096;

size_t inline_max_from_env() noexcept {
  const char* s = std::getenv("MINIASYNC_THREADS_INLINE_MAX");
  if (!s || !*s) return threads_default_inline_max;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0') return threads_default_inline_max;
  return size_t(v);
}

struct threads_core;

struct threads_record {
  vdm_operation op;               // copied at start: the future may move
  future_notifier notifier;       // copied at start: the waker to call
  std::atomic<uint64_t> done;     // nonzero once the result is published (the POLLER word)
  std::atomic<uint32_t> retired;  // the worker no longer touches the record
  uint32_t started;               // op_start accepted it (polling thread only)
  vdm_operation_result result;
  threads_record* overflow_next;
  threads_core* core;
};

struct cell {
  std::atomic<size_t> seq;
  threads_record* rec;
};

void* libc_memcpy(void* d, const void* s, size_t n, unsigned) { return std::memcpy(d, s, n); }
void* libc_memmove(void* d, const void* s, size_t n, unsigned) { return std::memmove(d, s, n); }
void* libc_memset(void* d, int c, size_t n, unsigned) { return std::memset(d, c, n); }

struct threads_core {
  record_pool pool;
  enum future_notifier_type desired;
  size_t inline_max = threads_default_inline_max;
  size_t nthreads = 0;
  unsigned ncpu = 1;
  pthread_t* threads = nullptr;

  std::atomic<memcpy_fn> fn_memcpy{libc_memcpy};
  std::atomic<memmove_fn> fn_memmove{libc_memmove};
  std::atomic<memset_fn> fn_memset{libc_memset};

  // The ring.
  cell* cells = nullptr;
  size_t mask = 0;
  alignas(64) std::atomic<size_t> enq{0};
  alignas(64) std::atomic<size_t> deq{0};

  // The overflow list (FIFO), used while it is non-empty or the ring is full.
  alignas(64) std::mutex overflow_mutex;
  threads_record* overflow_head = nullptr;
  threads_record* overflow_tail = nullptr;
  std::atomic<size_t> overflow_count{0};

  // Worker sleep/wake.
  alignas(64) std::atomic<uint32_t> work_seq{0};  // futex word, bumped before each wake
  std::atomic<int> sleepers{0};   // workers on the way to, or in, the futex wait
  std::atomic<int> searching{0};  // spinners + pending wakes: 0 or 1
  std::atomic<int> pending{0};    // wakes sent whose worker has not yet taken over the search
  std::atomic<bool> stop{false};

  bool ring_push(threads_record* r) noexcept {
    size_t pos = enq.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells[pos & mask];
      size_t seq = c.seq.load(std::memory_order_acquire);
      intptr_t dif = intptr_t(seq) - intptr_t(pos);
      if (dif == 0) {
        if (enq.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          c.rec = r;
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (dif < 0) {
        return false;  // full
      } else {
        pos = enq.load(std::memory_order_relaxed);
      }
    }
  }

  threads_record* ring_pop() noexcept {
    size_t pos = deq.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells[pos & mask];
      size_t seq = c.seq.load(std::memory_order_acquire);
      intptr_t dif = intptr_t(seq) - intptr_t(pos + 1);
      if (dif == 0) {
        if (deq.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          threads_record* r = c.rec;
          c.seq.store(pos + mask + 1, std::memory_order_release);
          return r;
        }
      } else if (dif < 0) {
        return nullptr;  // empty
      } else {
        pos = deq.load(std::memory_order_relaxed);
      }
    }
  }

  threads_record* overflow_pop() noexcept {
    std::lock_guard<std::mutex> lk(overflow_mutex);
    threads_record* r = overflow_head;
    if (r) {
      overflow_head = r->overflow_next;
      if (!overflow_head) overflow_tail = nullptr;
      overflow_count.fetch_sub(1, std::memory_order_relaxed);
    }
    return r;
  }

  // Queued jobs go to the overflow list first while it is non-empty, so they
  // are not overtaken indefinitely.
  threads_record* pop() noexcept {
    if (overflow_count.load(std::memory_order_relaxed) != 0)
      if (threads_record* r = overflow_pop()) return r;
    return ring_pop();
  }

  bool maybe_queued() const noexcept {
    return enq.load(std::memory_order_relaxed) != deq.load(std::memory_order_relaxed) ||
           overflow_count.load(std::memory_order_relaxed) != 0;
  }

  // Hands the search to a sleeper, unless someone searches already or
  // nobody sleeps. `cap`: only while fewer workers run than CPUs.
  void wake_searcher(bool cap) noexcept {
    int sl = sleepers.load(std::memory_order_seq_cst);
    if (sl == 0 || searching.load(std::memory_order_seq_cst) != 0) return;
    if (cap && int(nthreads) - sl >= int(ncpu)) return;
    int expected = 0;
    if (!searching.compare_exchange_strong(expected, 1, std::memory_order_seq_cst)) return;
    pending.fetch_add(1, std::memory_order_seq_cst);
    work_seq.fetch_add(1, std::memory_order_seq_cst);
    word_wake(&work_seq, 1);
  }

  // A worker takes over a pending wake (whichever worker gets here first:
  // the futex may have woken another one, or none).
  bool claim_pending() noexcept {
    int p = pending.load(std::memory_order_seq_cst);
    while (p > 0)
      if (pending.compare_exchange_weak(p, p - 1, std::memory_order_seq_cst)) return true;
    return false;
  }

  void submit(threads_record* r) noexcept {
    bool queued = overflow_count.load(std::memory_order_relaxed) == 0 && ring_push(r);
    if (!queued) {
      std::lock_guard<std::mutex> lk(overflow_mutex);
      r->overflow_next = nullptr;
      if (overflow_tail)
        overflow_tail->overflow_next = r;
      else
        overflow_head = r;
      overflow_tail = r;
      overflow_count.fetch_add(1, std::memory_order_relaxed);
    }
    // Pairs with the fence a worker makes between announcing that it
    // sleeps and looking at the queue a last time.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_searcher(true);
  }

  void run(threads_record* r) noexcept {
    const vdm_operation& op = r->op;
    void* ret = nullptr;
    size_t n = 0;
    switch (op.type) {
      case VDM_OPERATION_MEMCPY:
        n = op.data.memcpy.n;
        ret = fn_memcpy.load(std::memory_order_acquire)(op.data.memcpy.dest, op.data.memcpy.src, n,
                                                         unsigned(op.data.memcpy.flags));
        break;
      case VDM_OPERATION_MEMMOVE:
        n = op.data.memmove.n;
        ret = fn_memmove.load(std::memory_order_acquire)(op.data.memmove.dest, op.data.memmove.src, n,
                                                          unsigned(op.data.memmove.flags));
        break;
      case VDM_OPERATION_MEMSET:
        n = op.data.memset.n;
        ret = fn_memset.load(std::memory_order_acquire)(op.data.memset.str, op.data.memset.c, n,
                                                         unsigned(op.data.memset.flags));
        break;
      case VDM_OPERATION_FLUSH:
        flush_range(op.data.flush.dest, op.data.flush.n);
        ret = op.data.flush.dest;
        break;
      default:
        n = 1;  // an unknown type fails
        break;
    }
    // A replacement function reports failure by returning NULL.
    r->result = (ret == nullptr && n != 0) ? VDM_ERROR_JOB_CORRUPTED : VDM_SUCCESS;
  }

  // Small operations with the default functions run right here (see
  // threads_default_inline_max); the future then completes in the poll
  // that started it, and the waker is not called.
  bool try_inline(threads_record* r) noexcept {
    const vdm_operation& op = r->op;
    size_t n;
    switch (op.type) {
      case VDM_OPERATION_MEMCPY:
        if (fn_memcpy.load(std::memory_order_relaxed) != libc_memcpy) return false;
        n = op.data.memcpy.n;
        break;
      case VDM_OPERATION_MEMMOVE:
        if (fn_memmove.load(std::memory_order_relaxed) != libc_memmove) return false;
        n = op.data.memmove.n;
        break;
      case VDM_OPERATION_MEMSET:
        if (fn_memset.load(std::memory_order_relaxed) != libc_memset) return false;
        n = op.data.memset.n;
        break;
      default:
        return false;
    }
    if (n > inline_max) return false;
    r->result = run_inline(&op);
    r->retired.store(1, std::memory_order_relaxed);
    r->done.store(1, std::memory_order_release);
    return true;
  }

  // Publish, then wake, then let go of the record.
  static void complete(threads_record* r) noexcept {
    r->done.store(1, std::memory_order_release);
    if (r->notifier.notifier_used == FUTURE_NOTIFIER_WAKER) r->notifier.waker.wake(r->notifier.waker.data);
    r->retired.store(1, std::memory_order_release);
  }

  void worker_loop() noexcept {
    bool hold = false;  // this worker holds the search (searching == 1 is ours)
    for (;;) {
      threads_record* r = pop();
      if (r && hold) searching.fetch_sub(1, std::memory_order_seq_cst), hold = false;
      if (!r && !stop.load(std::memory_order_acquire)) {
        int expected = 0;
        if (hold || claim_pending() ||
            searching.compare_exchange_strong(expected, 1, std::memory_order_seq_cst)) {
          hold = false;
          uint64_t t0 = now_ns();
          for (unsigned i = 1;; ++i) {
            if ((r = pop()) != nullptr || stop.load(std::memory_order_relaxed)) break;
            cpu_relax();
            if ((i & 63) == 0 && now_ns() - t0 > worker_spin_ns) break;
          }
          searching.fetch_sub(1, std::memory_order_seq_cst);
        }
      }
      if (r) {
        // More queued and nobody looking for it: get one more worker going.
        if (maybe_queued()) wake_searcher(true);
        run(r);
        // Take the search before publishing: the next operation is often
        // submitted as soon as the waiter sees this result, and it should
        // find this worker about to spin rather than wake a sleeper.
        int expected = 0;
        hold = searching.compare_exchange_strong(expected, 1, std::memory_order_seq_cst);
        complete(r);
        continue;
      }
      if (hold) searching.fetch_sub(1, std::memory_order_seq_cst), hold = false;
      if (stop.load(std::memory_order_acquire)) return;
      uint32_t seen = work_seq.load(std::memory_order_acquire);
      sleepers.fetch_add(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      // A wake sent to nobody in particular (pending) is taken by whoever
      // passes here, so it cannot be lost with every worker asleep.
      if (!maybe_queued() && !stop.load(std::memory_order_acquire) && pending.load(std::memory_order_seq_cst) == 0)
        word_wait(&work_seq, seen, 0);
      sleepers.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
};

void* worker_main(void* arg) {
  static_cast<threads_core*>(arg)->worker_loop();
  return nullptr;
}

threads_core* core_of(struct vdm* vdm) {
  return static_cast<threads_core*>(reinterpret_cast<mover_shell*>(vdm)->core);
}

void* threads_op_new(struct vdm* vdm, const enum vdm_operation_type) {
  threads_core* core = core_of(vdm);
  auto* r = static_cast<threads_record*>(core->pool.alloc());
  if (!r) return nullptr;
  r->done.store(0, std::memory_order_relaxed);
  r->retired.store(0, std::memory_order_relaxed);
  r->started = 0;
  r->result = VDM_SUCCESS;
  r->core = core;
  return r;
}

int threads_op_start(void* data, const vdm_operation* op, future_notifier* n) {
  auto* r = static_cast<threads_record*>(data);
  threads_core* core = r->core;
  if (n) {
    n->notifier_used = core->desired;
    if (core->desired == FUTURE_NOTIFIER_POLLER) n->poller.ptr_to_monitor = reinterpret_cast<uint64_t*>(&r->done);
    r->notifier = *n;
  } else {
    std::memset(&r->notifier, 0, sizeof r->notifier);  // NONE: nobody to wake
  }
  r->op = *op;
  r->started = 1;
  if (core->try_inline(r)) return 0;
  core->submit(r);
  return 0;
}

future_state threads_op_check(void* data, const vdm_operation*) {
  auto* r = static_cast<threads_record*>(data);
  if (r->done.load(std::memory_order_acquire)) return FUTURE_STATE_COMPLETE;
  return r->started ? FUTURE_STATE_RUNNING : FUTURE_STATE_IDLE;
}

void threads_op_delete(void* data, const vdm_operation* op, vdm_operation_output* out) {
  auto* r = static_cast<threads_record*>(data);
  // The worker published before calling the waker; wait until the call has
  // returned, so the record (and the waker's data) are no longer in use.
  for (unsigned i = 0; !r->retired.load(std::memory_order_acquire); ++i) {
    if (i < 1024)
      cpu_relax();
    else
      sched_yield();
  }
  fill_output(op, out, r->result);
  r->core->pool.free(r);
}

int threads_has_property(void*, enum future_property p) { return p == FUTURE_PROPERTY_ASYNC; }

void destroy_core(threads_core* core) {
  std::free(core->threads);
  std::free(core->cells);
  core->pool.destroy();
  delete core;
}

}  // namespace
}  // namespace miniasync

using namespace miniasync;

MINIASYNC_EXPORT struct data_mover_threads* data_mover_threads_new(size_t nthreads, size_t ringbuf_size,
                                                                   enum future_notifier_type desired_notifier) {
  // A C caller may pass any int here; in C++ an enum holding a value outside
  // its enumerators is undefined (UBSan: -fsanitize=enum), so the check
  // reads the argument's bytes as an integer, never as the enum.
  unsigned notifier = 0;
  static_assert(sizeof notifier == sizeof desired_notifier, "enum future_notifier_type is an int");
  std::memcpy(&notifier, &desired_notifier, sizeof notifier);
  if (nthreads == 0 || ringbuf_size == 0 || ringbuf_size > (size_t(1) << 30) ||
      (notifier != FUTURE_NOTIFIER_NONE && notifier != FUTURE_NOTIFIER_WAKER && notifier != FUTURE_NOTIFIER_POLLER))
    return nullptr;
  size_t cap = 2;  // the ring needs two cells to tell full from empty
  while (cap < ringbuf_size) cap <<= 1;

  auto* shell = static_cast<mover_shell*>(std::malloc(sizeof(mover_shell)));
  auto* core = new (std::nothrow) threads_core;
  if (!shell || !core) {
    delete core;
    std::free(shell);
    return nullptr;
  }
  core->desired = desired_notifier;
  core->inline_max = inline_max_from_env();
  core->nthreads = nthreads;
  unsigned hw = std::thread::hardware_concurrency();
  core->ncpu = hw ? hw : 1;
  core->mask = cap - 1;
  core->cells = static_cast<cell*>(std::malloc(cap * sizeof(cell)));
  core->threads = static_cast<pthread_t*>(std::calloc(nthreads, sizeof(pthread_t)));
  if (!core->cells || !core->threads ||
      !core->pool.init(sizeof(threads_record), pool_capacity_from_env(threads_default_capacity))) {
    destroy_core(core);
    std::free(shell);
    return nullptr;
  }
  for (size_t i = 0; i < cap; ++i) {
    new (&core->cells[i].seq) std::atomic<size_t>(i);
    core->cells[i].rec = nullptr;
  }
  shell->vdm.op_new = threads_op_new;
  shell->vdm.op_delete = threads_op_delete;
  shell->vdm.op_start = threads_op_start;
  shell->vdm.op_check = threads_op_check;
  shell->vdm.capabilities = 0;
  shell->vdm.has_property = threads_has_property;
  shell->core = core;

  for (size_t i = 0; i < nthreads; ++i) {
    if (pthread_create(&core->threads[i], nullptr, worker_main, core) != 0) {
      core->stop.store(true, std::memory_order_seq_cst);
      core->work_seq.fetch_add(1);
      word_wake(&core->work_seq, INT_MAX);
      for (size_t k = 0; k < i; ++k) pthread_join(core->threads[k], nullptr);
      destroy_core(core);
      std::free(shell);
      return nullptr;
    }
#if defined(__linux__)
    char name[16];
    std::snprintf(name, sizeof name, "miniasync-%u", unsigned(i % 100000));
    pthread_setname_np(core->threads[i], name);
#endif
  }
  return reinterpret_cast<struct data_mover_threads*>(shell);
}

MINIASYNC_EXPORT struct data_mover_threads* data_mover_threads_default(void) {
  return data_mover_threads_new(12, 128, FUTURE_NOTIFIER_WAKER);
}

MINIASYNC_EXPORT struct vdm* data_mover_threads_get_vdm(struct data_mover_threads* dmt) {
  return &reinterpret_cast<mover_shell*>(dmt)->vdm;
}

MINIASYNC_EXPORT void data_mover_threads_delete(struct data_mover_threads* dmt) {
  if (!dmt) return;
  auto* shell = reinterpret_cast<mover_shell*>(dmt);
  auto* core = static_cast<threads_core*>(shell->core);
  // Futures polled from now on see the tombstone, never the records.
  bool pending = core->pool.live() != 0;
  if (pending) retire_shell(shell);
  core->stop.store(true, std::memory_order_seq_cst);
  core->work_seq.fetch_add(1, std::memory_order_seq_cst);
  word_wake(&core->work_seq, INT_MAX);
  for (size_t i = 0; i < core->nthreads; ++i) pthread_join(core->threads[i], nullptr);
  // Workers finish what they run and then stop, so jobs may still be
  // queued: fail them, waking whoever waits for them.
  while (threads_record* r = core->pop()) {
    r->result = VDM_ERROR_JOB_CORRUPTED;
    threads_core::complete(r);
  }
  destroy_core(core);
  if (!pending) std::free(shell);
}

MINIASYNC_EXPORT void data_mover_threads_set_memcpy_fn(struct data_mover_threads* dmt, memcpy_fn fn) {
  auto* core = static_cast<threads_core*>(reinterpret_cast<mover_shell*>(dmt)->core);
  core->fn_memcpy.store(fn ? fn : libc_memcpy, std::memory_order_release);
}

MINIASYNC_EXPORT void data_mover_threads_set_memmove_fn(struct data_mover_threads* dmt, memmove_fn fn) {
  auto* core = static_cast<threads_core*>(reinterpret_cast<mover_shell*>(dmt)->core);
  core->fn_memmove.store(fn ? fn : libc_memmove, std::memory_order_release);
}

MINIASYNC_EXPORT void data_mover_threads_set_memset_fn(struct data_mover_threads* dmt, memset_fn fn) {
  auto* core = static_cast<threads_core*>(reinterpret_cast<mover_shell*>(dmt)->core);
  core->fn_memset.store(fn ? fn : libc_memset, std::memory_order_release);
}
