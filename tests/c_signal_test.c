/* SPDX-License-Identifier: MIT */
/* c_signal_test.c: async/signal.h from C11: every misuse status, deliveries
 * kept between waits and counted (not merged), the listed-first rule, FIFO
 * waits on one runtime, a signal from a plain thread that never blocked it
 * (the process must survive it), deadlines, cancels, a runtime that waits
 * for nothing but a signal (no ASYNC_EDEADLK), and the dispositions saved at
 * the first hold and restored, kept deliveries dropped, at the last
 * holder's shutdown. Waits across a group's runtimes and the stress test are
 * in signal_thread_test.cpp. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "async.h"
#include "support/c_check.h"
#include "support/c_trace.h"

static void tr(const char *item) { trace_add(item); }

/* The disposition's handler as it is now: SIG_DFL, SIG_IGN or another. */
static void (*disposition(int signo))(int) {
  struct sigaction sa;
  sigaction(signo, NULL, &sa);
  return sa.sa_handler;
}

/* Runs `fn` as the only fiber of a fresh runtime, then shuts it down (the
 * runtime's holds end there). */
static async_status_t run_alone(async_fn fn, void *user) {
  async_runtime_t rt;
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  async_fiber_handle_t h = async_spawn_with(&rt, fn, user);
  CHECK_STATUS(h.status, ASYNC_OK);
  async_status_t st = async_runtime_run(&rt);
  async_runtime_shutdown(&rt);
  return st;
}

/* --- misuse ------------------------------------------------------------------ */

static void misuse(void *user) {
  (void)user;
  const int usr2 = SIGUSR2;
  int signo = 42;
  CHECK_STATUS(async_signal_wait(NULL, 1, &signo), ASYNC_EINVAL);
  CHECK(signo == 0);
  CHECK_STATUS(async_signal_wait(&usr2, 1, NULL), ASYNC_EINVAL);
  signo = 42;
  CHECK_STATUS(async_signal_wait(&usr2, 0, &signo), ASYNC_EINVAL);
  CHECK(signo == 0);
  const int bad[] = {0, -1, SIGKILL, SIGSTOP, SIGRTMAX + 1, SIGRTMAX + 100, 100000, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    const int list[2] = {SIGUSR2, bad[i]}; /* one bad signal spoils the list */
    signo = 42;
    CHECK_STATUS(async_signal_wait(list, 2, &signo), ASYNC_EINVAL);
    CHECK(signo == 0);
    CHECK_STATUS(async_signal_wait_until(list, 2, &signo, 0), ASYNC_EINVAL);
  }
#if defined(__GLIBC__)
  const int reserved = SIGRTMIN - 1; /* glibc keeps 32 and 33 for itself */
  CHECK_STATUS(async_signal_wait(&reserved, 1, &signo), ASYNC_EINVAL);
#endif
  /* Nothing was held by a refused call. */
  CHECK(disposition(SIGUSR2) == SIG_DFL);
}

static void test_misuse(void) {
  const int usr2 = SIGUSR2;
  int signo = 42;
  /* Outside a fiber: ESTATE, after the arguments' EINVAL. */
  CHECK_STATUS(async_signal_wait(&usr2, 1, &signo), ASYNC_ESTATE);
  CHECK(signo == 0);
  CHECK_STATUS(async_signal_wait_until(&usr2, 1, &signo, 0), ASYNC_ESTATE);
  CHECK_STATUS(async_signal_wait(&usr2, 0, &signo), ASYNC_EINVAL);
  CHECK_STATUS(run_alone(misuse, NULL), ASYNC_OK);
  CHECK(disposition(SIGUSR2) == SIG_DFL);
}

/* --- no pipe ------------------------------------------------------------------ */

static void waits_without_fds(void *user) {
  (void)user;
  const int usr2 = SIGUSR2;
  int signo = 42;
  CHECK_STATUS(async_signal_wait_until(&usr2, 1, &signo, 0), ASYNC_EIO);
  CHECK(signo == 0);
  CHECK(disposition(SIGUSR2) == SIG_DFL); /* nothing held */
}

/* The first hold in the process makes the pipe: out of descriptors, it
 * fails with EIO and holds nothing; a later wait tries again. Run first. */
static void test_no_pipe(void) {
  async_runtime_t rt;
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  struct rlimit old;
  CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
  int lowest_free = dup(0); /* every descriptor below it is open */
  CHECK(lowest_free >= 0);
  close(lowest_free);
  struct rlimit tight = old;
  tight.rlim_cur = (rlim_t)lowest_free;
  CHECK(setrlimit(RLIMIT_NOFILE, &tight) == 0);
  CHECK_STATUS(async_spawn_with(&rt, waits_without_fds, NULL).status, ASYNC_OK);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
  async_runtime_shutdown(&rt);
}

/* --- kept deliveries ------------------------------------------------------------- */

static void kept_and_counted(void *user) {
  (void)user;
  const int usr1 = SIGUSR1;
  const int both[2] = {SIGUSR2, SIGUSR1};
  int signo = 42;
  /* A deadline already past holds the signal without waiting. */
  CHECK_STATUS(async_signal_wait_until(&usr1, 1, &signo, 0), ASYNC_ETIMEDOUT);
  CHECK(signo == 0);
  CHECK(disposition(SIGUSR1) != SIG_DFL && disposition(SIGUSR1) != SIG_IGN);
  /* Raised while nobody waits: kept, one return per delivery. */
  for (int i = 0; i < 3; ++i) CHECK(raise(SIGUSR1) == 0);
  for (int i = 0; i < 3; ++i) {
    signo = 0;
    CHECK_STATUS(async_signal_wait(&usr1, 1, &signo), ASYNC_OK);
    CHECK(signo == SIGUSR1);
  }
  CHECK_STATUS(async_signal_wait_until(&usr1, 1, &signo, 0), ASYNC_ETIMEDOUT);
  /* Both kept: the one listed first comes first, whatever came first. */
  CHECK_STATUS(async_signal_wait_until(both, 2, &signo, 0), ASYNC_ETIMEDOUT);
  CHECK(raise(SIGUSR1) == 0);
  CHECK(raise(SIGUSR2) == 0);
  CHECK_STATUS(async_signal_wait(both, 2, &signo), ASYNC_OK);
  CHECK(signo == SIGUSR2);
  CHECK_STATUS(async_signal_wait(both, 2, &signo), ASYNC_OK);
  CHECK(signo == SIGUSR1);
  /* A list may name a signal twice. */
  const int twice[2] = {SIGUSR1, SIGUSR1};
  CHECK(raise(SIGUSR1) == 0);
  CHECK_STATUS(async_signal_wait(twice, 2, &signo), ASYNC_OK);
  CHECK(signo == SIGUSR1);
  /* Still held after the waits: a signal now is kept, not fatal, and the
   * runtime's shutdown drops it. */
  CHECK(raise(SIGUSR1) == 0);
}

static void nothing_kept(void *user) {
  (void)user;
  const int usr1 = SIGUSR1;
  int signo = 42;
  CHECK_STATUS(async_signal_wait_until(&usr1, 1, &signo, 0), ASYNC_ETIMEDOUT);
}

static void ignore(int signo) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  sigaction(signo, &sa, NULL);
}

static void test_kept_and_restored(void) {
  /* SIGUSR1 ignored before: restored to that at the shutdown, so the
   * delivery kept at the end cannot kill the process after it. */
  ignore(SIGUSR1);
  CHECK_STATUS(run_alone(kept_and_counted, NULL), ASYNC_OK);
  CHECK(disposition(SIGUSR1) == SIG_IGN);
  CHECK(disposition(SIGUSR2) == SIG_DFL);
  /* The delivery kept at the end was dropped with the last hold. */
  CHECK_STATUS(run_alone(nothing_kept, NULL), ASYNC_OK);
  CHECK(disposition(SIGUSR1) == SIG_IGN);
  signal(SIGUSR1, SIG_DFL);
}

/* --- one runtime: FIFO, deadlines, cancels ---------------------------------------- */

static async_fiber_handle_t cancelled_waiter;

/* Real-time signals are queued by the kernel: two sent at once are two
 * deliveries. (Two SIGUSR1 sent at once may be one: the kernel drops a
 * standard signal sent while the last one is still pending.) */
static void waits_named(void *user) {
  const int rt1 = SIGRTMIN + 1;
  int signo = 0;
  async_status_t st = async_signal_wait(&rt1, 1, &signo);
  CHECK(st == ASYNC_OK ? signo == rt1 : signo == 0);
  char item[32];
  snprintf(item, sizeof item, "%s:%s", (const char *)user, async_status_name(st));
  tr(item);
}

/* The sender is the only thread that takes SIGRTMIN + 1 (its creator
 * blocks it meanwhile, the library's thread blocks everything), and it
 * pauses after each send. Both for ThreadSanitizer (docs/design.md,
 * "Signals"): it runs a handler only in a call it treats as blocking, and a
 * delivery to the creator's fiber in pthread_join (not such a call) would be
 * kept in that fiber's context and lost when the fiber ends; nanosleep is
 * such a call. Without TSan the kernel picks the sender too, and the pause
 * only spaces the sends. */
static void *sends(void *user) {
  int n = *(const int *)user;
  const struct timespec pause = {0, 1000000}; /* 1 ms */
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGRTMIN + 1);
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  for (int i = 0; i < n; ++i) {
    kill(getpid(), SIGRTMIN + 1);
    nanosleep(&pause, NULL);
  }
  return NULL;
}

/* Runs after the waiters parked (spawned after them): cancels B, then
 * sends two signals from a plain thread that never blocked them. */
static void cancel_and_send(void *user) {
  (void)user;
  CHECK_STATUS(async_cancel(cancelled_waiter), ASYNC_OK);
  static const int two = 2;
  sigset_t one, old;
  sigemptyset(&one);
  sigaddset(&one, SIGRTMIN + 1);
  pthread_sigmask(SIG_BLOCK, &one, &old);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, sends, (void *)&two) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Waits last for the signal the others wait for: they take both. */
static void deadline_passes(void *user) {
  (void)user;
  const int rt1 = SIGRTMIN + 1;
  int signo = 42;
  CHECK_STATUS(async_signal_wait_until(&rt1, 1, &signo, async_now_ns() + 2000000u), ASYNC_ETIMEDOUT);
  CHECK(signo == 0);
  tr("deadline");
}

static void test_fifo_deadline_cancel(void) {
  if (seeded_skip(__func__)) return;
  async_runtime_t rt;
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  CHECK_STATUS(async_spawn_with(&rt, waits_named, "A").status, ASYNC_OK);
  cancelled_waiter = async_spawn_with(&rt, waits_named, "B");
  CHECK_STATUS(async_spawn_with(&rt, waits_named, "C").status, ASYNC_OK);
  CHECK_STATUS(async_spawn_with(&rt, deadline_passes, NULL).status, ASYNC_OK);
  CHECK_STATUS(async_spawn_with(&rt, cancel_and_send, NULL).status, ASYNC_OK);
  /* The runtime blocks for the signals instead of reporting a deadlock. */
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  async_runtime_shutdown(&rt);
  /* The order of the trace's parts after the cancel depends on when the
   * signals and the deadline arrive; each part's own order does not. */
  CHECK(strstr(trace_buf, "B:ECANCELED") == trace_buf);
  CHECK(strstr(trace_buf, "A:OK") != NULL && strstr(trace_buf, "C:OK") != NULL &&
        strstr(trace_buf, "A:OK") < strstr(trace_buf, "C:OK"));
  CHECK(strstr(trace_buf, "deadline") != NULL);
  trace_buf[0] = '\0';
  CHECK(disposition(SIGRTMIN + 1) == SIG_DFL);
}

/* Cancelled before the call: ECANCELED at once, and the kept delivery stays
 * for another wait. */
static void cancelled_first(void *user) {
  (void)user;
  const int usr1 = SIGUSR1;
  int signo = 42;
  CHECK_STATUS(async_signal_wait_until(&usr1, 1, &signo, 0), ASYNC_ETIMEDOUT);
  CHECK(raise(SIGUSR1) == 0);
  CHECK_STATUS(async_cancel(async_self()), ASYNC_OK);
  CHECK_STATUS(async_signal_wait(&usr1, 1, &signo), ASYNC_ECANCELED);
  CHECK(signo == 0);
  CHECK_STATUS(async_signal_wait_until(&usr1, 1, &signo, 0), ASYNC_ECANCELED);
  tr("cancelled");
}

static void takes_kept(void *user) {
  (void)user;
  const int usr1 = SIGUSR1;
  int signo = 0;
  CHECK_STATUS(async_signal_wait_until(&usr1, 1, &signo, 0), ASYNC_OK);
  CHECK(signo == SIGUSR1);
  tr("taken");
}

static void test_cancelled_before(void) {
  if (seeded_skip(__func__)) return;
  async_runtime_t rt;
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  CHECK_STATUS(async_spawn_with(&rt, cancelled_first, NULL).status, ASYNC_OK);
  CHECK_STATUS(async_spawn_with(&rt, takes_kept, NULL).status, ASYNC_OK);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK_TRACE("cancelled taken");
  async_runtime_shutdown(&rt);
}

/* --- a runtime shut down while its fiber waits --------------------------------------- */

static void waits_forever(void *user) {
  (void)user;
  const int usr2 = SIGUSR2;
  int signo;
  async_signal_wait(&usr2, 1, &signo);
  tr("never");
}

static void test_shutdown_while_waiting(void) {
  async_runtime_t rt;
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  async_fiber_handle_t h = async_spawn_with(&rt, waits_forever, NULL);
  /* Drive until the fiber parks: await a sleeper spawned after it. */
  async_fiber_handle_t s = async_spawn_with(&rt, deadline_passes, NULL);
  CHECK_STATUS(async_await(s), ASYNC_OK);
  CHECK_TRACE("deadline");
  async_runtime_stats_t stats;
  CHECK_STATUS(async_runtime_stats(&rt, &stats), ASYNC_OK);
  CHECK(stats.io_waiting == 1); /* the signal wait waits for another thread */
  (void)h;
  async_runtime_shutdown(&rt); /* takes the fiber off the wait, restores SIGUSR2 */
  CHECK(disposition(SIGUSR2) == SIG_DFL);
  CHECK(disposition(SIGRTMIN + 1) == SIG_DFL);
  CHECK_TRACE("");
}

int main(void) {
  test_no_pipe();
  test_misuse();
  test_kept_and_restored();
  test_fifo_deadline_cancel();
  test_cancelled_before();
  test_shutdown_while_waiting();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  puts("c_signal_test: ok");
  return EXIT_SUCCESS;
}
