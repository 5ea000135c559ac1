// SPDX-License-Identifier: MIT
// runtime.cpp: runtime_wait_multiple and the thread park behind it.
//
// Polling order (kept from miniasync): in every pass, futures with
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
// time: up to twice the recent wait time (at most 200 us when waiting for a
// single future, whose latency is the whole cost, 20 us when several are
// pending, where the workers need the CPU more), and a few microseconds when
// waits are longer than that. While a future asked to be polled
// (FUTURE_NOTIFIER_NONE, or POLLER, which we treat alike) it never sleeps
// without a timeout: it spins, then sleeps 16 us, 32 us, ... up to 1 ms at a
// time, and any waker still cuts that short.
//
// Futures from a mover that calls the waker before publishing completion
// (miniasync's own thread mover did) are handled too: a wake-up that finds
// nothing new re-polls during the spin, and the sleep after it is bounded by
// 1 ms. With wakers called after publication a sleep ends only on a wake
// (or a 100 ms safety timeout that correct futures never need).
#include "libminiasync/runtime.h"

#include <climits>
#include <cstdlib>
#include <mutex>
#include <new>

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

enum class pass_result { done, wait_waker, must_poll };

void wait_futures(struct runtime* rt, future** futs, size_t n) {
  wait_object* w = rt->w;
  future_notifier notifier;
  notifier.waker.data = w;
  notifier.waker.wake = runtime_waker;

  // Pending futures, as indices into futs (the caller's order is never
  // changed). Without memory for them, every pass walks futs in its order.
  uint32_t idx_small[stack_futures], tmp_small[stack_futures];
  int keys_small[stack_futures];
  uint32_t *idx = idx_small, *tmp = tmp_small;
  int* keys = keys_small;
  void* heap = nullptr;
  // The indices are 32-bit, and n * 12 bytes must not wrap: past that, no
  // heap (the fallback below walks futs in order).
  if (n > stack_futures && n <= UINT32_MAX) {
    heap = std::malloc(n * (2 * sizeof(uint32_t) + sizeof(int)));
    idx = static_cast<uint32_t*>(heap);
    tmp = idx ? idx + n : nullptr;
    keys = idx ? reinterpret_cast<int*>(tmp + n) : nullptr;
  }
  size_t np = 0;
  if (idx) {
    for (size_t i = 0; i < n; ++i)
      if (futs[i]->context.state != FUTURE_STATE_COMPLETE) idx[np++] = uint32_t(i);
  } else {
    np = n;
  }

  uint64_t backoff = poll_backoff_min_ns;
  unsigned poll_spins = 0;
  bool woken = false;      // this pass follows a wake
  uint64_t late_until = 0;  // see below

  while (np) {
    uint32_t seen = w->seq.load(std::memory_order_seq_cst);
    bool must_poll = false, progress = false;
    auto poll_one = [&](future* f) -> bool {  // true: still pending
      if (f->context.state == FUTURE_STATE_COMPLETE) return progress = true, false;
      notifier.poller.ptr_to_monitor = nullptr;
      notifier.notifier_used = FUTURE_NOTIFIER_NONE;
      notifier.padding = 0;
      if (future_poll(f, &notifier) == FUTURE_STATE_COMPLETE) return progress = true, false;
      if (notifier.notifier_used != FUTURE_NOTIFIER_WAKER) must_poll = true;
      return true;
    };
    if (idx) {
      if (np > 1) order(futs, idx, keys, tmp, np);
      size_t out = 0;
      for (size_t k = 0; k < np; ++k)
        if (poll_one(futs[idx[k]])) idx[out++] = idx[k];
      np = out;
    } else {
      size_t left = 0;
      for (size_t i = 0; i < n; ++i) left += poll_one(futs[i]);
      np = left;
    }
    if (!np) break;

    if (must_poll) {
      // Someone must be polled again: spin a little, then short sleeps.
      if (poll_spins < poll_spin_passes) {
        ++poll_spins;
        cpu_relax();
        continue;
      }
      w->armed.store(1, std::memory_order_seq_cst);
      if (w->seq.load(std::memory_order_seq_cst) == seen) word_wait(&w->seq, seen, backoff);
      backoff = backoff * 2 < poll_backoff_max_ns ? backoff * 2 : poll_backoff_max_ns;
      continue;
    }
    poll_spins = 0;
    backoff = poll_backoff_min_ns;

    // Everyone pending will call the waker: spin for the adaptive budget,
    // then sleep until the counter moves.
    uint64_t t0 = now_ns();
    uint64_t ewma = rt->wait_ewma_ns.load(std::memory_order_relaxed);
    uint64_t cap = np == 1 ? spin_cap_single_ns : spin_cap_multi_ns;
    uint64_t budget = ewma <= cap ? (4 * ewma < spin_min_ns ? spin_min_ns : 4 * ewma > cap ? cap : 4 * ewma)
                                  : spin_min_ns;
    // A wake that found nothing new: the completion may be published just
    // after the wake. Re-poll now and then until the budget is spent, and
    // sleep at most 1 ms at a time while that goes on.
    if (progress)
      late_until = 0;
    else if (woken)
      late_until = t0 + budget;
    // With several futures pending, a wake means one of them (probably)
    // finished: re-polling all of them at every wake costs O(n) per wake and
    // pulls their records away from the workers' caches. Re-poll when as
    // many wakes as pending futures came in, or when the wakes have stopped
    // for settle_ns, or when the budget is spent.
    bool changed = false, repoll = false;
    uint32_t last = seen;
    uint64_t last_t = 0;
    for (unsigned i = 1;; ++i) {
      uint32_t cur = w->seq.load(std::memory_order_acquire);
      if (cur != seen) {
        if (np == 1 || cur - seen >= np) {
          changed = true;
          break;
        }
        if (cur != last) {
          last = cur;
          last_t = now_ns();
        }
      }
      cpu_relax();
      if ((i & 31) == 0) {
        uint64_t now = now_ns();
        if (last != seen && now - last_t > settle_ns) {
          changed = true;
          break;
        }
        if (late_until && (i & 255) == 0 && now < late_until) {
          repoll = true;
          break;
        }
        if (now - t0 > budget) {
          changed = last != seen;
          break;
        }
      }
    }
    if (repoll) {
      woken = false;
      continue;
    }
    uint64_t t1 = 0;  // when the waker ran, if this thread slept
    if (!changed) {
      w->armed.store(1, std::memory_order_seq_cst);
      if (w->seq.load(std::memory_order_seq_cst) == seen)
        word_wait(&w->seq, seen, late_until ? fruitless_timeout_ns : safety_timeout_ns);
      changed = w->seq.load(std::memory_order_relaxed) != seen;
      t1 = w->woke_at.load(std::memory_order_relaxed);
    }
    woken = changed;
    if (changed) {
      // The wait ended when the waker ran, not when this thread got a CPU
      // again: counting the wake-up latency in would make a wait that once
      // overran the spin cap look longer every time (it then never spins).
      uint64_t now = now_ns();
      uint64_t dt = (t1 > t0 && t1 < now ? t1 : now) - t0;
      rt->wait_ewma_ns.store((3 * ewma + dt) / 4, std::memory_order_relaxed);
    }
  }
  std::free(heap);
}

}  // namespace
}  // namespace miniasync

using namespace miniasync;

MINIASYNC_EXPORT struct runtime* runtime_new(void) {
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

MINIASYNC_EXPORT void runtime_delete(struct runtime* rt) {
  if (!rt) return;
  wait_object_put(rt->w);
  std::free(rt);
}

MINIASYNC_EXPORT void runtime_wait_multiple(struct runtime* rt, struct future* futs[], size_t nfuts) {
  if (nfuts == 0) return;
  wait_futures(rt, futs, nfuts);
}

MINIASYNC_EXPORT void runtime_wait(struct runtime* rt, struct future* fut) {
  if (fut->context.state == FUTURE_STATE_COMPLETE) return;
  wait_futures(rt, &fut, 1);
}
