/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The call-site macros in C, compiled by check.sh with every C compiler at
 * -Wall -Wextra -Werror: sysfast_audit with constant and non-constant
 * events and formats (the first get a call site, the others the
 * function), the function by name, and SYSFAST_AUDIT with and without
 * arguments. c_macros_bad.c must not compile.
 */
#include <sysfast/sysfast.h>

#define EVENT "check.event"

int c_macros(const char *name, const char *format, int v);

int c_macros(const char *name, const char *format, int v)
{
	int (*fn)(const char *, const char *, ...) = sysfast_audit;
	int rc = 0;

	rc |= sysfast_audit("check.a", "(si)", "s", v);
	rc |= sysfast_audit(EVENT, "i", v);
	rc |= sysfast_audit("check.b", NULL);
	rc |= sysfast_audit(name, format, v);
	rc |= sysfast_audit(name, "i", v);
	rc |= sysfast_audit("check.c", format, v);
	rc |= (sysfast_audit)("check.d", "i", v);
	rc |= fn("check.e", "i", v);
	rc |= SYSFAST_AUDIT("check.f");
	rc |= SYSFAST_AUDIT(EVENT, SYSFAST_INT(v), SYSFAST_STR(name));
	return rc;
}
