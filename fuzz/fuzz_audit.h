/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Between fuzz_audit.c and audit_inline.c (see there). */
#ifndef FUZZ_AUDIT_H
#define FUZZ_AUDIT_H

#include <sysfast/args.h>

/* SYSFAST_AUDIT("fuzz.macro", a, b) in the inline form. */
int fuzz_audit_inline_site(sysfast_arg a, sysfast_arg b);

#endif
