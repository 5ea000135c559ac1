// SPDX-License-Identifier: MIT
// group.cpp: runtimes on threads of their own. Each thread makes its runtime
// (so it owns it), drives it with the root waiting for a stop, and destroys
// it when the stop comes. Everything else reaches the runtimes through their
// inboxes (remote.cpp), like any other thread.
#include "group.h"

#include <pthread.h>
#include <sched.h>

#include <new>
#include <vector>

#include "alloc.h"
#include "fiber.h"
#include "remote.h"
#include "runtime.h"
#include "schedule.h"
#include "spin_wait.h"

namespace async::detail {
namespace {

using cpu_list = std::vector<int, heap_allocator<int>>;

// The CPUs the process may run on, in order.
cpu_list allowed_cpus() {
  cpu_list cpus;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
#endif
  if (cpus.empty()) {
    const unsigned n = std::thread::hardware_concurrency();
    for (unsigned c = 0; c < (n != 0 ? n : 1); ++c) cpus.push_back(static_cast<int>(c));
  }
  return cpus;
}

void pin_to(int cpu) noexcept {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
#else
  (void)cpu;  // no portable way: macOS has only affinity hints
#endif
}

void group_thread(group_impl* g, std::size_t i, int cpu) noexcept {
  if (cpu >= 0) pin_to(cpu);
  // A seeded group: each runtime its own seed, so that runtimes making the
  // same calls still pick differently, and each replays its own picks.
  async_config_t cfg = g->cfg;
  std::uint64_t seed = 0;
  async_status_t st = schedule_seed_of(cfg, seed);
  if (st == ASYNC_OK && seed != 0) cfg.schedule_seed = schedule_derive_seed(seed, i);
  if (st == ASYNC_OK) st = runtime_create(&g->handles[i], &cfg);
  if (st == ASYNC_OK) {
    runtime* rt = runtime_of(&g->handles[i]);
    rt->group = g;
    g->rts[i] = rt;
  } else {
    async_status_t expected = ASYNC_OK;
    g->init_status.compare_exchange_strong(expected, st);
  }
  g->started.fetch_add(1, std::memory_order_release);
  g->started.notify_all();
  if (st != ASYNC_OK) return;
  runtime& rt = *g->rts[i];
  rt.root_waits = root_wait::stopped;
  rt.root.wait_list = nullptr;
  drive(rt);
  // The stop arrived, but the thread that sent it may still be in
  // wake_owner(rt): wait until it says it is done with the runtimes (TSan: a
  // use-after-free of the runtime in stop_and_join otherwise).
  while (!g->stops_sent.load(std::memory_order_acquire)) g->stops_sent.wait(false, std::memory_order_acquire);
  g->drained.fetch_add(1, std::memory_order_acq_rel);
  g->drained.notify_all();
  const std::size_t all = g->to_drain.load(std::memory_order_acquire);
  for (std::size_t n = g->drained.load(std::memory_order_acquire); n < all;
       n = g->drained.load(std::memory_order_acquire)) {
    g->drained.wait(n, std::memory_order_acquire);
  }
  runtime_destroy(&rt);
}

// Stops the runtimes that started and joins the threads that run.
void stop_and_join(group_impl* g, std::size_t threads_started) noexcept {
  std::size_t running = 0;
  for (std::size_t i = 0; i < g->size; ++i) running += g->rts[i] != nullptr;
  g->to_drain.store(running, std::memory_order_relaxed);
  g->stopping.store(true, std::memory_order_release);
  for (std::size_t i = 0; i < g->size; ++i) {
    if (g->rts[i] == nullptr) continue;
    g->stops[i].kind = inbox_kind::stop;
    g->rts[i]->in.push(&g->stops[i]);
    wake_owner(*g->rts[i]);
  }
  g->stops_sent.store(true, std::memory_order_release);
  g->stops_sent.notify_all();
  for (std::size_t i = 0; i < threads_started; ++i) {
    if (g->threads[i].joinable()) g->threads[i].join();
  }
}

void free_group(group_impl* g) noexcept {
  delete_array(g->handles, g->size);
  delete_array(g->rts, g->size);
  delete_array(g->threads, g->size);
  delete_array(g->stops, g->size);
  heap_delete(g);
}

std::uint64_t fibers_alive(const runtime& rt) noexcept {
  const std::uint64_t ended = rt.ended.load(std::memory_order_acquire);
  return rt.local_spawns.load(std::memory_order_acquire) + rt.foreign_spawns.load(std::memory_order_acquire) -
         ended;
}

// Whether one scan finds no fiber alive in the group. A runtime that runs
// out of fibers while another still has some need not wake the group's
// waiters (a futex wake, and a waiter that would wake only to sleep again):
// the last one to run out will. Each bumps the epoch (a seq_cst
// read-modify-write, after its `ended`) before it scans, so of two runtimes
// running out at once the later one sees the earlier one's end, and a
// spawn that lands meanwhile ends in another such call.
bool nothing_alive(const group_impl& g) noexcept {
  for (std::size_t i = 0; i < g.size; ++i) {
    if (fibers_alive(*g.rts[i]) != 0) return false;
  }
  return true;
}

// No fiber alive anywhere in the group. Counters only grow and a spawn is
// counted before its spawner can end, so two scans that agree saw one
// instant; ended is read before spawned, so a scan never sees an end without
// its spawn.
bool quiescent(const group_impl& g) noexcept {
  std::uint64_t sums[2][2] = {};
  for (auto& sum : sums) {
    for (std::size_t i = 0; i < g.size; ++i) {
      const runtime& rt = *g.rts[i];
      sum[1] += rt.ended.load(std::memory_order_seq_cst);
      sum[0] += rt.local_spawns.load(std::memory_order_seq_cst) + rt.foreign_spawns.load(std::memory_order_seq_cst);
    }
    if (sum[0] != sum[1]) return false;
  }
  return sums[0][0] == sums[1][0] && sums[0][1] == sums[1][1];
}

}  // namespace

async_status_t group_create(async_group_t* handle, std::size_t threads, const async_config_t* cfg) noexcept {
  cpu_list cpus;
  try {
    cpus = allowed_cpus();
  } catch (...) {
    return ASYNC_ENOMEM;
  }
  if (threads == 0) threads = cpus.size();
  if (threads > 4096) return ASYNC_EINVAL;  // a typo, not a machine
  auto* g = heap_new<group_impl>();
  if (g == nullptr) return ASYNC_ENOMEM;
  g->size = threads;
  if (cfg != nullptr) g->cfg = *cfg;
  g->handles = new_array<async_runtime_t>(threads);
  g->rts = new_array<runtime*>(threads);
  g->threads = new_array<std::thread>(threads);
  g->stops = new_array<inbox_node>(threads);
  if (g->handles == nullptr || g->rts == nullptr || g->threads == nullptr || g->stops == nullptr) {
    free_group(g);
    return ASYNC_ENOMEM;
  }
  const bool pin = (g->cfg.flags & ASYNC_CONFIG_PIN_THREADS) != 0;
  std::size_t launched = 0;
  for (; launched < threads; ++launched) {
    const int cpu = pin ? cpus[launched % cpus.size()] : -1;
    try {
      g->threads[launched] = std::thread(group_thread, g, launched, cpu);
    } catch (...) {
      async_status_t expected = ASYNC_OK;
      g->init_status.compare_exchange_strong(expected, ASYNC_ENOMEM);
      break;
    }
  }
  for (std::size_t n = g->started.load(std::memory_order_acquire); n < launched;
       n = g->started.load(std::memory_order_acquire)) {
    g->started.wait(n, std::memory_order_acquire);
  }
  const async_status_t st = g->init_status.load();
  if (st != ASYNC_OK) {
    stop_and_join(g, launched);
    free_group(g);
    return st;
  }
  handle->impl = g;
  return ASYNC_OK;
}

void group_destroy(group_impl* g) noexcept {
  stop_and_join(g, g->size);
  free_group(g);
}

runtime& group_place(group_impl& g) noexcept {
  // A load and a store, not a read-modify-write (a locked instruction per
  // spawn): spawners racing here may start from the same runtime, which
  // only reorders ties between spawns that were concurrent anyway.
  const std::size_t cursor = g.next.load(std::memory_order_relaxed);
  g.next.store(cursor + 1, std::memory_order_relaxed);
  const std::size_t start = cursor % g.size;
  std::size_t best = start;
  std::uint64_t best_alive = fibers_alive(*g.rts[start]);
  for (std::size_t k = 1; k < g.size && best_alive != 0; ++k) {
    const std::size_t i = (start + k) % g.size;
    const std::uint64_t alive = fibers_alive(*g.rts[i]);
    if (alive < best_alive) {
      best = i;
      best_alive = alive;
    }
  }
  return *g.rts[best];
}

namespace {

// The spin of group_wait: until the group is quiescent, at most
// group_wait_spin_ns, giving the CPU away every spin_yield_ns. It reads
// only the epoch, which a runtime bumps when it runs out of fibers, and scans
// the counters (lines the runtimes write at every fiber's end) only when the
// epoch moved. A waiter that spins is not counted in `waiters`, so the last
// runtime to run out makes no futex wake for it either.
bool spin_until_quiescent(const group_impl& g) noexcept {
  bool first = true;
  std::uint32_t seen = 0;
  const auto ended = [&g, &first, &seen] {
    const std::uint32_t e = g.epoch.load(std::memory_order_seq_cst);
    if (!first && e == seen) return false;
    first = false;
    seen = e;
    return quiescent(g);
  };
  return spin_until(ended, group_wait_spin_ns, spin_yield_ns);
}

}  // namespace

async_status_t group_wait(group_impl& g) noexcept {
  if (spin_until_quiescent(g)) return ASYNC_OK;
  g.waiters.fetch_add(1, std::memory_order_seq_cst);
  for (;;) {
    const std::uint32_t e = g.epoch.load(std::memory_order_seq_cst);
    if (quiescent(g)) break;
    g.epoch.wait(e, std::memory_order_seq_cst);
  }
  g.waiters.fetch_sub(1, std::memory_order_relaxed);
  return ASYNC_OK;
}

bool group_owns_thread(const group_impl& g) noexcept {
  for (std::size_t i = 0; i < g.size; ++i) {
    if (g.rts[i]->owner == thread_token()) return true;
  }
  return false;
}

void group_runtime_idle(runtime& rt) noexcept {
  group_impl& g = *rt.group;
  g.epoch.fetch_add(1, std::memory_order_seq_cst);
  if (g.stopping.load(std::memory_order_acquire)) {  // no scan: see group_impl::stopping
    g.epoch.notify_all();
    return;
  }
  if (g.waiters.load(std::memory_order_seq_cst) != 0 && nothing_alive(g)) g.epoch.notify_all();
}

}  // namespace async::detail
