/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the inline form of sysfast_getsizeof. NOT API: see
 * <sysfast/static/audit.h> for what the static headers are and who may
 * include them.
 *
 * With SYSFAST_INLINE defined before any libsysfast header,
 * sysfast_getsizeof(o, size) is the inline function below. The usual
 * call - the runtime initialised, no error pending, a type with a
 * sizeof_fn that returns 0, sets no error and gives a size that fits -
 * runs at the call site: the initialised flag and the thread's pending
 * error read, the NULL tests, the one indirect call to sizeof_fn, its
 * result tested and the GC-header rule, with no call into the library
 * (docs/benchmarks.md, "The three ratios of issue 15"). Every
 * other case calls the library, which behaves the same: before sizeof_fn
 * runs, sysfast_getsizeof itself; after, sysfast__getsizeof_result, the
 * very code that judges sizeof_fn's outcome in the library's own path.
 * (sysfast_getsizeof) and &sysfast_getsizeof still name the library's
 * function. Including this header without SYSFAST_INLINE gives the
 * inline function without switching the name.
 */
#ifndef SYSFAST_STATIC_OBJECT_H
#define SYSFAST_STATIC_OBJECT_H

#include <sysfast/object.h>
#include <sysfast/static/thread.h>

SYSFAST_BEGIN_DECLS

/* Points at the library's flag that is nonzero while the runtime is
 * initialised (what sysfast_is_initialized returns): set by sysfast_init,
 * cleared at the end of sysfast_fini; read with acquire, as the library
 * does. A constant pointer rather than the flag itself, exported: the
 * library keeps its own accesses direct, and a program's copy of the
 * pointer (a copy relocation) still points at the one flag. */
SYSFAST_API extern const bool *const sysfast__initialized_ptr;

/* What sysfast_getsizeof does once the type's sizeof_fn, called with no
 * error pending, returned `rc` and stored `n`: stores n plus the GC
 * header in *size and returns 0, or fails as sysfast_getsizeof does
 * (sysfast_SystemError for a broken callback, the callback's own error,
 * sysfast_ValueError for a negative size, sysfast_OverflowError). */
SYSFAST_API SYSFAST_NOPLT int sysfast__getsizeof_result(const sysfast_type *tp, int rc, int64_t n,
                                                        size_t *size);

static inline int sysfast__getsizeof_inline(const sysfast_object *o, size_t *size)
{
	const sysfast_type *tp;
	int (*fn)(const sysfast_object *, int64_t *);
	int64_t n = 0;
	int rc;

	/* The library's order of checks does not matter here: any of them
	 * failing hands the whole call to the library, nothing having run. */
	if (SYSFAST_UNLIKELY(!__atomic_load_n(sysfast__initialized_ptr, __ATOMIC_ACQUIRE)
	                     || sysfast__audit_tls.err || !size || !o || !(tp = o->type)
	                     || !(fn = tp->sizeof_fn)))
		return sysfast_getsizeof(o, size);
	rc = fn(o, &n);
	/* A nonzero return or an error left, in one test; then the size. */
	if (SYSFAST_UNLIKELY(((uintptr_t)(unsigned)rc | (uintptr_t)sysfast__audit_tls.err) || n < 0
	                     || (uint64_t)n > (uint64_t)(SIZE_MAX - SYSFAST_GC_HEADER_SIZE)))
		return sysfast__getsizeof_result(tp, rc, n, size);
	*size = (size_t)n
	        + ((tp->flags & SYSFAST_TYPE_GC) ? (size_t)SYSFAST_GC_HEADER_SIZE : (size_t)0);
	return 0;
}

#ifdef SYSFAST_INLINE
/* A function-like macro: the name followed by '(' is the inline form. */
#define sysfast_getsizeof(o, size) sysfast__getsizeof_inline((o), (size))
#endif

SYSFAST_END_DECLS

#endif /* SYSFAST_STATIC_OBJECT_H */
