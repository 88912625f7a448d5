/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

void testutil_assert_error(const sysfast_exc_type *t, const char *needle, const char *file,
                           int line)
{
	const sysfast_exc_type *got = sysfast_err_occurred();

	if (got != t) {
		print_error("%s:%d: expected %s, got %s (\"%s\")\n", file, line,
		            sysfast_exc_type_name(t), got ? sysfast_exc_type_name(got) : "no error",
		            sysfast_err_message());
		_fail(file, line);
	}
	if (needle && !strstr(sysfast_err_message(), needle)) {
		print_error("%s:%d: message \"%s\" lacks \"%s\"\n", file, line,
		            sysfast_err_message(), needle);
		_fail(file, line);
	}
	sysfast_err_clear();
}

void testutil_assert_no_error(const char *file, int line)
{
	const sysfast_exc_type *got = sysfast_err_occurred();

	if (got) {
		print_error("%s:%d: unexpected %s: \"%s\"\n", file, line,
		            sysfast_exc_type_name(got), sysfast_err_message());
		_fail(file, line);
	}
}
