/* SPDX-License-Identifier: MIT */
/* kvstore.c: what miniasync's "hashmap" example shows, in a smaller store:
 * put and get are chained futures driven by runtime_wait_multiple on the
 * threads mover. Shown: a lookup future feeding a vdm copy whose dest/src
 * are patched by a map before the copy starts; a copy entry built lazily
 * (FUTURE_CHAIN_ENTRY_LAZY_INIT) from fields after the entries of a
 * FUTURE_CHAIN_ENTRY_LAST chain; a map that skips the copy (forcing its
 * state COMPLETE) when the stored value is already equal. */
#include <libminiasync.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 16
#define VALUE_SIZE 32

struct slot {
  int key; /* 0: free */
  char value[VALUE_SIZE];
};
static struct slot table[SLOTS];

/* lookup: find the key's slot (or a free one for a put) */
struct lookup_data {
  int key;
  int for_put;
  const char *value; /* for a put: what will be stored (read by its map) */
};
struct lookup_output {
  struct slot *slot; /* NULL: not found / table full */
};
FUTURE(lookup_future, struct lookup_data, struct lookup_output);

static enum future_state lookup_task(struct future_context *ctx, struct future_notifier *n)
{
  if (n) n->notifier_used = FUTURE_NOTIFIER_NONE;
  struct lookup_data *d = future_context_get_data(ctx);
  struct lookup_output *o = future_context_get_output(ctx);
  o->slot = NULL;
  for (int i = 0; i < SLOTS; ++i) {
    struct slot *s = &table[(d->key * 7 + i) % SLOTS];
    if (s->key == d->key || (d->for_put && s->key == 0)) {
      o->slot = s;
      break;
    }
  }
  return FUTURE_STATE_COMPLETE;
}

static struct lookup_future lookup(int key, int for_put, const char *value)
{
  struct lookup_future f;
  f.data.key = key;
  f.data.for_put = for_put;
  f.data.value = value;
  FUTURE_INIT(&f, lookup_task);
  return f;
}

/* put = lookup -> copy (lazy) ; trailing fields hold the request */
struct put_data {
  FUTURE_CHAIN_ENTRY(struct lookup_future, lookup);
  FUTURE_CHAIN_ENTRY_LAST(struct vdm_operation_future, copy);
  struct vdm *vdm;
  int key;
  const char *value;
};
struct put_output {
  const char *what;
};
FUTURE(put_future, struct put_data, struct put_output);

static void put_init_copy(void *future, struct future_context *chain, void *arg)
{
  (void)arg;
  struct put_data *d = future_context_get_data(chain);
  struct vdm_operation_future f = vdm_memcpy(d->vdm, NULL, (void *)d->value, VALUE_SIZE, 0);
  memcpy(future, &f, sizeof f);
}

static void put_lookup_to_copy(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct lookup_data *d = future_context_get_data(lhs);
  struct slot *s = ((struct lookup_output *)future_context_get_output(lhs))->slot;
  struct vdm_operation_data *op = future_context_get_data(rhs);
  if (s == NULL || (s->key == d->key && memcmp(s->value, d->value, VALUE_SIZE) == 0)) {
    /* Nothing to copy: skip the entry. A skipped vdm future never runs
     * (and, with our movers, its record is reclaimed when the mover goes). */
    rhs->state = FUTURE_STATE_COMPLETE;
    ((struct vdm_operation_output *)future_context_get_output(rhs))->result =
        s == NULL ? VDM_ERROR_OUT_OF_MEMORY : VDM_SUCCESS;
    op->operation.data.memcpy.dest = NULL;
    return;
  }
  s->key = d->key;
  op->operation.data.memcpy.dest = s->value; /* patched before the copy starts */
}

static void put_copy_to_output(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct vdm_operation_data *op = future_context_get_data(lhs);
  struct vdm_operation_output *out = future_context_get_output(lhs);
  struct put_output *po = future_context_get_output(rhs);
  po->what = out->result != VDM_SUCCESS ? "table full" : op->operation.data.memcpy.dest ? "stored" : "unchanged";
}

static struct put_future put(struct vdm *vdm, int key, const char *value)
{
  struct put_future f;
  f.data.vdm = vdm;
  f.data.key = key;
  f.data.value = value;
  FUTURE_CHAIN_ENTRY_INIT(&f.data.lookup, lookup(key, 1, value), put_lookup_to_copy, NULL);
  FUTURE_CHAIN_ENTRY_LAZY_INIT(&f.data.copy, put_init_copy, NULL, put_copy_to_output, NULL);
  FUTURE_CHAIN_INIT(&f);
  return f;
}

/* get = lookup -> copy out */
struct get_data {
  FUTURE_CHAIN_ENTRY(struct lookup_future, lookup);
  FUTURE_CHAIN_ENTRY(struct vdm_operation_future, copy);
};
struct get_output {
  int found;
};
FUTURE(get_future, struct get_data, struct get_output);

static void get_lookup_to_copy(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct slot *s = ((struct lookup_output *)future_context_get_output(lhs))->slot;
  struct vdm_operation_data *op = future_context_get_data(rhs);
  if (s == NULL) {
    rhs->state = FUTURE_STATE_COMPLETE; /* skip */
    ((struct vdm_operation_output *)future_context_get_output(rhs))->result = VDM_ERROR_JOB_CORRUPTED;
    return;
  }
  op->operation.data.memcpy.src = s->value;
}

static void get_copy_to_output(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct vdm_operation_output *out = future_context_get_output(lhs);
  ((struct get_output *)future_context_get_output(rhs))->found = out->result == VDM_SUCCESS;
}

static struct get_future get(struct vdm *vdm, int key, char *buf)
{
  struct get_future f;
  FUTURE_CHAIN_ENTRY_INIT(&f.data.lookup, lookup(key, 0, NULL), get_lookup_to_copy, NULL);
  FUTURE_CHAIN_ENTRY_INIT(&f.data.copy, vdm_memcpy(vdm, buf, NULL, VALUE_SIZE, 0), get_copy_to_output, NULL);
  FUTURE_CHAIN_INIT(&f);
  return f;
}

int main(int argc, char **argv)
{
  if (argc > 1) { /* no arguments; --help says what it does */
    int help = strcmp(argv[1], "--help") == 0;
    fprintf(help ? stdout : stderr,
            "usage: %s  (no arguments) a key-value store on chained miniasync futures\n",
            argv[0]);
    return help ? 0 : 2;
  }
  struct runtime *r = runtime_new();
  struct data_mover_threads *dmt = data_mover_threads_default();
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  static char values[3][VALUE_SIZE] = {"one", "two", "three"};

  struct put_future puts[4] = {put(vdm, 1, values[0]), put(vdm, 2, values[1]), put(vdm, 3, values[2]),
                               put(vdm, 18, values[0])};
  struct future *futs[4];
  for (int i = 0; i < 4; ++i) futs[i] = FUTURE_AS_RUNNABLE(&puts[i]);
  runtime_wait_multiple(r, futs, 4);
  for (int i = 0; i < 4; ++i) printf("put %d: %s\n", puts[i].data.key, puts[i].output.what);

  struct put_future again = put(vdm, 2, values[1]);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&again));
  printf("put 2 again: %s\n", again.output.what);

  char out[3][VALUE_SIZE];
  int keys[3] = {3, 18, 7};
  struct get_future gets[3];
  for (int i = 0; i < 3; ++i) {
    gets[i] = get(vdm, keys[i], out[i]);
    futs[i] = FUTURE_AS_RUNNABLE(&gets[i]);
  }
  runtime_wait_multiple(r, futs, 3);
  for (int i = 0; i < 3; ++i)
    printf("get %d: %s\n", keys[i], gets[i].output.found ? out[i] : "(not found)");

  data_mover_threads_delete(dmt); /* also drops the skipped futures' records */
  runtime_delete(r);
  return 0;
}
