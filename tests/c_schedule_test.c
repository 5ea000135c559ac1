/* SPDX-License-Identifier: MIT */
/* c_schedule_test.c: seeded schedules from C11 (async.h "Seeded schedules",
 * async/testing.h): whole traces under FIFO and under seeds, replay, the
 * seed from ASYNC_SCHEDULE_SEED and its EINVAL, PCT's limits, and
 * async_explore finding a planted order bug, replaying it and its errors. */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "async.h"
#include "async/testing.h"
#include "support/c_check.h"

static char trace_buf[512];

static void tr(const char *item) {
  if (trace_buf[0] != '\0') strncat(trace_buf, " ", sizeof trace_buf - strlen(trace_buf) - 1);
  strncat(trace_buf, item, sizeof trace_buf - strlen(trace_buf) - 1);
}

#define CHECK_TRACE(got, want)                                                                         \
  do {                                                                                                 \
    if (strcmp((got), (want)) != 0) {                                                                  \
      fprintf(stderr, "%s:%d: trace\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, (got), (want));   \
      ++failures;                                                                                      \
    }                                                                                                  \
  } while (0)

/* --- three yielders -------------------------------------------------------------- */

static void yielder(void *name) {
  int i;
  for (i = 0; i < 3; ++i) {
    char item[8];
    snprintf(item, sizeof item, "%s%d", (const char *)name, i);
    tr(item);
    CHECK_STATUS(async_yield(), ASYNC_OK);
  }
}

/* Runs three yielders on a runtime made from `cfg`; the trace is in
 * trace_buf. Returns init's status. */
static async_status_t run_yielders(const async_config_t *cfg) {
  async_runtime_t rt;
  async_status_t st = async_runtime_init(&rt, cfg);
  trace_buf[0] = '\0';
  if (st != ASYNC_OK) return st;
  async_spawn_with(&rt, yielder, "a");
  async_spawn_with(&rt, yielder, "b");
  async_spawn_with(&rt, yielder, "c");
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  async_runtime_shutdown(&rt);
  return ASYNC_OK;
}

static void test_fifo(void) {
  async_config_t cfg = {0};
  if (seeded_skip(__func__)) return;
  CHECK_STATUS(run_yielders(&cfg), ASYNC_OK);
  CHECK_TRACE(trace_buf, "a0 b0 c0 a1 b1 c1 a2 b2 c2");
}

static void test_seeded_trace_and_replay(void) {
  async_config_t cfg = {0};
  char first[sizeof trace_buf];
  cfg.schedule_seed = 5;
  CHECK_STATUS(run_yielders(&cfg), ASYNC_OK);
  CHECK_TRACE(trace_buf, "c0 b0 b1 b2 c1 c2 a0 a1 a2");
  strcpy(first, trace_buf);
  CHECK_STATUS(run_yielders(&cfg), ASYNC_OK);
  CHECK_TRACE(trace_buf, first);
  cfg.schedule_pct_depth = 2;
  CHECK_STATUS(run_yielders(&cfg), ASYNC_OK);
  /* Yields drop the yielder below the others under PCT: round robin here. */
  CHECK_TRACE(trace_buf, "a0 b0 c0 a1 b1 c1 a2 b2 c2");
}

/* ASYNC_SCHEDULE_SEED seeds a runtime whose config says 0; a value that is
 * not a number makes init fail with ASYNC_EINVAL. */
static void test_environment(void) {
  async_config_t cfg = {0};
  char want[sizeof trace_buf];
  const char *old = getenv("ASYNC_SCHEDULE_SEED");
  char saved[64] = "";
  static const char *const bad[] = {"x", "-5", "5 ", "0x", "99999999999999999999"};
  size_t i;
  async_runtime_t rt;
  if (old != NULL) snprintf(saved, sizeof saved, "%s", old);
  cfg.schedule_seed = 5;
  CHECK_STATUS(run_yielders(&cfg), ASYNC_OK);
  strcpy(want, trace_buf);
  cfg.schedule_seed = 0;
  setenv("ASYNC_SCHEDULE_SEED", "5", 1);
  CHECK_STATUS(run_yielders(&cfg), ASYNC_OK);
  CHECK_TRACE(trace_buf, want);
  setenv("ASYNC_SCHEDULE_SEED", "0x5", 1);
  CHECK_STATUS(run_yielders(NULL), ASYNC_OK);
  CHECK_TRACE(trace_buf, want);
  for (i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    setenv("ASYNC_SCHEDULE_SEED", bad[i], 1);
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_EINVAL);
    CHECK(rt.impl == NULL);
  }
  if (old != NULL) {
    setenv("ASYNC_SCHEDULE_SEED", saved, 1);
  } else {
    unsetenv("ASYNC_SCHEDULE_SEED");
  }
}

static void test_pct_limits(void) {
  async_config_t cfg = {0};
  async_runtime_t rt;
  cfg.schedule_seed = 1;
  cfg.schedule_pct_depth = ASYNC_SCHEDULE_PCT_MAX_DEPTH + 1;
  CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
  cfg.schedule_pct_depth = ASYNC_SCHEDULE_PCT_MAX_DEPTH;
  CHECK_STATUS(run_yielders(&cfg), ASYNC_OK);
  CHECK(strlen(trace_buf) == strlen("a0 b0 c0 a1 b1 c1 a2 b2 c2"));
}

/* --- async_explore -------------------------------------------------------------- */

/* The planted bug: `ready` is set one yield after the data. */
struct late_flag {
  int ready;
  int failed;
};

static void late_producer(void *p) {
  struct late_flag *s = p;
  tr("p:data");
  async_yield();
  s->ready = 1;
  tr("p:ready");
}

static void late_consumer(void *p) {
  struct late_flag *s = p;
  async_yield();
  s->failed = !s->ready;
  tr(s->ready ? "c:ok" : "c:not-ready");
}

static int explore_runs;

static int late_flag_body(const async_config_t *cfg, void *user) {
  struct late_flag s = {0, 0};
  async_runtime_t rt;
  (void)user;
  ++explore_runs;
  trace_buf[0] = '\0';
  if (async_runtime_init(&rt, cfg) != ASYNC_OK) return 1;
  async_spawn_with(&rt, late_producer, &s);
  async_spawn_with(&rt, late_consumer, &s);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
  async_runtime_shutdown(&rt);
  return s.failed;
}

static void test_explore_finds_and_replays(void) {
  async_config_t cfg = {0};
  uint64_t seed = 99;
  char failing[sizeof trace_buf];
  if (seeded_skip(__func__)) return;
  CHECK(late_flag_body(&cfg, NULL) == 0); /* FIFO hides it */
  CHECK_TRACE(trace_buf, "p:data p:ready c:ok");
  explore_runs = 0;
  CHECK_STATUS(async_explore(NULL, 100, late_flag_body, NULL, &seed), ASYNC_OK);
  CHECK(seed == 1);
  CHECK(explore_runs == 1);
  CHECK_TRACE(trace_buf, "c:not-ready p:data p:ready");
  strcpy(failing, trace_buf);
  /* Replay: the seed in the config, then in the environment. */
  cfg.schedule_seed = seed;
  CHECK(late_flag_body(&cfg, NULL) == 1);
  CHECK_TRACE(trace_buf, failing);
  setenv("ASYNC_SCHEDULE_SEED", "1", 1);
  explore_runs = 0;
  seed = 0;
  CHECK_STATUS(async_explore(NULL, 100, late_flag_body, NULL, &seed), ASYNC_OK);
  CHECK(seed == 1 && explore_runs == 1);
  CHECK_TRACE(trace_buf, failing);
  unsetenv("ASYNC_SCHEDULE_SEED");
}

static int always_passes(const async_config_t *cfg, void *user) {
  (void)user;
  ++explore_runs;
  CHECK(cfg->schedule_seed == (uint64_t)explore_runs);
  CHECK(cfg->max_events == 7); /* the rest of the config is the caller's */
  return 0;
}

static void test_explore_passing_and_errors(void) {
  async_config_t cfg = {0};
  uint64_t seed = 99;
  if (seeded_skip(__func__)) return;
  cfg.max_events = 7;
  explore_runs = 0;
  CHECK_STATUS(async_explore(&cfg, 30, always_passes, NULL, &seed), ASYNC_OK);
  CHECK(seed == 0 && explore_runs == 30);
  CHECK_STATUS(async_explore(&cfg, 0, always_passes, NULL, &seed), ASYNC_EINVAL);
  CHECK_STATUS(async_explore(&cfg, 3, NULL, NULL, &seed), ASYNC_EINVAL);
  CHECK_STATUS(async_explore(&cfg, 3, always_passes, NULL, NULL), ASYNC_EINVAL);
  setenv("ASYNC_SCHEDULE_SEED", "z", 1);
  CHECK_STATUS(async_explore(&cfg, 3, always_passes, NULL, &seed), ASYNC_EINVAL);
  unsetenv("ASYNC_SCHEDULE_SEED");
}

int main(void) {
  test_fifo();
  test_seeded_trace_and_replay();
  test_environment();
  test_pct_limits();
  test_explore_finds_and_replays();
  test_explore_passing_and_errors();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  puts("c_schedule_test: ok");
  return EXIT_SUCCESS;
}
