/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - objects and getsizeof (sys.getsizeof as a protocol).
 *
 * An object is any struct whose first member is a sysfast_object: a
 * pointer to its type. A type says how big its instances are (sizeof_fn,
 * CPython's __sizeof__), whether they carry a GC header, and how to reach
 * the objects they refer to (traverse, CPython's tp_traverse).
 *
 * Callbacks (sizeof_fn, traverse) run with the caller's pending error
 * hidden; it is still there after a successful call. A callback that
 * returns nonzero without setting an error, or 0 with an error set, makes
 * the call fail with sysfast_SystemError (in the second case its message
 * ends with the callback's error: "...: RuntimeError: text"). Like
 * everything outside the error functions, the getsizeof functions need
 * sysfast_init.
 */
#ifndef SYSFAST_OBJECT_H
#define SYSFAST_OBJECT_H

#include <sysfast/common.h>

SYSFAST_BEGIN_DECLS

typedef struct sysfast_object {
	const struct sysfast_type *type;
} sysfast_object;

/* Called by traverse for each object `self` refers to: returns 0 to go on,
 * nonzero to stop (traverse then returns that value). */
typedef int (*sysfast_visit_fn)(const sysfast_object *o, void *arg);

typedef struct sysfast_type {
	const char *name;
	unsigned flags; /* SYSFAST_TYPE_GC: instances carry a GC header */
	/* __sizeof__: stores the instance's size in *size and returns 0, or
	 * returns -1 with an error set. NULL: the type has no __sizeof__. */
	int (*sizeof_fn)(const sysfast_object *self, int64_t *size);
	/* Calls visit on each referent (NULL referents may be passed and are
	 * skipped, like Py_VISIT) and returns 0, or the first nonzero value
	 * visit returned; -1 with an error set on its own failure. NULL: the
	 * type refers to nothing. */
	int (*traverse)(const sysfast_object *self, sysfast_visit_fn visit, void *arg);
} sysfast_type;

enum { SYSFAST_TYPE_GC = 1u << 0 };

/* Bytes sysfast_getsizeof adds for an instance of a SYSFAST_TYPE_GC type:
 * the size of CPython 3.11's PyGC_Head on 64-bit platforms. */
#define SYSFAST_GC_HEADER_SIZE 16

/* sys.getsizeof(o): stores o's __sizeof__ (type->sizeof_fn), plus
 * SYSFAST_GC_HEADER_SIZE for a SYSFAST_TYPE_GC type, in *size and returns
 * 0. Returns -1 with the error set, *size untouched:
 * - sysfast_ValueError for a NULL `o`, `size` or o->type;
 * - sysfast_TypeError "Type NAME doesn't define __sizeof__" (NAME cut at
 *   100 bytes) when sizeof_fn is NULL;
 * - sizeof_fn's own error when it returns nonzero with one set;
 *   sysfast_SystemError when it returns nonzero without one, or 0 with one
 *   set;
 * - sysfast_ValueError "__sizeof__() should return >= 0" for a negative size;
 * - sysfast_OverflowError when size plus header does not fit in size_t;
 * - sysfast_SystemError before sysfast_init.
 * Thread-safe as far as sizeof_fn is. Never allocates.
 *
 * Defining SYSFAST_INLINE before including any libsysfast header gives
 * the inline form (<sysfast/static/object.h>): the usual call - no error
 * pending, sizeof_fn succeeding - runs at the call site, the rest in the
 * library. It is faster, ties the program to this version's internal
 * symbols (docs/building.md, "Inline dispatch"), and behaves
 * identically. */
SYSFAST_API int sysfast_getsizeof(const sysfast_object *o, size_t *size);

/* sys.getsizeof(o, default): sysfast_getsizeof, except that where it would
 * fail with sysfast_TypeError (or a subclass) this stores `dflt` in *size,
 * leaves the caller's error as it was and returns 0. Every other error
 * propagates, a NULL `size` included. Never allocates. */
SYSFAST_API int sysfast_getsizeof_default(const sysfast_object *o, size_t dflt, size_t *size);

/* Stores in *size the sum of sysfast_getsizeof over `o` and every object
 * reachable from it through traverse, each counted once (shared referents
 * and cycles included), and returns 0. Any error from sysfast_getsizeof or
 * from a traverse fails the call with that error (a traverse returning
 * nonzero without one, or 0 with one set, gives sysfast_SystemError); a
 * total that does not fit in size_t gives sysfast_OverflowError; out of
 * memory gives sysfast_MemoryError, with everything as it was. Works
 * without recursion: graph depth is limited by memory only, not by the C
 * stack. The graph must not change during the call. Allocates working
 * memory (16 to 40 bytes per object reached), all freed before it
 * returns. */
SYSFAST_API int sysfast_deepsizeof(const sysfast_object *o, size_t *size);

/* The allocator's real size of a block from malloc: malloc_usable_size(p),
 * or 0 for NULL. `p` must be NULL or a live block from malloc, calloc or
 * realloc. Never fails, works before sysfast_init, never allocates. */
SYSFAST_API size_t sysfast_alloc_usable_size(const void *p);

SYSFAST_END_DECLS

#ifdef SYSFAST_INLINE
#include <sysfast/static/object.h>
#endif

#endif /* SYSFAST_OBJECT_H */
