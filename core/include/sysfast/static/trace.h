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
 * names, as C libraries do for getc) test the thread's tracing state, push
 * or pop the thread's frame chain, and call the library only when tracing
 * is active or the frame is NULL (for the error). sysfast_frame_line goes
 * further: it delivers `line` to the frame's local tracer itself, through
 * the same inline code the library's sysfast_frame_line runs, and calls
 * the library only off the usual case. The functions stay exported:
 * `(sysfast_frame_enter)(f)` and `&sysfast_frame_enter` reach them. Both
 * forms behave the same.
 */
#ifndef SYSFAST_STATIC_TRACE_H
#define SYSFAST_STATIC_TRACE_H

#include <sysfast/static/thread.h>
#include <sysfast/trace.h>

SYSFAST_BEGIN_DECLS

/* The head of the calling thread's frame chain: its innermost entered
 * frame. Only that thread reads or writes it. */
SYSFAST_API extern __thread sysfast_frame *sysfast__frame_top;

/* The library's side of sysfast__frame_local_event: the general case (an
 * error pending, a callback running, f not the innermost frame) and a
 * failed tracer. Exported for the inline paths. */
SYSFAST_API SYSFAST_NOPLT int sysfast__frame_local_slow(sysfast_frame *f, sysfast_trace_what what,
                                                        const sysfast_arg *arg);
SYSFAST_API SYSFAST_NOPLT int sysfast__frame_local_failed(sysfast_frame *f, int r);

/*
 * An event for f's local tracer (line, opcode, exception, return), with
 * a tracer set and tracing not suspended (sysfast__thread_tracer_active):
 * the library's frame calls and the inline ones below deliver it here,
 * the same code. The usual case - no error pending, no callback running,
 * f the innermost frame - needs nothing saved: the counter goes from 0
 * to 1 and back (nothing the tracer calls is traced), and
 * sysfast_frame_current() in the tracer is the chain's head, f. Every
 * other case is the library's, which behaves the same.
 */
static inline __attribute__((always_inline)) int
sysfast__frame_local_event(sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	sysfast_trace_fn fn = f->local.fn;
	int r;

	if (!fn)
		return 0;
	/* One test for the three ways off the usual case. */
	if (SYSFAST_UNLIKELY((uintptr_t)th->err | (uintptr_t)th->current
	                     | ((uintptr_t)f ^ (uintptr_t)sysfast__frame_top)))
		return sysfast__frame_local_slow(f, what, arg);
	sysfast__tracing_suspend(th, 0);
	r = fn(f->local.data, f, what, arg);
	sysfast__tracing_resume(th, 0);
	/* Both ways a tracer fails, in one branch. */
	if (SYSFAST_UNLIKELY((uintptr_t)(unsigned)r | (uintptr_t)th->err))
		return sysfast__frame_local_failed(f, r);
	return 0;
}

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

/* The line, and the tracer's `line` event delivered here: a runtime
 * reports lines far more often than anything else. Only a NULL frame
 * goes to the library (for its error). */
static inline int sysfast__frame_line_fast(sysfast_frame *f, int lineno)
{
	if (SYSFAST_LIKELY(f != NULL)) {
		f->lineno = lineno;
		if (SYSFAST_LIKELY(!sysfast__thread_tracer_active()) || !f->trace_lines)
			return 0;
		return sysfast__frame_local_event(f, SYSFAST_TRACE_LINE, NULL);
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
