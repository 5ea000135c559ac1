// SPDX-License-Identifier: MIT
// cxx_headers_test.cpp: the miniasync headers compile as C++ (miniasync's
// chain macros did not: D14 in docs/miniasync.md), including the chain macros, and
// behave as in C.
#include <libminiasync.h>
#include <libminiasync/data_mover_threads.h>

#include <cstdio>
#include <cstring>

FUTURE(num_future, int, int);

static enum future_state num_task(struct future_context *ctx, struct future_notifier *n) {
  if (n) n->notifier_used = FUTURE_NOTIFIER_NONE;
  int *in = static_cast<int *>(future_context_get_data(ctx));
  *static_cast<int *>(future_context_get_output(ctx)) = *in * 2;
  return FUTURE_STATE_COMPLETE;
}

struct two_data {
  FUTURE_CHAIN_ENTRY(struct num_future, a);
  FUTURE_CHAIN_ENTRY_LAST(struct vdm_operation_future, copy);
  struct vdm *vdm;
};
struct two_output {
  int value;
};
FUTURE(two_future, struct two_data, struct two_output);

static void a_to_copy(struct future_context *lhs, struct future_context *rhs, void *) {
  auto *op = static_cast<vdm_operation_data *>(future_context_get_data(rhs));
  op->operation.data.memcpy.src = future_context_get_output(lhs);
}
static void copy_done(struct future_context *lhs, struct future_context *rhs, void *) {
  auto *op = static_cast<vdm_operation_data *>(future_context_get_data(lhs));
  static_cast<two_output *>(future_context_get_output(rhs))->value = *static_cast<int *>(op->operation.data.memcpy.dest);
}
static int copied;
static void init_copy(void *fut, struct future_context *chain, void *) {
  auto *d = static_cast<two_data *>(future_context_get_data(chain));
  struct vdm_operation_future f = vdm_memcpy(d->vdm, &copied, nullptr, sizeof copied, 0);
  std::memcpy(fut, &f, sizeof f);
}

int main() {
  struct data_mover_sync *dms = data_mover_sync_new();
  struct runtime *r = runtime_new();
  for (int lazy = 0; lazy < 2; ++lazy) {
    two_future f;
    f.data.vdm = data_mover_sync_get_vdm(dms);
    num_future n;
    n.data = 21;
    FUTURE_INIT(&n, num_task);
    FUTURE_CHAIN_ENTRY_INIT(&f.data.a, n, a_to_copy, nullptr);
    if (lazy)
      FUTURE_CHAIN_ENTRY_LAZY_INIT(&f.data.copy, init_copy, nullptr, copy_done, nullptr);
    else
      FUTURE_CHAIN_ENTRY_INIT(&f.data.copy, vdm_memcpy(f.data.vdm, &copied, nullptr, sizeof copied, 0), copy_done,
                              nullptr);
    FUTURE_CHAIN_INIT(&f);
    copied = 0;
    runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
    if (f.output.value != 42) {
      std::fprintf(stderr, "chain gave %d\n", f.output.value);
      return 1;
    }
  }
  runtime_delete(r);
  data_mover_sync_delete(dms);
  std::printf("C++ chain ok\n");
  return 0;
}
