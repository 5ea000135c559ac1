/* SPDX-License-Identifier: MIT */
/* c_vtime_test.c: ASYNC_CONFIG_VIRTUAL_TIME from C11: wake order across
 * fibers (whole traces, in virtual milliseconds since the runtime began),
 * the clock moving by exactly what was slept, every timed wait (channels,
 * select, park, the sync objects, I/O), ready I/O and what another thread
 * sent before a jump, deadlock
 * and idleness as without the flag, groups, and 10,000 fibers sleeping up to
 * an hour next to a 10-minute channel timeout. Wall time is never checked
 * (bench/vtime_bench.c prints it). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "async.h"
#include "support/c_check.h"
#include "support/c_trace.h"

#define MS 1000000ull
#define SEC (1000 * MS)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)

/* --- the trace: "<what>@<virtual ms since t0>" ------------------------------- */

static uint64_t t0;

static void at(const char *what) {
  char item[64];
  snprintf(item, sizeof item, "%s@%llu", what, (unsigned long long)((async_now_ns() - t0) / MS));
  trace_add(item);
}

static void at_status(const char *who, async_status_t st) {
  char what[48];
  snprintf(what, sizeof what, "%s:%s", who, async_status_name(st));
  at(what);
}


/* --- a virtual runtime per test ------------------------------------------------ */

static async_runtime_t rt;

static void vt_init(void) {
  async_config_t cfg = {0};
  cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME;
  CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
  trace_buf[0] = '\0';
  t0 = 0;
}

/* Spawned first: the clock cannot move before every fiber spawned with it
 * has run once, so all of them see t0. */
static void mark_t0(void *user) {
  (void)user;
  t0 = async_now_ns();
}

static void spawn(async_fn fn, void *user) { CHECK_STATUS(async_spawn_with(&rt, fn, user).status, ASYNC_OK); }

static void vt_run(async_status_t want) {
  CHECK_STATUS(async_runtime_run(&rt), want);
  async_runtime_shutdown(&rt);
}

/* --- sleeps: deadline order, then the order the timers were set ---------------- */

static void sleep_secs(void *user) {
  const char *name = user;
  CHECK_STATUS(async_sleep_ms((uint64_t)(name[1] - '0') * 1000), ASYNC_OK);
  char what[2] = {name[0], '\0'};
  at(what);
}

/* Sets its 3 s timer at 1 s, after H set the same deadline at 0 s. */
static void late_setter(void *user) {
  (void)user;
  CHECK_STATUS(async_sleep_ms(1000), ASYNC_OK);
  at("g");
  CHECK_STATUS(async_sleep_until_ns(t0 + 3 * SEC), ASYNC_OK);
  at("G");
}

static void early_setter(void *user) {
  (void)user;
  CHECK_STATUS(async_sleep_until_ns(t0 + 3 * SEC), ASYNC_OK);
  at("H");
}

static void test_sleep_order(void) {
  if (seeded_skip(__func__)) return;
  vt_init();
  spawn(mark_t0, NULL);
  /* name, then seconds */
  static const char *const sleepers[] = {"A3", "B1", "C2", "D1", "E0", "F3"};
  for (size_t i = 0; i < sizeof sleepers / sizeof *sleepers; ++i) spawn(sleep_secs, (void *)sleepers[i]);
  spawn(late_setter, NULL);
  spawn(early_setter, NULL);
  vt_run(ASYNC_OK);
  CHECK_TRACE("E@0 B@1000 D@1000 g@1000 C@2000 A@3000 F@3000 H@3000 G@3000");
}

/* --- the clock moves by exactly what was slept ----------------------------------- */

static uint64_t clock_start, clock_end;
static int virtual_inside;

static void exact_steps(void *user) {
  (void)user;
  virtual_inside = async_now_is_virtual();
  uint64_t n = async_now_ns();
  clock_start = n;
  CHECK_STATUS(async_sleep_ns(1), ASYNC_OK);
  CHECK(async_now_ns() == n + 1);
  n = async_now_ns();
  CHECK_STATUS(async_sleep_ms(1), ASYNC_OK);
  CHECK(async_now_ns() == n + MS);
  n = async_now_ns();
  CHECK_STATUS(async_sleep_ns(HOUR), ASYNC_OK);
  CHECK(async_now_ns() == n + HOUR);
  n = async_now_ns();
  CHECK_STATUS(async_sleep_until_ns(n + 5), ASYNC_OK);
  CHECK(async_now_ns() == n + 5);
  /* A deadline already past: no jump. */
  n = async_now_ns();
  CHECK_STATUS(async_sleep_until_ns(n - SEC), ASYNC_OK);
  CHECK(async_now_ns() == n);
  CHECK_STATUS(async_sleep_ms(0), ASYNC_OK);
  CHECK(async_now_ns() == n);
  clock_end = async_now_ns();
}

static void test_clock_exact_and_where_it_starts(void) {
  const uint64_t real_before = async_now_ns();
  vt_init();
  spawn(exact_steps, NULL);
  vt_run(ASYNC_OK);
  const uint64_t real_after = async_now_ns();
  CHECK(virtual_inside == 1);
  CHECK(async_now_is_virtual() == 0); /* outside any runtime: the real clock */
  /* It starts at the real clock of async_runtime_init... */
  CHECK(real_before <= clock_start && clock_start <= real_after);
  CHECK(clock_end == clock_start + 1 + MS + HOUR + 5);
  /* ...and an hour of it passes in much less than an hour of the real one. */
  CHECK(real_after < clock_end);
}

/* --- channels: recv and send with deadlines -------------------------------------- */

static async_channel_t ch, full;

static void recv_past(void *user) {
  void *msg;
  at_status(user, async_channel_recv_until(&ch, &msg, async_now_ns()));
}

static void recv_within(void *user) {
  void *msg = NULL;
  const char *name = user;
  const uint64_t d = strcmp(name, "R1") == 0 ? 10 * MINUTE : 20 * MINUTE;
  at_status(name, async_channel_recv_until(&ch, &msg, async_now_ns() + d));
}

static void send_later(void *user) {
  CHECK_STATUS(async_sleep_ns(15 * MINUTE), ASYNC_OK);
  at_status(user, async_channel_send(&ch, "m"));
}

static void send_to_full(void *user) {
  CHECK_STATUS(async_channel_send(&full, "first"), ASYNC_OK);
  at_status(user, async_channel_send_until(&full, "second", async_now_ns() + 5 * MINUTE));
}

static void test_channel_timeouts(void) {
  if (seeded_skip(__func__)) return;
  vt_init();
  CHECK_STATUS(async_channel_init(&ch, &rt, 0, 0), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&full, &rt, 1, 0), ASYNC_OK);
  spawn(mark_t0, NULL);
  spawn(recv_past, "R0");
  spawn(recv_within, "R1");
  spawn(recv_within, "R2");
  spawn(send_later, "S");
  spawn(send_to_full, "F");
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK_TRACE("R0:ETIMEDOUT@0 F:ETIMEDOUT@300000 R1:ETIMEDOUT@600000 S:OK@900000 R2:OK@900000");
  async_channel_shutdown(&ch);
  async_channel_shutdown(&full);
  async_runtime_shutdown(&rt);
}

/* --- select with a deadline ---------------------------------------------------- */

static async_channel_t sa, sb;

static void selector(void *user) {
  (void)user;
  async_select_case_t cases[2];
  memset(cases, 0, sizeof cases);
  cases[0].ch = &sa;
  cases[0].op = ASYNC_SELECT_RECV;
  cases[1].ch = &sb;
  cases[1].op = ASYNC_SELECT_RECV;
  size_t chosen = 0;
  at_status("past", async_select_until(cases, 2, &chosen, async_now_ns() - 1));
  CHECK(chosen == ASYNC_SELECT_NONE);
  at_status("1min", async_select_until(cases, 2, &chosen, async_now_ns() + MINUTE));
  CHECK(chosen == ASYNC_SELECT_NONE);
  at_status("1h", async_select_until(cases, 2, &chosen, async_now_ns() + HOUR));
  CHECK(chosen == 1);
  CHECK(cases[1].msg != NULL && strcmp(cases[1].msg, "b") == 0);
}

static void select_feeder(void *user) {
  (void)user;
  CHECK_STATUS(async_sleep_ns(30 * MINUTE), ASYNC_OK);
  CHECK_STATUS(async_channel_send(&sb, "b"), ASYNC_OK);
  at("sent");
}

static void test_select_deadline(void) {
  if (seeded_skip(__func__)) return;
  vt_init();
  CHECK_STATUS(async_channel_init(&sa, &rt, 0, 0), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&sb, &rt, 0, 0), ASYNC_OK);
  spawn(mark_t0, NULL);
  spawn(selector, NULL);
  spawn(select_feeder, NULL);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK_TRACE("past:ETIMEDOUT@0 1min:ETIMEDOUT@60000 sent@1800000 1h:OK@1800000");
  async_channel_shutdown(&sa);
  async_channel_shutdown(&sb);
  async_runtime_shutdown(&rt);
}

/* --- async_park_until_ns ----------------------------------------------------------- */

static async_fiber_handle_t parked;

static void parker(void *user) {
  (void)user;
  at_status("past", async_park_until_ns(async_now_ns()));
  at_status("1min", async_park_until_ns(async_now_ns() + MINUTE));
  at_status("1h", async_park_until_ns(async_now_ns() + HOUR));
}

static void unparker(void *user) {
  (void)user;
  CHECK_STATUS(async_sleep_ns(2 * MINUTE), ASYNC_OK);
  CHECK_STATUS(async_unpark(parked), ASYNC_OK);
  at("unpark");
}

static void test_park_until(void) {
  if (seeded_skip(__func__)) return;
  vt_init();
  spawn(mark_t0, NULL);
  parked = async_spawn_with(&rt, parker, NULL);
  CHECK_STATUS(parked.status, ASYNC_OK);
  spawn(unparker, NULL);
  vt_run(ASYNC_OK);
  CHECK_TRACE("past:ETIMEDOUT@0 1min:ETIMEDOUT@60000 unpark@120000 1h:OK@120000");
}

/* --- mutex, condition variable, semaphore, waitgroup -------------------------------- */

static async_mutex_t mx, cmx;
static async_cond_t cv;
static async_sem_t sem;
static async_waitgroup_t wg;

static void holder(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&mx), ASYNC_OK);
  CHECK_STATUS(async_sleep_ns(HOUR), ASYNC_OK);
  at("unlock");
  CHECK_STATUS(async_mutex_unlock(&mx), ASYNC_OK);
}

static void locker(void *user) {
  const char *name = user;
  const uint64_t d = strcmp(name, "L1") == 0 ? MINUTE : 2 * HOUR;
  const async_status_t st = async_mutex_lock_until(&mx, async_now_ns() + d);
  at_status(name, st);
  if (st == ASYNC_OK) CHECK_STATUS(async_mutex_unlock(&mx), ASYNC_OK);
}

static void cond_waiter(void *user) {
  (void)user;
  CHECK_STATUS(async_mutex_lock(&cmx), ASYNC_OK);
  at_status("C", async_cond_wait_until(&cv, &cmx, async_now_ns() + 10 * MINUTE));
  CHECK_STATUS(async_mutex_unlock(&cmx), ASYNC_OK); /* held again after the timeout */
}

static void sem_waiter(void *user) {
  (void)user;
  at_status("S", async_sem_acquire_until(&sem, async_now_ns() + 5 * MINUTE));
}

static void wg_waiter(void *user) {
  (void)user;
  at_status("W", async_waitgroup_wait_until(&wg, async_now_ns() + 7 * MINUTE));
  CHECK_STATUS(async_waitgroup_done(&wg), ASYNC_OK);
}

static void test_sync_timed_waits(void) {
  if (seeded_skip(__func__)) return;
  vt_init();
  CHECK_STATUS(async_mutex_init(&mx), ASYNC_OK);
  CHECK_STATUS(async_mutex_init(&cmx), ASYNC_OK);
  CHECK_STATUS(async_cond_init(&cv), ASYNC_OK);
  CHECK_STATUS(async_sem_init(&sem, 0), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_init(&wg), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_add(&wg, 1), ASYNC_OK);
  spawn(mark_t0, NULL);
  spawn(holder, NULL);
  spawn(locker, "L1");
  spawn(locker, "L2");
  spawn(cond_waiter, NULL);
  spawn(sem_waiter, NULL);
  spawn(wg_waiter, NULL);
  vt_run(ASYNC_OK);
  CHECK_TRACE("L1:ETIMEDOUT@60000 S:ETIMEDOUT@300000 W:ETIMEDOUT@420000 C:ETIMEDOUT@600000 unlock@3600000 "
              "L2:OK@3600000");
  CHECK_STATUS(async_mutex_destroy(&mx), ASYNC_OK);
  CHECK_STATUS(async_mutex_destroy(&cmx), ASYNC_OK);
  CHECK_STATUS(async_cond_destroy(&cv), ASYNC_OK);
  CHECK_STATUS(async_sem_destroy(&sem), ASYNC_OK);
  CHECK_STATUS(async_waitgroup_destroy(&wg), ASYNC_OK);
}

/* --- real I/O: ready I/O comes before a jump; a timeout on it fires at once -------- */

static async_io_t rio;
static int wfd = -1;

static void pipe_reader(void *user) {
  char c = 0;
  size_t n = 0;
  at_status(user, async_read_until(&rio, &c, 1, &n, async_now_ns() + HOUR));
}

/* Makes the reader's fd ready, then sleeps: the clock must not jump past
 * the ready fd to this fiber's deadline. */
static void pipe_writer(void *user) {
  (void)user;
  CHECK(write(wfd, "x", 1) == 1);
  at("wrote");
  CHECK_STATUS(async_sleep_ns(SEC), ASYNC_OK);
  at("slept");
}

static void test_ready_io_before_jump(void) {
  if (seeded_skip(__func__)) return;
  int fds[2];
  CHECK(pipe(fds) == 0);
  wfd = fds[1];
  vt_init();
  memset(&rio, 0, sizeof rio);
  CHECK_STATUS(async_io_register_with(&rt, &rio, fds[0]), ASYNC_OK);
  spawn(mark_t0, NULL);
  spawn(pipe_reader, "R");
  spawn(pipe_writer, NULL);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK_TRACE("wrote@0 R:OK@0 slept@1000");
  /* Nothing will write: under virtual time the hour's timeout fires as soon
   * as nothing else can run (documented at ASYNC_CONFIG_VIRTUAL_TIME). */
  spawn(mark_t0, NULL);
  spawn(pipe_reader, "R");
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK_TRACE("R:ETIMEDOUT@3600000");
  CHECK_STATUS(async_io_close(&rio), ASYNC_OK);
  close(wfd);
  async_runtime_shutdown(&rt);
}

/* --- another thread: what it sent comes before a jump -------------------------------- */

static async_channel_t shared;

static void thread_recv(void *user) {
  void *msg = NULL;
  at_status(user, async_channel_recv_until(&shared, &msg, async_now_ns() + HOUR));
}

static void *thread_send(void *arg) {
  (void)arg;
  CHECK_STATUS(async_channel_send_blocking(&shared, "t"), ASYNC_OK);
  return NULL;
}

/* Runs after the receiver parked: the thread's send completes that wait and
 * is joined here, so its wake sits in the inbox before this fiber sleeps. */
static void start_thread_then_sleep(void *user) {
  (void)user;
  pthread_t th;
  CHECK(pthread_create(&th, NULL, thread_send, NULL) == 0);
  CHECK(pthread_join(th, NULL) == 0);
  at("joined");
  CHECK_STATUS(async_sleep_ns(SEC), ASYNC_OK);
  at("slept");
}

static void test_inbox_before_jump(void) {
  if (seeded_skip(__func__)) return; /* the thread's send needs the receiver parked first */
  vt_init();
  CHECK_STATUS(async_channel_init(&shared, &rt, 0, 0), ASYNC_OK);
  spawn(mark_t0, NULL);
  spawn(thread_recv, "R");
  spawn(start_thread_then_sleep, NULL);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK_TRACE("joined@0 R:OK@0 slept@1000");
  async_channel_shutdown(&shared);
  async_runtime_shutdown(&rt);
}

/* --- deadlock, idleness, configuration ----------------------------------------------- */

static async_channel_t never;

static void stuck(void *user) {
  (void)user;
  void *msg;
  async_channel_recv(&never, &msg);
}

static void sleeps_hour(void *user) {
  CHECK_STATUS(async_sleep_ns(HOUR), ASYNC_OK);
  at(user);
}

static void test_deadlock_and_idle(void) {
  /* Nothing at all: run returns at once. */
  vt_init();
  vt_run(ASYNC_OK);
  /* A fiber blocked forever next to a sleeper: the clock jumps to wake the
   * sleeper, then nothing can wake the other: ASYNC_EDEADLK, as in real time. */
  vt_init();
  CHECK_STATUS(async_channel_init(&never, &rt, 0, 0), ASYNC_OK);
  spawn(mark_t0, NULL);
  spawn(stuck, NULL);
  spawn(sleeps_hour, "woke");
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_EDEADLK);
  CHECK_TRACE("woke@3600000");
  async_runtime_shutdown(&rt);
  async_channel_shutdown(&never);
}

static void probe_clock(void *user) {
  (void)user;
  virtual_inside = async_now_is_virtual();
}

static void test_config(void) {
  async_runtime_t bad;
  async_config_t cfg = {0};
  cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME | 0x80000000u;
  CHECK_STATUS(async_runtime_init(&bad, &cfg), ASYNC_EINVAL);
  /* Without the flag the clock is the real one inside fibers too. */
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  virtual_inside = -1;
  spawn(probe_clock, NULL);
  vt_run(ASYNC_OK);
  CHECK(virtual_inside == 0);
}

/* --- a group: every runtime has a virtual clock of its own ------------------------- */

static uint64_t group_slept[2];

static void group_sleeper(void *user) {
  uint64_t *slept = user;
  const uint64_t n = async_now_ns();
  CHECK(async_now_is_virtual() == 1);
  CHECK_STATUS(async_sleep_ns(HOUR), ASYNC_OK);
  *slept = async_now_ns() - n;
}

static void test_group(void) {
  async_group_t g;
  async_config_t cfg = {0};
  cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME;
  CHECK_STATUS(async_group_init(&g, 2, &cfg), ASYNC_OK);
  for (size_t i = 0; i < 2; ++i) {
    CHECK_STATUS(async_spawn_with(async_group_runtime(&g, i), group_sleeper, &group_slept[i]).status, ASYNC_OK);
  }
  CHECK_STATUS(async_group_wait(&g), ASYNC_OK);
  async_group_shutdown(&g);
  CHECK(group_slept[0] == HOUR && group_slept[1] == HOUR);
}

/* --- 10,000 fibers sleeping up to an hour, and a 10-minute channel timeout ---------- */

enum { many = 10000, timeout_id = -1 };

static int woke[many + 1];  /* fiber ids in the order their last sleep ended */
static size_t woke_n;
static int off_time;        /* fibers whose clock was not t0 + total at the end */

static uint64_t total_secs(int i) { return (uint64_t)(i % 3600) + 1; }

/* Sleeps total_secs(i) in three steps (a third, a third, the rest). */
static void stepper(void *user) {
  const int i = (int)(intptr_t)user;
  const uint64_t total = total_secs(i);
  const uint64_t steps[3] = {total / 3, total / 3, total - 2 * (total / 3)};
  for (int k = 0; k < 3; ++k) CHECK_STATUS(async_sleep_ns(steps[k] * SEC), ASYNC_OK);
  if (async_now_ns() != t0 + total * SEC) ++off_time;
  woke[woke_n++] = i;
}

static void ten_minute_timeout(void *user) {
  (void)user;
  void *msg;
  CHECK_STATUS(async_channel_recv_until(&never, &msg, async_now_ns() + 10 * MINUTE), ASYNC_ETIMEDOUT);
  if (async_now_ns() != t0 + 10 * MINUTE) ++off_time;
  woke[woke_n++] = timeout_id;
}

static void test_ten_thousand_sleepers(void) {
  if (seeded_skip(__func__)) return;
  async_config_t cfg = {0};
  cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME | ASYNC_CONFIG_NO_GUARD_PAGES;
  cfg.task_capacity = many + 8;
  cfg.fiber_capacity = many + 8; /* every sleeper keeps its stack */
  cfg.fiber_stack_size = ASYNC_MIN_STACK_SIZE;
  CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&never, &rt, 0, 0), ASYNC_OK);
  woke_n = 0;
  off_time = 0;
  spawn(mark_t0, NULL);
  spawn(ten_minute_timeout, NULL);
  for (int i = 0; i < many; ++i) spawn(stepper, (void *)(intptr_t)i);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  CHECK(woke_n == many + 1);
  CHECK(off_time == 0);
  /* Deadline order; equal deadlines in the order their timers were set: the
   * timeout's at 0 s, before any sleeper's last step; sleepers with equal
   * totals step in lockstep, in spawn order. */
  size_t k = 0;
  int mismatches = 0;
  for (uint64_t secs = 1; secs <= 3600; ++secs) {
    if (secs == 600) mismatches += woke[k++] != timeout_id;
    for (int i = 0; i < many; ++i) {
      if (total_secs(i) == secs) mismatches += k < woke_n && woke[k++] != i;
    }
  }
  CHECK(k == woke_n);
  CHECK(mismatches == 0);
  async_channel_shutdown(&never);
  async_runtime_shutdown(&rt);
}

int main(void) {
  test_sleep_order();
  test_clock_exact_and_where_it_starts();
  test_channel_timeouts();
  test_select_deadline();
  test_park_until();
  test_sync_timed_waits();
  test_ready_io_before_jump();
  test_inbox_before_jump();
  test_deadlock_and_idle();
  test_config();
  test_group();
  test_ten_thousand_sleepers();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  puts("c_vtime_test: ok");
  return EXIT_SUCCESS;
}
