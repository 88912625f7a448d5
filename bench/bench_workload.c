/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The realistic workload through libsysfast: CPython's event mix replayed
 * (workload.h) with one hook that cares about three events, given to
 * libsysfast as a filter list. bench_cpython.c replays the same sequence
 * through PySys_Audit with a strcmp-filtering native hook.
 */
/* The inline forms of SYSFAST_AUDIT and of the frame calls: what these
 * rows measure (docs/building.md, "Inline dispatch"). */
#define SYSFAST_INLINE 1

#include "bench.h"
#include "hooks.h"
#include "shim.h"
#include "workload.h"

static void setup_workload(sysfast_bench_state *st)
{
	static const char *const watched[] = {BENCH_WORKLOAD_WATCHED_1, BENCH_WORKLOAD_WATCHED_2,
	                                      BENCH_WORKLOAD_WATCHED_3};
	const sysfast_hook_options opts = {0, watched, 3};

	sysfast_fini();
	if (sysfast_init() != 0 || sysfast_add_audit_hook_ex(bench_hook_noop, NULL, &opts) != 0)
		sysfast_bench_skip(st, sysfast_err_message());
}

/* One call site per event, each with its literal name and real arity. */
static inline int raise_event(unsigned e)
{
	switch (e) {
#define BENCH_WORKLOAD_EVENT(ident, name, weight, nargs)                                           \
	case BENCH_EV_##ident:                                                                     \
		return SYSFAST_AUDIT(name, BENCH_SF_ARGS_##nargs);
#include "workload_events.def"
#undef BENCH_WORKLOAD_EVENT
	}
	return 0;
}

static void bm_workload(sysfast_bench_state *st)
{
	size_t pos = 0;
	int acc = 0;

	/* One pass untimed: every site caches its id, as in a program that
	 * has been running for a while. */
	for (unsigned i = 0; i < BENCH_WORKLOAD_LEN; i++)
		if (raise_event(bench_workload_seq[i]) != 0)
			sysfast_bench_skip(st, sysfast_err_message());
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = raise_event(bench_workload_seq[pos++ & (BENCH_WORKLOAD_LEN - 1)]);
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "an audit call failed");
}

void bench_workload_register(void)
{
	sysfast_bench_register("sysfast/workload", bm_workload,
	                       &(sysfast_bench_options){.setup = setup_workload});
}
