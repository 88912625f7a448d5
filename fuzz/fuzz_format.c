/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the audit format parser (core/src/args.c).
 *
 * Every input is a format. sysfast__format_check must accept it or reject
 * it with sysfast_SystemError, and never count more than SYSFAST_ARGS_MAX
 * slots. An accepted format is then built, but only when that is defined
 * behaviour: a va_list cannot be made at run time, so the harness passes 32
 * arguments of one type, and builds only formats whose codes all read that
 * type (const char * for "szyP", non-negative int for "bhiBHIpcC", double
 * for "df"; ISO C allows char * for void * and non-negative int for
 * unsigned). The built tree must then be well formed: items inside the
 * buffer, every slot reached once, len 0 where the kind has no length.
 * A violation aborts with the failed check.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "fuzz.h"

#define FORMAT_MAX 4096

/* The one type that all the codes of a format read. */
enum arg_type { ARGS_NONE, ARGS_PTR, ARGS_INT, ARGS_DOUBLE, ARGS_MIXED };

static const char text[] = "fuzz";

/* 32 arguments of each type. NULL text gives NONE; the ints cover 'C' in
 * and out of range and both ends of the surrogates. */
#define T4 text, text, (const char *)NULL, text
#define PTRS32 T4, T4, T4, T4, T4, T4, T4, T4
#define I8 0, 1, 65, 255, 0xd800, 0xdfff, 0x10ffff, 0x110000
#define INTS32 I8, I8, I8, 0x7fffffff, 0x20ac, 0x1f600, 7, 8, 9, 10, 11
#define D8 0.0, -0.0, 1.5, -2.25, 1e308, -1e-308, 3.0, 4.0
#define DOUBLES32 D8, D8, D8, D8

static enum arg_type code_type(char c)
{
	if (strchr("szyP", c))
		return ARGS_PTR;
	if (strchr("bhiBHIpcC", c))
		return ARGS_INT;
	if (strchr("df", c))
		return ARGS_DOUBLE;
	return ARGS_MIXED;
}

/* Only for a format that sysfast__format_check accepted. */
static enum arg_type format_type(const char *format)
{
	enum arg_type type = ARGS_NONE;
	const char *p;

	for (p = format; *p; p++) {
		enum arg_type t;

		if (strchr(" \t,:()", *p))
			continue;
		t = *p == '#' ? ARGS_MIXED : code_type(*p);
		if (type != ARGS_NONE && t != type)
			return ARGS_MIXED;
		type = t;
	}
	return type;
}

static int build(struct sysfast__argbuf *buf, sysfast_args *out, const char *format, ...)
{
	va_list va;
	int rc;

	va_start(va, format);
	rc = sysfast__args_build(buf, format, &va, out);
	va_end(va);
	return rc;
}

static bool has_length(sysfast_arg_kind kind)
{
	return kind == SYSFAST_ARG_STR || kind == SYSFAST_ARG_BYTES || kind == SYSFAST_ARG_TUPLE;
}

/* Walks `n` items, counting every slot reached into *seen. Recursion is
 * fine here: depth is bounded by SYSFAST_ARGS_MAX, which the walk checks
 * before it trusts the tree. */
static void check_items(const struct sysfast__argbuf *buf, const sysfast_arg *items, size_t n,
                        size_t *seen)
{
	size_t i;

	CHECK(n <= SYSFAST_ARGS_MAX);
	CHECK(items >= buf->slots && items + n <= buf->slots + SYSFAST_ARGS_MAX);
	for (i = 0; i < n; i++) {
		const sysfast_arg *a = &items[i];

		CHECK(++*seen <= SYSFAST_ARGS_MAX);
		CHECK(has_length(a->kind) || a->len == 0);
		if (a->kind == SYSFAST_ARG_TUPLE)
			check_items(buf, a->v.items, a->len, seen);
	}
}

/* True if the whole format is one tuple, "( ... )" with only separators
 * around it: the result is then unwrapped to that tuple's items. Only for a
 * format that passed the check. */
static bool single_outer_tuple(const char *format)
{
	const char *p = format;
	size_t depth = 0, top = 0;
	bool first_is_tuple = false;

	for (; *p; p++) {
		if (strchr(" \t,:", *p))
			continue;
		if (*p == ')') {
			depth--;
			continue;
		}
		if (depth == 0 && top++ == 0)
			first_is_tuple = *p == '(';
		if (*p == '(')
			depth++;
		else if (p[1] == '#' && strchr("szy", *p))
			p++;
	}
	return top == 1 && first_is_tuple;
}

static void build_and_check(const char *format, size_t n_slots)
{
	struct sysfast__argbuf buf;
	sysfast_args out;
	size_t seen = 0;
	int rc;

	switch (format_type(format)) {
	case ARGS_PTR:
		rc = build(&buf, &out, format, PTRS32);
		break;
	case ARGS_INT:
		rc = build(&buf, &out, format, INTS32);
		break;
	case ARGS_DOUBLE:
		rc = build(&buf, &out, format, DOUBLES32);
		break;
	case ARGS_NONE:
		rc = build(&buf, &out, format);
		break;
	default:
		return;
	}
	/* A checked format fails only on a bad value: 'C' out of range. */
	if (rc < 0) {
		CHECK(sysfast_err_occurred() == sysfast_ValueError);
		return;
	}
	check_items(&buf, out.items, out.n, &seen);
	/* An unwrapped outer tuple is the one slot the caller does not see. */
	CHECK(seen + single_outer_tuple(format) == n_slots);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char format[FORMAT_MAX + 1];
	size_t n_slots = SIZE_MAX;

	if (size > FORMAT_MAX)
		size = FORMAT_MAX;
	memcpy(format, data, size);
	format[size] = '\0';

	if (sysfast__format_check(format, &n_slots) < 0) {
		CHECK(sysfast_err_occurred() == sysfast_SystemError);
		CHECK(strstr(sysfast_err_message(), " at position "));
		sysfast_err_clear();
		return 0;
	}
	CHECK(n_slots <= SYSFAST_ARGS_MAX);
	CHECK(!sysfast_err_occurred());
	build_and_check(format, n_slots);
	sysfast_err_clear();
	return 0;
}
