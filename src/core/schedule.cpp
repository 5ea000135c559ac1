// SPDX-License-Identifier: MIT
// schedule.cpp: seeded picks (schedule.h): where a seed comes from, the
// state it seeds, and the uniform and PCT choices of the next fiber. Nothing
// here decides *when* a fiber suspends: only which runnable one runs next.
#include "schedule.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "runtime.h"

namespace async::detail {
namespace {

constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15u;

std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

int digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Unsigned decimal or 0x-hex, nothing else (no sign, no spaces, no octal:
// "017" is seventeen, as a person reading a CI log would take it).
bool parse_seed(const char* s, std::uint64_t& out) noexcept {
  unsigned base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (*s == '\0') return false;
  std::uint64_t v = 0;
  for (; *s != '\0'; ++s) {
    const int d = digit_value(*s);
    if (d < 0 || static_cast<unsigned>(d) >= base) return false;
    if (v > (UINT64_MAX - static_cast<unsigned>(d)) / base) return false;  // past 64 bits
    v = v * base + static_cast<unsigned>(d);
  }
  out = v;
  return true;
}

// The k-th task of the queue (k < size), walked from the nearer end.
task* nth(const task_list& q, std::size_t k) noexcept {
  if (k < q.size() / 2) {
    task* t = q.head;
    while (k-- != 0) t = t->next;
    return t;
  }
  task* t = q.tail;
  for (std::size_t back = q.size() - 1 - k; back != 0; --back) t = t->prev;
  return t;
}

pct_priority& priority_slot(runtime& rt, const task* t) noexcept {
  return rt.sched->priorities[is_root(t) ? rt.task_capacity : t->slot];
}

// A fiber's priority; its first look gives it a random one, above every
// priority a drop hands out (drops are <= 0).
std::int64_t priority_of(runtime& rt, const task* t) noexcept {
  pct_priority& p = priority_slot(rt, t);
  if (p.id != t->id) {
    p.id = t->id;
    p.value = static_cast<std::int64_t>(rt.sched->rng.next() >> 2) + 1;
  }
  return p.value;
}

// Below every other fiber, for good (until a later drop goes lower still).
void drop(runtime& rt, const task* t) noexcept {
  pct_priority& p = priority_slot(rt, t);
  p.id = t->id;
  p.value = --rt.sched->floor;
}

task* take_pct(runtime& rt) noexcept {
  schedule& s = *rt.sched;
  // The fiber that was running as this pick began (it has just suspended,
  // yielded or ended). A yield lets the others run; a change point is PCT's
  // preemption of whatever ran at that step.
  const task* cur = tls_current;
  if (cur != nullptr && cur->rt == &rt) {
    bool change = false;
    for (; s.changes_done + 1 < s.depth && s.change_at[s.changes_done] <= s.steps; ++s.changes_done) change = true;
    if (change || cur->state == task_state::runnable) drop(rt, cur);
  }
  task* best = nullptr;
  std::int64_t best_value = 0;
  for (task* t = rt.run_queue.head; t != nullptr; t = t->next) {
    const std::int64_t v = priority_of(rt, t);
    if (best == nullptr || v > best_value) {
      best = t;
      best_value = v;
    }
  }
  return best;
}

}  // namespace

std::uint64_t schedule_rng::next() noexcept { return mix64(state += golden_gamma); }

void schedule_deleter::operator()(schedule* s) const noexcept { heap_delete(s); }

async_status_t schedule_seed_of(const async_config_t& cfg, std::uint64_t& seed) noexcept {
  if (cfg.schedule_pct_depth > ASYNC_SCHEDULE_PCT_MAX_DEPTH) return ASYNC_EINVAL;
  seed = cfg.schedule_seed;
  if (seed != 0) return ASYNC_OK;
  const char* env = std::getenv("ASYNC_SCHEDULE_SEED");
  if (env == nullptr || env[0] == '\0') return ASYNC_OK;
  return parse_seed(env, seed) ? ASYNC_OK : ASYNC_EINVAL;
}

std::uint64_t schedule_derive_seed(std::uint64_t seed, std::size_t index) noexcept {
  const std::uint64_t derived = mix64(seed + golden_gamma * (static_cast<std::uint64_t>(index) + 1));
  return derived != 0 ? derived : 1;
}

schedule_ptr schedule_make(std::uint64_t seed, const async_config_t& cfg, std::size_t task_capacity) noexcept {
  schedule_ptr s(heap_new<schedule>());
  if (s == nullptr) return nullptr;
  s->seed = seed;
  s->rng.state = seed;
  const std::uint32_t depth = cfg.schedule_pct_depth;
  if (depth == 0) return s;
  s->depth = depth;
  s->priorities = make_heap_array<pct_priority>(task_capacity + 1);
  s->change_at = make_heap_array<std::uint64_t>(depth);
  if (s->priorities == nullptr || s->change_at == nullptr) return nullptr;
  const std::uint64_t steps = cfg.schedule_pct_steps != 0 ? cfg.schedule_pct_steps : ASYNC_SCHEDULE_PCT_DEFAULT_STEPS;
  for (std::uint32_t i = 0; i + 1 < depth; ++i) s->change_at[i] = 1 + s->rng.below(steps);
  std::sort(s->change_at.get(), s->change_at.get() + (depth - 1));
  return s;
}

task* schedule_take(runtime& rt) noexcept {
  task_list& q = rt.run_queue;
  if (q.empty()) return nullptr;
  schedule& s = *rt.sched;
  ++s.steps;
  task* t = s.depth == 0 ? nth(q, static_cast<std::size_t>(s.rng.below(q.size()))) : take_pct(rt);
  q.remove(t);
  return t;
}

}  // namespace async::detail
