/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The loops of the benchmarks that call libsysfast's exported functions,
 * written once for the two ways a program reaches them: sysfast-bench
 * links the library and calls each function by name, sysfast-bench-dlopen
 * calls the pointers that dlsym gave it. Both expand these macros, so the
 * only difference between their rows is how the call reaches the library.
 *
 * Before including, define BENCH_CALL(name) as the function called
 * `name`: `(name)` where the library is linked (the parentheses keep the
 * sysfast_audit macro out), `(*table.name)` where it is loaded by hand.
 *
 * The loop and the dead-code guard are those of bench_limits.c.
 */
#ifndef SYSFAST_BENCH_LIB_CALLS_H
#define SYSFAST_BENCH_LIB_CALLS_H

#include <string.h>

#include "hooks.h"
#include "shim.h"

#ifndef BENCH_CALL
#error "define BENCH_CALL(name) before including lib_calls.h"
#endif

/* sysfast_audit_args with an interned id and a tuple built once. */
#define BENCH_AUDIT_ARGS_BODY(fn)                                                                  \
	static void fn(sysfast_bench_state *st)                                                    \
	{                                                                                          \
		static const sysfast_arg av[] = {                                                  \
		    {SYSFAST_ARG_STR, 1, {.s = "x"}},                                              \
		    {SYSFAST_ARG_INT, 0, {.i = 1}},                                                \
		};                                                                                 \
		static const sysfast_args args = {2, av};                                          \
		sysfast_event_id id = BENCH_CALL(sysfast_event_intern)(BENCH_EVENT);               \
		int acc = 0;                                                                       \
		if (id == 0 || BENCH_CALL(sysfast_audit_args)(id, &args) != 0)                     \
			sysfast_bench_skip(st, BENCH_CALL(sysfast_err_message)());                 \
		SYSFAST_BENCH_LOOP(st)                                                             \
		{                                                                                  \
			int rc = BENCH_CALL(sysfast_audit_args)(id, &args);                        \
			SYSFAST_BENCH_CONSUME(acc, rc);                                            \
		}                                                                                  \
		sysfast_bench_expect_zero(st, acc, "an audit call failed");                        \
	}

/* The function sysfast_audit itself, as C++ or a call through a pointer
 * reaches it: the name is looked up and the format checked on every call,
 * as PySys_Audit does. */
#define BENCH_AUDIT_FORMAT_FN_BODY(fn)                                                             \
	static void fn(sysfast_bench_state *st)                                                    \
	{                                                                                          \
		int acc = 0;                                                                       \
		if (BENCH_CALL(sysfast_audit)(BENCH_EVENT, "(si)", "x", 1) != 0)                   \
			sysfast_bench_skip(st, BENCH_CALL(sysfast_err_message)());                 \
		SYSFAST_BENCH_LOOP(st)                                                             \
		{                                                                                  \
			int rc = BENCH_CALL(sysfast_audit)(BENCH_EVENT, "(si)", "x", 1);           \
			SYSFAST_BENCH_CONSUME(acc, rc);                                            \
		}                                                                                  \
		sysfast_bench_expect_zero(st, acc, "an audit call failed");                        \
	}

#define BENCH_EVENT_INTERN_BODY(fn)                                                                \
	static void fn(sysfast_bench_state *st)                                                    \
	{                                                                                          \
		sysfast_event_id want = BENCH_CALL(sysfast_event_intern)(BENCH_EVENT);             \
		sysfast_event_id acc = 0;                                                          \
		if (want == 0)                                                                     \
			sysfast_bench_skip(st, BENCH_CALL(sysfast_err_message)());                 \
		SYSFAST_BENCH_LOOP(st)                                                             \
		{                                                                                  \
			sysfast_event_id id = BENCH_CALL(sysfast_event_intern)(BENCH_EVENT);       \
			SYSFAST_BENCH_CONSUME(acc, id ^ want);                                     \
		}                                                                                  \
		sysfast_bench_expect_zero(st, acc, "interning gave another id");                   \
	}

/* A loop of `lookup` (sysfast_intern or sysfast_intern_find) on the text
 * of `held`, a string interned and held for the whole run; each call must
 * give `held` back (`what` says otherwise). */
#define BENCH_INTERN_BODY(fn, lookup, held, what)                                                  \
	static void fn(sysfast_bench_state *st)                                                    \
	{                                                                                          \
		const size_t len = strlen(BENCH_INTERN_NAME);                                      \
		uintptr_t acc = 0;                                                                 \
		SYSFAST_BENCH_LOOP(st)                                                             \
		{                                                                                  \
			sysfast_str *s = BENCH_CALL(lookup)(BENCH_INTERN_NAME, len);               \
			SYSFAST_BENCH_CONSUME(acc, (uintptr_t)s ^ (uintptr_t)(held));              \
			BENCH_CALL(sysfast_str_decref)(s);                                         \
		}                                                                                  \
		sysfast_bench_expect_zero(st, acc != 0, what);                                     \
	}

/* Writes `n` as 16 hex digits at `out`: a name no other call used. */
static inline void bench_hex(char *out, uint64_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (int k = 15; k >= 0; k--, n >>= 4)
		out[k] = digits[n & 15];
}

/* The allocator probe of bench_add_malloc_context (loaded.h): `acquire`
 * interns 64 strings never seen before and holds them, `release` drops
 * them. */
#define BENCH_MALLOC_PROBE(acquire, release)                                                       \
	static sysfast_str *acquire##_strings[64];                                                 \
	static void acquire(void)                                                                  \
	{                                                                                          \
		char text[] = "bench.probe.0123456789abcdef";                                      \
		for (size_t k = 0; k < 64; k++) {                                                  \
			bench_hex(text + sizeof(text) - 17, k);                                    \
			acquire##_strings[k] = BENCH_CALL(sysfast_intern)(text, sizeof(text) - 1); \
		}                                                                                  \
	}                                                                                          \
	static void release(void)                                                                  \
	{                                                                                          \
		for (size_t k = 0; k < 64; k++)                                                    \
			if (acquire##_strings[k])                                                  \
				BENCH_CALL(sysfast_str_decref)(acquire##_strings[k]);              \
	}

#endif /* SYSFAST_BENCH_LIB_CALLS_H */
