/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Out of memory in the audit core (API.md, Precise rules, General, "Out of
 * memory"): a call whose allocation fails returns -1/NULL with
 * MemoryError and leaves everything as it was, and no allocation failure
 * aborts the process. Each test fails the allocations concerned through
 * the seam in alloc.c (sysfast__alloc_fault_set).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

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

	assert_int_equal(threads_now(), before + 1);
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

#define FRESH(f) cmocka_unit_test_setup_teardown(f, fresh_runtime, runtime_down)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* First: it needs the first sysfast_init of the process. */
	    cmocka_unit_test_teardown(test_init_starts_liburcus_call_rcu_worker, runtime_down),
	    FRESH(test_interning_fails_cleanly_at_every_growth_of_the_name_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
