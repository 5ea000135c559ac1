/* SPDX-License-Identifier: MIT */
/* c_dump_test.c: async_runtime_dump from C11: one runtime with a fiber in
 * every state and wait kind, dumped by its running fiber and compared whole
 * (clock, stack depths and milliseconds left made tokens, object addresses
 * made names); then every status: NULL, uninitialised and shut-down
 * runtimes, a negative and a closed fd, another thread, a shutdown's
 * on_discard callback. The dump signal: c_dump_signal_test.c. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "async.h"
#include "support/c_check.h"
#include "support/dump_text.h"

/* What the fibers wait on. */
static async_runtime_t rt;
static async_group_t group; /* one thread: its runtime is runtime 2 */
static async_fiber_handle_t remote_fiber;
static async_mutex_t m, m2;
static async_rwlock_t rw;
static async_once_t once = ASYNC_ONCE_INIT;
static async_cond_t cv;
static async_sem_t sem;
static async_waitgroup_t wg;
static async_channel_t ch_send, ch_recv, ch_a, ch_b;
static async_io_t io_in, io_out;
static int read_pipe[2], write_pipe[2], job_pipe[2];
static char big[1 << 20];
static async_fiber_handle_t handles[32];
static size_t n_handles;
static char *dump_text;

/* Entry functions: not static, so that dladdr names them (ENABLE_EXPORTS). */
void once_parks(void *user) {
  (void)user;
  (void)async_park();
}
void holder(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m), ASYNC_OK);
  CHECK_STATUS(async_rwlock_wrlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_once(&once, once_parks, NULL), ASYNC_OK);
  CHECK_STATUS(async_rwlock_unlock(&rw), ASYNC_OK);
  CHECK_STATUS(async_mutex_unlock(&m), ASYNC_OK);
}
void mutex_waiter(void *user) {
  (void)user;
  if (async_mutex_lock(&m) == ASYNC_OK) (void)async_mutex_unlock(&m);
}
void rwlock_waiter(void *user) {
  (void)user;
  if (async_rwlock_rdlock(&rw) == ASYNC_OK) (void)async_rwlock_unlock(&rw);
}
void once_waiter(void *user) {
  (void)user;
  (void)async_once(&once, once_parks, NULL);
}
void cond_waiter(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&m2), ASYNC_OK);
  CHECK_STATUS(async_cond_wait(&cv, &m2), ASYNC_ECANCELED);
  CHECK_STATUS(async_mutex_unlock(&m2), ASYNC_OK);
}
void sem_waiter(void *user) {
  (void)user;
  CHECK_STATUS(async_sem_acquire(&sem), ASYNC_ECANCELED);
}
void wg_waiter(void *user) {
  (void)user;
  CHECK_STATUS(async_waitgroup_wait(&wg), ASYNC_ECANCELED);
}
void sleeper(void *user) {
  (void)user;
  CHECK_STATUS(async_sleep_ms(60000), ASYNC_ECANCELED);
}
void awaiter(void *user) {
  (void)user;
  CHECK_STATUS(async_await(handles[1]), ASYNC_ECANCELED);
}
void sender(void *user) {
  CHECK_STATUS(async_channel_send(&ch_send, user), ASYNC_ECANCELED);
}
void receiver(void *user) {
  void *msg;
  (void)user;
  CHECK_STATUS(async_channel_recv_until(&ch_recv, &msg, async_now_ns() + 60000000000u), ASYNC_ECANCELED);
}
void selector(void *user) {
  async_select_case_t cases[2];
  (void)user;
  memset(cases, 0, sizeof cases);
  cases[0].ch = &ch_a;
  cases[0].op = ASYNC_SELECT_RECV;
  cases[1].ch = &ch_b;
  cases[1].op = ASYNC_SELECT_RECV;
  CHECK_STATUS(async_select(cases, 2, NULL), ASYNC_ECANCELED);
}
void reader(void *user) {
  char c;
  size_t n;
  (void)user;
  CHECK_STATUS(async_read(&io_in, &c, 1, &n), ASYNC_ECANCELED);
}
void writer(void *user) {
  size_t n;
  (void)user;
  CHECK_STATUS(async_write_all(&io_out, big, sizeof big, &n), ASYNC_ECANCELED);
}
void signal_waiter(void *user) {
  const int sig = SIGUSR2;
  int got;
  (void)user;
  CHECK_STATUS(async_signal_wait(&sig, 1, &got), ASYNC_ECANCELED);
}
/* Runs on a pool thread until the dumper writes to job_pipe. */
void job(void *user) {
  char c;
  (void)user;
  CHECK(read(job_pipe[0], &c, 1) == 1);
}
void blocker(void *user) {
  (void)user;
  CHECK_STATUS(async_run_blocking(job, NULL), ASYNC_ECANCELED);
}
void remote_parker(void *user) {
  (void)user;
  CHECK_STATUS(async_park(), ASYNC_ECANCELED);
}
void remote_awaiter(void *user) {
  (void)user;
  CHECK_STATUS(async_await(remote_fiber), ASYNC_ECANCELED);
}
void no_stack(void *user) { (void)user; }
void fresh(void *user) { (void)user; }

static async_fiber_handle_t spawn(async_fn fn, const char *name) {
  async_spawn_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.name = name;
  async_fiber_handle_t h = async_spawn_ex(&rt, fn, NULL, &opts);
  CHECK_STATUS(h.status, ASYNC_OK);
  handles[n_handles++] = h;
  return h;
}

static char *dump_to_text(async_runtime_t *r, async_status_t want) {
  FILE *f = tmpfile();
  CHECK_STATUS(async_runtime_dump(r, fileno(f)), want);
  fflush(f);
  lseek(fileno(f), 0, SEEK_SET);
  char *text = read_all(fileno(f));
  fclose(f);
  return text;
}

/* Every other fiber has parked (or waits for a stack) when this one comes
 * back from its yield. */
void dumper(void *user) {
  (void)user;
  CHECK_STATUS(async_yield(), ASYNC_OK);
  spawn(fresh, "fresh");
  dump_text = dump_to_text(&rt, ASYNC_OK);
  CHECK(write(job_pipe[1], "x", 1) == 1);
  for (size_t i = 1; i < n_handles; ++i) CHECK_STATUS(async_cancel(handles[i]), ASYNC_OK);
}

static void check_whole_dump(void) {
  int bad = 0;
  char *got = normalize_numbers(dump_text, 60000, &bad);
  CHECK(bad == 0);
  char a[64];
  const struct {
    const void *p;
    const char *name;
  } objects[] = {{&m, "&m"},           {&rw, "&rw"},   {&once, "&once"}, {&cv, "&cv"},
                 {&sem, "&sem"},       {&wg, "&wg"},   {&ch_send, "&ch_send"},
                 {&ch_recv, "&ch_recv"}};
  for (size_t i = 0; i < sizeof objects / sizeof objects[0]; ++i) {
    address_text(objects[i].p, a, sizeof a);
    replace_all(&got, a, objects[i].name);
  }
  char want[4096];
  snprintf(want, sizeof want,
           "runtime 1 clock_ns=N fibers=20\n"
           "  1 \"dumper\" running fn=dumper stack=D/65536\n"
           "  2 \"holder\" park fn=holder stack=D/65536\n"
           "  3 \"mutex\" mutex &m fn=mutex_waiter stack=D/65536\n"
           "  4 \"rwlock\" rwlock &rw fn=rwlock_waiter stack=D/65536\n"
           "  5 \"once\" once &once fn=once_waiter stack=D/65536\n"
           "  6 \"cond\" cond &cv fn=cond_waiter stack=D/65536\n"
           "  7 \"sem\" sem &sem fn=sem_waiter stack=D/65536\n"
           "  8 \"waitgroup\" waitgroup &wg fn=wg_waiter stack=D/65536\n"
           "  9 \"sleep\" sleep Tms fn=sleeper stack=D/65536\n"
           "  10 \"await\" await 2 fn=awaiter stack=D/65536\n"
           "  11 \"send\" channel send &ch_send fn=sender stack=D/65536\n"
           "  12 \"recv\" channel recv &ch_recv timeout=Tms fn=receiver stack=D/65536\n"
           "  13 \"select\" select cases=2 fn=selector stack=D/65536\n"
           "  14 \"read\" io read fd=%d fn=reader stack=D/65536\n"
           "  15 \"write\" io write fd=%d fn=writer stack=D/65536\n"
           "  16 \"signal\" signal fn=signal_waiter stack=D/65536\n"
           "  17 \"blocking\" blocking fn=blocker stack=D/65536\n"
           "  18 \"remote\" await 2.1 fn=remote_awaiter stack=D/65536\n"
           "  19 \"\" stack fn=no_stack stack=-\n"
           "  20 \"fresh\" runnable fn=fresh stack=-\n",
           read_pipe[0], write_pipe[1]);
  CHECK_TEXT(got, want);
  free(got);
}

static void test_every_state(void) {
  if (seeded_skip(__func__)) return; /* the fibers reach their waits in FIFO order */
  async_config_t cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.fiber_capacity = 18; /* the 19th fiber to start waits for a stack */
  CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
  CHECK_STATUS(async_group_init(&group, 1, NULL), ASYNC_OK);
  remote_fiber = async_group_spawn(&group, remote_parker, NULL);
  CHECK_STATUS(remote_fiber.status, ASYNC_OK);
  CHECK_STATUS(async_mutex_init(&m), ASYNC_OK);
  CHECK_STATUS(async_mutex_init(&m2), ASYNC_OK);
  CHECK_STATUS(async_rwlock_init(&rw), ASYNC_OK);
  CHECK_STATUS(async_cond_init(&cv), ASYNC_OK);
  CHECK_STATUS(async_sem_init(&sem, 0), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_init(&wg), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_add(&wg, 1), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&ch_send, &rt, 0, 0), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&ch_recv, &rt, 0, 0), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&ch_a, &rt, 0, 0), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&ch_b, &rt, 0, 0), ASYNC_OK);
  CHECK(pipe(read_pipe) == 0 && pipe(write_pipe) == 0 && pipe(job_pipe) == 0);
  CHECK_STATUS(async_io_register_with(&rt, &io_in, read_pipe[0]), ASYNC_OK);
  CHECK_STATUS(async_io_register_with(&rt, &io_out, write_pipe[1]), ASYNC_OK);

  spawn(dumper, "dumper");
  spawn(holder, "holder");
  spawn(mutex_waiter, "mutex");
  spawn(rwlock_waiter, "rwlock");
  spawn(once_waiter, "once");
  spawn(cond_waiter, "cond");
  spawn(sem_waiter, "sem");
  spawn(wg_waiter, "waitgroup");
  spawn(sleeper, "sleep");
  spawn(awaiter, "await");
  spawn(sender, "send");
  spawn(receiver, "recv");
  spawn(selector, "select");
  spawn(reader, "read");
  spawn(writer, "write");
  spawn(signal_waiter, "signal");
  spawn(blocker, "blocking");
  spawn(remote_awaiter, "remote");
  spawn(no_stack, NULL);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK_STATUS(async_cancel(remote_fiber), ASYNC_OK);
  CHECK_STATUS(async_group_wait(&group), ASYNC_OK);
  async_group_shutdown(&group);
  check_whole_dump();
  free(dump_text);

  /* Nothing left but the header. */
  char *idle = dump_to_text(&rt, ASYNC_OK);
  int bad = 0;
  char *got = normalize_numbers(idle, 1, &bad);
  CHECK_TEXT(got, "runtime 1 clock_ns=N fibers=0\n");
  free(got);
  free(idle);

  CHECK_STATUS(async_io_close(&io_in), ASYNC_OK);
  CHECK_STATUS(async_io_close(&io_out), ASYNC_OK);
  close(read_pipe[1]);
  close(write_pipe[0]);
  close(job_pipe[0]);
  close(job_pipe[1]);
  async_channel_shutdown(&ch_send);
  async_channel_shutdown(&ch_recv);
  async_channel_shutdown(&ch_a);
  async_channel_shutdown(&ch_b);
  async_runtime_shutdown(&rt);
}

static void *dump_from_other_thread(void *arg) {
  CHECK_STATUS(async_runtime_dump(arg, STDOUT_FILENO), ASYNC_ESTATE);
  return NULL;
}

static async_status_t discard_status = ASYNC_OK;
void discard(void *user) { discard_status = async_runtime_dump(user, STDOUT_FILENO); }

static void test_statuses(void) {
  async_runtime_t r, zeroed;
  memset(&zeroed, 0, sizeof zeroed);
  CHECK_STATUS(async_runtime_dump(NULL, STDOUT_FILENO), ASYNC_EINVAL);
  CHECK_STATUS(async_runtime_dump(&zeroed, STDOUT_FILENO), ASYNC_EINVAL);
  CHECK_STATUS(async_runtime_init(&r, NULL), ASYNC_OK);
  CHECK_STATUS(async_runtime_dump(&r, -1), ASYNC_EINVAL);
  int fds[2];
  CHECK(pipe(fds) == 0);
  close(fds[0]);
  close(fds[1]); /* a closed fd: the write fails with EBADF */
  CHECK_STATUS(async_runtime_dump(&r, fds[1]), ASYNC_EIO);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, dump_from_other_thread, &r) == 0);
  pthread_join(t, NULL);
  /* A fiber that never runs: its on_discard runs during the shutdown. */
  async_spawn_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.on_discard = discard;
  CHECK_STATUS(async_spawn_ex(&r, fresh, &r, &opts).status, ASYNC_OK);
  async_runtime_shutdown(&r);
  CHECK_STATUS(discard_status, ASYNC_ESTATE);
  CHECK_STATUS(async_runtime_dump(&r, STDOUT_FILENO), ASYNC_EINVAL);
}

/* The header names the seed (a config's own one wins over the
 * environment's) and virtual time. */
static void test_header_keys(void) {
  async_config_t cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.schedule_seed = 7;
  cfg.schedule_pct_depth = 3;
  cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME;
  async_runtime_t r;
  CHECK_STATUS(async_runtime_init(&r, &cfg), ASYNC_OK);
  char *text = dump_to_text(&r, ASYNC_OK);
  int bad = 0;
  char *norm = normalize_numbers(text, 1, &bad);
  CHECK(!bad);
  const char *keys = strstr(norm, " clock_ns=");
  CHECK(strncmp(norm, "runtime ", 8) == 0 && keys != NULL);
  if (keys != NULL) CHECK_TEXT(keys, " clock_ns=N fibers=0 seed=7 pct_depth=3 virtual_time=1\n");
  free(norm);
  free(text);
  async_runtime_shutdown(&r);
}

int main(void) {
  test_every_state();
  test_statuses();
  test_header_keys();
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
