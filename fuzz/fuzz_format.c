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
 * The same format is also built from a sysfast_audit() call site's raw
 * argument array (audit.h), which any format can read safely: the tree
 * must be the va_list's, value for value, where both can be built; well
 * formed for every format; and a site's own paths - the flat builder of a
 * bound site and the inline one of a simple site - must agree with it. A
 * raw array shorter than the format reads must be refused.
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

/* The C arguments a checked format reads: one per value, two for '#'. */
static size_t args_read(const char *format)
{
	size_t n = 0;

	for (const char *p = format; *p; p++)
		if (!strchr(" \t,:()", *p))
			n++;
	return n;
}

/* A raw build's result: 0, or -1 with the error a checked format can
 * still give ('C' out of range, 'O' or 'S' NULL). */
static int check_raw_rc(int rc)
{
	if (rc < 0) {
		CHECK(sysfast_err_occurred() == sysfast_ValueError
		      || sysfast_err_occurred() == sysfast_SystemError);
		sysfast_err_clear();
	}
	return rc;
}

/* Builds `format` from raw[0..64) and checks the tree, then what a call
 * site would build: refused with fewer arguments than the format reads,
 * the same tree from a bound site's flat builder and, for a simple
 * format, from the inline builder. */
static void build_raw_and_check(const char *format, size_t n_slots, const struct sysfast__raw *raw)
{
	struct sysfast__argbuf buf, flat;
	sysfast_args out, out_flat;
	sysfast_arg vals[SYSFAST_ARGS_MAX];
	size_t seen = 0, n_args = args_read(format);
	bool simple = false;

	CHECK(n_args <= 64);
	if (n_args > 0) {
		CHECK(sysfast__args_build_raw(&buf, format, raw, n_args - 1, &out) < 0);
		CHECK(sysfast_err_occurred() == sysfast_SystemError);
		CHECK(strstr(sysfast_err_message(), " argument"));
		sysfast_err_clear();
	}
	if (check_raw_rc(sysfast__args_build_raw(&buf, format, raw, n_args, &out)) < 0)
		return;
	check_items(&buf, out.items, out.n, &seen);
	CHECK(seen + single_outer_tuple(format) == n_slots);
	if (!sysfast__format_site(format, n_args, &simple))
		return;
	CHECK(sysfast__args_build_flat(&flat, format, raw, &out_flat) == 0);
	CHECK(out_flat.n == out.n);
	check_same(out.items, out_flat.items, out.n);
	if (simple) {
		CHECK(n_args == out.n);
		CHECK(sysfast__fmt_values(format, raw, n_args, vals));
		check_same(out.items, vals, out.n);
	}
}

static void build_and_check(const char *format, size_t n_slots)
{
	struct sysfast__argbuf buf, rbuf;
	sysfast_args out, rout;
	size_t seen = 0;
	int rc, rrc;
	const char *const ptrs[] = {PTRS32};
	const int ints[] = {INTS32};
	const double doubles[] = {DOUBLES32};
	struct sysfast__raw raw[64] = {{0, 0}};

	/* Every format, from raw arguments that each code can read: all
	 * zero (NULL text, 'O' refused), then all pointing at text. */
	build_raw_and_check(format, n_slots, raw);
	for (size_t i = 0; i < 64; i++)
		raw[i] = (struct sysfast__raw){(uintptr_t)text, 1.5};
	build_raw_and_check(format, n_slots, raw);

	switch (format_type(format)) {
	case ARGS_PTR:
		rc = build(&buf, &out, format, PTRS32);
		for (size_t i = 0; i < 32; i++)
			raw[i] = (struct sysfast__raw){(uintptr_t)ptrs[i], 0};
		break;
	case ARGS_INT:
		rc = build(&buf, &out, format, INTS32);
		for (size_t i = 0; i < 32; i++)
			raw[i] = (struct sysfast__raw){(unsigned long long)ints[i], 0};
		break;
	case ARGS_DOUBLE:
		rc = build(&buf, &out, format, DOUBLES32);
		for (size_t i = 0; i < 32; i++)
			raw[i] = (struct sysfast__raw){0, doubles[i]};
		break;
	case ARGS_NONE:
		rc = build(&buf, &out, format);
		break;
	default:
		return;
	}
	/* The same arguments from a call site's array: the same result. */
	rrc = sysfast__args_build_raw(&rbuf, format, raw, 64, &rout);
	CHECK(rc == rrc);
	/* A checked format fails only on a bad value: 'C' out of range. */
	if (rc < 0) {
		CHECK(sysfast_err_occurred() == sysfast_ValueError);
		return;
	}
	check_items(&buf, out.items, out.n, &seen);
	/* An unwrapped outer tuple is the one slot the caller does not see. */
	CHECK(seen + single_outer_tuple(format) == n_slots);
	CHECK(rout.n == out.n);
	check_same(out.items, rout.items, out.n);
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
