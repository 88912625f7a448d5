/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the calling thread's hot state, for the inline forms. NOT
 * API: see <sysfast/static/audit.h> for what the static headers are and
 * who may include them.
 *
 * What every fast path reads of the calling thread is one small struct in
 * initial-exec (or descriptor) TLS, owned by the library's thread layer.
 * The audit dispatch reads the view and the error; the tracing fast paths
 * read the suspension counter and the set bits. Other code goes through
 * the accessors below, never through the fields.
 */
#ifndef SYSFAST_STATIC_THREAD_H
#define SYSFAST_STATIC_THREAD_H

#include <sysfast/common.h>
#include <sysfast/error.h>

SYSFAST_BEGIN_DECLS

struct sysfast__audit_view;
struct sysfast_frame;

/* Bits of `trace_set`: which callbacks the thread has. */
#define SYSFAST__TRACE_SET_TRACER 1u
#define SYSFAST__TRACE_SET_PROFILER 2u

struct sysfast__audit_thread {
	/* The bound interpreter's view of the audit slots; NULL until the
	 * thread is set up (registered with liburcu) and bound. */
	const struct sysfast__audit_view *view;
	/* The pending error's type (the error indicator); NULL when clear. */
	const sysfast_exc_type *err;
	/* >0 while tracing and profiling are suspended (inside a tracer, a
	 * profiler or a hook without SYSFAST_HOOK_CANTRACE): CPython's
	 * tstate->tracing. Only the owner reads or writes it. */
	unsigned tracing;
	/* Which of the thread's tracer and profiler are set
	 * (SYSFAST__TRACE_SET_*). Other threads write it too (the
	 * all-threads setters), so it is read and written atomically. Two
	 * fields, not one 64-bit word read in one load: the counter is
	 * stored as 32 bits around every callback and hook, and a 64-bit
	 * load of a word whose half was just stored cannot be served from
	 * the store buffer (a store-forwarding stall, ~10 cycles, on every
	 * traced event). */
	unsigned trace_set;
	/* The frame whose tracer or profiler runs (NULL outside them) and
	 * the chain's head when it started: sysfast_frame_current gives
	 * `current` until the callback enters frames of its own. Only the
	 * owner reads or writes them. A callback for the innermost frame,
	 * called outside any other, leaves them NULL: the chain's head is
	 * then already the answer. */
	struct sysfast_frame *current, *current_top;
};

SYSFAST_API extern __thread struct sysfast__audit_thread sysfast__audit_tls;

/* ---- the suspension counter (CPython's tstate->tracing) ---- */

/* How deeply tracing is suspended on the thread: 0 when it is not. */
static inline unsigned sysfast__tracing_depth(const struct sysfast__audit_thread *th)
{
	return th->tracing;
}

/* A callback or hook starts at depth `outer`: nothing it calls is traced
 * until the matching sysfast__tracing_resume(th, outer). */
static inline void sysfast__tracing_suspend(struct sysfast__audit_thread *th, unsigned outer)
{
	th->tracing = outer + 1;
}

/* Back to depth `depth` (0: tracing resumes). Also lifts the suspension
 * for what a CANTRACE hook or sysfast_call_tracing runs. */
static inline void sysfast__tracing_resume(struct sysfast__audit_thread *th, unsigned depth)
{
	th->tracing = depth;
}

/* ---- which callbacks are set ---- */

/* Stores which callbacks thread `th` has (any thread may call it, under
 * that thread's trace lock). */
static inline void sysfast__tracing_store_set(struct sysfast__audit_thread *th, unsigned set)
{
	__atomic_store_n(&th->trace_set, set, __ATOMIC_RELAXED);
}

/* Which callbacks the calling thread has (SYSFAST__TRACE_SET_*), whether
 * or not tracing is suspended. */
static inline unsigned sysfast__thread_trace_set(void)
{
	return __atomic_load_n(&sysfast__audit_tls.trace_set, __ATOMIC_RELAXED);
}

/* Whether tracing is active on the calling thread: a tracer or profiler
 * set and the counter at 0. The set bits first: with nothing set, the
 * usual case, that is one load and one branch, and the counter is not
 * read. */
static inline bool sysfast__thread_trace_active(void)
{
	return SYSFAST_UNLIKELY(sysfast__thread_trace_set() != 0)
	       && sysfast__audit_tls.tracing == 0;
}

/* Whether a tracer is set and not suspended: the events that go only to
 * tracers (line, opcode, exception) test this; with no tracer set, one
 * load and one branch. */
static inline bool sysfast__thread_tracer_active(void)
{
	return SYSFAST_UNLIKELY(sysfast__thread_trace_set() & SYSFAST__TRACE_SET_TRACER)
	       && sysfast__audit_tls.tracing == 0;
}

SYSFAST_END_DECLS

#endif /* SYSFAST_STATIC_THREAD_H */
