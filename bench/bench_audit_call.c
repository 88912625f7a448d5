/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SYSFAST_AUDIT as C++ code and SYSFAST_NO_INLINE_DISPATCH users get it:
 * the macro's checks inline, the dispatch a call into the library. The
 * same call sites and loops as sysfast/audit/hooks:N/args:2 in
 * bench_audit.c, which dispatch inline; the difference is the cost of the
 * call and of the library's general path.
 */
#define SYSFAST_NO_INLINE_DISPATCH 1

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
	    "sysfast/audit_call/hooks:1/args:2", bm_audit_call_args2,
	    &(sysfast_bench_options){.arg = (const void *)1, .setup = bench_setup_hooks});
	sysfast_bench_register(
	    "sysfast/audit_call/hooks:8/args:2", bm_audit_call_args2,
	    &(sysfast_bench_options){.arg = (const void *)8, .setup = bench_setup_hooks});
}
