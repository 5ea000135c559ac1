/* SPDX-License-Identifier: MIT */
/* c_group_test.c: the group API from C11: init, placement, spawn from the
 * main thread and from fibers, wait, awaits across runtimes, shutdown, and
 * the documented misuse statuses. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "async.h"
#include "support/c_check.h"

static atomic_int counted;

static void count(void *user) {
  (void)user;
  atomic_fetch_add(&counted, 1);
}

/* Spawns 10 more on the group from inside a group fiber. */
static void fan_out(void *user) {
  async_group_t *g = user;
  for (int i = 0; i < 10; ++i) CHECK_STATUS(async_group_spawn(g, count, NULL).status, ASYNC_OK);
}

static async_fiber_handle_t sleeper;
static async_status_t awaited;

static void sleeps(void *user) {
  (void)user;
  async_sleep_ms(1);
}

static void awaits_sleeper(void *user) {
  (void)user;
  awaited = async_await(sleeper);
}

/* A fiber on a group runtime echoing what the main thread sends, n + 1, until
 * the channel closes; a blocking call from inside a fiber is refused. */
static async_channel_t to_fiber, to_thread;
static async_status_t blocking_inside_fiber;

static void echo(void *user) {
  (void)user;
  void *msg = NULL;
  blocking_inside_fiber = async_channel_recv_blocking(&to_fiber, &msg);
  while (async_channel_recv(&to_fiber, &msg) == ASYNC_OK) {
    if (async_channel_send(&to_thread, (void *)((uintptr_t)msg + 1)) != ASYNC_OK) return;
  }
}

static async_status_t wait_from_inside;

static void waits_for_its_group(void *user) { wait_from_inside = async_group_wait(user); }

int main(void) {
  async_group_t zeroed = {0};
  CHECK_STATUS(async_group_init(NULL, 1, NULL), ASYNC_EINVAL);
  CHECK(async_group_size(&zeroed) == 0);
  CHECK(async_group_runtime(&zeroed, 0) == NULL);
  CHECK_STATUS(async_group_spawn(&zeroed, count, NULL).status, ASYNC_EINVAL);
  CHECK_STATUS(async_group_wait(&zeroed), ASYNC_EINVAL);
  async_group_shutdown(&zeroed);

  async_group_t g;
  CHECK_STATUS(async_group_init(&g, 2, NULL), ASYNC_OK);
  CHECK(async_group_size(&g) == 2);
  CHECK(async_group_runtime(&g, 1) != NULL);
  CHECK(async_group_runtime(&g, 2) == NULL);
  CHECK_STATUS(async_group_spawn(&g, NULL, NULL).status, ASYNC_EINVAL);

  for (int i = 0; i < 100; ++i) CHECK_STATUS(async_group_spawn(&g, count, NULL).status, ASYNC_OK);
  CHECK_STATUS(async_group_spawn(&g, fan_out, &g).status, ASYNC_OK);
  CHECK_STATUS(async_group_wait(&g), ASYNC_OK);
  CHECK(atomic_load(&counted) == 110);

  sleeper = async_spawn_with(async_group_runtime(&g, 1), sleeps, NULL);
  CHECK_STATUS(sleeper.status, ASYNC_OK);
  async_fiber_handle_t a = async_spawn_with(async_group_runtime(&g, 0), awaits_sleeper, NULL);
  CHECK_STATUS(a.status, ASYNC_OK);
  CHECK_STATUS(async_await(a), ASYNC_OK); /* this thread blocks until a ends */
  CHECK_STATUS(awaited, ASYNC_OK);
  CHECK_STATUS(async_await(sleeper), ASYNC_OK);

  /* async_group_spawn_ex: the options are checked as async_spawn_ex's. */
  async_spawn_options_t opts = {0};
  opts.name = "counted";
  CHECK_STATUS(async_group_spawn_ex(&g, count, NULL, &opts).status, ASYNC_OK);
  CHECK_STATUS(async_group_spawn_ex(&g, count, NULL, NULL).status, ASYNC_OK);
  async_spawn_options_t bad = {0};
  bad.stack_size = 65536; /* a size without a stack */
  CHECK_STATUS(async_group_spawn_ex(&g, count, NULL, &bad).status, ASYNC_EINVAL);
  CHECK_STATUS(async_group_wait(&g), ASYNC_OK);
  CHECK(atomic_load(&counted) == 112);

  /* The main thread and a group fiber over unbuffered channels: the thread
   * blocks with the _blocking calls, the fiber parks. */
  CHECK_STATUS(async_channel_init(&to_fiber, async_group_runtime(&g, 1), 0, 0), ASYNC_OK);
  CHECK_STATUS(async_channel_init(&to_thread, async_group_runtime(&g, 1), 0, 0), ASYNC_OK);
  CHECK_STATUS(async_spawn_with(async_group_runtime(&g, 1), echo, NULL).status, ASYNC_OK);
  void *reply = NULL;
  CHECK_STATUS(async_channel_recv_blocking_until(&to_thread, &reply, async_now_ns() + 1000000), ASYNC_ETIMEDOUT);
  for (uintptr_t i = 0; i < 100; ++i) {
    CHECK_STATUS(async_channel_send_blocking(&to_fiber, (void *)i), ASYNC_OK);
    CHECK_STATUS(async_channel_recv_blocking(&to_thread, &reply), ASYNC_OK);
    CHECK((uintptr_t)reply == i + 1);
  }
  CHECK_STATUS(async_channel_close(&to_fiber), ASYNC_OK);
  CHECK_STATUS(async_group_wait(&g), ASYNC_OK);
  CHECK_STATUS(blocking_inside_fiber, ASYNC_ESTATE);
  CHECK_STATUS(async_channel_send_blocking(&to_fiber, NULL), ASYNC_ECLOSED);
  async_channel_shutdown(&to_fiber);
  async_channel_shutdown(&to_thread);
  CHECK_STATUS(async_channel_send_blocking(&to_fiber, NULL), ASYNC_EINVAL);

  CHECK_STATUS(async_group_spawn(&g, waits_for_its_group, &g).status, ASYNC_OK);
  CHECK_STATUS(async_group_wait(&g), ASYNC_OK);
  CHECK_STATUS(wait_from_inside, ASYNC_ESTATE);

  async_group_shutdown(&g);
  CHECK(g.impl == NULL);
  CHECK_STATUS(async_await(sleeper), ASYNC_EINVAL); /* its runtime is gone */
  puts("c_group_test: all checks passed");
  return 0;
}
