/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast's audit benchmarks.
 *
 * Hooks cannot be removed, so each benchmark's set-up starts a fresh
 * runtime (sysfast_fini drops every hook, sysfast_init starts again) and
 * adds the hooks it needs. Each event is raised from one call site, a
 * static inline function that the body calls once before the loop: that
 * warm-up caches the site's event id and sets the thread up, as in a
 * long-running program, and keeps first-use costs out of the figures.
 *
 * The loop and the dead-code guard are those of the reference limits
 * (bench_limits.c).
 */
/* The inline forms of SYSFAST_AUDIT and of the frame calls: what these
 * rows measure (docs/building.md, "Inline dispatch"). */
#define SYSFAST_INLINE 1

#include <stdio.h>

#include "bench.h"
#include "hooks.h"
#include "shim.h"

/* The library is linked: its functions are called by name. */
#define BENCH_CALL(name) (name)
#include "lib_calls.h"

/* ---- set-up ---- */

static bool bench_fresh_runtime(sysfast_bench_state *st)
{
	sysfast_fini();
	if (sysfast_init() != 0) {
		sysfast_bench_skip(st, sysfast_err_message());
		return false;
	}
	return true;
}

static bool bench_add_hook(sysfast_bench_state *st, const char *const *events, size_t n_events)
{
	const sysfast_hook_options opts = {0, events, n_events};

	if (sysfast_add_audit_hook_ex(bench_hook_noop, NULL, events ? &opts : NULL) != 0) {
		sysfast_bench_skip(st, sysfast_err_occurred() ? sysfast_err_message()
		                                              : "a hook was refused");
		return false;
	}
	return true;
}

/* arg: the number of no-op hooks listening to every event. */
void bench_setup_hooks(sysfast_bench_state *st)
{
	size_t n = (size_t)(uintptr_t)sysfast_bench_arg(st);

	if (!bench_fresh_runtime(st))
		return;
	for (size_t k = 0; k < n; k++)
		if (!bench_add_hook(st, NULL, 0))
			return;
}

/* One hook, listening only to another event. */
static void setup_other_events(sysfast_bench_state *st)
{
	static const char *const other[] = {BENCH_OTHER_EVENT};

	if (bench_fresh_runtime(st))
		bench_add_hook(st, other, 1);
}

/* 50 hooks, each filtered to its own one of 50 events bench.f0..f49. */
static void setup_filtered_50(sysfast_bench_state *st)
{
	if (!bench_fresh_runtime(st))
		return;
	for (int k = 0; k < 50; k++) {
		char name[32];
		const char *const events[] = {name};
		snprintf(name, sizeof(name), "bench.f%d", k);
		if (!bench_add_hook(st, events, 1))
			return;
	}
}

/* ---- call sites ---- */

static inline int raise_args0(void)
{
	return SYSFAST_AUDIT(BENCH_EVENT);
}

static inline int raise_args2(void)
{
	return SYSFAST_AUDIT(BENCH_EVENT, SYSFAST_STR("x"), SYSFAST_INT(1));
}

static inline int raise_args4(void)
{
	return SYSFAST_AUDIT(BENCH_EVENT, SYSFAST_STR("x"), SYSFAST_INT(1), SYSFAST_STR("x"),
	                     SYSFAST_INT(1));
}

/* The 18th of the 50 filtered events: exactly one hook listens. */
static inline int raise_filtered(void)
{
	return SYSFAST_AUDIT("bench.f17", SYSFAST_STR("x"), SYSFAST_INT(1));
}

/* sysfast_audit with a format, as a C program writes it: a literal event
 * and format, so the macro's call site keeps the id and the format's
 * verdict, and each call reads the arguments and dispatches (audit.h). */
static inline int raise_format(void)
{
	return sysfast_audit(BENCH_EVENT, "(si)", "x", 1);
}

/* ---- bodies ---- */

#define BENCH_AUDIT_BODY(fn, raise)                                                                \
	static void fn(sysfast_bench_state *st)                                                    \
	{                                                                                          \
		int acc = 0;                                                                       \
		if (raise() != 0)                                                                  \
			sysfast_bench_skip(st, sysfast_err_message());                             \
		SYSFAST_BENCH_LOOP(st)                                                             \
		{                                                                                  \
			int rc = raise();                                                          \
			SYSFAST_BENCH_CONSUME(acc, rc);                                            \
		}                                                                                  \
		sysfast_bench_expect_zero(st, acc, "an audit call failed");                        \
	}

BENCH_AUDIT_BODY(bm_audit_args0, raise_args0)
BENCH_AUDIT_BODY(bm_audit_args2, raise_args2)
BENCH_AUDIT_BODY(bm_audit_args4, raise_args4)
BENCH_AUDIT_BODY(bm_audit_filtered, raise_filtered)
BENCH_AUDIT_BODY(bm_audit_format, raise_format)
BENCH_AUDIT_FORMAT_FN_BODY(bm_audit_format_fn)
BENCH_AUDIT_ARGS_BODY(bm_audit_prebuilt)
BENCH_EVENT_INTERN_BODY(bm_event_intern)

/* ---- registration ---- */

static void reg(const char *name, sysfast_bench_fn fn, sysfast_bench_fn setup, uintptr_t arg)
{
	sysfast_bench_register(name, fn,
	                       &(sysfast_bench_options){.arg = (const void *)arg, .setup = setup});
}

void bench_audit_register(const int *threads, size_t n_threads)
{
	static const int hook_counts[] = {1, 2, 4, 8};
	static const struct {
		int nargs;
		sysfast_bench_fn fn;
	} bodies[] = {{0, bm_audit_args0}, {2, bm_audit_args2}, {4, bm_audit_args4}};

	reg("sysfast/audit/nohook", bm_audit_args2, bench_setup_hooks, 0);
	reg("sysfast/audit/other_events", bm_audit_args2, setup_other_events, 0);
	for (size_t h = 0; h < sizeof(hook_counts) / sizeof(hook_counts[0]); h++) {
		for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
			char name[64];
			snprintf(name, sizeof(name), "sysfast/audit/hooks:%d/args:%d",
			         hook_counts[h], bodies[b].nargs);
			reg(name, bodies[b].fn, bench_setup_hooks, (uintptr_t)hook_counts[h]);
		}
	}
	reg("sysfast/audit_format/hooks:1", bm_audit_format, bench_setup_hooks, 1);
	reg("sysfast/audit_format_fn/hooks:1", bm_audit_format_fn, bench_setup_hooks, 1);
	reg("sysfast/audit_args/nohook", bm_audit_prebuilt, bench_setup_hooks, 0);
	reg("sysfast/audit_args/hooks:1", bm_audit_prebuilt, bench_setup_hooks, 1);
	reg("sysfast/audit_args/hooks:8", bm_audit_prebuilt, bench_setup_hooks, 8);
	reg("sysfast/audit/filtered_of_50", bm_audit_filtered, setup_filtered_50, 0);
	reg("sysfast/event_intern/known", bm_event_intern, bench_setup_hooks, 0);
	sysfast_bench_register("sysfast/audit_threads/hooks:1/args:2", bm_audit_args2,
	                       &(sysfast_bench_options){.arg = (const void *)1,
	                                                .setup = bench_setup_hooks,
	                                                .threads = threads,
	                                                .n_threads = n_threads});
}
