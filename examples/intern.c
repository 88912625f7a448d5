/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Example: interned strings (sys.intern).
 *
 * Equal bytes intern to one string, so names can be compared by pointer.
 * Interned strings are mortal: once the last reference is dropped the
 * string leaves the table.
 *
 *     cc intern.c $(pkg-config --cflags --libs sysfast) -o intern
 */
#include <stdio.h>
#include <string.h>

#include <sysfast/sysfast.h>

int main(void)
{
	char buf[32];
	sysfast_str *a, *b, *c;

	if (sysfast_init() < 0)
		return 1;
	a = sysfast_intern_cstr("spam");
	snprintf(buf, sizeof(buf), "%s", "spam"); /* equal bytes, elsewhere */
	b = sysfast_intern(buf, strlen(buf));
	printf("same string: %s\n", a == b ? "yes" : "no");

	/* PyUnicode_InternInPlace: c's reference is swapped for the
	 * canonical string's, and the copy is freed. */
	c = sysfast_str_new("spam", 4);
	if (!a || !b || !c || sysfast_intern_in_place(&c) < 0)
		return 1;
	printf("in place: %s\n", c == a ? "canonical" : "not canonical");

	sysfast_str_decref(a);
	sysfast_str_decref(b);
	sysfast_str_decref(c);
	c = sysfast_intern_find("spam", 4); /* the last reference went */
	printf("after the last decref: %s\n", c ? "still interned" : "gone");
	sysfast_str_decref(c);
	sysfast_fini();
	return 0;
}
