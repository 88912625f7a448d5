/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Example: audit hooks, the way a language runtime would use them.
 *
 * A runtime raises events at its security-relevant call sites with
 * SYSFAST_AUDIT; a policy (here, a hook that forbids opening /etc/shadow)
 * decides. Build against the installed library:
 *
 *     cc audit_hooks.c $(pkg-config --cflags --libs sysfast) -o audit_hooks
 */
#include <stdio.h>
#include <string.h>

#include <sysfast/sysfast.h>

/* The policy: a hook filtered to "open", so no other event reaches it. */
static int deny_shadow(sysfast_event_id event, const char *name, const sysfast_args *args,
                       void *userdata)
{
	const sysfast_arg *path = &args->items[0];

	(void)event, (void)name, (void)userdata;
	if (args->n >= 1 && path->kind == SYSFAST_ARG_STR && path->len == 11
	    && !memcmp(path->v.s, "/etc/shadow", 11)) {
		sysfast_err_set(sysfast_PermissionError, "policy forbids opening /etc/shadow");
		return -1;
	}
	return 0;
}

/* A logger for everything under "os.": a prefix pattern. */
static int log_os(sysfast_event_id event, const char *name, const sysfast_args *args,
                  void *userdata)
{
	(void)event, (void)userdata;
	printf("audit: %s (%zu argument%s)\n", name, args->n, args->n == 1 ? "" : "s");
	return 0;
}

/* The runtime's call sites. */
static int runtime_open(const char *path, const char *mode)
{
	if (SYSFAST_AUDIT("open", SYSFAST_STR(path), SYSFAST_STR(mode), SYSFAST_INT(0)) < 0)
		return -1;
	printf("open(%s) allowed\n", path);
	return 0;
}

static int runtime_chdir(const char *path)
{
	return sysfast_audit("os.chdir", "(s)", path);
}

int main(void)
{
	static const char *const open_only[] = {"open"};
	static const char *const os_all[] = {"os.*"};
	const sysfast_hook_options open_opts = {0, open_only, 1};
	const sysfast_hook_options os_opts = {0, os_all, 1};

	if (sysfast_init() < 0 || sysfast_add_audit_hook_ex(deny_shadow, NULL, &open_opts) < 0
	    || sysfast_add_audit_hook_ex(log_os, NULL, &os_opts) < 0) {
		fprintf(stderr, "setup failed: %s\n", sysfast_err_message());
		return 1;
	}
	if (runtime_open("/tmp/data.txt", "r") < 0 || runtime_chdir("/tmp") < 0)
		return 1;
	if (runtime_open("/etc/shadow", "r") == 0) {
		fprintf(stderr, "the policy did not stop the open\n");
		return 1;
	}
	printf("refused: %s: %s\n", sysfast_exc_type_name(sysfast_err_occurred()),
	       sysfast_err_message());
	sysfast_err_clear();
	sysfast_fini();
	return 0;
}
