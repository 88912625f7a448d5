/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - objects and getsizeof.
 *
 * sysfast_getsizeof is CPython's _PySys_GetSizeOf with the type's
 * sizeof_fn in the place of __sizeof__: same errors, same messages, the GC
 * header added by the type's flag. It touches no heap and no shared state,
 * so it is as thread-safe as the callbacks it runs.
 *
 * sysfast_deepsizeof walks the object graph with an explicit stack on the
 * heap and a set of the objects already reached: depth costs memory, never
 * C stack, and each object is sized once however many paths lead to it.
 */
#include <malloc.h>
#include <stdlib.h>

#include <sysfast/static/object.h>

#include "data.h"

/* CPython formats type names with %.100s; the TypeError message does too. */
#define TYPE_NAME_MAX 100

static const char *type_name(const sysfast_type *tp)
{
	return tp->name ? tp->name : "<unnamed>";
}

/* Judges a callback's return: 0 with no error set is success. A nonzero
 * return with an error set fails with that error. Either half alone is a
 * broken callback and fails with sysfast_SystemError, which keeps an
 * error the callback left as its detail (as audit.c and trace.c do).
 * Returns 0 or -1. */
static int callback_result(int rc, const sysfast_type *tp, const char *what)
{
	const sysfast_exc_type *err = sysfast__audit_tls.err; /* without a call */

	if (SYSFAST_LIKELY(!err && rc == 0))
		return 0;
	if (!err)
		sysfast_err_format(sysfast_SystemError,
		                   "%s of type %.*s returned %d without setting an error", what,
		                   TYPE_NAME_MAX, type_name(tp), rc);
	else if (rc == 0)
		sysfast_err_format(sysfast_SystemError,
		                   "%s of type %.*s returned 0 with an error set: %s: %s", what,
		                   TYPE_NAME_MAX, type_name(tp), err->name, sysfast__tls.err.msg);
	return -1;
}

/* The end of sysfast_getsizeof once sizeof_fn returned rc and stored n,
 * for an object of type tp: judges the callback, then the size, then adds
 * the GC header. Out of line: the inline form (<sysfast/static/object.h>)
 * and size_of below inline only the usual outcome and come here for the
 * others, which makes the two agree on each. Writes *size only on
 * success. */
static __attribute__((noinline, cold)) int size_result(const sysfast_type *tp, int rc, int64_t n,
                                                       size_t *size)
{
	size_t header;

	if (callback_result(rc, tp, "sizeof_fn") < 0)
		return -1;
	if (n < 0) {
		sysfast_err_set(sysfast_ValueError, "__sizeof__() should return >= 0");
		return -1;
	}
	header = tp->flags & SYSFAST_TYPE_GC ? SYSFAST_GC_HEADER_SIZE : 0;
	/* Reachable only where size_t is narrower than int64_t. */
	if ((uint64_t)n > SIZE_MAX - header) {
		sysfast_err_format(sysfast_OverflowError,
		                   "getsizeof: the size of a %.*s object does not fit in size_t",
		                   TYPE_NAME_MAX, type_name(tp));
		return -1;
	}
	*size = (size_t)n + header;
	return 0;
}

/* For the inline form, which cannot name the hidden flag itself. */
const bool *const sysfast__initialized_ptr = &sysfast__initialized;

int sysfast__getsizeof_result(const sysfast_type *tp, int rc, int64_t n, size_t *size)
{
	return size_result(tp, rc, n, size);
}

/* What size_of does before calling sizeof_fn, when the object, its type
 * or sizeof_fn is NULL: sets the error. Out of line, as is every rare
 * outcome, so that the usual path saves fewer registers. */
static __attribute__((noinline, cold)) int size_of_bad(const sysfast_object *o)
{
	if (!o)
		sysfast_err_set(sysfast_ValueError, "getsizeof: object is NULL");
	else if (!o->type)
		sysfast_err_set(sysfast_ValueError, "getsizeof: object has a NULL type");
	else
		sysfast_err_format(sysfast_TypeError, "Type %.*s doesn't define __sizeof__",
		                   TYPE_NAME_MAX, type_name(o->type));
	return -1;
}

/* The body of sysfast_getsizeof, run with the caller's error hidden.
 * Writes *size only on success. The usual outcome - sizeof_fn returns 0,
 * sets no error and gives a size that fits with the header - is the
 * inline form's test, so both forms reach size_result for the same
 * cases. */
static inline __attribute__((always_inline)) int size_of(const sysfast_object *o, size_t *size)
{
	const sysfast_type *tp;
	int64_t n = 0;
	int rc;

	if (SYSFAST_UNLIKELY(!o || !(tp = o->type) || !tp->sizeof_fn))
		return size_of_bad(o);
	rc = tp->sizeof_fn(o, &n);
	/* A size within a GC header of SIZE_MAX goes to size_result, which
	 * tests it against the type's own header (never on 64 bits). */
	if (SYSFAST_UNLIKELY(((uintptr_t)(unsigned)rc | (uintptr_t)sysfast__audit_tls.err) || n < 0
	                     || (uint64_t)n > SIZE_MAX - SYSFAST_GC_HEADER_SIZE))
		return size_result(tp, rc, n, size);
	*size = (size_t)n + (tp->flags & SYSFAST_TYPE_GC ? SYSFAST_GC_HEADER_SIZE : 0);
	return 0;
}

/* sysfast_getsizeof with an error pending: hidden while sizeof_fn runs,
 * back after a success. Out of line: rare. */
static __attribute__((noinline, cold)) int getsizeof_hiding(const sysfast_object *o, size_t *size)
{
	struct sysfast__error saved;

	sysfast__err_save(&saved);
	if (size_of(o, size) < 0)
		return -1;
	sysfast__err_restore(&saved);
	return 0;
}

static __attribute__((noinline, cold)) int size_is_null(void)
{
	sysfast_err_set(sysfast_ValueError, "getsizeof: size is NULL");
	return -1;
}

/* On a 64-byte line of its own: its usual path is three lines of code and
 * the call costs a few cycles, so where it starts shows (4.2 against 4.8
 * ns, the same code starting 32 bytes into a line). */
__attribute__((aligned(64))) int sysfast_getsizeof(const sysfast_object *o, size_t *size)
{
	if (sysfast__check_initialized() < 0)
		return -1;
	if (SYSFAST_UNLIKELY(!size))
		return size_is_null();
	/* Usually no error is pending and there is nothing to hide. */
	if (SYSFAST_UNLIKELY(sysfast__audit_tls.err))
		return getsizeof_hiding(o, size);
	return size_of(o, size);
}

int sysfast_getsizeof_default(const sysfast_object *o, size_t dflt, size_t *size)
{
	struct sysfast__error saved;
	size_t n;

	if (sysfast__check_initialized() < 0)
		return -1;
	if (!size)
		return size_is_null();
	sysfast__err_save(&saved);
	if (size_of(o, &n) < 0) {
		if (!sysfast_err_matches(sysfast_TypeError))
			return -1;
		n = dflt;
	}
	/* Also drops the TypeError that `dflt` replaces. */
	sysfast__err_restore(&saved);
	*size = n;
	return 0;
}

/* ---- deepsizeof ---- */

/*
 * The set of objects already reached: open addressing with linear probing
 * over a power-of-two table of addresses (NULL marks an empty slot), at
 * most half full. Nothing on a Debian system fits better: liburcu's
 * cds_lfht is built for concurrent readers and allocates a node per
 * entry; glib's GHashTable would be a new dependency for one
 * private table; hsearch(3) keys by string and hsearch_r cannot grow. A
 * set that lives for one call, is used by one thread and only grows needs
 * none of that, and one flat array is the fastest thing to probe.
 */
struct ptrset {
	const sysfast_object **slots;
	size_t mask; /* capacity - 1; capacity 0 before the first add */
	size_t n;
};

/* The first table holds 32 objects; deep graphs double it as they go. */
#define PTRSET_MIN 64

static size_t ptr_hash(const void *p)
{
	/* Fibonacci hashing: objects are aligned and often allocated close
	 * together, so their low bits are poor on their own; the multiply
	 * spreads every bit upwards and the shift brings them back down. */
	uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h ^ (h >> 32));
}

/* The slot holding p, or the empty slot where p belongs. The table must
 * have a free slot. */
static size_t ptrset_slot(const struct ptrset *s, const sysfast_object *p)
{
	size_t i = ptr_hash(p) & s->mask;

	while (s->slots[i] && s->slots[i] != p)
		i = (i + 1) & s->mask;
	return i;
}

static int ptrset_grow(struct ptrset *s)
{
	size_t cap = s->slots ? (s->mask + 1) * 2 : PTRSET_MIN;
	struct ptrset bigger = {NULL, cap - 1, s->n};

	if (cap > SIZE_MAX / 2 / sizeof(*s->slots)
	    || !(bigger.slots = sysfast__calloc(cap, sizeof(*s->slots)))) {
		sysfast_err_set(sysfast_MemoryError, "deepsizeof: out of memory");
		return -1;
	}
	for (size_t i = 0; s->slots && i <= s->mask; i++)
		if (s->slots[i])
			bigger.slots[ptrset_slot(&bigger, s->slots[i])] = s->slots[i];
	sysfast__free(s->slots);
	*s = bigger;
	return 0;
}

/* Adds p (not NULL). Returns 1 if it was new, 0 if already there, or -1
 * with sysfast_MemoryError. */
static int ptrset_add(struct ptrset *s, const sysfast_object *p)
{
	size_t i;

	if (s->slots) {
		i = ptrset_slot(s, p);
		if (s->slots[i])
			return 0;
	}
	if ((s->n + 1) * 2 > (s->slots ? s->mask + 1 : 0)) {
		if (ptrset_grow(s) < 0)
			return -1;
	}
	/* Looked up again: growing moves everything. */
	s->slots[ptrset_slot(s, p)] = p;
	s->n++;
	return 1;
}

/* Objects reached but not yet sized and traversed. */
struct ptrstack {
	const sysfast_object **items;
	size_t n, cap;
};

static int ptrstack_push(struct ptrstack *st, const sysfast_object *p)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : PTRSET_MIN;
		const sysfast_object **items;

		if (cap > SIZE_MAX / 2 / sizeof(*items)
		    || !(items = sysfast__realloc(st->items, cap * sizeof(*items)))) {
			sysfast_err_set(sysfast_MemoryError, "deepsizeof: out of memory");
			return -1;
		}
		st->items = items;
		st->cap = cap;
	}
	st->items[st->n++] = p;
	return 0;
}

struct walk {
	struct ptrset seen;
	struct ptrstack pending;
	/* visit could not record a referent (MemoryError set) and asked
	 * the traverse to stop. */
	bool failed;
};

/* Queues o unless it was reached before. Returns 0 or -1 (MemoryError). */
static int walk_reach(struct walk *w, const sysfast_object *o)
{
	int r = ptrset_add(&w->seen, o);

	return r > 0 ? ptrstack_push(&w->pending, o) : r;
}

/* The visit function handed to traverse. It only queues: sizing happens
 * in the main loop, so callbacks never nest inside one another. */
static int visit(const sysfast_object *o, void *arg)
{
	struct walk *w = arg;

	if (w->failed)
		return -1;
	if (!o)
		return 0;
	if (walk_reach(w, o) < 0) {
		w->failed = true;
		return -1;
	}
	return 0;
}

static int traverse_one(struct walk *w, const sysfast_object *o)
{
	const sysfast_type *tp = o->type;
	int rc = tp->traverse(o, visit, w);

	if (w->failed) {
		/* Our stop, whatever the traverse returned; keep its error if
		 * it replaced ours. */
		if (!sysfast_err_occurred())
			sysfast_err_set(sysfast_MemoryError, "deepsizeof: out of memory");
		return -1;
	}
	return callback_result(rc, tp, "traverse");
}

/* Sizes everything reachable from root, each object once. */
static int walk_run(struct walk *w, const sysfast_object *root, size_t *total)
{
	size_t sum = 0, n;

	if (walk_reach(w, root) < 0)
		return -1;
	while (w->pending.n) {
		const sysfast_object *o = w->pending.items[--w->pending.n];

		/* Also checks that o has a type, which traverse_one needs. */
		if (size_of(o, &n) < 0)
			return -1;
		if (n > SIZE_MAX - sum) {
			sysfast_err_set(sysfast_OverflowError,
			                "deepsizeof: the total size does not fit in size_t");
			return -1;
		}
		sum += n;
		if (o->type->traverse && traverse_one(w, o) < 0)
			return -1;
	}
	*total = sum;
	return 0;
}

int sysfast_deepsizeof(const sysfast_object *o, size_t *size)
{
	struct sysfast__error saved;
	struct walk w = {0};
	size_t total;
	int rc;

	if (sysfast__check_initialized() < 0)
		return -1;
	if (!size || !o) {
		sysfast_err_set(sysfast_ValueError,
		                size ? "deepsizeof: object is NULL" : "deepsizeof: size is NULL");
		return -1;
	}
	sysfast__err_save(&saved);
	rc = walk_run(&w, o, &total);
	sysfast__free(w.seen.slots);
	sysfast__free(w.pending.items);
	if (rc < 0)
		return -1;
	sysfast__err_restore(&saved);
	*size = total;
	return 0;
}

size_t sysfast_alloc_usable_size(const void *p)
{
	/* malloc_usable_size only reads the block's bookkeeping; its
	 * parameter is not const for historical reasons. */
	return p ? malloc_usable_size((void *)(uintptr_t)p) : 0;
}
