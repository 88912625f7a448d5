/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Argument tuples: the constructors in <sysfast/args.h> and the audit format
 * parser (core/src/args.c), called directly with a va_list. Each test name
 * states one rule of the format language.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"
#include "testutil.h"

static int build(struct sysfast__argbuf *b, sysfast_args *out, const char *fmt, ...)
{
	va_list va;
	int rc;

	va_start(va, fmt);
	rc = sysfast__args_build(b, fmt, &va, out);
	va_end(va);
	return rc;
}

/* Like build, then reads one more int from the same va_list: whatever the
 * parser left unread. A trailing sentinel shows it read exactly its own. */
static int build_then_next(struct sysfast__argbuf *b, sysfast_args *out, int *next, const char *fmt,
                           ...)
{
	va_list va;
	int rc;

	va_start(va, fmt);
	rc = sysfast__args_build(b, fmt, &va, out);
	*next = va_arg(va, int);
	va_end(va);
	return rc;
}

#define SENTINEL 0x5eed

/* Thirty-two int arguments. */
#define INTS8 1, 2, 3, 4, 5, 6, 7, 8
#define INTS32 INTS8, INTS8, INTS8, INTS8

/* Objects are opaque to the parser: any address will do. */
static int object_storage;
static const struct sysfast_object *const some_object = (const void *)&object_storage;
#define NULL_OBJECT ((const struct sysfast_object *)NULL)

static char *repeat(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	return dst + n;
}

static void assert_str(const sysfast_arg *a, const char *s, size_t len)
{
	assert_int_equal(a->kind, SYSFAST_ARG_STR);
	assert_int_equal(a->len, len);
	assert_memory_equal(a->v.s, s, len);
}

static void assert_int_arg(const sysfast_arg *a, int64_t i)
{
	assert_int_equal(a->kind, SYSFAST_ARG_INT);
	assert_int_equal(a->len, 0);
	assert_true(a->v.i == i);
}

static void assert_uint_arg(const sysfast_arg *a, uint64_t u)
{
	assert_int_equal(a->kind, SYSFAST_ARG_UINT);
	assert_int_equal(a->len, 0);
	assert_true(a->v.u == u);
}

/* ---- constructors ---- */

static void test_STR_of_null_gives_none(void **state)
{
	sysfast_arg a = SYSFAST_STR(NULL);

	(void)state;
	assert_int_equal(a.kind, SYSFAST_ARG_NONE);
	assert_int_equal(a.len, 0);
}

static void test_STRN_and_BYTES_of_null_give_none(void **state)
{
	sysfast_arg s = SYSFAST_STRN(NULL, 3);
	sysfast_arg b = SYSFAST_BYTES(NULL, 3);

	(void)state;
	assert_int_equal(s.kind, SYSFAST_ARG_NONE);
	assert_int_equal(s.len, 0);
	assert_int_equal(b.kind, SYSFAST_ARG_NONE);
	assert_int_equal(b.len, 0);
}

static void test_STR_measures_its_text(void **state)
{
	sysfast_arg a = SYSFAST_STR("héllo");

	(void)state;
	assert_str(&a, "héllo", 6);
}

static void test_ARGS_empty_has_no_items(void **state)
{
	sysfast_args a = SYSFAST_ARGS();

	(void)state;
	assert_int_equal(a.n, 0);
}

static void test_ARGS_holds_its_values_in_order(void **state)
{
	sysfast_args a = SYSFAST_ARGS(SYSFAST_INT(1), SYSFAST_STR("x"));

	(void)state;
	assert_int_equal(a.n, 2);
	assert_int_arg(&a.items[0], 1);
	assert_str(&a.items[1], "x", 1);
}

static void test_len_is_zero_for_unsized_constructors(void **state)
{
	sysfast_args a =
	    SYSFAST_ARGS(SYSFAST_NONE(), SYSFAST_BOOL(true), SYSFAST_INT(-1), SYSFAST_UINT(7),
	                 SYSFAST_FLOAT(1.5), SYSFAST_OBJ(some_object), SYSFAST_PTR(&a));
	size_t i;

	(void)state;
	assert_int_equal(a.n, 7);
	for (i = 0; i < a.n; i++)
		assert_int_equal(a.items[i].len, 0);
}

static void test_TUPLE_points_at_its_items(void **state)
{
	const sysfast_arg items[] = {SYSFAST_INT(1), SYSFAST_INT(2)};
	sysfast_arg t = SYSFAST_TUPLE(items, 2);

	(void)state;
	assert_int_equal(t.kind, SYSFAST_ARG_TUPLE);
	assert_int_equal(t.len, 2);
	assert_ptr_equal(t.v.items, items);
}

/* ---- the shape of the result ---- */

static void test_null_format_means_no_args(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, NULL), 0);
	assert_int_equal(out.n, 0);
	assert_no_error();
}

static void test_empty_format_means_no_args(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, ""), 0);
	assert_int_equal(out.n, 0);
	assert_no_error();
}

static void test_ignored_chars_only_means_no_args(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, " ,:\t, "), 0);
	assert_int_equal(out.n, 0);
	assert_no_error();
}

static void test_empty_tuple_means_no_args(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "()"), 0);
	assert_int_equal(out.n, 0);
}

static void test_single_value_gives_one_arg(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "i", 5), 0);
	assert_int_equal(out.n, 1);
	assert_int_arg(&out.items[0], 5);
}

static void test_several_values_give_all_of_them(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "is", 5, "x"), 0);
	assert_int_equal(out.n, 2);
	assert_int_arg(&out.items[0], 5);
	assert_str(&out.items[1], "x", 1);
}

static void test_single_tuple_is_unwrapped(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "(is)", 5, "x"), 0);
	assert_int_equal(out.n, 2);
	assert_int_arg(&out.items[0], 5);
	assert_str(&out.items[1], "x", 1);
}

static void test_tuple_beside_a_value_is_kept(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "(i)i", 1, 2), 0);
	assert_int_equal(out.n, 2);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_TUPLE);
	assert_int_equal(out.items[0].len, 1);
	assert_int_arg(&out.items[0].v.items[0], 1);
	assert_int_arg(&out.items[1], 2);
}

static void test_tuple_inside_tuple_is_kept(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "((i))", 1), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_TUPLE);
	assert_int_equal(out.items[0].len, 1);
	assert_int_arg(&out.items[0].v.items[0], 1);
}

static void test_nested_tuples_build_in_order(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	const sysfast_arg *inner;

	(void)state;
	assert_int_equal(build(&b, &out, "(s(ii)d)", "a", 1, 2, 2.5), 0);
	assert_int_equal(out.n, 3);
	assert_str(&out.items[0], "a", 1);
	assert_int_equal(out.items[1].kind, SYSFAST_ARG_TUPLE);
	assert_int_equal(out.items[1].len, 2);
	inner = out.items[1].v.items;
	assert_int_arg(&inner[0], 1);
	assert_int_arg(&inner[1], 2);
	assert_int_equal(out.items[2].kind, SYSFAST_ARG_FLOAT);
	assert_true(out.items[2].v.f == 2.5);
}

static void test_tuple_items_are_contiguous_slots_in_the_buffer(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	const sysfast_arg *t0, *t1;

	(void)state;
	assert_int_equal(build(&b, &out, "(ii)(i(ii))", 1, 2, 3, 4, 5), 0);
	assert_int_equal(out.n, 2);
	assert_ptr_equal(out.items, b.slots);
	t0 = out.items[0].v.items;
	t1 = out.items[1].v.items;
	assert_true(t0 >= b.slots && t0 + 2 <= b.slots + SYSFAST_ARGS_MAX);
	assert_true(t1 >= b.slots && t1 + 2 <= b.slots + SYSFAST_ARGS_MAX);
	assert_int_arg(&t0[0], 1);
	assert_int_arg(&t0[1], 2);
	assert_int_arg(&t1[0], 3);
	assert_int_equal(t1[1].len, 2);
	assert_int_arg(&t1[1].v.items[0], 4);
	assert_int_arg(&t1[1].v.items[1], 5);
}

static void test_separators_are_ignored_between_codes(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, " i ,\ts: ( i ) ", 1, "x", 2), 0);
	assert_int_equal(out.n, 3);
	assert_int_arg(&out.items[0], 1);
	assert_str(&out.items[1], "x", 1);
	assert_int_equal(out.items[2].len, 1);
}

/* ---- text codes ---- */

static void test_s_gives_str_with_strlen(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	const char *text = "hello";

	(void)state;
	assert_int_equal(build(&b, &out, "s", text), 0);
	assert_str(&out.items[0], "hello", 5);
	assert_ptr_equal(out.items[0].v.s, text);
}

static void test_s_with_null_gives_none(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "s", (char *)NULL), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_NONE);
	assert_int_equal(out.items[0].len, 0);
}

static void test_z_is_s(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "zz", "ab", (char *)NULL), 0);
	assert_str(&out.items[0], "ab", 2);
	assert_int_equal(out.items[1].kind, SYSFAST_ARG_NONE);
}

static void test_y_gives_bytes(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	const char *data = "raw";

	(void)state;
	assert_int_equal(build(&b, &out, "y", data), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_BYTES);
	assert_int_equal(out.items[0].len, 3);
	assert_ptr_equal(out.items[0].v.p, data);
}

static void test_y_with_null_gives_none(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "y", (char *)NULL), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_NONE);
}

static void test_hash_length_is_used(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "s#y#", "hello", (ssize_t)3, "a\0b", (ssize_t)3), 0);
	assert_str(&out.items[0], "hel", 3);
	assert_int_equal(out.items[1].kind, SYSFAST_ARG_BYTES);
	assert_int_equal(out.items[1].len, 3);
	assert_memory_equal(out.items[1].v.p, "a\0b", 3);
}

static void test_hash_length_negative_means_strlen(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "z#", "hello", (ssize_t)-1), 0);
	assert_str(&out.items[0], "hello", 5);
}

static void test_hash_with_null_gives_none_and_still_reads_length(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	int next;

	(void)state;
	assert_int_equal(build_then_next(&b, &out, &next, "s#", (char *)NULL, (ssize_t)4, SENTINEL),
	                 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_NONE);
	assert_int_equal(out.items[0].len, 0);
	assert_int_equal(next, SENTINEL);
}

/* ---- numbers ---- */

static void test_signed_codes_give_int(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "bhilLn", -1, -2, INT32_MIN, (long)-4,
	                       (long long)INT64_MIN, (ssize_t)-6),
	                 0);
	assert_int_equal(out.n, 6);
	assert_int_arg(&out.items[0], -1);
	assert_int_arg(&out.items[1], -2);
	assert_int_arg(&out.items[2], INT32_MIN);
	assert_int_arg(&out.items[3], -4);
	assert_int_arg(&out.items[4], INT64_MIN);
	assert_int_arg(&out.items[5], -6);
}

static void test_b_h_take_the_promoted_int_unchecked(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "bh", 300, 70000), 0);
	assert_int_arg(&out.items[0], 300);
	assert_int_arg(&out.items[1], 70000);
}

static void test_unsigned_codes_give_uint(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "BHIkK", 1u, 2u, UINT32_MAX, (unsigned long)4,
	                       (unsigned long long)UINT64_MAX),
	                 0);
	assert_int_equal(out.n, 5);
	assert_uint_arg(&out.items[0], 1);
	assert_uint_arg(&out.items[1], 2);
	assert_uint_arg(&out.items[2], UINT32_MAX);
	assert_uint_arg(&out.items[3], 4);
	assert_uint_arg(&out.items[4], UINT64_MAX);
}

static void test_B_H_take_the_promoted_unsigned_unchecked(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "BH", 300u, 0x12345u), 0);
	assert_uint_arg(&out.items[0], 300);
	assert_uint_arg(&out.items[1], 0x12345);
}

static void test_d_and_f_give_float(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	float f = 0.25f;

	(void)state;
	assert_int_equal(build(&b, &out, "df", -1.5, f), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_FLOAT);
	assert_true(out.items[0].v.f == -1.5);
	assert_int_equal(out.items[1].kind, SYSFAST_ARG_FLOAT);
	assert_true(out.items[1].v.f == 0.25);
	assert_int_equal(out.items[1].len, 0);
}

static void test_p_gives_bool_true_for_nonzero(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "ppp", 0, 1, -7), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_BOOL);
	assert_false(out.items[0].v.b);
	assert_true(out.items[1].v.b);
	assert_true(out.items[2].v.b);
	assert_int_equal(out.items[2].len, 0);
}

/* ---- characters ---- */

static void test_c_gives_one_byte_bytes(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "cc", 'A', 0xff), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_BYTES);
	assert_int_equal(out.items[0].len, 1);
	assert_memory_equal(out.items[0].v.p, "A", 1);
	assert_memory_equal(out.items[1].v.p, "\xff", 1);
	assert_ptr_not_equal(out.items[0].v.p, out.items[1].v.p);
}

static void test_C_encodes_the_code_point_as_utf8(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "CCCCC", 0, 'A', 0xe9, 0x20ac, 0x1f600), 0);
	assert_str(&out.items[0], "\0", 1);
	assert_str(&out.items[1], "A", 1);
	assert_str(&out.items[2], "\xc3\xa9", 2);
	assert_str(&out.items[3], "\xe2\x82\xac", 3);
	assert_str(&out.items[4], "\xf0\x9f\x98\x80", 4);
}

static void test_C_encodes_max_code_point(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "C", 0x10ffff), 0);
	assert_str(&out.items[0], "\xf4\x8f\xbf\xbf", 4);
}

static void test_C_encodes_lone_surrogates_in_three_bytes(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "CC", 0xd800, 0xdfff), 0);
	assert_str(&out.items[0], "\xed\xa0\x80", 3);
	assert_str(&out.items[1], "\xed\xbf\xbf", 3);
}

static void test_C_out_of_range_is_value_error(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "C", 0x110000), -1);
	assert_error(sysfast_ValueError, "'C' at position 0");
	assert_int_equal(build(&b, &out, "(iC)", 1, -1), -1);
	assert_error(sysfast_ValueError, "-1");
}

/* ---- objects and pointers ---- */

static void test_O_and_S_give_object(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "OS", some_object, some_object), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_OBJECT);
	assert_ptr_equal(out.items[0].v.o, some_object);
	assert_int_equal(out.items[0].len, 0);
	assert_int_equal(out.items[1].kind, SYSFAST_ARG_OBJECT);
}

static void test_O_with_null_is_system_error(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "(iO)", 1, NULL_OBJECT), -1);
	assert_string_equal(sysfast_err_message(),
	                    "NULL object passed to 'O' at position 2 in audit format \"(iO)\"");
	assert_error(sysfast_SystemError, NULL);
}

static void test_S_with_null_is_system_error(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "S", NULL_OBJECT), -1);
	assert_error(sysfast_SystemError, "'S'");
}

static void test_P_gives_ptr_and_accepts_null(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "PP", (void *)&b, (void *)NULL), 0);
	assert_int_equal(out.items[0].kind, SYSFAST_ARG_PTR);
	assert_ptr_equal(out.items[0].v.p, &b);
	assert_int_equal(out.items[1].kind, SYSFAST_ARG_PTR);
	assert_null(out.items[1].v.p);
	assert_int_equal(out.items[1].len, 0);
}

/* ---- reading the arguments ---- */

static void test_every_code_reads_exactly_its_arguments(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	int next;

	(void)state;
	assert_int_equal(
	    build_then_next(&b, &out, &next, "s z y s# z# y# (bhilLn) BHIkK c C d f p O S P", "s",
	                    "z", "y", "s", (ssize_t)1, "z", (ssize_t)-1, "y", (ssize_t)1, 1, 2, 3,
	                    4L, 5LL, (ssize_t)6, 1u, 2u, 3u, 4UL, 5ULL, 'c', 0x20ac, 1.0, 2.0, 1,
	                    some_object, some_object, (void *)&b, SENTINEL),
	    0);
	assert_int_equal(out.n, 20);
	assert_int_equal(next, SENTINEL);
}

/* ---- bad formats ---- */

static void test_N_is_system_error_naming_char(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "(sN)"), -1);
	assert_string_equal(sysfast_err_message(),
	                    "bad format char 'N' at position 2 in audit format \"(sN)\"");
	assert_error(sysfast_SystemError, "'N'");
}

static void test_brackets_and_braces_are_errors(void **state)
{
	static const char *const formats[] = {"[i]", "{ii}", "i]", "}"};
	struct sysfast__argbuf b;
	sysfast_args out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		assert_int_equal(build(&b, &out, formats[i]), -1);
		assert_error(sysfast_SystemError, "bad format char");
	}
}

static void test_unknown_code_is_error(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "iu"), -1);
	assert_error(sysfast_SystemError, "'u' at position 1");
	assert_int_equal(build(&b, &out, "O&"), -1);
	assert_error(sysfast_SystemError, "'&' at position 1");
}

static void test_unbalanced_paren_is_error(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "i)"), -1);
	assert_error(sysfast_SystemError, "unmatched ')' at position 1");
	assert_int_equal(build(&b, &out, "())"), -1);
	assert_error(sysfast_SystemError, "unmatched ')' at position 2");
	assert_int_equal(build(&b, &out, "(i"), -1);
	assert_error(sysfast_SystemError, "unmatched '(' at position 0");
	assert_int_equal(build(&b, &out, "()(()"), -1);
	assert_error(sysfast_SystemError, "unmatched '(' at position 2");
}

static void test_hash_not_after_s_z_y_is_error(void **state)
{
	static const char *const formats[] = {"#", "i#", "s##", "s #", "(#)"};
	struct sysfast__argbuf b;
	sysfast_args out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		assert_int_equal(build(&b, &out, formats[i]), -1);
		assert_error(sysfast_SystemError, "'#'");
	}
}

static void test_first_bad_char_is_the_one_named(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "iNx)"), -1);
	assert_error(sysfast_SystemError, "'N' at position 1");
}

static void test_unprintable_char_is_escaped_in_message(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	assert_int_equal(build(&b, &out, "i\x01"), -1);
	assert_error(sysfast_SystemError, "'\\x01' at position 1");
}

static void test_long_format_is_truncated_in_message(void **state)
{
	char format[300];
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	*repeat(format, ' ', sizeof(format) - 2) = 'N';
	format[sizeof(format) - 1] = '\0';
	assert_int_equal(build(&b, &out, format), -1);
	assert_true(strlen(sysfast_err_message()) < 200);
	assert_error(sysfast_SystemError, "'N' at position 298");
}

static void test_bad_format_reads_no_varargs(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	int next;

	(void)state;
	/* With nothing passed, reading the 's' would hand garbage to strlen. */
	assert_int_equal(build(&b, &out, "sssN"), -1);
	assert_error(sysfast_SystemError, "'N'");
	assert_int_equal(build_then_next(&b, &out, &next, "i(i", SENTINEL), -1);
	assert_error(sysfast_SystemError, "'('");
	assert_int_equal(next, SENTINEL);
}

/* ---- the two first passes agree ---- */

/* Steps `format` to the next string over `alphabet`, shorter ones first,
 * like an odometer; false after the last one of `max` characters. */
static bool next_format(char *format, const char *alphabet, size_t max)
{
	size_t len = strlen(format);

	for (size_t i = len; i-- > 0;) {
		const char *c = strchr(alphabet, format[i]);

		if (c[1] != '\0') {
			format[i] = c[1];
			return true;
		}
		format[i] = alphabet[0];
	}
	if (len == max)
		return false;
	memset(format, alphabet[0], len + 1);
	format[len + 1] = '\0';
	return true;
}

static void test_common_shapes_are_judged_as_the_general_check_judges_them(void **state)
{
	/* A trailing "()" sends any format to the general check, adds one
	 * slot to a valid one and leaves a bad one bad. */
	char format[6] = "", suffixed[8];
	int formats = 0;

	(void)state;
	do {
		size_t n1 = 99, n2 = 99;
		int rc1, rc2;

		strcat(strcpy(suffixed, format), "()");
		rc1 = sysfast__format_check(format, &n1);
		if (rc1 < 0)
			assert_error(sysfast_SystemError, "in audit format");
		rc2 = sysfast__format_check(suffixed, &n2);
		if (rc2 < 0)
			assert_error(sysfast_SystemError, "in audit format");
		if (rc1 != rc2 || (rc1 == 0 && n2 != n1 + 1))
			fail_msg("\"%s\": %d (%zu slots), \"%s\": %d (%zu slots)", format, rc1, n1,
			         suffixed, rc2, n2);
		formats++;
	} while (next_format(format, "()si#,N", 5));
	assert_int_equal(formats, 1 + 7 + 49 + 343 + 2401 + 16807);
}

static void test_common_shapes_build_what_the_general_pass_builds(void **state)
{
	static const char *const formats[] = {"(ii)", "ii", "( i , i )", "(i,i)", "i,i", "()", ""};
	struct sysfast__argbuf b1, b2;
	sysfast_args out1, out2;
	char spaced[16];

	(void)state;
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		spaced[0] = ' ';
		strcpy(spaced + 1, formats[f]);
		assert_int_equal(build(&b1, &out1, formats[f], 5, 6), 0);
		assert_int_equal(build(&b2, &out2, spaced, 5, 6), 0);
		assert_int_equal(out1.n, out2.n);
		for (size_t i = 0; i < out1.n; i++)
			assert_int_arg(&out1.items[i], (int64_t)5 + (int64_t)i);
		for (size_t i = 0; i < out2.n; i++)
			assert_int_arg(&out2.items[i], (int64_t)5 + (int64_t)i);
	}
}

static void test_counted_text_inside_one_tuple_reads_its_length(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	int next;

	(void)state;
	assert_int_equal(build_then_next(&b, &out, &next, "(s#iy#)", "abc", (ssize_t)2, 7, "xyz",
	                                 (ssize_t)-1, SENTINEL),
	                 0);
	assert_int_equal(out.n, 3);
	assert_str(&out.items[0], "ab", 2);
	assert_int_arg(&out.items[1], 7);
	assert_int_equal(out.items[2].kind, SYSFAST_ARG_BYTES);
	assert_int_equal(out.items[2].len, 3);
	assert_int_equal(next, SENTINEL);
}

static void test_reused_format_buffer_is_read_afresh_every_call(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	char format[8];

	(void)state;
	strcpy(format, "(si)");
	assert_int_equal(build(&b, &out, format, "x", 1), 0);
	assert_str(&out.items[0], "x", 1);
	assert_int_arg(&out.items[1], 1);
	strcpy(format, "(is)");
	assert_int_equal(build(&b, &out, format, 2, "yz"), 0);
	assert_int_arg(&out.items[0], 2);
	assert_str(&out.items[1], "yz", 2);
	strcpy(format, "(si");
	assert_int_equal(build(&b, &out, format), -1);
	assert_error(sysfast_SystemError, "unmatched '(' at position 0 in audit format \"(si\"");
	strcpy(format, "(s(i))");
	assert_int_equal(build(&b, &out, format, "x", 3), 0);
	assert_int_equal(out.n, 2);
	assert_int_equal(out.items[1].kind, SYSFAST_ARG_TUPLE);
	strcpy(format, "(si)");
	assert_int_equal(build(&b, &out, format, "w", 4), 0);
	assert_int_equal(out.n, 2);
	assert_int_arg(&out.items[1], 4);
}

/* ---- the slot limit ---- */

static void test_slot_limit_allows_max_values(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	char format[SYSFAST_ARGS_MAX + 1] = {0};

	(void)state;
	repeat(format, 'i', SYSFAST_ARGS_MAX);
	assert_int_equal(build(&b, &out, format, INTS32), 0);
	assert_int_equal(out.n, SYSFAST_ARGS_MAX);
	assert_int_arg(&out.items[SYSFAST_ARGS_MAX - 1], 8);
}

static void test_slot_limit_rejects_one_more_value(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	char format[SYSFAST_ARGS_MAX + 2] = {0};

	(void)state;
	repeat(format, 'i', SYSFAST_ARGS_MAX + 1);
	assert_int_equal(build(&b, &out, format), -1);
	assert_error(sysfast_SystemError, "'i' at position 32");
}

static void test_slot_limit_counts_tuples_and_items(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	char format[SYSFAST_ARGS_MAX + 8] = {0};
	size_t n = 0;

	(void)state;
	/* "(ii)(ii)..." : 8 tuples of 3 slots, then "iiiiiiii" = 32 slots. */
	assert_int_equal(sysfast__format_check("(ii)(ii)(ii)(ii)(ii)(ii)(ii)(ii)iiiiiiii", &n), 0);
	assert_int_equal(n, SYSFAST_ARGS_MAX);
	assert_int_equal(
	    build(&b, &out, "(ii)(ii)(ii)(ii)(ii)(ii)(ii)(ii)iiiiiiii", INTS8, INTS8, INTS8), 0);
	assert_int_equal(out.n, 16);

	/* The explicit outer tuple takes a slot even though it is unwrapped. */
	*repeat(repeat(format, '(', 1), 'i', SYSFAST_ARGS_MAX - 1) = ')';
	assert_int_equal(build(&b, &out, format, INTS32), 0);
	assert_int_equal(out.n, SYSFAST_ARGS_MAX - 1);
	memset(format, 0, sizeof(format));
	*repeat(repeat(format, '(', 1), 'i', SYSFAST_ARGS_MAX) = ')';
	assert_int_equal(build(&b, &out, format), -1);
	assert_error(sysfast_SystemError, "'i' at position 32");
}

static void test_deep_nesting_is_rejected_by_slot_limit(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	char format[81] = {0};

	(void)state;
	repeat(repeat(format, '(', 40), ')', 40);
	assert_int_equal(build(&b, &out, format), -1);
	assert_error(sysfast_SystemError, "'(' at position 32");
}

static void test_deepest_allowed_nesting_builds(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;
	char format[2 * SYSFAST_ARGS_MAX + 1] = {0};
	const sysfast_arg *a;
	size_t depth;

	(void)state;
	/* 31 tuples around one int: 32 slots; the outermost is unwrapped. */
	*repeat(format, '(', SYSFAST_ARGS_MAX - 1) = 'i';
	repeat(format + SYSFAST_ARGS_MAX, ')', SYSFAST_ARGS_MAX - 1);
	assert_int_equal(build(&b, &out, format, 7), 0);
	assert_int_equal(out.n, 1);
	a = &out.items[0];
	for (depth = 1; depth < SYSFAST_ARGS_MAX - 1; depth++) {
		assert_int_equal(a->kind, SYSFAST_ARG_TUPLE);
		assert_int_equal(a->len, 1);
		a = &a->v.items[0];
	}
	assert_int_arg(a, 7);
}

/* ---- the check pass and the error indicator ---- */

static void test_format_check_counts_every_slot(void **state)
{
	size_t n = 99;

	(void)state;
	assert_int_equal(sysfast__format_check("(s(ii)d)", &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(sysfast__format_check(NULL, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sysfast__format_check("s#y#z#", NULL), 0);
	assert_no_error();
}

static void test_success_keeps_the_pending_error(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	sysfast_err_set(sysfast_OSError, "pending");
	assert_int_equal(build(&b, &out, "(is)", 1, "x"), 0);
	assert_int_equal(build(&b, &out, ""), 0);
	assert_string_equal(sysfast_err_message(), "pending");
	assert_error(sysfast_OSError, "pending");
}

static void test_failure_replaces_the_pending_error(void **state)
{
	struct sysfast__argbuf b;
	sysfast_args out;

	(void)state;
	sysfast_err_set(sysfast_OSError, "pending");
	assert_int_equal(build(&b, &out, "N"), -1);
	assert_error(sysfast_SystemError, "'N'");
}

static int no_error_left(void **state)
{
	(void)state;
	if (sysfast_err_occurred()) {
		sysfast_err_clear();
		return -1;
	}
	return 0;
}

#define TEST(f) cmocka_unit_test_teardown(f, no_error_left)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_STR_of_null_gives_none),
	    TEST(test_STRN_and_BYTES_of_null_give_none),
	    TEST(test_STR_measures_its_text),
	    TEST(test_ARGS_empty_has_no_items),
	    TEST(test_ARGS_holds_its_values_in_order),
	    TEST(test_len_is_zero_for_unsized_constructors),
	    TEST(test_TUPLE_points_at_its_items),
	    TEST(test_null_format_means_no_args),
	    TEST(test_empty_format_means_no_args),
	    TEST(test_ignored_chars_only_means_no_args),
	    TEST(test_empty_tuple_means_no_args),
	    TEST(test_single_value_gives_one_arg),
	    TEST(test_several_values_give_all_of_them),
	    TEST(test_single_tuple_is_unwrapped),
	    TEST(test_tuple_beside_a_value_is_kept),
	    TEST(test_tuple_inside_tuple_is_kept),
	    TEST(test_nested_tuples_build_in_order),
	    TEST(test_tuple_items_are_contiguous_slots_in_the_buffer),
	    TEST(test_separators_are_ignored_between_codes),
	    TEST(test_s_gives_str_with_strlen),
	    TEST(test_s_with_null_gives_none),
	    TEST(test_z_is_s),
	    TEST(test_y_gives_bytes),
	    TEST(test_y_with_null_gives_none),
	    TEST(test_hash_length_is_used),
	    TEST(test_hash_length_negative_means_strlen),
	    TEST(test_hash_with_null_gives_none_and_still_reads_length),
	    TEST(test_signed_codes_give_int),
	    TEST(test_b_h_take_the_promoted_int_unchecked),
	    TEST(test_unsigned_codes_give_uint),
	    TEST(test_B_H_take_the_promoted_unsigned_unchecked),
	    TEST(test_d_and_f_give_float),
	    TEST(test_p_gives_bool_true_for_nonzero),
	    TEST(test_c_gives_one_byte_bytes),
	    TEST(test_C_encodes_the_code_point_as_utf8),
	    TEST(test_C_encodes_max_code_point),
	    TEST(test_C_encodes_lone_surrogates_in_three_bytes),
	    TEST(test_C_out_of_range_is_value_error),
	    TEST(test_O_and_S_give_object),
	    TEST(test_O_with_null_is_system_error),
	    TEST(test_S_with_null_is_system_error),
	    TEST(test_P_gives_ptr_and_accepts_null),
	    TEST(test_every_code_reads_exactly_its_arguments),
	    TEST(test_N_is_system_error_naming_char),
	    TEST(test_brackets_and_braces_are_errors),
	    TEST(test_unknown_code_is_error),
	    TEST(test_unbalanced_paren_is_error),
	    TEST(test_hash_not_after_s_z_y_is_error),
	    TEST(test_first_bad_char_is_the_one_named),
	    TEST(test_unprintable_char_is_escaped_in_message),
	    TEST(test_long_format_is_truncated_in_message),
	    TEST(test_bad_format_reads_no_varargs),
	    TEST(test_common_shapes_are_judged_as_the_general_check_judges_them),
	    TEST(test_common_shapes_build_what_the_general_pass_builds),
	    TEST(test_counted_text_inside_one_tuple_reads_its_length),
	    TEST(test_reused_format_buffer_is_read_afresh_every_call),
	    TEST(test_slot_limit_allows_max_values),
	    TEST(test_slot_limit_rejects_one_more_value),
	    TEST(test_slot_limit_counts_tuples_and_items),
	    TEST(test_deep_nesting_is_rejected_by_slot_limit),
	    TEST(test_deepest_allowed_nesting_builds),
	    TEST(test_format_check_counts_every_slot),
	    TEST(test_success_keeps_the_pending_error),
	    TEST(test_failure_replaces_the_pending_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
