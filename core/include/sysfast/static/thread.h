/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the calling thread's hot state, for the inline forms. NOT
 * API: see <sysfast/static/audit.h> for what the static headers are and
 * who may include them.
 *
 * What every fast path reads of the calling thread is one small struct in
 * initial-exec (or descriptor) TLS, owned by the library's thread layer.
 * The audit dispatch reads the view and the error; the tracing fast paths
 * read the suspension counter and the set bits as one word. Other code
 * goes through the accessors below, not through the word's layout.
 */
#ifndef SYSFAST_STATIC_THREAD_H
#define SYSFAST_STATIC_THREAD_H

#include <sysfast/common.h>
#include <sysfast/error.h>

SYSFAST_BEGIN_DECLS

struct sysfast__audit_view;

struct sysfast__audit_thread {
	/* The bound interpreter's view of the audit slots; NULL until the
	 * thread is set up (registered with liburcu) and bound. */
	const struct sysfast__audit_view *view;
	/* The pending error's type (the error indicator); NULL when clear. */
	const sysfast_exc_type *err;
	union {
		struct {
			/* >0 while tracing and profiling are suspended
			 * (inside a tracer, a profiler or a hook without
			 * SYSFAST_HOOK_CANTRACE). Only the owner writes it. */
			unsigned tracing;
			/* Which of the thread's tracer (1) and profiler (2)
			 * are set. Other threads write it too (the
			 * all-threads setters), atomically. */
			unsigned trace_set;
		};
		/* Both, so that "set and not suspended" is one load. */
		uint64_t trace_word;
	};
};

SYSFAST_API extern __thread struct sysfast__audit_thread sysfast__audit_tls;

/* Whether tracing is active on the calling thread: a tracer or profiler
 * set and the counter at 0. One relaxed load of the word. */
static inline bool sysfast__thread_trace_active(void)
{
	uint64_t w = __atomic_load_n(&sysfast__audit_tls.trace_word, __ATOMIC_RELAXED);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (w & UINT64_C(0xffffffff)) == 0 && w != 0;
#else
	return (w >> 32) == 0 && w != 0;
#endif
}

SYSFAST_END_DECLS

#endif /* SYSFAST_STATIC_THREAD_H */
