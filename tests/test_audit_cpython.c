/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ports of the core cases of CPython's Lib/test/audit-tests.py, with the
 * native-hook API standing in for sys.addaudithook. test_cantrace joins
 * when tracing lands.
 */
#include <string.h>

#include "testutil.h"

/* CPython's TestHook: records (event, args) and raises `exc` on the events
 * listed in `raise_on`. */
struct test_hook {
	const char *raise_on;
	const sysfast_exc_type *exc;
	int n_seen;
	char seen[16][64];
	int64_t seen_args[16][4];
	size_t seen_nargs[16];
};

static int test_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	struct test_hook *h = ud;
	int i = h->n_seen;

	(void)id;
	if (i < 16) {
		strncpy(h->seen[i], name, sizeof(h->seen[i]) - 1);
		h->seen_nargs[i] = args->n;
		for (size_t a = 0; a < args->n && a < 4; a++)
			h->seen_args[i][a] = args->items[a].v.i;
		h->n_seen++;
	}
	if (h->raise_on && !strcmp(name, h->raise_on)) {
		sysfast_err_set(h->exc, "raised by test hook");
		return -1;
	}
	return 0;
}

/* test_basic: sys.audit("test_event", 1, 2, 3) reaches the hook as
 * ("test_event", (1, 2, 3)). */
static void test_basic(void **state)
{
	/* Static: hooks outlive the test, until the next fini. */
	static struct test_hook h;

	(void)state;
	h = (struct test_hook){0};
	assert_int_equal(sysfast_add_audit_hook(test_hook, &h), 0);
	assert_int_equal(sysfast_audit("test_event", "iii", 1, 2, 3), 0);
	assert_int_equal(h.n_seen, 1);
	assert_string_equal(h.seen[0], "test_event");
	assert_int_equal(h.seen_nargs[0], 3);
	assert_int_equal(h.seen_args[0][0], 1);
	assert_int_equal(h.seen_args[0][1], 2);
	assert_int_equal(h.seen_args[0][2], 3);
}

/* test_block_add_hook: a hook raising RuntimeError on "sys.addaudithook"
 * silently refuses the new hook. */
static void test_block_add_hook(void **state)
{
	static struct test_hook h1, h2;

	(void)state;
	h1 = (struct test_hook){.raise_on = "sys.addaudithook", .exc = sysfast_RuntimeError};
	h2 = (struct test_hook){0};
	assert_int_equal(sysfast_add_audit_hook(test_hook, &h1), 0);
	assert_int_equal(sysfast_add_audit_hook(test_hook, &h2), 1);
	assert_no_error();
	assert_int_equal(sysfast_audit("test_event", NULL), 0);
	assert_int_equal(h1.n_seen, 2); /* sys.addaudithook, test_event */
	assert_string_equal(h1.seen[1], "test_event");
	assert_int_equal(h2.n_seen, 0);
}

/* test_block_add_hook_baseexception: a BaseException propagates out of the
 * add, and the hook is not added. */
static void test_block_add_hook_baseexception(void **state)
{
	static struct test_hook h1, h2;

	(void)state;
	h1 = (struct test_hook){.raise_on = "sys.addaudithook", .exc = sysfast_BaseException};
	h2 = (struct test_hook){0};
	assert_int_equal(sysfast_add_audit_hook(test_hook, &h1), 0);
	assert_int_equal(sysfast_add_audit_hook(test_hook, &h2), -1);
	assert_error(sysfast_BaseException, "raised by test hook");
	assert_int_equal(sysfast_audit("test_event", NULL), 0);
	assert_int_equal(h2.n_seen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_basic, testutil_runtime_fresh),
	    cmocka_unit_test_setup(test_block_add_hook, testutil_runtime_fresh),
	    cmocka_unit_test_setup(test_block_add_hook_baseexception, testutil_runtime_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
