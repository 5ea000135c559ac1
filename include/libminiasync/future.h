/* SPDX-License-Identifier: MIT */
/* libminiasync/future.h: futures, notifiers and chained futures, compatible
 * with miniasync 0.2.1 (docs/miniasync.md). Everything here is inline and is
 * compiled into the user's program, so the layouts below are ABI: field
 * order, sizes (LP64) and enum values are those of miniasync and are checked
 * by tests/miniasync/layout_test.c.
 *
 * A future is a `struct future` followed in memory by its data block and
 * then its output block (FUTURE() lays them out so). future_poll() runs the
 * future's task once unless the future is already COMPLETE. A task may ask
 * to be woken instead of polled: see struct future_notifier.
 *
 * Differences from miniasync, all compatible with its callers:
 *  - the chain macros compile as C++ as well as C99;
 *  - future_has_property() treats a NULL property function (as left by
 *    FUTURE_INIT_COMPLETE) as "no properties" instead of calling NULL;
 *  - non-LP64 targets are refused at compile time (the chain-entry layout
 *    relies on a pointer being as wide as uint64_t);
 *  - in C++ the library's functions are declared noexcept. */
#ifndef FUTURE_H
#define FUTURE_H 1

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define __FUTURE_WAIT() _mm_pause()
#else
#include <sched.h>
#define __FUTURE_WAIT() sched_yield()
#endif

#if !defined(UINTPTR_MAX) || UINTPTR_MAX != 0xFFFFFFFFFFFFFFFFu
#error "libminiasync supports LP64 targets only (chain entries overlay a pointer on a uint64_t)"
#endif

/* In C++ the library's functions (runtime_*, data_mover_*, vdm_synchronous_*)
 * are noexcept, as their definitions are. Nothing in C. */
#ifndef MINIASYNC_NOEXCEPT
#ifdef __cplusplus
#define MINIASYNC_NOEXCEPT noexcept
#else
#define MINIASYNC_NOEXCEPT
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum future_state {
	FUTURE_STATE_IDLE = 0,
	FUTURE_STATE_COMPLETE = 1,
	FUTURE_STATE_RUNNING = 2
};

struct future_context {
	size_t data_size;	 /* bytes of the data block that follows */
	size_t output_size;	 /* bytes of the output block after the data */
	enum future_state state;
	uint32_t padding;	 /* 0 */
};

typedef void (*future_waker_wake_fn)(void *data);

/* A waker: the task keeps a copy and calls wake(data), from any thread,
 * when polling again would make progress. */
struct future_waker {
	void *data;
	future_waker_wake_fn wake;
};

/* A poller: the task points ptr_to_monitor at a 64-bit word that becomes
 * nonzero when polling again would make progress. */
struct future_poller {
	uint64_t *ptr_to_monitor;
};

enum future_notifier_type {
	FUTURE_NOTIFIER_NONE = 0,   /* keep polling */
	FUTURE_NOTIFIER_WAKER = 1,  /* the waker will be called */
	FUTURE_NOTIFIER_POLLER = 2  /* watch poller.ptr_to_monitor */
};

/* Passed to a task by the poller (NULL when busy polling); valid only during
 * that poll. The task writes notifier_used to say how it will notify. */
struct future_notifier {
	struct future_waker waker;
	struct future_poller poller;
	enum future_notifier_type notifier_used;
	uint32_t padding;
};

enum future_property {
	FUTURE_PROPERTY_ASYNC = 0 /* work proceeds in the background */
};

struct future_context;
typedef enum future_state (*future_task_fn)(struct future_context *context,
					    struct future_notifier *notifier);
typedef int (*future_has_property_fn)(void *future, enum future_property property);

struct future {
	future_task_fn task;
	future_has_property_fn has_property;
	struct future_context context; /* last: data and output follow */
};

/* Declares struct _name { base; data; output; }. The output must follow the
 * data with no padding, and both types need at most 8-byte alignment. */
#define FUTURE(_name, _data_type, _output_type)                                \
	struct _name {                                                         \
		struct future base;                                            \
		_data_type data;                                               \
		_output_type output;                                           \
	}

#define FUTURE_INIT_EXT(_futurep, _taskfn, _propertyfn)                        \
	do {                                                                   \
		(_futurep)->base.task = (_taskfn);                             \
		(_futurep)->base.has_property = (_propertyfn);                 \
		(_futurep)->base.context.state = FUTURE_STATE_IDLE;            \
		(_futurep)->base.context.data_size = sizeof((_futurep)->data); \
		(_futurep)->base.context.output_size =                         \
			sizeof((_futurep)->output);                            \
		(_futurep)->base.context.padding = 0;                          \
	} while (0)

#define FUTURE_INIT(_futurep, _taskfn)                                         \
	FUTURE_INIT_EXT((_futurep), (_taskfn), future_has_property_default)

/* An already finished future (task and property function NULL). */
#define FUTURE_INIT_COMPLETE(_futurep)                                         \
	do {                                                                   \
		(_futurep)->base.task = NULL;                                  \
		(_futurep)->base.has_property = NULL;                          \
		(_futurep)->base.context.state = FUTURE_STATE_COMPLETE;        \
		(_futurep)->base.context.data_size = sizeof((_futurep)->data); \
		(_futurep)->base.context.output_size =                         \
			sizeof((_futurep)->output);                            \
		(_futurep)->base.context.padding = 0;                          \
	} while (0)

#define FUTURE_AS_RUNNABLE(_futurep) (&(_futurep)->base)
#define FUTURE_OUTPUT(_futurep) (&(_futurep)->output)
#define FUTURE_DATA(_futurep) (&(_futurep)->data)
#define FUTURE_STATE(_futurep) ((_futurep)->base.context.state)
#define FUTURE_WAKER_WAKE(_wakerp) ((_wakerp)->wake((_wakerp)->data))

/* Polls until COMPLETE with a NULL notifier, pausing the CPU in between.
 * A bare while statement: write `FUTURE_BUSY_POLL(&f);`. */
#define FUTURE_BUSY_POLL(_futurep)                                             \
	while (future_poll(FUTURE_AS_RUNNABLE((_futurep)), NULL) !=            \
	       FUTURE_STATE_COMPLETE)                                          \
	__FUTURE_WAIT()

static inline void *
future_context_get_data(struct future_context *context)
{
	return (char *)context + sizeof(struct future_context);
}

static inline void *
future_context_get_output(struct future_context *context)
{
	return (char *)future_context_get_data(context) + context->data_size;
}

static inline size_t
future_context_get_size(struct future_context *context)
{
	return context->data_size + context->output_size;
}

/* Runs the task once unless the future is COMPLETE; returns the new state.
 * The notifier is passed through untouched (it may be NULL). */
static inline enum future_state
future_poll(struct future *fut, struct future_notifier *notifier)
{
	if (fut->context.state != FUTURE_STATE_COMPLETE)
		fut->context.state = fut->task(&fut->context, notifier);
	return fut->context.state;
}

static inline int
future_has_property_default(void *future, enum future_property property)
{
	(void)future;
	(void)property;
	return 0;
}

/* NULL-safe: a future without a property function has no properties. */
static inline int
future_has_property(struct future *fut, enum future_property property)
{
	return fut->has_property ? fut->has_property(fut, property) : 0;
}

/* ------------------------------------------------------------------ chains */

enum future_chain_entry_type {
	FUTURE_CHAIN_ENTRY_REGULAR = 1,
	FUTURE_CHAIN_ENTRY_LAST = 2
};

/* Their sizes (1 and 2) tell the init macros which kind an entry is. */
typedef uint8_t _future_entry_type_regular[FUTURE_CHAIN_ENTRY_REGULAR];
typedef uint8_t _future_entry_type_last[FUTURE_CHAIN_ENTRY_LAST];

#define FUTURE_CHAIN_FLAG_ENTRY_LAST ((uint64_t)1 << 0)
#define FUTURE_CHAIN_FLAG_ENTRY_PROCESSED ((uint64_t)1 << 1)
#define FUTURE_CHAIN_VALID_FLAGS                                               \
	(FUTURE_CHAIN_FLAG_ENTRY_LAST | FUTURE_CHAIN_FLAG_ENTRY_PROCESSED)

typedef void (*future_map_fn)(struct future_context *lhs,
			      struct future_context *rhs, void *arg);
typedef void (*future_init_fn)(void *future, struct future_context *chain_fut,
			       void *arg);

/* The generic view of one chain element; its future's data and output
 * follow it in memory. */
struct future_chain_entry {
	future_map_fn map;
	void *map_arg;
	future_init_fn init;
	void *init_arg;
	uint64_t flags;
	struct future future;
};

#define FUTURE_CHAIN_ENTRY(_future_type, _name)                                \
	struct {                                                               \
		future_map_fn map;                                             \
		void *map_arg;                                                 \
		future_init_fn init;                                           \
		void *init_arg;                                                \
		_future_entry_type_regular *flags;                             \
		_future_type fut;                                              \
	} _name

#define FUTURE_CHAIN_ENTRY_LAST(_future_type, _name)                           \
	struct {                                                               \
		future_map_fn map;                                             \
		void *map_arg;                                                 \
		future_init_fn init;                                           \
		void *init_arg;                                                \
		_future_entry_type_last *flags;                                \
		_future_type fut;                                              \
	} _name

/* The initial flags word of an entry declared with the macros above, stored
 * through the pointer-typed field (C: via void *, C++: cast to its type). */
#define FUTURE_CHAIN_ENTRY_FLAGS_INIT_VALUE_(_entry)                           \
	((uintptr_t)(sizeof(*(_entry)->flags) ==                               \
				     sizeof(_future_entry_type_last) ?         \
			     FUTURE_CHAIN_FLAG_ENTRY_LAST :                    \
			     0))
#ifdef __cplusplus
#define FUTURE_CHAIN_ENTRY_SET_FLAGS_(_entry)                                  \
	((_entry)->flags = (decltype((_entry)->flags))(                        \
		 FUTURE_CHAIN_ENTRY_FLAGS_INIT_VALUE_(_entry)))
#else
#define FUTURE_CHAIN_ENTRY_SET_FLAGS_(_entry)                                  \
	((_entry)->flags =                                                     \
		 (void *)(FUTURE_CHAIN_ENTRY_FLAGS_INIT_VALUE_(_entry)))
#endif

/* Copies the future _fut into the entry. */
#define FUTURE_CHAIN_ENTRY_INIT(_entry, _fut, _map, _map_arg)                  \
	do {                                                                   \
		(_entry)->fut = (_fut);                                        \
		(_entry)->map = (_map);                                        \
		(_entry)->map_arg = (_map_arg);                                \
		(_entry)->init = NULL;                                         \
		(_entry)->init_arg = NULL;                                     \
		FUTURE_CHAIN_ENTRY_SET_FLAGS_(_entry);                         \
	} while (0)

/* The entry's future is built by _init when the chain first reaches it. */
#define FUTURE_CHAIN_ENTRY_LAZY_INIT(_entry, _init, _init_arg, _map, _map_arg) \
	do {                                                                   \
		(_entry)->map = (_map);                                        \
		(_entry)->map_arg = (_map_arg);                                \
		(_entry)->init = (_init);                                      \
		(_entry)->init_arg = (_init_arg);                              \
		FUTURE_CHAIN_ENTRY_SET_FLAGS_(_entry);                         \
	} while (0)

#define FUTURE_CHAIN_ENTRY_IS_INITIALIZED(_entry) ((_entry)->init == NULL)
#define FUTURE_CHAIN_ENTRY_HAS_FLAG(_entry, _flag) (((_entry)->flags & (_flag)) != 0)
#define FUTURE_CHAIN_ENTRY_IS_LAST(_entry)                                     \
	FUTURE_CHAIN_ENTRY_HAS_FLAG((_entry), FUTURE_CHAIN_FLAG_ENTRY_LAST)
#define FUTURE_CHAIN_ENTRY_IS_PROCESSED(_entry)                                \
	FUTURE_CHAIN_ENTRY_HAS_FLAG((_entry), FUTURE_CHAIN_FLAG_ENTRY_PROCESSED)

/* Runs the entry's pending lazy init, adds its footprint to *used_data and
 * returns the entry after it, or NULL after the last one. */
static inline struct future_chain_entry *
get_next_future_chain_entry(struct future_context *ctx,
			    struct future_chain_entry *entry, uint8_t *data,
			    size_t *used_data)
{
	if (entry->init != NULL) {
		entry->init(&entry->future, ctx, entry->init_arg);
		entry->init = NULL;
	}
	size_t size = sizeof(struct future_chain_entry) +
		future_context_get_size(&entry->future.context);
	size = (size + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	*used_data += size;
	if (FUTURE_CHAIN_ENTRY_IS_LAST(entry) || *used_data == ctx->data_size)
		return NULL;
	return (struct future_chain_entry *)(data + *used_data);
}

/* The task of every chained future: walks the entries from the first,
 * polls the unprocessed ones, runs maps, stops at the first incomplete. */
static inline enum future_state
async_chain_impl(struct future_context *ctx, struct future_notifier *notifier)
{
	uint8_t *data = (uint8_t *)future_context_get_data(ctx);
	struct future_chain_entry *entry = (struct future_chain_entry *)data;
	size_t used_data = 0;

	while (entry != NULL) {
		struct future_chain_entry *next =
			get_next_future_chain_entry(ctx, entry, data, &used_data);
		if (!FUTURE_CHAIN_ENTRY_IS_PROCESSED(entry)) {
			if (future_poll(&entry->future, notifier) !=
			    FUTURE_STATE_COMPLETE)
				return FUTURE_STATE_RUNNING;
			if (entry->map != NULL) {
				if (next != NULL && next->init != NULL) {
					next->init(&next->future, ctx,
						   next->init_arg);
					next->init = NULL;
				}
				entry->map(&entry->future.context,
					   next != NULL ? &next->future.context : ctx,
					   entry->map_arg);
			}
			entry->flags |= FUTURE_CHAIN_FLAG_ENTRY_PROCESSED;
		}
		entry = next;
	}
	return FUTURE_STATE_COMPLETE;
}

/* A chain has a property when its first unprocessed entry has it; -1 when
 * every entry is processed. */
static inline int
future_chain_has_property(void *future, enum future_property property)
{
	struct future *fut = (struct future *)future;
	uint8_t *data = (uint8_t *)future_context_get_data(&fut->context);
	struct future_chain_entry *entry = (struct future_chain_entry *)data;
	size_t used_data = 0;

	while (entry != NULL) {
		struct future_chain_entry *next = get_next_future_chain_entry(
			&fut->context, entry, data, &used_data);
		if (!FUTURE_CHAIN_ENTRY_IS_PROCESSED(entry))
			return future_has_property(&entry->future, property);
		entry = next;
	}
	return -1;
}

#define FUTURE_CHAIN_INIT(_futurep)                                            \
	FUTURE_INIT_EXT((_futurep), async_chain_impl, future_chain_has_property)

#ifdef __cplusplus
}
#endif

#endif /* FUTURE_H */
