/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SYSFAST_AUDIT in its default form, as a program that does not define
 * SYSFAST_INLINE gets it: the "anyone listening?" check inline, then the
 * library asked whether a hook listens in the thread's interpreter and
 * called to dispatch. The same call sites and loops as
 * sysfast/audit/nohook and sysfast/audit/hooks:N/args:2 in bench_audit.c,
 * which dispatch inline: the rows side by side give the price of the
 * default form.
 */

#include "bench.h"
#include "hooks.h"
#include "shim.h"

static inline int raise_args2(void)
{
	return SYSFAST_AUDIT(BENCH_EVENT, SYSFAST_STR("x"), SYSFAST_INT(1));
}

static void bm_audit_call_args2(sysfast_bench_state *st)
{
	int acc = 0;

	if (raise_args2() != 0)
		sysfast_bench_skip(st, sysfast_err_message());
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = raise_args2();
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "an audit call failed");
}

void bench_audit_call_register(void)
{
	sysfast_bench_register(
	    "sysfast/audit_call/nohook", bm_audit_call_args2,
	    &(sysfast_bench_options){.arg = (const void *)0, .setup = bench_setup_hooks});
	sysfast_bench_register(
	    "sysfast/audit_call/hooks:1/args:2", bm_audit_call_args2,
	    &(sysfast_bench_options){.arg = (const void *)1, .setup = bench_setup_hooks});
	sysfast_bench_register(
	    "sysfast/audit_call/hooks:8/args:2", bm_audit_call_args2,
	    &(sysfast_bench_options){.arg = (const void *)8, .setup = bench_setup_hooks});
}
