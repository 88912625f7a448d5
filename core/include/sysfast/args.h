/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - zero-allocation argument tuples.
 *
 * An audit event's arguments are a sysfast_args: a count and a pointer to
 * sysfast_arg values that live on the caller's stack. Hooks get a read-only
 * view that is valid only while they run; a hook that keeps an argument
 * copies it. Nothing in this header allocates.
 *
 *     sysfast_args a = SYSFAST_ARGS(SYSFAST_STR(path), SYSFAST_INT(flags));
 *     sysfast_audit_args(id, &a);
 */
#ifndef SYSFAST_ARGS_H
#define SYSFAST_ARGS_H

#include <sysfast/common.h>

/* The most slots one argument tuple may use: every value, every tuple and
 * every item inside a tuple counts as one. The format parser keeps its
 * working space on the stack, so this bounds its stack use (about 1 KiB). */
#define SYSFAST_ARGS_MAX 32

SYSFAST_BEGIN_DECLS

typedef enum sysfast_arg_kind {
	SYSFAST_ARG_NONE,
	SYSFAST_ARG_BOOL,
	SYSFAST_ARG_INT,
	SYSFAST_ARG_UINT,
	SYSFAST_ARG_FLOAT,
	SYSFAST_ARG_STR,
	SYSFAST_ARG_BYTES,
	SYSFAST_ARG_OBJECT,
	SYSFAST_ARG_PTR,
	SYSFAST_ARG_TUPLE
} sysfast_arg_kind;

struct sysfast_object;

/* One value. STR uses v.s, BYTES uses v.p, TUPLE uses v.items; `len` is
 * bytes for STR and BYTES, items for TUPLE, and 0 for every other kind.
 * STR text is not validated: treat it as bytes. */
typedef struct sysfast_arg {
	sysfast_arg_kind kind;
	size_t len;
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double f;
		const char *s;
		const void *p;
		const struct sysfast_object *o;
		const struct sysfast_arg *items;
	} v;
} sysfast_arg;

/* A tuple of arguments; 0 arguments is n == 0 (items may then be NULL). */
typedef struct sysfast_args {
	size_t n;
	const sysfast_arg *items;
} sysfast_args;

/* Constructors. Each is an inline function call, usable in the initialiser
 * of an automatic array and anywhere an expression is. */
static inline sysfast_arg sysfast__arg(sysfast_arg_kind kind)
{
	sysfast_arg a;
	a.kind = kind;
	a.len = 0;
	a.v.u = 0;
	return a;
}

static inline sysfast_arg sysfast__arg_bool(bool b)
{
	sysfast_arg a = sysfast__arg(SYSFAST_ARG_BOOL);
	a.v.b = b;
	return a;
}

static inline sysfast_arg sysfast__arg_int(int64_t i)
{
	sysfast_arg a = sysfast__arg(SYSFAST_ARG_INT);
	a.v.i = i;
	return a;
}

static inline sysfast_arg sysfast__arg_uint(uint64_t u)
{
	sysfast_arg a = sysfast__arg(SYSFAST_ARG_UINT);
	a.v.u = u;
	return a;
}

static inline sysfast_arg sysfast__arg_float(double f)
{
	sysfast_arg a = sysfast__arg(SYSFAST_ARG_FLOAT);
	a.v.f = f;
	return a;
}

/* NULL gives NONE for the text and byte constructors. */
static inline sysfast_arg sysfast__arg_strn(const char *s, size_t n)
{
	sysfast_arg a = sysfast__arg(s ? SYSFAST_ARG_STR : SYSFAST_ARG_NONE);
	if (s) {
		a.v.s = s;
		a.len = n;
	}
	return a;
}

static inline sysfast_arg sysfast__arg_str(const char *s)
{
	return sysfast__arg_strn(s, s ? __builtin_strlen(s) : 0);
}

static inline sysfast_arg sysfast__arg_bytes(const void *p, size_t n)
{
	sysfast_arg a = sysfast__arg(p ? SYSFAST_ARG_BYTES : SYSFAST_ARG_NONE);
	if (p) {
		a.v.p = p;
		a.len = n;
	}
	return a;
}

static inline sysfast_arg sysfast__arg_obj(const struct sysfast_object *o)
{
	sysfast_arg a = sysfast__arg(SYSFAST_ARG_OBJECT);
	a.v.o = o;
	return a;
}

static inline sysfast_arg sysfast__arg_ptr(const void *p)
{
	sysfast_arg a = sysfast__arg(SYSFAST_ARG_PTR);
	a.v.p = p;
	return a;
}

static inline sysfast_arg sysfast__arg_tuple(const sysfast_arg *items, size_t n)
{
	sysfast_arg a = sysfast__arg(SYSFAST_ARG_TUPLE);
	a.v.items = items;
	a.len = n;
	return a;
}

#define SYSFAST_NONE() sysfast__arg(SYSFAST_ARG_NONE)
#define SYSFAST_BOOL(b) sysfast__arg_bool((b))
#define SYSFAST_INT(i) sysfast__arg_int((i))
#define SYSFAST_UINT(u) sysfast__arg_uint((u))
#define SYSFAST_FLOAT(d) sysfast__arg_float((d))
#define SYSFAST_STR(s) sysfast__arg_str((s))
#define SYSFAST_STRN(s, n) sysfast__arg_strn((s), (n))
#define SYSFAST_BYTES(p, n) sysfast__arg_bytes((p), (n))
#define SYSFAST_OBJ(o) sysfast__arg_obj((o))
#define SYSFAST_PTR(p) sysfast__arg_ptr((p))
/* A nested tuple over an existing array of `n` items (a libsysfast
 * addition; the format language builds tuples with "( )"). */
#define SYSFAST_TUPLE(items, n) sysfast__arg_tuple((items), (n))

/* A sysfast_args over a compound-literal array of constructors; the array
 * lives until the end of the enclosing block. SYSFAST_ARGS() is empty.
 * The leading NONE keeps the array non-empty in ISO C.
 *
 * C only: a C++ compound literal is a temporary that dies at the end of
 * the full expression, so the tuple would point at a dead array. In C++
 * declare the array and use sysfast_args{n, items}. */
#ifndef __cplusplus
#define SYSFAST__ARGS_ARRAY(...) ((const sysfast_arg[]){SYSFAST_NONE(), ##__VA_ARGS__})
#define SYSFAST_ARGS(...)                                                                          \
	((sysfast_args){sizeof(SYSFAST__ARGS_ARRAY(__VA_ARGS__)) / sizeof(sysfast_arg) - 1,        \
	                SYSFAST__ARGS_ARRAY(__VA_ARGS__) + 1})
#endif

SYSFAST_END_DECLS

#endif /* SYSFAST_ARGS_H */
