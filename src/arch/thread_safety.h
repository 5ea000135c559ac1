// SPDX-License-Identifier: MIT
// thread_safety.h: clang's thread-safety attributes, for -Wthread-safety.
// A lock type is a capability, a field says which lock guards it, and a
// function says which locks it takes, drops or needs; clang then checks at
// compile time that every access to a guarded field holds its lock (the
// library's clang builds make a violation an error: cmake/AsyncLibrary.cmake).
// Other compilers see nothing. docs/design.md, "Locks the compiler checks",
// says what is annotated and what is left out on purpose.
#pragma once

#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(capability)
#define ASYNC_TS_ATTR(x) __attribute__((x))
#endif
#endif
#ifndef ASYNC_TS_ATTR
#define ASYNC_TS_ATTR(x)
#endif

// On a lock type: it is a capability; `name` appears in the warnings.
#define ASYNC_TS_CAPABILITY(name) ASYNC_TS_ATTR(capability(name))
// On an RAII guard type: it holds a capability for its lifetime.
#define ASYNC_TS_SCOPED_CAPABILITY ASYNC_TS_ATTR(scoped_lockable)
// On a field: read and written only while holding `lock`.
#define ASYNC_TS_GUARDED_BY(lock) ASYNC_TS_ATTR(guarded_by(lock))
// On a pointer field: what it points to is touched only while holding `lock`.
#define ASYNC_TS_PT_GUARDED_BY(lock) ASYNC_TS_ATTR(pt_guarded_by(lock))
// On functions: takes, drops, tries to take (true: taken), or needs held.
#define ASYNC_TS_ACQUIRE(...) ASYNC_TS_ATTR(acquire_capability(__VA_ARGS__))
#define ASYNC_TS_RELEASE(...) ASYNC_TS_ATTR(release_capability(__VA_ARGS__))
#define ASYNC_TS_TRY_ACQUIRE(...) ASYNC_TS_ATTR(try_acquire_capability(__VA_ARGS__))
#define ASYNC_TS_REQUIRES(...) ASYNC_TS_ATTR(requires_capability(__VA_ARGS__))
// On functions: must be called without holding these (they take them).
#define ASYNC_TS_EXCLUDES(...) ASYNC_TS_ATTR(locks_excluded(__VA_ARGS__))
// On a function the analysis cannot follow; say why next to each use.
#define ASYNC_TS_NO_ANALYSIS ASYNC_TS_ATTR(no_thread_safety_analysis)
