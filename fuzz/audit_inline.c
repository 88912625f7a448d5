/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_audit's second call site: SYSFAST_AUDIT in its inline form
 * (SYSFAST_INLINE, <sysfast/static/audit.h>), where the dispatch runs at
 * the call site. fuzz_audit.c holds the default form; a translation unit
 * has one form or the other, so the inline one lives here, and the
 * harness requires both to behave the same.
 */
/* The harnesses are compiled with the library's flags; a program's call
 * site is compiled without them. */
#undef SYSFAST_BUILDING_LIBRARY
#define SYSFAST_INLINE

#include <sysfast/sysfast.h>

#include "fuzz_audit.h"

int fuzz_audit_inline_site(sysfast_arg a, sysfast_arg b)
{
	return SYSFAST_AUDIT("fuzz.macro", a, b);
}
