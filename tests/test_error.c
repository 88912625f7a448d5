/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exception classes and the per-thread error indicator (<sysfast/error.h>),
 * and the version (<sysfast/version.h>). Uses the public API only.
 *
 * This program never calls sysfast_init(): every test here also proves
 * that the error and class functions work without the runtime.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* The limits are integer constant expressions, usable at compile time. */
_Static_assert(SYSFAST_VERSION_MAJOR >= 0, "SYSFAST_VERSION_MAJOR is a constant");
_Static_assert(SYSFAST_VERSION_MINOR >= 0, "SYSFAST_VERSION_MINOR is a constant");
_Static_assert(SYSFAST_VERSION_PATCH >= 0, "SYSFAST_VERSION_PATCH is a constant");
_Static_assert(SYSFAST_ARGS_MAX >= 32, "SYSFAST_ARGS_MAX is a constant of at least 32");
_Static_assert(SYSFAST_EVENT_NAME_MAX >= 255,
               "SYSFAST_EVENT_NAME_MAX is a constant of at least 255");
_Static_assert(SYSFAST_ERR_MSG_MAX >= 255, "at least 255 bytes of a message are kept");

/* ---- helpers ---- */

/* Fills buf[0..len) with a non-repeating-looking pattern and terminates it,
 * so that a kept prefix can be checked byte for byte. */
static void fill_pattern(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + i / 26) % 26);
	buf[len] = '\0';
}

/* Checks that the pending message is a verbatim prefix of `full`, at
 * least 255 bytes and at most SYSFAST_ERR_MSG_MAX long. */
static void assert_message_is_long_prefix_of(const char *full)
{
	const char *msg = sysfast_err_message();
	size_t len = strlen(msg);

	assert_true(len >= 255);
	assert_true(len <= SYSFAST_ERR_MSG_MAX);
	assert_true(len < strlen(full));
	assert_memory_equal(msg, full, len);
}

/* Classes live until the process exits and the library keeps no list of
 * them; like a real program, the tests keep each class they create in a
 * global, which is what keeps LeakSanitizer quiet. */
static const sysfast_exc_type *kept_classes[16];
static size_t n_kept_classes;

static const sysfast_exc_type *keep(const sysfast_exc_type *t)
{
	if (t && n_kept_classes < sizeof(kept_classes) / sizeof(kept_classes[0]))
		kept_classes[n_kept_classes++] = t;
	return t;
}

/* ---- built-in classes ---- */

static const struct {
	const sysfast_exc_type *const *cls;
	const char *name;
	const sysfast_exc_type *const *parent;
} builtins[] = {
    {&sysfast_BaseException, "BaseException", NULL},
    {&sysfast_Exception, "Exception", &sysfast_BaseException},
    {&sysfast_RuntimeError, "RuntimeError", &sysfast_Exception},
    {&sysfast_RecursionError, "RecursionError", &sysfast_RuntimeError},
    {&sysfast_TypeError, "TypeError", &sysfast_Exception},
    {&sysfast_ValueError, "ValueError", &sysfast_Exception},
    {&sysfast_ArithmeticError, "ArithmeticError", &sysfast_Exception},
    {&sysfast_OverflowError, "OverflowError", &sysfast_ArithmeticError},
    {&sysfast_MemoryError, "MemoryError", &sysfast_Exception},
    {&sysfast_OSError, "OSError", &sysfast_Exception},
    {&sysfast_PermissionError, "PermissionError", &sysfast_OSError},
    {&sysfast_SystemError, "SystemError", &sysfast_Exception},
    {&sysfast_KeyboardInterrupt, "KeyboardInterrupt", &sysfast_BaseException},
    {&sysfast_SystemExit, "SystemExit", &sysfast_BaseException},
};
#define N_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

static void test_builtin_class_names_are_bare(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BUILTINS; i++)
		assert_string_equal(sysfast_exc_type_name(*builtins[i].cls), builtins[i].name);
}

static void test_builtin_classes_are_distinct(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BUILTINS; i++) {
		assert_non_null(*builtins[i].cls);
		for (size_t j = i + 1; j < N_BUILTINS; j++)
			assert_ptr_not_equal(*builtins[i].cls, *builtins[j].cls);
	}
}

/* The table's parent of builtins[i], as an index; -1 for the root. */
static int parent_index(size_t i)
{
	for (size_t k = 0; k < N_BUILTINS; k++)
		if (builtins[i].parent == builtins[k].cls)
			return (int)k;
	return -1;
}

/* Whether builtins[i] is builtins[j] or below it in the table's tree. */
static bool table_says_subclass(size_t i, size_t j)
{
	for (int k = (int)i; k >= 0; k = parent_index((size_t)k))
		if ((size_t)k == j)
			return true;
	return false;
}

/* Every class derives from its parent and everything above it, and from
 * nothing else: the tree is exactly the one in error.h. */
static void test_builtin_classes_form_cpythons_tree(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BUILTINS; i++)
		for (size_t j = 0; j < N_BUILTINS; j++) {
			bool expected = table_says_subclass(i, j);

			if (sysfast_exc_is_subclass(*builtins[i].cls, *builtins[j].cls) != expected)
				fail_msg("is_subclass(%s, %s) should be %s", builtins[i].name,
				         builtins[j].name, expected ? "true" : "false");
		}
}

static void test_keyboard_interrupt_and_system_exit_are_not_exceptions(void **state)
{
	(void)state;
	assert_false(sysfast_exc_is_subclass(sysfast_KeyboardInterrupt, sysfast_Exception));
	assert_false(sysfast_exc_is_subclass(sysfast_SystemExit, sysfast_Exception));
	assert_true(sysfast_exc_is_subclass(sysfast_KeyboardInterrupt, sysfast_BaseException));
	assert_true(sysfast_exc_is_subclass(sysfast_SystemExit, sysfast_BaseException));
}

static void test_is_subclass_is_reflexive(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BUILTINS; i++)
		assert_true(sysfast_exc_is_subclass(*builtins[i].cls, *builtins[i].cls));
}

static void test_is_subclass_is_false_for_null(void **state)
{
	(void)state;
	assert_false(sysfast_exc_is_subclass(NULL, sysfast_BaseException));
	assert_false(sysfast_exc_is_subclass(sysfast_ValueError, NULL));
	assert_false(sysfast_exc_is_subclass(NULL, NULL));
	assert_no_error();
}

static void test_name_of_null_class_is_null(void **state)
{
	(void)state;
	assert_null(sysfast_exc_type_name(NULL));
	assert_no_error();
}

/* ---- user classes ---- */

static void test_new_class_copies_its_name_verbatim(void **state)
{
	char name[] = "mod.sub.\xc3\xa9rror Name!";
	const sysfast_exc_type *t;

	(void)state;
	t = keep(sysfast_exc_type_new(name, sysfast_ValueError));
	memset(name, 'X', sizeof(name) - 1);

	assert_non_null(t);
	assert_no_error();
	assert_ptr_not_equal(sysfast_exc_type_name(t), name);
	assert_string_equal(sysfast_exc_type_name(t), "mod.sub.\xc3\xa9rror Name!");
}

static void test_new_class_derives_from_its_base(void **state)
{
	const sysfast_exc_type *t =
	    keep(sysfast_exc_type_new("DerivedFromOSError", sysfast_OSError));

	(void)state;
	assert_non_null(t);
	assert_true(sysfast_exc_is_subclass(t, t));
	assert_true(sysfast_exc_is_subclass(t, sysfast_OSError));
	assert_true(sysfast_exc_is_subclass(t, sysfast_Exception));
	assert_false(sysfast_exc_is_subclass(t, sysfast_PermissionError));
	assert_false(sysfast_exc_is_subclass(sysfast_OSError, t));
}

static void test_new_class_with_null_base_derives_from_exception(void **state)
{
	const sysfast_exc_type *t = keep(sysfast_exc_type_new("NoBaseGiven", NULL));

	(void)state;
	assert_non_null(t);
	assert_no_error();
	assert_true(sysfast_exc_is_subclass(t, sysfast_Exception));
	assert_true(sysfast_exc_is_subclass(t, sysfast_BaseException));
	for (size_t i = 2; i < N_BUILTINS; i++)
		assert_false(sysfast_exc_is_subclass(t, *builtins[i].cls));
}

static void test_new_class_with_null_name_is_value_error(void **state)
{
	(void)state;
	assert_null(sysfast_exc_type_new(NULL, sysfast_ValueError));
	assert_error(sysfast_ValueError, NULL);
}

static void test_new_class_with_empty_name_is_value_error(void **state)
{
	(void)state;
	assert_null(sysfast_exc_type_new("", NULL));
	assert_error(sysfast_ValueError, NULL);
}

static void test_new_classes_are_distinct_even_with_the_same_name(void **state)
{
	const sysfast_exc_type *a = keep(sysfast_exc_type_new("SameName", NULL));
	const sysfast_exc_type *b = keep(sysfast_exc_type_new("SameName", NULL));

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_false(sysfast_exc_is_subclass(a, b));
	assert_false(sysfast_exc_is_subclass(b, a));
}

static void test_error_of_user_class_under_user_class_matches_both(void **state)
{
	const sysfast_exc_type *parent =
	    keep(sysfast_exc_type_new("ParentError", sysfast_ValueError));
	const sysfast_exc_type *child = keep(sysfast_exc_type_new("ChildError", parent));

	(void)state;
	sysfast_err_set(child, "boom");

	assert_true(sysfast_err_matches(child));
	assert_true(sysfast_err_matches(parent));
	assert_true(sysfast_err_matches(sysfast_ValueError));
	assert_true(sysfast_err_matches(sysfast_Exception));
	assert_false(sysfast_err_matches(sysfast_TypeError));
	assert_false(sysfast_exc_is_subclass(parent, child));
	assert_error(child, "boom");
}

/* ---- the error indicator ---- */

static void test_no_error_is_pending_at_start(void **state)
{
	(void)state;
	assert_null(sysfast_err_occurred());
	assert_string_equal(sysfast_err_message(), "");
}

static void test_set_error_is_reported_with_its_class_and_message(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_OverflowError, "number too big");

	assert_ptr_equal(sysfast_err_occurred(), sysfast_OverflowError);
	assert_string_equal(sysfast_err_message(), "number too big");
	sysfast_err_clear();
}

static void test_set_replaces_a_pending_error(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_ValueError, "first");
	sysfast_err_set(sysfast_TypeError, "second");

	assert_ptr_equal(sysfast_err_occurred(), sysfast_TypeError);
	assert_string_equal(sysfast_err_message(), "second");
	sysfast_err_clear();
}

static void test_occurred_is_null_and_message_empty_after_clear(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_ValueError, "will be cleared");
	sysfast_err_clear();

	assert_null(sysfast_err_occurred());
	assert_string_equal(sysfast_err_message(), "");
	assert_false(sysfast_err_matches(sysfast_BaseException));
}

static void test_clear_without_error_is_harmless(void **state)
{
	(void)state;
	sysfast_err_clear();
	sysfast_err_clear();
	assert_no_error();
}

static void test_set_with_null_class_sets_system_error(void **state)
{
	(void)state;
	sysfast_err_set(NULL, "no class given");
	assert_error(sysfast_SystemError, "no class given");
}

static void test_set_with_null_message_sets_empty_message(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_ValueError, NULL);

	assert_ptr_equal(sysfast_err_occurred(), sysfast_ValueError);
	assert_string_equal(sysfast_err_message(), "");
	sysfast_err_clear();
}

static void test_matches_null_is_false(void **state)
{
	(void)state;
	assert_false(sysfast_err_matches(NULL));
	sysfast_err_set(sysfast_ValueError, "pending");
	assert_false(sysfast_err_matches(NULL));
	sysfast_err_clear();
}

static void test_matches_is_false_when_clear(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BUILTINS; i++)
		assert_false(sysfast_err_matches(*builtins[i].cls));
}

static void test_matches_by_subclass(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_RecursionError, "too deep");

	assert_true(sysfast_err_matches(sysfast_RecursionError));
	assert_true(sysfast_err_matches(sysfast_RuntimeError));
	assert_true(sysfast_err_matches(sysfast_Exception));
	assert_true(sysfast_err_matches(sysfast_BaseException));
	assert_false(sysfast_err_matches(sysfast_ValueError));
	assert_false(sysfast_err_matches(sysfast_SystemError));
	sysfast_err_clear();
}

static void test_keyboard_interrupt_does_not_match_exception(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_KeyboardInterrupt, "^C");

	assert_false(sysfast_err_matches(sysfast_Exception));
	assert_true(sysfast_err_matches(sysfast_BaseException));
	sysfast_err_clear();
}

static void test_message_of_max_length_is_kept_whole(void **state)
{
	char msg[SYSFAST_ERR_MSG_MAX + 1];

	(void)state;
	fill_pattern(msg, SYSFAST_ERR_MSG_MAX);
	sysfast_err_set(sysfast_ValueError, msg);

	assert_string_equal(sysfast_err_message(), msg);
	sysfast_err_clear();
}

static void test_long_message_keeps_a_verbatim_prefix(void **state)
{
	static char msg[4 * SYSFAST_ERR_MSG_MAX + 1];

	(void)state;
	fill_pattern(msg, sizeof(msg) - 1);
	sysfast_err_set(sysfast_ValueError, msg);

	assert_ptr_equal(sysfast_err_occurred(), sysfast_ValueError);
	assert_message_is_long_prefix_of(msg);
	sysfast_err_clear();
}

static void test_long_formatted_message_keeps_a_verbatim_prefix(void **state)
{
	static char arg[4 * SYSFAST_ERR_MSG_MAX + 1];
	static char full[sizeof(arg) + 16];

	(void)state;
	fill_pattern(arg, sizeof(arg) - 1);
	snprintf(full, sizeof(full), "head:%s:tail", arg);
	sysfast_err_format(sysfast_TypeError, "head:%s:tail", arg);

	assert_ptr_equal(sysfast_err_occurred(), sysfast_TypeError);
	assert_message_is_long_prefix_of(full);
	sysfast_err_clear();
}

static void test_format_formats_the_message(void **state)
{
	char expected[128];
	int local;

	(void)state;
	snprintf(expected, sizeof(expected), "%s=%d %u %zu %c %x %ld %p %%", "key", -42, 7u,
	         (size_t)123456789, 'z', 0xbeefu, -1L, (void *)&local);
	sysfast_err_format(sysfast_OSError, "%s=%d %u %zu %c %x %ld %p %%", "key", -42, 7u,
	                   (size_t)123456789, 'z', 0xbeefu, -1L, (void *)&local);

	assert_ptr_equal(sysfast_err_occurred(), sysfast_OSError);
	assert_string_equal(sysfast_err_message(), expected);
	sysfast_err_clear();
}

static void test_format_with_null_class_sets_system_error(void **state)
{
	(void)state;
	sysfast_err_format(NULL, "code %d", 5);
	assert_error(sysfast_SystemError, "code 5");
}

static void test_set_from_own_message_keeps_the_message(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_ValueError, "hello world");
	sysfast_err_set(sysfast_TypeError, sysfast_err_message());

	assert_ptr_equal(sysfast_err_occurred(), sysfast_TypeError);
	assert_string_equal(sysfast_err_message(), "hello world");
	sysfast_err_clear();
}

static void test_set_from_inside_own_message_moves_the_tail(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_ValueError, "hello world");
	sysfast_err_set(sysfast_ValueError, sysfast_err_message() + 6);

	assert_string_equal(sysfast_err_message(), "world");
	sysfast_err_clear();
}

static void test_format_with_own_message_as_argument_works(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_ValueError, "inner");
	sysfast_err_format(sysfast_RuntimeError, "outer(%s, %s)", sysfast_err_message(),
	                   sysfast_err_message());

	assert_string_equal(sysfast_err_message(), "outer(inner, inner)");
	assert_error(sysfast_RuntimeError, NULL);
}

static void test_set_from_own_long_message_keeps_the_prefix(void **state)
{
	static char msg[2 * SYSFAST_ERR_MSG_MAX + 1];
	char kept[SYSFAST_ERR_MSG_MAX + 1];

	(void)state;
	fill_pattern(msg, sizeof(msg) - 1);
	sysfast_err_set(sysfast_ValueError, msg);
	strcpy(kept, sysfast_err_message());
	sysfast_err_set(sysfast_TypeError, sysfast_err_message());

	assert_ptr_equal(sysfast_err_occurred(), sysfast_TypeError);
	assert_string_equal(sysfast_err_message(), kept);
	sysfast_err_clear();
}

/* ---- threads ---- */

struct other_thread_view {
	bool saw_error;
	char message[64];
	bool own_error_set;
};

static void *look_at_error_then_set_own(void *arg)
{
	struct other_thread_view *v = arg;

	v->saw_error = sysfast_err_occurred() != NULL;
	snprintf(v->message, sizeof(v->message), "%s", sysfast_err_message());
	sysfast_err_set(sysfast_TypeError, "set by the other thread");
	v->own_error_set = sysfast_err_matches(sysfast_TypeError);
	return NULL;
}

static void test_errors_are_per_thread(void **state)
{
	struct other_thread_view view = {0};
	pthread_t th;

	(void)state;
	sysfast_err_set(sysfast_ValueError, "set by the main thread");

	assert_int_equal(pthread_create(&th, NULL, look_at_error_then_set_own, &view), 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	assert_false(view.saw_error);
	assert_string_equal(view.message, "");
	assert_true(view.own_error_set);
	assert_error(sysfast_ValueError, "set by the main thread");
}

/* ---- before init ---- */

static void test_error_functions_work_before_init(void **state)
{
	const sysfast_exc_type *t;

	(void)state;
	assert_false(sysfast_is_initialized());
	t = keep(sysfast_exc_type_new("BeforeInitError", sysfast_RuntimeError));
	assert_non_null(t);
	sysfast_err_format(t, "n=%d", 3);

	assert_true(sysfast_err_matches(sysfast_RuntimeError));
	assert_string_equal(sysfast_exc_type_name(sysfast_err_occurred()), "BeforeInitError");
	assert_error(t, "n=3");
	assert_false(sysfast_is_initialized());
}

/* ---- allocation ---- */

/* With testutil's heap probe: see testutil.h. */
#ifdef TESTUTIL_HEAP_PROBE
static void test_setting_and_clearing_errors_never_allocates(void **state)
{
	static char long_msg[2 * SYSFAST_ERR_MSG_MAX + 1];
	uint64_t control, used;

	(void)state;
	if (!testutil_heap_available())
		skip();
	fill_pattern(long_msg, sizeof(long_msg) - 1);
	/* The probe must see an allocation the library does make. */
	testutil_heap_start();
	assert_non_null(keep(sysfast_exc_type_new("ProbeControlError", NULL)));
	control = testutil_heap_stop();
	assert_true(control > 0);

	testutil_heap_start();
	for (int i = 0; i < 1000; i++) {
		sysfast_err_set(i & 1 ? sysfast_ValueError : NULL, i & 2 ? long_msg : "short");
		sysfast_err_format(sysfast_TypeError, "%s %d %zu %s", "iteration", i, (size_t)i,
		                   i & 4 ? long_msg : "");
		sysfast_err_set(sysfast_OSError, sysfast_err_message());
		sysfast_err_clear();
	}
	used = testutil_heap_stop();

	assert_int_equal(used, 0);
}
#endif

/* ---- version ---- */

static void test_version_string_matches_the_version_macros(void **state)
{
	char expected[64];

	(void)state;
	snprintf(expected, sizeof(expected), "%d.%d.%d", SYSFAST_VERSION_MAJOR,
	         SYSFAST_VERSION_MINOR, SYSFAST_VERSION_PATCH);
	assert_non_null(sysfast_version());
	assert_string_equal(sysfast_version(), expected);
	assert_ptr_equal(sysfast_version(), sysfast_version());
	assert_no_error();
}

/* Each test starts and ends with a clear indicator, even after a failure. */
static int clear_error(void **state)
{
	(void)state;
	sysfast_err_clear();
	return 0;
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, clear_error, clear_error)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_builtin_class_names_are_bare),
	    TEST(test_builtin_classes_are_distinct),
	    TEST(test_builtin_classes_form_cpythons_tree),
	    TEST(test_keyboard_interrupt_and_system_exit_are_not_exceptions),
	    TEST(test_is_subclass_is_reflexive),
	    TEST(test_is_subclass_is_false_for_null),
	    TEST(test_name_of_null_class_is_null),
	    TEST(test_new_class_copies_its_name_verbatim),
	    TEST(test_new_class_derives_from_its_base),
	    TEST(test_new_class_with_null_base_derives_from_exception),
	    TEST(test_new_class_with_null_name_is_value_error),
	    TEST(test_new_class_with_empty_name_is_value_error),
	    TEST(test_new_classes_are_distinct_even_with_the_same_name),
	    TEST(test_error_of_user_class_under_user_class_matches_both),
	    TEST(test_no_error_is_pending_at_start),
	    TEST(test_set_error_is_reported_with_its_class_and_message),
	    TEST(test_set_replaces_a_pending_error),
	    TEST(test_occurred_is_null_and_message_empty_after_clear),
	    TEST(test_clear_without_error_is_harmless),
	    TEST(test_set_with_null_class_sets_system_error),
	    TEST(test_set_with_null_message_sets_empty_message),
	    TEST(test_matches_null_is_false),
	    TEST(test_matches_is_false_when_clear),
	    TEST(test_matches_by_subclass),
	    TEST(test_keyboard_interrupt_does_not_match_exception),
	    TEST(test_message_of_max_length_is_kept_whole),
	    TEST(test_long_message_keeps_a_verbatim_prefix),
	    TEST(test_long_formatted_message_keeps_a_verbatim_prefix),
	    TEST(test_format_formats_the_message),
	    TEST(test_format_with_null_class_sets_system_error),
	    TEST(test_set_from_own_message_keeps_the_message),
	    TEST(test_set_from_inside_own_message_moves_the_tail),
	    TEST(test_format_with_own_message_as_argument_works),
	    TEST(test_set_from_own_long_message_keeps_the_prefix),
	    TEST(test_errors_are_per_thread),
	    TEST(test_error_functions_work_before_init),
#ifdef TESTUTIL_HEAP_PROBE
	    TEST(test_setting_and_clearing_errors_never_allocates),
#endif
	    TEST(test_version_string_matches_the_version_macros),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
