/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit calls in C, compiled by check.sh with every C compiler at
 * -Wall -Wextra -Werror, in both forms of SYSFAST_AUDIT (default and
 * SYSFAST_INLINE): sysfast_audit with constant and non-constant events
 * and formats, with arguments of every scalar kind and calls, with none
 * and with 64, the function by name, and SYSFAST_AUDIT with and without
 * arguments.
 * c_macros_bad.c must not compile.
 */
#include <sysfast/sysfast.h>

#define EVENT "check.event"

int c_macros(const char *name, const char *format, int v);

struct bits {
	unsigned flag : 1;
};

struct point {
	int x, y;
};

static int checked;

/* Calls as arguments: what -Wbad-function-cast looks at. */
static const void *a_pointer(void)
{
	return &checked;
}

static int an_int(void)
{
	return checked;
}

int c_macros(const char *name, const char *format, int v)
{
	const struct bits b = {1};
	const char text[] = "text";
	const float f = 1.5f;
	const long double ld = 2.5;
	int (*fn)(const char *, const char *, ...) = sysfast_audit;
	int rc = 0;

	rc |= sysfast_audit("check.a", "(si)", "s", v);
	rc |= sysfast_audit(EVENT, "i", v);
	rc |= sysfast_audit("check.b", NULL);
	rc |= sysfast_audit("check.b", "()");
	rc |= sysfast_audit("check.point", "P", (&(struct point){1, 2}));
	rc |= sysfast_audit("check.calls", "(Pi)", a_pointer(), an_int());
	rc |= sysfast_audit("check.kinds", "(sibBlLnkKdfdpPO)", text, v, (signed char)-1,
	                    (unsigned char)1, -1L, -1LL, (ssize_t)-1, 1UL, 1ULL, 2.5, f, ld, b.flag,
	                    (void *)0, (const struct sysfast_object *)0);
	rc |= sysfast_audit("check.64",
	                    "s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#",
#define S8 name, (ssize_t)1, name, (ssize_t)1, name, (ssize_t)1, name, (ssize_t)1
	                    S8, S8, S8, S8, S8, S8, S8, S8);
#undef S8
	rc |= sysfast_audit(name, format, v);
	rc |= sysfast_audit(name, "i", v);
	rc |= sysfast_audit("check.c", format, v);
	rc |= (sysfast_audit)("check.d", "i", v);
	rc |= fn("check.e", "i", v);
	rc |= SYSFAST_AUDIT("check.f");
	rc |= SYSFAST_AUDIT(EVENT, SYSFAST_INT(v), SYSFAST_STR(name));
	return rc;
}
