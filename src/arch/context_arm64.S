/* SPDX-License-Identifier: MIT */
/* context_arm64.S: switch between fiber contexts (AAPCS64). */
#include "asm_macros.h"
#if defined(__aarch64__)
#error "arm64 context switch: not written yet"
#endif
ASYNC_ASM_NOEXEC_STACK
