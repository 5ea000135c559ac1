/* SPDX-License-Identifier: MIT */
/* context_arm64.S: switch between fiber contexts (AAPCS64, ELF and Mach-O).
 * A parked context is just its stack pointer, which points at this frame
 * (offsets in context_offsets.h, checked from C++ in context_frame.h):
 *
 *   sp + 0     x19   entry function (fresh frame only, see the trampoline)
 *   sp + 8     x20   entry argument (fresh frame only)
 *   sp + 16    x21 x22 x23 x24 x25 x26 x27 x28
 *   sp + 80    x29   frame pointer (0 in a fresh frame)
 *   sp + 88    x30   where the context resumes (`ret` goes there)
 *   sp + 96    d8 d9 d10 d11 d12 d13 d14 d15
 *   sp + 160   fpcr  only used with ASYNC_FIBER_SAVE_X87 (the slot stays)
 *   sp + 168   pad   keeps the frame a multiple of 16 bytes
 *   sp + 176   the frames of the code that called the switch
 *
 * Only callee-saved state is kept: the functions are called through the C
 * ABI, so the compiler has already spilled every caller-saved register, and
 * of v8..v15 only the low 64 bits (d8..d15) are callee-saved. FPCR (rounding
 * mode, FZ, trap enables) is a callee-saved "global" register, hence its
 * slot; FPSR (the sticky flags) is not preserved by the ABI, so it is not
 * saved. x18 is the platform register (reserved on Apple): never touched.
 * sp is moved once per frame, by a multiple of 16, so it stays 16-aligned at
 * every memory access, and the CFI describes every instruction: after sp
 * changes stacks, the same layout describes the other context's frame, so an
 * unwinder (a profiler's signal, a debugger) always sees a valid frame. */
#include "asm_macros.h"
#if defined(__aarch64__)
#include "context_offsets.h"

/* Built with -mbranch-protection=bti: every function that may be reached by
 * an indirect call starts with a landing pad (`bti c`, spelled as its hint so
 * that old assemblers take it; a NOP on cores without BTI), and the object
 * says so in a GNU property note (below), or the linker drops the BTI marking
 * of the whole binary. */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define ASYNC_BTI_C hint #34
#else
#define ASYNC_BTI_C
#endif

/* CFI for a whole frame at sp: the CFA is the sp of the caller of the
 * switch, every callee-saved register lies at its slot below it. */
.macro ASYNC_CFI_FRAME
  .cfi_def_cfa sp, ASYNC_CTX_FRAME_SIZE
  .cfi_offset x19, (ASYNC_CTX_X19 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x20, (ASYNC_CTX_X19 + 8 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x21, (ASYNC_CTX_X19 + 16 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x22, (ASYNC_CTX_X19 + 24 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x23, (ASYNC_CTX_X19 + 32 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x24, (ASYNC_CTX_X19 + 40 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x25, (ASYNC_CTX_X19 + 48 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x26, (ASYNC_CTX_X19 + 56 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x27, (ASYNC_CTX_X19 + 64 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x28, (ASYNC_CTX_X19 + 72 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x29, (ASYNC_CTX_X29 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x30, (ASYNC_CTX_X30 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d8, (ASYNC_CTX_D8 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d9, (ASYNC_CTX_D8 + 8 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d10, (ASYNC_CTX_D8 + 16 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d11, (ASYNC_CTX_D8 + 24 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d12, (ASYNC_CTX_D8 + 32 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d13, (ASYNC_CTX_D8 + 40 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d14, (ASYNC_CTX_D8 + 48 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d15, (ASYNC_CTX_D8 + 56 - ASYNC_CTX_FRAME_SIZE)
.endm

/* Restore the frame that sp points at (described by ASYNC_CFI_FRAME), then
 * return into its context. x9 and x10 are scratch (caller-saved). */
.macro ASYNC_RESTORE_FRAME
#if ASYNC_FIBER_SAVE_X87
  /* Writing FPCR can stall the pipeline on some cores; skip it when the
   * value is unchanged, which is the common case. */
  ldr x9, [sp, #(ASYNC_CTX_FPCR)]
  mrs x10, fpcr
  cmp x9, x10
  b.eq 1f
  msr fpcr, x9
1:
#endif
  ldp d8, d9, [sp, #(ASYNC_CTX_D8)]
  ldp d10, d11, [sp, #(ASYNC_CTX_D8 + 16)]
  ldp d12, d13, [sp, #(ASYNC_CTX_D8 + 32)]
  ldp d14, d15, [sp, #(ASYNC_CTX_D8 + 48)]
  ldp x19, x20, [sp, #(ASYNC_CTX_X19)]
  ldp x21, x22, [sp, #(ASYNC_CTX_X19 + 16)]
  ldp x23, x24, [sp, #(ASYNC_CTX_X19 + 32)]
  ldp x25, x26, [sp, #(ASYNC_CTX_X19 + 48)]
  ldp x27, x28, [sp, #(ASYNC_CTX_X19 + 64)]
  ldp x29, x30, [sp, #(ASYNC_CTX_X29)]
  add sp, sp, #(ASYNC_CTX_FRAME_SIZE)
  /* From here every register holds its own value again. */
  .cfi_def_cfa_offset 0
  .cfi_restore x19
  .cfi_restore x20
  .cfi_restore x21
  .cfi_restore x22
  .cfi_restore x23
  .cfi_restore x24
  .cfi_restore x25
  .cfi_restore x26
  .cfi_restore x27
  .cfi_restore x28
  .cfi_restore x29
  .cfi_restore x30
  .cfi_restore d8
  .cfi_restore d9
  .cfi_restore d10
  .cfi_restore d11
  .cfi_restore d12
  .cfi_restore d13
  .cfi_restore d14
  .cfi_restore d15
  ret
.endm

/* void async_impl_ctx_swap(void **save_sp, void *load_sp)
 * x0: where to store this context; x1: the context to resume. A leaf that
 * leaves x29 alone until the restore, so x29 always addresses a valid frame
 * record (an Apple rule). */
ASYNC_ASM_FUNC(async_impl_ctx_swap)
  .cfi_startproc
  ASYNC_BTI_C
  sub sp, sp, #(ASYNC_CTX_FRAME_SIZE)
  .cfi_def_cfa_offset ASYNC_CTX_FRAME_SIZE
  stp x29, x30, [sp, #(ASYNC_CTX_X29)]
  .cfi_offset x29, (ASYNC_CTX_X29 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x30, (ASYNC_CTX_X30 - ASYNC_CTX_FRAME_SIZE)
  stp x19, x20, [sp, #(ASYNC_CTX_X19)]
  .cfi_offset x19, (ASYNC_CTX_X19 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x20, (ASYNC_CTX_X19 + 8 - ASYNC_CTX_FRAME_SIZE)
  stp x21, x22, [sp, #(ASYNC_CTX_X19 + 16)]
  .cfi_offset x21, (ASYNC_CTX_X19 + 16 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x22, (ASYNC_CTX_X19 + 24 - ASYNC_CTX_FRAME_SIZE)
  stp x23, x24, [sp, #(ASYNC_CTX_X19 + 32)]
  .cfi_offset x23, (ASYNC_CTX_X19 + 32 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x24, (ASYNC_CTX_X19 + 40 - ASYNC_CTX_FRAME_SIZE)
  stp x25, x26, [sp, #(ASYNC_CTX_X19 + 48)]
  .cfi_offset x25, (ASYNC_CTX_X19 + 48 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x26, (ASYNC_CTX_X19 + 56 - ASYNC_CTX_FRAME_SIZE)
  stp x27, x28, [sp, #(ASYNC_CTX_X19 + 64)]
  .cfi_offset x27, (ASYNC_CTX_X19 + 64 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset x28, (ASYNC_CTX_X19 + 72 - ASYNC_CTX_FRAME_SIZE)
  stp d8, d9, [sp, #(ASYNC_CTX_D8)]
  .cfi_offset d8, (ASYNC_CTX_D8 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d9, (ASYNC_CTX_D8 + 8 - ASYNC_CTX_FRAME_SIZE)
  stp d10, d11, [sp, #(ASYNC_CTX_D8 + 16)]
  .cfi_offset d10, (ASYNC_CTX_D8 + 16 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d11, (ASYNC_CTX_D8 + 24 - ASYNC_CTX_FRAME_SIZE)
  stp d12, d13, [sp, #(ASYNC_CTX_D8 + 32)]
  .cfi_offset d12, (ASYNC_CTX_D8 + 32 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d13, (ASYNC_CTX_D8 + 40 - ASYNC_CTX_FRAME_SIZE)
  stp d14, d15, [sp, #(ASYNC_CTX_D8 + 48)]
  .cfi_offset d14, (ASYNC_CTX_D8 + 48 - ASYNC_CTX_FRAME_SIZE)
  .cfi_offset d15, (ASYNC_CTX_D8 + 56 - ASYNC_CTX_FRAME_SIZE)
#if ASYNC_FIBER_SAVE_X87
  /* The pad is zeroed too, so a parked frame holds no stale data. */
  mrs x9, fpcr
  stp x9, xzr, [sp, #(ASYNC_CTX_FPCR)]
#endif
  mov x9, sp
  str x9, [x0]
  mov sp, x1
  ASYNC_RESTORE_FRAME
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_swap)

/* void async_impl_ctx_jump(void *load_sp): resume a context without saving
 * the current one (the caller's context is finished). Never returns. */
ASYNC_ASM_FUNC(async_impl_ctx_jump)
  .cfi_startproc
  ASYNC_BTI_C
  mov sp, x0
  ASYNC_CFI_FRAME
  ASYNC_RESTORE_FRAME
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_jump)

/* The first frame of every fiber; a fresh context "returns" here (with
 * `ret`, so no BTI landing pad is needed) with sp = stack top - 16
 * (16-aligned), x19 = entry function, x20 = argument, x29 = 0.
 * `.cfi_undefined x30` and x29 = 0 make this the outermost frame for
 * unwinders, debuggers and frame-record walkers (the frame record the entry
 * pushes links to 0). The entry never returns: it ends by switching away for
 * good; `brk #0` traps if it ever does. */
ASYNC_ASM_FUNC(async_impl_ctx_trampoline)
  .cfi_startproc
  .cfi_undefined x30
  mov x29, xzr
  /* Keep ASYNC_CTX_TOP_ZONE bytes free above the fiber's frames (see
   * context_offsets.h); a multiple of 16, so sp stays 16-aligned. */
  sub sp, sp, #(ASYNC_CTX_TOP_ZONE)
  .cfi_def_cfa_offset ASYNC_CTX_TOP_ZONE
  mov x0, x20
  blr x19
  brk #0
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_trampoline)

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT && !defined(__APPLE__)
/* GNU property note: NT_GNU_PROPERTY_TYPE_0 (5), owner "GNU", one property
 * GNU_PROPERTY_AARCH64_FEATURE_1_AND (0xc0000000) with the BTI bit (1).
 * Not PAC (bit 1): saved return addresses are stored unsigned. */
  .pushsection .note.gnu.property, "a"
  .p2align 3
  .word 4
  .word 16
  .word 5
  .asciz "GNU"
  .word 0xc0000000
  .word 4
  .word 1
  .word 0
  .popsection
#endif

#endif
/* Outside the #if: an object without the note, even an empty one, makes the
 * linker mark the whole program's stack executable. */
ASYNC_ASM_NOEXEC_STACK
