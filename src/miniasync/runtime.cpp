// SPDX-License-Identifier: MIT
// runtime.cpp: runtime_wait_multiple and the thread park behind it.
//
// Polling order (miniasync's): in every pass, futures with
// FUTURE_PROPERTY_ASYNC come first, ties keep the order of the previous
// pass. We sort a private index array (stable) instead of qsort-ing the
// caller's array (D5 in docs/miniasync.md), and a future counts as done whenever its state is
// COMPLETE, so pre-completed and duplicated futures return at once (D3).
//
// Waiting: every call hands out one waker whose data is the runtime's wait
// object, an event counter (a futex word) plus an "armed" flag that a thread
// sets before it sleeps. A waker bumps the counter and, if the flag is set,
// clears it and wakes the sleepers: one system call per sleep, none while
// the waiting thread spins. A waiting
// thread reads the counter before a pass and sleeps only while it is
// unchanged, so a wake that lands between the pass and the sleep is never
// lost (D2). Wait objects are never freed, only recycled, so a late waker
// call after runtime_delete costs at most a spurious wake-up.
//
// Between a pass and the sleep the thread spins for a bounded, adaptive
// time: four times the recent wait time (at most 200 us when waiting for
// a single future, whose latency is the whole cost, 20 us when several are
// pending, where the workers need the CPU more), and a few microseconds when
// waits are longer than that. While a future asked to be polled
// (FUTURE_NOTIFIER_NONE, or POLLER, which we treat alike) it never sleeps
// without a timeout: it spins, then sleeps 16 us, 32 us, ... up to 1 ms at a
// time, and any waker still cuts that short.
//
// Futures from a mover that calls the waker before publishing completion
// (miniasync's own thread mover does) are handled too: a wake-up that finds
// nothing new re-polls during the spin, and the sleep after it is bounded by
// 1 ms. With wakers called after publication a sleep ends only on a wake
// (or a 100 ms safety timeout that correct futures never need).
#include "libminiasync/runtime.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <new>

#include <sched.h>

#include "common.h"

namespace miniasync {
namespace {

struct alignas(64) wait_object {
  std::atomic<uint32_t> seq{0};       // bumped by every wake
  std::atomic<uint32_t> armed{0};     // set by a thread about to sleep on seq; the next waker clears it and wakes
  std::atomic<uint64_t> woke_at{0};   // when that waker ran (CLOCK_MONOTONIC ns)
  wait_object* next_free = nullptr;
};

struct wait_pool {
  std::mutex m;
  wait_object* free = nullptr;
};
wait_pool& waits() {
  static wait_pool* p = new wait_pool;  // never destroyed: wakers may come late
  return *p;
}

wait_object* wait_object_get() {
  wait_pool& p = waits();
  {
    std::lock_guard<std::mutex> lk(p.m);
    if (wait_object* w = p.free) {
      p.free = w->next_free;
      return w;
    }
  }
  return new (std::nothrow) wait_object;
}

void wait_object_put(wait_object* w) {
  wait_pool& p = waits();
  std::lock_guard<std::mutex> lk(p.m);
  w->next_free = p.free;
  p.free = w;
}

void runtime_waker(void* data) {
  auto* w = static_cast<wait_object*>(data);
  w->seq.fetch_add(1, std::memory_order_seq_cst);
  // One system call per sleep: the wakers that follow the first (several
  // futures completing while the thread is still waking up) find it cleared.
  if (w->armed.load(std::memory_order_seq_cst) != 0 && w->armed.exchange(0, std::memory_order_seq_cst) != 0) {
    w->woke_at.store(now_ns(), std::memory_order_relaxed);
    word_wake(&w->seq, INT_MAX);
  }
}

constexpr uint64_t spin_cap_single_ns = 200000;
constexpr uint64_t spin_cap_multi_ns = 20000;
constexpr uint64_t spin_min_ns = 2000;
constexpr uint64_t settle_ns = 2000;
constexpr uint64_t spin_yield_ns = 1000;  // a spin hands its CPU over this often
constexpr uint64_t fruitless_timeout_ns = 1000000;
constexpr uint64_t safety_timeout_ns = 100000000;
constexpr uint64_t poll_backoff_min_ns = 16000;
constexpr uint64_t poll_backoff_max_ns = 1000000;
constexpr unsigned poll_spin_passes = 256;
constexpr size_t stack_futures = 64;

}  // namespace
}  // namespace miniasync

struct runtime {
  miniasync::wait_object* w;
  std::atomic<uint64_t> wait_ewma_ns;  // recent time from a pass to the wake that ended the wait
};

namespace miniasync {
namespace {

// Stable sort of the pending indices, ASYNC (larger property value) first.
void order(future** futs, uint32_t* idx, int* keys, uint32_t* tmp, size_t n) {
  bool small = true, sorted = true;
  for (size_t k = 0; k < n; ++k) {
    keys[k] = future_has_property(futs[idx[k]], FUTURE_PROPERTY_ASYNC);
    if (keys[k] < -1 || keys[k] > 1) small = false;
    if (k && keys[k] > keys[k - 1]) sorted = false;
  }
  if (sorted) return;
  if (small) {  // three buckets, counting sort
    size_t c1 = 0, c0 = 0;
    for (size_t k = 0; k < n; ++k) c1 += keys[k] == 1, c0 += keys[k] == 0;
    size_t p1 = 0, p0 = c1, pm = c1 + c0;
    for (size_t k = 0; k < n; ++k) tmp[keys[k] == 1 ? p1++ : keys[k] == 0 ? p0++ : pm++] = idx[k];
    for (size_t k = 0; k < n; ++k) idx[k] = tmp[k];
    return;
  }
  for (size_t k = 1; k < n; ++k) {  // insertion sort
    int key = keys[k];
    uint32_t id = idx[k];
    size_t j = k;
    for (; j > 0 && keys[j - 1] < key; --j) keys[j] = keys[j - 1], idx[j] = idx[j - 1];
    keys[j] = key, idx[j] = id;
  }
}

// What one pass over the pending futures saw.
struct pass_result {
  bool progress = false;   // a future completed (or was found complete)
  bool must_poll = false;  // a pending future will not call the waker
};

// Polls `f` once with the runtime's waker; true while it is still pending.
bool poll_one(future* f, future_notifier& notifier, pass_result& pass) {
  if (f->context.state == FUTURE_STATE_COMPLETE) {
    pass.progress = true;
    return false;
  }
  notifier.poller.ptr_to_monitor = nullptr;
  notifier.notifier_used = FUTURE_NOTIFIER_NONE;
  notifier.padding = 0;
  if (future_poll(f, &notifier) == FUTURE_STATE_COMPLETE) {
    pass.progress = true;
    return false;
  }
  if (notifier.notifier_used != FUTURE_NOTIFIER_WAKER) pass.must_poll = true;
  return true;
}

// The futures a wait still waits for, as indices into the caller's array
// (whose order is never changed). Without memory for the indices, every
// pass walks the caller's array in its order instead.
class pending_futures {
 public:
  pending_futures(future** futs, size_t n) : futs_(futs), n_(n) {
    // The indices are 32-bit, and n * 12 bytes must not wrap: past that, no
    // heap (the fallback walks futs in order).
    if (n > stack_futures && n <= UINT32_MAX) {
      heap_ = std::malloc(n * (2 * sizeof(uint32_t) + sizeof(int)));
      idx_ = static_cast<uint32_t*>(heap_);
      tmp_ = idx_ ? idx_ + n : nullptr;
      keys_ = idx_ ? reinterpret_cast<int*>(tmp_ + n) : nullptr;
    }
    if (idx_) {
      for (size_t i = 0; i < n; ++i)
        if (futs[i]->context.state != FUTURE_STATE_COMPLETE) idx_[left_++] = uint32_t(i);
    } else {
      left_ = n;
    }
  }
  pending_futures(const pending_futures&) = delete;
  pending_futures& operator=(const pending_futures&) = delete;
  ~pending_futures() { std::free(heap_); }

  size_t left() const { return left_; }

  // Polls every pending future once, FUTURE_PROPERTY_ASYNC ones first, and
  // forgets those that completed.
  pass_result poll_all(future_notifier& notifier) {
    pass_result pass;
    if (idx_) {
      if (left_ > 1) order(futs_, idx_, keys_, tmp_, left_);
      size_t out = 0;
      for (size_t k = 0; k < left_; ++k)
        if (poll_one(futs_[idx_[k]], notifier, pass)) idx_[out++] = idx_[k];
      left_ = out;
    } else {
      size_t still = 0;
      for (size_t i = 0; i < n_; ++i) still += poll_one(futs_[i], notifier, pass);
      left_ = still;
    }
    return pass;
  }

 private:
  future** futs_;
  size_t n_;
  size_t left_ = 0;
  uint32_t idx_small_[stack_futures], tmp_small_[stack_futures];
  int keys_small_[stack_futures];
  uint32_t* idx_ = idx_small_;
  uint32_t* tmp_ = tmp_small_;
  int* keys_ = keys_small_;
  void* heap_ = nullptr;
};

// Sleeps on the wait object's counter unless it has moved past `seen`, at
// most timeout_ns; the next waker wakes the thread.
void sleep_unless_woken(wait_object* w, uint32_t seen, uint64_t timeout_ns) {
  w->armed.store(1, std::memory_order_seq_cst);
  if (w->seq.load(std::memory_order_seq_cst) == seen) word_wait(&w->seq, seen, timeout_ns);
}

// While a future must be polled: spin a few passes, then sleep 16 us, 32 us,
// ... up to 1 ms between passes (a waker still cuts a sleep short).
class poll_backoff {
 public:
  void wait(wait_object* w, uint32_t seen) {
    if (spins_ < poll_spin_passes) {
      ++spins_;
      cpu_relax();
      return;
    }
    sleep_unless_woken(w, seen, sleep_ns_);
    sleep_ns_ = std::min(sleep_ns_ * 2, poll_backoff_max_ns);
  }
  void reset() {
    spins_ = 0;
    sleep_ns_ = poll_backoff_min_ns;
  }

 private:
  unsigned spins_ = 0;
  uint64_t sleep_ns_ = poll_backoff_min_ns;
};

// How long to spin before sleeping: four times the recent wait time, within
// [spin_min_ns, cap], where the cap is higher for a single future (whose
// latency is the whole cost); only spin_min_ns once waits are longer than
// the cap.
uint64_t spin_budget(uint64_t ewma, size_t pending) {
  const uint64_t cap = pending == 1 ? spin_cap_single_ns : spin_cap_multi_ns;
  if (ewma > cap) return spin_min_ns;
  return std::clamp(4 * ewma, spin_min_ns, cap);
}

enum class spin_end {
  woken,   // wakes came in: poll again
  repoll,  // no wake, but a completion may have been published late: poll again
  quiet,   // the budget is spent without a wake: sleep
};

// Spins on the wait object's counter after a pass that saw `seen`. With
// several futures pending, a wake means one of them (probably) finished:
// re-polling all of them at every wake costs O(n) per wake and pulls their
// records away from the workers' caches. So it ends when as many wakes as
// pending futures came in, or when the wakes have stopped for settle_ns, or
// when the budget is spent; and, while late_until lies ahead, now and then
// for a re-poll.
spin_end spin_for_wakes(wait_object* w, uint32_t seen, size_t pending, uint64_t t0, uint64_t budget,
                        uint64_t late_until) {
  uint32_t last = seen;
  uint64_t last_t = 0;
  uint64_t yielded = t0;
  for (unsigned i = 1;; ++i) {
    uint32_t cur = w->seq.load(std::memory_order_acquire);
    if (cur != seen) {
      if (pending == 1 || cur - seen >= pending) return spin_end::woken;
      if (cur != last) {
        last = cur;
        last_t = now_ns();
      }
    }
    cpu_relax();
    if ((i & 31) == 0) {
      uint64_t now = now_ns();
      if (last != seen && now - last_t > settle_ns) return spin_end::woken;
      if (late_until && (i & 255) == 0 && now < late_until) return spin_end::repoll;
      if (now - t0 > budget) return last != seen ? spin_end::woken : spin_end::quiet;
      // The worker that will wake us may be waiting for this very CPU
      // (docs/design.md, "Every spin yields").
      if (now - yielded >= spin_yield_ns) {
        sched_yield();
        yielded = now;
      }
    }
  }
}

// Folds a wait that began at t0 into the runtime's recent wait time. The
// wait ended when the waker ran (woke_at, 0 if the thread did not sleep),
// not when this thread got a CPU again: counting the wake-up latency in
// would make a wait that once overran the spin cap look longer every time
// (it then never spins).
void record_wait(struct runtime* rt, uint64_t ewma, uint64_t t0, uint64_t woke_at) {
  uint64_t now = now_ns();
  uint64_t ended = woke_at > t0 && woke_at < now ? woke_at : now;
  rt->wait_ewma_ns.store((3 * ewma + (ended - t0)) / 4, std::memory_order_relaxed);
}

void wait_futures(struct runtime* rt, future** futs, size_t n) {
  wait_object* w = rt->w;
  future_notifier notifier;
  notifier.waker.data = w;
  notifier.waker.wake = runtime_waker;

  pending_futures pending(futs, n);
  poll_backoff backoff;
  bool woken = false;       // this pass follows a wake
  uint64_t late_until = 0;  // until then, a wake that found nothing new may still be published

  while (pending.left()) {
    uint32_t seen = w->seq.load(std::memory_order_seq_cst);
    pass_result pass = pending.poll_all(notifier);
    if (!pending.left()) break;

    if (pass.must_poll) {
      backoff.wait(w, seen);
      continue;
    }
    backoff.reset();

    // Everyone pending will call the waker: spin for the adaptive budget,
    // then sleep until the counter moves.
    uint64_t t0 = now_ns();
    uint64_t ewma = rt->wait_ewma_ns.load(std::memory_order_relaxed);
    uint64_t budget = spin_budget(ewma, pending.left());
    // A wake that found nothing new: the completion may be published just
    // after the wake. Re-poll now and then until the budget is spent, and
    // sleep at most 1 ms at a time while that goes on.
    if (pass.progress)
      late_until = 0;
    else if (woken)
      late_until = t0 + budget;

    spin_end spun = spin_for_wakes(w, seen, pending.left(), t0, budget, late_until);
    if (spun == spin_end::repoll) {
      woken = false;
      continue;
    }
    uint64_t woke_at = 0;  // when the waker ran, if this thread slept
    woken = spun == spin_end::woken;
    if (!woken) {
      sleep_unless_woken(w, seen, late_until ? fruitless_timeout_ns : safety_timeout_ns);
      woken = w->seq.load(std::memory_order_relaxed) != seen;
      woke_at = w->woke_at.load(std::memory_order_relaxed);
    }
    if (woken) record_wait(rt, ewma, t0, woke_at);
  }
}

}  // namespace
}  // namespace miniasync

using namespace miniasync;

MINIASYNC_EXPORT struct runtime* runtime_new(void) noexcept {
  auto* rt = static_cast<struct runtime*>(std::malloc(sizeof(struct runtime)));
  if (!rt) return nullptr;
  rt->w = wait_object_get();
  if (!rt->w) {
    std::free(rt);
    return nullptr;
  }
  new (&rt->wait_ewma_ns) std::atomic<uint64_t>(0);
  return rt;
}

MINIASYNC_EXPORT void runtime_delete(struct runtime* rt) noexcept {
  if (!rt) return;
  wait_object_put(rt->w);
  std::free(rt);
}

MINIASYNC_EXPORT void runtime_wait_multiple(struct runtime* rt, struct future* futs[], size_t nfuts) noexcept {
  if (nfuts == 0) return;
  wait_futures(rt, futs, nfuts);
}

MINIASYNC_EXPORT void runtime_wait(struct runtime* rt, struct future* fut) noexcept {
  if (fut->context.state == FUTURE_STATE_COMPLETE) return;
  wait_futures(rt, &fut, 1);
}
