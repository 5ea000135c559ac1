/* SPDX-License-Identifier: MIT */
/* c_alloc_test.c: async_set_allocator from C11: when it may be called and
 * what it refuses; runtime init and channel init with each of their
 * allocations failed in turn (ASYNC_ENOMEM, nothing leaked, the runtime
 * usable afterwards); and that capacity-0 channels, spawn, send and recv
 * ask the allocator for nothing. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "async.h"
#include "support/c_check.h"
#include "support/c_trace.h"
#include "support/counting_allocator.h"

static void *never_alloc(size_t size, size_t align, void *ctx) {
  (void)size, (void)align, (void)ctx;
  return NULL;
}

static void never_free(void *p, size_t size, void *ctx) { (void)p, (void)size, (void)ctx; }

/* --- checks ------------------------------------------------------------- */

/* Each failure answered ENOMEM, left no block out, and was asked for. */
static void check_failed_cleanly(fail_each_result_t r) {
  CHECK(r.wrong_status == -1);
  CHECK(r.leaked == -1);
  CHECK(r.missed == -1);
}

/* Every block went back, with its size, and the default allocator returns. */
static void check_all_given_back(void) {
  const counting_allocator_stats_t s = counting_allocator_stats();
  CHECK(s.live_blocks == 0);
  CHECK(s.live_bytes == 0);
  CHECK(s.bad_frees == 0);
  CHECK(s.bad_aligns == 0);
  CHECK_STATUS(async_set_allocator(NULL), ASYNC_OK);
}

/* --- a small program: proves a runtime still works --------------------- */

static async_channel_t pipe_ch;

static void producer(void *user) {
  (void)user;
  for (uintptr_t i = 1; i <= 3; ++i) {
    char item[16];
    snprintf(item, sizeof item, "send%u", (unsigned)i);
    trace_add(item);
    CHECK_STATUS(async_channel_send(&pipe_ch, (void *)i), ASYNC_OK);
  }
  CHECK_STATUS(async_channel_close(&pipe_ch), ASYNC_OK);
}

static void consumer(void *user) {
  (void)user;
  void *msg = NULL;
  while (async_channel_recv(&pipe_ch, &msg) == ASYNC_OK) {
    char item[16];
    snprintf(item, sizeof item, "recv%u", (unsigned)(uintptr_t)msg);
    trace_add(item);
  }
  trace_add("closed");
}

/* Runs producer and consumer over an unbuffered channel (which allocates
 * nothing): no allocation is asked for, and the FIFO rules (`fifo`: not a
 * seeded runtime) give one trace: a
 * send to the parked consumer hands over and goes on, the next one parks
 * until the consumer runs and takes it. */
static void check_usable(async_runtime_t *rt, int fifo) {
  const long asked = counting_allocator_stats().attempts;
  CHECK_STATUS(async_channel_init(&pipe_ch, rt, 0, 0), ASYNC_OK);
  async_fiber_handle_t c = async_spawn_with(rt, consumer, NULL);
  async_fiber_handle_t p = async_spawn_with(rt, producer, NULL);
  CHECK_STATUS(c.status, ASYNC_OK);
  CHECK_STATUS(p.status, ASYNC_OK);
  CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
  CHECK_STATUS(async_await(c), ASYNC_OK);
  CHECK_STATUS(async_await(p), ASYNC_OK);
  async_channel_shutdown(&pipe_ch);
  CHECK(counting_allocator_stats().attempts == asked);
  if (fifo && !seeded_skip(__func__)) CHECK_TRACE("send1 send2 recv1 recv2 send3 recv3 closed");
  trace_buf[0] = '\0';
}

/* --- async_set_allocator's rules --------------------------------------- */

static void test_set_allocator_rules(void) {
  const async_allocator_t no_alloc = {NULL, never_free, NULL};
  const async_allocator_t no_free = {never_alloc, NULL, NULL};
  CHECK_STATUS(async_set_allocator(&no_alloc), ASYNC_EINVAL);
  CHECK_STATUS(async_set_allocator(&no_free), ASYNC_EINVAL);

  /* An allocator that has nothing: every init says ENOMEM, nothing else. */
  const async_allocator_t empty = {never_alloc, never_free, NULL};
  CHECK_STATUS(async_set_allocator(&empty), ASYNC_OK);
  async_runtime_t rt;
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_ENOMEM);
  CHECK_STATUS(async_runtime_run(&rt), ASYNC_EINVAL);  /* names no runtime */
  async_group_t g;
  CHECK_STATUS(async_group_init(&g, 2, NULL), ASYNC_ENOMEM);
  CHECK_STATUS(async_set_allocator(NULL), ASYNC_OK);

  /* Refused while its memory is out: a runtime, then a channel that
   * outlives its runtime (detached, its buffer still allocated). */
  CHECK_STATUS(counting_allocator_install(), ASYNC_OK);
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  CHECK_STATUS(async_set_allocator(NULL), ASYNC_ESTATE);
  async_channel_t ch;
  CHECK_STATUS(async_channel_init(&ch, &rt, 8, 0), ASYNC_OK);
  async_runtime_shutdown(&rt);
  CHECK_STATUS(async_set_allocator(NULL), ASYNC_ESTATE);
  CHECK(counting_allocator_stats().live_blocks == 1);
  async_channel_shutdown(&ch);
  check_all_given_back();

  /* The default is back: the counter sees nothing more. */
  const long asked = counting_allocator_stats().attempts;
  CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
  async_runtime_shutdown(&rt);
  CHECK(counting_allocator_stats().attempts == asked);
}

/* --- every allocation of runtime init failed in turn ------------------- */

static async_runtime_t init_rt;

static async_status_t init_runtime(void *cfg) { return async_runtime_init(&init_rt, cfg); }

static void check_runtime_init_fails_cleanly(const async_config_t *cfg, long allocations) {
  CHECK_STATUS(counting_allocator_install(), ASYNC_OK);
  const fail_each_result_t r = fail_each_allocation(init_runtime, NULL, (void *)cfg);
  CHECK(r.allocations == allocations);
  check_failed_cleanly(r);
  if (r.allocations >= 0) {
    check_usable(&init_rt, cfg == NULL || cfg->schedule_seed == 0);
    async_runtime_shutdown(&init_rt);
  }
  check_all_given_back();
}

static void test_runtime_init(void) {
  /* The runtime, its task table, its timer heap, the I/O driver and its
   * poller's event buffer; a seed in the environment adds its schedule. */
  const char *seed = getenv("ASYNC_SCHEDULE_SEED");
  const int seeded = seed != NULL && seed[0] != '\0' && strcmp(seed, "0") != 0;
  check_runtime_init_fails_cleanly(NULL, seeded ? 6 : 5);
  /* A PCT schedule adds its record, its priorities and its change points. */
  async_config_t pct = {0};
  pct.schedule_seed = 42;
  pct.schedule_pct_depth = 3;
  check_runtime_init_fails_cleanly(&pct, 8);
}

/* --- every allocation of channel init failed in turn ------------------- */

static async_runtime_t chan_rt;
static async_channel_t chan;

static async_status_t init_channel(void *capacity) {
  return async_channel_init(&chan, &chan_rt, *(size_t *)capacity, 0);
}

static void test_channel_init(void) {
  CHECK_STATUS(counting_allocator_install(), ASYNC_OK);
  CHECK_STATUS(async_runtime_init(&chan_rt, NULL), ASYNC_OK);
  const long runtime_blocks = counting_allocator_stats().live_blocks;

  size_t capacity = 4;
  fail_each_result_t r = fail_each_allocation(init_channel, NULL, &capacity);
  CHECK(r.allocations == 1); /* the buffer */
  check_failed_cleanly(r);
  /* The channel works, and a failed init left the runtime as it was. */
  for (uintptr_t i = 1; i <= 4; ++i) CHECK_STATUS(async_channel_try_send(&chan, (void *)i), ASYNC_OK);
  CHECK_STATUS(async_channel_try_send(&chan, (void *)5), ASYNC_EAGAIN);
  void *msg = NULL;
  CHECK_STATUS(async_channel_try_recv(&chan, &msg), ASYNC_OK);
  CHECK(msg == (void *)1);
  async_channel_shutdown(&chan);
  CHECK(counting_allocator_stats().live_blocks == runtime_blocks);
  check_usable(&chan_rt, 1);

  /* Unbuffered: nothing to allocate, so nothing to fail. */
  capacity = 0;
  r = fail_each_allocation(init_channel, NULL, &capacity);
  CHECK(r.allocations == 0);
  async_channel_shutdown(&chan);

  async_runtime_shutdown(&chan_rt);
  check_all_given_back();
}

int main(void) {
  test_set_allocator_rules();
  test_runtime_init();
  test_channel_init();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  puts("c_alloc_test: ok");
  return 0;
}
