/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hooks shared by every benchmark; see hooks.h. */
#include "hooks.h"

#include <string.h>

#define BENCH_HOOK __attribute__((noipa))

static __thread uint64_t bench_hook_sink;

static inline void bench_hook_touch(size_t nargs)
{
	*(volatile uint64_t *)&bench_hook_sink += nargs;
}

BENCH_HOOK int bench_hook_noop(sysfast_event_id event, const char *name, const sysfast_args *args,
                               void *userdata)
{
	(void)event;
	(void)name;
	(void)userdata;
	bench_hook_touch(args->n);
	return 0;
}

BENCH_HOOK int bench_py_hook_noop(const char *event, PyObject *args, void *userdata)
{
	(void)event;
	(void)userdata;
	bench_hook_touch((size_t)PyTuple_GET_SIZE(args));
	return 0;
}

BENCH_HOOK int bench_py_hook_filter_other(const char *event, PyObject *args, void *userdata)
{
	(void)userdata;
	if (strcmp(event, BENCH_OTHER_EVENT) != 0)
		return 0;
	bench_hook_touch((size_t)PyTuple_GET_SIZE(args));
	return 0;
}

BENCH_HOOK int bench_py_hook_workload(const char *event, PyObject *args, void *userdata)
{
	(void)userdata;
	if (strcmp(event, BENCH_WORKLOAD_WATCHED_1) != 0
	    && strcmp(event, BENCH_WORKLOAD_WATCHED_2) != 0
	    && strcmp(event, BENCH_WORKLOAD_WATCHED_3) != 0)
		return 0;
	bench_hook_touch((size_t)PyTuple_GET_SIZE(args));
	return 0;
}
