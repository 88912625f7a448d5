/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin as a runtime would load one: a shared object that links
 * libsysfast and is itself loaded with dlopen by a host that does not
 * (host.c). It registers one hook and raises events from whichever thread
 * calls it, through the three ways a program raises them.
 */
#include <sys/types.h>

#include <sysfast/sysfast.h>

#define PLUGIN_API __attribute__((visibility("default")))

static unsigned long seen; /* events the hook received, all threads */

static int count_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *data)
{
	(void)id;
	(void)name;
	(void)data;
	if (args->n == 1 && args->items[0].kind == SYSFAST_ARG_INT)
		__atomic_add_fetch(&seen, 1, __ATOMIC_RELAXED);
	return 0;
}

/* 0, or -1 with the library's error message in *why. */
PLUGIN_API int plugin_init(const char **why)
{
	if (sysfast_init() < 0 || sysfast_add_audit_hook(count_hook, NULL) < 0) {
		*why = sysfast_err_message();
		return -1;
	}
	return 0;
}

/* Raises `n` events on the calling thread; returns how many failed. */
PLUGIN_API long plugin_raise(long n)
{
	sysfast_event_id id = sysfast_event_intern("plugin.args");
	long failed = 0;

	for (long i = 0; i < n; i++) {
		int rc;

		switch (i % 3) {
		case 0:
			rc = SYSFAST_AUDIT("plugin.macro", SYSFAST_INT(i));
			break;
		case 1:
			rc = sysfast_audit("plugin.format", "n", (ssize_t)i);
			break;
		default:
			rc = sysfast_audit_args(id, &SYSFAST_ARGS(SYSFAST_INT(i)));
			break;
		}
		failed += rc != 0;
	}
	return failed;
}

PLUGIN_API unsigned long plugin_seen(void)
{
	return __atomic_load_n(&seen, __ATOMIC_RELAXED);
}
