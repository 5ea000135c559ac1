/* SPDX-License-Identifier: MIT */
/* c_dump_signal_test.c: ASYNC_DUMP_SIGNAL from C11, each case in a forked
 * child whose stderr the parent reads whole: a signal sent to the process
 * dumps the runtime of the thread it lands on and, forwarded, the runtime
 * another thread owns, after which the program goes on; the dump signal
 * cannot be waited for; a value that names no usable signal is reported
 * once and ignored. The children set the variable before their first
 * runtime, when the library reads it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "async.h"
#include "support/c_check.h"
#include "support/dump_text.h"

static async_runtime_t rt_main, rt_other;
static int go_pipe[2]; /* the main thread lets the other thread go on */
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int other_ready;

void other(void *user) { (void)user; }

/* Owns a runtime with one fiber not yet run, and waits outside it (in a
 * read that SA_RESTART resumes after the forwarded signal's handler) until
 * the main thread has had its dump: so its state is known when dumped. */
static void *other_thread(void *arg) {
  async_spawn_options_t opts;
  char c;
  (void)arg;
  memset(&opts, 0, sizeof opts);
  opts.name = "other";
  if (async_runtime_init(&rt_other, NULL) != ASYNC_OK) return NULL;
  CHECK_STATUS(async_spawn_ex(&rt_other, other, NULL, &opts).status, ASYNC_OK);
  pthread_mutex_lock(&ready_lock);
  other_ready = 1;
  pthread_cond_signal(&ready_cond);
  pthread_mutex_unlock(&ready_lock);
  CHECK(read(go_pipe[0], &c, 1) == 1);
  CHECK_STATUS(async_runtime_run(&rt_other), ASYNC_OK);
  async_runtime_shutdown(&rt_other);
  return NULL;
}

void quick(void *user) { (void)user; }

void signaller(void *user) {
  const int sig = SIGUSR1;
  int got;
  (void)user;
  kill(getpid(), SIGUSR1); /* handled before kill returns: this thread lets it in */
  printf("went on\n");
  CHECK_STATUS(async_signal_wait(&sig, 1, &got), ASYNC_EINVAL);
}

/* Child: two runtimes on two threads, then the signal. */
static int child_dump(void) {
  pthread_t t;
  setenv("ASYNC_DUMP_SIGNAL", "SIGUSR1", 1);
  if (async_runtime_init(&rt_main, NULL) != ASYNC_OK || pipe(go_pipe) != 0) return 2;
  if (pthread_create(&t, NULL, other_thread, NULL) != 0) return 2;
  pthread_mutex_lock(&ready_lock);
  while (!other_ready) pthread_cond_wait(&ready_cond, &ready_lock);
  pthread_mutex_unlock(&ready_lock);
  async_spawn_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.name = "signaller";
  CHECK_STATUS(async_spawn_ex(&rt_main, signaller, NULL, &opts).status, ASYNC_OK);
  opts.name = "queued";
  CHECK_STATUS(async_spawn_ex(&rt_main, quick, NULL, &opts).status, ASYNC_OK);
  async_fiber_handle_t h = async_spawn_ex(&rt_main, quick, NULL, &opts);
  CHECK_STATUS(async_cancel(h), ASYNC_OK); /* it ended before it ran */
  CHECK_STATUS(async_runtime_run(&rt_main), ASYNC_OK);
  CHECK(write(go_pipe[1], "x", 1) == 1);
  pthread_join(t, NULL);
  async_runtime_shutdown(&rt_main);
  fflush(stdout);
  return failures == 0 ? 0 : 1;
}

/* Child: a value that names no signal a dump can use. */
static const char *bad_value;
static int child_bad_value(void) {
  async_runtime_t r;
  setenv("ASYNC_DUMP_SIGNAL", bad_value, 1);
  if (async_runtime_init(&r, NULL) != ASYNC_OK) return 2;
  async_runtime_shutdown(&r);
  if (async_runtime_init(&r, NULL) != ASYNC_OK) return 2; /* reported once only */
  async_runtime_shutdown(&r);
  return 0;
}

/* Runs `child` in a child process, which must exit 0; its stderr and stdout. */
static void run_child(int (*child)(void), char **err, char **out) {
  int status;
  int e[2], o[2];
  CHECK(pipe(e) == 0 && pipe(o) == 0);
  fflush(NULL);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(e[1], STDERR_FILENO);
    dup2(o[1], STDOUT_FILENO);
    close(e[0]);
    close(o[0]);
    _exit(child());
  }
  close(e[1]);
  close(o[1]);
  *err = read_all(e[0]);
  *out = read_all(o[0]);
  close(e[0]);
  close(o[0]);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_dump_on_signal(void) {
  if (seeded_skip(__func__)) return; /* which fiber has run decides the text */
  char *err, *out;
  run_child(child_dump, &err, &out);
  CHECK_TEXT(out, "went on\n");
  int bad = 0;
  char *got = normalize_numbers(err, 1, &bad);
  char fn_signaller[32], fn_quick[32], fn_other[32], want[1024];
  FN_ADDRESS_TEXT(signaller, fn_signaller);
  FN_ADDRESS_TEXT(quick, fn_quick);
  FN_ADDRESS_TEXT(other, fn_other);
  /* The signal lands on the main thread, which dumps its runtime (1), then
   * forwards it to the thread of runtime 2. No symbols: dladdr is not
   * async-signal-safe. The cancelled fiber's record was freed. */
  snprintf(want, sizeof want,
           "runtime 1 clock_ns=N fibers=2\n"
           "  1 \"signaller\" running fn=%s stack=D/65536\n"
           "  2 \"queued\" runnable fn=%s stack=-\n"
           "runtime 2 clock_ns=N fibers=1\n"
           "  1 \"other\" runnable fn=%s stack=-\n",
           fn_signaller, fn_quick, fn_other);
  CHECK_TEXT(got, want);
  free(got);
  free(err);
  free(out);
}

/* A fault signal (its handler would run the fault again) and no signal. */
static void test_bad_values(void) {
  static const char *const values[] = {"SIGSEGV", "SIGNOTHING"};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; ++i) {
    char *err, *out, want[128];
    bad_value = values[i];
    run_child(child_bad_value, &err, &out);
    snprintf(want, sizeof want, "async: ASYNC_DUMP_SIGNAL=%s: not a signal a dump can use; ignored\n", values[i]);
    CHECK_TEXT(err, want);
    CHECK_TEXT(out, "");
    free(err);
    free(out);
  }
}

int main(void) {
  test_dump_on_signal();
  test_bad_values();
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
