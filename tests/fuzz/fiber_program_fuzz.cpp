// SPDX-License-Identifier: MIT
// fiber_program_fuzz.cpp: libFuzzer target that runs a small fiber program
// (fiber_program.h: up to 16 fibers, 4 channels, 2 mutexes, 64 steps each:
// spawn, yield, sleep, send, recv, try_send, try_recv, select, close, cancel,
// await, lock, unlock, and the _until forms with 1-3 ms timeouts) on one
// runtime with virtual time, and checks that
//   - the trace of every call's result, in the order the calls returned,
//     equals what the reference model (fiber_program_model.cpp) predicts from
//     the documented FIFO rules, as do the run's status, the messages left in
//     each channel, the mutexes left held and the fibers that never returned;
//   - nothing is lost or made up, from the real run alone: every message
//     whose send succeeded is received exactly once (by a fiber, or drained
//     after the run), and nothing is received that was not sent;
//   - every spawned fiber either returned or had its on_discard called
//     (cancelled before it started, or dropped by the shutdown), never both;
//   - a select marks only its chosen case with the status it returns.
// A mismatch prints the program and both traces and aborts.
//
// Built with libFuzzer by ASYNC_BUILD_FUZZERS (tests/fuzz/CMakeLists.txt,
// .ci/run's fuzz stage), and in every test build with fuzz_replay_main.c over
// the committed corpus (ctest: fuzz.fiber_program_corpus). docs/testing.md,
// "The fiber program fuzzer".
#include <async.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "fiber_program.h"
#include "fiber_program_model.h"

namespace fiber_program {
namespace {

// Prints the program, then the real run and the model's side by side ('*'
// marks the trace lines that differ).
void print_comparison(const program& p, const outcome& real, const outcome& expected) {
  std::fprintf(stderr, "program:\n%s", describe(p).c_str());
  const std::size_t n = std::max(real.trace.size(), expected.trace.size());
  std::fprintf(stderr, "%-64s | model\n", "runtime");
  for (std::size_t i = 0; i < n; ++i) {
    const std::string a = i < real.trace.size() ? describe(real.trace[i], p) : "";
    const std::string b = i < expected.trace.size() ? describe(expected.trace[i], p) : "";
    std::fprintf(stderr, "%c %-62s | %s\n", a == b ? ' ' : '*', a.c_str(), b.c_str());
  }
  std::fprintf(stderr, "run: %s | %s\n", async_status_name(static_cast<async_status_t>(real.run_status)),
               async_status_name(static_cast<async_status_t>(expected.run_status)));
  for (int c = 0; c < p.channels; ++c) {
    std::fprintf(stderr, "ch%d left:", c);
    for (std::uint64_t m : real.drained[c]) std::fprintf(stderr, " %#llx", static_cast<unsigned long long>(m));
    std::fprintf(stderr, " |");
    for (std::uint64_t m : expected.drained[c]) std::fprintf(stderr, " %#llx", static_cast<unsigned long long>(m));
    std::fprintf(stderr, "\n");
  }
  for (int m = 0; m < p.mutexes; ++m) std::fprintf(stderr, "mutex%d held: %d | %d\n", m, real.held[m], expected.held[m]);
  for (int g = 0; g < p.fibers; ++g) {
    std::fprintf(stderr, "f%d unfinished: %d | %d\n", g, real.unfinished[g], expected.unfinished[g]);
  }
}

[[noreturn]] void fail(const program& p, const outcome& real, const outcome& expected, const char* what) {
  std::fprintf(stderr, "fiber_program_fuzz: %s\n", what);
  print_comparison(p, real, expected);
  std::abort();
}

// An invariant of the real run alone; the model's run is printed beside it.
#define PROGRAM_CHECK(cond, p, real)                                        \
  do {                                                                      \
    if (!(cond)) fail(p, real, run_model(p), "invariant broken: " #cond);   \
  } while (0)

// The one program being run: the fibers find it here (a fuzz target runs one
// input at a time, on one thread).
struct real_run {
  const program* p = nullptr;
  async_channel_t channels[max_channels];
  async_mutex_t mutexes[max_mutexes];
  async_fiber_handle_t handles[max_fibers];
  bool returned[max_fibers];
  bool discarded[max_fibers];
  outcome out;
};
real_run* run_now;

void discard(void* user) { run_now->discarded[reinterpret_cast<std::uintptr_t>(user)] = true; }

void fiber_main(void* user);

async_fiber_handle_t spawn(async_runtime_t* rt, int g) {
  async_spawn_options_t opts = {};
  opts.on_discard = discard;
  async_fiber_handle_t h = async_spawn_ex(rt, fiber_main, reinterpret_cast<void*>(static_cast<std::uintptr_t>(g)), &opts);
  run_now->handles[g] = h;
  return h;
}

void* as_message(std::uint64_t m) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(m)); }
std::uint64_t of_message(void* m) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m)); }

std::uint64_t deadline(int timeout_ms) { return async_now_ns() + static_cast<std::uint64_t>(timeout_ms) * 1000000u; }

event select_step(real_run& r, int g, int pc, std::uint8_t arg, bool timed) {
  const program& p = *r.p;
  async_select_case_t cases[2] = {};
  for (int i = 0; i < 2; ++i) {
    const select_case sc = select_case_of(arg, i, p.channels);
    if (!sc.enabled) continue;
    cases[i].ch = &r.channels[sc.channel];
    cases[i].op = sc.send ? ASYNC_SELECT_SEND : ASYNC_SELECT_RECV;
    cases[i].msg = sc.send ? as_message(message_of(g, pc)) : nullptr;
  }
  std::size_t chosen = 0;
  const async_status_t st = timed ? async_select_until(cases, 2, &chosen, deadline(select_timeout_ms))
                                  : async_select(cases, 2, &chosen);
  event e{event_kind::step, static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(pc), 0xff, st, 0};
  for (int i = 0; i < 2; ++i) {
    const bool is_chosen = chosen == static_cast<std::size_t>(i);
    PROGRAM_CHECK(is_chosen ? cases[i].status == st : (cases[i].status == ASYNC_EAGAIN || cases[i].ch == nullptr),
                  p, r.out);
  }
  if (chosen != ASYNC_SELECT_NONE) {
    e.chosen = static_cast<std::uint8_t>(chosen);
    if (st == ASYNC_OK && cases[chosen].op == ASYNC_SELECT_RECV) e.message = of_message(cases[chosen].msg);
  }
  return e;
}

event run_step(real_run& r, int g, int pc, const step& s) {
  event e{event_kind::step, static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(pc), 0, ASYNC_OK, 0};
  void* got = nullptr;
  switch (s.code) {
    case op::spawn: e.status = spawn(nullptr, s.arg).status; break;
    case op::yield: e.status = async_yield(); break;
    case op::sleep: e.status = async_sleep_ms(s.arg); break;
    case op::send: e.status = async_channel_send(&r.channels[s.arg], as_message(message_of(g, pc))); break;
    case op::recv: e.status = async_channel_recv(&r.channels[s.arg], &got); break;
    case op::try_send: e.status = async_channel_try_send(&r.channels[s.arg], as_message(message_of(g, pc))); break;
    case op::try_recv: e.status = async_channel_try_recv(&r.channels[s.arg], &got); break;
    case op::select: return select_step(r, g, pc, s.arg, false);
    case op::close: e.status = async_channel_close(&r.channels[s.arg]); break;
    case op::cancel: e.status = async_cancel(r.handles[s.arg]); break;
    case op::await: e.status = async_await(r.handles[s.arg]); break;
    case op::lock: e.status = async_mutex_lock(&r.mutexes[s.arg]); break;
    case op::unlock: e.status = async_mutex_unlock(&r.mutexes[s.arg]); break;
    case op::send_until:
      e.status = async_channel_send_until(&r.channels[object_of(s.arg)], as_message(message_of(g, pc)),
                                          deadline(timeout_ms_of(s.arg)));
      break;
    case op::recv_until:
      e.status = async_channel_recv_until(&r.channels[object_of(s.arg)], &got, deadline(timeout_ms_of(s.arg)));
      break;
    case op::lock_until:
      e.status = async_mutex_lock_until(&r.mutexes[object_of(s.arg)], deadline(timeout_ms_of(s.arg)));
      break;
    case op::select_until: return select_step(r, g, pc, s.arg, true);
    case op::end:
    case op::count: std::abort();
  }
  if (e.status == ASYNC_OK) e.message = of_message(got);
  return e;
}

void fiber_main(void* user) {
  real_run& r = *run_now;
  const int g = static_cast<int>(reinterpret_cast<std::uintptr_t>(user));
  r.out.trace.push_back({event_kind::start, static_cast<std::uint8_t>(g), 0, 0, ASYNC_OK, 0});
  const std::vector<step>& ops = r.p->ops[g];
  for (std::size_t pc = 0; pc < ops.size(); ++pc) r.out.trace.push_back(run_step(r, g, static_cast<int>(pc), ops[pc]));
  r.returned[g] = true;
  r.out.trace.push_back({event_kind::end, static_cast<std::uint8_t>(g), 0, 0, ASYNC_OK, 0});
}

bool ok(async_status_t st) { return st == ASYNC_OK; }

// Runs `p` on a fresh runtime and gathers what outcome says is left.
void run_real(real_run& r, const program& p) {
  r.p = &p;
  run_now = &r;
  async_config_t cfg = {};
  cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME;
  async_runtime_t rt;
  if (!ok(async_runtime_init(&rt, &cfg))) std::abort();
  for (int c = 0; c < p.channels; ++c) {
    if (!ok(async_channel_init(&r.channels[c], &rt, p.capacity[c], 0))) std::abort();
  }
  for (int m = 0; m < p.mutexes; ++m) {
    if (!ok(async_mutex_init(&r.mutexes[m]))) std::abort();
  }
  if (!ok(spawn(&rt, 0).status)) std::abort();
  r.out.run_status = async_runtime_run(&rt);

  async_runtime_stats_t stats;
  if (!ok(async_runtime_stats(&rt, &stats))) std::abort();
  std::size_t alive = 0;
  for (int g = 0; g < p.fibers; ++g) alive += r.handles[g].id != 0 && !r.returned[g] && !r.discarded[g];
  PROGRAM_CHECK(stats.fibers_live == alive && stats.timers_pending == 0 && stats.fibers_runnable == 0, p, r.out);
  for (int c = 0; c < p.channels; ++c) {
    void* m = nullptr;
    while (ok(async_channel_try_recv(&r.channels[c], &m))) r.out.drained[c].push_back(of_message(m));
  }
  for (int c = 0; c < p.channels; ++c) async_channel_shutdown(&r.channels[c]);
  async_runtime_shutdown(&rt);
  for (int m = 0; m < p.mutexes; ++m) {
    const async_status_t st = async_mutex_destroy(&r.mutexes[m]);
    PROGRAM_CHECK(st == ASYNC_OK || st == ASYNC_ESTATE, p, r.out);
    r.out.held[m] = st == ASYNC_ESTATE;
  }
  for (int g = 0; g < p.fibers; ++g) {
    if (r.handles[g].id == 0) continue;
    PROGRAM_CHECK(r.returned[g] != r.discarded[g], p, r.out);
    r.out.unfinished[g] = r.discarded[g];
  }
  run_now = nullptr;
}

// Conservation, from the real run alone: what was sent with ASYNC_OK arrives
// exactly once; a message from a send that failed never arrives; a message
// whose send never returned was pulled from a fiber left unfinished.
void check_nothing_lost(const program& p, const outcome& o) {
  std::set<std::uint64_t> sent, failed, received;
  auto arrive = [&](std::uint64_t m) { PROGRAM_CHECK(received.insert(m).second, p, o); };
  for (const event& e : o.trace) {
    if (e.kind != event_kind::step) continue;
    const step& s = p.ops[e.fiber][e.pc];
    bool sends = s.code == op::send || s.code == op::try_send || s.code == op::send_until;
    if ((s.code == op::select || s.code == op::select_until) && e.chosen != 0xff) sends = select_case_of(s.arg, e.chosen, p.channels).send;
    if (sends) (e.status == ASYNC_OK ? sent : failed).insert(message_of(e.fiber, e.pc));
    if (e.message != 0) arrive(e.message);
  }
  for (int c = 0; c < p.channels; ++c) {
    for (std::uint64_t m : o.drained[c]) arrive(m);
  }
  for (std::uint64_t m : sent) PROGRAM_CHECK(received.count(m) == 1, p, o);
  for (std::uint64_t m : received) {
    const int fiber = static_cast<int>(m >> 8) - 1;
    PROGRAM_CHECK(!failed.count(m), p, o);
    PROGRAM_CHECK(sent.count(m) || (fiber >= 0 && fiber < p.fibers && o.unfinished[fiber]), p, o);
  }
}

}  // namespace
}  // namespace fiber_program

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fiber_program;
  // The model is of the FIFO schedule: a seed from the environment
  // (.ci/seeds.sh runs test binaries under many) would reorder the run.
  static const bool fifo = unsetenv("ASYNC_SCHEDULE_SEED") == 0;
  (void)fifo;
  const program p = decode(data, size);
  static real_run r;
  r = real_run{};
  run_real(r, p);
  const outcome expected = run_model(p);
  check_nothing_lost(p, r.out);
  if (!(r.out == expected)) fail(p, r.out, expected, "the runtime and the model disagree");
  // FIBER_PROGRAM_PRINT=1 shows what a passing input did (writing seeds).
  if (const char* show = std::getenv("FIBER_PROGRAM_PRINT"); show != nullptr && *show == '1') {
    print_comparison(p, r.out, expected);
  }
  return 0;
}
