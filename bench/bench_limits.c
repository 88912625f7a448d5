/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reference limits: the fastest a dispatch could be, compiled into the same
 * binary and measured in the same run as libsysfast.
 *
 * limit/flag_branch: a bare load and branch on a global flag that is 0,
 * with the same memory order as SYSFAST_AUDIT's check (a relaxed atomic
 * load) and the same never-taken call behind it. Disabled SYSFAST_AUDIT
 * should cost this.
 *
 * limit/fnptr_array/hooks:N/args:2: a plain global array of N hook
 * pointers called in a loop with the arguments SYSFAST_AUDIT would build:
 * no flag, no RCU, no thread-local state, no error handling. A dispatch
 * cannot be cheaper than this and still call the hooks.
 *
 * limit/direct_calls/hooks:N/args:2: the same N calls, direct (the
 * compiler knows the hook). Not a limit for a dispatch, which cannot know
 * its hooks; it tells, in the same run, what the indirect calls cost on
 * top: on a shared machine their price moves with the predictor state the
 * other hyperthread leaves (docs/benchmarks.md, "Noise").
 *
 * The loops and dead-code guards are the same as in bench_audit.c.
 */
#include "bench.h"
#include "hooks.h"
#include "shim.h"

/* Global and written at set-up, so the compiler cannot fold them. */
unsigned bench_ref_flag;
static sysfast_audit_hook bench_ref_hooks[8];
static size_t bench_ref_nhooks;

__attribute__((noipa)) static int bench_ref_slow(const sysfast_args *args)
{
	return bench_hook_noop(1, BENCH_EVENT, args, NULL);
}

static void bm_flag_branch(sysfast_bench_state *st)
{
	int acc = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		int rc = 0;
		if (SYSFAST_UNLIKELY(__atomic_load_n(&bench_ref_flag, __ATOMIC_RELAXED))) {
			const sysfast_arg av[] = {SYSFAST_STR("x"), SYSFAST_INT(1)};
			const sysfast_args a = {2, av};
			rc = bench_ref_slow(&a);
		}
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "a hook failed");
}

static void setup_fnptr(sysfast_bench_state *st)
{
	size_t n = (size_t)(uintptr_t)sysfast_bench_arg(st);

	for (size_t k = 0; k < n; k++)
		bench_ref_hooks[k] = bench_hook_noop;
	bench_ref_nhooks = n;
}

static void bm_fnptr_array(sysfast_bench_state *st)
{
	int acc = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		const sysfast_arg av[] = {SYSFAST_STR("x"), SYSFAST_INT(1)};
		const sysfast_args a = {2, av};
		int rc = 0;
		for (size_t k = 0; k < bench_ref_nhooks; k++) {
			rc = bench_ref_hooks[k](1, BENCH_EVENT, &a, NULL);
			if (rc != 0)
				break;
		}
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "a hook failed");
}

static void bm_direct_calls(sysfast_bench_state *st)
{
	size_t n = (size_t)(uintptr_t)sysfast_bench_arg(st);
	int acc = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		const sysfast_arg av[] = {SYSFAST_STR("x"), SYSFAST_INT(1)};
		const sysfast_args a = {2, av};
		int rc = 0;
		for (size_t k = 0; k < n; k++) {
			rc = bench_hook_noop(1, BENCH_EVENT, &a, NULL);
			if (rc != 0)
				break;
		}
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "a hook failed");
}

void bench_limits_register(void)
{
	sysfast_bench_register("limit/flag_branch", bm_flag_branch, NULL);
	sysfast_bench_register("limit/fnptr_array/hooks:1/args:2", bm_fnptr_array,
	                       &(sysfast_bench_options){.arg = (void *)1, .setup = setup_fnptr});
	sysfast_bench_register("limit/fnptr_array/hooks:8/args:2", bm_fnptr_array,
	                       &(sysfast_bench_options){.arg = (void *)8, .setup = setup_fnptr});
	sysfast_bench_register("limit/direct_calls/hooks:1/args:2", bm_direct_calls,
	                       &(sysfast_bench_options){.arg = (void *)1});
	sysfast_bench_register("limit/direct_calls/hooks:8/args:2", bm_direct_calls,
	                       &(sysfast_bench_options){.arg = (void *)8});
}
