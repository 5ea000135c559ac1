/* SPDX-License-Identifier: MIT */
#include "mini_test.h" /* first: it sets _POSIX_C_SOURCE */
/* future_test.c: futures and chains (libminiasync/future.h):
 * polling, states, notifier pass-through, maps, lazy init, nested chains,
 * FUTURE_INIT_COMPLETE, skipping and re-running entries. */
#include <string.h>

#include "test_futures.h"

static void polling_runs_the_task_once_per_poll(void)
{
  struct countdown_future f = countdown(10, 1, 0, NULL);
  CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_IDLE);
  CHECK(FUTURE_DATA(&f) == &f.data);
  CHECK(FUTURE_OUTPUT(&f) == &f.output);
  /* A fake, never dereferenced notifier pointer is passed through as is. */
  struct future_notifier *fake = (struct future_notifier *)(uintptr_t)0x8;
  for (int i = 1; i <= 10; ++i) {
    enum future_state s = future_poll(FUTURE_AS_RUNNABLE(&f), fake);
    CHECK_EQ(f.data.polls_seen, i);
    CHECK(f.data.last_notifier == fake);
    CHECK_EQ(s, i < 10 ? FUTURE_STATE_RUNNING : FUTURE_STATE_COMPLETE);
  }
  /* Polling a complete future does not run the task. */
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), fake), FUTURE_STATE_COMPLETE);
  CHECK_EQ(f.data.polls_seen, 10);
  CHECK_EQ(f.output.polls, 10);
  CHECK_EQ(future_has_property(FUTURE_AS_RUNNABLE(&f), FUTURE_PROPERTY_ASYNC), 0);
}

static void init_complete_future_is_done_and_has_no_properties(void)
{
  struct countdown_future f;
  FUTURE_INIT_COMPLETE(&f);
  CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_COMPLETE);
  CHECK(f.base.task == NULL && f.base.has_property == NULL);
  CHECK_EQ(f.base.context.data_size, sizeof(f.data));
  CHECK_EQ(f.base.context.output_size, sizeof(f.output));
  FUTURE_BUSY_POLL(&f); /* returns at once; the NULL task is never called */
  /* D4: a NULL property function means "no properties". */
  CHECK_EQ(future_has_property(FUTURE_AS_RUNNABLE(&f), FUTURE_PROPERTY_ASYNC), 0);
}

/* A two-entry chain: count up to 10, map the count into a countdown, map
 * the countdown's poll count into the chain's output. */
struct twostep_data {
  FUTURE_CHAIN_ENTRY(struct countdown_future, up);
  FUTURE_CHAIN_ENTRY(struct countdown_future, down);
};
struct twostep_output {
  int up_polls;
  int down_polls;
};
FUTURE(twostep_future, struct twostep_data, struct twostep_output);

static int map_arg_seen;

static void up_to_down(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  struct countdown_output *up = (struct countdown_output *)future_context_get_output(lhs);
  struct countdown_data *down = (struct countdown_data *)future_context_get_data(rhs);
  down->left = up->polls / 2; /* 5 */
  map_arg_seen += *(int *)arg;
}

static void down_to_chain(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  struct countdown_output *down = (struct countdown_output *)future_context_get_output(lhs);
  struct twostep_output *out = (struct twostep_output *)future_context_get_output(rhs);
  out->down_polls = down->polls;
  out->up_polls = 10;
  map_arg_seen += *(int *)arg;
}

static void chain_maps_run_and_next_entry_is_polled_in_the_same_call(void)
{
  static int arg1 = 1, arg2 = 100;
  struct twostep_future chain;
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.up, countdown(10, 1, 0, NULL), up_to_down, &arg1);
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.down, countdown(999, 2, 0, NULL), down_to_chain, &arg2);
  CHECK(FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&chain.data.up));
  CHECK(FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&chain.data.down));
  FUTURE_CHAIN_INIT(&chain);
  map_arg_seen = 0;
  int polls = 0;
  while (future_poll(FUTURE_AS_RUNNABLE(&chain), NULL) != FUTURE_STATE_COMPLETE) ++polls;
  ++polls;
  /* up completes on poll 10, down is polled in that call too (1 of 5). */
  CHECK_EQ(polls, 14);
  CHECK_EQ(map_arg_seen, 101);
  CHECK_EQ(chain.output.down_polls, 5);
  CHECK_EQ(chain.data.up.fut.data.polls_seen, 10);
}

/* Lazy chain: the first entry is built from fields after the entries, the
 * second (a nested chain, declared LAST) from the first entry's output. */
struct inner_data {
  FUTURE_CHAIN_ENTRY(struct countdown_future, a);
  FUTURE_CHAIN_ENTRY(struct countdown_future, b);
};
struct inner_output {
  int total;
};
FUTURE(inner_future, struct inner_data, struct inner_output);

struct lazy_data {
  FUTURE_CHAIN_ENTRY(struct countdown_future, first);
  FUTURE_CHAIN_ENTRY_LAST(struct inner_future, second);
  int first_polls; /* trailing field, read by the first init */
};
struct lazy_output {
  int total;
};
FUTURE(lazy_future, struct lazy_data, struct lazy_output);

static void inner_a_to_b(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct countdown_output *a = (struct countdown_output *)future_context_get_output(lhs);
  struct countdown_data *b = (struct countdown_data *)future_context_get_data(rhs);
  b->left = a->polls * 5; /* 25 */
}

static void inner_b_to_chain(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct countdown_output *b = (struct countdown_output *)future_context_get_output(lhs);
  ((struct inner_output *)future_context_get_output(rhs))->total = b->polls;
}

static void init_first(void *future, struct future_context *chain_ctx, void *arg)
{
  (void)arg;
  struct lazy_data *d = (struct lazy_data *)future_context_get_data(chain_ctx);
  struct countdown_future f = countdown(d->first_polls, 1, 0, NULL);
  memcpy(future, &f, sizeof f);
}

static void init_second(void *future, struct future_context *chain_ctx, void *arg)
{
  (void)arg;
  struct lazy_data *d = (struct lazy_data *)future_context_get_data(chain_ctx);
  struct inner_future inner;
  FUTURE_CHAIN_ENTRY_INIT(&inner.data.a, countdown(d->first.fut.output.polls, 2, 0, NULL),
                          inner_a_to_b, NULL);
  FUTURE_CHAIN_ENTRY_INIT(&inner.data.b, countdown(1000, 3, 0, NULL), inner_b_to_chain, NULL);
  FUTURE_CHAIN_INIT(&inner);
  memcpy(future, &inner, sizeof inner);
}

static void second_to_chain(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct inner_output *in = (struct inner_output *)future_context_get_output(lhs);
  ((struct lazy_output *)future_context_get_output(rhs))->total = in->total;
}

static void lazy_entries_are_built_when_reached(void)
{
  struct lazy_future chain;
  chain.data.first_polls = 5;
  FUTURE_CHAIN_ENTRY_LAZY_INIT(&chain.data.first, init_first, NULL, NULL, NULL);
  FUTURE_CHAIN_ENTRY_LAZY_INIT(&chain.data.second, init_second, NULL, second_to_chain, NULL);
  FUTURE_CHAIN_INIT(&chain);
  CHECK(!FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&chain.data.first));
  CHECK(!FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&chain.data.second));
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&chain), NULL), FUTURE_STATE_RUNNING);
  CHECK(FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&chain.data.first));
  FUTURE_BUSY_POLL(&chain);
  CHECK(FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&chain.data.second));
  CHECK_EQ(chain.data.second.fut.data.a.fut.data.polls_seen, 5);
  CHECK_EQ(chain.data.second.fut.data.b.fut.data.polls_seen, 25);
  CHECK_EQ(chain.output.total, 25);
  /* Every entry processed: the chain has no property left to report. */
  CHECK_EQ(future_chain_has_property(FUTURE_AS_RUNNABLE(&chain), FUTURE_PROPERTY_ASYNC), -1);
}

/* A map may skip the next entry by completing it, and may re-run an
 * earlier one by clearing its PROCESSED bit. */
struct three_data {
  FUTURE_CHAIN_ENTRY(struct countdown_future, a);
  FUTURE_CHAIN_ENTRY(struct countdown_future, b);
  FUTURE_CHAIN_ENTRY(struct countdown_future, c);
};
struct three_output {
  int unused;
};
FUTURE(three_future, struct three_data, struct three_output);

static void skip_next(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)lhs;
  (void)arg;
  rhs->state = FUTURE_STATE_COMPLETE;
}

static int reruns;

static void rerun_a_once(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)lhs;
  (void)rhs;
  struct three_data *d = (struct three_data *)arg;
  if (reruns++ == 0) {
    struct future_chain_entry *a = (struct future_chain_entry *)&d->a;
    a->flags &= ~FUTURE_CHAIN_FLAG_ENTRY_PROCESSED;
    d->a.fut.data.left = 2;
    FUTURE_STATE(&d->a.fut) = FUTURE_STATE_RUNNING;
  }
}

static void a_map_skips_the_next_entry_by_completing_it(void)
{
  struct three_future chain;
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.a, countdown(1, 1, 0, NULL), skip_next, NULL);
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.b, countdown(100, 2, 0, NULL), NULL, NULL);
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.c, countdown(1, 3, 0, NULL), NULL, NULL);
  FUTURE_CHAIN_INIT(&chain);
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&chain), NULL), FUTURE_STATE_COMPLETE);
  CHECK_EQ(chain.data.b.fut.data.polls_seen, 0); /* skipped: never ran */
  CHECK_EQ(chain.data.c.fut.data.polls_seen, 1);
}

static void a_map_reruns_an_earlier_entry(void)
{
  struct three_future chain;
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.a, countdown(1, 1, 0, NULL), NULL, NULL);
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.b, countdown(1, 2, 0, NULL), rerun_a_once, &chain.data);
  FUTURE_CHAIN_ENTRY_INIT(&chain.data.c, countdown(3, 3, 0, NULL), NULL, NULL);
  FUTURE_CHAIN_INIT(&chain);
  reruns = 0;
  /* Call 1: a, b (clears a's PROCESSED), c 1/3. Call 2: a 2/3 (the walk
   * restarts from the first entry). Call 3: a done, c 2/3. Call 4: c done. */
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&chain), NULL), FUTURE_STATE_RUNNING);
  CHECK_EQ(chain.data.c.fut.data.polls_seen, 1);
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&chain), NULL), FUTURE_STATE_RUNNING);
  CHECK_EQ(chain.data.c.fut.data.polls_seen, 1);
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&chain), NULL), FUTURE_STATE_RUNNING);
  CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&chain), NULL), FUTURE_STATE_COMPLETE);
  CHECK_EQ(chain.data.a.fut.data.polls_seen, 3);
  CHECK_EQ(chain.data.b.fut.data.polls_seen, 1);
  CHECK_EQ(chain.data.c.fut.data.polls_seen, 3);
  CHECK_EQ(reruns, 1);
}

int main(void)
{
  RUN(polling_runs_the_task_once_per_poll);
  RUN(init_complete_future_is_done_and_has_no_properties);
  RUN(chain_maps_run_and_next_entry_is_polled_in_the_same_call);
  RUN(lazy_entries_are_built_when_reached);
  RUN(a_map_skips_the_next_entry_by_completing_it);
  RUN(a_map_reruns_an_earlier_entry);
  return 0;
}
