/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libsysfast - the version of the library actually loaded. */
#include "base.h"

#define SYSFAST__STR(x) #x
#define SYSFAST__XSTR(x) SYSFAST__STR(x)

const char *sysfast_version(void)
{
	return SYSFAST__XSTR(SYSFAST_VERSION_MAJOR) "." SYSFAST__XSTR(
	    SYSFAST_VERSION_MINOR) "." SYSFAST__XSTR(SYSFAST_VERSION_PATCH);
}
