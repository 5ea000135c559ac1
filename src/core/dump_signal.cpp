// SPDX-License-Identifier: MIT
// dump_signal.cpp: the ASYNC_DUMP_SIGNAL handler. A runtime's data belongs to
// its owner thread, so each runtime is dumped by a handler running on that
// thread: the thread the signal lands on dumps its own runtimes, then sends
// the signal on (pthread_kill) to the owner of every other runtime, marking
// those runtimes first so their handlers know the signal was forwarded and
// do not forward it again. A handler interrupts its thread's runtime between
// two instructions, so a line can be stale, never a wild read: the dump only
// reads, the task table stays mapped while the runtime is alive, and a
// runtime being created (not yet in the thread's list) or shut down
// (`closing`) is skipped.
#include "dump_signal.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "dump.h"
#include "registry.h"
#include "runtime.h"
#include "signal_owner.h"

namespace async::detail {
namespace {

// Lines of different threads' dumps would interleave on stderr: one
// runtime's dump is written whole under this flag. A handler only waits for
// another thread's handler, which never waits for anything else; the signal
// is blocked while its own handler runs, so a thread never waits for itself.
std::atomic_flag g_output = ATOMIC_FLAG_INIT;

void dump_own_runtimes() noexcept {
  for (runtime* r = tls_owned; r != nullptr; r = r->owned_next) {
    while (g_output.test_and_set(std::memory_order_acquire)) {
    }
    dump_writer w(STDERR_FILENO);
    if (r->closing) {
      w.str("runtime ").dec(r->serial).str(" closing\n");
    } else {
      dump_runtime(*r, w, false);
    }
    (void)w.flush();
    g_output.clear(std::memory_order_release);
  }
}

// Sends the signal to the owner of every runtime this thread does not own,
// once per thread. The registry's mutex is only tried: the interrupted code
// may hold it (pthread_mutex_trylock is not on POSIX's async-signal-safe
// list, but it never blocks). When busy, only this thread's runtimes are
// dumped, and stderr says so.
void forward(int signo) noexcept {
  if (!registry_lock().try_lock()) {
    dump_writer w(STDERR_FILENO);
    w.str("async: dump: runtime registry busy; other threads' runtimes not dumped\n");
    (void)w.flush();
    return;
  }
  const pthread_t self = pthread_self();
  for (runtime* r = runtime_registry_head; r != nullptr; r = r->reg_next) {
    if (pthread_equal(r->owner_thread, self)) continue;
    bool seen = false;  // an earlier runtime of the same owner was signalled
    for (runtime* q = runtime_registry_head; q != r && !seen; q = q->reg_next) {
      seen = pthread_equal(q->owner_thread, r->owner_thread);
    }
    r->dump_forwarded.store(true, std::memory_order_release);
    if (!seen) (void)pthread_kill(r->owner_thread, signo);
  }
  registry_lock().unlock();
}

extern "C" void on_dump_signal(int signo) noexcept {
  const int saved_errno = errno;
  bool forwarded = false;
  for (runtime* r = tls_owned; r != nullptr; r = r->owned_next) {
    forwarded = r->dump_forwarded.exchange(false, std::memory_order_acq_rel) || forwarded;
  }
  dump_own_runtimes();
  if (!forwarded) forward(signo);
  errno = saved_errno;
}

struct named_signal {
  const char* name;
  int signo;
};

// The signals worth dumping on; fault signals and SIGKILL/SIGSTOP are not.
constexpr named_signal signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH}, {"URG", SIGURG},   {"PROF", SIGPROF},
};

// "SIGUSR1", "USR1" or "10"; 0 when it is none of them.
int parse_signal(const char* text) noexcept {
  if (std::strncmp(text, "SIG", 3) == 0) text += 3;
  for (const named_signal& s : signal_names) {
    if (std::strcmp(text, s.name) == 0) return s.signo;
  }
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || n <= 0 || n >= NSIG) return 0;
  return static_cast<int>(n);
}

int setup() noexcept {
  const char* text = std::getenv("ASYNC_DUMP_SIGNAL");
  if (text == nullptr || *text == '\0') return 0;
  const int signo = parse_signal(text);
  struct sigaction sa {};
  sa.sa_handler = on_dump_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: the interrupted program goes on as if nothing happened.
  sa.sa_flags = SA_RESTART;
  if (!handler_may_own(signo) || sigaction(signo, &sa, nullptr) != 0) {
    dump_writer w(STDERR_FILENO);
    w.str("async: ASYNC_DUMP_SIGNAL=").str_bounded(text, 32).str(": not a signal a dump can use; ignored\n");
    (void)w.flush();
    return 0;
  }
  return signo;
}

}  // namespace

int dump_signal_number() noexcept {
  static const int signo = setup();
  return signo;
}

}  // namespace async::detail
