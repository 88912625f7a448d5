/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit contract, rule by rule (docs/api.md, "Audit hooks" and its
 * numbered rules). Each test starts from a fresh runtime: hooks cannot be removed,
 * and sysfast_fini drops them all. Hook state is static because hooks
 * outlive the test that added them, until the next fini.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* A recording hook: appends "<tag>:<event>" to a shared log. */
#define LOG_MAX 64
static char log_buf[LOG_MAX][80];
static int log_n;

struct rec {
	const char *tag;
	const char *fail_on;         /* event to fail on, or NULL */
	const sysfast_exc_type *exc; /* error to set when failing; NULL: none */
	int ret;                     /* value returned when failing */
	int calls;
	size_t last_nargs;
	const sysfast_args *last_args;
	const char *last_name;
	sysfast_event_id last_id;
	bool saw_error;            /* an error was pending when called */
	sysfast_arg_kind kinds[4]; /* of the first arguments of the last call */
};

static int rec_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	struct rec *r = ud;

	r->calls++;
	r->last_nargs = args ? args->n : (size_t)-1;
	r->last_args = args;
	r->last_name = name;
	r->last_id = id;
	r->saw_error = sysfast_err_occurred() != NULL;
	for (size_t i = 0; args && i < args->n && i < 4; i++)
		r->kinds[i] = args->items[i].kind;
	if (log_n < LOG_MAX)
		snprintf(log_buf[log_n++], sizeof(log_buf[0]), "%s:%s", r->tag, name);
	if (r->fail_on && !strcmp(name, r->fail_on)) {
		if (r->exc)
			sysfast_err_set(r->exc, "hook failed on purpose");
		return r->ret ? r->ret : -1;
	}
	return 0;
}

static void log_reset(void)
{
	log_n = 0;
}

/* Asserts the log, ignoring lifecycle events, equals the NULL-ended list. */
static void assert_log(const char *const *want)
{
	int w = 0;

	for (int i = 0; i < log_n; i++) {
		if (strstr(log_buf[i], ":sys.addaudithook") || strstr(log_buf[i], ":cpython."))
			continue;
		assert_non_null(want[w]);
		assert_string_equal(log_buf[i], want[w]);
		w++;
	}
	assert_null(want[w]);
}

static int fresh_runtime(void **state)
{
	(void)state;
	sysfast_fini();
	sysfast_err_clear();
	log_reset();
	return sysfast_init();
}

static const sysfast_hook_options *filter(const char *const *events, size_t n)
{
	static sysfast_hook_options o;

	o = (sysfast_hook_options){0, events, n};
	return &o;
}

/* ---- Rule 1: who adds where ---- */

static void test_hook_added_before_init_is_kept_and_sees_events(void **state)
{
	static struct rec a = {.tag = "a"};

	(void)state;
	sysfast_fini();
	log_reset();
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	assert_int_equal(a.calls, 0); /* no "sys.addaudithook" before init */
	assert_int_equal(sysfast_audit("pre.init", NULL), 0);
	assert_int_equal(a.calls, 0); /* audit calls before init call nothing */
	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_audit("post.init", NULL), 0);
	assert_log((const char *const[]){"a:post.init", NULL});
}

static void test_interpreter_hook_runs_only_in_its_interpreter(void **state)
{
	static struct rec g = {.tag = "g"}, m = {.tag = "m"}, s = {.tag = "s"};
	sysfast_interp *sub = sysfast_interp_new();

	(void)state;
	assert_non_null(sub);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &g), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &m, NULL), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, rec_hook, &s, NULL), 0);
	log_reset();
	assert_int_equal(sysfast_audit("in.main", NULL), 0);
	assert_ptr_equal(sysfast_interp_enter(sub), sysfast_interp_main());
	assert_int_equal(sysfast_audit("in.sub", NULL), 0);
	assert_ptr_equal(sysfast_interp_enter(sysfast_interp_main()), sub);
	assert_log((const char *const[]){"g:in.main", "m:in.main", "g:in.sub", "s:in.sub", NULL});
	assert_int_equal(sysfast_interp_destroy(sub), 0);
}

/* ---- Rule 2: order ---- */

static void test_process_wide_hooks_run_first_then_interpreter_hooks_in_add_order(void **state)
{
	static struct rec i1 = {.tag = "i1"}, g1 = {.tag = "g1"}, i2 = {.tag = "i2"},
	                  g2 = {.tag = "g2"};

	(void)state;
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &i1, NULL), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &g1), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &i2, NULL), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &g2), 0);
	log_reset();
	assert_int_equal(sysfast_audit("t.order", NULL), 0);
	assert_log(
	    (const char *const[]){"g1:t.order", "g2:t.order", "i1:t.order", "i2:t.order", NULL});
}

static void test_filtered_hook_keeps_its_place_in_the_order(void **state)
{
	static struct rec a = {.tag = "a"}, f = {.tag = "f"}, b = {.tag = "b"};
	static const char *const ev[] = {"t.wanted"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(ev, 1)), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), 0);
	log_reset();
	assert_int_equal(sysfast_audit("t.other", NULL), 0);
	assert_int_equal(sysfast_audit("t.wanted", NULL), 0);
	assert_log((const char *const[]){"a:t.other", "b:t.other", "a:t.wanted", "f:t.wanted",
	                                 "b:t.wanted", NULL});
}

/* ---- Rule 3: failures ---- */

static void test_first_failing_hook_stops_dispatch(void **state)
{
	static struct rec a = {.tag = "a"}, f = {.tag = "f", .fail_on = "t.fail"}, b = {.tag = "b"};

	(void)state;
	f.exc = sysfast_ValueError;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &f), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &b, NULL), 0);
	log_reset();
	assert_int_equal(sysfast_audit("t.fail", NULL), -1);
	assert_error(sysfast_ValueError, "hook failed on purpose");
	assert_log((const char *const[]){"a:t.fail", "f:t.fail", NULL});
}

static void test_hook_returning_minus_one_without_error_gives_system_error(void **state)
{
	static struct rec f = {.tag = "f", .fail_on = "t.fail"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &f), 0);
	assert_int_equal(sysfast_audit("t.fail", NULL), -1);
	assert_error(sysfast_SystemError, "without setting an error");
}

static void test_hook_return_values_other_than_zero_count_as_failure(void **state)
{
	static struct rec f = {.tag = "f", .fail_on = "t.fail", .ret = 2}, b = {.tag = "b"};

	(void)state;
	f.exc = sysfast_OSError;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &f), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), 0);
	log_reset();
	assert_int_equal(sysfast_audit("t.fail", NULL), -1);
	assert_error(sysfast_OSError, NULL);
	assert_log((const char *const[]){"f:t.fail", NULL});
}

static int leave_error_hook(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)a, (void)u;
	if (!strcmp(name, "t.leave"))
		sysfast_err_set(sysfast_TypeError, "left behind");
	return 0;
}

static void test_hook_returning_zero_with_error_set_gives_system_error(void **state)
{
	static struct rec b = {.tag = "b"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(leave_error_hook, NULL), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), 0);
	log_reset();
	assert_int_equal(sysfast_audit("t.leave", NULL), -1);
	assert_error(sysfast_SystemError, "TypeError: left behind");
	assert_int_equal(log_n, 0); /* the dispatch stopped there */
}

/* ---- Rule 4: "sys.addaudithook" ---- */

static void test_add_raises_sys_addaudithook_through_existing_hooks(void **state)
{
	static struct rec a = {.tag = "a"}, b = {.tag = "b"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	log_reset();
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), 0);
	assert_int_equal(log_n, 1);
	assert_string_equal(log_buf[0], "a:sys.addaudithook");
	assert_int_equal(a.last_nargs, 0);
	assert_int_equal(b.calls, 0); /* never sees its own event */
}

static void test_runtime_error_subclass_blocks_add_and_returns_one(void **state)
{
	static struct rec blocker = {.tag = "x", .fail_on = "sys.addaudithook"}, b = {.tag = "b"};

	(void)state;
	blocker.exc = sysfast_RecursionError; /* a RuntimeError subclass */
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &blocker), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &b, NULL), 1);
	assert_no_error();
	log_reset();
	assert_int_equal(sysfast_audit("t.after", NULL), 0);
	assert_int_equal(b.calls, 0);
}

static void test_refused_add_keeps_the_callers_pending_error(void **state)
{
	static struct rec blocker = {.tag = "x", .fail_on = "sys.addaudithook"}, b = {.tag = "b"};

	(void)state;
	blocker.exc = sysfast_RuntimeError;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &blocker), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), 1);
	assert_error(sysfast_KeyboardInterrupt, "pending");
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &b, NULL), 1);
	assert_error(sysfast_KeyboardInterrupt, "pending");
}

static void test_successful_add_keeps_the_callers_pending_error(void **state)
{
	static struct rec a = {.tag = "a"}, b = {.tag = "b"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), 0);
	assert_false(a.saw_error);
	assert_error(sysfast_KeyboardInterrupt, "pending");
}

static void test_other_errors_from_sys_addaudithook_propagate(void **state)
{
	static struct rec blocker = {.tag = "x", .fail_on = "sys.addaudithook"}, b = {.tag = "b"};

	(void)state;
	blocker.exc = sysfast_Exception; /* the base of RuntimeError is not suppressed */
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &blocker), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), -1);
	assert_error(sysfast_Exception, "hook failed on purpose");
	assert_int_equal(sysfast_audit("t.after", NULL), 0);
	assert_int_equal(b.calls, 0);
}

static void test_sys_addaudithook_is_raised_in_the_callers_interpreter(void **state)
{
	static struct rec m = {.tag = "m"}, s = {.tag = "s"}, n = {.tag = "n"};
	sysfast_interp *sub = sysfast_interp_new();

	(void)state;
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &m, NULL), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, rec_hook, &s, NULL), 0);
	m.calls = s.calls = 0;
	assert_int_equal(sysfast_interp_add_audit_hook(sub, rec_hook, &n, NULL), 0);
	assert_int_equal(m.calls, 1);
	assert_string_equal(m.last_name, "sys.addaudithook");
	assert_int_equal(s.calls, 0);
	assert_int_equal(sysfast_interp_destroy(sub), 0);
}

/* ---- Rule 5: snapshots and re-entrancy ---- */

static struct rec late = {.tag = "late"};

static int adding_hook(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)a, (void)u;
	if (!strcmp(name, "t.add") && late.calls == 0 && !late.tag[4])
		return sysfast_add_audit_hook(rec_hook, &late) < 0 ? -1 : 0;
	return 0;
}

static void test_hook_added_during_dispatch_runs_from_the_next_dispatch(void **state)
{
	static bool added;

	(void)state;
	late = (struct rec){.tag = "late"};
	assert_false(added);
	assert_int_equal(sysfast_add_audit_hook(adding_hook, NULL), 0);
	assert_int_equal(sysfast_audit("t.add", NULL), 0);
	assert_int_equal(late.calls, 0); /* not in the snapshot that added it */
	added = true;
	late.tag = "late!"; /* stop adding */
	assert_int_equal(sysfast_audit("t.next", NULL), 0);
	assert_int_equal(late.calls, 1);
}

static int reentrant_hook(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	int *depth = u;

	(void)id, (void)a;
	if (!strcmp(name, "t.outer") && *depth < 3) {
		(*depth)++;
		return sysfast_audit("t.outer", "i", *depth);
	}
	return 0;
}

static void test_hooks_may_audit_recursively(void **state)
{
	static int depth;

	(void)state;
	depth = 0;
	assert_int_equal(sysfast_add_audit_hook(reentrant_hook, &depth), 0);
	assert_int_equal(sysfast_audit("t.outer", NULL), 0);
	assert_int_equal(depth, 3);
}

/* ---- Rule 6: pending errors ---- */

static void test_pending_error_is_hidden_from_hooks_and_kept_on_success(void **state)
{
	static struct rec a = {.tag = "a"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_audit("t.ok", "i", 1), 0);
	assert_false(a.saw_error);
	assert_error(sysfast_KeyboardInterrupt, "pending");
}

static void test_pending_error_is_replaced_by_the_hooks_error_on_failure(void **state)
{
	static struct rec f = {.tag = "f", .fail_on = "t.fail"};

	(void)state;
	f.exc = sysfast_ValueError;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &f), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_audit("t.fail", NULL), -1);
	assert_error(sysfast_ValueError, "on purpose");
}

/* ---- Precise rules: events, names, filters ---- */

static void test_hook_gets_the_interned_name_pointer_and_id(void **state)
{
	static struct rec a = {.tag = "a"};
	sysfast_event_id id;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	assert_int_equal(sysfast_audit("t.name", NULL), 0);
	id = sysfast_event_find("t.name");
	assert_int_not_equal(id, 0);
	assert_int_equal(a.last_id, id);
	assert_ptr_equal(a.last_name, sysfast_event_name(id));
}

static void test_reused_name_buffer_raises_the_event_it_now_holds(void **state)
{
	/* The thread's name cache is indexed by the name's address: each
	 * call must still raise the event the buffer holds at that moment. */
	static const char *const names[] = {"t.reuse.a", "t.reuse.b", "t.reuse", "t.reuse.a.x",
	                                    "t.reuse.a"};
	static struct rec a = {.tag = "a"};
	char name[32];

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		strcpy(name, names[i]);
		assert_int_equal(sysfast_audit(name, "(si)", "x", 1), 0);
		assert_string_equal(a.last_name, names[i]);
		assert_int_equal(a.last_id, sysfast_event_find(names[i]));
		assert_int_equal(a.last_nargs, 2);
	}
	a.calls = 0;
	strcpy(name, "t.reuse.\xff");
	assert_int_equal(sysfast_audit(name, "(si)", "x", 1), -1);
	assert_error(sysfast_ValueError, "UTF-8");
	name[0] = '\0';
	assert_int_equal(sysfast_audit(name, NULL), -1);
	assert_error(sysfast_ValueError, "empty");
	assert_int_equal(a.calls, 0);
}

static void test_event_gets_its_first_hook_between_two_calls_from_one_site(void **state)
{
	static struct rec other = {.tag = "other"}, f = {.tag = "f"};
	static const char *const other_ev[] = {"t.other.event"}, *const ev[] = {"t.first.hook"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &other, filter(other_ev, 1)), 0);
	for (int i = 0; i < 2; i++) {
		if (i == 1)
			assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(ev, 1)), 0);
		f.calls = 0;
		assert_int_equal(sysfast_audit("t.first.hook", "(si)", "x", 7), 0);
		assert_int_equal(f.calls, i);
	}
	assert_int_equal(f.last_nargs, 2);
	assert_int_equal(other.calls, 0);
}

static void test_prefix_pattern_matches_names_that_start_with_it(void **state)
{
	static struct rec f = {.tag = "f"};
	static const char *const ev[] = {"os.*"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(ev, 1)), 0);
	log_reset();
	assert_int_equal(sysfast_audit("os.", NULL), 0);
	assert_int_equal(sysfast_audit("os.chdir", NULL), 0);
	assert_int_equal(sysfast_audit("os", NULL), 0);
	assert_int_equal(sysfast_audit("osx.chdir", NULL), 0);
	assert_log((const char *const[]){"f:os.", "f:os.chdir", NULL});
}

static void test_star_pattern_matches_every_event(void **state)
{
	static struct rec f = {.tag = "f"};
	static const char *const ev[] = {"*"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(ev, 1)), 0);
	log_reset();
	assert_int_equal(sysfast_audit("anything.at.all", NULL), 0);
	assert_log((const char *const[]){"f:anything.at.all", NULL});
}

static void test_event_interned_after_a_prefix_hook_gets_that_hook(void **state)
{
	static struct rec f = {.tag = "f"};
	static const char *const ev[] = {"late.*"};
	sysfast_event_id id;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(ev, 1)), 0);
	id = sysfast_event_intern("late.born");
	assert_true(sysfast_audit_active(id));
	log_reset();
	assert_int_equal(SYSFAST_AUDIT("late.born2"), 0);
	assert_int_equal(sysfast_audit_args(id, NULL), 0);
	assert_log((const char *const[]){"f:late.born2", "f:late.born", NULL});
}

static void test_exact_pattern_for_a_name_not_yet_interned_works(void **state)
{
	static struct rec f = {.tag = "f"};
	static const char *const ev[] = {"never.seen.before.exact", "other.exact"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(ev, 2)), 0);
	log_reset();
	assert_int_equal(sysfast_audit("never.seen.before.exact", NULL), 0);
	assert_int_equal(sysfast_audit("never.seen.before", NULL), 0);
	assert_int_equal(sysfast_audit("other.exact", NULL), 0);
	assert_log((const char *const[]){"f:never.seen.before.exact", "f:other.exact", NULL});
}

static void test_hook_options_and_patterns_are_copied(void **state)
{
	static struct rec f = {.tag = "f"};
	char *pattern = strdup("copied.*");
	const char **events = malloc(sizeof(*events));
	sysfast_hook_options *opts = malloc(sizeof(*opts));

	(void)state;
	events[0] = pattern;
	*opts = (sysfast_hook_options){0, events, 1};
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, opts), 0);
	memset(pattern, 'x', strlen(pattern));
	free(pattern);
	free(events);
	free(opts);
	log_reset();
	assert_int_equal(sysfast_audit("copied.ok", NULL), 0);
	assert_log((const char *const[]){"f:copied.ok", NULL});
}

static void test_null_options_mean_an_unfiltered_hook(void **state)
{
	static struct rec f = {.tag = "f"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, NULL), 0);
	log_reset();
	assert_int_equal(sysfast_audit("t.any", NULL), 0);
	assert_log((const char *const[]){"f:t.any", NULL});
}

static void test_bad_patterns_give_value_error(void **state)
{
	static struct rec f = {.tag = "f"};
	static const char *const star_inside[] = {"os.*.x"};
	static const char *const empty[] = {""};
	static const char *const bad_utf8[] = {"os.\xff"};
	static const char *const null_entry[] = {"ok", NULL};
	static const char *const two_stars[] = {"**"};
	static const char *const ok[] = {"ok"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(star_inside, 1)), -1);
	assert_error(sysfast_ValueError, "'*'");
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(empty, 1)), -1);
	assert_error(sysfast_ValueError, "empty");
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(bad_utf8, 1)), -1);
	assert_error(sysfast_ValueError, "UTF-8");
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(null_entry, 2)), -1);
	assert_error(sysfast_ValueError, "events[1] is NULL");
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(two_stars, 1)), -1);
	assert_error(sysfast_ValueError, "'*'");
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &f, filter(ok, 0)), -1);
	assert_error(sysfast_ValueError, "n_events is 0");
	assert_int_equal(sysfast_add_audit_hook_ex(NULL, &f, NULL), -1);
	assert_error(sysfast_ValueError, "NULL");
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, NULL, &f, NULL), -1);
	assert_error(sysfast_ValueError, "NULL");
	assert_int_equal(sysfast_audit("t.none", NULL), 0);
	assert_int_equal(f.calls, 0);
}

static void test_adding_to_a_dead_interpreter_gives_value_error(void **state)
{
	static struct rec f = {.tag = "f"};
	sysfast_interp *sub = sysfast_interp_new();

	(void)state;
	assert_int_equal(sysfast_interp_destroy(sub), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, rec_hook, &f, NULL), -1);
	assert_error(sysfast_ValueError, "not a live interpreter");
}

/* ---- Precise rules: audit calls ---- */

static void test_without_hooks_only_a_null_name_is_an_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_audit(NULL, NULL), -1);
	assert_error(sysfast_ValueError, "NULL");
	assert_int_equal(sysfast_audit("", "N"), 0);
	assert_int_equal(sysfast_audit("bad\xff", "[{"), 0);
	assert_int_equal(sysfast_audit_args(0, NULL), 0);
	assert_int_equal(sysfast_audit_args(0xffffffffu, NULL), 0);
	assert_no_error();
}

static void test_with_hooks_invalid_names_give_value_error(void **state)
{
	static struct rec a = {.tag = "a"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	a.calls = 0;
	assert_int_equal(sysfast_audit("", NULL), -1);
	assert_error(sysfast_ValueError, "empty");
	assert_int_equal(sysfast_audit("bad\xff", NULL), -1);
	assert_error(sysfast_ValueError, "UTF-8");
	assert_int_equal(sysfast_audit(NULL, NULL), -1);
	assert_error(sysfast_ValueError, "NULL");
	assert_int_equal(a.calls, 0);
}

static void test_with_hooks_unknown_ids_give_value_error(void **state)
{
	static struct rec a = {.tag = "a"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	assert_int_equal(sysfast_audit_args(0, NULL), -1);
	assert_error(sysfast_ValueError, "unknown audit event id 0");
	assert_int_equal(sysfast_audit_args((sysfast_event_id)sysfast_event_count() + 1, NULL), -1);
	assert_error(sysfast_ValueError, "unknown audit event id");
	assert_int_equal(sysfast_audit_args(0xffffffffu, NULL), -1);
	assert_error(sysfast_ValueError, "unknown audit event id");
	assert_false(sysfast_audit_active(0));
	assert_false(sysfast_audit_active(0xffffffffu));
}

static void test_bad_format_gives_system_error_and_calls_no_hook(void **state)
{
	static struct rec a = {.tag = "a"};
	static const char *const ev[] = {"t.listened"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &a, filter(ev, 1)), 0);
	a.calls = 0;
	assert_int_equal(sysfast_audit("t.listened", "(sN)", "x", NULL), -1);
	assert_error(sysfast_SystemError, "'N'");
	/* Also when nobody listens to that event, once any hook exists. */
	assert_int_equal(sysfast_audit("t.unheard", "[i]", 1), -1);
	assert_error(sysfast_SystemError, "'['");
	assert_int_equal(a.calls, 0);
}

static void test_format_building_one_tuple_gives_its_items(void **state)
{
	static struct rec a = {.tag = "a"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	assert_int_equal(sysfast_audit("t.fmt", "(si)", "x", 7), 0);
	assert_int_equal(a.last_nargs, 2);
	assert_int_equal(sysfast_audit("t.fmt", "s", "x"), 0);
	assert_int_equal(a.last_nargs, 1);
	assert_int_equal(sysfast_audit("t.fmt", "", 0), 0);
	assert_int_equal(a.last_nargs, 0);
}

static void test_null_args_mean_no_arguments_and_hooks_get_non_null(void **state)
{
	static struct rec a = {.tag = "a"};
	sysfast_event_id id;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	id = sysfast_event_intern("t.noargs");
	assert_int_equal(sysfast_audit_args(id, NULL), 0);
	assert_non_null(a.last_args);
	assert_int_equal(a.last_nargs, 0);
}

static int evaluated;

static int64_t side_effect(void)
{
	return ++evaluated;
}

static void test_macro_evaluates_arguments_only_when_a_hook_will_run(void **state)
{
	static struct rec a = {.tag = "a"};
	static const char *const ev[] = {"t.macro.on"};

	(void)state;
	evaluated = 0;
	assert_int_equal(SYSFAST_AUDIT("t.macro.off", SYSFAST_INT(side_effect())), 0);
	assert_int_equal(evaluated, 0);
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &a, filter(ev, 1)), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(SYSFAST_AUDIT("t.macro.off", SYSFAST_INT(side_effect())), 0);
	assert_int_equal(SYSFAST_AUDIT("t.macro.on", SYSFAST_STR("p"), SYSFAST_INT(side_effect())),
	                 0);
	assert_int_equal(evaluated, 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.last_nargs, 2);
	assert_int_equal(a.kinds[0], SYSFAST_ARG_STR);
	assert_int_equal(a.kinds[1], SYSFAST_ARG_INT);
}

/* A hook in a sub-interpreter sets the event's process-wide filter byte:
 * a site on a thread of the main interpreter must still not evaluate its
 * arguments, while the sub-interpreter lives and after it is gone (the
 * byte stays set until sysfast_fini); with only the main interpreter the
 * byte alone decides. */
static void test_macro_evaluates_arguments_only_for_hooks_of_the_threads_interpreter(void **state)
{
	static struct rec m = {.tag = "m"}, s = {.tag = "s"};
	static const char *const main_ev[] = {"t.exact.main"};
	static const char *const sub_ev[] = {"t.exact.sub"};
	sysfast_interp *sub;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &m, filter(main_ev, 1)), 0);
	evaluated = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(SYSFAST_AUDIT("t.exact.main", SYSFAST_INT(side_effect())), 0);
		assert_int_equal(SYSFAST_AUDIT("t.exact.sub", SYSFAST_INT(side_effect())), 0);
	}
	assert_int_equal(evaluated, 3);
	assert_int_equal(m.calls, 3);

	sub = sysfast_interp_new();
	assert_non_null(sub);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, rec_hook, &s, filter(sub_ev, 1)), 0);
	for (int round = 0; round < 2; round++) {
		evaluated = 0;
		m.calls = s.calls = 0;
		for (int i = 0; i < 3; i++) {
			assert_int_equal(SYSFAST_AUDIT("t.exact.sub", SYSFAST_INT(side_effect())),
			                 0);
			assert_int_equal(SYSFAST_AUDIT("t.exact.main", SYSFAST_INT(side_effect())),
			                 0);
		}
		assert_int_equal(evaluated, 3);
		assert_int_equal(m.calls, 3);
		assert_int_equal(s.calls, 0);
		/* The second round after the sub-interpreter is gone. */
		if (round == 0)
			assert_int_equal(sysfast_interp_destroy(sub), 0);
	}
}

static void test_audit_active_tells_whether_a_hook_would_run(void **state)
{
	static struct rec a = {.tag = "a"};
	static const char *const ev[] = {"t.active"};
	sysfast_event_id on = sysfast_event_intern("t.active");
	sysfast_event_id off = sysfast_event_intern("t.inactive");

	(void)state;
	assert_false(sysfast_audit_active(on));
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, &a, filter(ev, 1)), 0);
	assert_true(sysfast_audit_active(on));
	assert_false(sysfast_audit_active(off));
}

static void test_after_fini_audit_calls_return_zero_and_call_nothing(void **state)
{
	static struct rec a = {.tag = "a"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	sysfast_fini();
	a.calls = 0;
	assert_int_equal(sysfast_audit("t.after.fini", "i", 1), 0);
	assert_int_equal(SYSFAST_AUDIT("t.after.fini.macro"), 0);
	assert_int_equal(a.calls, 0);
	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_audit("t.after.reinit", NULL), 0);
	assert_int_equal(a.calls, 0); /* fini dropped it */
}

/* ---- Rule 8: sealing (last: it lasts for the life of the process) ---- */

static void test_seal_makes_every_add_fail_with_permission_error(void **state)
{
	static struct rec a = {.tag = "a"}, b = {.tag = "b"};

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &a), 0);
	assert_int_equal(sysfast_audit_seal(), 0);
	assert_int_equal(sysfast_audit_seal(), 0);
	a.calls = 0;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), -1);
	assert_error(sysfast_PermissionError, "sealed");
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, &b, NULL), -1);
	assert_error(sysfast_PermissionError, "sealed");
	assert_int_equal(a.calls, 0); /* no "sys.addaudithook" raised */
	sysfast_fini();
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), -1);
	assert_error(sysfast_PermissionError, "sealed");
	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &b), -1);
	assert_error(sysfast_PermissionError, "sealed");
}

#define T(fn) cmocka_unit_test_setup(fn, fresh_runtime)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_hook_added_before_init_is_kept_and_sees_events),
	    T(test_interpreter_hook_runs_only_in_its_interpreter),
	    T(test_process_wide_hooks_run_first_then_interpreter_hooks_in_add_order),
	    T(test_filtered_hook_keeps_its_place_in_the_order),
	    T(test_first_failing_hook_stops_dispatch),
	    T(test_hook_returning_minus_one_without_error_gives_system_error),
	    T(test_hook_return_values_other_than_zero_count_as_failure),
	    T(test_hook_returning_zero_with_error_set_gives_system_error),
	    T(test_add_raises_sys_addaudithook_through_existing_hooks),
	    T(test_runtime_error_subclass_blocks_add_and_returns_one),
	    T(test_refused_add_keeps_the_callers_pending_error),
	    T(test_successful_add_keeps_the_callers_pending_error),
	    T(test_other_errors_from_sys_addaudithook_propagate),
	    T(test_sys_addaudithook_is_raised_in_the_callers_interpreter),
	    T(test_hook_added_during_dispatch_runs_from_the_next_dispatch),
	    T(test_hooks_may_audit_recursively),
	    T(test_pending_error_is_hidden_from_hooks_and_kept_on_success),
	    T(test_pending_error_is_replaced_by_the_hooks_error_on_failure),
	    T(test_hook_gets_the_interned_name_pointer_and_id),
	    T(test_reused_name_buffer_raises_the_event_it_now_holds),
	    T(test_event_gets_its_first_hook_between_two_calls_from_one_site),
	    T(test_prefix_pattern_matches_names_that_start_with_it),
	    T(test_star_pattern_matches_every_event),
	    T(test_event_interned_after_a_prefix_hook_gets_that_hook),
	    T(test_exact_pattern_for_a_name_not_yet_interned_works),
	    T(test_hook_options_and_patterns_are_copied),
	    T(test_null_options_mean_an_unfiltered_hook),
	    T(test_bad_patterns_give_value_error),
	    T(test_adding_to_a_dead_interpreter_gives_value_error),
	    T(test_without_hooks_only_a_null_name_is_an_error),
	    T(test_with_hooks_invalid_names_give_value_error),
	    T(test_with_hooks_unknown_ids_give_value_error),
	    T(test_bad_format_gives_system_error_and_calls_no_hook),
	    T(test_format_building_one_tuple_gives_its_items),
	    T(test_null_args_mean_no_arguments_and_hooks_get_non_null),
	    T(test_macro_evaluates_arguments_only_when_a_hook_will_run),
	    T(test_macro_evaluates_arguments_only_for_hooks_of_the_threads_interpreter),
	    T(test_audit_active_tells_whether_a_hook_would_run),
	    T(test_after_fini_audit_calls_return_zero_and_call_nothing),
	    T(test_seal_makes_every_add_fail_with_permission_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
