/* SPDX-License-Identifier: MIT */
/* asm_macros.h: what differs between ELF and Mach-O assemblers, so that one
 * .S file per architecture serves Linux and macOS. Comments are C style only:
 * `#` and `//` mean different things to different assemblers, and on Apple
 * arm64 `;` starts a comment, so every macro here is one statement a line. */
#ifndef ASYNC_ASM_MACROS_H
#define ASYNC_ASM_MACROS_H

/* With -fcf-protection, every object must carry the x86 CET property note,
 * or the linker drops the mark from the whole library: <cet.h> emits it (and
 * defines _CET_ENDBR). Included here so that even an object whose code is for
 * another architecture (and so empty) carries it. */
#if defined(__x86_64__) && defined(__CET__) && !defined(__APPLE__)
#include <cet.h>
#endif

/* A macro expands to one line, so its statements need a separator: `;` for
 * GNU as and Apple x86_64, but `%%` on Apple arm64, where `;` is a comment. */
#if defined(__APPLE__) && defined(__aarch64__)
#define ASYNC_ASM_SEP %%
#else
#define ASYNC_ASM_SEP ;
#endif

#if defined(__APPLE__)
#define ASYNC_SYM(name) _##name
#define ASYNC_ASM_FUNC(name)                   \
  .text ASYNC_ASM_SEP                          \
  .globl ASYNC_SYM(name) ASYNC_ASM_SEP         \
  .private_extern ASYNC_SYM(name) ASYNC_ASM_SEP \
  .p2align 4 ASYNC_ASM_SEP                     \
  ASYNC_SYM(name):
#define ASYNC_ASM_END(name)
#define ASYNC_ASM_NOEXEC_STACK
#else
#define ASYNC_SYM(name) name
#define ASYNC_ASM_FUNC(name)           \
  .text ASYNC_ASM_SEP                  \
  .globl name ASYNC_ASM_SEP            \
  .hidden name ASYNC_ASM_SEP           \
  .type name, %function ASYNC_ASM_SEP  \
  .p2align 4 ASYNC_ASM_SEP             \
  name:
#define ASYNC_ASM_END(name) .size name, .-name
/* Without this note the linker marks the whole program's stack executable. */
#define ASYNC_ASM_NOEXEC_STACK .section .note.GNU-stack, "", %progbits
#endif

#endif
