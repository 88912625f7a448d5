/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the cmocka test programs. */
#ifndef SYSFAST_TESTUTIL_H
#define SYSFAST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sysfast/sysfast.h>

/* Asserts that the calling thread's error is exactly class `t` and that its
 * message contains `needle` (NULL: any message), then clears it. */
#define assert_error(t, needle) testutil_assert_error((t), (needle), __FILE__, __LINE__)
void testutil_assert_error(const sysfast_exc_type *t, const char *needle, const char *file,
                           int line);

/* Asserts that no error is pending. */
#define assert_no_error() testutil_assert_no_error(__FILE__, __LINE__)
void testutil_assert_no_error(const char *file, int line);

#endif /* SYSFAST_TESTUTIL_H */
