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
 *
 * A format that sysfast__format_plan accepts (the shapes sysfast_audit's
 * per-thread memo keeps) is also built from its plan, the second pass
 * alone, from the same arguments: the tree must be the same, value for
 * value.
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

/* The same through the format's plan, as sysfast_audit's memo builds. */
static int build_planned(struct sysfast__argbuf *buf, sysfast_args *out, const char *format,
                         const struct sysfast__format_plan *plan, ...)
{
	va_list va;
	int rc;

	va_start(va, plan);
	rc = sysfast__args_build_plan(buf, format, plan, &va, out);
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

/* Two trees hold the same values: the same text (the 'c' and 'C' bytes
 * live in each build's own buffer, so those by content), doubles by their
 * bits. */
static void check_same(const sysfast_arg *a, const sysfast_arg *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(a[i].kind == b[i].kind && a[i].len == b[i].len);
		switch (a[i].kind) {
		case SYSFAST_ARG_TUPLE:
			check_same(a[i].v.items, b[i].v.items, a[i].len);
			break;
		case SYSFAST_ARG_STR:
		case SYSFAST_ARG_BYTES:
			/* The caller's text itself (its length may be anything a
			 * '#' argument said), or a 'c' or 'C' cell of 1 to 4
			 * bytes. */
			CHECK(a[i].v.s == b[i].v.s
			      || (a[i].len <= 4 && memcmp(a[i].v.s, b[i].v.s, a[i].len) == 0));
			break;
		case SYSFAST_ARG_BOOL:
			CHECK(a[i].v.b == b[i].v.b);
			break;
		default:
			CHECK(memcmp(&a[i].v, &b[i].v, sizeof(a[i].v)) == 0);
			break;
		}
	}
}

static void build_and_check(const char *format, size_t n_slots)
{
	struct sysfast__argbuf buf, pbuf;
	struct sysfast__format_plan plan;
	sysfast_args out, pout;
	size_t seen = 0;
	bool planned = sysfast__format_plan(format, &plan);
	int rc, prc = 0;

	switch (format_type(format)) {
	case ARGS_PTR:
		rc = build(&buf, &out, format, PTRS32);
		if (planned)
			prc = build_planned(&pbuf, &pout, format, &plan, PTRS32);
		break;
	case ARGS_INT:
		rc = build(&buf, &out, format, INTS32);
		if (planned)
			prc = build_planned(&pbuf, &pout, format, &plan, INTS32);
		break;
	case ARGS_DOUBLE:
		rc = build(&buf, &out, format, DOUBLES32);
		if (planned)
			prc = build_planned(&pbuf, &pout, format, &plan, DOUBLES32);
		break;
	case ARGS_NONE:
		rc = build(&buf, &out, format);
		if (planned)
			prc = build_planned(&pbuf, &pout, format, &plan);
		break;
	default:
		return;
	}
	/* A checked format fails only on a bad value: 'C' out of range. */
	if (rc < 0) {
		CHECK(sysfast_err_occurred() == sysfast_ValueError);
		CHECK(!planned || prc < 0);
		return;
	}
	check_items(&buf, out.items, out.n, &seen);
	/* An unwrapped outer tuple is the one slot the caller does not see. */
	CHECK(seen + single_outer_tuple(format) == n_slots);
	if (!planned)
		return;
	/* The plan's build: the same tree. */
	CHECK(prc == 0);
	CHECK(pout.n == out.n);
	check_same(out.items, pout.items, out.n);
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
