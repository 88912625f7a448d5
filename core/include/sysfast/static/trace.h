/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the inline forms of the frame calls. NOT API: see
 * <sysfast/static/audit.h> for what the static headers are.
 *
 * A runtime calls sysfast_frame_enter and _leave on every call of every
 * function, nearly always with nothing set. A call into the library costs
 * more than the test it would make there, so with SYSFAST_INLINE the
 * usual case is tested at the call site, as the inline SYSFAST_AUDIT
 * does: the macros below (function-like macros with the functions' own
 * names, as C libraries do for getc) read the thread's tracing word, push
 * or pop the thread's frame chain, and call the library only when tracing
 * is active or the frame is NULL (for the error). The functions stay
 * exported: `(sysfast_frame_enter)(f)` and `&sysfast_frame_enter` reach
 * them. Both forms behave the same.
 */
#ifndef SYSFAST_STATIC_TRACE_H
#define SYSFAST_STATIC_TRACE_H

#include <sysfast/static/thread.h>
#include <sysfast/trace.h>

SYSFAST_BEGIN_DECLS

/* The head of the calling thread's frame chain: its innermost entered
 * frame. Only that thread reads or writes it. */
SYSFAST_API extern __thread sysfast_frame *sysfast__frame_top;

#if defined(SYSFAST_INLINE) && !defined(SYSFAST_BUILDING_LIBRARY)
static inline int sysfast__frame_enter_fast(sysfast_frame *f)
{
	if (SYSFAST_LIKELY(f && !sysfast__thread_trace_active())) {
		f->back = sysfast__frame_top;
		/* A plain store in effect; as a relaxed atomic one, it keeps
		 * GCC's -Wdangling-pointer (in -Wall) quiet at every call
		 * site whose pop it cannot see (that of the library). */
		__atomic_store_n(&sysfast__frame_top, f, __ATOMIC_RELAXED);
		return 0;
	}
	return (sysfast_frame_enter)(f);
}

static inline int sysfast__frame_leave_fast(sysfast_frame *f, const sysfast_arg *retval)
{
	if (SYSFAST_LIKELY(f && !sysfast__thread_trace_active())) {
		sysfast__frame_top = f->back;
		return 0;
	}
	return (sysfast_frame_leave)(f, retval);
}

static inline int sysfast__frame_line_fast(sysfast_frame *f, int lineno)
{
	if (SYSFAST_LIKELY(f && !sysfast__thread_trace_active())) {
		f->lineno = lineno;
		return 0;
	}
	return (sysfast_frame_line)(f, lineno);
}

#define sysfast_frame_enter(f) sysfast__frame_enter_fast(f)
#define sysfast_frame_leave(f, retval) sysfast__frame_leave_fast((f), (retval))
#define sysfast_frame_line(f, lineno) sysfast__frame_line_fast((f), (lineno))
#define sysfast_tracing_active() sysfast__thread_trace_active()
#endif

SYSFAST_END_DECLS

#endif /* SYSFAST_STATIC_TRACE_H */
