/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A program that uses libsysfast the way an outside project does: built
 * against the installed headers and library with nothing but
 * `pkg-config --cflags --libs sysfast` (see check.sh).
 */
#include <stdio.h>
#include <string.h>

#include <sysfast/sysfast.h>

static int calls;

static int on_event(sysfast_event_id event, const char *name, const sysfast_args *args,
                    void *userdata)
{
	const char *want = userdata;

	if (strcmp(name, want) == 0 && event == sysfast_event_find(want) && args->n == 2
	    && args->items[0].kind == SYSFAST_ARG_STR && strcmp(args->items[0].v.s, "/tmp") == 0
	    && args->items[1].kind == SYSFAST_ARG_INT && args->items[1].v.i == 42)
		calls++;
	return 0;
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("consumer: %s:%d: %s failed (error: \"%s\")\n", __FILE__, __LINE__, \
			       #cond, sysfast_err_message());                                      \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

int main(void)
{
	char version[32];
	sysfast_event_id id;

	snprintf(version, sizeof(version), "%d.%d.%d", SYSFAST_VERSION_MAJOR, SYSFAST_VERSION_MINOR,
	         SYSFAST_VERSION_PATCH);
	CHECK(strcmp(sysfast_version(), version) == 0);

	CHECK(sysfast_init() == 0);
	CHECK(sysfast_add_audit_hook(on_event, "consumer.chdir") == 0);
	id = sysfast_event_intern("consumer.chdir");
	CHECK(id != 0);
	CHECK(strcmp(sysfast_event_name(id), "consumer.chdir") == 0);

	CHECK(SYSFAST_AUDIT("consumer.chdir", SYSFAST_STR("/tmp"), SYSFAST_INT(42)) == 0);
	CHECK(sysfast_audit("consumer.chdir", "si", "/tmp", 42) == 0);
	CHECK(calls == 2);

	sysfast_fini();
	printf("consumer: libsysfast %s OK\n", sysfast_version());
	return 0;
}
