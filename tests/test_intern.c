/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Strings and interning (<sysfast/intern.h>): identity, mortality, the
 * reference counts of intern_in_place, argument errors, hashing and the
 * "str" type's __sizeof__, and what an allocation failure leaves behind
 * (through the allocation seam of the static library).
 *
 * The table is process-wide and every test drops every reference it takes,
 * so counts are measured relative to sysfast_intern_count() at a test's
 * start, and AddressSanitizer's leak check covers the strings too.
 *
 * The program doubles as its own helper: run with --print-hash it prints
 * the hash of a fixed string and exits, which lets a test compare hashes
 * across processes (see test_hash_is_keyed_per_process); with
 * --init-failing N it runs sysfast_init in a fresh process with its Nth
 * allocation failing (see test_init_fails_cleanly_at_each_allocation).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define PROBE "hash seed probe"

/* The huge-length tests need a failing malloc to return NULL, as libc's
 * and jemalloc's do, rather than the sanitizer to stop the program. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#ifdef TEST_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif
#ifdef TEST_TSAN
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

static int64_t str_sizeof(const sysfast_str *s)
{
	const sysfast_object *o = (const sysfast_object *)s;
	int64_t size = -1;

	assert_int_equal(o->type->sizeof_fn(o, &size), 0);
	return size;
}

/* Bytes of a string object in front of its data: __sizeof__ of "" less 1. */
static size_t str_header(void)
{
	sysfast_str *empty = sysfast_str_new(NULL, 0);
	int64_t size;

	assert_non_null(empty);
	size = str_sizeof(empty);
	sysfast_str_decref(empty);
	return (size_t)size - 1;
}

static void test_new_string_copies_bytes_and_is_not_interned(void **state)
{
	char buf[] = "hello";
	sysfast_str *s = sysfast_str_new(buf, 5);

	(void)state;
	assert_non_null(s);
	buf[0] = 'J';
	assert_string_equal(sysfast_str_data(s), "hello");
	assert_int_equal(sysfast_str_len(s), 5);
	assert_false(sysfast_str_is_interned(s));
	assert_no_error();
	sysfast_str_decref(s);
}

static void test_embedded_nuls_are_kept_and_data_ends_in_nul(void **state)
{
	static const char bytes[] = {'a', '\0', 'b', '\0', 'c'};
	sysfast_str *s = sysfast_str_new(bytes, sizeof(bytes));
	sysfast_str *i = sysfast_intern(bytes, sizeof(bytes));
	sysfast_str *prefix = sysfast_intern("a", 1);

	(void)state;
	assert_non_null(s);
	assert_non_null(i);
	assert_non_null(prefix);
	assert_int_equal(sysfast_str_len(s), 5);
	assert_memory_equal(sysfast_str_data(s), bytes, 5);
	assert_int_equal(sysfast_str_data(s)[5], '\0');
	assert_int_equal(sysfast_str_len(i), 5);
	assert_memory_equal(sysfast_str_data(i), bytes, 5);
	assert_int_equal(sysfast_str_data(i)[5], '\0');
	/* "a" and "a\0b\0c" are different strings. */
	assert_ptr_not_equal(prefix, i);
	assert_ptr_equal(sysfast_intern(bytes, sizeof(bytes)), i);
	sysfast_str_decref(i);
	sysfast_str_decref(i);
	sysfast_str_decref(prefix);
	sysfast_str_decref(s);
}

static void test_null_with_zero_length_is_the_empty_string(void **state)
{
	sysfast_str *n = sysfast_str_new(NULL, 0);
	sysfast_str *e = sysfast_intern(NULL, 0);
	sysfast_str *c = sysfast_intern_cstr("");
	sysfast_str *f = sysfast_intern_find(NULL, 0);

	(void)state;
	assert_non_null(n);
	assert_string_equal(sysfast_str_data(n), "");
	assert_int_equal(sysfast_str_len(n), 0);
	assert_non_null(e);
	assert_int_equal(sysfast_str_len(e), 0);
	assert_int_equal(sysfast_str_data(e)[0], '\0');
	assert_ptr_equal(c, e);
	assert_ptr_equal(f, e);
	assert_int_equal(sysfast_str_hash(n), sysfast_str_hash(e));
	assert_no_error();
	sysfast_str_decref(f);
	sysfast_str_decref(c);
	sysfast_str_decref(e);
	sysfast_str_decref(n);
	assert_null(sysfast_intern_find("", 0));
}

static void test_null_with_positive_length_is_value_error(void **state)
{
	size_t count = sysfast_intern_count();

	(void)state;
	assert_null(sysfast_str_new(NULL, 1));
	assert_error(sysfast_ValueError, "NULL");
	assert_null(sysfast_intern(NULL, 3));
	assert_error(sysfast_ValueError, "NULL");
	assert_null(sysfast_intern_find(NULL, 3));
	assert_error(sysfast_ValueError, "NULL");
	/* NULL is checked before the size. */
	assert_null(sysfast_intern(NULL, SIZE_MAX));
	assert_error(sysfast_ValueError, "NULL");
	assert_int_equal(sysfast_intern_count(), count);
}

static void test_length_whose_size_overflows_is_overflow_error(void **state)
{
	/* A one-byte buffer: reading past it is caught by AddressSanitizer,
	 * so these also prove the size is checked before the bytes are read. */
	char *one = malloc(1);
	size_t first_overflow = SIZE_MAX - str_header();
	const size_t lens[] = {SIZE_MAX, SIZE_MAX - 1, first_overflow};

	(void)state;
	assert_non_null(one);
	one[0] = 'x';
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_null(sysfast_str_new(one, lens[i]));
		assert_error(sysfast_OverflowError, NULL);
		assert_null(sysfast_intern(one, lens[i]));
		assert_error(sysfast_OverflowError, NULL);
		assert_null(sysfast_intern_find(one, lens[i]));
		assert_error(sysfast_OverflowError, NULL);
	}
	free(one);
}

static void test_length_that_cannot_be_allocated_is_memory_error(void **state)
{
	char *one = malloc(1);
	/* The largest length whose size still fits in size_t, and lengths
	 * past PTRDIFF_MAX: no allocator can give that much. */
	const size_t lens[] = {SIZE_MAX - str_header() - 1, (size_t)PTRDIFF_MAX + 1,
	                       (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX - str_header()};

	(void)state;
	assert_non_null(one);
	one[0] = 'x';
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_null(sysfast_str_new(one, lens[i]));
		assert_error(sysfast_MemoryError, NULL);
		assert_null(sysfast_intern(one, lens[i]));
		assert_error(sysfast_MemoryError, NULL);
		assert_null(sysfast_intern_find(one, lens[i]));
		assert_error(sysfast_MemoryError, NULL);
	}
	free(one);
}

static void
test_length_that_passes_the_size_checks_but_cannot_be_allocated_is_memory_error(void **state)
{
	/* Lengths under PTRDIFF_MAX that no allocator can give, with a
	 * one-byte buffer: hashing or copying before allocating would read
	 * far past it (a crash, or AddressSanitizer's report). */
	char *one = malloc(1);
	const size_t lens[] = {(size_t)1 << 62, (size_t)PTRDIFF_MAX - 200};
	size_t count = sysfast_intern_count();

	(void)state;
	assert_non_null(one);
	one[0] = 'x';
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_null(sysfast_str_new(one, lens[i]));
		assert_error(sysfast_MemoryError, "cannot allocate");
		assert_null(sysfast_intern(one, lens[i]));
		assert_error(sysfast_MemoryError, "cannot allocate");
		/* Longer than any string interned: not there, nothing read. */
		assert_null(sysfast_intern_find(one, lens[i]));
		assert_no_error();
	}
	assert_int_equal(sysfast_intern_count(), count);
	free(one);
}

static void test_a_string_longer_than_any_before_is_interned_and_found(void **state)
{
	enum { LONG = 10000 };
	char *bytes = malloc(LONG);
	sysfast_str *s, *again, *found;

	(void)state;
	assert_non_null(bytes);
	for (size_t i = 0; i < LONG; i++)
		bytes[i] = (char)('a' + i % 26);
	assert_null(sysfast_intern_find(bytes, LONG));
	assert_no_error();
	s = sysfast_intern(bytes, LONG);
	assert_non_null(s);
	again = sysfast_intern(bytes, LONG);
	found = sysfast_intern_find(bytes, LONG);
	assert_ptr_equal(again, s);
	assert_ptr_equal(found, s);
	/* A shorter prefix is another string. */
	assert_null(sysfast_intern_find(bytes, LONG - 1));
	sysfast_str_decref(found);
	sysfast_str_decref(again);
	sysfast_str_decref(s);
	free(bytes);
}

static void test_intern_cstr_of_null_is_value_error(void **state)
{
	(void)state;
	assert_null(sysfast_intern_cstr(NULL));
	assert_error(sysfast_ValueError, "NULL");
}

static void test_intern_cstr_interns_the_bytes_before_the_nul(void **state)
{
	sysfast_str *c = sysfast_intern_cstr("test.cstr");
	sysfast_str *n = sysfast_intern("test.cstr", 9);

	(void)state;
	assert_non_null(c);
	assert_ptr_equal(c, n);
	assert_int_equal(sysfast_str_len(c), 9);
	sysfast_str_decref(n);
	sysfast_str_decref(c);
}

static void test_interns_of_equal_bytes_return_the_same_pointer(void **state)
{
	char a[] = "test.identity";
	char b[] = "test.identity";
	sysfast_str *x = sysfast_intern(a, strlen(a));
	sysfast_str *y = sysfast_intern(b, strlen(b));
	sysfast_str *z = sysfast_intern_cstr("test.identity");
	sysfast_str *other = sysfast_intern_cstr("test.identitY");

	(void)state;
	assert_non_null(x);
	assert_ptr_equal(x, y);
	assert_ptr_equal(x, z);
	assert_ptr_not_equal(x, other);
	assert_true(sysfast_str_is_interned(x));
	assert_string_equal(sysfast_str_data(x), "test.identity");
	sysfast_str_decref(other);
	sysfast_str_decref(z);
	sysfast_str_decref(y);
	sysfast_str_decref(x);
}

static void test_each_intern_returns_a_new_reference(void **state)
{
	sysfast_str *a = sysfast_intern_cstr("test.refs");
	sysfast_str *b = sysfast_intern_cstr("test.refs");
	sysfast_str *f;

	(void)state;
	assert_ptr_equal(a, b);
	sysfast_str_decref(a);
	/* One reference left: still interned, still found. */
	f = sysfast_intern_find("test.refs", 9);
	assert_ptr_equal(f, b);
	sysfast_str_decref(f);
	sysfast_str_decref(b);
	assert_null(sysfast_intern_find("test.refs", 9));
	assert_no_error();
}

static void test_incref_keeps_an_interned_string_alive(void **state)
{
	sysfast_str *s = sysfast_intern_cstr("test.incref");

	(void)state;
	assert_ptr_equal(sysfast_str_incref(s), s);
	sysfast_str_decref(s);
	assert_ptr_equal(sysfast_intern_cstr("test.incref"), s);
	sysfast_str_decref(s);
	sysfast_str_decref(s);
	assert_null(sysfast_intern_find("test.incref", 11));
}

static void test_last_decref_removes_the_string_and_a_later_intern_is_live(void **state)
{
	size_t count = sysfast_intern_count();
	sysfast_str *s = sysfast_intern_cstr("test.mortal");
	sysfast_str *again;

	(void)state;
	assert_int_equal(sysfast_intern_count(), count + 1);
	sysfast_str_decref(s);
	assert_null(sysfast_intern_find("test.mortal", 11));
	assert_no_error();
	assert_int_equal(sysfast_intern_count(), count);

	again = sysfast_intern_cstr("test.mortal");
	assert_non_null(again);
	assert_true(sysfast_str_is_interned(again));
	assert_string_equal(sysfast_str_data(again), "test.mortal");
	assert_int_equal(sysfast_intern_count(), count + 1);
	assert_ptr_equal(sysfast_intern_find("test.mortal", 11), again);
	sysfast_str_decref(again);
	sysfast_str_decref(again);
	assert_int_equal(sysfast_intern_count(), count);
}

static void test_find_of_string_never_interned_is_null_without_error(void **state)
{
	size_t count = sysfast_intern_count();
	sysfast_str *plain = sysfast_str_new("test.find.plain", 15);

	(void)state;
	assert_null(sysfast_intern_find("test.find.never", 15));
	assert_no_error();
	/* An equal string that is not interned is not found, and find does
	 * not insert. */
	assert_null(sysfast_intern_find("test.find.plain", 15));
	assert_no_error();
	assert_int_equal(sysfast_intern_count(), count);
	assert_false(sysfast_str_is_interned(plain));
	sysfast_str_decref(plain);
}

static void test_find_returns_a_new_reference(void **state)
{
	sysfast_str *s = sysfast_intern_cstr("test.find.ref");
	sysfast_str *f = sysfast_intern_find("test.find.ref", 13);

	(void)state;
	assert_ptr_equal(f, s);
	sysfast_str_decref(s);
	assert_ptr_equal(sysfast_intern_find("test.find.ref", 13), f);
	sysfast_str_decref(f);
	sysfast_str_decref(f);
	assert_null(sysfast_intern_find("test.find.ref", 13));
}

static void test_in_place_without_canonical_makes_the_string_itself_canonical(void **state)
{
	size_t count = sysfast_intern_count();
	sysfast_str *s = sysfast_str_new("test.inplace.first", 18);
	sysfast_str *orig = s;
	sysfast_str *again;

	(void)state;
	assert_int_equal(sysfast_intern_in_place(&s), 0);
	assert_ptr_equal(s, orig);
	assert_true(sysfast_str_is_interned(s));
	assert_int_equal(sysfast_intern_count(), count + 1);
	again = sysfast_intern("test.inplace.first", 18);
	assert_ptr_equal(again, s);
	sysfast_str_decref(again);
	/* The caller still owns exactly one reference. */
	sysfast_str_decref(s);
	assert_null(sysfast_intern_find("test.inplace.first", 18));
	assert_int_equal(sysfast_intern_count(), count);
}

static void test_in_place_with_canonical_replaces_and_transfers_the_reference(void **state)
{
	sysfast_str *canon = sysfast_intern_cstr("test.inplace.second");
	sysfast_str *s = sysfast_str_new("test.inplace.second", 19);
	sysfast_str *other = sysfast_str_incref(s); /* someone else's reference */

	(void)state;
	assert_int_equal(sysfast_intern_in_place(&s), 0);
	assert_ptr_equal(s, canon);
	/* The original lost the caller's reference but not other's. */
	assert_false(sysfast_str_is_interned(other));
	assert_string_equal(sysfast_str_data(other), "test.inplace.second");
	sysfast_str_decref(other); /* frees it: a leak or double free shows in ASan */

	/* canon now has two references: the one from intern, and *p. */
	sysfast_str_decref(canon);
	assert_ptr_equal(sysfast_intern_find("test.inplace.second", 19), s);
	sysfast_str_decref(s);
	sysfast_str_decref(s);
	assert_null(sysfast_intern_find("test.inplace.second", 19));
}

static void test_in_place_of_an_interned_string_leaves_it(void **state)
{
	sysfast_str *s = sysfast_intern_cstr("test.inplace.third");
	sysfast_str *p = s;

	(void)state;
	assert_int_equal(sysfast_intern_in_place(&p), 0);
	assert_ptr_equal(p, s);
	sysfast_str_decref(p);
	assert_null(sysfast_intern_find("test.inplace.third", 18));
}

static void test_in_place_of_null_or_null_pointee_is_value_error(void **state)
{
	sysfast_str *null = NULL;

	(void)state;
	assert_int_equal(sysfast_intern_in_place(NULL), -1);
	assert_error(sysfast_ValueError, "p is NULL");
	assert_int_equal(sysfast_intern_in_place(&null), -1);
	assert_error(sysfast_ValueError, "*p is NULL");
	assert_null(null);
}

static void test_null_string_accessors_return_neutral_values(void **state)
{
	(void)state;
	assert_null(sysfast_str_data(NULL));
	assert_int_equal(sysfast_str_len(NULL), 0);
	assert_int_equal(sysfast_str_hash(NULL), 0);
	assert_false(sysfast_str_is_interned(NULL));
	assert_null(sysfast_str_incref(NULL));
	sysfast_str_decref(NULL);
	assert_no_error();
}

static void test_count_counts_live_interned_strings_only(void **state)
{
	size_t count = sysfast_intern_count();
	sysfast_str *a = sysfast_intern_cstr("test.count.a");
	sysfast_str *a2 = sysfast_intern_cstr("test.count.a");
	sysfast_str *b = sysfast_intern_cstr("test.count.b");
	sysfast_str *plain = sysfast_str_new("test.count.c", 12);

	(void)state;
	assert_int_equal(sysfast_intern_count(), count + 2);
	sysfast_str_decref(a2);
	assert_int_equal(sysfast_intern_count(), count + 2);
	sysfast_str_decref(a);
	assert_int_equal(sysfast_intern_count(), count + 1);
	sysfast_str_decref(b);
	sysfast_str_decref(plain);
	assert_int_equal(sysfast_intern_count(), count);
}

static void test_many_strings_grow_the_table_and_stay_findable(void **state)
{
	enum { N = 3000 }; /* several doublings of the 256 initial buckets */
	sysfast_str **s = calloc(N, sizeof(*s));
	size_t count = sysfast_intern_count();
	char name[32];

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "test.grow.%d", i);
		s[i] = sysfast_intern_cstr(name);
		assert_non_null(s[i]);
	}
	assert_int_equal(sysfast_intern_count(), count + N);
	for (int i = 0; i < N; i++) {
		sysfast_str *f;

		snprintf(name, sizeof(name), "test.grow.%d", i);
		f = sysfast_intern_find(name, strlen(name));
		assert_ptr_equal(f, s[i]);
		sysfast_str_decref(f);
	}
	for (int i = 0; i < N; i++)
		sysfast_str_decref(s[i]);
	assert_int_equal(sysfast_intern_count(), count);
	assert_null(sysfast_intern_find("test.grow.7", 11));
	free(s);
}

static void test_equal_bytes_hash_equal_and_different_bytes_differ(void **state)
{
	sysfast_str *plain = sysfast_str_new("test.hash", 9);
	sysfast_str *interned = sysfast_intern("test.hash", 9);
	sysfast_str *nul_b = sysfast_str_new("x\0b", 3);
	sysfast_str *nul_c = sysfast_str_new("x\0c", 3);

	(void)state;
	assert_int_equal(sysfast_str_hash(plain), sysfast_str_hash(interned));
	/* Different bytes, also past an embedded NUL, hash differently (a
	 * 64-bit collision here would be a 2^-64 event, not flakiness). */
	assert_int_not_equal(sysfast_str_hash(plain), sysfast_str_hash(nul_b));
	assert_int_not_equal(sysfast_str_hash(nul_b), sysfast_str_hash(nul_c));
	sysfast_str_decref(nul_c);
	sysfast_str_decref(nul_b);
	sysfast_str_decref(interned);
	sysfast_str_decref(plain);
}

/* This program's hash of PROBE, computed by a fresh process. */
static uint64_t hash_in_child(void)
{
	char self[4096], cmd[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	unsigned long long h = 0;
	FILE *child;

	assert_true(n > 0);
	self[n] = '\0';
	assert_null(strchr(self, '\''));
	snprintf(cmd, sizeof(cmd), "'%s' --print-hash", self);
	child = popen(cmd, "r");
	assert_non_null(child);
	assert_int_equal(fscanf(child, "%llu", &h), 1);
	assert_int_equal(pclose(child), 0);
	return (uint64_t)h;
}

static void test_hash_is_keyed_per_process(void **state)
{
	/* The same bytes in three processes: with a per-process random seed
	 * the three 64-bit hashes are pairwise different except with
	 * probability about 3 * 2^-64, so this cannot flake; with a fixed or
	 * missing seed they are always equal. */
	sysfast_str *s = sysfast_str_new(PROBE, strlen(PROBE));
	uint64_t mine = sysfast_str_hash(s);
	uint64_t one = hash_in_child();
	uint64_t two = hash_in_child();

	(void)state;
	assert_int_not_equal(mine, one);
	assert_int_not_equal(mine, two);
	assert_int_not_equal(one, two);
	sysfast_str_decref(s);
}

static void test_str_is_an_object_of_type_str(void **state)
{
	sysfast_str *s = sysfast_str_new("abc", 3);
	const sysfast_object *o = (const sysfast_object *)s;

	(void)state;
	assert_non_null(o->type);
	assert_string_equal(o->type->name, "str");
	assert_int_equal(o->type->flags & SYSFAST_TYPE_GC, 0);
	assert_null(o->type->traverse);
	assert_non_null(o->type->sizeof_fn);
	sysfast_str_decref(s);
}

static void test_sizeof_is_header_plus_length_plus_one(void **state)
{
	sysfast_str *e = sysfast_str_new(NULL, 0);
	sysfast_str *abc = sysfast_str_new("abc", 3);
	sysfast_str *nul = sysfast_intern("a\0b\0", 4);
	int64_t header;

	(void)state;
	header = str_sizeof(e) - 1;
	/* The header holds at least the object's type pointer. */
	assert_true(header >= (int64_t)sizeof(sysfast_object));
	assert_int_equal(str_sizeof(abc), header + 3 + 1);
	assert_int_equal(str_sizeof(nul), header + 4 + 1);
	sysfast_str_decref(nul);
	sysfast_str_decref(abc);
	sysfast_str_decref(e);
}

/* Through object.h, as a user would size a string: getsizeof reports what
 * the type's sizeof_fn does (str is not a GC type), and a string refers to
 * nothing, so deepsizeof is the same. */
static void test_getsizeof_and_deepsizeof_of_a_string(void **state)
{
	sysfast_str *s = sysfast_intern("getsizeof me", 12);
	size_t size = 0, deep = 0;

	(void)state;
	assert_non_null(s);
	assert_int_equal(sysfast_getsizeof((const sysfast_object *)s, &size), 0);
	assert_int_equal(size, str_header() + 12 + 1);
	assert_int_equal(sysfast_deepsizeof((const sysfast_object *)s, &deep), 0);
	assert_int_equal(deep, size);
	assert_no_error();
	sysfast_str_decref(s);
}

static void test_sizeof_with_null_size_is_value_error(void **state)
{
	sysfast_str *s = sysfast_str_new("abc", 3);
	const sysfast_object *o = (const sysfast_object *)s;

	(void)state;
	assert_int_equal(o->type->sizeof_fn(o, NULL), -1);
	assert_error(sysfast_ValueError, NULL);
	sysfast_str_decref(s);
}

static int hook_interns(sysfast_event_id event, const char *name, const sysfast_args *args,
                        void *userdata)
{
	sysfast_str *s = sysfast_intern_cstr(args->items[0].v.s);
	sysfast_str *f = sysfast_intern_find(args->items[0].v.s, args->items[0].len);

	(void)event, (void)name;
	if (!s || f != s)
		return -1;
	*(sysfast_str **)userdata = s;
	sysfast_str_decref(f);
	return 0;
}

static void test_intern_and_last_decref_inside_an_audit_hook(void **state)
{
	/* A hook runs inside an RCU read-side critical section: interning a
	 * new string there and dropping the last reference must neither
	 * deadlock nor wait for a grace period. */
	static const char *const only[] = {"test.intern.in_hook"};
	const sysfast_hook_options opts = {0, only, 1};
	sysfast_str *got = NULL;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook_ex(hook_interns, &got, &opts), 0);
	assert_int_equal(sysfast_audit("test.intern.in_hook", "s", "test.hooked"), 0);
	assert_non_null(got);
	assert_ptr_equal(sysfast_intern_find("test.hooked", 11), got);
	sysfast_str_decref(got);
	sysfast_str_decref(got);
	assert_null(sysfast_intern_find("test.hooked", 11));
	assert_no_error();
}

static void test_creating_and_finding_need_the_runtime(void **state)
{
	sysfast_str *kept = sysfast_intern_cstr("test.fini.kept");
	sysfast_str *plain = sysfast_str_new("test.fini.plain", 15);
	sysfast_str *p = plain;
	size_t count = sysfast_intern_count();
	sysfast_str *again;

	(void)state;
	sysfast_fini();
	assert_null(sysfast_str_new("x", 1));
	assert_error(sysfast_SystemError, "not initialized");
	assert_null(sysfast_intern("x", 1));
	assert_error(sysfast_SystemError, "not initialized");
	assert_null(sysfast_intern_cstr(NULL));
	assert_error(sysfast_SystemError, "not initialized");
	assert_null(sysfast_intern_find("test.fini.kept", 14));
	assert_error(sysfast_SystemError, "not initialized");
	assert_int_equal(sysfast_intern_in_place(&p), -1);
	assert_error(sysfast_SystemError, "not initialized");
	assert_ptr_equal(p, plain);

	/* Strings the user holds stay valid, and the functions on them work. */
	assert_string_equal(sysfast_str_data(kept), "test.fini.kept");
	assert_true(sysfast_str_is_interned(kept));
	assert_int_equal(sysfast_intern_count(), count);
	assert_ptr_equal(sysfast_str_incref(kept), kept);
	sysfast_str_decref(kept);
	sysfast_str_decref(plain);

	/* The table outlives fini: the held string is still canonical. */
	assert_int_equal(sysfast_init(), 0);
	again = sysfast_intern_cstr("test.fini.kept");
	assert_ptr_equal(again, kept);
	sysfast_str_decref(again);
	sysfast_str_decref(kept);
	assert_null(sysfast_intern_find("test.fini.kept", 14));
	assert_no_error();
}

/* ---- allocation failures ---- */

/* Blocks the library holds once every string handed to call_rcu is
 * freed. Counted from the first sysfast__alloc_fault_set on. */
static long live_blocks(void)
{
	testutil_deferred_frees_wait();
	return sysfast__alloc_stats().live_blocks;
}

/*
 * Calls make(bytes, len) with its 1st, 2nd, ... allocation failing until
 * a call succeeds. Each failed call must give NULL with
 * sysfast_MemoryError and leave the intern count, the table (the bytes
 * are not found) and the library's blocks as they were; the call that
 * succeeds then behaves as a first try. Returns how many calls failed.
 */
static unsigned long fail_each_allocation(sysfast_str *(*make)(const char *, size_t),
                                          const char *bytes, size_t len)
{
	size_t count = sysfast_intern_count();
	unsigned long nth;
	sysfast_str *s;
	long blocks;

	sysfast__alloc_fault_set(0, false);
	blocks = live_blocks();
	for (nth = 1;; nth++) {
		sysfast__alloc_fault_set(nth, false);
		s = make(bytes, len);
		sysfast__alloc_fault_clear();
		if (s)
			break;
		assert_error(sysfast_MemoryError, NULL);
		assert_int_equal(sysfast_intern_count(), count);
		assert_null(sysfast_intern_find(bytes, len));
		assert_no_error();
		assert_int_equal(live_blocks(), blocks);
	}
	assert_int_equal(sysfast_str_len(s), len);
	assert_memory_equal(sysfast_str_data(s), bytes, len);
	sysfast_str_decref(s);
	assert_int_equal(sysfast_intern_count(), count);
	assert_int_equal(live_blocks(), blocks);
	return nth - 1;
}

static sysfast_str *intern_cstr_of(const char *bytes, size_t len)
{
	(void)len;
	return sysfast_intern_cstr(bytes);
}

static void test_failed_intern_of_new_bytes_leaves_everything_as_it_was(void **state)
{
	(void)state;
	assert_int_equal(fail_each_allocation(sysfast_intern, "test.oom.intern", 15), 1);
	assert_int_equal(fail_each_allocation(intern_cstr_of, "test.oom.cstr", 13), 1);
}

static void test_failed_intern_longer_than_any_before_leaves_everything_as_it_was(void **state)
{
	enum { LONG = 20000 };
	char *bytes = malloc(LONG);

	(void)state;
	assert_non_null(bytes);
	memset(bytes, 'L', LONG);
	assert_int_equal(fail_each_allocation(sysfast_intern, bytes, LONG), 1);
	free(bytes);
}

static void test_failed_str_new_leaves_everything_as_it_was(void **state)
{
	(void)state;
	assert_int_equal(fail_each_allocation(sysfast_str_new, "test.oom.new", 12), 1);
}

static void test_known_strings_intern_find_and_intern_in_place_without_allocating(void **state)
{
	sysfast_str *canon = sysfast_intern_cstr("test.oom.known");
	sysfast_str *plain = sysfast_str_new("test.oom.known", 14);
	sysfast_str *lone = sysfast_str_new("test.oom.lone", 13);
	size_t count = sysfast_intern_count();
	sysfast_str *again, *found;
	sysfast_str *p = plain, *q = lone;

	(void)state;
	assert_non_null(canon);
	assert_non_null(plain);
	assert_non_null(lone);
	/* Every allocation from here fails: none is made. */
	sysfast__alloc_fault_set(1, true);
	again = sysfast_intern("test.oom.known", 14);
	found = sysfast_intern_find("test.oom.known", 14);
	assert_null(sysfast_intern_find("test.oom.absent", 15));
	assert_int_equal(sysfast_intern_in_place(&p), 0);
	assert_int_equal(sysfast_intern_in_place(&q), 0);
	assert_int_equal(sysfast__alloc_stats().attempts, 0);
	sysfast__alloc_fault_clear();
	assert_no_error();
	assert_ptr_equal(again, canon);
	assert_ptr_equal(found, canon);
	assert_ptr_equal(p, canon);
	assert_ptr_equal(q, lone);
	assert_true(sysfast_str_is_interned(lone));
	assert_int_equal(sysfast_intern_count(), count + 1);
	sysfast_str_decref(q);
	sysfast_str_decref(p);
	sysfast_str_decref(found);
	sysfast_str_decref(again);
	sysfast_str_decref(canon);
}

/* Interns "test.slots.<i>" (a name no other test uses), counting and
 * checking the injected failures: nth as sysfast__alloc_fault_set takes
 * it, 0 for none. */
static sysfast_str *intern_numbered(unsigned i, unsigned long fail_nth)
{
	char name[40];
	sysfast_str *s;

	snprintf(name, sizeof(name), "test.slots.%u", i);
	if (fail_nth)
		sysfast__alloc_fault_set(fail_nth, false);
	s = sysfast_intern_cstr(name);
	sysfast__alloc_fault_clear();
	return s;
}

static void assert_numbered_found(sysfast_str *const *held, unsigned n)
{
	char name[40];

	for (unsigned i = 0; i < n; i++) {
		sysfast_str *f;

		snprintf(name, sizeof(name), "test.slots.%u", i);
		f = sysfast_intern_find(name, strlen(name));
		assert_ptr_equal(f, held[i]);
		sysfast_str_decref(f);
	}
}

static void test_growth_that_cannot_allocate_leaves_the_insert_in_the_old_array(void **state)
{
	enum { MAX = 1 << 16 };
	sysfast_str **held = calloc(MAX, sizeof(*held));
	size_t count = sysfast_intern_count();
	struct sysfast__intern_stats before, after;
	unsigned n = 0;

	(void)state;
	assert_non_null(held);
	/* Interns new strings, each with its second allocation (the bigger
	 * array, the first being the string) failing, until one of them
	 * needed the table to grow: that one must still be interned, in the
	 * old array. */
	for (;; n++) {
		assert_true(n < MAX);
		before = sysfast__intern_stats();
		held[n] = intern_numbered(n, 2);
		assert_non_null(held[n]);
		if (sysfast__alloc_stats().failures == 1)
			break;
		assert_int_equal(sysfast__alloc_stats().attempts, 1);
	}
	n++;
	assert_no_error();
	after = sysfast__intern_stats();
	assert_int_equal(after.slots, before.slots);
	assert_int_equal(after.used, before.used + 1);
	assert_true(after.used > after.slots / 4 * 3);
	assert_true(sysfast_str_is_interned(held[n - 1]));
	assert_int_equal(sysfast_intern_count(), count + n);
	assert_numbered_found(held, n);

	/* The next insert grows it, the strings moving to the new array. */
	held[n] = intern_numbered(n, 0);
	assert_non_null(held[n]);
	n++;
	after = sysfast__intern_stats();
	assert_true(after.slots > before.slots);
	assert_true(after.used <= after.slots / 2);
	assert_int_equal(after.live, count + n);
	assert_numbered_found(held, n);
	for (unsigned i = 0; i < n; i++)
		sysfast_str_decref(held[i]);
	assert_int_equal(sysfast_intern_count(), count);
	free(held);
}

static void test_a_full_table_that_cannot_grow_fails_cleanly_and_changes_nothing(void **state)
{
	enum { MAX = 1 << 18 };
	sysfast_str **held = calloc(MAX, sizeof(*held));
	size_t count = sysfast_intern_count();
	struct sysfast__intern_stats st, after;
	sysfast_str *plain, *p, *again;
	unsigned n;
	long blocks;

	(void)state;
	assert_non_null(held);
	/* Every growth fails: the array fills up to its last empty slot. */
	for (n = 0;; n++) {
		assert_true(n < MAX);
		held[n] = intern_numbered(n, 2);
		if (!held[n])
			break;
	}
	assert_error(sysfast_MemoryError,
	             "out of memory: the intern table is full and cannot grow");
	st = sysfast__intern_stats();
	assert_int_equal(st.used, st.slots - 1);
	assert_int_equal(sysfast_intern_count(), count + n);
	assert_null(sysfast_intern_find("test.slots.full", 15));
	assert_no_error();

	/* Nothing changed by a failed intern: no string, no block. */
	sysfast__alloc_fault_set(0, false);
	blocks = live_blocks();
	assert_null(intern_numbered(n, 2));
	assert_error(sysfast_MemoryError, NULL);
	assert_int_equal(live_blocks(), blocks);
	assert_int_equal(sysfast_intern_count(), count + n);
	after = sysfast__intern_stats();
	assert_int_equal(after.slots, st.slots);
	assert_int_equal(after.used, st.used);
	assert_int_equal(after.live, st.live);

	/* Nor by a failed intern_in_place: *p is the caller's string still. */
	plain = sysfast_str_new("test.slots.plain", 16);
	assert_non_null(plain);
	p = plain;
	sysfast__alloc_fault_set(1, false);
	assert_int_equal(sysfast_intern_in_place(&p), -1);
	sysfast__alloc_fault_clear();
	assert_error(sysfast_MemoryError, NULL);
	assert_ptr_equal(p, plain);
	assert_false(sysfast_str_is_interned(plain));
	assert_null(sysfast_intern_find("test.slots.plain", 16));
	assert_no_error();

	/* Known strings are found without allocating, full or not. */
	sysfast__alloc_fault_set(1, true);
	again = sysfast_intern_cstr("test.slots.0");
	sysfast__alloc_fault_clear();
	assert_ptr_equal(again, held[0]);
	sysfast_str_decref(again);

	/* Memory back: the in-place intern grows the table and succeeds. */
	assert_int_equal(sysfast_intern_in_place(&p), 0);
	assert_ptr_equal(p, plain);
	assert_true(sysfast_str_is_interned(plain));
	st = sysfast__intern_stats();
	assert_true(st.used <= st.slots / 2);
	assert_numbered_found(held, n);
	sysfast_str_decref(p);
	for (unsigned i = 0; i < n; i++)
		sysfast_str_decref(held[i]);
	assert_int_equal(sysfast_intern_count(), count);
	free(held);
}

/* What `self --init-failing nth` printed: "ok", or "failed: MESSAGE". */
static void init_failing_in_child(unsigned long nth, char *out, size_t size)
{
	char self[4096], cmd[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *child;

	assert_true(n > 0);
	self[n] = '\0';
	assert_null(strchr(self, '\''));
	snprintf(cmd, sizeof(cmd), "'%s' --init-failing %lu", self, nth);
	child = popen(cmd, "r");
	assert_non_null(child);
	assert_non_null(fgets(out, (int)size, child));
	assert_int_equal(pclose(child), 0);
}

static void test_init_fails_cleanly_at_each_allocation(void **state)
{
	/* Each in a fresh process, as init's failures are counted from the
	 * first allocation of the process. The intern table starts static:
	 * no failure of init comes from it. */
	bool table_failed = false;
	unsigned long nth;
	char line[512];

	(void)state;
	for (nth = 1; nth < 100; nth++) {
		init_failing_in_child(nth, line, sizeof(line));
		if (strcmp(line, "ok\n") == 0)
			break;
		assert_true(strncmp(line, "failed: ", 8) == 0);
		if (strstr(line, "intern table"))
			table_failed = true;
	}
	assert_true(nth > 1 && nth < 100);
	assert_false(table_failed);
}

/* --init-failing nth: sysfast_init with its nth allocation failing must
 * fail with MemoryError and leave a runtime that a retry brings up. */
static int init_failing(unsigned long nth)
{
	sysfast_str *s;
	int rc;

	sysfast__alloc_fault_set(nth, false);
	rc = sysfast_init();
	sysfast__alloc_fault_clear();
	if (rc == 0) {
		printf("ok\n");
		sysfast_fini();
		return 0;
	}
	if (!sysfast_err_matches(sysfast_MemoryError) || sysfast_is_initialized())
		return 1;
	printf("failed: %s\n", sysfast_err_message());
	sysfast_err_clear();
	if (sysfast_init() < 0)
		return 1;
	s = sysfast_intern_cstr("test.init.retry");
	if (!s)
		return 1;
	sysfast_str_decref(s);
	sysfast_fini();
	return 0;
}

static int print_hash(void)
{
	sysfast_str *s;

	if (sysfast_init() < 0)
		return 1;
	s = sysfast_str_new(PROBE, strlen(PROBE));
	if (!s)
		return 1;
	printf("%" PRIu64 "\n", sysfast_str_hash(s));
	sysfast_str_decref(s);
	sysfast_fini();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_string_copies_bytes_and_is_not_interned),
	    cmocka_unit_test(test_embedded_nuls_are_kept_and_data_ends_in_nul),
	    cmocka_unit_test(test_null_with_zero_length_is_the_empty_string),
	    cmocka_unit_test(test_null_with_positive_length_is_value_error),
	    cmocka_unit_test(test_length_whose_size_overflows_is_overflow_error),
	    cmocka_unit_test(test_length_that_cannot_be_allocated_is_memory_error),
	    cmocka_unit_test(
	        test_length_that_passes_the_size_checks_but_cannot_be_allocated_is_memory_error),
	    cmocka_unit_test(test_a_string_longer_than_any_before_is_interned_and_found),
	    cmocka_unit_test(test_intern_cstr_of_null_is_value_error),
	    cmocka_unit_test(test_intern_cstr_interns_the_bytes_before_the_nul),
	    cmocka_unit_test(test_interns_of_equal_bytes_return_the_same_pointer),
	    cmocka_unit_test(test_each_intern_returns_a_new_reference),
	    cmocka_unit_test(test_incref_keeps_an_interned_string_alive),
	    cmocka_unit_test(test_last_decref_removes_the_string_and_a_later_intern_is_live),
	    cmocka_unit_test(test_find_of_string_never_interned_is_null_without_error),
	    cmocka_unit_test(test_find_returns_a_new_reference),
	    cmocka_unit_test(test_in_place_without_canonical_makes_the_string_itself_canonical),
	    cmocka_unit_test(test_in_place_with_canonical_replaces_and_transfers_the_reference),
	    cmocka_unit_test(test_in_place_of_an_interned_string_leaves_it),
	    cmocka_unit_test(test_in_place_of_null_or_null_pointee_is_value_error),
	    cmocka_unit_test(test_null_string_accessors_return_neutral_values),
	    cmocka_unit_test(test_count_counts_live_interned_strings_only),
	    cmocka_unit_test(test_many_strings_grow_the_table_and_stay_findable),
	    cmocka_unit_test(test_equal_bytes_hash_equal_and_different_bytes_differ),
	    cmocka_unit_test(test_hash_is_keyed_per_process),
	    cmocka_unit_test(test_str_is_an_object_of_type_str),
	    cmocka_unit_test(test_sizeof_is_header_plus_length_plus_one),
	    cmocka_unit_test(test_getsizeof_and_deepsizeof_of_a_string),
	    cmocka_unit_test(test_sizeof_with_null_size_is_value_error),
	    cmocka_unit_test(test_intern_and_last_decref_inside_an_audit_hook),
	    cmocka_unit_test(test_creating_and_finding_need_the_runtime),
	    cmocka_unit_test(test_failed_intern_of_new_bytes_leaves_everything_as_it_was),
	    cmocka_unit_test(test_failed_intern_longer_than_any_before_leaves_everything_as_it_was),
	    cmocka_unit_test(test_failed_str_new_leaves_everything_as_it_was),
	    cmocka_unit_test(test_known_strings_intern_find_and_intern_in_place_without_allocating),
	    cmocka_unit_test(test_growth_that_cannot_allocate_leaves_the_insert_in_the_old_array),
	    cmocka_unit_test(test_a_full_table_that_cannot_grow_fails_cleanly_and_changes_nothing),
	    cmocka_unit_test(test_init_fails_cleanly_at_each_allocation),
	};

	if (argc == 2 && strcmp(argv[1], "--print-hash") == 0)
		return print_hash();
	if (argc == 3 && strcmp(argv[1], "--init-failing") == 0)
		return init_failing(strtoul(argv[2], NULL, 10));
	return cmocka_run_group_tests(tests, testutil_runtime_up, testutil_runtime_down);
}
