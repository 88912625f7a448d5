/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Must not compile: SYSFAST_AUDIT caches the id of its name at the call
 * site, so the name must be a string literal (check.sh). */
#include <sysfast/sysfast.h>

int c_macros_bad(const char *name);

int c_macros_bad(const char *name)
{
	return SYSFAST_AUDIT(name, SYSFAST_INT(1));
}
