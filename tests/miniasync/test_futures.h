/* SPDX-License-Identifier: MIT */
/* test_futures.h: small futures the miniasync tests share.
 * countdown: completes on its `polls`-th poll; reports FUTURE_NOTIFIER_NONE;
 * records each completion's id in a shared log; ASYNC or not as asked. */
#ifndef MINI_TEST_FUTURES_H
#define MINI_TEST_FUTURES_H

#include <libminiasync.h>

struct completion_log {
  int ids[64];
  int n;
};

struct countdown_data {
  int left;
  int id;
  int polls_seen;
  struct completion_log *log;
  struct future_notifier *last_notifier;
};
struct countdown_output {
  int id;
  int polls;
};
FUTURE(countdown_future, struct countdown_data, struct countdown_output);

static inline enum future_state countdown_task(struct future_context *ctx, struct future_notifier *n)
{
  struct countdown_data *d = (struct countdown_data *)future_context_get_data(ctx);
  struct countdown_output *o = (struct countdown_output *)future_context_get_output(ctx);
  d->polls_seen++;
  d->last_notifier = n;
  if (n != NULL && (uintptr_t)n > 4096) n->notifier_used = FUTURE_NOTIFIER_NONE;
  if (--d->left > 0) return FUTURE_STATE_RUNNING;
  o->id = d->id;
  o->polls = d->polls_seen;
  if (d->log) d->log->ids[d->log->n++] = d->id;
  return FUTURE_STATE_COMPLETE;
}

static inline int countdown_async(void *fut, enum future_property p)
{
  (void)fut;
  return p == FUTURE_PROPERTY_ASYNC;
}

static inline struct countdown_future countdown(int polls, int id, int async,
                                                struct completion_log *log)
{
  struct countdown_future f;
  f.data.left = polls;
  f.data.id = id;
  f.data.polls_seen = 0;
  f.data.log = log;
  f.data.last_notifier = NULL;
  f.output.id = 0;
  f.output.polls = 0;
  if (async)
    FUTURE_INIT_EXT(&f, countdown_task, countdown_async);
  else
    FUTURE_INIT(&f, countdown_task);
  return f;
}

#endif
