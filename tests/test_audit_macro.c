/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SYSFAST_AUDIT, rule by rule. By default the macro checks whether anyone
 * listens and calls the library; with SYSFAST_INLINE it dispatches inline
 * at the call site and leaves every unusual case to the library
 * (<sysfast/static/audit.h>). This program is built twice
 * (tests/meson.build), once in each form, and both must pass the same
 * cases. Every case also checks, on the way out, that the call
 * left no RCU read-side critical section open and tracing not suspended,
 * whichever way it went out.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <urcu/static/urcu-memb.h>

/* The thread's suspension counter, which the cases check. */
#include <sysfast/static/thread.h>

#include "testutil.h"

#define LOG_MAX 16
static char log_buf[LOG_MAX][64];
static int log_n;

/* What a hook does when called; each hook has its own. */
struct act {
	const char *tag;
	int ret;                     /* returned (after setting exc, if any) */
	const sysfast_exc_type *exc; /* error to set; NULL: none */
	int calls;
	const char *name; /* as received */
	sysfast_event_id id;
	size_t nargs;
	int64_t arg1;      /* the second argument, when an int */
	bool saw_error;    /* an error was pending when called */
	unsigned tracing;  /* the thread's suspension counter when called */
	int (*also)(void); /* run inside the hook, if set */
	int also_rc;
};

static int act_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	struct act *a = ud;

	a->calls++;
	a->name = name;
	a->id = id;
	a->nargs = args->n;
	a->arg1 = args->n > 1 && args->items[1].kind == SYSFAST_ARG_INT ? args->items[1].v.i : -1;
	a->saw_error = sysfast_err_occurred() != NULL;
	a->tracing = sysfast__audit_tls.tracing;
	if (log_n < LOG_MAX)
		snprintf(log_buf[log_n++], sizeof(log_buf[0]), "%s:%s", a->tag, name);
	if (a->also)
		a->also_rc = a->also();
	if (a->exc)
		sysfast_err_set(a->exc, "set by the hook");
	return a->ret;
}

static const sysfast_hook_options *only(const char *event)
{
	static const char *ev[1];
	static sysfast_hook_options o;

	ev[0] = event;
	o = (sysfast_hook_options){0, ev, 1};
	return &o;
}

static int add(struct act *a, const char *event)
{
	return sysfast_add_audit_hook_ex(act_hook, a, event ? only(event) : NULL);
}

static int fresh_runtime(void **state)
{
	(void)state;
	sysfast_fini();
	sysfast_err_clear();
	log_n = 0;
	return sysfast_init();
}

/* Whatever way a call went, it must leave no read-side critical section
 * open and the thread's tracing not suspended. */
static int check_balanced(void **state)
{
	(void)state;
	assert_int_equal(URCU_TLS(urcu_memb_reader).ctr & URCU_GP_CTR_NEST_MASK, 0);
	assert_int_equal(sysfast__audit_tls.tracing, 0);
	sysfast_err_clear();
	return 0;
}

static int raise_two(int64_t n)
{
	return SYSFAST_AUDIT("m.two", SYSFAST_STR("x"), SYSFAST_INT(n));
}

static void test_hooks_run_in_order_with_the_interned_name_id_and_arguments(void **state)
{
	static struct act a = {.tag = "a"}, b = {.tag = "b"};
	sysfast_event_id id;

	(void)state;
	assert_int_equal(add(&a, NULL), 0);
	assert_int_equal(add(&b, NULL), 0);
	log_n = 0;
	assert_int_equal(raise_two(7), 0);
	assert_no_error();
	assert_int_equal(log_n, 2);
	assert_string_equal(log_buf[0], "a:m.two");
	assert_string_equal(log_buf[1], "b:m.two");
	id = sysfast_event_find("m.two");
	assert_int_equal(a.id, id);
	assert_ptr_equal(a.name, sysfast_event_name(id));
	assert_int_equal(a.nargs, 2);
	assert_int_equal(a.arg1, 7);
	/* Hooks run with tracing suspended. */
	assert_int_equal(a.tracing, 1);
	/* Again: the call site's cache is warm now. */
	assert_int_equal(raise_two(8), 0);
	assert_int_equal(b.calls, 2);
	assert_int_equal(b.arg1, 8);
	assert_int_equal(SYSFAST_AUDIT("m.none"), 0);
	assert_int_equal(a.nargs, 0);
}

static void test_an_event_nobody_listens_to_calls_nothing(void **state)
{
	static struct act a = {.tag = "a"};

	(void)state;
	assert_int_equal(add(&a, "m.heard"), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(SYSFAST_AUDIT("m.unheard", SYSFAST_INT(i)), 0);
	assert_int_equal(a.calls, 0);
	assert_int_equal(SYSFAST_AUDIT("m.heard"), 0);
	assert_int_equal(a.calls, 1);
}

static void test_the_first_failing_hook_stops_and_its_error_stays(void **state)
{
	static struct act a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"};

	(void)state;
	b.ret = -1;
	b.exc = sysfast_ValueError;
	assert_int_equal(add(&a, "m.two"), 0);
	assert_int_equal(add(&b, "m.two"), 0);
	assert_int_equal(add(&c, "m.two"), 0);
	a.calls = b.calls = c.calls = 0;
	assert_int_equal(raise_two(1), -1);
	assert_error(sysfast_ValueError, "set by the hook");
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(c.calls, 0);
	b.ret = 0;
	b.exc = NULL;
}

static void test_minus_one_without_an_error_gives_system_error(void **state)
{
	static struct act a = {.tag = "a", .ret = -1};

	(void)state;
	assert_int_equal(add(&a, "m.two"), 0);
	assert_int_equal(raise_two(1), -1);
	assert_error(sysfast_SystemError, "returned -1 without setting an error (event 'm.two')");
}

static void test_other_nonzero_returns_fail_too(void **state)
{
	static struct act a = {.tag = "a", .ret = 2};

	(void)state;
	assert_int_equal(add(&a, "m.two"), 0);
	assert_int_equal(raise_two(1), -1);
	assert_error(sysfast_SystemError, "returned 2 without setting an error");
}

static void test_zero_with_an_error_set_gives_system_error(void **state)
{
	static struct act a = {.tag = "a", .exc = NULL};

	(void)state;
	a.exc = sysfast_OSError;
	assert_int_equal(add(&a, "m.two"), 0);
	assert_int_equal(raise_two(1), -1);
	assert_error(sysfast_SystemError, "returned 0 with an error set (event 'm.two'): OSError");
}

static void test_a_pending_error_is_hidden_from_hooks_and_kept(void **state)
{
	static struct act a = {.tag = "a"};

	(void)state;
	assert_int_equal(add(&a, "m.two"), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(raise_two(1), 0);
	assert_int_equal(a.calls, 1);
	assert_false(a.saw_error);
	assert_error(sysfast_KeyboardInterrupt, "pending");
}

static void test_a_pending_error_is_replaced_when_a_hook_fails(void **state)
{
	static struct act a = {.tag = "a", .ret = -1};

	(void)state;
	a.exc = sysfast_PermissionError;
	assert_int_equal(add(&a, "m.two"), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(raise_two(1), -1);
	assert_error(sysfast_PermissionError, "set by the hook");
}

static int nested_raise(void)
{
	return SYSFAST_AUDIT("m.inner", SYSFAST_INT(5));
}

static void test_hooks_may_raise_events_themselves(void **state)
{
	static struct act outer = {.tag = "outer"}, inner = {.tag = "inner"};

	(void)state;
	outer.also = nested_raise;
	assert_int_equal(add(&outer, "m.two"), 0);
	assert_int_equal(add(&inner, "m.inner"), 0);
	log_n = 0;
	assert_int_equal(raise_two(1), 0);
	assert_int_equal(outer.also_rc, 0);
	assert_int_equal(log_n, 2);
	assert_string_equal(log_buf[0], "outer:m.two");
	assert_string_equal(log_buf[1], "inner:m.inner");
	/* Nested hooks run one level deeper in the suspension. */
	assert_int_equal(inner.tracing, 2);
}

static int cantrace_seen;

static int cantrace_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id;
	(void)name;
	(void)args;
	(void)ud;
	cantrace_seen = (int)sysfast__audit_tls.tracing;
	return 0;
}

static void test_a_cantrace_hook_runs_with_tracing_on(void **state)
{
	static struct act a = {.tag = "a"};
	const sysfast_hook_options o = {SYSFAST_HOOK_CANTRACE, NULL, 0};

	(void)state;
	assert_int_equal(add(&a, NULL), 0);
	assert_int_equal(sysfast_add_audit_hook_ex(cantrace_hook, NULL, &o), 0);
	cantrace_seen = -1;
	assert_int_equal(raise_two(1), 0);
	assert_int_equal(a.tracing, 1);
	assert_int_equal(cantrace_seen, 0);
}

static struct act late = {.tag = "late"};

static int add_late(void)
{
	return add(&late, NULL);
}

static void test_a_hook_added_during_a_dispatch_runs_from_the_next_one(void **state)
{
	static struct act a = {.tag = "a"};

	(void)state;
	a.also = add_late;
	assert_int_equal(add(&a, "m.two"), 0);
	late.calls = 0;
	assert_int_equal(raise_two(1), 0);
	assert_int_equal(a.also_rc, 0);
	assert_int_equal(late.calls, 0);
	a.also = NULL;
	assert_int_equal(raise_two(1), 0);
	assert_int_equal(late.calls, 1);
	assert_string_equal(late.name, "m.two");
}

static void test_bad_names_give_value_error_and_call_nothing(void **state)
{
	static struct act a = {.tag = "a"};

	(void)state;
	assert_int_equal(add(&a, NULL), 0);
	a.calls = 0;
	assert_int_equal(SYSFAST_AUDIT(""), -1);
	assert_error(sysfast_ValueError, "empty");
	assert_int_equal(SYSFAST_AUDIT("m.\xff", SYSFAST_INT(1)), -1);
	assert_error(sysfast_ValueError, "UTF-8");
	assert_int_equal(a.calls, 0);
}

static void *fresh_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)raise_two(3);
}

static void test_a_fresh_thread_dispatches_from_its_first_call(void **state)
{
	static struct act a = {.tag = "a"};
	pthread_t th;
	void *rc;

	(void)state;
	assert_int_equal(add(&a, "m.two"), 0);
	assert_int_equal(pthread_create(&th, NULL, fresh_thread, NULL), 0);
	assert_int_equal(pthread_join(th, &rc), 0);
	assert_int_equal((intptr_t)rc, 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.arg1, 3);
}

static void test_after_fini_the_macro_returns_zero_and_calls_nothing(void **state)
{
	static struct act a = {.tag = "a"};

	(void)state;
	assert_int_equal(add(&a, NULL), 0);
	assert_int_equal(raise_two(1), 0);
	sysfast_fini();
	a.calls = 0;
	assert_int_equal(raise_two(1), 0);
	assert_int_equal(a.calls, 0);
	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(raise_two(1), 0); /* fini dropped the hook */
	assert_int_equal(a.calls, 0);
}

static int64_t finalise(void)
{
	sysfast_fini();
	return 1;
}

static void test_arguments_that_finalise_are_survived(void **state)
{
	static struct act a = {.tag = "a"};

	(void)state;
	/* Filtered, so that fini's lifecycle events do not count. */
	assert_int_equal(add(&a, "m.two"), 0);
	assert_int_equal(raise_two(1), 0);
	a.calls = 0;
	/* The listen check passed; the argument then ends the runtime. */
	assert_int_equal(SYSFAST_AUDIT("m.two", SYSFAST_STR("x"), SYSFAST_INT(finalise())), 0);
	assert_int_equal(a.calls, 0);
	assert_false(sysfast_is_initialized());
	assert_int_equal(sysfast_init(), 0);
}

static sysfast_interp *other_interp;

static int64_t switch_interp(void)
{
	sysfast_interp_enter(other_interp);
	return 2;
}

static void test_arguments_that_switch_interpreters_dispatch_in_the_new_one(void **state)
{
	static struct act mine = {.tag = "mine"}, theirs = {.tag = "theirs"};
	sysfast_interp *main_interp = sysfast_interp_current();

	(void)state;
	other_interp = sysfast_interp_new();
	assert_non_null(other_interp);
	assert_int_equal(sysfast_interp_add_audit_hook(main_interp, act_hook, &mine, only("m.two")),
	                 0);
	assert_int_equal(sysfast_interp_add_audit_hook(other_interp, act_hook, &theirs, NULL), 0);
	mine.calls = theirs.calls = 0;
	assert_int_equal(raise_two(1), 0);
	assert_int_equal(mine.calls, 1);
	/* Listened to here, then the argument moves the thread. */
	assert_int_equal(SYSFAST_AUDIT("m.two", SYSFAST_STR("x"), SYSFAST_INT(switch_interp())), 0);
	assert_int_equal(mine.calls, 1);
	assert_int_equal(theirs.calls, 1);
	assert_int_equal(theirs.arg1, 2);
	sysfast_interp_enter(main_interp);
	assert_int_equal(sysfast_interp_destroy(other_interp), 0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, fresh_runtime, check_balanced)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CASE(test_hooks_run_in_order_with_the_interned_name_id_and_arguments),
	    CASE(test_an_event_nobody_listens_to_calls_nothing),
	    CASE(test_the_first_failing_hook_stops_and_its_error_stays),
	    CASE(test_minus_one_without_an_error_gives_system_error),
	    CASE(test_other_nonzero_returns_fail_too),
	    CASE(test_zero_with_an_error_set_gives_system_error),
	    CASE(test_a_pending_error_is_hidden_from_hooks_and_kept),
	    CASE(test_a_pending_error_is_replaced_when_a_hook_fails),
	    CASE(test_hooks_may_raise_events_themselves),
	    CASE(test_a_cantrace_hook_runs_with_tracing_on),
	    CASE(test_a_hook_added_during_a_dispatch_runs_from_the_next_one),
	    CASE(test_bad_names_give_value_error_and_call_nothing),
	    CASE(test_a_fresh_thread_dispatches_from_its_first_call),
	    CASE(test_after_fini_the_macro_returns_zero_and_calls_nothing),
	    CASE(test_arguments_that_finalise_are_survived),
	    CASE(test_arguments_that_switch_interpreters_dispatch_in_the_new_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
