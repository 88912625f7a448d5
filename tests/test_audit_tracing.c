/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rule 7 (__cantrace__): while a hook without SYSFAST_HOOK_CANTRACE runs,
 * tracing and profiling are suspended on its thread; a CANTRACE hook runs
 * with them as they were. This test reads the thread's suspension counter
 * directly (linking the static library) to pin down its values;
 * test_trace.c checks the same rule through the public API, with a tracer
 * and frames entered inside hooks.
 */
#include <string.h>

#include "internal.h"
#include "testutil.h"

static unsigned seen_plain = 99, seen_cantrace = 99, seen_nested = 99;

static int plain_hook(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)a, (void)u;
	if (!strcmp(name, "t.trace"))
		seen_plain = sysfast__audit_tls.tracing;
	if (!strcmp(name, "t.nested"))
		seen_nested = sysfast__audit_tls.tracing;
	return 0;
}

static int cantrace_hook(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)a, (void)u;
	if (!strcmp(name, "t.trace")) {
		seen_cantrace = sysfast__audit_tls.tracing;
		/* A dispatch from inside a hook: still suspended for plain hooks. */
		return sysfast_audit("t.nested", NULL);
	}
	return 0;
}

static void test_tracing_is_suspended_in_plain_hooks_and_not_in_cantrace_ones(void **state)
{
	const sysfast_hook_options cantrace = {SYSFAST_HOOK_CANTRACE, NULL, 0};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(plain_hook, NULL), 0);
	assert_int_equal(sysfast_add_audit_hook_ex(cantrace_hook, NULL, &cantrace), 0);
	assert_int_equal(sysfast__audit_tls.tracing, 0);
	assert_int_equal(sysfast_audit("t.trace", NULL), 0);
	assert_int_equal(seen_plain, 1);
	assert_int_equal(seen_cantrace, 0);
	/* t.nested ran from the CANTRACE hook: the plain hook there is
	 * suspended again, one level deep. */
	assert_int_equal(seen_nested, 1);
	assert_int_equal(sysfast__audit_tls.tracing, 0);
}

static void test_suspension_nests_inside_a_tracer(void **state)
{
	(void)state;
	assert_int_equal(sysfast_add_audit_hook(plain_hook, NULL), 0);
	/* As if called from inside a tracer, which suspends tracing itself. */
	sysfast__audit_tls.tracing = 1;
	assert_int_equal(sysfast_audit("t.trace", NULL), 0);
	assert_int_equal(seen_plain, 2);
	assert_int_equal(sysfast__audit_tls.tracing, 1);
	sysfast__audit_tls.tracing = 0;
}

static int failing_hook(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)name, (void)a, (void)u;
	sysfast_err_set(sysfast_ValueError, "refused");
	return -1;
}

static void test_failing_hook_leaves_the_counter_as_it_was(void **state)
{
	(void)state;
	assert_int_equal(sysfast_add_audit_hook(failing_hook, NULL), 0);
	assert_int_equal(sysfast_audit("t.fail", NULL), -1);
	assert_error(sysfast_ValueError, "refused");
	assert_int_equal(sysfast__audit_tls.tracing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(
	        test_tracing_is_suspended_in_plain_hooks_and_not_in_cantrace_ones,
	        testutil_runtime_fresh),
	    cmocka_unit_test_setup(test_suspension_nests_inside_a_tracer, testutil_runtime_fresh),
	    cmocka_unit_test_setup(test_failing_hook_leaves_the_counter_as_it_was,
	                           testutil_runtime_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
