/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - declarations shared between the library's source files.
 * Nothing here is API. Internal non-static names carry the sysfast__
 * prefix; they are hidden from the shared library's symbol table by
 * -fvisibility=hidden (tests reach them through the static library).
 */
#ifndef SYSFAST_INTERNAL_H
#define SYSFAST_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include <urcu/list.h>
#include <urcu/rculfhash.h>
#include <urcu/urcu-memb.h>

#include <sysfast/static/audit.h>
#include <sysfast/static/trace.h>
#include <sysfast/sysfast.h>

/* ---- alloc.c ---- */

/* The library's allocator: every block and mapping it owns comes from
 * these and goes back to them (never to malloc/free directly). Each
 * returns NULL on failure and sets no error: the caller says what it was
 * allocating. */
void *sysfast__malloc(size_t size);
void *sysfast__calloc(size_t n, size_t size);
void *sysfast__realloc(void *p, size_t size);
void sysfast__free(void *p);
/* `size` bytes of zeroed, private, anonymous memory, committed on first
 * touch; NULL on failure. */
void *sysfast__map(size_t size);
void sysfast__unmap(void *p, size_t size);

/* Fault injection for the tests (reached through the static library).
 * sysfast__alloc_fault_set arms the counters and fails the `nth`
 * allocation attempt from now on (1-based; 0: none), and with
 * `persistent` every attempt after it too. Mappings count as
 * allocations. Blocks and mappings are counted live from the first
 * arming on: arm before the first allocation you want counted. */
void sysfast__alloc_fault_set(unsigned long nth, bool persistent);
/* Stops failing; the counters go on. */
void sysfast__alloc_fault_clear(void);
struct sysfast__alloc_stats {
	unsigned long attempts; /* since the last fault_set */
	unsigned long failures; /* injected since the last fault_set */
	long live_blocks;       /* allocated and not yet freed */
	long live_maps;         /* mapped and not yet unmapped */
};
struct sysfast__alloc_stats sysfast__alloc_stats(void);

/* ---- error.c ---- */

struct sysfast_exc_type {
	const char *name;
	const struct sysfast_exc_type *base;
};

/* A thread's error indicator; also used to save one across a dispatch. */
/* A thread's error. The live indicator's type is sysfast__audit_tls.err
 * (the inline dispatch reads it); `type` here is used only in saved
 * copies. */
struct sysfast__error {
	const sysfast_exc_type *type; /* NULL: clear */
	size_t len;
	char msg[SYSFAST_ERR_MSG_MAX + 1];
};

/* Moves the calling thread's pending error into *saved and clears it. */
void sysfast__err_save(struct sysfast__error *saved);
/* Makes *saved the calling thread's error again (replacing any). */
void sysfast__err_restore(const struct sysfast__error *saved);

/* ---- thread.c ---- */

/* Entries of the per-thread name cache: a power of two. 64 covers the
 * call sites a thread keeps hitting (CPython raises about ten distinct
 * events in most of its audit traffic) for 512 bytes of TLS. */
#define SYSFAST__NAME_CACHE 64

/* Frames whose last opcode offset a thread remembers (trace.c): a power
 * of two. A tracer reads the offset of the frame it is called for, which
 * is nearly always the last one given; a few more slots keep the callers'
 * offsets across a call. */
#define SYSFAST__OFFSET_CACHE 8

/* A thread's tracing state (trace.c). `lock` guards tracer and profiler,
 * which other threads write (the all-threads setters, sysfast_fini); the
 * rest is the owning thread's alone. The frame chain is not here: its
 * head is sysfast__frame_top (trace.h), which trace.h's inline paths
 * reach and no other thread touches. */
struct sysfast__trace {
	unsigned char lock; /* a spinlock: held for a few stores at a time */
	/* Even when tracer and profiler are stable, odd while a writer (who
	 * holds `lock`) changes them: the owner reads them without the lock,
	 * as a sequence lock's reader. */
	unsigned seq;
	sysfast_tracer tracer, profiler;
	/* The frame whose callback runs (NULL outside callbacks) and the
	 * chain's head when that callback started: sysfast_frame_current
	 * gives `current` until the callback enters frames of its own. */
	sysfast_frame *current, *current_top;
	struct {
		const sysfast_frame *frame;
		int offset;
	} offsets[SYSFAST__OFFSET_CACHE];
	/* Unique per set-up (under sysfast__lock): tells a live thread from
	 * a later one at the same TLS address. */
	uint64_t serial;
};

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

/*
 * Short strings kept as 64-bit words (zero-padded past the NUL) and
 * compared with a candidate a word at a time: the per-thread memo of
 * sysfast_audit confirms with them that the text at a remembered address
 * is still the text it remembered. Byte by byte, that compare cost more
 * than the rest of a call (a quarter of sysfast_audit with one hook).
 * A word load may read past the candidate's NUL, never past its page
 * (a candidate near a page's end is compared byte by byte), so it cannot
 * fault, and the bytes past the stored NUL are masked off. AddressSanitizer
 * and ThreadSanitizer would report those reads, so their builds compare
 * byte by byte throughout.
 */
#define SYSFAST__TEXT_WORDS_MAX 5

struct sysfast__text {
	uint8_t n_words; /* 0: not kept */
	uint8_t len;     /* bytes before the NUL */
	uint64_t last_mask;
	uint64_t w[SYSFAST__TEXT_WORDS_MAX];
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SYSFAST__TEXT_BYTEWISE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SYSFAST__TEXT_BYTEWISE 1
#endif
#endif

/* Keeps `s` (`len` bytes and its NUL) in *t, if it fits in `max_words`
 * words (at most SYSFAST__TEXT_WORDS_MAX); false if not. */
static inline bool sysfast__text_keep(struct sysfast__text *t, const char *s, size_t len,
                                      size_t max_words)
{
	unsigned char mask[8] = {0};
	size_t n = len / 8 + 1;

	if (n > max_words)
		return false;
	memset(t->w, 0, sizeof(t->w));
	memcpy(t->w, s, len + 1);
	memset(mask, 0xff, (len + 1) - 8 * (n - 1));
	memcpy(&t->last_mask, mask, 8);
	t->len = (uint8_t)len;
	t->n_words = (uint8_t)n;
	return true;
}

static inline bool sysfast__text_eq_bytes(const char *s, const struct sysfast__text *t)
{
	const char *k = (const char *)t->w;

	/* The kept text has no NUL before its end, so a shorter candidate
	 * differs at its own NUL and the loop stops there. */
	for (size_t i = 0; i <= t->len; i++)
		if (s[i] != k[i])
			return false;
	return true;
}

/* Whether `s` holds exactly the text kept in *t. */
static inline bool sysfast__text_eq(const char *s, const struct sysfast__text *t)
{
#ifdef SYSFAST__TEXT_BYTEWISE
	return sysfast__text_eq_bytes(s, t);
#else
	size_t n = t->n_words;
	uint64_t diff, v;

	if (SYSFAST_UNLIKELY(((uintptr_t)s & 4095) > 4096 - 8 * n))
		return sysfast__text_eq_bytes(s, t);
	memcpy(&v, s + 8 * (n - 1), 8);
	diff = (v ^ t->w[n - 1]) & t->last_mask;
	for (size_t i = 0; i + 1 < n; i++) {
		memcpy(&v, s + 8 * i, 8);
		diff |= v ^ t->w[i];
	}
	return diff == 0;
#endif
}

/* Entries of sysfast_audit's per-thread memo (audit.c): a power of two. A
 * thread keeps hitting a few call sites (CPython raises about ten
 * distinct events in most of its audit traffic); 16 entries take 2 KiB of
 * TLS. */
#define SYSFAST__AUDIT_MEMO 16

/* One entry: a call's event and format pointers, the texts they held,
 * the event's id and the format's plan. Names over 39 bytes and formats
 * over 15 are not kept (they take the general path every time). */
struct sysfast__audit_memo {
	const char *event, *format;
	sysfast_event_id id;
	struct sysfast__format_plan plan;
	struct sysfast__text name;
	struct sysfast__text fmt; /* n_words 0: format NULL */
};

/* Everything libsysfast keeps per thread, in initial-exec TLS. The error
 * indicator works without set-up; the rest is valid once `ready`. */
struct sysfast__thread {
	struct sysfast__error err;
	bool ready;
	/* Bound interpreter; NULL until the thread's first use after
	 * sysfast_init (sysfast_fini resets it). Read with relaxed atomics:
	 * sysfast_fini writes it from another thread. */
	struct sysfast_interp *interp;
	/* Names this thread resolved lately, by the name's address (see
	 * sysfast__name_cache_get). */
	const struct sysfast__event_node *name_cache[SYSFAST__NAME_CACHE];
	/* sysfast_audit's memo (audit.c); zeroed entries match no call. */
	struct sysfast__audit_memo audit_memo[SYSFAST__AUDIT_MEMO];
	/* This thread's sysfast__audit_tls (the error type, the tracing
	 * counter and the interpreter's view), so that sysfast_fini can
	 * reset the view of other threads. */
	struct sysfast__audit_thread *hot;
	struct sysfast__trace trace;
	/* On sysfast__threads, under sysfast__lock. */
	struct cds_list_head link;
};

extern __thread struct sysfast__thread sysfast__tls;

/* Registers the calling thread with liburcu and the thread list. */
void sysfast__thread_setup(struct sysfast__thread *t);

/* The calling thread's state, set up (registered with liburcu, on the
 * thread list, destructor armed) on first use. Never fails and never
 * allocates. */
static inline struct sysfast__thread *sysfast__thread_get(void)
{
	struct sysfast__thread *t = &sysfast__tls;

	if (SYSFAST_UNLIKELY(!t->ready))
		sysfast__thread_setup(t);
	return t;
}

/* Every set-up thread, under sysfast__lock. */
extern struct cds_list_head sysfast__threads;
/* The last serial handed to a thread set-up, under sysfast__lock. */
extern uint64_t sysfast__thread_serial;

/* ---- runtime.c ---- */

/* One lock serialises every writer: new event names, hook adds,
 * interpreter creation and destruction, init and fini. Readers never take
 * it. It is never held while a hook runs. */
extern pthread_mutex_t sysfast__lock;

/* Runtime state, written under sysfast__lock, read with atomic loads. */
extern bool sysfast__initialized;
extern bool sysfast__finalizing;

/* A list of hooks in the order they were added; under sysfast__lock. */
struct sysfast__hooklist {
	struct sysfast__hook **items;
	size_t n, cap;
};

struct sysfast_interp {
	/* What a dispatch reads, inline or not: the snapshot per event (see
	 * audit.h). Mapped by sysfast__interp_audit_init; NULL before. */
	struct sysfast__audit_view *view;
	/* Everything below is under sysfast__lock. */
	struct cds_list_head link; /* on the live list */
	unsigned long bound;       /* threads bound to it */
	bool is_main;
	bool dying; /* being destroyed: no new bindings */
	struct sysfast__hooklist hooks;
	/* The snapshot shared by every event that no filtered hook matches
	 * (the unfiltered process-wide hooks, then the unfiltered own ones);
	 * NULL when there are none. */
	struct sysfast__hookvec *defvec;
};

/* Sets SystemError "sysfast is not initialized" and returns -1 when the
 * runtime is not up; 0 otherwise. */
/* Sets SystemError "sysfast is not initialized"; returns -1. */
int sysfast__not_initialized(void);
/* 0 while initialised, else -1 with SystemError. Inline: most entry
 * points start with it. */
static inline int sysfast__check_initialized(void)
{
	if (SYSFAST_LIKELY(__atomic_load_n(&sysfast__initialized, __ATOMIC_ACQUIRE)))
		return 0;
	return sysfast__not_initialized();
}

/* The calling thread's interpreter, binding it to the main one on first
 * use; NULL when not initialised. */
struct sysfast_interp *sysfast__bind_main(struct sysfast__thread *t);
static inline struct sysfast_interp *sysfast__current_interp(struct sysfast__thread *t)
{
	struct sysfast_interp *interp = __atomic_load_n(&t->interp, __ATOMIC_RELAXED);

	return SYSFAST_LIKELY(interp) ? interp : sysfast__bind_main(t);
}

/* The calling thread's interpreter, setting the thread up and binding it
 * on first use; NULL when not initialised. A bound thread is always set
 * up, so the common case is one TLS load and a branch. */
static inline struct sysfast_interp *sysfast__thread_interp(struct sysfast__thread **tp)
{
	struct sysfast__thread *t = &sysfast__tls;
	struct sysfast_interp *interp = __atomic_load_n(&t->interp, __ATOMIC_RELAXED);

	*tp = t;
	if (SYSFAST_LIKELY(interp))
		return interp;
	return sysfast__bind_main(sysfast__thread_get());
}

/* Sets the thread's binding (NULL: none) and its fast-path pointer.
 * Call with sysfast__lock held. */
void sysfast__thread_bind(struct sysfast__thread *t, struct sysfast_interp *interp);

/* Every live interpreter, main first, under sysfast__lock. */
extern struct cds_list_head sysfast__interps;

/* ---- args.c ---- */

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
		const char *s = va_arg(*va, const char *);

		buf->slots[idx] = s ? SYSFAST_STRN(s, sysfast__short_strlen(s)) : SYSFAST_NONE();
		return true;
	}
	return false;
}

/* sysfast__args_build for `format`, whose plan sysfast__format_plan made
 * from the same text: only the second pass. Fails only on a bad value
 * ('O' or 'S' with NULL, 'C' out of range). Inline, so that the memo's
 * path in audit.c builds "(si)" without a call. */
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
 * failure (MemoryError). */
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
	X(SYSFAST__EV_CLEAR_HOOKS, "cpython._PySys_ClearAuditHooks")

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
 * A per-thread cache in front of the hash table for callers that name
 * events by string (sysfast_audit, sysfast_event_intern): indexed by the
 * string's address, confirmed by comparing the text with the interned
 * name, so a reused buffer with other text simply misses. A hit skips
 * validation, hashing and the table walk: equal text is a valid name.
 * Entries are the interned nodes themselves, which never move or die, so
 * a hit reads the name and the id without going through the id table.
 */
/*
 * strcmp for the short strings of the hot paths (event names), inline,
 * like sysfast__strlen (audit.h). A call to libc's goes through the PLT to an
 * IFUNC-selected routine: an indirect jump, which on some machines costs
 * more than the whole comparison (on the benchmark machine, the loop took
 * 14 ns off a 47 ns call; docs/benchmarks.md). Past 32 bytes, libc's.
 */
static inline bool sysfast__streq(const char *a, const char *b)
{
	for (size_t n = 0; n < 32; n++) {
		if (a[n] != b[n])
			return false;
		if (!a[n])
			return true;
	}
	return strcmp(a + 32, b + 32) == 0;
}

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

/* True inside an RCU read-side critical section on this thread, e.g. in a
 * hook: liburcu forbids some calls (cds_lfht_resize) there. */
static inline bool sysfast__in_read_side(void)
{
	return URCU_TLS(urcu_memb_reader).ctr & URCU_GP_CTR_NEST_MASK;
}

/* ---- intern.c ---- */

/* Makes the table of interned strings, once (later calls return 0). Call
 * from sysfast_init: liburcu aborts on an allocation failure inside the
 * table's creation, and the table is made whole here so that nothing
 * after init can reach one (intern.c). Returns 0, or -1 with
 * sysfast_MemoryError. */
int sysfast__intern_init(void);

/* ---- audit.c ---- */

/* Snapshots built for a change of the audit slots and not yet published
 * (audit.c: prepare, then commit). Zero-initialise. */
struct sysfast__audit_change;
struct sysfast__audit_changes {
	struct sysfast__audit_change *items;
	size_t n, cap;
};

/* Called by event.c with sysfast__lock held once the id table holds the
 * node of `id`, before the id is handed to anyone: builds into `c` the
 * snapshots that give the new event its hooks in every live interpreter,
 * publishing nothing. Returns 0, or -1 with MemoryError and `c` empty. */
int sysfast__audit_event_prepare(sysfast_event_id id, struct sysfast__audit_changes *c);
/* Publishes what a prepare built and empties `c`. Cannot fail. Under
 * sysfast__lock. */
void sysfast__audit_commit(struct sysfast__audit_changes *c);

/* Raises the built-in event `id` as if from inside `interp` (NULL: the caller's current
 * interpreter) with errors from hooks cleared and the caller's pending
 * error kept. Used for the lifecycle events. */
void sysfast__audit_lifecycle(struct sysfast_interp *interp, sysfast_event_id id);

/* Maps a new interpreter's view and gives it the slots of the process-wide
 * hooks. Call with sysfast__lock held. Returns 0, or -1 with MemoryError
 * and nothing mapped or allocated. */
int sysfast__interp_audit_init(struct sysfast_interp *interp);
/* Drops every interpreter's own hooks (sysfast_fini). Allocates nothing:
 * slots are cleared, not rebuilt, so some events may reach no hook until
 * sysfast_fini ends. Call with sysfast__lock held. */
void sysfast__audit_drop_own_hooks(void);
/* Raises "cpython._PySys_ClearAuditHooks" in `main_interp` to the
 * process-wide hooks alone, errors cleared and the caller's kept
 * (sysfast_fini, after sysfast__audit_drop_own_hooks). Allocates
 * nothing. */
void sysfast__audit_clear_hooks_event(struct sysfast_interp *main_interp);
/* Releases every snapshot and chunk of an interpreter (after an RCU
 * grace period). */
void sysfast__interp_audit_free(struct sysfast_interp *interp);
/* Drops the process-wide hooks (sysfast_fini). Allocates nothing. */
void sysfast__audit_drop_global(void);
/* Sets sysfast__audit_enabled from the hook lists (sysfast_init). */
void sysfast__audit_update_enabled(void);

/* ---- trace.c ---- */

/* Unsets every thread's tracer and profiler, raising no event
 * (sysfast_fini). Frame chains are left alone: they belong to the
 * threads, whose frames stay entered across sysfast_fini. Call with
 * sysfast__lock held. */
void sysfast__trace_reset_all(void);

/* ---- reclamation ---- */

/* Frees a malloc'd block that starts with a struct rcu_head once every
 * RCU reader that might see it is done (call_rcu: never blocks, so it is
 * safe on any path a hook can reach). */
void sysfast__defer_free(struct rcu_head *head);

/*
 * Publishing and reading RCU-protected pointers. liburcu's primitives are
 * volatile accesses and inline assembly that ThreadSanitizer cannot see, so
 * sanitizer builds use the equivalent C11 release store and acquire load
 * (which TSan understands); other builds use liburcu's. On x86-64 both
 * compile to plain moves.
 */
#if defined(__SANITIZE_THREAD__)
#define SYSFAST__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SYSFAST__TSAN 1
#endif
#endif

#ifdef SYSFAST__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define sysfast__rcu_publish(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define sysfast__rcu_load(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
/* One synchronisation address stands for "a read-side critical section
 * ended": every unlock releases it, every reclamation acquires it, which is
 * the happens-before edge a grace period provides. */
extern char sysfast__rcu_tsan_sync;
#define sysfast__read_lock() urcu_memb_read_lock()
#define sysfast__read_unlock()                                                                     \
	do {                                                                                       \
		__tsan_release(&sysfast__rcu_tsan_sync);                                           \
		urcu_memb_read_unlock();                                                           \
	} while (0)
#else
#define sysfast__rcu_publish(p, v) rcu_assign_pointer((p), (v))
#define sysfast__rcu_load(p) rcu_dereference((p))
#define sysfast__read_lock() urcu_memb_read_lock()
#define sysfast__read_unlock() urcu_memb_read_unlock()
#endif

#endif /* SYSFAST_INTERNAL_H */
