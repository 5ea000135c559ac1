/* SPDX-License-Identifier: MIT */
/* basic.c: what miniasync's "basic" example shows, against our libminiasync:
 * a custom future (print a string), a chain "copy with a mover, then print
 * what was copied", waited for with the runtime; then the same chain on the
 * threads mover with busy polling. Build: cc basic.c $(pkg-config --cflags
 * --libs libminiasync). */
#include <assert.h>
#include <libminiasync.h>
#include <stdio.h>
#include <string.h>

/* A future that prints its string. */
struct print_data {
  const char *text;
};
struct print_output {
  size_t printed;
};
FUTURE(print_future, struct print_data, struct print_output);

static enum future_state print_task(struct future_context *ctx, struct future_notifier *n)
{
  if (n) n->notifier_used = FUTURE_NOTIFIER_NONE; /* completes right away */
  struct print_data *d = future_context_get_data(ctx);
  struct print_output *o = future_context_get_output(ctx);
  printf("%s\n", d->text);
  o->printed = strlen(d->text);
  return FUTURE_STATE_COMPLETE;
}

static struct print_future async_print(const char *text)
{
  struct print_future f;
  f.data.text = text;
  f.output.printed = 0;
  FUTURE_INIT(&f, print_task);
  return f;
}

/* copy, then print the copy */
struct copy_print_data {
  FUTURE_CHAIN_ENTRY(struct vdm_operation_future, copy);
  FUTURE_CHAIN_ENTRY(struct print_future, print);
};
struct copy_print_output {
  size_t printed;
};
FUTURE(copy_print_future, struct copy_print_data, struct copy_print_output);

static int map_tag = 42;

static void copy_to_print(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  struct vdm_operation_output *copy = future_context_get_output(lhs);
  struct print_data *print = future_context_get_data(rhs);
  assert(copy->type == VDM_OPERATION_MEMCPY && arg == &map_tag);
  (void)arg;
  print->text = copy->result == VDM_SUCCESS ? copy->output.memcpy.dest : "copy failed";
}

static void print_to_output(struct future_context *lhs, struct future_context *rhs, void *arg)
{
  (void)arg;
  struct print_output *p = future_context_get_output(lhs);
  struct copy_print_output *o = future_context_get_output(rhs);
  o->printed = p->printed;
}

static struct copy_print_future copy_print(struct vdm *vdm, char *dst, char *src, size_t n)
{
  struct copy_print_future f;
  FUTURE_CHAIN_ENTRY_INIT(&f.data.copy, vdm_memcpy(vdm, dst, src, n, 0), copy_to_print, &map_tag);
  FUTURE_CHAIN_ENTRY_INIT(&f.data.print, async_print(NULL), print_to_output, NULL);
  FUTURE_CHAIN_INIT(&f);
  return f;
}

int main(int argc, char **argv)
{
  if (argc > 1) { /* no arguments; --help says what it does */
    int help = strcmp(argv[1], "--help") == 0;
    fprintf(help ? stdout : stderr,
            "usage: %s  (no arguments) miniasync futures: a custom one, a copy-then-print chain\n",
            argv[0]);
    return help ? 0 : 2;
  }
  struct runtime *r = runtime_new();
  struct data_mover_sync *dms = data_mover_sync_new();
  struct vdm *sync_vdm = data_mover_sync_get_vdm(dms);

  char hello[] = "hello from a vdm copy", buf1[64] = {0};
  struct vdm_operation_future copy = vdm_memcpy(sync_vdm, buf1, hello, sizeof hello, 0);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&copy));
  printf("copied: %s (result %d)\n", buf1, copy.output.result);

  struct print_future p = async_print("a custom future");
  runtime_wait(r, FUTURE_AS_RUNNABLE(&p));

  char chained[] = "copied, then printed by a chain", buf2[64] = {0};
  struct copy_print_future c = copy_print(sync_vdm, buf2, chained, sizeof chained);
  runtime_wait(r, FUTURE_AS_RUNNABLE(&c));
  printf("the chain printed %zu characters\n", c.output.printed);
  runtime_delete(r);

  /* The same chain on the threads mover, busy-polled (no notifier). */
  struct data_mover_threads *dmt = data_mover_threads_default();
  char threaded[] = "the same chain on the threads mover", buf3[64] = {0};
  c = copy_print(data_mover_threads_get_vdm(dmt), buf3, threaded, sizeof threaded);
  FUTURE_BUSY_POLL(&c);
  printf("the chain printed %zu characters\n", c.output.printed);

  data_mover_threads_delete(dmt);
  data_mover_sync_delete(dms);
  return 0;
}
