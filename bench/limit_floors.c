/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Floors: what a call cannot do without under the contract, measured in
 * the same run as the call (see bench_limits.c for the other limits).
 *
 * limit/varargs_rcu/hooks:1/args:2: what sysfast_audit(name, "(si)", s,
 * i) cannot do without under the contract, and nothing more: a call
 * through a pointer to a variadic function the compiler cannot inline, its
 * two values read with va_arg and built as a sysfast_args (the string's
 * length measured: a STR value carries it), a read-side critical section
 * of liburcu's memb flavour (inline, as libsysfast's own), the thread's
 * tracing suspension raised and lowered around the hooks, and the hooks
 * of an array called through pointers. No event lookup, no check of the
 * name or the format, no error state, no interpreter: the floor under
 * sysfast/audit_format_fn/hooks:1 (docs/benchmarks.md).
 *
 * limit/intern_floor: what sysfast_intern of a known 19-byte string and
 * the sysfast_str_decref after it (sysfast/intern/known) cannot do
 * without: the SipHash-1-3 of the bytes under a key (the contract's keyed
 * hash, the library's own inline code), one locked compare-and-swap
 * taking a reference only if the count is not zero, and one locked
 * decrement dropping it. No table, no compare of the bytes, no read-side
 * section, no checks.
 *
 * They live in a file of their own, linked last, and register themselves
 * from a constructor, so that adding them moved no other benchmark's code: the
 * inline audit rows move by up to 40% with the alignment of their loops
 * and hooks, which any code placed before them shifts
 * (docs/benchmarks.md, "Noise on this machine").
 */
#define _LGPL_SOURCE
#include <stdarg.h>

#include <urcu/urcu-memb.h>

#include "../core/src/siphash.h"
#include "bench.h"
#include "hooks.h"
#include "shim.h"

static sysfast_audit_hook bench_ref_hooks[8];
static size_t bench_ref_nhooks;

/* The floor's tracing suspension: a thread-local counter, as the
 * library's. */
static __thread unsigned bench_ref_suspended;
/* The floor's values, one code each ('s', 'i'), as the library's memo
 * keeps them: set at run time, so that the compiler reads the variadic
 * values as sysfast_audit must, one va_arg at a time by the code. */
static char bench_ref_codes[2];

__attribute__((noipa)) static int bench_ref_varargs(const char *event, const char *format, ...)
{
	sysfast_arg av[2];
	const sysfast_args a = {2, av};
	va_list va;
	int rc = 0;

	(void)format;
	va_start(va, format);
	for (size_t k = 0; k < 2; k++) {
		if (bench_ref_codes[k] == 's') {
			const char *s = va_arg(va, const char *);
			size_t len = 0;

			/* Bounded, as the library's: compilers turn an unbounded
			 * loop into a call to strlen. */
			while (len < 32 && s[len])
				len++;
			av[k] = SYSFAST_STRN(s, len);
		} else {
			av[k] = SYSFAST_INT(va_arg(va, int));
		}
	}
	va_end(va);
	urcu_memb_read_lock();
	bench_ref_suspended = 1;
	for (size_t k = 0; k < bench_ref_nhooks && rc == 0; k++)
		rc = bench_ref_hooks[k](1, event, &a, NULL);
	bench_ref_suspended = 0;
	urcu_memb_read_unlock();
	return rc;
}

/* Through a pointer, as the audit_format_fn row calls sysfast_audit. */
static int (*volatile bench_ref_varargs_fn)(const char *, const char *, ...) = bench_ref_varargs;

static void setup_varargs(sysfast_bench_state *st)
{
	bench_ref_hooks[0] = bench_hook_noop;
	bench_ref_nhooks = 1;
	bench_ref_codes[0] = 's';
	bench_ref_codes[1] = 'i';
	/* Registers this thread with liburcu: the library sets a thread up
	 * on its first call. */
	if (sysfast_init() < 0 || !sysfast_interp_current())
		sysfast_bench_skip(st, sysfast_err_message());
}

static void bm_varargs_rcu(sysfast_bench_state *st)
{
	int (*fn)(const char *, const char *, ...) = bench_ref_varargs_fn;
	int acc = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		int rc = fn(BENCH_EVENT, "(si)", "x", 1);
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "a hook failed");
}

/* The string sysfast/intern/known interns, and a reference count. */
static const char bench_floor_text[] = "bench.interned.name";
static size_t bench_floor_refcnt = 1;
static struct sysfast__sipkey bench_floor_key = {0x0706050403020100u, 0x0f0e0d0c0b0a0908u};

__attribute__((noipa)) static uint64_t bench_floor_intern(const char *text, size_t len)
{
	uint64_t h = sysfast__siphash13(&bench_floor_key, text, len);
	size_t n = __atomic_load_n(&bench_floor_refcnt, __ATOMIC_RELAXED);

	/* Get unless zero, as a lookup that finds the string does. */
	while (n
	       && !__atomic_compare_exchange_n(&bench_floor_refcnt, &n, n + 1, true,
	                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		;
	return h ^ n;
}

__attribute__((noipa)) static void bench_floor_decref(void)
{
	__atomic_fetch_sub(&bench_floor_refcnt, 1, __ATOMIC_RELEASE);
}

static void bm_intern_floor(sysfast_bench_state *st)
{
	int acc = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		uint64_t h = bench_floor_intern(bench_floor_text, sizeof(bench_floor_text) - 1);
		bench_floor_decref();
		SYSFAST_BENCH_CONSUME(acc, h == 0);
	}
	sysfast_bench_expect_zero(st, acc, "a hash of zero");
}

__attribute__((constructor)) static void bench_limit_floors_register(void)
{
	sysfast_bench_register("limit/varargs_rcu/hooks:1/args:2", bm_varargs_rcu,
	                       &(sysfast_bench_options){.arg = (void *)1, .setup = setup_varargs});
	sysfast_bench_register("limit/intern_floor", bm_intern_floor, NULL);
}
