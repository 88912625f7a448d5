/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The thread's frame chain with nothing tracing: what every call of a
 * runtime that embeds libsysfast pays while nobody traces, against what
 * the same runtime pays for its own frame stack without libsysfast.
 * Every benchmark here runs one body per iteration: a call's frame is
 * entered (its caller's frame is the innermost one), reports two lines
 * and is left.
 *
 * sysfast/frames/untraced: the body through libsysfast, no tracer and no
 * profiler set: sysfast_frame_enter, sysfast_frame_line twice,
 * sysfast_frame_leave, as <sysfast/static/trace.h> inlines them.
 *
 * limit/frames/runtime_own: the body as a runtime without libsysfast
 * writes it, inline: the frame pushed on its thread state's chain, the
 * lines stored, the frame popped, and before each of the four events the
 * three flags that such a runtime tests (a tracer set? a profiler set?
 * tracing suspended?), as CPython 3.11 tests tstate->c_tracefunc,
 * c_profilefunc and tracing. Its thread state is the runtime's own
 * thread-local variable. The target: sysfast/frames/untraced at most
 * 1.5 times this (tools/bench-report.py).
 *
 * limit/frames/runtime_own_cached: the same with the three flags folded
 * into one byte that the runtime's setters keep up to date, as CPython
 * 3.11 caches them in cframe.use_tracing: the cheapest such runtime.
 * Shown for reference, no target.
 *
 * sysfast/frames/untraced_call: the libsysfast body through the exported
 * functions, `(sysfast_frame_enter)(f)`, as a program built without
 * SYSFAST_INLINE (or one taking their addresses) calls them: shown, no
 * target.
 *
 * The loops have the same shape and the same dead-code guard: every
 * event's result is ORed into one accumulator, checked after the loop,
 * and memory is clobbered once per iteration, so no load of the chain or
 * the flags is hoisted out of the loop and no store is sunk out of it.
 */
/* The inline forms of SYSFAST_AUDIT and of the frame calls: what these
 * rows measure (docs/building.md, "Inline dispatch"). */
#define SYSFAST_INLINE 1

#include <sysfast/sysfast.h>

#include "bench.h"
#include "shim.h"

/* ---- the runtime's own frame stack ---- */

struct own_thread {
	sysfast_frame *top;
	sysfast_trace_fn tracer, profiler;
	unsigned tracing; /* > 0: suspended */
	bool use_tracing; /* the three above, folded by the setters */
};

static __thread struct own_thread own_tls;

static inline bool own_active(const struct own_thread *ts)
{
	return (ts->tracer || ts->profiler) && !ts->tracing;
}

static inline bool own_active_cached(const struct own_thread *ts)
{
	return ts->use_tracing;
}

/* What the runtime would do with an event while something traces; never
 * reached here (nothing is set), but the compiler cannot know that. */
__attribute__((noipa)) static int own_event(struct own_thread *ts, sysfast_frame *f,
                                            sysfast_trace_what what)
{
	sysfast_trace_fn fn = ts->tracer ? ts->tracer : ts->profiler;
	int r;

	ts->tracing++;
	r = fn(NULL, f, what, NULL);
	ts->tracing--;
	return r;
}

/* The runtime's loop, with `active` as its test (inlined: a constant). */
static inline __attribute__((always_inline)) void
own_loop(sysfast_bench_state *st, bool (*active)(const struct own_thread *))
{
	struct own_thread *ts = &own_tls;
	sysfast_frame caller, f;
	int acc = 0;

	sysfast_frame_init(&caller, "caller", "bench.py", 1);
	sysfast_frame_init(&f, "f", "bench.py", 1);
	ts->top = &caller;
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = 0;

		f.back = ts->top;
		ts->top = &f;
		if (SYSFAST_UNLIKELY(active(ts)))
			rc |= own_event(ts, &f, SYSFAST_TRACE_CALL);
		f.lineno = 2;
		if (SYSFAST_UNLIKELY(active(ts)))
			rc |= own_event(ts, &f, SYSFAST_TRACE_LINE);
		f.lineno = 3;
		if (SYSFAST_UNLIKELY(active(ts)))
			rc |= own_event(ts, &f, SYSFAST_TRACE_LINE);
		if (SYSFAST_UNLIKELY(active(ts)))
			rc |= own_event(ts, &f, SYSFAST_TRACE_RETURN);
		ts->top = f.back;
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	ts->top = NULL;
	sysfast_bench_expect_zero(st, acc, "a frame event failed");
}

static void bm_runtime_own(sysfast_bench_state *st)
{
	own_loop(st, own_active);
}

static void bm_runtime_own_cached(sysfast_bench_state *st)
{
	own_loop(st, own_active_cached);
}

/* ---- libsysfast ---- */

static void setup_runtime(sysfast_bench_state *st)
{
	sysfast_fini();
	if (sysfast_init() != 0)
		sysfast_bench_skip(st, sysfast_err_message());
}

static void bm_untraced(sysfast_bench_state *st)
{
	sysfast_frame caller, f;
	int acc = 0;

	sysfast_frame_init(&caller, "caller", "bench.py", 1);
	sysfast_frame_init(&f, "f", "bench.py", 1);
	acc |= sysfast_frame_enter(&caller);
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = sysfast_frame_enter(&f);

		rc |= sysfast_frame_line(&f, 2);
		rc |= sysfast_frame_line(&f, 3);
		rc |= sysfast_frame_leave(&f, NULL);
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	acc |= sysfast_frame_leave(&caller, NULL);
	sysfast_bench_expect_zero(st, acc, "a frame event failed");
}

static void bm_untraced_call(sysfast_bench_state *st)
{
	sysfast_frame caller, f;
	int acc = 0;

	sysfast_frame_init(&caller, "caller", "bench.py", 1);
	sysfast_frame_init(&f, "f", "bench.py", 1);
	acc |= (sysfast_frame_enter)(&caller);
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = (sysfast_frame_enter)(&f);

		rc |= (sysfast_frame_line)(&f, 2);
		rc |= (sysfast_frame_line)(&f, 3);
		rc |= (sysfast_frame_leave)(&f, NULL);
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	acc |= (sysfast_frame_leave)(&caller, NULL);
	sysfast_bench_expect_zero(st, acc, "a frame event failed");
}

void bench_frames_register(void)
{
	const sysfast_bench_options fresh = {.setup = setup_runtime};

	sysfast_bench_register("limit/frames/runtime_own", bm_runtime_own, NULL);
	sysfast_bench_register("limit/frames/runtime_own_cached", bm_runtime_own_cached, NULL);
	sysfast_bench_register("sysfast/frames/untraced", bm_untraced, &fresh);
	sysfast_bench_register("sysfast/frames/untraced_call", bm_untraced_call, &fresh);
}
