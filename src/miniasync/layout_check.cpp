// SPDX-License-Identifier: MIT
// layout_check.cpp: the miniasync ABI, checked when the library is built.
// Inline functions in users' binaries (built against miniasync's headers or
// ours) share these layouts with the library. tests/miniasync/layout_test.c
// checks the same from C.
#include <cstddef>

#include "libminiasync.h"

#define MINI_CHECK(type, size) static_assert(sizeof(type) == (size), #type " size")
#define MINI_OFF(type, field, off) static_assert(offsetof(type, field) == (off), #type "." #field)

MINI_CHECK(enum future_state, 4);
MINI_CHECK(struct future_context, 24);
MINI_OFF(struct future_context, data_size, 0);
MINI_OFF(struct future_context, output_size, 8);
MINI_OFF(struct future_context, state, 16);
MINI_OFF(struct future_context, padding, 20);
MINI_CHECK(struct future_waker, 16);
MINI_OFF(struct future_waker, data, 0);
MINI_OFF(struct future_waker, wake, 8);
MINI_CHECK(struct future_poller, 8);
MINI_CHECK(struct future_notifier, 32);
MINI_OFF(struct future_notifier, waker, 0);
MINI_OFF(struct future_notifier, poller, 16);
MINI_OFF(struct future_notifier, notifier_used, 24);
MINI_OFF(struct future_notifier, padding, 28);
MINI_CHECK(struct future, 40);
MINI_OFF(struct future, task, 0);
MINI_OFF(struct future, has_property, 8);
MINI_OFF(struct future, context, 16);
MINI_CHECK(struct future_chain_entry, 80);
MINI_OFF(struct future_chain_entry, map, 0);
MINI_OFF(struct future_chain_entry, map_arg, 8);
MINI_OFF(struct future_chain_entry, init, 16);
MINI_OFF(struct future_chain_entry, init_arg, 24);
MINI_OFF(struct future_chain_entry, flags, 32);
MINI_OFF(struct future_chain_entry, future, 40);

MINI_CHECK(struct vdm_operation_data_memcpy, 32);
MINI_OFF(struct vdm_operation_data_memcpy, flags, 24);
MINI_CHECK(struct vdm_operation_data_memmove, 32);
MINI_CHECK(struct vdm_operation_data_memset, 32);
MINI_OFF(struct vdm_operation_data_memset, c, 8);
MINI_OFF(struct vdm_operation_data_memset, n, 16);
MINI_CHECK(struct vdm_operation_data_flush, 24);
MINI_OFF(struct vdm_operation_data_flush, flags, 16);
MINI_CHECK(struct vdm_operation, 48);
MINI_OFF(struct vdm_operation, type, 40);
MINI_OFF(struct vdm_operation, padding, 44);
MINI_CHECK(struct vdm_operation_data, 64);
MINI_OFF(struct vdm_operation_data, vdm, 8);
MINI_OFF(struct vdm_operation_data, operation, 16);
MINI_CHECK(struct vdm_operation_output, 16);
MINI_OFF(struct vdm_operation_output, result, 4);
MINI_OFF(struct vdm_operation_output, output, 8);
MINI_CHECK(struct vdm_operation_future, 120);
MINI_OFF(struct vdm_operation_future, data, 40);
MINI_OFF(struct vdm_operation_future, output, 104);
MINI_CHECK(struct vdm, 48);
MINI_OFF(struct vdm, op_new, 0);
MINI_OFF(struct vdm, op_delete, 8);
MINI_OFF(struct vdm, op_start, 16);
MINI_OFF(struct vdm, op_check, 24);
MINI_OFF(struct vdm, capabilities, 32);
MINI_OFF(struct vdm, has_property, 40);

static_assert(FUTURE_STATE_COMPLETE == 1 && FUTURE_STATE_RUNNING == 2, "future_state values");
static_assert(VDM_OPERATION_DATA_MAX_SIZE == 40, "operation union");
