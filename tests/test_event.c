/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Event names (<sysfast/event.h>): dense immortal ids, validation, and the
 * no-error contract of the lookup functions. Uses the public API only.
 *
 * Names are process-wide and immortal, so every test uses names of its own
 * and measures counts relative to sysfast_event_count() at its start.
 */
#include <string.h>

#include "testutil.h"

/* Strings that are not valid event names, and what is wrong with them. */
static const struct {
	const char *name;
	const char *why;
} invalid_utf8[] = {
    {"\xc0\x80", "overlong 2-byte NUL"},
    {"\xe0\x80\x80", "overlong 3-byte NUL"},
    {"\xf0\x80\x80\x80", "overlong 4-byte NUL"},
    {"\xed\xa0\x80", "surrogate U+D800"},
    {"\xed\xbf\xbf", "surrogate U+DFFF"},
    {"\xf4\x90\x80\x80", "U+110000"},
    {"\xf5\x80\x80\x80", "start byte past U+10FFFF"},
    {"\xe2\x82", "truncated 3-byte sequence"},
    {"ok.\xe2\x82", "truncated at the end"},
    {"\x80", "lone continuation byte"},
    {"\xff", "byte 0xff"},
    {"a\xc3(b", "bad continuation byte"},
};

static void fill(char *buf, size_t len, char c)
{
	memset(buf, c, len);
	buf[len] = '\0';
}

static void test_new_names_get_dense_ids_after_the_count(void **state)
{
	size_t base = sysfast_event_count();

	(void)state;
	assert_int_equal(sysfast_event_intern("test.dense.first"), base + 1);
	assert_int_equal(sysfast_event_intern("test.dense.second"), base + 2);
	assert_int_equal(sysfast_event_intern("test.dense.third"), base + 3);
	assert_no_error();
}

static void test_known_name_returns_same_id(void **state)
{
	sysfast_event_id id = sysfast_event_intern("test.same.name");
	char copy[] = "test.same.name";

	(void)state;
	assert_int_not_equal(id, 0);
	assert_int_equal(sysfast_event_intern("test.same.name"), id);
	assert_int_equal(sysfast_event_intern(copy), id);
	assert_no_error();
}

static void test_reused_buffer_interns_the_name_it_now_holds(void **state)
{
	/* Lookups by string are cached per thread by the string's address:
	 * a buffer that changes must still give the id of what it holds. */
	sysfast_event_id one, two;
	char name[32];

	(void)state;
	strcpy(name, "test.reuse.one");
	one = sysfast_event_intern(name);
	strcpy(name, "test.reuse.two");
	two = sysfast_event_intern(name);
	assert_int_not_equal(one, 0);
	assert_int_not_equal(two, one);
	assert_string_equal(sysfast_event_name(two), "test.reuse.two");
	assert_int_equal(sysfast_event_find(name), two);
	strcpy(name, "test.reuse.one");
	assert_int_equal(sysfast_event_find(name), one);
	assert_int_equal(sysfast_event_intern(name), one);
	strcpy(name, "test.reuse.on");
	assert_int_equal(sysfast_event_find(name), 0);
	strcpy(name, "test.reuse.one.more");
	assert_int_equal(sysfast_event_find(name), 0);
	assert_no_error();
}

static void test_count_increments_by_one_per_new_name_only(void **state)
{
	size_t base = sysfast_event_count();

	(void)state;
	sysfast_event_intern("test.count.a");
	assert_int_equal(sysfast_event_count(), base + 1);
	sysfast_event_intern("test.count.a");
	assert_int_equal(sysfast_event_count(), base + 1);
	sysfast_event_intern("test.count.b");
	assert_int_equal(sysfast_event_count(), base + 2);
	sysfast_event_find("test.count.never.interned");
	assert_int_equal(sysfast_event_count(), base + 2);
}

static void test_name_of_id_is_the_same_pointer_every_time(void **state)
{
	sysfast_event_id id = sysfast_event_intern("test.pointer.stable");
	const char *p = sysfast_event_name(id);

	(void)state;
	assert_non_null(p);
	assert_string_equal(p, "test.pointer.stable");
	assert_ptr_equal(sysfast_event_name(id), p);
	assert_int_equal(sysfast_event_intern("test.pointer.stable"), id);
	assert_ptr_equal(sysfast_event_name(id), p);
}

static void test_ids_and_names_survive_fini_and_init(void **state)
{
	sysfast_event_id id = sysfast_event_intern("test.survives.fini");
	const char *p = sysfast_event_name(id);
	size_t count = sysfast_event_count();

	(void)state;
	sysfast_fini();
	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_event_count(), count);
	assert_ptr_equal(sysfast_event_name(id), p);
	assert_int_equal(sysfast_event_find("test.survives.fini"), id);
	assert_int_equal(sysfast_event_intern("test.survives.fini"), id);
	assert_no_error();
}

static void test_find_of_interned_name_returns_its_id(void **state)
{
	sysfast_event_id id = sysfast_event_intern("test.find.known");

	(void)state;
	assert_int_equal(sysfast_event_find("test.find.known"), id);
	assert_no_error();
}

static void test_find_of_unknown_name_returns_zero_without_error(void **state)
{
	size_t count = sysfast_event_count();

	(void)state;
	assert_int_equal(sysfast_event_find("test.find.unknown"), 0);
	assert_no_error();
	assert_int_equal(sysfast_event_count(), count);
}

static void test_find_of_invalid_name_returns_zero_without_error(void **state)
{
	char long_name[SYSFAST_EVENT_NAME_MAX + 2];
	size_t i;

	(void)state;
	fill(long_name, SYSFAST_EVENT_NAME_MAX + 1, 'f');
	assert_int_equal(sysfast_event_find(NULL), 0);
	assert_int_equal(sysfast_event_find(""), 0);
	assert_int_equal(sysfast_event_find(long_name), 0);
	for (i = 0; i < sizeof(invalid_utf8) / sizeof(invalid_utf8[0]); i++)
		assert_int_equal(sysfast_event_find(invalid_utf8[i].name), 0);
	assert_no_error();
}

static void test_find_keeps_a_pending_error(void **state)
{
	(void)state;
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_event_find("\xff"), 0);
	assert_int_equal(sysfast_event_find("test.find.pending.unknown"), 0);
	assert_error(sysfast_KeyboardInterrupt, "pending");
}

static void test_intern_of_null_name_is_value_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_event_intern(NULL), 0);
	assert_error(sysfast_ValueError, "event name is NULL");
}

static void test_intern_of_empty_name_is_value_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_event_intern(""), 0);
	assert_error(sysfast_ValueError, "event name is empty");
}

static void test_intern_of_name_over_max_bytes_is_value_error(void **state)
{
	char name[SYSFAST_EVENT_NAME_MAX + 2];
	size_t count = sysfast_event_count();

	(void)state;
	fill(name, SYSFAST_EVENT_NAME_MAX + 1, 'x');
	assert_int_equal(sysfast_event_intern(name), 0);
	assert_error(sysfast_ValueError, "event name is longer than 255 bytes");
	assert_int_equal(sysfast_event_count(), count);
}

static void test_intern_of_name_of_exactly_max_bytes_succeeds(void **state)
{
	char name[SYSFAST_EVENT_NAME_MAX + 1];
	sysfast_event_id id;

	(void)state;
	fill(name, SYSFAST_EVENT_NAME_MAX, 'm');
	id = sysfast_event_intern(name);
	assert_int_not_equal(id, 0);
	assert_no_error();
	assert_string_equal(sysfast_event_name(id), name);
}

static void test_intern_of_invalid_utf8_is_value_error(void **state)
{
	size_t count = sysfast_event_count();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(invalid_utf8) / sizeof(invalid_utf8[0]); i++) {
		sysfast_event_id id = sysfast_event_intern(invalid_utf8[i].name);

		if (id != 0 || sysfast_err_occurred() != sysfast_ValueError)
			fail_msg("%s: got id %u, error \"%s\"", invalid_utf8[i].why, id,
			         sysfast_err_message());
		assert_error(sysfast_ValueError, "event name is not valid UTF-8");
	}
	assert_int_equal(sysfast_event_count(), count);
}

static void test_invalid_utf8_message_gives_byte_and_offset(void **state)
{
	(void)state;
	assert_int_equal(sysfast_event_intern("abc\xff"), 0);
	assert_error(sysfast_ValueError, "(byte 0xff at offset 3");
	assert_int_equal(sysfast_event_intern("ab\xed\xa0\x80"), 0);
	assert_error(sysfast_ValueError, "byte 0xed at offset 2");
}

static void test_intern_of_valid_multibyte_utf8_succeeds(void **state)
{
	static const char *const names[] = {
	    "test.utf8.\xc3\xa9",                   /* U+00E9, 2 bytes */
	    "test.utf8.\xe2\x82\xac",               /* U+20AC, 3 bytes */
	    "test.utf8.\xed\x9f\xbf",               /* U+D7FF, just below the surrogates */
	    "test.utf8.\xee\x80\x80",               /* U+E000, just above them */
	    "test.utf8.\xf0\x9d\x84\x9e",           /* U+1D11E, 4 bytes */
	    "test.utf8.\xf4\x8f\xbf\xbf",           /* U+10FFFF, the last code point */
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", /* whole name non-ASCII */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sysfast_event_id id = sysfast_event_intern(names[i]);

		assert_int_not_equal(id, 0);
		assert_string_equal(sysfast_event_name(id), names[i]);
		assert_int_equal(sysfast_event_find(names[i]), id);
	}
	assert_no_error();
}

static void test_name_of_invalid_id_is_null_without_error(void **state)
{
	(void)state;
	assert_null(sysfast_event_name(0));
	assert_null(sysfast_event_name((sysfast_event_id)sysfast_event_count() + 1));
	assert_null(sysfast_event_name(SYSFAST_EVENT_ID_MAX + 1));
	assert_null(sysfast_event_name(UINT32_MAX));
	assert_no_error();
}

static void test_intern_when_not_initialized_is_system_error(void **state)
{
	sysfast_event_id known = sysfast_event_intern("test.uninit.known");

	(void)state;
	sysfast_fini();
	assert_int_equal(sysfast_event_intern("test.uninit.new"), 0);
	assert_error(sysfast_SystemError, "not initialized");
	assert_int_equal(sysfast_event_intern("test.uninit.known"), 0);
	assert_error(sysfast_SystemError, "not initialized");
	/* Lookups have no error to report and keep working. */
	assert_int_equal(sysfast_event_find("test.uninit.known"), known);
	assert_string_equal(sysfast_event_name(known), "test.uninit.known");
	assert_no_error();
	assert_int_equal(sysfast_init(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_names_get_dense_ids_after_the_count),
	    cmocka_unit_test(test_known_name_returns_same_id),
	    cmocka_unit_test(test_reused_buffer_interns_the_name_it_now_holds),
	    cmocka_unit_test(test_count_increments_by_one_per_new_name_only),
	    cmocka_unit_test(test_name_of_id_is_the_same_pointer_every_time),
	    cmocka_unit_test(test_ids_and_names_survive_fini_and_init),
	    cmocka_unit_test(test_find_of_interned_name_returns_its_id),
	    cmocka_unit_test(test_find_of_unknown_name_returns_zero_without_error),
	    cmocka_unit_test(test_find_of_invalid_name_returns_zero_without_error),
	    cmocka_unit_test(test_find_keeps_a_pending_error),
	    cmocka_unit_test(test_intern_of_null_name_is_value_error),
	    cmocka_unit_test(test_intern_of_empty_name_is_value_error),
	    cmocka_unit_test(test_intern_of_name_over_max_bytes_is_value_error),
	    cmocka_unit_test(test_intern_of_name_of_exactly_max_bytes_succeeds),
	    cmocka_unit_test(test_intern_of_invalid_utf8_is_value_error),
	    cmocka_unit_test(test_invalid_utf8_message_gives_byte_and_offset),
	    cmocka_unit_test(test_intern_of_valid_multibyte_utf8_succeeds),
	    cmocka_unit_test(test_name_of_invalid_id_is_null_without_error),
	    cmocka_unit_test(test_intern_when_not_initialized_is_system_error),
	};

	return cmocka_run_group_tests(tests, testutil_runtime_up, testutil_runtime_down);
}
