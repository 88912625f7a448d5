/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Objects and getsizeof (<sysfast/object.h>): sysfast_getsizeof and its
 * _default form against CPython's _PySys_GetSizeOf, sysfast_deepsizeof on
 * trees, shared referents, cycles and very deep chains, and
 * sysfast_alloc_usable_size; a failing allocation inside deepsizeof
 * through the allocation seam of the static library.
 *
 * The first case runs before sysfast_init; every other case starts the
 * runtime (idempotent) in its setup.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

/* ---- test types ---- */

/* A leaf whose __sizeof__ is whatever `size` says. */
struct blob {
	sysfast_object base;
	int64_t size;
};

static int blob_sizeof(const sysfast_object *self, int64_t *size)
{
	*size = ((const struct blob *)self)->size;
	return 0;
}

static const sysfast_type blob_type = {"blob", 0, blob_sizeof, NULL};
static const sysfast_type gc_blob_type = {"gcblob", SYSFAST_TYPE_GC, blob_sizeof, NULL};
static const sysfast_type no_sizeof_type = {"nosizeof", 0, NULL, NULL};

/* A node of a graph: its own size and the nodes it refers to. */
struct node {
	sysfast_object base;
	int64_t size;
	size_t n;
	const sysfast_object **kids; /* NULL entries are allowed */
};

static int node_sizeof(const sysfast_object *self, int64_t *size)
{
	*size = ((const struct node *)self)->size;
	return 0;
}

static int node_traverse(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	const struct node *nd = (const struct node *)self;

	for (size_t i = 0; i < nd->n; i++) {
		int rc = visit(nd->kids[i], arg);

		if (rc)
			return rc;
	}
	return 0;
}

static const sysfast_type node_type = {"node", 0, node_sizeof, node_traverse};
static const sysfast_type gc_node_type = {"gcnode", SYSFAST_TYPE_GC, node_sizeof, node_traverse};

/* Sets a node up with room for `n` referents, all NULL. */
static void node_init(struct node *nd, const sysfast_type *tp, int64_t size, size_t n)
{
	nd->base.type = tp;
	nd->size = size;
	nd->n = n;
	nd->kids = n ? calloc(n, sizeof(*nd->kids)) : NULL;
	assert_true(n == 0 || nd->kids);
}

static void node_release(struct node *nd)
{
	free(nd->kids);
	nd->kids = NULL;
	nd->n = 0;
}

/* Sizes are distinct powers of two in the graph tests, so the total says
 * exactly which nodes were counted and how often. */
#define SIZE_UNTOUCHED ((size_t)0xdeadbeef)

/* Asserts the pending error is class `t` with exactly `msg`, then clears it. */
static void assert_error_exact(const sysfast_exc_type *t, const char *msg)
{
	assert_string_equal(sysfast_err_message(), msg);
	assert_error(t, NULL);
}

static int runtime_up(void **state)
{
	(void)state;
	return sysfast_init();
}

static int runtime_down(void **state)
{
	(void)state;
	sysfast_fini();
	return 0;
}

/* ---- before sysfast_init ---- */

static void test_getsizeof_functions_need_init_but_usable_size_does_not(void **state)
{
	struct blob b = {{&blob_type}, 8};
	size_t size = SIZE_UNTOUCHED;
	void *p = malloc(24);

	(void)state;
	assert_false(sysfast_is_initialized());
	assert_int_equal(sysfast_getsizeof(&b.base, &size), -1);
	assert_error_exact(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_getsizeof_default(&b.base, 1, &size), -1);
	assert_error_exact(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_deepsizeof(&b.base, &size), -1);
	assert_error_exact(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(size, SIZE_UNTOUCHED);

	assert_non_null(p);
	assert_int_equal(sysfast_alloc_usable_size(p), malloc_usable_size(p));
	assert_no_error();
	free(p);
}

/* ---- getsizeof: sizes ---- */

static void test_getsizeof_is_sizeof_fn_for_a_non_gc_type(void **state)
{
	struct blob b = {{&blob_type}, 40};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&b.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 40);
}

static void test_getsizeof_adds_the_gc_header_for_a_gc_type(void **state)
{
	struct blob b = {{&gc_blob_type}, 40};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(SYSFAST_GC_HEADER_SIZE, 16);
	assert_int_equal(sysfast_getsizeof(&b.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 40 + SYSFAST_GC_HEADER_SIZE);
}

static void test_getsizeof_of_zero_is_zero_or_just_the_header(void **state)
{
	struct blob plain = {{&blob_type}, 0}, gc = {{&gc_blob_type}, 0};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&plain.base, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(sysfast_getsizeof(&gc.base, &size), 0);
	assert_int_equal(size, SYSFAST_GC_HEADER_SIZE);
	assert_no_error();
}

/* ---- getsizeof: errors from sizeof_fn ---- */

static int sizeof_raises_runtime_error(const sysfast_object *self, int64_t *size)
{
	(void)self, (void)size;
	sysfast_err_set(sysfast_RuntimeError, "sizeof exploded");
	return -1;
}

static int sizeof_fails_silently(const sysfast_object *self, int64_t *size)
{
	(void)self, (void)size;
	return -1;
}

static int sizeof_returns_7_silently(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = 8;
	return 7;
}

static int sizeof_succeeds_with_error_left(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = 8;
	sysfast_err_set(sysfast_RuntimeError, "left behind");
	return 0;
}

static int sizeof_succeeds_with_type_error_left(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = 8;
	sysfast_err_set(sysfast_TypeError, "left behind");
	return 0;
}

static int sizeof_raises_type_error(const sysfast_object *self, int64_t *size)
{
	(void)self, (void)size;
	sysfast_err_set(sysfast_TypeError, "an integer is required");
	return -1;
}

static int sizeof_negative(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = -1;
	return 0;
}

static void test_sizeof_fn_error_propagates(void **state)
{
	const sysfast_type tp = {"raiser", 0, sizeof_raises_runtime_error, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error_exact(sysfast_RuntimeError, "sizeof exploded");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_sizeof_fn_failing_without_error_gives_system_error(void **state)
{
	const sysfast_type tp = {"silent", 0, sizeof_fails_silently, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error(sysfast_SystemError, "silent");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_sizeof_fn_returning_other_nonzero_without_error_fails(void **state)
{
	const sysfast_type tp = {"seven", 0, sizeof_returns_7_silently, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error(sysfast_SystemError, NULL);
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_sizeof_fn_returning_0_with_error_set_gives_system_error(void **state)
{
	const sysfast_type tp = {"leaky", 0, sizeof_succeeds_with_error_left, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error_exact(sysfast_SystemError,
	                   "sizeof_fn of type leaky returned 0 with an error set: "
	                   "RuntimeError: left behind");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_default_does_not_hide_a_sizeof_fn_returning_0_with_a_type_error(void **state)
{
	const sysfast_type tp = {"leakytype", 0, sizeof_succeeds_with_type_error_left, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof_default(&o, 5, &size), -1);
	assert_error_exact(sysfast_SystemError,
	                   "sizeof_fn of type leakytype returned 0 with an error set: "
	                   "TypeError: left behind");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_negative_size_gives_value_error(void **state)
{
	const sysfast_type tp = {"negative", 0, sizeof_negative, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error_exact(sysfast_ValueError, "__sizeof__() should return >= 0");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_most_negative_size_gives_value_error(void **state)
{
	struct blob b = {{&gc_blob_type}, INT64_MIN};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&b.base, &size), -1);
	assert_error_exact(sysfast_ValueError, "__sizeof__() should return >= 0");
}

/* ---- getsizeof: TypeError for a type without __sizeof__ ---- */

static void test_missing_sizeof_fn_gives_type_error_naming_the_type(void **state)
{
	sysfast_object o = {&no_sizeof_type};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error_exact(sysfast_TypeError, "Type nosizeof doesn't define __sizeof__");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_type_name_in_the_type_error_is_cut_at_100_bytes(void **state)
{
	char name[151], want[200];
	sysfast_type tp = {name, 0, NULL, NULL};
	sysfast_object o = {&tp};
	size_t size;

	(void)state;
	for (size_t i = 0; i < 150; i++)
		name[i] = (char)('a' + i % 26);
	name[150] = '\0';
	snprintf(want, sizeof(want), "Type %.100s doesn't define __sizeof__", name);
	assert_int_equal(strlen(want), strlen("Type  doesn't define __sizeof__") + 100);
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error_exact(sysfast_TypeError, want);
}

static void test_type_name_of_exactly_100_bytes_is_kept_whole(void **state)
{
	char name[101], want[200];
	sysfast_type tp = {name, 0, NULL, NULL};
	sysfast_object o = {&tp};
	size_t size;

	(void)state;
	memset(name, 'x', 100);
	name[100] = '\0';
	snprintf(want, sizeof(want), "Type %s doesn't define __sizeof__", name);
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error_exact(sysfast_TypeError, want);
}

/* ---- getsizeof: sizes near the limit ---- */

static void test_largest_size_plus_gc_header_fits_or_overflows(void **state)
{
	struct blob b = {{&gc_blob_type}, INT64_MAX};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
#if SIZE_MAX - SYSFAST_GC_HEADER_SIZE >= INT64_MAX
	assert_int_equal(sysfast_getsizeof(&b.base, &size), 0);
	assert_no_error();
	assert_true(size == (size_t)INT64_MAX + SYSFAST_GC_HEADER_SIZE);
#else
	assert_int_equal(sysfast_getsizeof(&b.base, &size), -1);
	assert_error(sysfast_OverflowError, NULL);
	assert_int_equal(size, SIZE_UNTOUCHED);
#endif
}

/* ---- getsizeof: bad arguments ---- */

static void test_getsizeof_of_null_object_gives_value_error(void **state)
{
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(NULL, &size), -1);
	assert_error(sysfast_ValueError, "NULL");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_getsizeof_of_object_with_null_type_gives_value_error(void **state)
{
	sysfast_object o = {NULL};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error(sysfast_ValueError, "type");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_null_size_pointer_gives_value_error(void **state)
{
	struct blob b = {{&blob_type}, 8};

	(void)state;
	assert_int_equal(sysfast_getsizeof(&b.base, NULL), -1);
	assert_error(sysfast_ValueError, "size");
	assert_int_equal(sysfast_getsizeof_default(&b.base, 1, NULL), -1);
	assert_error(sysfast_ValueError, "size");
	assert_int_equal(sysfast_deepsizeof(&b.base, NULL), -1);
	assert_error(sysfast_ValueError, "size");
}

/* ---- the caller's pending error ---- */

static const sysfast_exc_type *seen_by_sizeof;

static int sizeof_records_pending_error(const sysfast_object *self, int64_t *size)
{
	(void)self;
	seen_by_sizeof = sysfast_err_occurred();
	*size = 24;
	return 0;
}

static void test_pending_error_is_hidden_from_sizeof_fn_and_kept(void **state)
{
	const sysfast_type tp = {"recorder", 0, sizeof_records_pending_error, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	seen_by_sizeof = sysfast_OSError;
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_getsizeof(&o, &size), 0);
	assert_null(seen_by_sizeof);
	assert_int_equal(size, 24);
	assert_error_exact(sysfast_KeyboardInterrupt, "pending");
}

static void test_pending_error_is_replaced_on_failure(void **state)
{
	sysfast_object o = {&no_sizeof_type};
	size_t size;

	(void)state;
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_getsizeof(&o, &size), -1);
	assert_error(sysfast_TypeError, "nosizeof");
}

/* ---- getsizeof never allocates ---- */

/* With testutil's heap probe: see testutil.h. */
#ifdef TESTUTIL_HEAP_PROBE
static void test_getsizeof_never_allocates_on_success_or_failure(void **state)
{
	const sysfast_type silent = {"silent", 0, sizeof_fails_silently, NULL};
	struct blob b = {{&gc_blob_type}, 40};
	sysfast_object none = {&no_sizeof_type}, quiet = {&silent};
	size_t size;
	void *volatile control;

	(void)state;
	assert_true(testutil_heap_available());
	/* The probe must see heap use at all. */
	testutil_heap_start();
	control = malloc(64);
	free(control);
	assert_true(testutil_heap_stop() > 0);

	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	testutil_heap_start();
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(sysfast_getsizeof(&b.base, &size), 0);
		assert_int_equal(sysfast_getsizeof(&none, &size), -1);
		assert_int_equal(sysfast_getsizeof(&quiet, &size), -1);
		assert_int_equal(sysfast_getsizeof_default(&none, 1, &size), 0);
	}
	assert_int_equal(testutil_heap_stop(), 0);
	sysfast_err_clear();
}
#endif

/* ---- getsizeof_default ---- */

static void test_default_replaces_missing_sizeof_type_error(void **state)
{
	sysfast_object o = {&no_sizeof_type};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof_default(&o, 77, &size), 0);
	assert_no_error();
	assert_int_equal(size, 77);
}

static void test_default_replaces_type_error_from_sizeof_fn(void **state)
{
	const sysfast_type tp = {"typeerr", SYSFAST_TYPE_GC, sizeof_raises_type_error, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof_default(&o, 5, &size), 0);
	assert_no_error();
	/* dflt as given: no GC header added to it. */
	assert_int_equal(size, 5);
}

static int sizeof_raises_type_error_subclass(const sysfast_object *self, int64_t *size)
{
	static const sysfast_exc_type *sub;

	(void)self, (void)size;
	if (!sub)
		sub = sysfast_exc_type_new("TypeErrorSubclass", sysfast_TypeError);
	sysfast_err_set(sub, "a subclass");
	return -1;
}

static void test_default_replaces_type_error_subclasses(void **state)
{
	const sysfast_type tp = {"subtypeerr", 0, sizeof_raises_type_error_subclass, NULL};
	sysfast_object o = {&tp};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof_default(&o, 9, &size), 0);
	assert_no_error();
	assert_int_equal(size, 9);
}

static void test_default_is_ignored_on_success(void **state)
{
	struct blob b = {{&gc_blob_type}, 40};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof_default(&b.base, 1, &size), 0);
	assert_no_error();
	assert_int_equal(size, 40 + SYSFAST_GC_HEADER_SIZE);
}

static void test_default_does_not_replace_other_errors(void **state)
{
	const sysfast_type raiser = {"raiser", 0, sizeof_raises_runtime_error, NULL};
	const sysfast_type negative = {"negative", 0, sizeof_negative, NULL};
	sysfast_object r = {&raiser}, n = {&negative};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_getsizeof_default(&r, 1, &size), -1);
	assert_error_exact(sysfast_RuntimeError, "sizeof exploded");
	assert_int_equal(sysfast_getsizeof_default(&n, 1, &size), -1);
	assert_error_exact(sysfast_ValueError, "__sizeof__() should return >= 0");
	assert_int_equal(sysfast_getsizeof_default(NULL, 1, &size), -1);
	assert_error(sysfast_ValueError, NULL);
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_default_keeps_the_pending_error_when_it_replaces_type_error(void **state)
{
	sysfast_object o = {&no_sizeof_type};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_getsizeof_default(&o, 3, &size), 0);
	assert_int_equal(size, 3);
	assert_error_exact(sysfast_KeyboardInterrupt, "pending");
}

/* ---- deepsizeof: shapes ---- */

static void test_deepsizeof_of_a_leaf_is_its_getsizeof(void **state)
{
	struct blob b = {{&gc_blob_type}, 100};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_deepsizeof(&b.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 100 + SYSFAST_GC_HEADER_SIZE);
}

static void test_deepsizeof_sums_a_tree(void **state)
{
	/* root -> a, b; a -> c, leaf */
	struct node root, a, b, c;
	struct blob leaf = {{&blob_type}, 16};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&root, &node_type, 1, 2);
	node_init(&a, &gc_node_type, 2, 2);
	node_init(&b, &node_type, 4, 0);
	node_init(&c, &node_type, 8, 0);
	root.kids[0] = &a.base;
	root.kids[1] = &b.base;
	a.kids[0] = &c.base;
	a.kids[1] = &leaf.base;
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 1 + 2 + SYSFAST_GC_HEADER_SIZE + 4 + 8 + 16);
	node_release(&root);
	node_release(&a);
}

static void test_deepsizeof_counts_a_shared_child_once(void **state)
{
	/* root -> a, b; a -> c; b -> c */
	struct node root, a, b, c;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&root, &node_type, 1, 2);
	node_init(&a, &node_type, 2, 1);
	node_init(&b, &node_type, 4, 1);
	node_init(&c, &node_type, 8, 0);
	root.kids[0] = &a.base;
	root.kids[1] = &b.base;
	a.kids[0] = &c.base;
	b.kids[0] = &c.base;
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 1 + 2 + 4 + 8);
	node_release(&root);
	node_release(&a);
	node_release(&b);
}

static void test_deepsizeof_counts_each_object_of_a_cycle_once(void **state)
{
	/* a -> b -> c -> a */
	struct node a, b, c;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&a, &node_type, 1, 1);
	node_init(&b, &node_type, 2, 1);
	node_init(&c, &node_type, 4, 1);
	a.kids[0] = &b.base;
	b.kids[0] = &c.base;
	c.kids[0] = &a.base;
	assert_int_equal(sysfast_deepsizeof(&b.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 1 + 2 + 4);
	node_release(&a);
	node_release(&b);
	node_release(&c);
}

static void test_deepsizeof_counts_a_self_loop_once(void **state)
{
	struct node a;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&a, &gc_node_type, 5, 2);
	a.kids[0] = &a.base;
	a.kids[1] = &a.base;
	assert_int_equal(sysfast_deepsizeof(&a.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 5 + SYSFAST_GC_HEADER_SIZE);
	node_release(&a);
}

static void test_deepsizeof_skips_null_referents(void **state)
{
	struct node root, a;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&root, &node_type, 1, 3);
	node_init(&a, &node_type, 2, 0);
	root.kids[1] = &a.base; /* kids[0] and kids[2] stay NULL */
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 1 + 2);
	node_release(&root);
}

#define CHAIN_LEN 1000000

/* nodes[i] -> nodes[i + 1]; the last one -> nodes[0] when `closed`. */
static struct node *chain_new(size_t len, bool closed)
{
	struct node *nodes = calloc(len, sizeof(*nodes));

	assert_non_null(nodes);
	for (size_t i = 0; i < len; i++) {
		node_init(&nodes[i], &gc_node_type, 3, 1);
		nodes[i].kids[0] = i + 1 < len ? &nodes[i + 1].base
		                   : closed    ? &nodes[0].base
		                               : NULL;
	}
	return nodes;
}

static void chain_free(struct node *nodes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		node_release(&nodes[i]);
	free(nodes);
}

static void test_deepsizeof_walks_a_million_long_chain_without_recursion(void **state)
{
	struct node *nodes = chain_new(CHAIN_LEN, false);
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_deepsizeof(&nodes[0].base, &size), 0);
	assert_no_error();
	assert_true(size == (size_t)CHAIN_LEN * (3 + SYSFAST_GC_HEADER_SIZE));
	chain_free(nodes, CHAIN_LEN);
}

static void test_deepsizeof_walks_a_million_long_cycle_from_its_middle(void **state)
{
	struct node *nodes = chain_new(CHAIN_LEN, true);
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_deepsizeof(&nodes[CHAIN_LEN / 2].base, &size), 0);
	assert_no_error();
	assert_true(size == (size_t)CHAIN_LEN * (3 + SYSFAST_GC_HEADER_SIZE));
	chain_free(nodes, CHAIN_LEN);
}

static void test_deepsizeof_sums_a_wide_graph(void **state)
{
	/* One root with 100000 leaves, each leaf also pointing at the next. */
	enum { WIDTH = 100000 };
	struct node root, *leaves = calloc(WIDTH, sizeof(*leaves));
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_non_null(leaves);
	node_init(&root, &node_type, 1000, WIDTH);
	for (size_t i = 0; i < WIDTH; i++) {
		node_init(&leaves[i], &node_type, 2, 1);
		leaves[i].kids[0] = &leaves[(i + 1) % WIDTH].base;
		root.kids[i] = &leaves[i].base;
	}
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), 0);
	assert_no_error();
	assert_int_equal(size, 1000 + 2 * WIDTH);
	chain_free(leaves, WIDTH);
	node_release(&root);
}

static void test_deepsizeof_keeps_the_pending_error_on_success(void **state)
{
	struct node a, b;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&a, &node_type, 1, 1);
	node_init(&b, &node_type, 2, 1);
	a.kids[0] = &b.base;
	b.kids[0] = &a.base;
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_deepsizeof(&a.base, &size), 0);
	assert_int_equal(size, 3);
	assert_error_exact(sysfast_KeyboardInterrupt, "pending");
	node_release(&a);
	node_release(&b);
}

/* ---- deepsizeof: errors ---- */

static void test_deepsizeof_of_null_object_gives_value_error(void **state)
{
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	assert_int_equal(sysfast_deepsizeof(NULL, &size), -1);
	assert_error(sysfast_ValueError, "NULL");
	assert_int_equal(size, SIZE_UNTOUCHED);
}

static void test_deepsizeof_propagates_type_error_from_a_deep_child(void **state)
{
	/* 100000 nodes, then one without __sizeof__: everything allocated
	 * on the way down must be freed (LeakSanitizer checks). */
	enum { LEN = 100000 };
	struct node *nodes = chain_new(LEN, false);
	sysfast_object bad = {&no_sizeof_type};
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	nodes[LEN - 1].kids[0] = &bad;
	assert_int_equal(sysfast_deepsizeof(&nodes[0].base, &size), -1);
	assert_error_exact(sysfast_TypeError, "Type nosizeof doesn't define __sizeof__");
	assert_int_equal(size, SIZE_UNTOUCHED);
	chain_free(nodes, LEN);
}

static void test_deepsizeof_propagates_sizeof_fn_error_from_a_child(void **state)
{
	const sysfast_type raiser = {"raiser", 0, sizeof_raises_runtime_error, NULL};
	sysfast_object bad = {&raiser};
	struct node root;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&root, &node_type, 1, 1);
	root.kids[0] = &bad;
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), -1);
	assert_error_exact(sysfast_RuntimeError, "sizeof exploded");
	assert_int_equal(size, SIZE_UNTOUCHED);
	node_release(&root);
}

static void test_deepsizeof_child_with_null_type_gives_value_error(void **state)
{
	sysfast_object bad = {NULL};
	struct node root;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&root, &node_type, 1, 1);
	root.kids[0] = &bad;
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), -1);
	assert_error(sysfast_ValueError, "type");
	assert_int_equal(size, SIZE_UNTOUCHED);
	node_release(&root);
}

static int traverse_raises(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	(void)self, (void)visit, (void)arg;
	sysfast_err_set(sysfast_RuntimeError, "traverse exploded");
	return -1;
}

static int traverse_fails_silently(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	(void)self, (void)visit, (void)arg;
	return -1;
}

static int traverse_succeeds_with_error_left(const sysfast_object *self, sysfast_visit_fn visit,
                                             void *arg)
{
	(void)self, (void)visit, (void)arg;
	sysfast_err_set(sysfast_RuntimeError, "left behind");
	return 0;
}

/* A valid node whose child's traverse misbehaves in `how`. */
static void check_child_traverse_failure(int (*how)(const sysfast_object *, sysfast_visit_fn,
                                                    void *),
                                         const sysfast_exc_type *want, const char *msg)
{
	const sysfast_type bad_type = {"badtraverse", 0, node_sizeof, how};
	struct node root, bad;
	size_t size = SIZE_UNTOUCHED;

	node_init(&root, &node_type, 1, 1);
	node_init(&bad, &bad_type, 2, 0);
	root.kids[0] = &bad.base;
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), -1);
	if (msg)
		assert_error_exact(want, msg);
	else
		assert_error(want, "badtraverse");
	assert_int_equal(size, SIZE_UNTOUCHED);
	node_release(&root);
}

static void test_deepsizeof_propagates_a_traverse_error(void **state)
{
	(void)state;
	check_child_traverse_failure(traverse_raises, sysfast_RuntimeError, "traverse exploded");
}

static void test_traverse_failing_without_error_gives_system_error(void **state)
{
	(void)state;
	check_child_traverse_failure(traverse_fails_silently, sysfast_SystemError, NULL);
}

static void test_traverse_returning_0_with_error_set_gives_system_error(void **state)
{
	(void)state;
	check_child_traverse_failure(traverse_succeeds_with_error_left, sysfast_SystemError,
	                             "traverse of type badtraverse returned 0 with an error set: "
	                             "RuntimeError: left behind");
}

static void
test_deepsizeof_child_sizeof_fn_returning_0_with_error_set_gives_system_error(void **state)
{
	const sysfast_type leaky = {"leaky", 0, sizeof_succeeds_with_error_left, NULL};
	sysfast_object child = {&leaky};
	struct node root;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&root, &node_type, 1, 1);
	root.kids[0] = &child;
	assert_int_equal(sysfast_deepsizeof(&root.base, &size), -1);
	assert_error_exact(sysfast_SystemError,
	                   "sizeof_fn of type leaky returned 0 with an error set: "
	                   "RuntimeError: left behind");
	assert_int_equal(size, SIZE_UNTOUCHED);
	node_release(&root);
}

static void test_deepsizeof_total_overflow_gives_overflow_error(void **state)
{
	/* Each fits in size_t on its own; their sum does not. */
	struct node a, b;
	size_t size = SIZE_UNTOUCHED;

	(void)state;
	node_init(&a, &gc_node_type, INT64_MAX, 1);
	node_init(&b, &gc_node_type, INT64_MAX, 1);
	a.kids[0] = &b.base;
	b.kids[0] = &a.base;
	assert_int_equal(sysfast_deepsizeof(&a.base, &size), -1);
	assert_error(sysfast_OverflowError, NULL);
	assert_int_equal(size, SIZE_UNTOUCHED);
	node_release(&a);
	node_release(&b);
}

static void test_failed_deepsizeof_leaves_everything_as_it_was(void **state)
{
	/* A root with 500 leaves: the set of reached objects and the stack
	 * of pending ones each grow several times, and every one of those
	 * allocations is made to fail in turn. */
	enum { WIDTH = 500 };
	struct node root, *leaves = calloc(WIDTH, sizeof(*leaves));
	size_t size = SIZE_UNTOUCHED;
	unsigned long nth;
	long blocks;
	int rc;

	(void)state;
	assert_non_null(leaves);
	node_init(&root, &node_type, 1000, WIDTH);
	for (size_t i = 0; i < WIDTH; i++) {
		node_init(&leaves[i], &node_type, 2, 0);
		root.kids[i] = &leaves[i].base;
	}
	sysfast__alloc_fault_set(0, false);
	blocks = sysfast__alloc_stats().live_blocks;
	for (nth = 1;; nth++) {
		sysfast_err_set(sysfast_PermissionError, "pending");
		sysfast__alloc_fault_set(nth, false);
		rc = sysfast_deepsizeof(&root.base, &size);
		sysfast__alloc_fault_clear();
		if (rc == 0)
			break;
		assert_int_equal(rc, -1);
		assert_error(sysfast_MemoryError, "deepsizeof: out of memory");
		assert_int_equal(size, SIZE_UNTOUCHED);
		assert_int_equal(sysfast__alloc_stats().live_blocks, blocks);
	}
	/* The caller's error survives the call that succeeds. */
	assert_error(sysfast_PermissionError, "pending");
	assert_int_equal(size, 1000 + 2 * WIDTH);
	assert_true(nth > 4);
	assert_int_equal(sysfast__alloc_stats().live_blocks, blocks);
	chain_free(leaves, WIDTH);
	node_release(&root);
}

/* ---- alloc_usable_size ---- */

static void test_alloc_usable_size_of_null_is_0(void **state)
{
	(void)state;
	assert_int_equal(sysfast_alloc_usable_size(NULL), 0);
}

static void test_alloc_usable_size_is_malloc_usable_size(void **state)
{
	static const size_t sizes[] = {1, 24, 100, 4000, 70000, 1 << 20};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]);

		assert_non_null(p);
		assert_int_equal(sysfast_alloc_usable_size(p), malloc_usable_size(p));
		assert_true(sysfast_alloc_usable_size(p) >= sizes[i]);
		free(p);
	}
}

/* ---- the inline form agrees with the function ---- */

/*
 * This file is built twice (tests/meson.build): as is, and as
 * test_object_inline with SYSFAST_INLINE, where every sysfast_getsizeof
 * above is the inline form of <sysfast/static/object.h>. The case below
 * also runs both forms side by side, (sysfast_getsizeof) being the
 * library's function in either build, on every outcome, with and without
 * a pending error and before and after sysfast_init, and asserts that
 * they return, store and leave the same, calling sizeof_fn once each.
 */
#ifdef SYSFAST_INLINE
#ifndef sysfast_getsizeof
#error "SYSFAST_INLINE did not switch sysfast_getsizeof to the inline form"
#endif
#endif

static unsigned counted_calls;

static int sizeof_counted(const sysfast_object *self, int64_t *size)
{
	counted_calls++;
	*size = ((const struct blob *)self)->size;
	return 0;
}

/* What one call did: its return, *size, the error it left and how many
 * times sizeof_fn ran. */
struct getsizeof_outcome {
	int rc;
	size_t size;
	const sysfast_exc_type *err;
	char msg[SYSFAST_ERR_MSG_MAX + 1];
	unsigned calls;
};

/* Runs one form on (o, size_p) with `pending` set first (NULL: none);
 * size_p NULL passes NULL, else the form writes into a fresh
 * SIZE_UNTOUCHED. Leaves the error clear. */
static void run_form(bool inline_form, const sysfast_object *o, bool null_size,
                     const sysfast_exc_type *pending, struct getsizeof_outcome *out)
{
	size_t size = SIZE_UNTOUCHED;

	if (pending)
		sysfast_err_set(pending, "pending");
	counted_calls = 0;
	seen_by_sizeof = NULL;
	out->rc = inline_form ? sysfast_getsizeof(o, null_size ? NULL : &size)
	                      : (sysfast_getsizeof)(o, null_size ? NULL : &size);
	out->calls = counted_calls;
	out->size = size;
	out->err = sysfast_err_occurred();
	snprintf(out->msg, sizeof(out->msg), "%s", out->err ? sysfast_err_message() : "");
	sysfast_err_clear();
}

static void assert_forms_agree(const char *what, const sysfast_object *o, bool null_size,
                               const sysfast_exc_type *pending)
{
	struct getsizeof_outcome fn, in;

	run_form(false, o, null_size, pending, &fn);
	run_form(true, o, null_size, pending, &in);
	if (fn.rc != in.rc || fn.size != in.size || fn.err != in.err || strcmp(fn.msg, in.msg) != 0
	    || fn.calls != in.calls)
		fail_msg("%s (pending %s): function rc %d size %zu %s '%s' calls %u; "
		         "inline rc %d size %zu %s '%s' calls %u",
		         what, pending ? sysfast_exc_type_name(pending) : "none", fn.rc, fn.size,
		         fn.err ? sysfast_exc_type_name(fn.err) : "-", fn.msg, fn.calls, in.rc,
		         in.size, in.err ? sysfast_exc_type_name(in.err) : "-", in.msg, in.calls);
	/* A success keeps the pending error; a failure replaces it. */
	if (pending && fn.rc == 0)
		assert_ptr_equal(fn.err, pending);
}

static void test_inline_form_and_function_agree_on_every_outcome(void **state)
{
	static const sysfast_type counted = {"counted", 0, sizeof_counted, NULL};
	static const sysfast_type gc_counted = {"gccounted", SYSFAST_TYPE_GC, sizeof_counted, NULL};
	const sysfast_type raiser = {"raiser", 0, sizeof_raises_runtime_error, NULL};
	const sysfast_type silent = {"silent", 0, sizeof_fails_silently, NULL};
	const sysfast_type seven = {"seven", 0, sizeof_returns_7_silently, NULL};
	const sysfast_type leaky = {"leaky", 0, sizeof_succeeds_with_error_left, NULL};
	const sysfast_type leakytype = {"leakytype", 0, sizeof_succeeds_with_type_error_left, NULL};
	const sysfast_type typeerr = {"typeerr", 0, sizeof_raises_type_error, NULL};
	const sysfast_type negative = {"negative", 0, sizeof_negative, NULL};
	const sysfast_type records = {"records", 0, sizeof_records_pending_error, NULL};
	const sysfast_type unnamed = {NULL, 0, NULL, NULL};
	char long_name[151];
	const sysfast_type long_named = {long_name, 0, NULL, NULL};
	struct blob b40 = {{&counted}, 40}, g40 = {{&gc_counted}, 40}, b0 = {{&counted}, 0},
	            g0 = {{&gc_counted}, 0}, bmax = {{&counted}, INT64_MAX},
	            gmax = {{&gc_counted}, INT64_MAX}, bneg = {{&counted}, -1},
	            gmin = {{&gc_counted}, INT64_MIN};
	sysfast_object o_raiser = {&raiser}, o_silent = {&silent}, o_seven = {&seven},
	               o_leaky = {&leaky}, o_leakytype = {&leakytype}, o_typeerr = {&typeerr},
	               o_negative = {&negative}, o_records = {&records},
	               o_nosizeof = {&no_sizeof_type}, o_unnamed = {&unnamed},
	               o_long = {&long_named}, o_nulltype = {NULL};
	const struct {
		const char *what;
		const sysfast_object *o;
		bool null_size;
	} cases[] = {
	    {"size 40", &b40.base, false},
	    {"GC, size 40", &g40.base, false},
	    {"size 0", &b0.base, false},
	    {"GC, size 0", &g0.base, false},
	    {"INT64_MAX", &bmax.base, false},
	    {"GC, INT64_MAX", &gmax.base, false},
	    {"size -1", &bneg.base, false},
	    {"GC, INT64_MIN", &gmin.base, false},
	    {"sizeof_fn raises", &o_raiser, false},
	    {"sizeof_fn returns -1 silently", &o_silent, false},
	    {"sizeof_fn returns 7 silently", &o_seven, false},
	    {"sizeof_fn returns 0 with an error", &o_leaky, false},
	    {"sizeof_fn returns 0 with a TypeError", &o_leakytype, false},
	    {"sizeof_fn raises TypeError", &o_typeerr, false},
	    {"negative size", &o_negative, false},
	    {"sizeof_fn sees the pending error", &o_records, false},
	    {"no sizeof_fn", &o_nosizeof, false},
	    {"no sizeof_fn, unnamed type", &o_unnamed, false},
	    {"no sizeof_fn, 150-byte name", &o_long, false},
	    {"NULL type", &o_nulltype, false},
	    {"NULL object", NULL, false},
	    {"NULL size", &b40.base, true},
	    {"NULL object and size", NULL, true},
	};
	const sysfast_exc_type *pendings[] = {NULL, sysfast_OSError, sysfast_TypeError};

	(void)state;
	memset(long_name, 'n', 150);
	long_name[150] = '\0';
	for (int round = 0; round < 3; round++) {
		/* Round 0 initialised, 1 after sysfast_fini, 2 after a new
		 * sysfast_init. */
		if (round == 1)
			sysfast_fini();
		if (round == 2)
			assert_int_equal(sysfast_init(), 0);
		for (size_t p = 0; p < sizeof(pendings) / sizeof(pendings[0]); p++)
			for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
				assert_forms_agree(cases[i].what, cases[i].o, cases[i].null_size,
				                   pendings[p]);
	}
	/* The first round of the usual case did reach sizeof_fn, and
	 * hid the pending error from it. */
	{
		struct getsizeof_outcome out;

		run_form(true, &b40.base, false, NULL, &out);
		assert_int_equal(out.rc, 0);
		assert_int_equal(out.size, 40);
		assert_int_equal(out.calls, 1);
		run_form(true, &g40.base, false, NULL, &out);
		assert_int_equal(out.size, 40 + SYSFAST_GC_HEADER_SIZE);
		run_form(true, &o_records, false, sysfast_OSError, &out);
		assert_int_equal(out.rc, 0);
		assert_null(seen_by_sizeof);
		assert_ptr_equal(out.err, sysfast_OSError);
	}
}

#define T(fn) cmocka_unit_test_setup(fn, runtime_up)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* First, before anything starts the runtime. */
	    cmocka_unit_test(test_getsizeof_functions_need_init_but_usable_size_does_not),
	    T(test_getsizeof_is_sizeof_fn_for_a_non_gc_type),
	    T(test_getsizeof_adds_the_gc_header_for_a_gc_type),
	    T(test_getsizeof_of_zero_is_zero_or_just_the_header),
	    T(test_sizeof_fn_error_propagates),
	    T(test_sizeof_fn_failing_without_error_gives_system_error),
	    T(test_sizeof_fn_returning_other_nonzero_without_error_fails),
	    T(test_sizeof_fn_returning_0_with_error_set_gives_system_error),
	    T(test_default_does_not_hide_a_sizeof_fn_returning_0_with_a_type_error),
	    T(test_negative_size_gives_value_error),
	    T(test_most_negative_size_gives_value_error),
	    T(test_missing_sizeof_fn_gives_type_error_naming_the_type),
	    T(test_type_name_in_the_type_error_is_cut_at_100_bytes),
	    T(test_type_name_of_exactly_100_bytes_is_kept_whole),
	    T(test_largest_size_plus_gc_header_fits_or_overflows),
	    T(test_getsizeof_of_null_object_gives_value_error),
	    T(test_getsizeof_of_object_with_null_type_gives_value_error),
	    T(test_null_size_pointer_gives_value_error),
	    T(test_pending_error_is_hidden_from_sizeof_fn_and_kept),
	    T(test_pending_error_is_replaced_on_failure),
	    T(test_inline_form_and_function_agree_on_every_outcome),
#ifdef TESTUTIL_HEAP_PROBE
	    T(test_getsizeof_never_allocates_on_success_or_failure),
#endif
	    T(test_default_replaces_missing_sizeof_type_error),
	    T(test_default_replaces_type_error_from_sizeof_fn),
	    T(test_default_replaces_type_error_subclasses),
	    T(test_default_is_ignored_on_success),
	    T(test_default_does_not_replace_other_errors),
	    T(test_default_keeps_the_pending_error_when_it_replaces_type_error),
	    T(test_deepsizeof_of_a_leaf_is_its_getsizeof),
	    T(test_deepsizeof_sums_a_tree),
	    T(test_deepsizeof_counts_a_shared_child_once),
	    T(test_deepsizeof_counts_each_object_of_a_cycle_once),
	    T(test_deepsizeof_counts_a_self_loop_once),
	    T(test_deepsizeof_skips_null_referents),
	    T(test_deepsizeof_walks_a_million_long_chain_without_recursion),
	    T(test_deepsizeof_walks_a_million_long_cycle_from_its_middle),
	    T(test_deepsizeof_sums_a_wide_graph),
	    T(test_deepsizeof_keeps_the_pending_error_on_success),
	    T(test_deepsizeof_of_null_object_gives_value_error),
	    T(test_deepsizeof_propagates_type_error_from_a_deep_child),
	    T(test_deepsizeof_propagates_sizeof_fn_error_from_a_child),
	    T(test_deepsizeof_child_with_null_type_gives_value_error),
	    T(test_deepsizeof_propagates_a_traverse_error),
	    T(test_traverse_failing_without_error_gives_system_error),
	    T(test_traverse_returning_0_with_error_set_gives_system_error),
	    T(test_deepsizeof_child_sizeof_fn_returning_0_with_error_set_gives_system_error),
	    T(test_deepsizeof_total_overflow_gives_overflow_error),
	    T(test_failed_deepsizeof_leaves_everything_as_it_was),
	    T(test_alloc_usable_size_of_null_is_0),
	    T(test_alloc_usable_size_is_malloc_usable_size),
	};

	return cmocka_run_group_tests(tests, NULL, runtime_down);
}
