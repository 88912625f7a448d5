/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Example: process-wide hooks and per-interpreter hooks.
 *
 * A process-wide hook (PySys_AddAuditHook) sees every interpreter's
 * events; a per-interpreter hook (sys.addaudithook) sees only its own.
 *
 *     cc interpreters.c $(pkg-config --cflags --libs sysfast) -o interpreters
 */
#include <stdio.h>

#include <sysfast/sysfast.h>

static int tagged(sysfast_event_id event, const char *name, const sysfast_args *args, void *tag)
{
	(void)event, (void)args;
	printf("%-8s saw %s\n", (const char *)tag, name);
	return 0;
}

int main(void)
{
	sysfast_interp *sub;

	if (sysfast_add_audit_hook(tagged, "process") < 0 || sysfast_init() < 0)
		return 1;
	sub = sysfast_interp_new(); /* "process" sees cpython.PyInterpreterState_New */
	if (!sub || sysfast_interp_add_audit_hook(sub, tagged, "sub", NULL) < 0)
		return 1;

	sysfast_audit("example.in_main", NULL); /* process */
	sysfast_interp_enter(sub);
	sysfast_audit("example.in_sub", NULL); /* process, sub */
	sysfast_interp_enter(sysfast_interp_main());

	sysfast_interp_destroy(sub); /* process, sub: cpython.PyInterpreterState_Clear */
	sysfast_fini();              /* process: Clear for main, _PySys_ClearAuditHooks */
	return 0;
}
