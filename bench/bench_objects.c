/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast's interning, getsizeof and tracing benchmarks. Their CPython
 * counterparts (bench_cpython.c) do the same work through CPython 3.11's
 * C API:
 *
 * sysfast/intern/known: sysfast_intern() of a name that is already
 * interned (a reference is held for the whole run, so it stays so), then
 * the reference is dropped again. The lookup path: what a runtime pays to
 * turn an identifier it has just read into its canonical string. CPython:
 * PyUnicode_InternFromString() of the same name, then Py_DECREF.
 *
 * sysfast/intern/find: sysfast_intern_find() of the same name, and the
 * reference dropped. CPython has no lookup that never inserts; no baseline.
 *
 * sysfast/getsizeof/str: sysfast_getsizeof() of that interned string.
 * CPython: _PySys_GetSizeOf() (the body of sys.getsizeof) of its str.
 *
 * sysfast/trace/enter_leave/none: sysfast_frame_enter() and
 * sysfast_frame_leave() of one frame with no tracer and no profiler: what
 * every call of a runtime that embeds libsysfast pays while nobody
 * traces (one load and a branch each). .../profiler: the same with a
 * no-op profiler set, which gets 'call' and 'return'. CPython reports
 * these events from inside its eval loop, with no C entry point to time
 * alone: no baseline.
 *
 * The loop and the dead-code guard are those of bench_limits.c.
 */
#include "bench.h"
#include "hooks.h"
#include "shim.h"

/* The library is linked: its functions are called by name. */
#define BENCH_CALL(name) (name)
#include "lib_calls.h"

/* The string every benchmark here works on: held for the whole run. */
static sysfast_str *bench_held;

static void setup_held(sysfast_bench_state *st)
{
	sysfast_fini();
	if (sysfast_init() != 0) {
		sysfast_bench_skip(st, sysfast_err_message());
		return;
	}
	if (!bench_held)
		bench_held = sysfast_intern_cstr(BENCH_INTERN_NAME);
	if (!bench_held)
		sysfast_bench_skip(st, sysfast_err_message());
}

BENCH_INTERN_BODY(bm_intern_known, sysfast_intern, bench_held, "interning gave another string")
BENCH_INTERN_BODY(bm_intern_find, sysfast_intern_find, bench_held, "the lookup gave another string")

static void bm_getsizeof_str(sysfast_bench_state *st)
{
	const sysfast_object *o = (const sysfast_object *)bench_held;
	size_t want = 0;
	uintptr_t acc = 0;

	if (sysfast_getsizeof(o, &want) != 0)
		sysfast_bench_skip(st, sysfast_err_message());
	SYSFAST_BENCH_LOOP(st)
	{
		size_t size = 0;
		int rc = sysfast_getsizeof(o, &size);

		SYSFAST_BENCH_CONSUME(acc, (uintptr_t)(unsigned)rc | (size ^ want));
	}
	sysfast_bench_expect_zero(st, acc != 0, "getsizeof failed or changed");
}

static int bench_profile_noop(void *data, sysfast_frame *frame, sysfast_trace_what what,
                              const sysfast_arg *arg)
{
	(void)frame, (void)arg;
	*(volatile unsigned *)data += (unsigned)what;
	return 0;
}

static void setup_profiler(sysfast_bench_state *st)
{
	static unsigned events;

	setup_held(st);
	if (sysfast_setprofile(bench_profile_noop, &events) != 0)
		sysfast_bench_skip(st, sysfast_err_message());
}

static void bm_enter_leave(sysfast_bench_state *st)
{
	sysfast_frame f;
	int acc = 0;

	sysfast_frame_init(&f, "f", "bench.py", 1);
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = sysfast_frame_enter(&f);

		rc |= sysfast_frame_leave(&f, NULL);
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "a frame event failed");
}

static void reg(const char *name, sysfast_bench_fn fn)
{
	sysfast_bench_register(name, fn, &(sysfast_bench_options){.setup = setup_held});
}

void bench_objects_register(void)
{
	reg("sysfast/intern/known", bm_intern_known);
	reg("sysfast/intern/find", bm_intern_find);
	reg("sysfast/getsizeof/str", bm_getsizeof_str);
	reg("sysfast/trace/enter_leave/none", bm_enter_leave);
	sysfast_bench_register("sysfast/trace/enter_leave/profiler", bm_enter_leave,
	                       &(sysfast_bench_options){.setup = setup_profiler});
}
