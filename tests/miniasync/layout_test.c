/* SPDX-License-Identifier: MIT */
#include "mini_test.h" /* first: it sets _POSIX_C_SOURCE */
/* layout_test.c: every struct, enum value and flag of miniasync 0.2.1's
 * future.h and vdm.h whose size or value is ABI, checked from C at compile time (LP64). */
#include <libminiasync.h>
#include <stddef.h>


#define SIZE(t, n) _Static_assert(sizeof(t) == (n), #t)
#define OFF(t, f, n) _Static_assert(offsetof(t, f) == (n), #t "." #f)

SIZE(struct future_context, 24);
OFF(struct future_context, output_size, 8);
OFF(struct future_context, state, 16);
OFF(struct future_context, padding, 20);
SIZE(struct future_waker, 16);
OFF(struct future_waker, wake, 8);
SIZE(struct future_poller, 8);
SIZE(struct future_notifier, 32);
OFF(struct future_notifier, poller, 16);
OFF(struct future_notifier, notifier_used, 24);
SIZE(struct future, 40);
OFF(struct future, has_property, 8);
OFF(struct future, context, 16);
SIZE(struct future_chain_entry, 80);
OFF(struct future_chain_entry, init, 16);
OFF(struct future_chain_entry, flags, 32);
OFF(struct future_chain_entry, future, 40);
SIZE(struct vdm_operation_data_memcpy, 32);
SIZE(struct vdm_operation_data_memmove, 32);
SIZE(struct vdm_operation_data_memset, 32);
OFF(struct vdm_operation_data_memset, n, 16);
SIZE(struct vdm_operation_data_flush, 24);
SIZE(struct vdm_operation, 48);
OFF(struct vdm_operation, type, 40);
SIZE(struct vdm_operation_data, 64);
OFF(struct vdm_operation_data, operation, 16);
SIZE(struct vdm_operation_output, 16);
OFF(struct vdm_operation_output, output, 8);
SIZE(struct vdm_operation_future, 120);
OFF(struct vdm_operation_future, data, 40);
OFF(struct vdm_operation_future, output, 104);
SIZE(struct vdm, 48);
OFF(struct vdm, op_delete, 8);
OFF(struct vdm, op_start, 16);
OFF(struct vdm, op_check, 24);
OFF(struct vdm, capabilities, 32);
OFF(struct vdm, has_property, 40);

/* A chain entry declared with the macro overlays struct future_chain_entry. */
FUTURE(tiny_future, uint64_t, uint64_t);
struct chain_data {
  FUTURE_CHAIN_ENTRY(struct tiny_future, a);
  FUTURE_CHAIN_ENTRY_LAST(struct tiny_future, b);
};
OFF(struct chain_data, a.flags, 32);
OFF(struct chain_data, a.fut, 40);
SIZE(struct chain_data, 2 * (80 + 16));

int main(void)
{
  CHECK_EQ(FUTURE_STATE_IDLE, 0);
  CHECK_EQ(FUTURE_STATE_COMPLETE, 1);
  CHECK_EQ(FUTURE_STATE_RUNNING, 2);
  CHECK_EQ(FUTURE_NOTIFIER_NONE, 0);
  CHECK_EQ(FUTURE_NOTIFIER_WAKER, 1);
  CHECK_EQ(FUTURE_NOTIFIER_POLLER, 2);
  CHECK_EQ(FUTURE_PROPERTY_ASYNC, 0);
  CHECK_EQ(FUTURE_CHAIN_ENTRY_REGULAR, 1);
  CHECK_EQ(FUTURE_CHAIN_ENTRY_LAST, 2);
  CHECK_EQ(sizeof(_future_entry_type_regular), 1);
  CHECK_EQ(sizeof(_future_entry_type_last), 2);
  CHECK_EQ(FUTURE_CHAIN_FLAG_ENTRY_LAST, 1);
  CHECK_EQ(FUTURE_CHAIN_FLAG_ENTRY_PROCESSED, 2);
  CHECK_EQ(FUTURE_CHAIN_VALID_FLAGS, 3);
  CHECK_EQ(VDM_OPERATION_MEMCPY, 0);
  CHECK_EQ(VDM_OPERATION_MEMMOVE, 1);
  CHECK_EQ(VDM_OPERATION_MEMSET, 2);
  CHECK_EQ(VDM_OPERATION_FLUSH, 3);
  CHECK_EQ(VDM_SUCCESS, 0);
  CHECK_EQ(VDM_ERROR_OUT_OF_MEMORY, 1);
  CHECK_EQ(VDM_ERROR_JOB_CORRUPTED, 2);
  CHECK_EQ(VDM_F_MEM_DURABLE, 1);
  CHECK_EQ(VDM_F_NO_CACHE_HINT, 2);
  CHECK_EQ(VDM_F_VALID_FLAGS, 3);
  CHECK_EQ(VDM_OPERATION_DATA_MAX_SIZE, 40);
  printf("layout ok\n");
  return 0;
}
