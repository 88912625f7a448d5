/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - what audit events are made of: event names (event.c),
 * argument tuples and formats (args.c), interned strings (intern.c) and
 * objects (object.c).
 * Nothing here is API. Layer order, bottom to top (tests/infra/layers.py
 * checks it): base.h, thread.h, errors.h, data.h, interp.h, dispatch.h,
 * then runtime.c. A file includes the header of its own layer, which
 * includes the ones below; nothing reaches up: a lower layer that must
 * tell a higher one something takes a callback.
 */
#ifndef SYSFAST_DATA_H
#define SYSFAST_DATA_H

#include <stdarg.h>

#include "errors.h"

/* ---- args.c ---- */

/* What the check of a format of the common shapes ("si", "(si)": value
 * codes and separators, at most one pair of parentheses around the
 * whole) learns: the offsets of its value codes. Enough for the second
 * pass to run alone on the same text; sysfast_audit keeps it per thread
 * with a copy of the text (audit.c). */
#define SYSFAST__PLAN_MAX 15
struct sysfast__format_plan {
	uint8_t n;
	uint8_t off[SYSFAST__PLAN_MAX];
};

/* Working space for sysfast__args_build: lives on the caller's stack.
 * `text` holds the bytes of 'c' (1 byte) and 'C' (UTF-8, up to 4) values,
 * NUL-terminated so that a hook treating STR as a C string stays in bounds. */
struct sysfast__argbuf {
	sysfast_arg slots[SYSFAST_ARGS_MAX];
	char text[SYSFAST_ARGS_MAX][5];
};

/* Builds the arguments described by `format` (PySys_Audit's Py_BuildValue
 * subset) from `*va` into `buf`, and points `out` at them. The whole format
 * is checked before any argument is read. Returns 0, or -1 with
 * sysfast_SystemError (bad format) or sysfast_ValueError (bad value). */
int sysfast__args_build(struct sysfast__argbuf *buf, const char *format, va_list *va,
                        sysfast_args *out);

/* Fills *plan for a valid format of the common shapes with at most
 * SYSFAST__PLAN_MAX values within its first 256 bytes (NULL and "" too);
 * false for any other format, valid or not. Reads no argument and sets no
 * error. */
bool sysfast__format_plan(const char *format, struct sysfast__format_plan *plan);

/* Builds value `idx` of a planned format from the code at `p` (any
 * code): sysfast__args_build_plan's way out for the codes it does not
 * build inline. Fails only on a bad value. */
int sysfast__args_build_value(struct sysfast__argbuf *buf, const char *format, const char *p,
                              size_t idx, va_list *va);

/* strlen for the short strings of the hot path (text arguments), inline:
 * libc's goes through the PLT to an IFUNC-selected routine, an indirect
 * jump that on some machines costs more than the whole loop (on the
 * benchmark machine, 14 ns of a 47 ns call; docs/benchmarks.md). Past 32
 * bytes, libc's. */
static inline size_t sysfast__short_strlen(const char *s)
{
	for (size_t n = 0; n < 32; n++)
		if (!s[n])
			return n;
	/* Again from the start: s + 32 would be out of bounds of any object
	 * shorter than that, which compilers warn about even where this line
	 * is never reached. */
	return strlen(s);
}

/* The value an 's' builds from `s`: its text and length, or None for
 * NULL. */
static inline sysfast_arg sysfast__text_arg(const char *s)
{
	return s ? SYSFAST_STRN(s, sysfast__short_strlen(s)) : SYSFAST_NONE();
}

/* Builds slot `idx` from the code at `p` when it is one of the two codes
 * of nearly every audit format, 'i' and 's' (without '#'); false, reading
 * nothing, for any other. Inline in every builder of flat formats. */
static inline __attribute__((always_inline)) bool
sysfast__args_build_common(struct sysfast__argbuf *buf, const char *p, size_t idx, va_list *va)
{
	if (*p == 'i') {
		buf->slots[idx] = SYSFAST_INT(va_arg(*va, int));
		return true;
	}
	if (*p == 's' && p[1] != '#') {
		buf->slots[idx] = sysfast__text_arg(va_arg(*va, const char *));
		return true;
	}
	return false;
}

/* sysfast__args_build for `format`, whose plan sysfast__format_plan made
 * from the same text: only the second pass. Fails only on a bad value
 * ('O' or 'S' with NULL, 'C' out of range). fuzz_format checks it
 * against sysfast__args_build; audit.c's memo builds from its own codes
 * (memo_build). */
static inline __attribute__((always_inline)) int
sysfast__args_build_plan(struct sysfast__argbuf *buf, const char *format,
                         const struct sysfast__format_plan *plan, va_list *va, sysfast_args *out)
{
	for (size_t k = 0; k < plan->n; k++) {
		const char *p = format + plan->off[k];

		if (!sysfast__args_build_common(buf, p, k, va)
		    && sysfast__args_build_value(buf, format, p, k, va) < 0)
			return -1;
	}
	out->n = plan->n;
	out->items = buf->slots;
	return 0;
}

/* The first pass of sysfast__args_build alone: checks `format` and counts
 * its slots without reading any argument. Returns 0, or -1 with
 * sysfast_SystemError. NULL and "" are valid (no arguments). */
int sysfast__format_check(const char *format, size_t *n_slots);

/* ---- event.c ---- */

/* Checks an event name: 1..SYSFAST_EVENT_NAME_MAX bytes of valid UTF-8.
 * Returns its length, or -1 with sysfast_ValueError whose message starts
 * with `what` ("event name", "event pattern"). */
long sysfast__name_check(const char *name, const char *what);

/* The id of a valid name (length `len`), interning it if new. Call with
 * sysfast__lock held when `locked`. Returns 0 with an error set on
 * failure (MemoryError). A new id is announced to the observer (below)
 * before it is handed out. */
sysfast_event_id sysfast__event_intern_len(const char *name, size_t len, bool locked);

/* Lock-free lookup of a valid name; 0 if never interned. */
sysfast_event_id sysfast__event_lookup(const char *name, size_t len);

/* Heap blocks the name registry keeps for the life of the process besides
 * the names and the id table's chunks (its index: 0 or 1), for the
 * tests' leak accounting. */
size_t sysfast__event_index_blocks(void);

/* The events the library raises itself, written once here. They are
 * interned from the start, without allocating, as ids 1, 2, ... in this
 * order: sysfast_init has no names to intern and so nothing to undo when
 * it fails. */
#define SYSFAST__BUILTIN_EVENTS(X)                                                                 \
	X(SYSFAST__EV_ADDAUDITHOOK, "sys.addaudithook")                                            \
	X(SYSFAST__EV_INTERP_NEW, "cpython.PyInterpreterState_New")                                \
	X(SYSFAST__EV_INTERP_CLEAR, "cpython.PyInterpreterState_Clear")                            \
	X(SYSFAST__EV_CLEAR_HOOKS, "cpython._PySys_ClearAuditHooks")                               \
	X(SYSFAST__EV_SETTRACE, "sys.settrace")                                                    \
	X(SYSFAST__EV_SETPROFILE, "sys.setprofile")

enum sysfast__builtin_event {
	SYSFAST__EV_NONE, /* ids start at 1 */
#define SYSFAST__X(id, name) id,
	SYSFAST__BUILTIN_EVENTS(SYSFAST__X)
#undef SYSFAST__X
	    SYSFAST__EV_BUILTIN_END
};

/* An interned name; immortal, never moves. */
struct sysfast__event_node {
	uint64_t hash;
	sysfast_event_id id;
	uint32_t len;
	char name[]; /* NUL-terminated */
};

/* The id -> node table is two-level: chunks of SYSFAST__SLOT_CHUNK nodes. */
#define SYSFAST__SLOT_SHIFT 10
#define SYSFAST__SLOT_CHUNK (1u << SYSFAST__SLOT_SHIFT)
#define SYSFAST__SLOT_DIR ((SYSFAST_EVENT_ID_MAX >> SYSFAST__SLOT_SHIFT) + 1)

/* id -> node; chunks never move. */
extern struct sysfast__event_node **sysfast__event_chunks[SYSFAST__SLOT_DIR];

/* The node of an id that has been handed out (no checks): two loads,
 * inline, as the dispatch needs the name for every hook call. */
static inline struct sysfast__event_node *sysfast__event_node_unchecked(sysfast_event_id id)
{
	struct sysfast__event_node **chunk =
	    __atomic_load_n(&sysfast__event_chunks[id >> SYSFAST__SLOT_SHIFT], __ATOMIC_ACQUIRE);

	return __atomic_load_n(&chunk[id & (SYSFAST__SLOT_CHUNK - 1)], __ATOMIC_ACQUIRE);
}

static inline const char *sysfast__event_name_unchecked(sysfast_event_id id)
{
	return sysfast__event_node_unchecked(id)->name;
}

static inline size_t sysfast__event_len_unchecked(sysfast_event_id id)
{
	return sysfast__event_node_unchecked(id)->len;
}

/*
 * Who must hear of a new event name before its id is handed out: audit.c,
 * which gives the event its hooks in every interpreter. Two phases, so that
 * running out of memory leaves no trace: `prepare` (under sysfast__lock,
 * the id's node already in the id table) builds what it needs into `ctx`
 * and may fail with MemoryError, and the name is then not interned;
 * `commit` publishes it and cannot fail. `ctx` points at a zeroed
 * SYSFAST__EVENT_OBSERVER_CTX bytes on event.c's stack. Set once, by the
 * audit layer; events interned before it is set have no interpreter to
 * tell.
 */
#define SYSFAST__EVENT_OBSERVER_CTX 32
struct sysfast__event_observer {
	int (*prepare)(sysfast_event_id id, void *ctx);
	void (*commit)(void *ctx);
};
void sysfast__event_observe(const struct sysfast__event_observer *obs);

/*
 * A per-thread cache in front of the hash table for callers that name
 * events by string (sysfast_audit, sysfast_event_intern): indexed by the
 * string's address, confirmed by comparing the text with the interned
 * name, so a reused buffer with other text simply misses. A hit skips
 * validation, hashing and the table walk: equal text is a valid name.
 * Entries are the interned nodes themselves, which never move or die, so
 * a hit reads the name and the id without going through the id table.
 */

static inline unsigned sysfast__name_cache_slot(const char *name)
{
	uintptr_t a = (uintptr_t)name;

	return (unsigned)((a >> 3) ^ (a >> 11)) & (SYSFAST__NAME_CACHE - 1);
}

static inline sysfast_event_id sysfast__name_cache_get(const char *name)
{
	const struct sysfast__event_node *n =
	    sysfast__tls.name_cache[sysfast__name_cache_slot(name)];

	return n && sysfast__streq(name, n->name) ? n->id : 0;
}

/* `id` must have been handed out. */
static inline void sysfast__name_cache_put(const char *name, sysfast_event_id id)
{
	sysfast__tls.name_cache[sysfast__name_cache_slot(name)] = sysfast__event_node_unchecked(id);
}

/* ---- intern.c ---- */

/* Called by sysfast_init. The table of interned strings starts from a
 * static array, so this has nothing to make: it returns 0 (it may
 * return -1 with sysfast_MemoryError, should the table ever need set-up
 * that can fail). */
int sysfast__intern_init(void);

/* The table's shape, for the tests: its slots, the slots not empty
 * (strings and tombstones) and the strings in it. */
struct sysfast__intern_stats {
	size_t slots, used, live;
};
struct sysfast__intern_stats sysfast__intern_stats(void);

#endif /* SYSFAST_DATA_H */
