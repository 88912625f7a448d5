/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The runtime and its interpreters (<sysfast/runtime.h>): init and fini,
 * creating, entering and destroying interpreters, threads coming and going,
 * and the lifecycle audit events. Uses the public API only.
 *
 * Hooks cannot be removed, so every test after the "before init" ones runs
 * in a runtime of its own: the fixture initialises before the test and
 * finalises after it, which drops every hook the test added.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define EV_NEW "cpython.PyInterpreterState_New"
#define EV_CLEAR "cpython.PyInterpreterState_Clear"
#define EV_CLEAR_HOOKS "cpython._PySys_ClearAuditHooks"

/* ---- recording hooks ----
 *
 * A recording hook logs the lifecycle ("cpython.*") events it sees, tagged
 * with who saw them ("G" for a process-wide hook, the interpreter's name
 * for its own hooks), so a test can check who saw what, in which order.
 * Hooks here run on the test's thread only.
 */

struct seen {
	const char *tag;
	const char *event;
	size_t nargs;
	bool finalizing;
};

static struct {
	size_t n;
	struct seen e[32];
} seen_log;

struct recorder {
	const char *tag;
	const char *fail_on; /* fail this event with ValueError; NULL: never */
};

static void log_reset(void)
{
	seen_log.n = 0;
}

static int record_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                       void *userdata)
{
	const struct recorder *r = userdata;

	(void)id;
	if (strncmp(name, "cpython.", 8) != 0)
		return 0;
	if (seen_log.n < sizeof(seen_log.e) / sizeof(seen_log.e[0]))
		seen_log.e[seen_log.n++] =
		    (struct seen){r->tag, name, args->n, sysfast_is_finalizing()};
	if (r->fail_on && strcmp(name, r->fail_on) == 0) {
		sysfast_err_set(sysfast_ValueError, "hook says no");
		return -1;
	}
	return 0;
}

/* Checks that the log is exactly `expected`, entries written "tag:event". */
#define assert_log(...)                                                                            \
	assert_log_is((const char *const[]){__VA_ARGS__},                                          \
	              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
static void assert_log_is(const char *const *expected, size_t n)
{
	bool same = seen_log.n == n;
	char got[128];

	for (size_t i = 0; same && i < n; i++) {
		snprintf(got, sizeof(got), "%s:%s", seen_log.e[i].tag, seen_log.e[i].event);
		same = strcmp(got, expected[i]) == 0;
	}
	if (same)
		return;
	for (size_t i = 0; i < seen_log.n; i++)
		print_error("  seen[%zu] %s:%s\n", i, seen_log.e[i].tag, seen_log.e[i].event);
	for (size_t i = 0; i < n; i++)
		print_error("  expected[%zu] %s\n", i, expected[i]);
	fail_msg("the hooks saw other events than expected");
}

static size_t log_count(const char *tag_event)
{
	char got[128];
	size_t count = 0;

	for (size_t i = 0; i < seen_log.n; i++) {
		snprintf(got, sizeof(got), "%s:%s", seen_log.e[i].tag, seen_log.e[i].event);
		count += strcmp(got, tag_event) == 0;
	}
	return count;
}

static struct recorder global_rec = {"G", NULL};

static void add_global_recorder(struct recorder *r)
{
	assert_int_equal(sysfast_add_audit_hook(record_hook, r), 0);
	assert_no_error();
}

static void add_own_recorder(sysfast_interp *interp, struct recorder *r)
{
	assert_int_equal(sysfast_interp_add_audit_hook(interp, record_hook, r, NULL), 0);
	assert_no_error();
}

/* A hook that counts every event it sees. */
static int count_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                      void *userdata)
{
	(void)id, (void)name, (void)args;
	__atomic_fetch_add((unsigned *)userdata, 1, __ATOMIC_RELAXED);
	return 0;
}

/* ---- a worker thread that enters interpreters on request ---- */

struct worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned asked, done;
	bool quit;
	sysfast_interp *request;
	sysfast_interp *current; /* sysfast_interp_current() after the last request */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		sysfast_interp *target;

		while (w->asked == w->done && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->asked == w->done)
			break;
		target = w->request;
		pthread_mutex_unlock(&w->mu);
		(void)sysfast_interp_enter(target);
		sysfast_err_clear();
		target = sysfast_interp_current();
		pthread_mutex_lock(&w->mu);
		w->current = target;
		w->done++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_start(struct worker *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	assert_int_equal(pthread_create(&w->th, NULL, worker_main, w), 0);
}

/* Has the worker enter `interp` and waits until it did; returns the
 * worker's current interpreter afterwards. */
static sysfast_interp *worker_enter(struct worker *w, sysfast_interp *interp)
{
	sysfast_interp *current;

	pthread_mutex_lock(&w->mu);
	w->request = interp;
	w->asked++;
	pthread_cond_broadcast(&w->cv);
	while (w->done != w->asked)
		pthread_cond_wait(&w->cv, &w->mu);
	current = w->current;
	pthread_mutex_unlock(&w->mu);
	return current;
}

/* Lets the worker exit, still bound to whatever it entered last. */
static void worker_exit(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	assert_int_equal(pthread_join(w->th, NULL), 0);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/* ---- before init (these run first: the process has not initialised) ---- */

static void test_runtime_is_not_initialized_before_init(void **state)
{
	(void)state;
	assert_false(sysfast_is_initialized());
	assert_false(sysfast_is_finalizing());
	assert_no_error();
}

static void test_main_and_current_interp_are_null_without_error_before_init(void **state)
{
	(void)state;
	assert_null(sysfast_interp_main());
	assert_null(sysfast_interp_current());
	assert_no_error();
}

static void test_interp_new_before_init_is_system_error(void **state)
{
	(void)state;
	assert_null(sysfast_interp_new());
	assert_error(sysfast_SystemError, "sysfast is not initialized");
}

static void test_interp_destroy_before_init_is_system_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_interp_destroy(NULL), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
}

static void test_interp_enter_before_init_is_system_error(void **state)
{
	(void)state;
	assert_null(sysfast_interp_enter(NULL));
	assert_error(sysfast_SystemError, "sysfast is not initialized");
}

static void test_fini_before_init_is_a_no_op(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_TypeError, "pending before fini");
	sysfast_fini();

	assert_false(sysfast_is_initialized());
	assert_false(sysfast_is_finalizing());
	assert_error(sysfast_TypeError, "pending before fini");
}

static void test_event_intern_before_init_is_system_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_event_intern("test.runtime.before_init"), 0);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
}

static void test_audit_before_init_returns_zero(void **state)
{
	(void)state;
	assert_int_equal(sysfast_audit("x.y", "i", 1), 0);
	assert_int_equal(SYSFAST_AUDIT("x.y", SYSFAST_INT(1)), 0);
	assert_int_equal(sysfast_audit_args(1, NULL), 0);
	assert_false(sysfast_audit_active(1));
	assert_no_error();
}

/* Leaves the runtime up; the fixture's teardown finalises it. */
static void test_hook_added_before_init_is_kept_and_sees_events_after_init(void **state)
{
	static unsigned calls;

	(void)state;
	assert_false(sysfast_is_initialized());
	assert_int_equal(sysfast_add_audit_hook(count_hook, &calls), 0);
	assert_int_equal(sysfast_audit("test.runtime.early_hook", "i", 1), 0);
	assert_int_equal(calls, 0);

	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_audit("test.runtime.early_hook", "i", 1), 0);

	assert_int_equal(calls, 1);
	assert_no_error();
}

/* ---- init and the main interpreter ---- */

static void test_init_is_idempotent(void **state)
{
	sysfast_interp *main_interp = sysfast_interp_main();

	(void)state;
	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_init(), 0);

	assert_true(sysfast_is_initialized());
	assert_false(sysfast_is_finalizing());
	assert_non_null(main_interp);
	assert_ptr_equal(sysfast_interp_main(), main_interp);
	assert_no_error();
}

static void test_current_interp_is_main_by_default(void **state)
{
	(void)state;
	assert_non_null(sysfast_interp_main());
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
	assert_no_error();
}

static void *report_current_interp(void *arg)
{
	*(sysfast_interp **)arg = sysfast_interp_current();
	return NULL;
}

static void test_current_interp_of_a_new_thread_is_main(void **state)
{
	sysfast_interp *seen = NULL;
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, report_current_interp, &seen), 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	assert_ptr_equal(seen, sysfast_interp_main());
}

/* ---- creating and entering interpreters ---- */

static void test_interp_new_returns_distinct_interpreters(void **state)
{
	sysfast_interp *a = sysfast_interp_new();
	sysfast_interp *b = sysfast_interp_new();

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_ptr_not_equal(a, sysfast_interp_main());
	assert_ptr_not_equal(b, sysfast_interp_main());
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
	assert_no_error();
}

static void test_enter_binds_the_thread_and_returns_the_previous_interp(void **state)
{
	sysfast_interp *main_interp = sysfast_interp_main();
	sysfast_interp *a = sysfast_interp_new();
	sysfast_interp *b = sysfast_interp_new();

	(void)state;
	assert_ptr_equal(sysfast_interp_enter(a), main_interp);
	assert_ptr_equal(sysfast_interp_current(), a);
	assert_ptr_equal(sysfast_interp_enter(b), a);
	assert_ptr_equal(sysfast_interp_current(), b);
	assert_ptr_equal(sysfast_interp_enter(main_interp), b);
	assert_ptr_equal(sysfast_interp_current(), main_interp);
	assert_no_error();
}

static void test_enter_of_the_current_interp_returns_it(void **state)
{
	sysfast_interp *main_interp = sysfast_interp_main();

	(void)state;
	assert_ptr_equal(sysfast_interp_enter(main_interp), main_interp);
	assert_ptr_equal(sysfast_interp_current(), main_interp);
	assert_no_error();
}

static void test_enter_null_is_value_error_and_keeps_the_binding(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	assert_non_null(sysfast_interp_enter(a));
	assert_null(sysfast_interp_enter(NULL));

	assert_error(sysfast_ValueError, NULL);
	assert_ptr_equal(sysfast_interp_current(), a);
}

static void test_enter_of_a_destroyed_interp_is_value_error(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	assert_int_equal(sysfast_interp_destroy(a), 0);
	assert_null(sysfast_interp_enter(a));

	assert_error(sysfast_ValueError, NULL);
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
}

/* ---- destroying interpreters ---- */

static void test_destroy_of_null_is_value_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_interp_destroy(NULL), -1);
	assert_error(sysfast_ValueError, NULL);
}

static void test_destroy_of_main_is_value_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_interp_destroy(sysfast_interp_main()), -1);
	assert_error(sysfast_ValueError, NULL);
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
}

static void test_destroy_of_an_unused_interp_succeeds(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	assert_int_equal(sysfast_interp_destroy(a), 0);
	assert_no_error();
}

static void test_destroy_twice_is_value_error(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	assert_int_equal(sysfast_interp_destroy(a), 0);
	assert_int_equal(sysfast_interp_destroy(a), -1);
	assert_error(sysfast_ValueError, "not a live interpreter");
}

static void test_destroy_of_the_callers_own_interp_is_runtime_error(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	sysfast_interp_enter(a);
	assert_int_equal(sysfast_interp_destroy(a), -1);
	assert_error(sysfast_RuntimeError, "interpreter is in use");

	sysfast_interp_enter(sysfast_interp_main());
	assert_int_equal(sysfast_interp_destroy(a), 0);
}

static void test_destroy_of_interp_entered_by_another_live_thread_is_runtime_error(void **state)
{
	sysfast_interp *a = sysfast_interp_new();
	struct worker w;

	(void)state;
	worker_start(&w);
	assert_ptr_equal(worker_enter(&w, a), a);

	assert_int_equal(sysfast_interp_destroy(a), -1);
	assert_error(sysfast_RuntimeError, "interpreter is in use");
	worker_exit(&w);
}

static void test_destroy_succeeds_once_the_other_thread_reenters_main(void **state)
{
	sysfast_interp *a = sysfast_interp_new();
	struct worker w;

	(void)state;
	worker_start(&w);
	assert_ptr_equal(worker_enter(&w, a), a);
	assert_int_equal(sysfast_interp_destroy(a), -1);
	assert_error(sysfast_RuntimeError, "interpreter is in use");

	assert_ptr_equal(worker_enter(&w, sysfast_interp_main()), sysfast_interp_main());

	assert_int_equal(sysfast_interp_destroy(a), 0);
	assert_no_error();
	worker_exit(&w);
}

/* Enters the interpreter and main again, over and over, until it is gone. */
static void *toggle_binding(void *arg)
{
	sysfast_interp *interp = arg;

	for (int i = 0; i < 20000; i++) {
		if (!sysfast_interp_enter(interp))
			break;
		sysfast_interp_enter(sysfast_interp_main());
	}
	sysfast_err_clear();
	return NULL;
}

/* The count in "in use" is the one that refused the destroy, read under
 * the lock (fuzz_threads found it read after the unlock, a data race with
 * threads entering and leaving; the TSan build reports it). */
static void test_in_use_message_counts_the_threads_that_refused_the_destroy(void **state)
{
	sysfast_interp *a = sysfast_interp_new();
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, toggle_binding, a), 0);
	for (int i = 0; i < 20000; i++) {
		if (sysfast_interp_destroy(a) == 0)
			break;
		assert_error(sysfast_RuntimeError, "interpreter is in use (1 thread bound to it)");
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	if (sysfast_interp_destroy(a) == -1)
		assert_error(sysfast_ValueError, "not a live interpreter");
	sysfast_err_clear();
}

static void *enter_and_exit(void *arg)
{
	sysfast_interp *interp = arg;

	return sysfast_interp_enter(interp) && sysfast_interp_current() == interp ? arg : NULL;
}

static void test_thread_exiting_while_bound_releases_its_binding(void **state)
{
	sysfast_interp *a = sysfast_interp_new();
	void *entered = NULL;
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, enter_and_exit, a), 0);
	assert_int_equal(pthread_join(th, &entered), 0);
	assert_ptr_equal(entered, a);

	assert_int_equal(sysfast_interp_destroy(a), 0);
	assert_no_error();
}

static void test_failed_destroys_raise_no_event(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	add_global_recorder(&global_rec);
	sysfast_interp_enter(a);
	log_reset();

	assert_int_equal(sysfast_interp_destroy(NULL), -1);
	assert_error(sysfast_ValueError, NULL);
	assert_int_equal(sysfast_interp_destroy(sysfast_interp_main()), -1);
	assert_error(sysfast_ValueError, NULL);
	assert_int_equal(sysfast_interp_destroy(a), -1);
	assert_error(sysfast_RuntimeError, "interpreter is in use");

	assert_int_equal(seen_log.n, 0);
}

/* ---- lifecycle events ---- */

static void test_interp_new_raises_its_event_in_the_callers_interp_with_no_args(void **state)
{
	static struct recorder own_of_a = {"A", NULL}, own_of_main = {"M", NULL};
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	add_global_recorder(&global_rec);
	add_own_recorder(a, &own_of_a);
	add_own_recorder(sysfast_interp_main(), &own_of_main);
	sysfast_interp_enter(a);
	log_reset();

	assert_non_null(sysfast_interp_new());

	assert_log("G:" EV_NEW, "A:" EV_NEW);
	assert_int_equal(seen_log.e[0].nargs, 0);
	assert_int_equal(seen_log.e[1].nargs, 0);
	assert_no_error();
}

static void test_failing_interp_new_hook_makes_interp_new_fail_with_its_error(void **state)
{
	static struct recorder refuse_new = {"G", EV_NEW};

	(void)state;
	add_global_recorder(&refuse_new);

	assert_null(sysfast_interp_new());
	assert_error(sysfast_ValueError, "hook says no");

	/* Nothing was created: finalising clears the main interpreter only. */
	log_reset();
	sysfast_fini();
	assert_log("G:" EV_CLEAR, "G:" EV_CLEAR_HOOKS);
}

static void test_destroy_raises_clear_to_process_wide_and_own_hooks_not_mains(void **state)
{
	static struct recorder own_of_a = {"A", NULL}, own_of_main = {"M", NULL};
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	add_global_recorder(&global_rec);
	add_own_recorder(a, &own_of_a);
	add_own_recorder(sysfast_interp_main(), &own_of_main);
	log_reset();

	assert_int_equal(sysfast_interp_destroy(a), 0);

	assert_log("G:" EV_CLEAR, "A:" EV_CLEAR);
	assert_int_equal(seen_log.e[0].nargs, 0);
	assert_no_error();
}

static void test_failing_hook_cannot_stop_destroy(void **state)
{
	static struct recorder refuse_clear = {"A", EV_CLEAR};
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	add_own_recorder(a, &refuse_clear);
	log_reset();

	assert_int_equal(sysfast_interp_destroy(a), 0);

	assert_log("A:" EV_CLEAR);
	assert_no_error();
	assert_int_equal(sysfast_interp_destroy(a), -1);
	assert_error(sysfast_ValueError, "not a live interpreter");
}

static struct {
	sysfast_interp *target;
	sysfast_interp *got;
	const sysfast_exc_type *error;
} enter_during_clear;

static int enter_target_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                             void *userdata)
{
	(void)id, (void)args, (void)userdata;
	if (strcmp(name, EV_CLEAR) != 0)
		return 0;
	enter_during_clear.got = sysfast_interp_enter(enter_during_clear.target);
	enter_during_clear.error = sysfast_err_occurred();
	sysfast_err_clear();
	return 0;
}

static void test_enter_of_an_interp_being_destroyed_is_runtime_error(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	enter_during_clear.target = a;
	assert_int_equal(sysfast_interp_add_audit_hook(a, enter_target_hook, NULL, NULL), 0);

	assert_int_equal(sysfast_interp_destroy(a), 0);

	assert_null(enter_during_clear.got);
	assert_ptr_equal(enter_during_clear.error, sysfast_RuntimeError);
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
}

/* ---- fini ---- */

static void test_fini_clears_subinterps_in_creation_order_then_main_then_hooks(void **state)
{
	static struct recorder own_of_a = {"A", NULL}, own_of_b = {"B", NULL},
	                       own_of_main = {"M", NULL};
	sysfast_interp *a = sysfast_interp_new();
	sysfast_interp *gone = sysfast_interp_new();
	sysfast_interp *b = sysfast_interp_new();

	(void)state;
	assert_int_equal(sysfast_interp_destroy(gone), 0);
	add_global_recorder(&global_rec);
	add_own_recorder(sysfast_interp_main(), &own_of_main);
	add_own_recorder(b, &own_of_b);
	add_own_recorder(a, &own_of_a);
	log_reset();

	sysfast_fini();

	assert_log("G:" EV_CLEAR, "A:" EV_CLEAR, "G:" EV_CLEAR, "B:" EV_CLEAR, "G:" EV_CLEAR,
	           "M:" EV_CLEAR, "G:" EV_CLEAR_HOOKS);
	for (size_t i = 0; i < seen_log.n; i++)
		assert_int_equal(seen_log.e[i].nargs, 0);
	assert_no_error();
}

static void test_fini_raises_clear_hooks_to_process_wide_hooks_only(void **state)
{
	static struct recorder own_of_a = {"A", NULL}, own_of_main = {"M", NULL};
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	add_own_recorder(a, &own_of_a);
	add_own_recorder(sysfast_interp_main(), &own_of_main);
	log_reset();

	sysfast_fini();

	assert_log("A:" EV_CLEAR, "M:" EV_CLEAR);
}

static void test_is_finalizing_is_true_only_while_fini_runs(void **state)
{
	(void)state;
	add_global_recorder(&global_rec);
	log_reset();
	assert_false(sysfast_is_finalizing());

	sysfast_fini();

	assert_false(sysfast_is_finalizing());
	assert_int_equal(log_count("G:" EV_CLEAR_HOOKS), 1);
	for (size_t i = 0; i < seen_log.n; i++)
		assert_true(seen_log.e[i].finalizing);
}

static void test_fini_then_init_gives_a_fresh_working_runtime(void **state)
{
	static unsigned old_calls, new_calls;
	sysfast_interp *a;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(count_hook, &old_calls), 0);
	sysfast_fini();
	assert_false(sysfast_is_initialized());
	old_calls = 0;

	assert_int_equal(sysfast_init(), 0);

	assert_true(sysfast_is_initialized());
	assert_false(sysfast_is_finalizing());
	assert_non_null(sysfast_interp_main());
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
	assert_int_equal(sysfast_audit("test.runtime.fresh", "i", 1), 0);
	assert_int_equal(old_calls, 0);
	assert_int_equal(sysfast_add_audit_hook(count_hook, &new_calls), 0);
	assert_int_equal(sysfast_audit("test.runtime.fresh", "i", 1), 0);
	assert_int_equal(new_calls, 1);
	a = sysfast_interp_new();
	assert_non_null(a);
	assert_ptr_equal(sysfast_interp_enter(a), sysfast_interp_main());
	assert_ptr_equal(sysfast_interp_enter(sysfast_interp_main()), a);
	assert_int_equal(sysfast_interp_destroy(a), 0);
	assert_int_equal(old_calls, 0);
	assert_no_error();
}

static void test_thread_bound_to_a_subinterp_is_in_main_after_fini_and_init(void **state)
{
	sysfast_interp *a = sysfast_interp_new();
	struct worker w;

	(void)state;
	worker_start(&w);
	assert_ptr_equal(worker_enter(&w, a), a);
	sysfast_interp_enter(a);

	sysfast_fini();
	assert_int_equal(sysfast_init(), 0);

	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
	assert_ptr_equal(worker_enter(&w, sysfast_interp_main()), sysfast_interp_main());
	worker_exit(&w);
	assert_no_error();
}

static void test_between_fini_and_init_the_runtime_is_not_initialized(void **state)
{
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	sysfast_fini();

	assert_false(sysfast_is_initialized());
	assert_null(sysfast_interp_main());
	assert_null(sysfast_interp_current());
	assert_no_error();
	assert_null(sysfast_interp_new());
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_interp_destroy(a), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_null(sysfast_interp_enter(a));
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_event_intern("test.runtime.between"), 0);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
}

static void test_fini_keeps_a_pending_error_of_the_caller(void **state)
{
	static struct recorder refuse_all_clears = {"G", EV_CLEAR};

	(void)state;
	add_global_recorder(&refuse_all_clears);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending across fini");

	sysfast_fini();

	assert_error(sysfast_KeyboardInterrupt, "pending across fini");
}

static void test_errors_of_hooks_during_fini_are_cleared(void **state)
{
	static struct recorder refuse_clear_hooks = {"H", EV_CLEAR_HOOKS};
	static struct recorder refuse_own_a = {"A", EV_CLEAR}, refuse_own_main = {"M", EV_CLEAR};
	sysfast_interp *a = sysfast_interp_new();

	(void)state;
	add_global_recorder(&global_rec);
	add_global_recorder(&refuse_clear_hooks);
	add_own_recorder(a, &refuse_own_a);
	add_own_recorder(sysfast_interp_main(), &refuse_own_main);
	log_reset();

	sysfast_fini();

	/* Every dispatch ran to its failing hook; fini went on regardless. */
	assert_log("G:" EV_CLEAR, "H:" EV_CLEAR, "A:" EV_CLEAR, "G:" EV_CLEAR, "H:" EV_CLEAR,
	           "M:" EV_CLEAR, "G:" EV_CLEAR_HOOKS, "H:" EV_CLEAR_HOOKS);
	assert_no_error();
	assert_false(sysfast_is_initialized());
}

static struct {
	int rc;
	const sysfast_exc_type *error;
} init_during_fini;

static int init_on_clear_hooks(sysfast_event_id id, const char *name, const sysfast_args *args,
                               void *userdata)
{
	(void)id, (void)args, (void)userdata;
	if (strcmp(name, EV_CLEAR_HOOKS) != 0)
		return 0;
	init_during_fini.rc = sysfast_init();
	init_during_fini.error = sysfast_err_occurred();
	sysfast_err_clear();
	return 0;
}

static void test_init_while_fini_runs_is_runtime_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_add_audit_hook(init_on_clear_hooks, NULL), 0);

	sysfast_fini();

	assert_int_equal(init_during_fini.rc, -1);
	assert_ptr_equal(init_during_fini.error, sysfast_RuntimeError);
	assert_false(sysfast_is_initialized());
	assert_no_error();
}

static void test_after_fini_audit_returns_zero_and_calls_no_hook(void **state)
{
	static unsigned calls;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(count_hook, &calls), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, count_hook, &calls, NULL), 0);
	assert_int_equal(sysfast_audit("test.runtime.after_fini", "i", 1), 0);
	assert_int_not_equal(calls, 0);
	sysfast_fini();
	calls = 0;

	assert_int_equal(sysfast_audit("test.runtime.after_fini", "i", 1), 0);
	assert_int_equal(sysfast_audit("x.y", "i", 1), 0);
	assert_int_equal(SYSFAST_AUDIT("test.runtime.after_fini", SYSFAST_INT(1)), 0);
	assert_int_equal(sysfast_audit_args(sysfast_event_find("test.runtime.after_fini"), NULL),
	                 0);
	assert_false(sysfast_audit_active(sysfast_event_find("test.runtime.after_fini")));

	assert_int_equal(calls, 0);
	assert_no_error();
}

static void test_hook_added_between_fini_and_init_is_kept(void **state)
{
	static unsigned calls;

	(void)state;
	sysfast_fini();
	assert_int_equal(sysfast_add_audit_hook(count_hook, &calls), 0);
	assert_int_equal(sysfast_audit("test.runtime.between_hook", "i", 1), 0);
	assert_int_equal(calls, 0);

	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_audit("test.runtime.between_hook", "i", 1), 0);

	assert_int_equal(calls, 1);
	assert_no_error();
}

/* ---- threads come and go ---- */

struct thread_use {
	sysfast_interp *interp; /* to enter, and exit while bound to */
	bool ok;
};

/* What a short-lived thread does: looks at the runtime, raises an event,
 * uses its error indicator, and exits bound to a sub-interpreter. */
static void *use_library_and_exit(void *arg)
{
	struct thread_use *u = arg;
	bool ok = sysfast_interp_current() == sysfast_interp_main();

	ok = ok && sysfast_audit("test.runtime.thread", "(is)", 1, "x") == 0;
	ok = ok && sysfast_event_intern("test.runtime.thread") != 0;
	sysfast_err_set(sysfast_ValueError, "thread's own");
	ok = ok && sysfast_err_matches(sysfast_ValueError);
	sysfast_err_clear();
	ok = ok && sysfast_interp_enter(u->interp) == sysfast_interp_main();
	ok = ok && sysfast_interp_current() == u->interp;
	u->ok = ok && !sysfast_err_occurred();
	return NULL;
}

static void test_many_short_lived_threads_leave_nothing_behind(void **state)
{
	enum { SEQUENTIAL = 50, CONCURRENT = 8 };
	struct thread_use uses[CONCURRENT];
	pthread_t th[CONCURRENT];
	static unsigned calls;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(count_hook, &calls), 0);
	calls = 0;
	for (int i = 0; i < SEQUENTIAL; i++) {
		struct thread_use u = {sysfast_interp_new(), false};

		assert_non_null(u.interp);
		assert_int_equal(pthread_create(&th[0], NULL, use_library_and_exit, &u), 0);
		assert_int_equal(pthread_join(th[0], NULL), 0);
		assert_true(u.ok);
		assert_int_equal(sysfast_interp_destroy(u.interp), 0);
	}
	for (int i = 0; i < CONCURRENT; i++) {
		uses[i] = (struct thread_use){sysfast_interp_new(), false};
		assert_non_null(uses[i].interp);
	}
	for (int i = 0; i < CONCURRENT; i++)
		assert_int_equal(pthread_create(&th[i], NULL, use_library_and_exit, &uses[i]), 0);
	for (int i = 0; i < CONCURRENT; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	for (int i = 0; i < CONCURRENT; i++) {
		assert_true(uses[i].ok);
		assert_int_equal(sysfast_interp_destroy(uses[i].interp), 0);
	}
	/* One event per thread, plus the interpreters' own lifecycle events. */
	assert_int_equal(calls, 3 * (SEQUENTIAL + CONCURRENT));
	assert_no_error();
}

struct racing_init {
	pthread_barrier_t *start;
	int rc;
	sysfast_interp *main;
};

static void *init_at_once(void *arg)
{
	struct racing_init *r = arg;

	pthread_barrier_wait(r->start);
	r->rc = sysfast_init();
	r->main = sysfast_interp_main();
	return NULL;
}

static void test_concurrent_inits_start_one_runtime(void **state)
{
	enum { THREADS = 8 };
	struct racing_init r[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_t start;

	(void)state;
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct racing_init){&start, -1, NULL};
		assert_int_equal(pthread_create(&th[i], NULL, init_at_once, &r[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(r[i].rc, 0);
		assert_non_null(r[i].main);
		assert_ptr_equal(r[i].main, r[0].main);
	}
	assert_true(sysfast_is_initialized());
	assert_ptr_equal(sysfast_interp_main(), r[0].main);
}

/* ---- fixtures ---- */

static int runtime_up(void **state)
{
	(void)state;
	log_reset();
	return sysfast_init() == 0 && !sysfast_err_occurred() ? 0 : -1;
}

static int runtime_down(void **state)
{
	(void)state;
	sysfast_err_clear();
	sysfast_fini();
	sysfast_err_clear();
	return sysfast_is_initialized() ? -1 : 0;
}

/* An interpreter's hook table is an 8 MiB mapping: when the address space
 * has no room for it, interp_new fails with MemoryError and nothing is
 * left half-made. In a child, under RLIMIT_AS just above what it uses.
 * Left out of sanitizer builds: their runtimes reserve terabytes of
 * shadow memory (and cmocka's skip() would count as a failure). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
static void test_interp_new_without_address_space_is_memory_error(void **state)
{
	long pages = 0;
	FILE *f;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sysfast_interp *interp;
		struct rlimit rl;
		int ok;

		f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%ld", &pages) != 1)
			_exit(2);
		fclose(f);
		rl.rlim_cur = rl.rlim_max =
		    (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)(1 << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		interp = sysfast_interp_new();
		ok = interp == NULL && sysfast_err_matches(sysfast_MemoryError)
		     && strstr(sysfast_err_message(), "mapping") != NULL;
		sysfast_err_clear();
		/* The main interpreter still works. */
		ok = ok && sysfast_interp_current() == sysfast_interp_main();
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}
#endif

#define BEFORE_INIT(f) cmocka_unit_test_teardown(f, runtime_down)
#define WITH_RUNTIME(f) cmocka_unit_test_setup_teardown(f, runtime_up, runtime_down)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BEFORE_INIT(test_runtime_is_not_initialized_before_init),
	    BEFORE_INIT(test_main_and_current_interp_are_null_without_error_before_init),
	    BEFORE_INIT(test_interp_new_before_init_is_system_error),
	    BEFORE_INIT(test_interp_destroy_before_init_is_system_error),
	    BEFORE_INIT(test_interp_enter_before_init_is_system_error),
	    BEFORE_INIT(test_fini_before_init_is_a_no_op),
	    BEFORE_INIT(test_event_intern_before_init_is_system_error),
	    BEFORE_INIT(test_audit_before_init_returns_zero),
	    BEFORE_INIT(test_hook_added_before_init_is_kept_and_sees_events_after_init),
	    WITH_RUNTIME(test_init_is_idempotent),
	    WITH_RUNTIME(test_current_interp_is_main_by_default),
	    WITH_RUNTIME(test_current_interp_of_a_new_thread_is_main),
	    WITH_RUNTIME(test_interp_new_returns_distinct_interpreters),
#ifndef SANITIZED
	    WITH_RUNTIME(test_interp_new_without_address_space_is_memory_error),
#endif
	    WITH_RUNTIME(test_enter_binds_the_thread_and_returns_the_previous_interp),
	    WITH_RUNTIME(test_enter_of_the_current_interp_returns_it),
	    WITH_RUNTIME(test_enter_null_is_value_error_and_keeps_the_binding),
	    WITH_RUNTIME(test_enter_of_a_destroyed_interp_is_value_error),
	    WITH_RUNTIME(test_destroy_of_null_is_value_error),
	    WITH_RUNTIME(test_destroy_of_main_is_value_error),
	    WITH_RUNTIME(test_destroy_of_an_unused_interp_succeeds),
	    WITH_RUNTIME(test_destroy_twice_is_value_error),
	    WITH_RUNTIME(test_destroy_of_the_callers_own_interp_is_runtime_error),
	    WITH_RUNTIME(test_destroy_of_interp_entered_by_another_live_thread_is_runtime_error),
	    WITH_RUNTIME(test_destroy_succeeds_once_the_other_thread_reenters_main),
	    WITH_RUNTIME(test_in_use_message_counts_the_threads_that_refused_the_destroy),
	    WITH_RUNTIME(test_thread_exiting_while_bound_releases_its_binding),
	    WITH_RUNTIME(test_failed_destroys_raise_no_event),
	    WITH_RUNTIME(test_interp_new_raises_its_event_in_the_callers_interp_with_no_args),
	    WITH_RUNTIME(test_failing_interp_new_hook_makes_interp_new_fail_with_its_error),
	    WITH_RUNTIME(test_destroy_raises_clear_to_process_wide_and_own_hooks_not_mains),
	    WITH_RUNTIME(test_failing_hook_cannot_stop_destroy),
	    WITH_RUNTIME(test_enter_of_an_interp_being_destroyed_is_runtime_error),
	    WITH_RUNTIME(test_fini_clears_subinterps_in_creation_order_then_main_then_hooks),
	    WITH_RUNTIME(test_fini_raises_clear_hooks_to_process_wide_hooks_only),
	    WITH_RUNTIME(test_is_finalizing_is_true_only_while_fini_runs),
	    WITH_RUNTIME(test_fini_then_init_gives_a_fresh_working_runtime),
	    WITH_RUNTIME(test_thread_bound_to_a_subinterp_is_in_main_after_fini_and_init),
	    WITH_RUNTIME(test_between_fini_and_init_the_runtime_is_not_initialized),
	    WITH_RUNTIME(test_fini_keeps_a_pending_error_of_the_caller),
	    WITH_RUNTIME(test_errors_of_hooks_during_fini_are_cleared),
	    WITH_RUNTIME(test_init_while_fini_runs_is_runtime_error),
	    WITH_RUNTIME(test_after_fini_audit_returns_zero_and_calls_no_hook),
	    WITH_RUNTIME(test_hook_added_between_fini_and_init_is_kept),
	    WITH_RUNTIME(test_many_short_lived_threads_leave_nothing_behind),
	    BEFORE_INIT(test_concurrent_inits_start_one_runtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
