/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Out of memory in the audit core (docs/api.md, "Conventions", "Out of
 * memory"): a call whose allocation fails returns -1/NULL with
 * MemoryError and leaves everything as it was; sysfast_fini needs no
 * memory at all. Each test fails the allocations concerned through the
 * seam in alloc.c (sysfast__alloc_fault_set), usually one attempt after
 * the other until the call succeeds, and checks after every failure that
 * nothing changed: which hooks run, which ids exist, what stays
 * allocated.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define EV_CLEAR "cpython.PyInterpreterState_Clear"
#define EV_CLEAR_HOOKS "cpython._PySys_ClearAuditHooks"

/* A hook's record of what it saw. Hooks outlive the test that added them
 * until the next fini, so records are static. */
struct counter {
	int calls;       /* every call */
	int clear;       /* EV_CLEAR */
	int clear_hooks; /* EV_CLEAR_HOOKS */
};

/* Calls that got a name other than sysfast_event_name(id). Counted, not
 * asserted: a failing assertion would leave the hook's read-side
 * critical section open. */
static int bad_names;

static int count_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	struct counter *c = ud;

	(void)args;
	c->calls++;
	if (name != sysfast_event_name(id)) {
		bad_names++;
		return 0;
	}
	c->clear += strcmp(name, EV_CLEAR) == 0;
	c->clear_hooks += strcmp(name, EV_CLEAR_HOOKS) == 0;
	return 0;
}

static void counters_reset(struct counter *const *cs)
{
	for (; *cs; cs++)
		memset(*cs, 0, sizeof(**cs));
}

static int add_filtered(sysfast_interp *interp, struct counter *c, const char *pattern)
{
	const char *events[] = {pattern};
	const sysfast_hook_options opts = {0, events, 1};

	if (!interp)
		return sysfast_add_audit_hook_ex(count_hook, c, &opts);
	return sysfast_interp_add_audit_hook(interp, count_hook, c, &opts);
}

/* What is allocated now, once every deferred free has run. */
static struct sysfast__alloc_stats settled(void)
{
	testutil_deferred_frees_wait();
	return sysfast__alloc_stats();
}

static void assert_nothing_leaked(struct sysfast__alloc_stats before)
{
	struct sysfast__alloc_stats now = settled();

	assert_int_equal(now.live_blocks, before.live_blocks);
	assert_int_equal(now.live_maps, before.live_maps);
}

/* Raises `name` in `interp` and returns to the main interpreter. */
static void audit_in(sysfast_interp *interp, const char *name)
{
	assert_non_null(sysfast_interp_enter(interp));
	assert_int_equal(sysfast_audit(name, NULL), 0);
	assert_non_null(sysfast_interp_enter(sysfast_interp_main()));
}

static int fresh_runtime(void **state)
{
	(void)state;
	sysfast__alloc_fault_clear();
	sysfast_fini();
	sysfast_err_clear();
	return sysfast_init();
}

static int runtime_down(void **state)
{
	(void)state;
	sysfast__alloc_fault_clear();
	sysfast_fini();
	sysfast_err_clear();
	return 0;
}

/* ---- liburcu's own allocations ---- */

static long threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* liburcu creates its call_rcu worker on the first call_rcu and aborts the
 * process if it cannot: sysfast_init creates it, so that no later call
 * can be the first. Must run before anything else in this program calls
 * sysfast_init. */
static void test_init_starts_liburcus_call_rcu_worker(void **state)
{
	long before;

	(void)state;
	assert_false(sysfast_is_initialized());
	before = threads_now();

	assert_int_equal(sysfast_init(), 0);

	/* At least one: ThreadSanitizer starts a thread of its own with
	 * the first thread created. */
	assert_true(threads_now() > before);
}

/* Every time the name index must grow, the growth is an ordinary
 * allocation that can fail: the new name then gets no id, and the next
 * try succeeds. */
static void test_interning_fails_cleanly_at_every_growth_of_the_name_index(void **state)
{
	char name[64];

	(void)state;
	for (int i = 0; i < 1500; i++) {
		size_t count = sysfast_event_count();

		snprintf(name, sizeof(name), "oom.grow.%d", i);
		sysfast__alloc_fault_set(1, false);
		assert_int_equal(sysfast_event_intern(name), 0);
		sysfast__alloc_fault_clear();
		assert_error(sysfast_MemoryError, NULL);
		assert_int_equal(sysfast_event_count(), count);
		assert_int_equal(sysfast_event_find(name), 0);

		assert_int_equal(sysfast_event_intern(name), count + 1);
		assert_int_equal(sysfast_event_find(name), count + 1);
	}
}

/* ---- new event names ---- */

/* A filtered hook listens in two interpreters; interning a name it
 * matches fails at each allocation in turn, the second interpreter's
 * snapshot included. */
static void test_failed_intern_leaves_no_trace_in_any_interp(void **state)
{
	static struct counter f;
	sysfast_interp *a = sysfast_interp_new();
	struct sysfast__alloc_stats before;
	sysfast_event_id id = 0;
	size_t count;
	unsigned long nth;

	(void)state;
	assert_non_null(a);
	assert_int_equal(add_filtered(NULL, &f, "oom.name.*"), 0);
	count = sysfast_event_count();
	before = settled();

	for (nth = 1; !id; nth++) {
		sysfast__alloc_fault_set(nth, false);
		id = sysfast_event_intern("oom.name.new");
		sysfast__alloc_fault_clear();
		if (id)
			break;
		assert_error(sysfast_MemoryError, NULL);
		assert_int_equal(sysfast_event_count(), count);
		assert_int_equal(sysfast_event_find("oom.name.new"), 0);
		assert_null(sysfast_event_name((sysfast_event_id)count + 1));
		/* The id that was never issued is unknown everywhere. */
		memset(&f, 0, sizeof(f));
		assert_int_equal(sysfast_audit_args((sysfast_event_id)count + 1, NULL), -1);
		assert_error(sysfast_ValueError, "unknown");
		assert_non_null(sysfast_interp_enter(a));
		assert_int_equal(sysfast_audit_args((sysfast_event_id)count + 1, NULL), -1);
		assert_error(sysfast_ValueError, "unknown");
		assert_non_null(sysfast_interp_enter(sysfast_interp_main()));
		assert_int_equal(f.calls, 0);
		assert_int_equal(bad_names, 0);
		assert_nothing_leaked(before);
	}
	/* The node, one snapshot per interpreter: the sweep reached the
	 * second interpreter's. */
	assert_true(nth >= 3);
	assert_int_equal(id, count + 1);

	memset(&f, 0, sizeof(f));
	assert_int_equal(sysfast_audit("oom.name.new", NULL), 0);
	audit_in(a, "oom.name.new");
	assert_int_equal(f.calls, 2);
	assert_int_equal(sysfast_interp_destroy(a), 0);
}

/* ---- adding hooks ---- */

static struct counter g, gf, own_a, added;
static struct counter *const all_counters[] = {&g, &gf, &own_a, &added, NULL};
static sysfast_interp *sub_a;
static int setups, new_names;

/* G (every event) and GF ("oom.add.x") process-wide, OA (every event) in
 * a sub-interpreter A, and the names the checks raise. */
static void add_setup(void)
{
	counters_reset(all_counters);
	setups++;
	sub_a = sysfast_interp_new();
	assert_non_null(sub_a);
	assert_int_equal(sysfast_add_audit_hook(count_hook, &g), 0);
	assert_int_equal(add_filtered(NULL, &gf, "oom.add.x"), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(sub_a, count_hook, &own_a, NULL), 0);
	assert_int_not_equal(sysfast_event_intern("oom.add.x"), 0);
	assert_int_not_equal(sysfast_event_intern("oom.add.y"), 0);
}

/* After a failed add: the existing hooks see every event as before, the
 * hook that was not added sees none, also for a name interned later. */
static void assert_hooks_as_before(void)
{
	char name[64];

	counters_reset(all_counters);
	assert_int_equal(sysfast_audit("oom.add.x", NULL), 0);
	assert_int_equal(sysfast_audit("oom.add.y", NULL), 0);
	audit_in(sub_a, "oom.add.x");
	/* A few new names, not one per call: each new name that a filter
	 * matches costs the next add more allocations. */
	snprintf(name, sizeof(name), "oom.add.new%d.%d", setups, new_names++ % 4);
	assert_int_equal(sysfast_audit(name, NULL), 0);
	assert_int_equal(g.calls, 4);
	assert_int_equal(gf.calls, 2);
	assert_int_equal(own_a.calls, 1);
	assert_int_equal(added.calls, 0);
}

/*
 * Adds a hook with `add`, failing each allocation attempt in turn until
 * the add succeeds. After every failure nothing has changed; after the
 * success the hook is there once. Returns how many attempts failed.
 */
static unsigned long sweep_add(int (*add)(void))
{
	unsigned long nth;

	for (nth = 1;; nth++) {
		struct sysfast__alloc_stats before = settled();
		int rc;

		sysfast__alloc_fault_set(nth, false);
		rc = add();
		sysfast__alloc_fault_clear();
		if (rc == 0)
			break;
		assert_int_equal(rc, -1);
		assert_error(sysfast_MemoryError, NULL);
		assert_nothing_leaked(before);
		assert_hooks_as_before();
	}
	return nth - 1;
}

static int add_global(void)
{
	return sysfast_add_audit_hook(count_hook, &added);
}

static int add_global_filtered(void)
{
	return add_filtered(NULL, &added, "oom.add.*");
}

static int add_own_of_main(void)
{
	return sysfast_interp_add_audit_hook(NULL, count_hook, &added, NULL);
}

static int add_own_filtered_of_a(void)
{
	return add_filtered(sub_a, &added, "oom.add.x");
}

static void test_failed_global_add_is_never_called(void **state)
{
	(void)state;
	add_setup();

	/* The hook, its list, the default snapshots, GF's snapshot. */
	assert_true(sweep_add(add_global) >= 3);

	counters_reset(all_counters);
	assert_int_equal(sysfast_audit("oom.add.x", NULL), 0);
	audit_in(sub_a, "oom.add.y");
	assert_int_equal(added.calls, 2);
	assert_int_equal(gf.calls, 1);
	counters_reset(all_counters);
	sysfast_fini();
	assert_int_equal(added.clear_hooks, 1);
	assert_int_equal(g.clear_hooks, 1);
}

static void test_failed_filtered_global_add_is_never_called(void **state)
{
	(void)state;
	add_setup();

	assert_true(sweep_add(add_global_filtered) >= 3);

	counters_reset(all_counters);
	assert_int_equal(sysfast_audit("oom.add.x", NULL), 0);
	assert_int_equal(sysfast_audit("oom.add.y", NULL), 0);
	audit_in(sub_a, "oom.add.y");
	assert_int_equal(added.calls, 3);
	assert_int_equal(gf.calls, 1);
	counters_reset(all_counters);
	sysfast_fini();
	assert_int_equal(added.clear_hooks, 0);
}

static void test_failed_own_add_is_never_called(void **state)
{
	(void)state;
	add_setup();

	assert_true(sweep_add(add_own_of_main) >= 2);

	counters_reset(all_counters);
	assert_int_equal(sysfast_audit("oom.add.x", NULL), 0);
	audit_in(sub_a, "oom.add.x");
	assert_int_equal(added.calls, 1);
	assert_int_equal(gf.calls, 2);
	counters_reset(all_counters);
	sysfast_fini();
	assert_int_equal(added.clear, 1);
	assert_int_equal(added.clear_hooks, 0);
}

static void test_failed_own_filtered_add_is_never_called(void **state)
{
	(void)state;
	add_setup();

	assert_true(sweep_add(add_own_filtered_of_a) >= 2);

	counters_reset(all_counters);
	audit_in(sub_a, "oom.add.x");
	audit_in(sub_a, "oom.add.y");
	assert_int_equal(added.calls, 1);
	assert_int_equal(own_a.calls, 2);
}

/* ---- interpreters ---- */

static void test_failed_interp_new_leaves_nothing(void **state)
{
	static struct counter g2, f2;
	sysfast_interp *a = NULL;
	unsigned long nth;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(count_hook, &g2), 0);
	assert_int_equal(add_filtered(NULL, &f2, "oom.interp.x"), 0);
	assert_int_not_equal(sysfast_event_intern("oom.interp.x"), 0);

	for (nth = 1; !a; nth++) {
		struct sysfast__alloc_stats before = settled();

		sysfast__alloc_fault_set(nth, false);
		a = sysfast_interp_new();
		sysfast__alloc_fault_clear();
		if (a)
			break;
		assert_error(sysfast_MemoryError, NULL);
		assert_nothing_leaked(before);
	}
	/* The interpreter, its view, its default snapshot, F's. */
	assert_true(nth >= 4);

	memset(&g2, 0, sizeof(g2));
	memset(&f2, 0, sizeof(f2));
	audit_in(a, "oom.interp.x");
	audit_in(a, "oom.interp.y");
	assert_int_equal(g2.calls, 2);
	assert_int_equal(f2.calls, 1);
	assert_int_equal(sysfast_interp_destroy(a), 0);
}

/* ---- init ---- */

/* A process-wide hook added before init makes init build a snapshot
 * after mapping the main interpreter's view: each allocation fails in
 * turn, and a failed init keeps neither the mapping nor anything else. */
static void test_failed_init_keeps_no_mapping_and_a_retry_maps_one(void **state)
{
	static struct counter early;
	struct sysfast__alloc_stats before;
	unsigned long nth;
	int rc = -1;

	(void)state;
	sysfast_fini();
	assert_int_equal(sysfast_add_audit_hook(count_hook, &early), 0);
	before = settled();

	for (nth = 1; rc != 0; nth++) {
		sysfast__alloc_fault_set(nth, false);
		rc = sysfast_init();
		sysfast__alloc_fault_clear();
		if (rc == 0)
			break;
		assert_error(sysfast_MemoryError, NULL);
		assert_false(sysfast_is_initialized());
		assert_nothing_leaked(before);
	}
	/* The view and the default snapshot. */
	assert_true(nth >= 2);

	assert_int_equal(settled().live_maps, before.live_maps + 1);
	memset(&early, 0, sizeof(early));
	assert_int_equal(sysfast_audit("oom.init.x", NULL), 0);
	assert_int_equal(early.calls, 1);
}

/* ---- fini ---- */

static struct counter fg, fgf, fm, fmf, fa;
static struct counter *const fini_counters[] = {&fg, &fgf, &fm, &fmf, &fa, NULL};

/*
 * Process-wide G (every event) and GF ("oom.*"), M in main, A in a
 * sub-interpreter, and MF in main for `mf_pattern` (NULL: none). Then
 * sysfast_fini with every allocation failing: it must not even try one,
 * and must do all it promises.
 */
static void fini_without_memory(const char *mf_pattern)
{
	sysfast_interp *a = sysfast_interp_new();
	struct sysfast__alloc_stats stats;

	assert_non_null(a);
	counters_reset(fini_counters);
	assert_int_equal(sysfast_add_audit_hook(count_hook, &fg), 0);
	assert_int_equal(add_filtered(NULL, &fgf, "oom.*"), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, count_hook, &fm, NULL), 0);
	if (mf_pattern)
		assert_int_equal(add_filtered(sysfast_interp_main(), &fmf, mf_pattern), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(a, count_hook, &fa, NULL), 0);
	assert_int_equal(sysfast_audit("oom.fini.x", NULL), 0);
	counters_reset(fini_counters);

	sysfast__alloc_fault_set(1, true);
	sysfast_fini();
	stats = sysfast__alloc_stats();
	sysfast__alloc_fault_clear();

	assert_int_equal(stats.attempts, 0);
	assert_false(sysfast_is_initialized());
	assert_false(sysfast_is_finalizing());
	assert_int_equal(fa.clear, 1);
	assert_int_equal(fm.clear, 1);
	assert_int_equal(fg.clear, 2);
	assert_int_equal(fg.clear_hooks, 1);
	assert_int_equal(fgf.calls, 0);
	assert_int_equal(fa.clear_hooks + fm.clear_hooks + fmf.clear_hooks, 0);

	/* Every hook is gone. */
	assert_int_equal(sysfast_init(), 0);
	counters_reset(fini_counters);
	assert_int_equal(sysfast_audit("oom.fini.x", NULL), 0);
	assert_int_equal(sysfast_audit(EV_CLEAR_HOOKS, NULL), 0);
	for (struct counter *const *c = fini_counters; *c; c++)
		assert_int_equal((*c)->calls, 0);
}

static void test_fini_needs_no_memory(void **state)
{
	(void)state;
	fini_without_memory(NULL);
}

/* The final event's snapshot in main is one of its own. */
static void test_fini_needs_no_memory_with_a_filtered_own_hook_on_the_final_event(void **state)
{
	(void)state;
	fini_without_memory(EV_CLEAR_HOOKS);
}

/* Main has a snapshot of its own for some other event. */
static void test_fini_needs_no_memory_with_a_filtered_own_hook(void **state)
{
	(void)state;
	fini_without_memory("oom.fini.*");
}

#define FRESH(f) cmocka_unit_test_setup_teardown(f, fresh_runtime, runtime_down)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* First: it needs the first sysfast_init of the process. */
	    cmocka_unit_test_teardown(test_init_starts_liburcus_call_rcu_worker, runtime_down),
	    FRESH(test_interning_fails_cleanly_at_every_growth_of_the_name_index),
	    FRESH(test_failed_intern_leaves_no_trace_in_any_interp),
	    FRESH(test_failed_global_add_is_never_called),
	    FRESH(test_failed_filtered_global_add_is_never_called),
	    FRESH(test_failed_own_add_is_never_called),
	    FRESH(test_failed_own_filtered_add_is_never_called),
	    FRESH(test_failed_interp_new_leaves_nothing),
	    FRESH(test_failed_init_keeps_no_mapping_and_a_retry_maps_one),
	    FRESH(test_fini_needs_no_memory),
	    FRESH(test_fini_needs_no_memory_with_a_filtered_own_hook_on_the_final_event),
	    FRESH(test_fini_needs_no_memory_with_a_filtered_own_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
