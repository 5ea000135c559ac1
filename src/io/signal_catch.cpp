// SPDX-License-Identifier: MIT
// signal_catch.cpp: catching the signals fibers wait for (signal.h). The
// handler may run on any thread, in the middle of anything (a fiber switch,
// malloc, a spin lock held by the interrupted code), so it only adds to a
// lock-free counter and writes one byte to a pipe; the library's thread,
// which blocks every signal, reads the pipe and lets signal.cpp hand the
// deliveries out under a lock. Dispositions change only at the first hold
// of a signal in the process and when its last holder shuts down.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>

#include "../core/checked_mutex.h"
#include "../core/dump_signal.h"
#include "../core/signal_owner.h"
#include "signal.h"

namespace async::detail {
namespace {

// Signals 1..NSIG-1 fit the 64-bit masks of signal.h.
static_assert(NSIG <= 65, "signal masks are 64 bits");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the handler may use only lock-free atomics");

// What the handler writes: a count per signal and the pipe's write end
// (-1 until the pipe exists; it is never closed).
std::atomic<std::uint64_t> g_arrived[NSIG];
std::atomic<int> g_wake_fd{-1};

// Async-signal-safe: atomics and write(2), errno as the interrupted code
// left it. A full pipe already holds a byte the thread will read.
extern "C" void on_signal(int signo) noexcept {
  const int saved_errno = errno;
  g_arrived[signo].fetch_add(1, std::memory_order_seq_cst);
  const char byte = 0;
  const int fd = g_wake_fd.load(std::memory_order_acquire);
  if (fd >= 0) {
    const ssize_t r = write(fd, &byte, 1);
    (void)r;
  }
  errno = saved_errno;
}

// The holds. Never taken by the handler; taken before any wait's guard.
struct catch_state {
  checked_mutex lock;
  unsigned holders[NSIG] ASYNC_TS_GUARDED_BY(lock) = {};  // runtimes holding each signal
  // Each held signal's disposition before the first hold.
  struct sigaction saved[NSIG] ASYNC_TS_GUARDED_BY(lock);
  bool thread_started ASYNC_TS_GUARDED_BY(lock) = false;
};

catch_state& state() noexcept {
  static catch_state s;
  return s;
}

// The library's thread: wakes for each byte (or batch of bytes) and
// dispatches. The write end is never closed, so the read never ends.
void* dispatcher(void* arg) {
  const int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(arg));
  char buf[64];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      signal_dispatch();
    } else if (n == 0 || errno != EINTR) {
      return nullptr;  // cannot happen while the write end is open
    }
  }
}

bool make_pipe(int fds[2]) noexcept {
#if defined(__linux__)
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
#else
  if (pipe(fds) != 0) return false;
  (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  // The handler must never block; the thread does.
  const int flags = fcntl(fds[1], F_GETFL);
  (void)fcntl(fds[1], F_SETFL, flags | O_NONBLOCK);
  return true;
}

// Makes the pipe and starts the thread once per process. Under s.lock.
async_status_t start_thread(catch_state& s) noexcept ASYNC_TS_REQUIRES(s.lock) {
  if (s.thread_started) return ASYNC_OK;
  int fds[2];
  if (!make_pipe(fds)) return errno == ENOMEM ? ASYNC_ENOMEM : ASYNC_EIO;
  // The thread inherits a mask with every signal blocked: a handler running
  // on it would only make it read its own byte.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  const int err =
      pthread_create(&tid, &attr, dispatcher, reinterpret_cast<void*>(static_cast<std::intptr_t>(fds[0])));
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) {
    close(fds[0]);
    close(fds[1]);
    return ASYNC_ENOMEM;
  }
  g_wake_fd.store(fds[1], std::memory_order_release);
  s.thread_started = true;
  return ASYNC_OK;
}

bool install(catch_state& s, int signo) noexcept ASYNC_TS_REQUIRES(s.lock) {
  // A handler still running from an earlier hold may have added a stray.
  g_arrived[signo].store(0, std::memory_order_relaxed);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(signo, &sa, &s.saved[signo]) == 0;
}

void restore(catch_state& s, int signo) noexcept ASYNC_TS_REQUIRES(s.lock) {
  (void)sigaction(signo, &s.saved[signo], nullptr);
  g_arrived[signo].store(0, std::memory_order_relaxed);
  signal_drop_kept(signo);
}

// Gives back one hold of every signal of `mask`. Under s.lock.
void unhold(catch_state& s, std::uint64_t mask) noexcept ASYNC_TS_REQUIRES(s.lock) {
  for (int signo = 1; signo < NSIG; ++signo) {
    if ((mask & signal_bit(signo)) != 0 && --s.holders[signo] == 0) restore(s, signo);
  }
}

}  // namespace

bool signal_waitable(int signo) noexcept {
  if (!handler_may_own(signo)) return false;
  // ASYNC_DUMP_SIGNAL's handler owns it: a wait would take it over.
  if (signo == dump_signal_number()) return false;
  struct sigaction current;
  return sigaction(signo, nullptr, &current) == 0;
}

async_status_t signal_hold(std::uint64_t& held, std::uint64_t want) noexcept {
  const std::uint64_t missing = want & ~held;
  if (missing == 0) return ASYNC_OK;
  catch_state& s = state();
  checked_guard guard(s.lock);
  if (const async_status_t st = start_thread(s); st != ASYNC_OK) return st;
  std::uint64_t taken = 0;
  for (int signo = 1; signo < NSIG; ++signo) {
    if ((missing & signal_bit(signo)) == 0) continue;
    if (s.holders[signo] == 0 && !install(s, signo)) {
      unhold(s, taken);
      return ASYNC_EINVAL;
    }
    ++s.holders[signo];
    taken |= signal_bit(signo);
  }
  held |= taken;
  return ASYNC_OK;
}

void signal_release(std::uint64_t held) noexcept {
  if (held == 0) return;
  catch_state& s = state();
  checked_guard guard(s.lock);
  unhold(s, held);
}

std::uint64_t signal_take_arrived(int signo) noexcept {
  if (g_arrived[signo].load(std::memory_order_relaxed) == 0) return 0;
  return g_arrived[signo].exchange(0, std::memory_order_acq_rel);
}

}  // namespace async::detail
